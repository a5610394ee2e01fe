/**
 * The exchange's answers applied to our orders: an order's status and figures as the exchange shows them (a create's
 * answer, a lookup's, the one that adopts or takes an order back), committed with the events that report the change,
 * then its fills fetched. A final order refuses what the exchange reports otherwise (order-state.ts settleFinal).
 */
import type { Clock } from '../../../shared/clock';
import type { Logger } from '../../../shared/logging/logger';
import type { ExchangeOrder, ExchangeTrade } from '../../exchange/exchange';
import { conflictEvent, statusChangeEvents } from './order-events';
import {
  applyExchangeOrder,
  changedByExchange,
  fillsComplete,
  isFinal,
  isProtectiveExit,
  settleFinal,
  type LocalOrder,
} from './order-state';
import type { Fill } from '../books/pnl';
import type { StateGateway } from '../state/state-gateway';

export interface OrderAnswersOptions {
  state: StateGateway;
  clock: Clock;
  logger: Logger;
  /** The hot state's orders, oldest first (OrderBook.hotOrders). */
  hotOrders: () => LocalOrder[];
  /** Fetches an order's trades and commits its new fills (fill-sync.ts). */
  syncFills: (clientOrderId: string, known?: ExchangeTrade[]) => Promise<Fill[]>;
}

/** The error of an order the exchange rejected after acknowledging it (ccxt's order carries no reason). */
export const REJECTED_AFTER_ACK = 'the exchange rejected the order after acknowledging it';

export class OrderAnswers {
  constructor(private readonly opts: OrderAnswersOptions) {}

  /**
   * Applies the exchange's view of an order: commits the status (ack), then fetches and commits the fills,
   * then publishes what changed.
   */
  async apply(clientOrderId: string, remote: ExchangeOrder): Promise<void> {
    const { state, clock } = this.opts;
    let before = state.requireOrder(clientOrderId);
    if (!isFinal(before.status) && before.inDoubtAt !== undefined) {
      // in doubt before it ended (unknown, or no longer shown: absent-orders.ts) — the exchange answers for it now,
      // whatever it says: in doubt no more (review 29b: one the open-orders list showed again stayed listed by
      // /settle, reminded daily, every settle refused)
      before = { ...before, inDoubtAt: undefined, inDoubtToldAt: undefined, updatedAt: clock.now() };
      if (!changedByExchange(before, remote)) await state.commitOrder(before);
    }
    let next = before;
    if (changedByExchange(before, remote) && isFinal(before.status)) {
      // Only a final order refuses what the exchange reports (order-state.ts): its fills still rise to the
      // exchange's figure (and are synced below), a rejected one with fills ends cancelled/filled with them, and
      // a status the exchange names otherwise is told once (kept as the order's error).
      const settled = settleFinal(before, remote, clock.now());
      next = settled.order;
      const events = statusChangeEvents(before, next);
      const conflict = settled.conflict;
      if (conflict) {
        this.opts.logger.warn('Keeping a finished order the exchange shows otherwise', {
          ...conflict.context,
          remote: remote.status,
          filled: next.filled,
        });
        if (before.error !== conflict.message) {
          next = { ...next, error: conflict.message, updatedAt: clock.now() };
          events.push(conflictEvent(next, remote.status, conflict.message));
        }
      }
      if (next !== before) await state.commitOrder(next, events);
    } else if (changedByExchange(before, remote)) {
      next = applyExchangeOrder(before, remote, clock.now());
      next = { ...next, error: next.status === 'unknown' ? next.error : undefined };
      let events = statusChangeEvents(before, next);
      if (next.status === 'rejected') {
        // the exchange rejected an order it had taken (Bybit's create only acknowledges): a refusal like a refused
        // create — the same cooldown/backoff (symbol-decision.ts), notified once (then `repeated`)
        const error = REJECTED_AFTER_ACK;
        const repeated = lastRefusal(this.opts.hotOrders(), next)?.error === error;
        next = { ...next, refused: true, error };
        events = events.map((e) =>
          e.type === 'order.rejected' ? { ...e, data: { ...e.data, error, repeated } } : e,
        );
      }
      await state.commitOrder(next, events);
    }
    if (!fillsComplete(next)) await this.opts.syncFills(clientOrderId, remote.trades);
  }

  /**
   * Whether the exchange's view of an order changes nothing state records and leaves no fill to fetch: what
   * `apply` would then do is nothing (recovery checks 1,000 listed open orders this way without a call each). An
   * order in doubt is never up to date: the exchange's answer for it ends the doubt, which `apply` commits.
   */
  upToDate(clientOrderId: string, remote: ExchangeOrder): boolean {
    const order = this.opts.state.requireOrder(clientOrderId);
    if (!isFinal(order.status) && order.inDoubtAt !== undefined) return false;
    return !changedByExchange(order, remote) && fillsComplete(order);
  }
}

/**
 * The refused order placed before `order` on its symbol, if the latest one before it was refused (`hot`: the hot
 * state's orders, oldest first): the same refusal again is recorded, not notified again. A stop-loss or take-profit
 * repeats only a protective exit's refusal, any other order only another's: a firing stop-loss refused as the entry
 * before it was is still told.
 */
export function lastRefusal(hot: LocalOrder[], order: LocalOrder): LocalOrder | undefined {
  const protective = isProtectiveExit(order.purpose);
  const before = hot.filter(
    (o) =>
      o.symbol === order.symbol &&
      o.clientOrderId !== order.clientOrderId &&
      isProtectiveExit(o.purpose) === protective,
  );
  const last = before[before.length - 1];
  return last?.refused ? last : undefined;
}
