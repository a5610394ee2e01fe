import type { RpcResult } from '../../../shared/ipc/protocol';
import { askTrading, askToConfirm, type BotCommand } from '../command';
import { htmlMarkup } from '../format';
import {
  WRITE_OFF_USAGE,
  formatWrittenOff,
  parseWriteOffArgs,
  writeOffQuestion,
} from '../../../ops/write-off-text';

/**
 * /writeoff <symbol>: asks for confirmation, then trading writes off the symbol's holding if the bot can no longer
 * sell it (trading/engine/operator/operator-write-off.ts; refused otherwise, with the reason).
 */
export const writeOffCommand: BotCommand = {
  name: 'writeoff',
  dangerous: true,
  description: 'write off a position the bot can no longer sell (asks to confirm)',
  usage: WRITE_OFF_USAGE,
  async run(ctx) {
    const parsed = parseWriteOffArgs(ctx.args);
    if (!parsed.ok) {
      return ctx.reply(
        `❌ ${htmlMarkup.esc(parsed.problem)}\nUsage: <code>/writeoff ${htmlMarkup.esc(WRITE_OFF_USAGE)}</code>`,
      );
    }
    await askToConfirm(
      ctx,
      { kind: 'writeoff', symbol: parsed.symbol },
      `⚠️ ${writeOffQuestion(parsed.symbol, htmlMarkup)}`,
      '✅ Write off',
    );
  },
  async confirmed(action, ctx) {
    if (action.kind !== 'writeoff') return;
    const tell = (result: RpcResult<'writeOff'>): Promise<void> =>
      ctx.reply(formatWrittenOff(result, htmlMarkup));
    const result = await askTrading(ctx, (t) => t.call('writeOff', { symbol: action.symbol }), tell);
    if (result) await tell(result);
  },
};
