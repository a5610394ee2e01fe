/**
 * Moving finished orders out of the hot state: once final, with their fills, and no longer among the most recent,
 * orders go to the history journal (the audit trail, kept whole) and their fills are folded into the state's
 * position checkpoint — positions stay exactly "checkpoint + fills of the orders still here", and every commit
 * stays cheap however long the bot has traded.
 */
import type { Market } from '../../exchange/exchange';
import { stillRechecked, type NeverPlacedRecheckRule } from '../orders/never-placed-recheck';
import { fillsComplete, isFinal, type LocalOrder } from '../orders/order-state';
import {
  derivePositions,
  feeNeedsValuation,
  inReplayOrder,
  splitSymbol,
  type Fill,
  type FillOrder,
} from '../books/pnl';
import type { StateGateway } from './state-gateway';
import { missedExits } from '../decide/symbol-decision';
import { seqOf, type HistoryEntry } from './trading-state';

/** The part of Journal<HistoryEntry> the engine uses. */
export interface HistoryLog {
  append(entries: HistoryEntry[]): Promise<void>;
  readAll(): Promise<HistoryEntry[]>;
  tail(n: number): Promise<HistoryEntry[]>;
  isEmpty(): boolean;
}

export interface OrderArchiveOptions {
  state: StateGateway;
  history: HistoryLog;
  markets: () => Record<string, Market>;
  /** The exchange's order of a symbol's trades (ExchangeTraits `fillOrder`): the positions' replay order. */
  fillOrder: FillOrder;
  now: () => number;
  /** Final orders kept in hot state for `orders` and reconcile before they move to the journal (default 20). */
  recentFinalKept?: number;
  /** Final orders that stay in hot state whatever their age (default: none). */
  keep?: (order: LocalOrder) => boolean;
}

/** Moves final orders beyond the most recent `recentFinalKept` to the history journal; returns how many. */
export async function archiveFinalOrders(opts: OrderArchiveOptions): Promise<number> {
  const orders = Object.values(opts.state.data.orders);
  const recentKept = opts.recentFinalKept ?? 20;
  // the most recent final orders stay hot whatever `keep` says: with no more final ones than that, nothing moves,
  // and nothing is sorted nor judged (with 1,000 open orders every archive — each tick, and recovery — sorted them
  // all and replayed all their fills for an answer known from a count)
  let final = 0;
  for (const o of orders) if (isFinal(o.status) && fillsComplete(o)) final++;
  if (final <= recentKept) return 0;
  const hot = orders.sort((a, b) => a.createdAt - b.createdAt);
  const done = hot
    .filter((o) => isFinal(o.status) && fillsComplete(o) && !opts.keep?.(o))
    .sort((a, b) => b.updatedAt - a.updatedAt);
  const old = inFillOrder(done.slice(recentKept), hot, opts.fillOrder);
  if (old.length === 0) return 0;
  // journal first: a crash before the commit below leaves the orders in both places, and readers dedupe
  const seq = opts.state.data.seq;
  const archivedAt = opts.now();
  await opts.history.append(old.map((order) => ({ kind: 'order' as const, archivedAt, order, seq })));
  const checkpoint = derivePositions(
    opts.state.data.checkpoint,
    old.flatMap((o) => o.fills),
    opts.markets(),
    opts.fillOrder,
  );
  await opts.state.commit((d) => {
    for (const o of old) delete d.orders[o.clientOrderId];
    d.checkpoint = checkpoint;
  });
  return old.length;
}

/**
 * The final orders that stay in the hot state whatever their age (pure): those still looked up again
 * (never-placed-recheck.ts: an order declared never placed on our inference), and the missed strategy exits of each
 * open position (symbol-decision.ts `missedExits`: the exit they stand for is placed again from them, and the chain
 * it continues must stay while other symbols' orders finish). `hot`: the hot state's orders, in any order.
 */
export function keptHot(
  hot: readonly LocalOrder[],
  openSymbols: readonly string[],
  rules: { recheckRule: NeverPlacedRecheckRule; limitOrderTtlMs: number },
  now: number,
): (order: LocalOrder) => boolean {
  const standing = new Set<string>();
  for (const symbol of openSymbols) {
    // the one working now aside: an exit placed again is not final yet
    const ofSymbol = hot.filter((o) => o.symbol === symbol && isFinal(o.status));
    for (const o of missedExits(ofSymbol, rules.limitOrderTtlMs)) standing.add(o.clientOrderId);
  }
  return (o) => stillRechecked(o, rules.recheckRule, now) || standing.has(o.clientOrderId);
}

