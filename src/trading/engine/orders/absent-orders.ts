/**
 * Acknowledged orders the exchange no longer shows — the I/O shell of absent-order.ts. A lookup that misses an order
 * the exchange acknowledged proves nothing within the not-found window (its reads lag); past it, misses in a row
 * settle the order from the exchange's other reads: its symbol's complete open-orders list (listed: that answer),
 * then its fills by its exchange id (settled filled or cancelled with them, one `order.settled_absent` event).
 * What cannot be settled yet (its trades beyond the exchange's history, a read failed) is never guessed: an
 * OrderNotFoundError saying why, and the next try waits on the one backoff (never-placed-recheck.ts). What no read
 * can settle (beyond the history), or none did for a day (counted from the first failed try, kept in the order
 * across restarts: `absentTriesSince`), goes in doubt: the operator is told and may settle it (/settle,
 * operator-settle.ts).
 */
import type { Clock } from '../../../shared/clock';
import { ByNinjaError, OrderNotFoundError, errorMessage } from '../../../shared/errors';
import type { Logger } from '../../../shared/logging/logger';
import type { Exchange, ExchangeOrder, ExchangeTrade, Market } from '../../exchange/exchange';
import {
  judgeAbsentOrder,
  noteAbsentMiss,
  type AbsentMisses,
  type AbsentOrderFacts,
  type AbsentOrderVerdict,
} from './absent-order';
import { RECHECK_HORIZON_MS, nextRecheckAt, type NeverPlacedRecheckRule } from './never-placed-recheck';
import { inDoubtEvent, settledAbsentEvent, type EventDraft } from './order-events';
import { settleCommands } from '../operator/settle-commands';
import { isFinal, transition, withinNotFoundWindow, type LocalOrder, type NotFoundRule } from './order-state';
import type { Fill } from '../books/pnl';
import type { StateGateway } from '../state/state-gateway';
import { probeRest, type RestProbe } from './rest-probe';

export interface AbsentOrdersOptions {
  exchange: Exchange;
  state: StateGateway;
  clock: Clock;
  logger: Logger;
  notFoundRule: NotFoundRule;
  /** The one backoff between tries to settle an order (never-placed-recheck.ts `nextRecheckAt`). */
  recheckRule: Pick<NeverPlacedRecheckRule, 'baseDelayMs' | 'maxDelayMs'>;
  markets: () => Record<string, Market>;
  /** One lookup (order-calls.ts: tracked, within the lookup deadline, joined while on its way unless `fresh`). */
  lookup: <T>(what: string, key: string, call: () => Promise<T>, fresh?: boolean) => Promise<T>;
  /** When the lookup of `key` on its way was sent, or now (ExchangeReads.sentAt). */
  sentAt: (key: string) => number;
  /** One cancel (order-calls.ts: within the lookup deadline, joined while on its way). */
  cancel: (clientOrderId: string, call: () => Promise<ExchangeOrder>) => Promise<ExchangeOrder>;
  /** Fetches an order's trades and commits its new fills (FillSync.sync, fill-sync.ts). */
  syncFills: (clientOrderId: string, known?: ExchangeTrade[]) => Promise<Fill[]>;
}

export class AbsentOrders {
  /**
   * Orders that could not be settled yet: how many tries, when the last one was and why it failed. The next try
   * waits on the one backoff (never-placed-recheck.ts). In memory: a restart tries again at once. When the tries
   * began is kept in the order (`absentTriesSince`): the day that puts it in doubt counts across restarts.
   */
  private readonly tries = new Map<string, { tries: number; lastAt: number; reason: string }>();
  /** Misses in a row of acknowledged orders' lookups past their not-found window (absent-order.ts noteAbsentMiss). */
  private readonly misses = new Map<string, AbsentMisses>();

  constructor(private readonly opts: AbsentOrdersOptions) {}

