import type { CloseAllResult } from '../../../shared/ipc/protocol';
import { askTrading, askToConfirm, type BotCommand } from '../command';
import { formatCloseAll, htmlMarkup } from '../format';

/**
 * /closeall: asks for confirmation, then trading pauses entries, cancels its open orders and closes every open
 * position at market (see CloseAllResult).
 */
export const closeAllCommand: BotCommand = {
  name: 'closeall',
  dangerous: true,
  description: 'close all positions (asks to confirm)',
  usage: '',
  async run(ctx) {
    if (ctx.args.length > 0) return ctx.reply('Usage: <code>/closeall</code> (no arguments)');
    await askToConfirm(ctx, { kind: 'closeall' }, '⚠️ Close <b>all</b> positions at market?', '✅ Close all');
  },
  async confirmed(action, ctx) {
    if (action.kind !== 'closeall') return;
    const tell = (result: CloseAllResult): Promise<void> =>
      ctx.reply(formatCloseAll(result, htmlMarkup, { again: 'try /closeall again', resume: '/resume' }));
    const result = await askTrading(ctx, (t) => t.call('closeAll', {}), tell);
    if (result) await tell(result);
  },
};
