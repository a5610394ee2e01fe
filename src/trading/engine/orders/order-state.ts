/**
 * The life of one order (pure). Local statuses:
 *
 *   intent ──► unknown ──► open ──► partially_filled ──► filled
 *     │           │          │             │
 *     └───────────┴──────────┴─────────────┴──► cancelled | expired
 *     └───────────┴──────────┴──► rejected        (never with fills)
 *
 * `intent` is durable but not yet sent; `unknown` was sent with no answer. Only the exchange's answer moves an
 * order to a final status (filled, cancelled, rejected, expired), except an intent or unknown order that the
 * exchange confirms it never received, which becomes `rejected`. An acknowledged order can still end `rejected`
 * (Bybit's create only acknowledges: "use websocket … to confirm the order status"); one the exchange rejects
 * after some of it filled ended with those fills, so it is `cancelled` (what the exchange kept is the fills).
 * Final statuses never change again, with one exception (settleFinal): a `rejected` order the exchange later shows
 * with fills becomes `cancelled` (or `filled`) with them — fills are never lost.
 */
import { amountTolerance } from '../../exchange/precision';
import { IllegalTransitionError } from '../../../shared/errors';
import type { OrderStatus } from '../../../shared/domain/order';
import type { OrderView } from '../../../shared/ipc/protocol';
import type { ExchangeOrder, FeePaid, OrderSpec } from '../../exchange/exchange';
import type { Fill } from '../books/pnl';

/**
 * Why an order exists. `write-off` is no exchange order: the part of a position the account did not hold, taken
 * out when the rest was sold (held-balance.ts, shortfall-watch.ts); its fills are sells at the write-off's value.
 */
export type OrderPurpose =
  'entry' | 'exit' | 'stop-loss' | 'take-profit' | 'close-all' | 'adopted' | 'write-off';

/** A stop-loss or take-profit: the position's protective exits, with their own backoff and refusals. */
export function isProtectiveExit(purpose: OrderPurpose): boolean {
  return purpose === 'stop-loss' || purpose === 'take-profit';
}

