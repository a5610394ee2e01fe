import { askTrading, type BotCommand } from '../command';
import { formatBalance, htmlMarkup } from '../format';

/** /balance: account balances and equity. */
export const balanceCommand: BotCommand = {
  name: 'balance',
  description: 'balances and equity',
  usage: '',
  async run(ctx) {
    if (ctx.args.length > 0) return ctx.reply('Usage: <code>/balance</code> (no arguments)');
    const balance = await askTrading(ctx, (t) => t.call('balance', {}));
    if (balance) await ctx.reply(formatBalance(balance, htmlMarkup));
  },
};
