/**
 * `report` over the TCP layer: the history journal read page by page (a quarter of the frame limit each, the
 * loop yielding between pages, so a long history never holds the tick up nor fills memory), then the orders the
 * hot state keeps — an order in both counts once (the hot one, as ordersPage does).
 *
 * Fills are applied in replay order across orders (pnl.ts inReplayOrder), as the engine's books apply them: the journal is in archive
 * order (an order is archived when it ends, so an entry can follow its exit), and the hot orders end the fold. A
 * reorder buffer holds fills until they are REORDER_WINDOW_MS older than the newest one seen (orders live minutes:
 * a limit order's time to live is far below it), so memory stays bounded by one window of trading.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { PnlReport } from '../../shared/ipc/protocol';
import type { HistoryPages } from '../control/orders-page';
import type { LocalOrder } from '../engine/orders/order-state';
import type { Lot } from '../engine/books/pnl';
import type { Fill, FillOrder } from '../engine/books/pnl';
import { inReplayOrder } from '../engine/books/pnl';
import { PnlReportBuilder, type ReportEnd } from './pnl-report';

const REORDER_WINDOW_MS = 24 * 60 * 60 * 1000;

export interface ReadReportDeps {
  history: HistoryPages;
  pageBytes: number;
  hotOrders: () => readonly LocalOrder[];
  lots: () => Readonly<Record<string, Lot>>;
  /** The exchange's order of a symbol's trades (ExchangeTraits `fillOrder`). */
  fillOrder: FillOrder;
  quoteCurrency: string;
  /** Read after the journal: equity and positions as they are when the report is done. */
  end: () => ReportEnd;
  now: () => number;
}

export async function readReport(deps: ReadReportDeps): Promise<PnlReport> {
  const builder = new PnlReportBuilder({
    now: deps.now(),
    quoteCurrency: deps.quoteCurrency,
    lots: deps.lots(),
    fillOrder: deps.fillOrder,
  });
  const inHot = new Set(deps.hotOrders().map((o) => o.clientOrderId));
  let pending: Fill[] = [];
  let newest = -Infinity;
  const take = (order: LocalOrder): void => {
    for (const fill of builder.fillsOf(order)) {
      pending.push(fill);
      if (fill.timestamp > newest) newest = fill.timestamp;
    }
  };
  /**
   * Applies the buffered fills older than `before`, in replay order (pnl.ts inReplayOrder), up to
   * the first one that is not; keeps the rest.
   */
  const flush = (before: number): void => {
    pending = inReplayOrder(pending, deps.fillOrder);
    let n = 0;
    while (n < pending.length && pending[n]!.timestamp < before) builder.apply(pending[n++]!);
    pending = pending.slice(n);
  };
  for (let offset: number | null = 0; offset !== null;) {
    const page = await deps.history.readPage(offset, deps.pageBytes);
    for (const entry of page.entries) if (!inHot.has(entry.order.clientOrderId)) take(entry.order);
    flush(newest - REORDER_WINDOW_MS);
    offset = page.next;
    await yieldToLoop();
  }
  for (const order of deps.hotOrders()) take(order);
  flush(Infinity);
  return builder.finish(deps.end());
}