export interface LocalOrder extends OrderSpec {
  clientOrderId: string;
  exchangeOrderId?: string;
  filled: number;
  averagePrice?: number;
  /**
   * The order's whole fee as the exchange's last answer said it (ExchangeOrder `fees`): what the fill booked from the
   * answer, or by /settle, is charged beyond the fees of its booked fills (fills-from-order.ts `feeOfRest`).
   */
  answerFees?: FeePaid[];
  /** How much of the order was executed (`filled`) by the answer that said `answerFees`: what they cover. */
  answerFeesFilled?: number;
  status: OrderStatus;
  purpose: OrderPurpose;
  /** Signal or rule that led to the order. */
  reason?: string;
  createdAt: number;
  updatedAt: number;
  /** Last create attempt (epoch ms); an unknown order is not declared never-placed before a safe delay after it. */
  sentAt?: number;
  /** "No such order" answers to lookups of this intent/unknown order since it was sent (see judgeNotFound). */
  lookupMisses?: number;
  /** Fills of this order, de-duplicated by trade id. */
  fills: Fill[];
  /** Why the order was rejected, or the last error seen on it. */
  error?: string;
  /** The exchange answered the create with a refusal (invalid order, insufficient funds…). */
  refused?: boolean;
  /** With `refused`: how long the exchange asked us to wait before the next create (rate limit). */
  retryAfterMs?: number;
  /**
   * The exchange ended it by self-trade prevention (ExchangeOrder `selfTrade`): it would have traded against another
   * order of the same account. In the exchange's words.
   */
  selfTrade?: string;
  /** Rejected before its create was sent (its intent could not be made durable): the exchange cannot have it. */
  neverSent?: boolean;
  /**
   * Settled from its fills after the exchange stopped showing it (absent-order.ts): our inference from its reads, so
   * it is looked up again like an order declared never placed, and the exchange's answer wins (takeBack).
   */
  settledAbsent?: boolean;
  /**
   * A limit order ended on our inference whose cancel, answered by the exchange's matching engine, found no such open
   * order (rest-probe.ts): it does not rest unseen, so the balance alone may tell it not carried out. Without it, a
   * limit order ended so keeps its symbol held until it is found or settled (held-balance.ts inferredOrderCoins).
   */
  restRuledOut?: boolean;
  /**
   * A read of the exchange (its lookup, or its open-orders list) has shown this order, not only its create answer
   * (order-refresh.ts): the reads know it, so their not showing it later is not the lag that hides a young order —
   * a limit order's cancel that then finds no such order rules out that it rests (rest-probe.ts).
   */
  seenByRead?: boolean;
  /**
   * What the owner held of the coin the order trades (its base) beside the bot's positions (the account's total less
   * them), as last measured before its send (inferred-orders.ts). Should it end on our inference, a balance read
   * after the verdict tells from it whether the exchange carried it out beyond its booked fills (held-balance.ts
   * inferredOrderCoins).
   */
  ownerHeld?: number;
  /**
   * When this order went in doubt (the `order.in_doubt` alert), which ends only when it is found or the operator settles
   * it (/settle):
   * - ended on our inference, a balance reading showed it carried out after all (inferred-orders.ts): it stays in
   *   question — looked up, kept in the hot state, its symbol held — past the recheck horizon;
   * - `unknown` (its create unanswered), its lookups missed over the not-found window and the exchange's other reads
   *   cannot rule it out (OrderManager.resolveUnknown, unknown-order-evidence.ts `unexplained`): it stays unknown,
   *   looked up each tick, its symbol held; leaving `unknown` (found, or declared never placed) ends it (`transition`).
   */
  inDoubtAt?: number;
  /**
   * When the operator was last told this order is in doubt (its alert, then a reminder once a day: inferred-orders.ts);
   * kept in the state so a restart does not tell again before the day is over.
   */
  inDoubtToldAt?: number;
  /**
   * When the tries to settle this acknowledged order, no longer shown by the exchange, from its other reads began
   * failing (absent-orders.ts): a day of them puts it in doubt. Kept in the state so that a bot restarting more often
   * than daily still counts the day; cleared when the order is found or settled.
   */
  absentTriesSince?: number;
  /**
   * A strategy exit that missed (symbol-decision.ts `missedExits`): when the strategy, asked again over the candles
   * since the exit's signal, said hold — the exit no longer stands, and a later exit signal is a new exit (its limit
   * tries counted from none). Written with the next state write: a crash before it only asks again.
   */
  exitLapsedAt?: number;
  /**
   * The operator's word on an order that ended on our inference (operator-settle.ts, /settle): `not-carried-out`, or
   * `carried-out` with what the exchange's history showed. It ends the hold; the order is still looked up for a day
   * after it, and the exchange's answer, should it differ, wins (OrderRecheck.takeBack, order-recheck.ts).
   */
  operatorSettled?: { at: number; outcome: OperatorOutcome };
  /**
   * When a balance reading sent a not-found window after the verdict showed this order, ended on our inference, not
   * carried out beyond its fills (inferred-orders.ts): it then holds nothing, across restarts too.
   */
  notCarriedOutAt?: number;
}

/** What the operator found in the exchange's order history for an order in question (/settle). */
export type OperatorOutcome = 'not-carried-out' | 'carried-out';

/**
 * When a "no such order" answer is final for an order whose create outcome is unknown. Exchanges answer lookups
 * from replicas that lag the matching engine (Binance: "Memory => Database"; -2013 for an order it took), so one
 * miss proves nothing: the order is declared never placed only after `minMisses` misses AND once `windowMs` plus
 * the exchange's own request window (`graceMs`, its recvWindow: a create may still be accepted that long after
 * it was sent) have passed since the send — and never while this process still awaits the create's answer.
 */
export interface NotFoundRule {
  minMisses: number;
  windowMs: number;
  graceMs: number;
}

/** An unknown order the exchange just said it does not have: its miss count, and whether that is final now. */
export function judgeNotFound(
  order: Pick<LocalOrder, 'lookupMisses' | 'sentAt' | 'createdAt'>,
  rule: NotFoundRule,
  now: number,
  createPending: boolean,
): { lookupMisses: number; neverPlaced: boolean } {
  const lookupMisses = (order.lookupMisses ?? 0) + 1;
  const neverPlaced =
    !createPending && lookupMisses >= rule.minMisses && !withinNotFoundWindow(order, rule, now);
  return { lookupMisses, neverPlaced };
}

