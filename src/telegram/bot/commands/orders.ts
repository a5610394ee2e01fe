import { askTrading, usageText, type BotCommand } from '../command';
import { fetchAllOrders } from '../../../ops/all-orders';
import { formatOrders, htmlMarkup } from '../format';

/** /orders all shows the most recent orders only: a chat is no place for months of history. */
const SHOWN_IN_CHAT = 50;

/** /orders [all]: open orders, or every order trading still keeps. */
export const ordersCommand: BotCommand = {
  name: 'orders',
  description: 'open orders (all: every order, the most recent 50 shown)',
  usage: '[all]',
  async run(ctx) {
    const all = ctx.args[0] === 'all';
    if (ctx.args.length > 1 || (ctx.args.length === 1 && !all)) return ctx.reply(usageText(ordersCommand));
    const found = await askTrading(ctx, async (t) =>
      all ? fetchAllOrders(t, SHOWN_IN_CHAT) : { orders: await t.call('orders', {}), total: undefined },
    );
    if (found) await ctx.reply(formatOrders(found.orders, all, htmlMarkup, found.total));
  },
};
