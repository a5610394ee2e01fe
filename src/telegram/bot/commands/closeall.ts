import { askTrading, confirmButtons, type BotCommand } from '../command';
import { escapeHtml, formatDuration } from '../format';

/** /closeall: asks for confirmation, then trading closes every open position at market and cancels open orders. */
export const closeAllCommand: BotCommand = {
  name: 'closeall',
  description: 'close all positions (asks to confirm)',
  usage: '',
  async run(ctx) {
    if (ctx.args.length > 0) return ctx.reply('Usage: <code>/closeall</code> (no arguments)');
    const ttlMs = ctx.services.config.telegram.confirmTimeoutSec * 1000;
    const pending = ctx.services.confirmations.create(ctx.chatId, { kind: 'closeall' }, ctx.now);
    await ctx.reply(
      `⚠️ Close <b>all</b> positions at market? This button expires in ${formatDuration(ttlMs)}.`,
      confirmButtons(pending.nonce, '✅ Close all'),
    );
  },
  async confirmed(action, ctx) {
    if (action.kind !== 'closeall') return;
    const result = await askTrading(ctx, (t) => t.call('closeAll', {}));
    if (!result) return;
    await ctx.reply(
      result.orders.length === 0
        ? 'Nothing to close.'
        : `🧹 Close-all sent: ${result.orders.length} order${result.orders.length === 1 ? '' : 's'}\n` +
            result.orders.map((id) => `<code>${escapeHtml(id)}</code>`).join('\n'),
    );
  },
};
