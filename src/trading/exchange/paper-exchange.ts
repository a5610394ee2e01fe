/**
 * The built-in paper exchange: market and limit orders, fees, slippage, partial fills of large limit orders,
 * lookup by clientOrderId and balances, over a pluggable price feed (the simulated market in paper mode,
 * a real exchange's public data in dry-run mode).
 *
 * It behaves like a real exchange where that matters for crash safety:
 * - its account lives in its own durable file and every accepted order is committed BEFORE create returns;
 * - a second create with a clientOrderId it already knows is refused (InvalidOrderError "duplicate
 *   clientOrderId"), which is what makes a repeated submit harmless;
 * - resting limit orders keep filling while the bot is down: matching replays the candles that passed since
 *   the order was last looked at.
 * All calls run one at a time (a real matching engine is sequential too).
 */
import type { Clock } from '../../shared/clock';
import { systemClock } from '../../shared/clock';
import type { Config } from '../../shared/config/schema';
import {
  ExchangeUnavailableError,
  InvalidOrderError,
  NetworkError,
  OrderNotFoundError,
  PersistenceError,
} from '../../shared/errors';
import type { Logger } from '../../shared/logging/logger';
import { StoreLock } from '../../shared/persistence/lock';
import { Store } from '../../shared/persistence/store';
import type {
  BalanceEntry,
  Candle,
  CreateOrderRequest,
  Exchange,
  ExchangeOrder,
  ExchangeTrade,
  ExchangeTraits,
  Market,
  Ticker,
} from './exchange';
import { ceilToStep, floorToStep, roundToStep } from './precision';
import {
  clean,
  credit,
  debit,
  freeOf,
  newPaperAccount,
  paperAccountSchema,
  release,
  reserve,
  type PaperAccount,
  type PaperOrderRecord,
} from './paper-account';
import type { PriceFeed, PriceRange } from './price-feed';

export type PaperSettings = Pick<
  Config['trading']['paper'],
  'startingBalances' | 'feeRate' | 'slippageBps' | 'partialFillNotional' | 'latencyMs'
>;

export interface PaperExchangeOptions {
  /** Directory of the account file `<name>.json`. */
  dataDir: string;
  feed: PriceFeed;
  settings: PaperSettings;
  /** `paper`, or the ccxt id in dry-run mode. */
  id?: string;
  /** Store name (file `<dataDir>/<name>.json`); default `paper-exchange`. */
  storeName?: string;
  clock?: Clock;
  logger?: Logger;
  /**
   * Closed orders kept for lookups (oldest dropped first), like an exchange's order history retention;
   * default 500: every commit rewrites the file, so history must stay bounded.
   */
  retainClosedOrders?: number;
}

const ACCOUNT_VERSION = 1;
/** Orders fetchRecentOrders returns, newest last (an exchange's "recent orders" page). */
const RECENT_ORDERS = 500;

/** The paper exchange knows every order it took at once, and takes any id our engine builds. */
const PAPER_TRAITS: ExchangeTraits = {
  lookupGraceMs: 0,
  clientOrderId: { maxLength: 64, pattern: /^[.A-Za-z0-9:/_-]{1,64}$/ },
};

export class PaperExchange implements Exchange {
  readonly id: string;
  readonly traits = PAPER_TRAITS;
  private readonly clock: Clock;
  private markets?: Record<string, Market>;
  private queue: Promise<unknown> = Promise.resolve();
  private closing?: Promise<void>;

  private constructor(
    private readonly store: Store<PaperAccount>,
    private readonly lock: StoreLock,
    private readonly options: PaperExchangeOptions,
  ) {
    this.id = options.id ?? 'paper';
    this.clock = options.clock ?? systemClock;
  }

  /** Opens (or creates with the starting balances) the account file; one instance per file (StoreLock). */
  static async open(options: PaperExchangeOptions): Promise<PaperExchange> {
    const name = options.storeName ?? 'paper-exchange';
    const lock = await StoreLock.acquire(options.dataDir, name);
    try {
      const store = await Store.open<PaperAccount>({
        dir: options.dataDir,
        name,
        version: ACCOUNT_VERSION,
        defaults: () => newPaperAccount(options.settings.startingBalances),
        validate: (data) => paperAccountSchema.parse(data),
        logger: options.logger,
      });
      return new PaperExchange(store, lock, options);
    } catch (err) {
      await lock.release().catch(() => undefined);
      throw err;
    }
  }

