/**
 * Orders that ended on our inference looked up again — the I/O shell of never-placed-recheck.ts, which says which
 * orders and when: declared never placed, settled when the exchange no longer showed them, or settled by the
 * operator (/settle). Each is looked up by its clientOrderId on the widening schedule (and all of them at a start);
 * one the exchange has after all is taken back from its answer, which replaces what we inferred (and what the
 * operator booked in its place). While running, orders held refused on their create's answer are looked up on the same
 * schedule (order-adoption.ts refusedToLookUp; recovery looks them up once itself): taken back when the exchange works
 * or filled one (heldRejectedButPlaced), else the refusal stands.
 */
import type { Clock } from '../../../shared/clock';
import { OrderNotFoundError } from '../../../shared/errors';
import type { OrderStatus } from '../../../shared/domain/order';
import type { Logger } from '../../../shared/logging/logger';
import type { Exchange, ExchangeOrder } from '../../exchange/exchange';
import {
  lookedUpAgain,
  nextRecheckAt,
  stillRechecked,
  type NeverPlacedRecheckRule,
} from './never-placed-recheck';
import { heldRejectedButPlaced, refusedToLookUp } from './order-adoption';
import { isOrderAnswerFill } from '../books/fills-from-order';
import { isOperatorFill } from '../operator/operator-settle';
import { takenBackEvent } from './order-events';
import { changedByExchange, type LocalOrder } from './order-state';
import type { PositionBook } from '../books/pnl';
import type { StateGateway } from '../state/state-gateway';

/** An order declared never placed that the exchange had after all: what it was, and what it is now. */
export interface TakenBack {
  clientOrderId: string;
  from: OrderStatus;
  to: OrderStatus;
}

export interface OrderRecheckOptions {
  exchange: Exchange;
  state: StateGateway;
  clock: Clock;
  logger: Logger;
  rule: NeverPlacedRecheckRule;
  /** One lookup (order-calls.ts: tracked, within the lookup deadline, joined while on its way unless `fresh`). */
  lookup: <T>(
    what: 'order' | 'open-orders',
    key: string,
    call: () => Promise<T>,
    fresh?: boolean,
  ) => Promise<T>;
  /** The hot state's orders that pass `test`, oldest first (OrderBook.hotOrders). */
  hotOrders: (test: (order: LocalOrder) => boolean) => LocalOrder[];
  positions: () => Record<string, PositionBook>;
  /** Applies the exchange's answer to an order (order-answers.ts: status, fills, events). */
  applyRemote: (clientOrderId: string, remote: ExchangeOrder) => Promise<void>;
  /**
   * Whether the exchange lists the symbol (its market is loaded): a symbol it no longer lists is not looked up —
   * ccxt refuses every read of it, which the loop would take for the exchange failing.
   */
  listed: (symbol: string) => boolean;
}

/**
 * Whether the loop's recheck may look `order` up at all (the lanes it holds): ended on our inference, settled by the
 * operator, or held refused on its create's answer and sent (order-adoption.ts refusedToLookUp, its day aside).
 */
export function lookedUpWhileRunning(order: LocalOrder): boolean {
  return lookedUpAgain(order) || refusedToLookUp(order, order.updatedAt, Infinity);
}

export class OrderRecheck {
  /** Lookups of each order since its verdict or this start, and when the last one was. */
  private readonly lookups = new Map<string, { lookups: number; lastAt: number }>();
  /**
   * Orders held refused whose lookup showed them as state holds them (refused or cancelled there, nothing filled):
   * the exchange's word, not looked up again while this process runs.
   */
  private readonly refusalConfirmed = new Set<string>();

  constructor(private readonly opts: OrderRecheckOptions) {}