/**
 * Whether the exchange's reads may still miss an order sent at `sentAt`: the not-found window plus the exchange's
 * request window have not passed. An order the exchange acknowledged (Bybit answers a create with ids only, "the
 * request is asynchronous") is not in its lists yet during that time, exactly as an unknown one.
 */
export function withinNotFoundWindow(
  order: Pick<LocalOrder, 'sentAt' | 'createdAt'>,
  rule: NotFoundRule,
  now: number,
): boolean {
  return now - (order.sentAt ?? order.createdAt) < rule.windowMs + rule.graceMs;
}

export const FINAL_STATUSES: ReadonlySet<OrderStatus> = new Set<OrderStatus>([
  'filled',
  'cancelled',
  'rejected',
  'expired',
]);

const ALLOWED: Record<OrderStatus, readonly OrderStatus[]> = {
  intent: ['intent', 'unknown', 'open', 'partially_filled', 'filled', 'cancelled', 'rejected', 'expired'],
  unknown: ['unknown', 'open', 'partially_filled', 'filled', 'cancelled', 'rejected', 'expired'],
  open: ['open', 'partially_filled', 'filled', 'cancelled', 'rejected', 'expired'],
  partially_filled: ['partially_filled', 'filled', 'cancelled', 'expired'],
  filled: ['filled'],
  cancelled: ['cancelled'],
  rejected: ['rejected'],
  expired: ['expired'],
};

export function isFinal(status: OrderStatus): boolean {
  return FINAL_STATUSES.has(status);
}

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return ALLOWED[from].includes(to);
}

/**
 * Local status for what the exchange reports, given `filled`: the most the order is known to have filled (the
 * exchange's figure or more — a lagging replica may report less than was seen before). A rejection after fills is a
 * cancel with fills: the fills are never lost.
 */
export function statusFromExchange(order: Pick<ExchangeOrder, 'status'>, filled: number): OrderStatus {
  switch (order.status) {
    case 'open':
      return filled > 0 ? 'partially_filled' : 'open';
    case 'closed':
      return 'filled';
    case 'canceled':
      return 'cancelled';
    case 'rejected':
      return filled > 0 ? 'cancelled' : 'rejected';
    case 'expired':
      return 'expired';
  }
}

/** The order moved to `to`, or IllegalTransitionError. */
export function transition(
  order: LocalOrder,
  to: OrderStatus,
  now: number,
  patch: Partial<LocalOrder> = {},
): LocalOrder {
  if (!canTransition(order.status, to)) {
    throw new IllegalTransitionError(`order ${order.clientOrderId} cannot go from ${order.status} to ${to}`, {
      clientOrderId: order.clientOrderId,
      symbol: order.symbol,
      from: order.status,
      to,
    });
  }
  // an order in doubt before it ended — unknown, or acknowledged and no longer shown (absent-orders.ts) — is no longer
  // once the exchange answers for it otherwise (or it is declared never placed, or settled)
  const settled =
    order.inDoubtAt !== undefined && !isFinal(order.status) && to !== order.status && to !== 'unknown';
  return { ...order, ...(settled ? { inDoubtAt: undefined } : {}), ...patch, status: to, updatedAt: now };
}

/**
 * Applies the exchange's view of the order. The filled amount never goes down (an exchange that answers from a
 * lagging replica may report less than it did before), nor does the average price go back to such an answer's: it is
 * the average of what that answer says filled (review 44i), as the fees are (answerFees).
 */
export function applyExchangeOrder(order: LocalOrder, remote: ExchangeOrder, now: number): LocalOrder {
  const filled = Math.max(order.filled, remote.filled);
  const to = statusFromExchange(remote, filled);
  return transition(order, to, now, {
    exchangeOrderId: remote.id,
    filled,
    averagePrice: remote.filled < order.filled ? order.averagePrice : (remote.average ?? order.averagePrice),
    ...answerFees(order, remote),
    price: order.price ?? (order.type === 'limit' ? remote.price : undefined),
    ...(remote.selfTrade !== undefined ? { selfTrade: remote.selfTrade } : {}),
  });
}

/**
 * The fees to keep from an answer, with the executed amount they are for: its own when it says them and is not behind
 * what is held (a lagging replica answering less filled says a smaller fee too), else those held — which then cover
 * only what was executed when they were said (an answer without fees, Binance's order read, says more filled).
 */
