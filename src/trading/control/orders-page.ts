/**
 * `ordersPage`: every order, page by page, in bounded memory and bounded replies. The cursor is opaque to
 * clients: `h<byte offset>` while reading the history journal (archive order), then `s<createdAt>:<id>` through
 * the orders the hot state keeps (by creation). A page holds at most `pageBytes` of history lines, whose
 * OrderViews are smaller still, so a reply stays under the frame limit after any length of history.
 */
import { IpcError } from '../../shared/errors';
import { RpcErrorCode, type OrderView } from '../../shared/ipc/protocol';
import { orderView, type LocalOrder } from '../engine/orders/order-state';
import type { HistoryEntry } from '../engine/state/trading-state';

/** The part of the history Journal a page needs. */
export interface HistoryPages {
  readPage(from: number, maxBytes: number): Promise<{ entries: HistoryEntry[]; next: number | null }>;
}

export interface OrdersPage {
  orders: OrderView[];
  nextCursor: string | null;
}

export async function ordersPage(
  cursor: string | undefined,
  history: HistoryPages,
  hotOrders: readonly LocalOrder[],
  pageBytes: number,
): Promise<OrdersPage> {
  const at = parseCursor(cursor ?? 'h0');
  const hot = [...hotOrders].sort(byCreation);
  if (at.phase === 'history') {
    const inHot = new Set(hot.map((o) => o.clientOrderId));
    const page = await history.readPage(at.offset, pageBytes);
    // hot state wins for an order in both (a crash between the archive append and the state commit)
    const orders = page.entries
      .filter((e) => !inHot.has(e.order.clientOrderId))
      .map((e) => orderView(e.order));
    if (page.next !== null) return { orders, nextCursor: `h${page.next}` };
    if (orders.length > 0) return { orders, nextCursor: hot.length > 0 ? 's' : null };
    return hotPage(hot, undefined, pageBytes);
  }
  return hotPage(hot, at.after, pageBytes);
}

function hotPage(
  hot: LocalOrder[],
  after: { createdAt: number; id: string } | undefined,
  pageBytes: number,
): OrdersPage {
  const rest = after
    ? hot.filter((o) => byCreation(o, { createdAt: after.createdAt, clientOrderId: after.id }) > 0)
    : hot;
  const orders: OrderView[] = [];
  let bytes = 0;
  for (const order of rest) {
    const view = orderView(order);
    const size = JSON.stringify(view).length + 1;
    if (orders.length > 0 && bytes + size > pageBytes) {
      const last = orders[orders.length - 1];
      return { orders, nextCursor: `s${last.createdAt}:${last.clientOrderId}` };
    }
    orders.push(view);
    bytes += size;
  }
  return { orders, nextCursor: null };
}

function byCreation(
  a: Pick<LocalOrder, 'createdAt' | 'clientOrderId'>,
  b: Pick<LocalOrder, 'createdAt' | 'clientOrderId'>,
): number {
  return (
    a.createdAt - b.createdAt ||
    (a.clientOrderId < b.clientOrderId ? -1 : a.clientOrderId > b.clientOrderId ? 1 : 0)
  );
}

type Cursor =
  { phase: 'history'; offset: number } | { phase: 'hot'; after?: { createdAt: number; id: string } };

function parseCursor(cursor: string): Cursor {
  let m = /^h(\d{1,15})$/.exec(cursor);
  if (m) return { phase: 'history', offset: Number(m[1]) };
  if (cursor === 's') return { phase: 'hot' };
  m = /^s(\d{1,15}):(.+)$/.exec(cursor);
  if (m) return { phase: 'hot', after: { createdAt: Number(m[1]), id: m[2] } };
  throw new IpcError(
    `invalid cursor "${cursor.slice(0, 64)}": pass back a nextCursor`,
    {},
    { code: RpcErrorCode.InvalidParams },
  );
}
