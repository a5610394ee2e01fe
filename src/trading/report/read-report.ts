/**
 * `report` over the TCP layer: the history journal read page by page (a quarter of the frame limit each, the
 * loop yielding between pages, so a long history never holds the tick up nor fills memory), then the orders the
 * hot state keeps — an order in both counts once (the hot one, as ordersPage does).
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { PnlReport } from '../../shared/ipc/protocol';
import type { HistoryPages } from '../control/orders-page';
import type { LocalOrder } from '../engine/order-state';
import type { Lot } from '../engine/pnl';
import { PnlReportBuilder, type ReportEnd } from './pnl-report';

export interface ReadReportDeps {
  history: HistoryPages;
  pageBytes: number;
  hotOrders: () => readonly LocalOrder[];
  lots: () => Readonly<Record<string, Lot>>;
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
  });
  const inHot = new Set(deps.hotOrders().map((o) => o.clientOrderId));
  for (let offset: number | null = 0; offset !== null;) {
    const page = await deps.history.readPage(offset, deps.pageBytes);
    for (const entry of page.entries) if (!inHot.has(entry.order.clientOrderId)) builder.add(entry.order);
    offset = page.next;
    await yieldToLoop();
  }
  const hot = [...deps.hotOrders()].sort((a, b) => a.createdAt - b.createdAt);
  for (const order of hot) builder.add(order);
  return builder.finish(deps.end());
}
