/**
 * Orders we declared never placed, looked up again for a day (pure schedule; the lookups are the order manager's);
 * and so are acknowledged orders we settled from their fills when the exchange no longer showed them (absent-order.ts):
 * their end too is our inference.
 *
 * "Never placed" after an unknown create is our inference from lookups that missed over a window (judgeNotFound),
 * and the exchanges bound their lookup lag nowhere (Binance -2013 "Memory => Database", Bybit's history "may
 * delay", OKX 51603): the order may show up later. Until `horizonMs` after the verdict such an order stays in the
 * hot state (the archive leaves it there) and is looked up by clientOrderId again on a widening schedule — the
 * project's one backoff (retry.ts), starting at the not-found window and capped at `maxDelayMs` — and at every
 * start (recovery rechecks all of them at once). Found → taken back from the exchange's answer. A refusal the
 * exchange sent is never rechecked: it is the exchange's word, not our inference.
 */
import { retryDelayMs } from '../../../shared/retry';
import type { LocalOrder } from './order-state';

export interface NeverPlacedRecheckRule {
  /** First wait after the verdict (the unknown-order window: the lag the rule already waited for). */
  baseDelayMs: number;
  /** Longest wait between two lookups of one order. */
  maxDelayMs: number;
  /** How long after the verdict the order is still looked up. */
  horizonMs: number;
}

/** One hour between lookups at most, for a day: about 30 lookups per order (default window 60 s). */
export const RECHECK_MAX_DELAY_MS = 60 * 60_000;
export const RECHECK_HORIZON_MS = 24 * 60 * 60_000;

/**
 * Rejected on our own inference (no exchange id, no refusal from the exchange, and its create was sent): the
 * exchange may still have it. An intent rejected because it could not be saved never left (`neverSent`).
 */
export function declaredNeverPlaced(order: LocalOrder): boolean {
  return order.status === 'rejected' && !order.exchangeOrderId && !order.refused && !order.neverSent;
}

/**
 * Ended on our own inference: declared never placed, or settled from its fills when the exchange no longer showed it
 * — and the operator has not settled it since (operator-settle.ts).
 */
export function endedByInference(order: LocalOrder): boolean {
  return (declaredNeverPlaced(order) || order.settledAbsent === true) && order.operatorSettled === undefined;
}

/**
 * Settled on the operator's word (operator-settle.ts): the operator read the exchange's history, which is inference
 * too, so the order is still looked up for a day after the settle — found: taken back from the exchange's answer
 * (OrderRecheck.takeBack replaces the operator's fill with the exchange's fills, price and fee included).
 */
export function settledByOperator(order: LocalOrder): boolean {
  return order.operatorSettled !== undefined;
}

/**
 * Ended on our inference, able to be judged on the balance (its owner's holding was measured) and not judged yet:
 * readings have neither shown it carried out (`inDoubtAt`) nor not carried out (`notCarriedOutAt`) — its coin busy
 * with other orders at every reading, say. It stays in question past the horizon (inferred-orders.ts then puts it
 * in doubt and tells the operator): released unjudged, its stop-loss could sell the owner's coins.
 */
export function awaitingJudgement(order: LocalOrder): boolean {
  return (
    order.ownerHeld !== undefined &&
    order.filled < order.amount &&
    order.inDoubtAt === undefined &&
    order.notCarriedOutAt === undefined
  );
}

/**
 * Whether the order is still looked up: ended on our own inference or settled on the operator's word, and its
 * verdict (its last update: such an order never changes again but by the exchange's answer) is less than
 * `horizonMs` old — or, ended on our inference, a balance reading showed it carried out (`inDoubtAt`,
 * inferred-orders.ts) or none has judged it yet (`awaitingJudgement`): then it is looked up, and its symbol held,
 * until it is found, judged not carried out, or settled by the operator, however long that takes.
 */
export function stillRechecked(
  order: LocalOrder,
  rule: Pick<NeverPlacedRecheckRule, 'horizonMs'>,
  now: number,
): boolean {
  const inferred = endedByInference(order);
  if (!inferred && !settledByOperator(order)) return false;
  if (now - order.updatedAt < rule.horizonMs) return true;
  return inferred && (order.inDoubtAt !== undefined || awaitingJudgement(order));
}

/** An order the recheck may look up (and take back) at all: ended on our inference or settled by the operator. */
export function lookedUpAgain(order: LocalOrder): boolean {
  return endedByInference(order) || settledByOperator(order);
}

/** When the order is looked up next, after `lookups` lookups since the verdict (or since this process started). */
export function nextRecheckAt(
  lastAt: number,
  lookups: number,
  rule: Pick<NeverPlacedRecheckRule, 'baseDelayMs' | 'maxDelayMs'>,
): number {
  // no jitter (random 1 → the whole step): one lookup per order, nothing to spread
  return lastAt + retryDelayMs(lookups + 1, { ...rule, random: () => 1 });
}