  /**
   * Looks up again the orders declared never placed on our own inference (never-placed-recheck.ts), and those settled
   * when the exchange no longer showed them — `all` of
   * them still within the horizon (recovery, at start), or those whose turn on the widening schedule has come
   * (`due`: the loop, each tick) — and takes back each one the exchange has after all (a settled one only when its
   * answer differs from how it was settled). Returns those taken back.
   * A failed lookup other than "not found" is thrown (the order's turn stays: it is looked up again next time).
   */
  async recheck(which: 'all' | 'due', maxLookups = Infinity): Promise<TakenBack[]> {
    const now = this.opts.clock.now();
    // while running (`due`), orders held refused on their create's answer within the horizon too: an answer read as a
    // refusal while the exchange took the order (or a refusal it contradicts later) fills with no position and no
    // stop-loss behind it. Recovery looks each of them up once itself (recovery.ts), so `all` leaves them out.
    const refusedDue = (o: LocalOrder): boolean =>
      which === 'due' &&
      refusedToLookUp(o, now, this.opts.rule.horizonMs) &&
      !this.refusalConfirmed.has(o.clientOrderId);
    const rechecked = this.opts.hotOrders(
      (o) => (stillRechecked(o, this.opts.rule, now) || refusedDue(o)) && this.opts.listed(o.symbol),
    );
    const ids = new Set(rechecked.map((o) => o.clientOrderId));
    for (const id of this.lookups.keys()) if (!ids.has(id)) this.lookups.delete(id);
    for (const id of this.refusalConfirmed) {
      const held = this.opts.state.data.orders[id];
      if (!held || !refusedToLookUp(held, now, this.opts.rule.horizonMs)) this.refusalConfirmed.delete(id);
    }
    if (which === 'all') {
      // recovery has just looked each of them up (or its open and recent orders showed it): the loop's next lookup
      // of each is a step of the schedule away, not at its first tick
      for (const o of this.opts.hotOrders((o) => refusedToLookUp(o, now, this.opts.rule.horizonMs)))
        this.lookups.set(o.clientOrderId, { lookups: 1, lastAt: now });
    }
    const taken: TakenBack[] = [];
    for (const order of rechecked) {
      const id = order.clientOrderId;
      const plan = this.lookups.get(id) ?? { lookups: 0, lastAt: order.updatedAt };
      if (which === 'due' && now < nextRecheckAt(plan.lastAt, plan.lookups, this.opts.rule)) continue;
      if (maxLookups-- <= 0) break;
      let remote: ExchangeOrder;
      try {
        remote = await this.opts.lookup('order', id, () =>
          this.opts.exchange.fetchOrderByClientId(id, order.symbol, order.createdAt),
        );
      } catch (err) {
        if (!(err instanceof OrderNotFoundError)) throw err;
        this.lookups.set(id, { lookups: plan.lookups + 1, lastAt: this.opts.clock.now() });
        continue;
      }
      this.lookups.delete(id);
      if (order.refused === true) {
        // taken back only if the exchange works it or filled it (heldRejectedButPlaced); shown refused or cancelled
        // with nothing filled, the refusal stands and is not looked up again
        if (!heldRejectedButPlaced(order, remote)) {
          this.refusalConfirmed.add(id);
          continue;
        }
      } else if (order.settledAbsent && !order.operatorSettled && !changedByExchange(order, remote)) {
        // the exchange shows a settled order as it was settled: confirmed, no longer looked up
        await this.opts.state.commitOrder({ ...this.opts.state.requireOrder(id), settledAbsent: undefined });
        continue;
      }
      const after = await this.takeBack(id, remote);
      taken.push({ clientOrderId: id, from: order.status, to: after.status });
    }
    return taken;
  }

  /**
   * Takes back an order declared never placed (or settled when the exchange no longer showed it, or held refused
   * while the exchange lists it: order-adoption.ts heldRejectedButPlaced) that the exchange has: the exchange's
   * answer wins. The order is
   * reopened as `unknown` (a final status never changes on the exchange's word; this one was our inference) with an
   * `order.taken_back` event, then the answer is applied like any other — status, fills, position events.
   */
  async takeBack(clientOrderId: string, remote: ExchangeOrder): Promise<LocalOrder> {
    const order = this.opts.state.requireOrder(clientOrderId);
    // the exchange's fills replace what the operator booked in their place (operator-settle.ts), and what was booked
    // from an answer when its trades were not read (fills-from-order.ts)
    const fills = order.fills.filter((f) => !isOperatorFill(f) && !isOrderAnswerFill(f));
    const reopened: LocalOrder = {
      ...order,
      status: 'unknown',
      error: undefined,
      lookupMisses: undefined,
      settledAbsent: undefined,
      inDoubtAt: undefined,
      operatorSettled: undefined,
      // held refused (or rejected unsent) while the exchange took it: the exchange's word now, no refusal left
      refused: undefined,
      retryAfterMs: undefined,
      neverSent: undefined,
      ...(fills.length === order.fills.length
        ? {}
        : { fills, filled: fills.reduce((sum, f) => sum + f.amount, 0), averagePrice: undefined }),
      updatedAt: this.opts.clock.now(),
    };
    const positionBefore = this.opts.positions()[order.symbol]?.amount ?? 0;
    await this.opts.state.commitOrder(reopened, [takenBackEvent(order, remote, positionBefore)]);
    await this.opts.applyRemote(clientOrderId, remote);
    const after = this.opts.state.requireOrder(clientOrderId);
    this.opts.logger.error(
      'An order ended on our inference exists on the exchange; taken back from its answer',
      {
        clientOrderId,
        symbol: after.symbol,
        side: after.side,
        status: after.status,
        filled: after.filled,
        position: this.opts.positions()[after.symbol]?.amount ?? 0,
      },
    );
    return after;
  }

  /**
   * The exchange's answer for an order of ours, now (fresh: no cached answer): its lookup by clientOrderId, then — a
   * lookup can lag the matching engine, the list of working orders does not say "not found" for a working one — its
   * symbol's complete open-orders list. Null when neither has it; another failure is thrown. For the operator's
   * settle: the exchange is asked once more first.
   */
  async findOnExchange(clientOrderId: string): Promise<ExchangeOrder | null> {
    const order = this.opts.state.requireOrder(clientOrderId);
    try {
      return await this.opts.lookup(
        'order',
        clientOrderId,
        () => this.opts.exchange.fetchOrderByClientId(clientOrderId, order.symbol, order.createdAt),
        true,
      );
    } catch (err) {
      if (!(err instanceof OrderNotFoundError)) throw err;
    }
    const open = await this.opts.lookup(
      'open-orders',
      order.symbol,
      () => this.opts.exchange.fetchOpenOrders(order.symbol),
      true,
    );
    return (
      open.find(
        (o) =>
          o.clientOrderId === clientOrderId ||
          (order.exchangeOrderId !== undefined && o.id === order.exchangeOrderId),
      ) ?? null
    );
  }
}