  /**
   * The exchange's view of an order it acknowledged, or null while its reads may not show it yet (within the
   * not-found window from the send: one miss proves nothing, as for an unknown order). A miss after the window
   * settles the order from the exchange's other reads (settleAbsent): null once settled, the open-orders list's
   * answer when it has the order after all, OrderNotFoundError when it cannot be settled yet. `after-cancel`: a
   * lookup sent before is not joined.
   */
  async fetchPlaced(order: LocalOrder, after?: 'after-cancel'): Promise<ExchangeOrder | null> {
    const sentAt = this.opts.sentAt(`order:${order.clientOrderId}`);
    try {
      const remote = await this.opts.lookup(
        'order',
        order.clientOrderId,
        () => this.opts.exchange.fetchOrder(order.exchangeOrderId!, order.symbol, order.createdAt),
        after !== undefined,
      );
      // found again: its misses start over, and an earlier try to settle it no longer delays a later one
      this.forget(order.clientOrderId);
      // in doubt no more once its answer is applied (order-answers.ts)
      return remote;
    } catch (err) {
      if (!(err instanceof OrderNotFoundError)) throw err;
      const now = this.opts.clock.now();
      // judged as of the lookup's send (a joined one's may be well before now): a miss proves no more
      if (withinNotFoundWindow(order, this.opts.notFoundRule, sentAt)) {
        this.opts.logger.info(
          'The exchange does not show an order it acknowledged yet; looked up again next tick',
          {
            clientOrderId: order.clientOrderId,
            exchangeOrderId: order.exchangeOrderId,
            sinceSendMs: now - (order.sentAt ?? order.createdAt),
          },
        );
        return null;
      }
      const noted = noteAbsentMiss(this.misses.get(order.clientOrderId), this.opts.notFoundRule, sentAt);
      this.misses.set(order.clientOrderId, noted.misses);
      if (noted.absent) return this.settleAbsent(order);
      this.opts.logger.warn(
        'The exchange no longer shows an order it acknowledged; looked up again before settling it',
        {
          clientOrderId: order.clientOrderId,
          exchangeOrderId: order.exchangeOrderId,
          misses: noted.misses.misses,
          sinceFirstMissMs: sentAt - noted.misses.firstAt,
        },
      );
      return null;
    }
  }

  /**
   * Found, listed or settled: its misses start over, an earlier try to settle it no longer delays a later one, and
   * the day of tries that puts it in doubt starts again should it go missing again.
   */
  private forget(clientOrderId: string): void {
    this.misses.delete(clientOrderId);
    this.tries.delete(clientOrderId);
    if (this.opts.state.data.orders[clientOrderId]?.absentTriesSince === undefined) return;
    this.opts.state.change((d) => {
      const kept = d.orders[clientOrderId];
      if (kept) d.orders[clientOrderId] = { ...kept, absentTriesSince: undefined };
    });
  }

  /**
   * Marks in doubt (`inDoubtAt`, committed with its `order.in_doubt` alert: told once, across restarts too) an order
   * its reads cannot settle — for good (its trades beyond the exchange's history), or for a day of tries: the operator
   * is told and may settle it (/settle); it is reminded daily like every order in doubt (inferred-orders.ts).
   */
  private async markInDoubt(clientOrderId: string, reason: string): Promise<void> {
    const current = this.opts.state.requireOrder(clientOrderId);
    if (current.inDoubtAt !== undefined || isFinal(current.status)) return;
    await this.opts.state.commitInDoubt(current, absentInDoubtEvent(current, reason), this.opts.clock.now());
  }

