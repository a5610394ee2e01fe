/**
 * An order the exchange acknowledged that its reads no longer show (pure): not found by its lookups in a row over
 * the not-found window counted from the first miss (`noteAbsentMiss`), once the window from its send has passed. Exchanges forget orders: OKX keeps a cancelled order without fills in its order reads for 2
 * hours, Bybit's order history keeps cancelled orders for 24 hours, Binance purges old CANCELED/EXPIRED orders
 * without fills. Such an order is settled from the exchange's authoritative reads, never guessed at:
 *
 * 1. its symbol's complete open-orders list: when the order is in it, the lookup lied — that answer is applied;
 * 2. its fills, read by order id: they decide. Filled = the sum of its fills; `filled` when they reach its amount
 *    (by the market's amount step), else `cancelled` with what filled;
 * 3. not settled (the order stays as it is, its symbol held, retried later) when the exchange's trade history cannot
 *    reach back to the order's creation (its documented horizon), or when the fills read add up to less than state
 *    already recorded for the order (a read that missed some: never a fill lost).
 */
import type { ExchangeOrder, ExchangeTrade, Market } from '../../exchange/exchange';
import { amountTolerance, roundToStep } from '../../exchange/precision';
import type { LocalOrder, NotFoundRule } from './order-state';

/**
 * Kept off the exchange's documented trade-history horizon: an order created within a day of it is treated as beyond
 * it (the host clock may be off, and the read runs after the judgement).
 */
export const HISTORY_EDGE_MS = 86_400_000;

/**
 * The misses of an acknowledged order's lookups in a row, past the not-found window from its send: the first one's
 * time (a lookup's send: its "not found" speaks for then) and how many. In memory: a restart counts again, which
 * only waits longer.
 */
export interface AbsentMisses {
  firstAt: number;
  misses: number;
}

/**
 * One more miss of an acknowledged order (sent at `sentAt`) and whether the exchange has stopped showing it: at
 * least `minMisses` misses in a row over `windowMs` from the first one. Counted from the first miss, not from the
 * send: a resting order's send is long past, and a single miss is what the exchange's own lag looks like — Bybit's
 * order history "may delay" after a fill, and the order is gone from its open orders by then, its fills perhaps
 * not listed yet: settled on that one read, a filled exit was booked as cancelled with nothing filled.
 */
export function noteAbsentMiss(
  previous: AbsentMisses | undefined,
  rule: Pick<NotFoundRule, 'minMisses' | 'windowMs'>,
  sentAt: number,
): { misses: AbsentMisses; absent: boolean } {
  const misses = { firstAt: previous?.firstAt ?? sentAt, misses: (previous?.misses ?? 0) + 1 };
  return { misses, absent: misses.misses >= rule.minMisses && sentAt - misses.firstAt >= rule.windowMs };
}

export type AbsentOrderVerdict =
  /** The open-orders list has it after all: apply that answer. */
  | { kind: 'listed'; remote: ExchangeOrder }
  /** Its fills are needed to settle it: read them, then judge again with them. */
  | { kind: 'read-trades' }
  /**
   * Not settled: `reason` says why (the alert says it); the order stays as it is and is tried again later. `lasting`:
   * no later read can settle it (its trades are beyond the exchange's history): the operator must (/settle).
   */
  | { kind: 'unsettled'; reason: string; lasting?: true }
  /** Settled from its fills (`trades`: those of this order and side). */
  | { kind: 'settled'; status: 'filled' | 'cancelled'; filled: number; trades: ExchangeTrade[] };

export interface AbsentOrderFacts {
  /** Every open order of the order's symbol (all pages). */
  openOrders: readonly ExchangeOrder[];
  /** The trades read by the order's exchange id; undefined until read. */
  trades?: readonly ExchangeTrade[];
  /** The order's market (its amount step); undefined when the exchange no longer lists it. */
  market?: Pick<Market, 'amountStep'>;
  /** How far back the exchange's trade history reaches; undefined: no documented horizon. */
  tradeHistoryReachMs?: number;
  now: number;
}

/** What to do with an acknowledged order the exchange's lookups no longer find. */
export function judgeAbsentOrder(order: LocalOrder, facts: AbsentOrderFacts): AbsentOrderVerdict {
  const listed = facts.openOrders.find(
    (o) =>
      o.id === order.exchangeOrderId ||
      (o.clientOrderId !== undefined && o.clientOrderId === order.clientOrderId),
  );
  if (listed) return { kind: 'listed', remote: listed };
  const reach = facts.tradeHistoryReachMs;
  if (reach !== undefined && facts.now - order.createdAt >= reach - HISTORY_EDGE_MS) {
    return {
      kind: 'unsettled',
      reason: `created ${days(facts.now - order.createdAt)} days ago, beyond the ${days(reach)} days the exchange's trade history reaches`,
      lasting: true,
    };
  }
  if (facts.trades === undefined) return { kind: 'read-trades' };
  const trades = facts.trades.filter((t) => t.orderId === order.exchangeOrderId && t.side === order.side);
  const filled = trades.reduce((s, t) => s + t.amount, 0);
  const step = facts.market?.amountStep;
  const reached = (a: number, b: number): boolean =>
    step ? roundToStep(a, step) >= roundToStep(b, step) : a >= b - amountTolerance(b);
  if (!reached(filled, order.filled)) {
    return {
      kind: 'unsettled',
      reason: `its fills read add up to ${filled}, less than the ${order.filled} it is known to have filled`,
    };
  }
  return { kind: 'settled', status: reached(filled, order.amount) ? 'filled' : 'cancelled', filled, trades };
}

function days(ms: number): number {
  return Math.floor(ms / 86_400_000);
}