/**
 * The candidates that may be folded into the checkpoint now: positions replay fills in replay order (pnl.ts
 * inReplayOrder), and the checkpoint comes before every fill still in the hot state, so an order is archived only
 * when every fill that stays hot and folds with it (`foldTogether`: the same symbol, or a coin's pairs and the pairs
 * paying fees in it) comes after all of its fills in that order, and is later in time too — a hot fill of the same
 * millisecond holds it back (their order is the trade ids', which the checkpoint cannot keep; otherwise a buy and a
 * sell of one millisecond could be applied sell first, and realized PnL and the position would depend on when
 * orders were archived), and so does a hot fill stamped earlier but numbered later (an exchange clock that went
 * back). What is held back goes with a later archive.
 */
export function inFillOrder(candidates: LocalOrder[], hot: LocalOrder[], fillOrder: FillOrder): LocalOrder[] {
  const place = new Map<Fill, number>();
  inReplayOrder(
    hot.flatMap((o) => o.fills),
    fillOrder,
  ).forEach((f, i) => place.set(f, i));
  const chosen = new Set(candidates);
  for (let changed = true; changed;) {
    changed = false;
    for (const order of chosen) {
      const last = Math.max(-Infinity, ...order.fills.map((f) => f.timestamp));
      const lastPlace = Math.max(-Infinity, ...order.fills.map((f) => place.get(f) ?? Infinity));
      const earlierStaysHot = hot.some(
        (o) =>
          !chosen.has(o) &&
          // one without fills holds nothing back: asked first, the fold test (two symbol splits) is skipped for it
          o.fills.length > 0 &&
          foldTogether(o, order) &&
          o.fills.some((f) => f.timestamp <= last || (place.get(f) ?? -Infinity) < lastPlace),
      );
      if (earlierStaysHot) {
        chosen.delete(order);
        changed = true;
      }
    }
  }
  return candidates.filter((o) => chosen.has(o));
}

/**
 * The highest clientOrderId sequence the history journal can hold. Read from its last entries (each carries the
 * state's seq when it was archived), so a restart costs the same after a year of history as after a day; entries
 * written before that field existed fall back to reading the whole journal.
 */
export async function historySeqBound(
  history: HistoryLog,
  botId: string,
  installId: string,
): Promise<number> {
  if (history.isEmpty()) return 0;
  const seqIn = (e: HistoryEntry): number =>
    Math.max(e.seq ?? 0, seqOf(e.order.clientOrderId, botId, installId) ?? 0);
  // the last few entries, not one: a damaged last line (skipped when read) must not hide the bound
  const recent = (await history.tail(HISTORY_SEQ_TAIL)).filter(isHistoryEntry);
  if (recent.some((e) => typeof e.seq === 'number')) {
    let max = 0;
    for (const e of recent) max = Math.max(max, seqIn(e));
    return max;
  }
  // entries written before `seq` existed, or a tail that did not parse: read it all (a loop, not
  // Math.max(...all): spreading 100k+ arguments overflows the stack)
  let max = 0;
  for (const e of (await history.readAll()).filter(isHistoryEntry)) max = Math.max(max, seqIn(e));
  return max;
}

/** How many of the last history entries recovery reads for the clientOrderId bound. */
const HISTORY_SEQ_TAIL = 16;

/** A history line that parsed but is not an entry (never written by us) must not crash recovery. */
function isHistoryEntry(e: unknown): e is HistoryEntry {
  const order = (e as Partial<HistoryEntry> | null)?.order;
  return typeof order?.clientOrderId === 'string';
}

/**
 * Whether the fills of two orders change the same position, so their order matters: the same symbol, or a coin
 * one trades that the other pays fees in or trades too (a BNB fee on BTC/USDT counts in the BNB/USDT position's
 * fees paid in the coin, which its write-offs spend: pnl.ts `feesInCoin`).
 */
function foldTogether(a: LocalOrder, b: LocalOrder): boolean {
  if (a.symbol === b.symbol) return true;
  const baseA = splitSymbol(a.symbol).base;
  const baseB = splitSymbol(b.symbol).base;
  return baseA === baseB || paysFeesIn(a, baseB) || paysFeesIn(b, baseA);
}

function paysFeesIn(order: LocalOrder, coin: string): boolean {
  return order.fills.some((f) => f.feeCurrency === coin && feeNeedsValuation(f));
}