  /**
   * An acknowledged order its lookups no longer find after the not-found window (absent-order.ts): its symbol's
   * complete open-orders list, then its fills read by its exchange id, decide. Listed → that answer is returned (the
   * caller applies it). Settled → committed as filled or cancelled with its fills, one `order.settled_absent` event,
   * null. Otherwise (its trades beyond the exchange's history, a read failed) nothing is guessed: OrderNotFoundError
   * saying why, as before (the loop pauses entries on it; the symbol places nothing), and the next try waits on the
   * one backoff.
   */
  private async settleAbsent(order: LocalOrder): Promise<ExchangeOrder | null> {
    const id = order.clientOrderId;
    const last = this.tries.get(id);
    if (last && this.opts.clock.now() < nextRecheckAt(last.lastAt, last.tries - 1, this.opts.recheckRule)) {
      throw absentError(this.opts.state.requireOrder(id), last.reason);
    }
    let verdict: AbsentOrderVerdict;
    try {
      const openOrders = await this.opts.lookup('open-orders', order.symbol, () =>
        this.opts.exchange.fetchOpenOrders(order.symbol),
      );
      const facts: AbsentOrderFacts = {
        openOrders,
        market: this.opts.markets()[order.symbol],
        tradeHistoryReachMs: this.opts.exchange.traits.tradeHistoryReachMs,
        now: this.opts.clock.now(),
      };
      verdict = judgeAbsentOrder(order, facts);
      if (verdict.kind === 'read-trades') {
        const trades = await this.opts.lookup('trades', id, () =>
          this.opts.exchange.fetchOrderTrades(order.exchangeOrderId!, order.symbol, order.createdAt),
        );
        verdict = judgeAbsentOrder(order, { ...facts, trades });
      }
    } catch (err) {
      if (!(err instanceof ByNinjaError)) throw err;
      verdict = {
        kind: 'unsettled',
        reason: `its open orders or fills could not be read (${errorMessage(err)})`,
      };
    }
    const context = { clientOrderId: id, exchangeOrderId: order.exchangeOrderId, symbol: order.symbol };
    switch (verdict.kind) {
      case 'listed':
        this.forget(id);
        this.opts.logger.warn(
          'A lookup missed an order its open-orders list has; the list answers for it',
          context,
        );
        return verdict.remote;
      case 'read-trades':
      case 'unsettled': {
        const reason = verdict.kind === 'unsettled' ? verdict.reason : 'its fills were not read';
        const now = this.opts.clock.now();
        this.tries.set(id, { tries: (last?.tries ?? 0) + 1, lastAt: now, reason });
        const firstAt = this.opts.state.requireOrder(id).absentTriesSince ?? now;
        if (firstAt === now) {
          // written with the next state write (or the in-doubt commit): a crash before it only counts from later
          this.opts.state.change((d) => {
            const kept = d.orders[id];
            if (kept && kept.absentTriesSince === undefined)
              d.orders[id] = { ...kept, absentTriesSince: now };
          });
        }
        this.opts.logger.error('The exchange no longer shows an order it acknowledged; not settled', {
          ...context,
          reason,
        });
        const lasting = verdict.kind === 'unsettled' && verdict.lasting === true;
        if (lasting || now - firstAt >= RECHECK_HORIZON_MS) await this.markInDoubt(id, reason);
        throw absentError(this.opts.state.requireOrder(id), reason);
      }
      case 'settled':
        break;
    }
    // a limit order may still rest there unseen while the reads lag: its cancel closes it (its answer is the
    // exchange's view, returned like a listed one), or says it does not rest (rest-probe.ts)
    let probe: RestProbe | undefined;
    try {
      // filled whole, it cannot rest
      if (verdict.status === 'cancelled')
        probe = await probeRest(order, this.opts.exchange, this.opts.cancel);
    } catch (err) {
      if (!(err instanceof ByNinjaError)) throw err;
      const reason = `its cancel, sent before settling it, did not answer (${errorMessage(err)})`;
      this.tries.set(id, { tries: (last?.tries ?? 0) + 1, lastAt: this.opts.clock.now(), reason });
      throw absentError(this.opts.state.requireOrder(id), reason);
    }
    if (probe?.kind === 'found') {
      this.forget(id);
      this.opts.logger.warn('A limit order its reads no longer show was still there: its cancel found it', {
        ...context,
        filled: probe.remote.filled,
      });
      return probe.remote;
    }
    this.forget(id);
    // read again: another update of this order may have been committed during the reads
    const current = this.opts.state.requireOrder(id);
    if (isFinal(current.status) || current.status !== order.status || current.filled !== order.filled)
      return null;
    const value = verdict.trades.reduce((s, t) => s + t.amount * t.price, 0);
    const settled: LocalOrder = {
      ...transition(current, verdict.status, this.opts.clock.now(), {
        filled: verdict.filled,
        averagePrice: verdict.filled > 0 ? value / verdict.filled : current.averagePrice,
        settledAbsent: true,
        ...(probe?.restRuledOut ? { restRuledOut: true } : {}),
      }),
      error: undefined,
      absentTriesSince: undefined,
    };
    await this.opts.state.commitOrder(settled, [settledAbsentEvent(settled, current.status)]);
    this.opts.logger.warn('The exchange no longer shows an order it acknowledged; settled from its fills', {
      ...context,
      side: settled.side,
      status: settled.status,
      filled: settled.filled,
      amount: settled.amount,
      trades: verdict.trades.map((t) => t.id),
    });
    await this.opts.syncFills(id, verdict.trades);
    return null;
  }
}

/**
 * The `order.in_doubt` alert of an acknowledged order the exchange no longer shows that its reads cannot settle
 * (`reason`): only the operator can (/settle).
 */
export function absentInDoubtEvent(order: LocalOrder, reason: string): EventDraft {
  return inDoubtEvent(
    order,
    `is no longer shown by the exchange (not among its open orders, not found by a lookup) and its reads cannot ` +
      `settle it: ${reason}`,
    { absent: true, reason },
  );
}

/**
 * An acknowledged order the exchange no longer shows and that could not be settled: why, for the pause alert (and
 * /status's pause reason); in doubt, the commands that settle it.
 */
function absentError(order: LocalOrder, reason: string): OrderNotFoundError {
  const settle =
    order.inDoubtAt === undefined
      ? 'tried again later'
      : `tried again later; in doubt: you may settle it from the exchange's order history, ${settleCommands(order)}`;
  return new OrderNotFoundError(
    `the exchange no longer shows order ${order.clientOrderId} (${order.side} ${order.amount}, not open, not found ` +
      `by a lookup) and it is not settled: ${reason}; the symbol places nothing until it is, ${settle}`,
    { clientOrderId: order.clientOrderId, exchangeOrderId: order.exchangeOrderId, symbol: order.symbol },
  );
}
