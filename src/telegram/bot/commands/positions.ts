import { askTrading, type BotCommand } from '../command';
import { formatPositions, htmlMarkup } from '../format';

/** /positions: open positions with unrealized PnL. */
export const positionsCommand: BotCommand = {
  name: 'positions',
  description: 'open positions',
  usage: '',
  async run(ctx) {
    if (ctx.args.length > 0) return ctx.reply('Usage: <code>/positions</code> (no arguments)');
    const positions = await askTrading(ctx, (t) => t.call('positions', {}));
    if (positions) await ctx.reply(formatPositions(positions, undefined, htmlMarkup, ctx.now));
  },
};
