/**
 * Every order through trading's paged `ordersPage` (shared by the CLI and /orders all): one bounded reply per
 * call, never one reply as large as the whole history.
 */
import type { OrderView } from '../shared/ipc/protocol';
import type { TradingRpc } from './trading-client';

export interface AllOrders {
  /** The orders kept (all of them, or the last `keepLast`), in trading's order: archive first, then hot state. */
  orders: OrderView[];
  /** How many orders trading reported in total. */
  total: number;
}

/** Pages through every order; with `keepLast`, holds only the most recent ones (bounded memory for a chat). */
export async function fetchAllOrders(
  trading: Pick<TradingRpc, 'call'>,
  keepLast?: number,
): Promise<AllOrders> {
  const orders: OrderView[] = [];
  let total = 0;
  let cursor: string | undefined;
  for (;;) {
    const page = await trading.call('ordersPage', cursor === undefined ? {} : { cursor });
    total += page.orders.length;
    orders.push(...page.orders);
    if (keepLast !== undefined && orders.length > keepLast) orders.splice(0, orders.length - keepLast);
    if (page.nextCursor === null) return { orders, total };
    cursor = page.nextCursor;
  }
}
