/**
 * Fills of our orders, from the exchange's trades, and the positions derived from them.
 *
 * Fills come from the exchange's trades only (side and time the exchange's), de-duplicated by (order id, trade id);
 * a trade whose side is not its order's is left out and logged, never booked. A fee in a third currency is valued
 * in the quote when the fill is recorded (fee-valuation.ts); if that price cannot be read now the fill is recorded
 * all the same, its fee at the last price read and marked `feeEstimated` (0 when none was read; so is one valued at a
 * price older than `maxTickerAgeMs`, or a ticker without a price): the position, and
 * its stop-loss, never wait for a fee's price. New fills are committed with the position events they cause.
 *
 * The trades are searched from the order's creation (Bybit answers only within a time span, in its own time:
 * exchange/search-span.ts). A final order whose trades so read fall short of its filled amount is read once more
 * without a span (the exchange's default: every exchange's reaches back 7 days at least), which finds what a span
 * missed when the host clock stepped since the order was created; an older order is not. What the reads never bring
 * (an order created beyond the trade list's reach, or trades still short after minutes) is booked from the order's
 * own answer (fills-from-order.ts): its symbol, stop-loss included, is not held for ever.
 */
import { amountTolerance } from '../../exchange/precision';
import type { Clock } from '../../../shared/clock';
import type { Logger } from '../../../shared/logging/logger';
import { exchangeClock, type Exchange, type ExchangeTrade, type Market } from '../../exchange/exchange';
import { FeeValuation } from './fee-valuation';
import {
  ORDER_ANSWER_TRADE_ID_PREFIX,
  answerFeesOf,
  feeOfRest,
  fillsFromOrder,
  isOrderAnswerFill,
} from './fills-from-order';
import { writeOffPlace } from '../decide/held-balance';
import { endedByInference } from '../orders/never-placed-recheck';
import {
  fillsFromAnswerEvent,
  inDoubtEvent,
  positionChangeEvents,
  type EventDraft,
} from '../orders/order-events';
import { addFills, fillsComplete, isFinal, type LocalOrder } from '../orders/order-state';
import {
  derivePositions,
  feeNeedsValuation,
  fillFromTrade,
  type Fill,
  type FillOrder,
  type PositionBook,
} from './pnl';
import type { StateGateway } from '../state/state-gateway';
import { tickerAge } from '../exchange-watch/ticker-age';
import type { TradingState } from '../state/trading-state';

/** How far back every exchange's read of an order's trades without a time span reaches (Bybit: 7 days). */
export const SPANLESS_TRADES_REACH_MS = 7 * 86_400_000;

/**
 * Whether the order's trades should be read again without a span: it is final, younger than such a read reaches,
 * and the trades read add up to less than it filled.
 */
export function readAgainWithoutSpan(
  order: LocalOrder,
  trades: readonly ExchangeTrade[],
  now: number,
): boolean {
  if (!isFinal(order.status) || now - order.createdAt >= SPANLESS_TRADES_REACH_MS) return false;
  const read = trades.reduce((s, t) => s + (t.orderId === order.exchangeOrderId ? t.amount : 0), 0);
  return read < order.filled - amountTolerance(order.amount);
}

export interface FillSyncOptions {
  exchange: Exchange;
  state: StateGateway;
  markets: () => Record<string, Market>;
  clock: Clock;
  logger: Logger;
  /**
   * Runs a read (`what`: an order's trades, by its clientOrderId; a fee's market or price, by its symbol): tracked
   * (shutdown waits for it) and within the lookup deadline, so no read of a fill sync holds its symbol's lane longer.
   */
  lookup: <T>(what: 'trades' | 'fee-market' | 'fee-price', key: string, call: () => Promise<T>) => Promise<T>;
  /** A fee's price dated longer ago than this on the exchange's clock is stale: the fee estimated (ticker-age.ts). */
  maxTickerAgeMs?: number;
}

export class FillSync {
  private readonly fees: FeeValuation;

  constructor(private readonly opts: FillSyncOptions) {
    const { exchange, lookup } = opts;
    // a fee's market or price read given up at the deadline is a failed read: the fee is recorded estimated
    const feeReads: Pick<Exchange, 'fetchTicker' | 'findMarket'> = {
      fetchTicker: (symbol) => lookup('fee-price', symbol, () => exchange.fetchTicker(symbol)),
      findMarket: exchange.findMarket
        ? (symbol) => lookup('fee-market', symbol, () => exchange.findMarket!(symbol))
        : undefined,
    };
    const { maxTickerAgeMs } = opts;
    const onExchangeClock = exchangeClock(opts.clock, exchange);
    this.fees = new FeeValuation(
      feeReads,
      opts.markets,
      opts.logger,
      () => opts.clock.now(),
      (ticker) =>
        maxTickerAgeMs !== undefined && tickerAge(ticker, onExchangeClock.now(), maxTickerAgeMs).stale,
    );
  }