  loadMarkets(reload = false): Promise<Record<string, Market>> {
    return this.call(
      'loadMarkets',
      async () => {
        if (reload) this.markets = undefined;
        return { ...(await this.marketsLoaded()) };
      },
      false,
    );
  }

  fetchTicker(symbol: string): Promise<Ticker> {
    return this.call(
      'fetchTicker',
      async () => {
        await this.market(symbol);
        return this.options.feed.fetchTicker(symbol, this.clock.now());
      },
      false,
    );
  }

  fetchCandles(symbol: string, timeframe: string, limit: number): Promise<Candle[]> {
    return this.call(
      'fetchCandles',
      async () => {
        await this.market(symbol);
        return this.options.feed.fetchCandles(symbol, timeframe, limit, this.clock.now());
      },
      false,
    );
  }

  createOrder(request: CreateOrderRequest): Promise<ExchangeOrder> {
    return this.call('createOrder', () => this.placeOrder(request));
  }

  fetchOrder(id: string, symbol: string): Promise<ExchangeOrder> {
    return this.call('fetchOrder', async () => {
      await this.matchOpenOrders();
      return toExchangeOrder(this.findOrder(id, symbol));
    });
  }

  fetchOrderByClientId(clientOrderId: string, symbol: string): Promise<ExchangeOrder> {
    return this.call('fetchOrderByClientId', async () => {
      await this.matchOpenOrders();
      const id = this.store.data.byClientId[clientOrderId];
      if (id === undefined) throw new OrderNotFoundError('order does not exist', { clientOrderId, symbol });
      return toExchangeOrder(this.findOrder(id, symbol));
    });
  }

  fetchOpenOrders(symbol?: string): Promise<ExchangeOrder[]> {
    return this.call('fetchOpenOrders', async () => {
      await this.matchOpenOrders();
      return this.openOrders()
        .filter((o) => symbol === undefined || o.symbol === symbol)
        .map(toExchangeOrder);
    });
  }

  fetchRecentOrders(symbol: string): Promise<ExchangeOrder[]> {
    return this.call('fetchRecentOrders', async () => {
      await this.matchOpenOrders();
      return Object.values(this.store.data.orders)
        .filter((o) => o.symbol === symbol)
        .sort((a, b) => a.timestamp - b.timestamp || Number(a.id) - Number(b.id))
        .slice(-RECENT_ORDERS)
        .map(toExchangeOrder);
    });
  }

  fetchOrderTrades(orderId: string, symbol: string): Promise<ExchangeTrade[]> {
    return this.call('fetchOrderTrades', async () => {
      await this.matchOpenOrders();
      return this.findOrder(orderId, symbol).trades.map((t) => ({ ...t, fee: { ...t.fee } }));
    });
  }

  cancelOrder(id: string, symbol: string): Promise<ExchangeOrder> {
    return this.call('cancelOrder', async () => {
      await this.matchOpenOrders();
      const order = this.findOrder(id, symbol);
      if (order.status !== 'open') {
        // like Binance (-2011 "Unknown order sent."): only open orders can be cancelled
        throw new OrderNotFoundError('order is not open', { orderId: id, symbol, status: order.status });
      }
      await this.save((d) => {
        const o = d.orders[id];
        release(d, o.reserved.currency, o.reserved.amount);
        o.reserved.amount = 0;
        o.status = 'canceled';
      });
      return toExchangeOrder(this.store.data.orders[id]);
    });
  }

  fetchBalance(): Promise<Record<string, BalanceEntry>> {
    return this.call('fetchBalance', async () => {
      await this.matchOpenOrders();
      const result: Record<string, BalanceEntry> = {};
      for (const [currency, b] of Object.entries(this.store.data.balances)) {
        result[currency] = { free: b.free, used: b.used, total: clean(b.free + b.used) };
      }
      return result;
    });
  }

  /** The local account (paper, or dry-run's paper fills): one per data dir. */
  accountId(): Promise<string> {
    return Promise.resolve('paper');
  }

