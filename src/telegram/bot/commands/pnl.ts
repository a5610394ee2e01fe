import { askTrading, type BotCommand } from '../command';
import { formatPnl, htmlMarkup } from '../format';

/** /pnl: realized PnL today and in total, unrealized PnL of open positions. */
export const pnlCommand: BotCommand = {
  name: 'pnl',
  description: 'profit and loss',
  usage: '',
  async run(ctx) {
    if (ctx.args.length > 0) return ctx.reply('Usage: <code>/pnl</code> (no arguments)');
    const result = await askTrading(ctx, async (t) =>
      Promise.all([t.call('status', {}), t.call('positions', {})]),
    );
    if (result) await ctx.reply(formatPnl(result[0], result[1], htmlMarkup));
  },
};