  /**
   * Fetches the order's trades (unless `known` already covers its filled amount) and commits the new ones with
   * their position events; returns the fills added.
   */
  async sync(clientOrderId: string, known?: ExchangeTrade[]): Promise<Fill[]> {
    const { exchange, state, logger } = this.opts;
    const order = state.requireOrder(clientOrderId);
    if (!order.exchangeOrderId) return [];
    let trades = known ?? [];
    const coveredByKnown = trades.reduce((s, t) => s + t.amount, 0) >= order.filled - 1e-12;
    if (!coveredByKnown) {
      const id = order.exchangeOrderId;
      trades = await this.opts.lookup('trades', clientOrderId, () =>
        exchange.fetchOrderTrades(id, order.symbol, order.createdAt),
      );
      if (readAgainWithoutSpan(order, trades, this.opts.clock.now())) {
        const spanless = await this.opts.lookup('trades', clientOrderId, () =>
          exchange.fetchOrderTrades(id, order.symbol),
        );
        if (spanless.length > trades.length) {
          logger.warn('Trades of a finished order found only without a time span (host clock stepped?)', {
            clientOrderId,
            inSpan: trades.length,
            found: spanless.length,
          });
          trades = spanless;
        }
      }
    }
    const ofOrder = trades.filter((t) => t.orderId === order.exchangeOrderId);
    const wrongSide = ofOrder.filter((t) => t.side !== order.side);
    if (wrongSide.length > 0) {
      logger.error('Trades with another side than their order left out', {
        clientOrderId,
        side: order.side,
        trades: wrongSide.map((t) => ({ id: t.id, side: t.side })),
      });
    }
    const fills: Fill[] = [];
    for (const t of ofOrder.filter((x) => x.side === order.side)) {
      if (order.fills.some((f) => f.tradeId === t.id)) continue;
      const fill = fillFromTrade(t, clientOrderId);
      if (feeNeedsValuation(fill)) {
        const { feeQuote, estimated } = await this.fees.value(fill);
        fill.feeQuote = feeQuote;
        if (estimated) fill.feeEstimated = true;
      }
      fills.push(fill);
    }
    // read again after the fetches: another update of this order (a late create answer, a cancel) may have been
    // committed meanwhile, and writing the copy read before the await would undo it
    const current = state.requireOrder(clientOrderId);
    // the order's own trades read now replace a fill booked from its answer when they were not (fills-from-order.ts):
    // never both
    const fresh = fills.filter((f) => !current.fills.some((k) => k.tradeId === f.tradeId));
    const replacing = fresh.length > 0 && current.fills.some(isOrderAnswerFill);
    const base = replacing
      ? { ...current, fills: current.fills.filter((f) => !isOrderAnswerFill(f)) }
      : current;
    const { order: withFills, added } = addFills(base, fills);
    if (added.length > 0) await this.commitFills({ ...withFills, updatedAt: this.opts.clock.now() }, added);
    return [...added, ...(await this.fillsFromAnswer(clientOrderId))];
  }

  /**
   * Commits `updated` (the order with its new fills `added`) with the position events they cause. A finished order in
   * doubt for its missing fills (below; symbol-tick.ts for a symbol no longer listed) is in doubt no more once they
   * are all booked.
   */
  private async commitFills(
    updated: LocalOrder,
    added: readonly Fill[],
    events: EventDraft[] = [],
  ): Promise<void> {
    const { state } = this.opts;
    if (
      updated.inDoubtAt !== undefined &&
      isFinal(updated.status) &&
      fillsComplete(updated) &&
      !endedByInference(updated)
    ) {
      updated = { ...updated, inDoubtAt: undefined, inDoubtToldAt: undefined };
    }
    const markets = this.opts.markets();
    const fillOrder = this.opts.exchange.traits.fillOrder;
    await state.commitOrder(updated, [
      ...events,
      ...positionChangeEvents(
        updated.symbol,
        markets[updated.symbol],
        positionsOf(state.data, markets, fillOrder)[updated.symbol],
        positionsOf(state.data, markets, fillOrder, updated)[updated.symbol],
        added[added.length - 1].price,
      ),
    ]);
  }

