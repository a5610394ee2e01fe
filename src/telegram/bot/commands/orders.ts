import { askTrading, usageText, type BotCommand } from '../command';
import { formatOrders, htmlMarkup } from '../format';

/** /orders [all]: open orders, or every order trading still keeps. */
export const ordersCommand: BotCommand = {
  name: 'orders',
  description: 'open orders (all: recent final ones too)',
  usage: '[all]',
  async run(ctx) {
    const all = ctx.args[0] === 'all';
    if (ctx.args.length > 1 || (ctx.args.length === 1 && !all)) return ctx.reply(usageText(ordersCommand));
    const orders = await askTrading(ctx, (t) => t.call('orders', { all }));
    if (orders) await ctx.reply(formatOrders(orders, all, htmlMarkup));
  },
};
