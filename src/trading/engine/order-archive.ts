/**
 * Moving finished orders out of the hot state: once final, with their fills, and no longer among the most recent,
 * orders go to the history journal (the audit trail, kept whole) and their fills are folded into the state's
 * position checkpoint — positions stay exactly "checkpoint + fills of the orders still here", and every commit
 * stays cheap however long the bot has traded.
 */
import type { Market } from '../exchange/exchange';
import { fillsComplete, isFinal, type LocalOrder } from './order-state';
import { derivePositions } from './pnl';
import type { StateGateway } from './state-gateway';
import type { HistoryEntry } from './trading-state';

/** The part of Journal<HistoryEntry> the engine uses. */
export interface HistoryLog {
  append(entries: HistoryEntry[]): Promise<void>;
  readAll(): Promise<HistoryEntry[]>;
  tail(n: number): Promise<HistoryEntry[]>;
  count(): number;
}

export interface OrderArchiveOptions {
  state: StateGateway;
  history: HistoryLog;
  markets: () => Record<string, Market>;
  now: () => number;
  /** Final orders kept in hot state for `orders` and reconcile before they move to the journal (default 20). */
  recentFinalKept?: number;
}

/** Moves final orders beyond the most recent `recentFinalKept` to the history journal; returns how many. */
export async function archiveFinalOrders(opts: OrderArchiveOptions): Promise<number> {
  const hot = Object.values(opts.state.data.orders).sort((a, b) => a.createdAt - b.createdAt);
  const done = hot
    .filter((o) => isFinal(o.status) && fillsComplete(o))
    .sort((a, b) => b.updatedAt - a.updatedAt);
  const old = inFillOrder(done.slice(opts.recentFinalKept ?? 20), hot);
  if (old.length === 0) return 0;
  // journal first: a crash before the commit below leaves the orders in both places, and readers dedupe
  const seq = opts.state.data.seq;
  const archivedAt = opts.now();
  await opts.history.append(old.map((order) => ({ kind: 'order' as const, archivedAt, order, seq })));
  const checkpoint = derivePositions(
    opts.state.data.checkpoint,
    old.flatMap((o) => o.fills),
    opts.markets(),
  );
  await opts.state.commit((d) => {
    for (const o of old) delete d.orders[o.clientOrderId];
    d.checkpoint = checkpoint;
  });
  return old.length;
}

/**
 * The candidates that may be folded into the checkpoint now: positions replay fills in time order, and the
 * checkpoint comes before every fill still in the hot state, so an order is archived only when none of its fills
 * is later than a fill of the same symbol that stays hot (otherwise realized PnL would depend on when orders
 * were archived). What is held back goes with a later archive.
 */
export function inFillOrder(candidates: LocalOrder[], hot: LocalOrder[]): LocalOrder[] {
  const chosen = new Set(candidates);
  for (let changed = true; changed;) {
    changed = false;
    for (const order of chosen) {
      const last = Math.max(-Infinity, ...order.fills.map((f) => f.timestamp));
      const earlierStaysHot = hot.some(
        (o) => o.symbol === order.symbol && !chosen.has(o) && o.fills.some((f) => f.timestamp < last),
      );
      if (earlierStaysHot) {
        chosen.delete(order);
        changed = true;
      }
    }
  }
  return candidates.filter((o) => chosen.has(o));
}