  /** Flushes and closes the account file and releases its lock; idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.queue.catch(() => undefined);
      try {
        await this.store.close();
      } finally {
        try {
          await this.options.feed.close();
        } finally {
          await this.lock.release();
        }
      }
    })();
    return this.closing;
  }

  // --- internals -------------------------------------------------------------------------------------------

  /**
   * Runs one exchange call: simulated latency, then `fn` alone (calls are sequential). `exclusive` false lets
   * pure market-data reads run beside order calls.
   */
  private async call<T>(operation: string, fn: () => Promise<T>, exclusive = true): Promise<T> {
    if (this.closing) throw new ExchangeUnavailableError('paper exchange is closed', { operation });
    if (this.options.settings.latencyMs > 0) await this.clock.sleep(this.options.settings.latencyMs);
    return exclusive ? this.exclusive(fn) : fn();
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async marketsLoaded(): Promise<Record<string, Market>> {
    this.markets ??= await this.options.feed.loadMarkets();
    return this.markets;
  }

  private async market(symbol: string): Promise<Market> {
    const market = (await this.marketsLoaded())[symbol];
    if (!market) throw new InvalidOrderError(`unknown symbol ${symbol}`, { symbol });
    return market;
  }

  private findOrder(id: string, symbol: string): PaperOrderRecord {
    const order = this.store.data.orders[id];
    if (!order || order.symbol !== symbol)
      throw new OrderNotFoundError('order does not exist', { orderId: id, symbol });
    return order;
  }

  private openOrders(): PaperOrderRecord[] {
    return Object.values(this.store.data.orders)
      .filter((o) => o.status === 'open')
      .sort((a, b) => a.timestamp - b.timestamp || Number(a.id) - Number(b.id));
  }

  private async save(mutate: (d: PaperAccount) => void): Promise<void> {
    await this.store.commit(mutate);
  }

  private async placeOrder(request: CreateOrderRequest): Promise<ExchangeOrder> {
    const { symbol, side, type, clientOrderId } = request;
    const context = { symbol, side, type, amount: request.amount, price: request.price, clientOrderId };
    if (this.store.data.byClientId[clientOrderId] !== undefined) {
      throw new InvalidOrderError('duplicate clientOrderId', {
        ...context,
        duplicate: true,
        orderId: this.store.data.byClientId[clientOrderId],
      });
    }
    const market = await this.market(symbol);
    await this.matchOpenOrders();
    const amount = floorToStep(request.amount, market.amountStep);
    if (!(amount > 0) || amount < market.minAmount) {
      throw new InvalidOrderError(
        `amount ${request.amount} is below the minimum ${market.minAmount}`,
        context,
      );
    }
    if (type === 'limit' && !(request.price !== undefined && request.price > 0)) {
      throw new InvalidOrderError('a limit order needs a positive price', context);
    }
    const now = this.clock.now();
    const ticker = await this.options.feed.fetchTicker(symbol, now);
    const { feeRate, slippageBps } = this.options.settings;
    const limitPrice = type === 'limit' ? roundToStep(request.price ?? 0, market.priceStep) : undefined;
    const refPrice = limitPrice ?? (side === 'buy' ? ticker.ask : ticker.bid);
    if (amount * refPrice < market.minNotional) {
      throw new InvalidOrderError(
        `order value ${clean(amount * refPrice)} is below the minimum ${market.minNotional}`,
        context,
      );
    }

    // what fills right now: the whole market order at the quote ± slippage, or a marketable limit's first slice
    let immediate: { amount: number; price: number } | undefined;
    if (type === 'market') {
      const slip = slippageBps / 10_000;
      const price =
        side === 'buy'
          ? ceilToStep(ticker.ask * (1 + slip), market.priceStep)
          : floorToStep(ticker.bid * (1 - slip), market.priceStep);
      immediate = { amount, price };
    } else if (
      limitPrice !== undefined &&
      (side === 'buy' ? ticker.ask <= limitPrice : ticker.bid >= limitPrice)
    ) {
      const price =
        side === 'buy' ? ceilToStep(ticker.ask, market.priceStep) : floorToStep(ticker.bid, market.priceStep);
      immediate = { amount: this.sliceAmount(amount, limitPrice, market), price };
    }

    // funds check before anything is written: nothing changes when it fails
    const probe = structuredClone({ balances: this.store.data.balances }) as PaperAccount;
    const reservation = reservationFor(side, amount, limitPrice, market, feeRate);
    if (type === 'limit') reserve(probe, reservation.currency, reservation.amount, context);
    else if (side === 'buy')
      debit(probe, market.quote, amount * (immediate?.price ?? 0) * (1 + feeRate), context);
    else debit(probe, market.base, amount, context);

    const bucket = this.options.feed.bucketOf(now);
    let id = '';
    try {
      await this.save((d) => {
        id = String(d.nextOrderId);
        d.nextOrderId += 1;
        const order: PaperOrderRecord = {
          id,
          clientOrderId,
          symbol,
          side,
          type,
          price: limitPrice,
          amount,
          filled: 0,
          cost: 0,
          status: 'open',
          timestamp: now,
          reserved: { currency: reservation.currency, amount: type === 'limit' ? reservation.amount : 0 },
          checkedBucket: bucket,
          lastFillBucket: -1, // periods count from the epoch: every real one is later
          trades: [],
        };
        d.orders[id] = order;
        d.byClientId[clientOrderId] = id;
        if (type === 'limit') reserve(d, reservation.currency, reservation.amount, context);
        if (immediate) this.fill(d, order, market, immediate.amount, immediate.price, now, bucket);
        this.pruneClosed(d);
      });
    } catch (err) {
      // the account write failed: like a 5xx from a real exchange, the outcome is unknown to the caller
      if (err instanceof PersistenceError) {
        throw new NetworkError('paper exchange could not store the order; outcome unknown', context, {
          cause: err,
        });
      }
      throw err;
    }
    this.options.logger?.debug('paper order accepted', { orderId: id, ...context });
    return toExchangeOrder(this.store.data.orders[id]);
  }

  /** Fills resting limit orders whose price the market reached since they were last checked; commits changes. */
  private async matchOpenOrders(): Promise<void> {
    const open = this.openOrders().filter((o) => o.type === 'limit');
    if (open.length === 0) return;
    const now = this.clock.now();
    const currentBucket = this.options.feed.bucketOf(now);
    const fills: Array<{ id: string; amount: number; price: number; time: number; bucket: number }> = [];
    const checked = new Map<string, number>();
    // Orders checked up to the same period share one range list per symbol within a pass (read-only below): the
    // feed's answer depends only on (symbol, afterBucket, now), and computing it per order made a pass over n
    // orders cost n full candle replays (or, in dry-run, n ticker requests).
    const rangesCache = new Map<string, Promise<PriceRange[]>>();
    const rangesOf = (symbol: string, afterBucket: number): Promise<PriceRange[]> => {
      const key = `${symbol}\u0000${afterBucket}`;
      let ranges = rangesCache.get(key);
      if (!ranges) {
        ranges = this.options.feed.priceRanges(symbol, afterBucket, now);
        rangesCache.set(key, ranges);
      }
      return ranges;
    };
    for (const order of open) {
      const market = await this.market(order.symbol);
      const price = order.price ?? 0;
      let remaining = clean(order.amount - order.filled);
      let lastFill = order.lastFillBucket;
      for (const range of await rangesOf(order.symbol, order.checkedBucket)) {
        if (remaining <= 0) break;
        if (range.bucket <= lastFill) continue;
        const crossed = order.side === 'buy' ? range.lowestAsk <= price : range.highestBid >= price;
        if (!crossed) continue;
        // a resting order the market came down (up) to fills at its limit; one still marketable at the end of
        // the period (its limit beyond the quote) fills at the quote, as a taker would
        const fillPrice =
          order.side === 'buy'
            ? Math.min(price, ceilToStep(range.ask, market.priceStep))
            : Math.max(price, floorToStep(range.bid, market.priceStep));
        const amount = Math.min(remaining, this.sliceAmount(order.amount, price, market));
        fills.push({
          id: order.id,
          amount,
          price: fillPrice,
          time: Math.min(range.time, now),
          bucket: range.bucket,
        });
        remaining = clean(remaining - amount);
        lastFill = range.bucket;
      }
      const completed = currentBucket - 1;
      if (completed > order.checkedBucket) checked.set(order.id, completed);
    }
    if (fills.length === 0 && checked.size === 0) return;
    try {
      await this.save((d) => {
        for (const f of fills) {
          const order = d.orders[f.id];
          this.fill(d, order, this.markets![order.symbol], f.amount, f.price, f.time, f.bucket);
        }
        for (const [id, bucket] of checked) d.orders[id].checkedBucket = bucket;
        this.pruneClosed(d);
      });
    } catch (err) {
      if (err instanceof PersistenceError) {
        throw new ExchangeUnavailableError('paper exchange could not store fills', {}, { cause: err });
      }
      throw err;
    }
  }

  /** Applies one fill to the order and the balances (fee in quote currency). Never throws. */
  private fill(
    d: PaperAccount,
    order: PaperOrderRecord,
    market: Market,
    amount: number,
    price: number,
    time: number,
    bucket: number,
  ): void {
    const cost = clean(amount * price);
    const fee = clean(cost * this.options.settings.feeRate);
    const remainingBefore = clean(order.amount - order.filled);
    if (order.type === 'limit' && order.reserved.amount > 0) {
      const share = remainingBefore > 0 ? Math.min(1, amount / remainingBefore) : 1;
      const back = clean(order.reserved.amount * share);
      release(d, order.reserved.currency, back);
      order.reserved.amount = clean(order.reserved.amount - back);
    }
    if (order.side === 'buy') {
      // the funds were checked (or reserved) before: never below zero beyond float noise
      d.balances[market.quote].free = clean(Math.max(0, freeOf(d, market.quote) - cost - fee));
      credit(d, market.base, amount);
    } else {
      d.balances[market.base].free = clean(Math.max(0, freeOf(d, market.base) - amount));
      credit(d, market.quote, cost - fee);
    }
    order.trades.push({
      id: String(d.nextTradeId),
      orderId: order.id,
      symbol: order.symbol,
      side: order.side,
      price,
      amount,
      cost,
      fee: { cost: fee, currency: market.quote },
      timestamp: time,
    });
    d.nextTradeId += 1;
    order.filled = clean(order.filled + amount);
    order.cost = clean(order.cost + cost);
    order.lastFillBucket = bucket;
    if (order.filled >= order.amount - 1e-12) {
      order.status = 'closed';
      if (order.reserved.amount > 0) release(d, order.reserved.currency, order.reserved.amount);
      order.reserved.amount = 0;
    }
  }

  /** Largest amount filled per period: all of it, unless its value exceeds `partialFillNotional`. */
  private sliceAmount(amount: number, price: number, market: Market): number {
    const cap = this.options.settings.partialFillNotional;
    if (amount * price <= cap) return amount;
    return Math.max(market.amountStep, floorToStep(cap / price, market.amountStep));
  }

  private pruneClosed(d: PaperAccount): void {
    const keep = this.options.retainClosedOrders ?? 500;
    const closed = Object.values(d.orders).filter((o) => o.status !== 'open');
    if (closed.length <= keep) return;
    closed.sort((a, b) => Number(a.id) - Number(b.id));
    for (const o of closed.slice(0, closed.length - keep)) {
      delete d.orders[o.id];
      delete d.byClientId[o.clientOrderId];
    }
  }
}

function reservationFor(
  side: 'buy' | 'sell',
  amount: number,
  limitPrice: number | undefined,
  market: Market,
  feeRate: number,
): { currency: string; amount: number } {
  if (side === 'buy')
    return { currency: market.quote, amount: clean(amount * (limitPrice ?? 0) * (1 + feeRate)) };
  return { currency: market.base, amount };
}

function toExchangeOrder(o: PaperOrderRecord): ExchangeOrder {
  return {
    id: o.id,
    clientOrderId: o.clientOrderId,
    symbol: o.symbol,
    side: o.side,
    type: o.type,
    price: o.price,
    amount: o.amount,
    filled: o.filled,
    remaining: clean(o.amount - o.filled),
    average: o.filled > 0 ? clean(o.cost / o.filled) : undefined,
    status: o.status,
    timestamp: o.timestamp,
    trades: o.trades.map((t) => ({ ...t, fee: { ...t.fee } })),
  };
}
