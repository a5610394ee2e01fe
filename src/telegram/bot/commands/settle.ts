import type { RpcResult } from '../../../shared/ipc/protocol';
import { askTrading, askToConfirm, type BotCommand } from '../command';
import { htmlMarkup } from '../format';
import {
  SETTLE_USAGE,
  formatInDoubtOrders,
  formatSettled,
  parseSettleArgs,
  settleQuestion,
} from '../../../ops/settle-text';

/**
 * /settle: without arguments lists the orders that ended on the bot's inference and are still in question (each may
 * hold its symbol); `/settle <id> none` or `/settle <id> filled <amount> <average price>` asks for confirmation, then
 * trading settles the order on the operator's word (trading/engine/operator/operator-settle.ts).
 */
export const settleCommand: BotCommand = {
  name: 'settle',
  dangerous: true,
  description: 'settle an order the bot could not find (lists them; asks to confirm)',
  usage: SETTLE_USAGE,
  async run(ctx) {
    if (ctx.args.length === 0) {
      const orders = await askTrading(ctx, (t) => t.call('inDoubtOrders', {}));
      if (orders) await ctx.reply(formatInDoubtOrders(orders, htmlMarkup, '/settle'));
      return;
    }
    const parsed = parseSettleArgs(ctx.args);
    if (!parsed.ok) {
      return ctx.reply(
        `❌ ${htmlMarkup.esc(parsed.problem)}\nUsage: <code>/settle ${htmlMarkup.esc(SETTLE_USAGE)}</code>`,
      );
    }
    await askToConfirm(
      ctx,
      { kind: 'settle', params: parsed.params },
      `⚠️ ${settleQuestion(parsed.params, htmlMarkup)}`,
      '✅ Settle',
    );
  },
  async confirmed(action, ctx) {
    if (action.kind !== 'settle') return;
    const tell = (result: RpcResult<'settleOrder'>): Promise<void> =>
      ctx.reply(formatSettled(action.params, result, htmlMarkup));
    const result = await askTrading(ctx, (t) => t.call('settleOrder', action.params), tell);
    if (result) await tell(result);
  },
};