  /**
   * After a trade read that still falls short: the fills its reads never bring booked from the order's own answer
   * (fills-from-order.ts), with one `order.fills_from_answer` alert. Returns the fill booked, if any.
   */
  private async fillsFromAnswer(clientOrderId: string): Promise<Fill[]> {
    const { state, clock, logger } = this.opts;
    const order = state.requireOrder(clientOrderId);
    const decision = fillsFromOrder(order, clock.now(), this.opts.exchange.traits.tradeHistoryReachMs);
    if (decision.kind === 'none') return [];
    if (decision.kind === 'unpriced') {
      if (order.inDoubtAt !== undefined) return [];
      // the operator is told (once: in the state) and may book them from the exchange's history (/settle)
      logger.error(
        'Fills of a finished order cannot be read nor booked from its answer; its symbol stays held',
        {
          clientOrderId,
          symbol: order.symbol,
          filled: order.filled,
          reason: decision.reason,
        },
      );
      await state.commitInDoubt(
        order,
        inDoubtEvent(order, `ended ${order.status} with ${order.filled} filled, but ${decision.reason}`, {
          fillsMissing: true,
          reason: decision.reason,
        }),
        clock.now(),
      );
      return [];
    }
    const markets = this.opts.markets();
    const fillOrder = this.opts.exchange.traits.fillOrder;
    // after the symbol's last fill, like a write-off: no later fill of the symbol exists while this one is missing
    // (the symbol placed nothing since), and the order's own fills came after its send
    const place = writeOffPlace(
      order.symbol,
      Object.values(state.data.orders).flatMap((o) => o.fills),
      order.sentAt ?? order.createdAt,
      fillOrder,
      positionsOf(state.data, markets, fillOrder)[order.symbol]?.lastTradeId,
    );
    const fee = feeOfRest(
      order,
      decision.amount,
      decision.price,
      answerFeesOf(order),
      markets[order.symbol]?.takerFee,
      this.opts.exchange.traits.buyFeeCoin,
    );
    const fill: Fill = {
      orderId: order.exchangeOrderId ?? '',
      clientOrderId,
      tradeId: `${ORDER_ANSWER_TRADE_ID_PREFIX}${clientOrderId}`,
      symbol: order.symbol,
      side: order.side,
      price: decision.price,
      amount: decision.amount,
      feeCost: fee.cost,
      feeCurrency: fee.currency,
      timestamp: place.at,
      ...(place.afterTradeId === undefined ? {} : { afterTradeId: place.afterTradeId }),
    };
    if (feeNeedsValuation(fill)) {
      const { feeQuote, estimated } = await this.fees.value(fill);
      fill.feeQuote = feeQuote;
      if (estimated) fill.feeEstimated = true;
    }
    const { order: withFill, added } = addFills(order, [fill]);
    if (added.length === 0) return [];
    await this.commitFills({ ...withFill, updatedAt: clock.now() }, added, [
      fillsFromAnswerEvent(order, fill, decision.why, fee.estimated),
    ]);
    logger.warn('Fills of a finished order booked from its answer (its trades were not read)', {
      clientOrderId,
      symbol: order.symbol,
      booked: fill.amount,
      price: fill.price,
      fee: fill.feeCost,
      feeCurrency: fill.feeCurrency,
      feeFrom: fee.estimated ? 'estimated at the taker rate' : "the order's answer",
      reason: decision.why,
    });
    return added;
  }
}

/**
 * Positions as the state holds them: the checkpoint plus the fills of the hot orders, in their order. With
 * `replacing`, as they would be with that version of the order (for the events of a change before its commit).
 */
export function positionsOf(
  data: Readonly<Pick<TradingState, 'orders' | 'checkpoint'>>,
  markets: Record<string, Market>,
  fillOrder: FillOrder,
  replacing?: LocalOrder,
): Record<string, PositionBook> {
  // same fill order as after the commit (replacing a key keeps its place)
  const fills: Fill[] = [];
  for (const o of Object.values(data.orders))
    fills.push(...(o.clientOrderId === replacing?.clientOrderId ? replacing : o).fills);
  if (replacing && !(replacing.clientOrderId in data.orders)) fills.push(...replacing.fills);
  return derivePositions(data.checkpoint, fills, markets, fillOrder);
}