function answerFees(
  order: LocalOrder,
  remote: ExchangeOrder,
): Pick<LocalOrder, 'answerFees' | 'answerFeesFilled'> {
  const held = { answerFees: order.answerFees, answerFeesFilled: order.answerFeesFilled };
  if (!remote.fees || remote.filled < order.filled) return held;
  const same =
    order.answerFeesFilled === remote.filled &&
    order.answerFees?.length === remote.fees.length &&
    remote.fees.every(
      (f, i) => f.cost === order.answerFees![i]!.cost && f.currency === order.answerFees![i]!.currency,
    );
  return same ? held : { answerFees: remote.fees, answerFeesFilled: remote.filled };
}

/**
 * The exchange's view applied to a FINAL order (a final status never takes the exchange's word wholesale). Its fills
 * are never lost: `filled` rises to the exchange's figure. Its status stays, except `rejected`, which never has fills:
 * with fills the exchange kept them, so it becomes `filled` when the exchange says closed, else `cancelled` (as an
 * open order rejected after fills). `cancelled`/`expired` already carry fills, so they stay (the fills tell the
 * position; a status a lagging replica could flip back and forth is not taken). Whatever the exchange names that
 * still differs (a cancelled order shown closed, a filled one shown canceled…) is a conflict, returned with the
 * IllegalTransitionError message the plain transition would have thrown.
 */
export function settleFinal(
  order: LocalOrder,
  remote: ExchangeOrder,
  now: number,
): { order: LocalOrder; conflict?: IllegalTransitionError } {
  const filled = Math.max(order.filled, remote.filled);
  const status =
    order.status === 'rejected' && filled > 0
      ? remote.status === 'closed'
        ? 'filled'
        : 'cancelled'
      : order.status;
  const fees = answerFees(order, remote);
  const settled: LocalOrder =
    status === order.status && filled === order.filled && fees.answerFees === order.answerFees
      ? order
      : {
          ...order,
          status,
          filled,
          exchangeOrderId: order.exchangeOrderId ?? remote.id,
          averagePrice: remote.average ?? order.averagePrice,
          ...fees,
          updatedAt: now,
        };
  const verdict = statusFromExchange(remote, filled);
  if (verdict === status) return { order: settled };
  try {
    transition(settled, verdict, now);
    return { order: settled };
  } catch (err) {
    if (!(err instanceof IllegalTransitionError)) throw err;
    return { order: settled, conflict: err };
  }
}

/**
 * Whether the exchange's view changes what state records of an order — its status, filled amount or exchange id, the
 * fields `applyExchangeOrder` moves that are committed. False: applying it changes nothing to commit.
 */
export function changedByExchange(order: LocalOrder, remote: ExchangeOrder): boolean {
  return (
    statusFromExchange(remote, Math.max(order.filled, remote.filled)) !== order.status ||
    Math.max(order.filled, remote.filled) !== order.filled ||
    remote.id !== order.exchangeOrderId
  );
}

/** True when the fills recorded add up to the filled amount the exchange reported. */
export function fillsComplete(order: LocalOrder): boolean {
  const sum = order.fills.reduce((s, f) => s + f.amount, 0);
  return sum >= order.filled - amountTolerance(order.amount);
}

/** An order that still needs the exchange: not final, or final with fills not yet all fetched. */
export function needsExchange(order: LocalOrder): boolean {
  return !isFinal(order.status) || !fillsComplete(order);
}

/** Adds fills whose trade id the order does not have yet; returns the new order and what was added. */
export function addFills(order: LocalOrder, fills: readonly Fill[]): { order: LocalOrder; added: Fill[] } {
  const known = new Set(order.fills.map((f) => f.tradeId));
  const added: Fill[] = [];
  for (const f of fills) {
    if (known.has(f.tradeId)) continue;
    known.add(f.tradeId);
    added.push(f);
  }
  if (added.length === 0) return { order, added };
  return { order: { ...order, fills: [...order.fills, ...added] }, added };
}

export function orderView(order: LocalOrder): OrderView {
  return {
    clientOrderId: order.clientOrderId,
    exchangeOrderId: order.exchangeOrderId,
    symbol: order.symbol,
    side: order.side,
    type: order.type,
    amount: order.amount,
    price: order.price,
    filled: order.filled,
    averagePrice: order.averagePrice,
    status: order.status,
    purpose: order.purpose,
    createdAt: order.createdAt,
    updatedAt: order.updatedAt,
  };
}
