/**
 * What the exchange's other reads say of an order whose create had no answer, before it is declared never placed
 * (pure; the reads are the order manager's). Its lookups by clientOrderId missed over the not-found window
 * (order-state.ts `judgeNotFound`), but a lookup can miss an order that exists: the exchanges answer them from a store
 * that may lag the matching engine. A sell declared never placed that did fill leaves its coins in the bot's
 * position, and the exit sent again sells them a second time — from the owner's own coins of that currency. So:
 *
 * 1. the symbol's complete open-orders list: the order in it (its clientOrderId) → that answer is applied;
 * 2. the symbol's trades since the send, on the order's side, of exchange order ids state does not know: each such
 *    order is looked up by its id — ours (its clientOrderId) → that answer is applied; another one (the owner's own
 *    order, or one of ours state has archived) → explained;
 * 3. never placed only when the trade read was complete and every such trade is explained; otherwise the order
 *    stays unknown (its symbol places nothing, stop-loss included) and all of it is read again at its next lookup —
 *    and it is in doubt (`unknownInDoubtEvent`): what keeps it undecided may last (a send older than the exchange's
 *    trade history, the owner's own trades on the symbol), so the operator is told and may settle it (/settle).
 */
import type { ExchangeOrder, SymbolTrades } from '../../exchange/exchange';
import { inDoubtEvent, type EventDraft } from './order-events';
import type { LocalOrder } from './order-state';

/** The most orders of unexplained trades looked up by id at one judgement: beyond it the order stays unknown. */
export const MAX_TRADE_ORDER_LOOKUPS = 5;

export type UnknownOrderEvidence =
  /** The exchange has the order after all: apply this answer. */
  | { kind: 'found'; remote: ExchangeOrder }
  /** Trades of these orders are not explained yet: look each up by its exchange id, then judge again. */
  | { kind: 'look-up'; orderIds: string[] }
  /** Something may be the order and cannot be told apart: it stays unknown (`reason` for the log). */
  | { kind: 'unexplained'; reason: string }
  /** Nothing the exchange shows can be the order. */
  | { kind: 'none' };

export interface UnknownOrderFacts {
  /** Every open order of the order's symbol. */
  openOrders: readonly ExchangeOrder[];
  /** The symbol's trades since the order's send. */
  trades: SymbolTrades;
  /** The exchange order ids state knows. */
  knownOrderIds: ReadonlySet<string>;
  /** The orders of `look-up`, by id (null: not found). Undefined until looked up. */
  lookedUp?: ReadonlyMap<string, ExchangeOrder | null>;
}

export function judgeUnknownOrderEvidence(order: LocalOrder, facts: UnknownOrderFacts): UnknownOrderEvidence {
  const listed = facts.openOrders.find((o) => o.clientOrderId === order.clientOrderId);
  if (listed) return { kind: 'found', remote: listed };
  if (!facts.trades.complete) {
    return {
      kind: 'unexplained',
      reason: `${order.symbol}'s trades since the send are not all read (a full page, a send older than the exchange's windows or history, or a trade without its order id)`,
    };
  }
  const orderIds = [
    ...new Set(
      facts.trades.trades
        .filter((t) => t.side === order.side && !facts.knownOrderIds.has(t.orderId))
        .map((t) => t.orderId),
    ),
  ];
  if (orderIds.length === 0) return { kind: 'none' };
  if (orderIds.length > MAX_TRADE_ORDER_LOOKUPS) {
    return {
      kind: 'unexplained',
      reason: `${order.symbol} has ${order.side} trades of ${orderIds.length} orders state does not know since the send`,
    };
  }
  if (!facts.lookedUp) return { kind: 'look-up', orderIds };
  for (const id of orderIds) {
    const found = facts.lookedUp.get(id);
    if (found && found.clientOrderId === order.clientOrderId) return { kind: 'found', remote: found };
    // found with another client order id, or none (the exchange's app and web site send none; ours always has one)
    if (!found) {
      return {
        kind: 'unexplained',
        reason: `${order.symbol} has ${order.side} trades of order ${id} since the send, which a lookup by its id does not find`,
      };
    }
  }
  return { kind: 'none' };
}

/** The `order.in_doubt` alert of an unknown order its lookups missed over the window and `reason` keeps undecided. */
export function unknownInDoubtEvent(order: LocalOrder, reason: string): EventDraft {
  return inDoubtEvent(
    order,
    `had no answer to its create, and the exchange's lookups do not find it, but its other reads cannot rule it ` +
      `out: ${reason}`,
    { unknown: true, reason },
  );
}
