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
 *
 * This file is the shell: the account file and its lock, the price feed, the clock and the call queue. What an
 * order does — sizing, funds, fills, fees, cancels — is decided by the pure functions of `paper-matching.ts`.
 */
import { offsetClock, type Clock } from '../../shared/clock';
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
  SymbolTrades,
  Ticker,
} from './exchange';
import {
  clean,
  newPaperAccount,
  PAPER_ACCOUNT_VERSION,
  paperAccountParser,
  type PaperAccount,
  type PaperOrderRecord,
} from './paper-account';
import {
  acceptOrder,
  applyMatches,
  cancelOrder,
  checkedPeriodsMoved,
  findOrder,
  symbolTrades,
  matchRestingOrder,
  listedNow,
  openOrders,
  orderContext,
  ordersOf,
  rangeReach,
  refuseDuplicate,
  sizeOrder,
  toExchangeOrder,
  type MatchingRules,
  type RangeReach,
  type RestingMatch,
} from './paper-matching';
import { MAX_PRICE_RANGES, type PriceFeed, type PriceRange } from './price-feed';

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
  clock: Clock;
  /**
   * Dry-run: the real exchange's measured clock offset (its ccxt source's). The account's times — its orders and
   * fills, the quotes' periods — are then the exchange's, as live, and the engine judges the real exchange's candles
   * and ticker times on that clock (review 45: on the host's, a host 2 minutes ahead took the candle still forming
   * for finished). Paper mode has none: its simulated market runs on the host's clock.
   */
  clockOffsetMs?: () => number;
  logger?: Logger;
  /**
   * Closed orders kept for lookups (oldest dropped first), like an exchange's order history retention;
   * default 500: every commit rewrites the file, so history must stay bounded.
   */
  retainClosedOrders?: number;
}

/** Orders fetchRecentOrders returns, newest last (an exchange's "recent orders" page). */
const RECENT_ORDERS = 500;

/** The paper exchange knows every order it took at once, and takes any id our engine builds. */
const PAPER_TRAITS: ExchangeTraits = {
  lookupGraceMs: 0,
  // paper-matching.ts numbers the account's trades as it makes them
  fillOrder: 'trade-id',
  clientOrderId: { maxLength: 64, pattern: /^[.A-Za-z0-9:/_-]{1,64}$/ },
  // paper-matching.ts charges every fee in the quote
  buyFeeCoin: 'quote',
  // its cancel and its reads look at the same account
  cancelFromEngine: true,
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
    // the account's own times; its file and lock keep the host's (options.clock)
    this.clock = options.clockOffsetMs ? offsetClock(options.clock, options.clockOffsetMs) : options.clock;
  }

  /** The real exchange's offset in dry-run (PaperExchangeOptions.clockOffsetMs); 0 in paper mode. */
  clockOffsetMs(): number {
    return this.options.clockOffsetMs?.() ?? 0;
  }

  /** Opens (or creates with the starting balances) the account file; one instance per file (StoreLock). */
  static async open(options: PaperExchangeOptions): Promise<PaperExchange> {
    const name = options.storeName ?? 'paper-exchange';
    const lock = await StoreLock.acquire(options.dataDir, name, { clock: options.clock });
    try {
      const store = await Store.open<PaperAccount>({
        dir: options.dataDir,
        name,
        version: PAPER_ACCOUNT_VERSION,
        defaults: () => newPaperAccount(options.settings.startingBalances),
        validate: (data) => paperAccountParser.parse(data),
        logger: options.logger,
        clock: options.clock,
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
      await this.matchResting([findOrder(this.store.data, id, symbol)]);
      return toExchangeOrder(findOrder(this.store.data, id, symbol));
    });
  }

  fetchOrderByClientId(clientOrderId: string, symbol: string): Promise<ExchangeOrder> {
    return this.call('fetchOrderByClientId', async () => {
      const id = this.store.data.byClientId[clientOrderId];
      if (id === undefined) throw new OrderNotFoundError('order does not exist', { clientOrderId, symbol });
      await this.matchResting([findOrder(this.store.data, id, symbol)]);
      return toExchangeOrder(findOrder(this.store.data, id, symbol));
    });
  }

  fetchOpenOrders(symbol?: string): Promise<ExchangeOrder[]> {
    return this.call('fetchOpenOrders', async () => {
      const open = openOrders(this.store.data, symbol);
      await this.matchResting(open);
      return listedNow(this.store.data, open, true).map(toExchangeOrder);
    });
  }

  fetchRecentOrders(symbol: string): Promise<ExchangeOrder[]> {
    return this.call('fetchRecentOrders', async () => {
      const mine = ordersOf(this.store.data, symbol);
      await this.matchResting(mine);
      return listedNow(this.store.data, mine).slice(-RECENT_ORDERS).map(toExchangeOrder);
    });
  }

  fetchOrderTrades(orderId: string, symbol: string): Promise<ExchangeTrade[]> {
    return this.call('fetchOrderTrades', async () => {
      await this.matchResting([findOrder(this.store.data, orderId, symbol)]);
      return findOrder(this.store.data, orderId, symbol).trades.map((t) => ({ ...t, fee: { ...t.fee } }));
    });
  }

  fetchSymbolTrades(symbol: string, since: number): Promise<SymbolTrades> {
    return this.call('fetchSymbolTrades', async () => {
      await this.matchResting(openOrders(this.store.data, symbol));
      const trades = symbolTrades(this.store.data, symbol, since).map((t) => ({ ...t, fee: { ...t.fee } }));
      return { trades, complete: true };
    });
  }

  cancelOrder(id: string, symbol: string): Promise<ExchangeOrder> {
    return this.call('cancelOrder', async () => {
      await this.matchResting([findOrder(this.store.data, id, symbol)]);
      await this.save(cancelOrder(this.store.data, id, symbol));
      return toExchangeOrder(this.store.data.orders[id]);
    });
  }

  async cancelOrderByClientId(clientOrderId: string, symbol: string): Promise<ExchangeOrder> {
    const order = await this.fetchOrderByClientId(clientOrderId, symbol);
    return this.cancelOrder(order.id, symbol);
  }

  fetchBalance(): Promise<Record<string, BalanceEntry>> {
    return this.call('fetchBalance', async () => {
      await this.matchResting(openOrders(this.store.data));
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
    if (!this.markets) {
      // its taker rate is the account's own fee rate
      const takerFee = this.options.settings.feeRate;
      const loaded = await this.options.feed.loadMarkets();
      this.markets = Object.fromEntries(Object.entries(loaded).map(([s, m]) => [s, { ...m, takerFee }]));
    }
    return this.markets;
  }

  private async market(symbol: string): Promise<Market> {
    const market = (await this.marketsLoaded())[symbol];
    if (!market) throw new InvalidOrderError(`unknown symbol ${symbol}`, { symbol });
    return market;
  }

  /** Stores the account a matching function returned: in memory and on disk as one commit. */
  private async save(next: PaperAccount): Promise<void> {
    await this.store.commit((d) => Object.assign(d, next));
  }

  private get rules(): MatchingRules {
    const { feeRate, slippageBps, partialFillNotional } = this.options.settings;
    return {
      feeRate,
      slippageBps,
      partialFillNotional,
      retainClosedOrders: this.options.retainClosedOrders ?? 500,
    };
  }

  private async placeOrder(request: CreateOrderRequest): Promise<ExchangeOrder> {
    refuseDuplicate(this.store.data, request);
    const market = await this.market(request.symbol);
    // every resting order first: a fill may have freed (or brought) the funds this order needs
    await this.matchResting(openOrders(this.store.data));
    const sized = sizeOrder(request, market);
    const now = this.clock.now();
    const ticker = await this.options.feed.fetchTicker(request.symbol, now);
    const bucket = this.options.feed.bucketOf(now);
    const accepted = acceptOrder(this.store.data, request, sized, market, ticker, this.rules, now, bucket);
    try {
      await this.save(accepted.account);
    } catch (err) {
      // the account write failed: like a 5xx from a real exchange, the outcome is unknown to the caller
      if (err instanceof PersistenceError) {
        throw new NetworkError(
          'paper exchange could not store the order; outcome unknown',
          orderContext(request),
          {
            cause: err,
          },
        );
      }
      throw err;
    }
    this.options.logger?.debug('paper order accepted', {
      orderId: accepted.orderId,
      ...orderContext(request),
    });
    return toExchangeOrder(this.store.data.orders[accepted.orderId]);
  }

  /**
   * Fills those of `orders` that rest (open limit orders) where the market reached their price since they were last
   * checked; commits what changed. A read matches what it answers for, not the whole book: a real exchange's order
   * is filled by the market, not by reading the others (with 1,000 resting orders, a tick that looked each one up
   * ran 1,000 passes over all of them, ~0.6 s of CPU). The balance, the open-order list and a create still match
   * every resting order, so what they answer includes every fill up to now.
   */
  private async matchResting(orders: readonly PaperOrderRecord[]): Promise<void> {
    let open = orders.filter((o) => o.status === 'open' && o.type === 'limit');
    // a pass matches each order over at most MAX_PRICE_RANGES periods: after a long downtime, the orders still
    // behind go again (from their stored records) until every completed period is matched
    while (open.length > 0) {
      const behind = await this.matchPass(open);
      open = behind.map((id) => this.store.data.orders[id]).filter((o) => o?.status === 'open');
    }
  }

  /** One matching pass over resting `open` orders; the ids of those matched only part of the way to now. */
  private async matchPass(open: readonly PaperOrderRecord[]): Promise<string[]> {
    const now = this.clock.now();
    const currentBucket = this.options.feed.bucketOf(now);
    // Orders checked up to the same period share one range list per symbol within a pass: the feed's answer
    // depends only on (symbol, afterBucket, now), and computing it per order made a pass over n orders cost n
    // full candle replays (or, in dry-run, n ticker requests).
    // (by symbol, then period: a key string built per order cost a string and its hash for each of 1,000 orders)
    const rangesCache = new Map<
      string,
      Map<number, { ranges: PriceRange[]; upTo: number; reach: RangeReach }>
    >();
    const markets = await this.marketsLoaded();
    const rules = this.rules;
    const matches: RestingMatch[] = [];
    const behind: string[] = [];
    // awaits only where the feed is asked (once per symbol and period): the other orders of a pass run without a
    // turn of the microtask queue each (a pass over 1,000 resting orders runs at every start's recovery)
    for (const order of open) {
      const market = markets[order.symbol];
      if (!market) throw new InvalidOrderError(`unknown symbol ${order.symbol}`, { symbol: order.symbol });
      let ofSymbol = rangesCache.get(order.symbol);
      if (!ofSymbol) rangesCache.set(order.symbol, (ofSymbol = new Map()));
      let cached = ofSymbol.get(order.checkedBucket);
      if (!cached) {
        const ranges = await this.options.feed.priceRanges(order.symbol, order.checkedBucket, now);
        // a full answer may stop short of now: the order is matched up to its last period, and goes again
        const upTo = ranges.length >= MAX_PRICE_RANGES ? ranges[ranges.length - 1].bucket + 1 : currentBucket;
        cached = { ranges, upTo, reach: rangeReach(ranges, upTo) };
        ofSymbol.set(order.checkedBucket, cached);
      }
      if (cached.upTo < currentBucket) behind.push(order.id);
      matches.push(matchRestingOrder(order, cached.ranges, market, rules, cached.upTo, cached.reach));
    }
    if (matches.every((m) => m.fills.length === 0)) {
      // Only the periods matched moved on: bookkeeping whose loss costs a re-check of the same periods (the same
      // ranges, no fill again), so it goes with the next write instead of an fsync before the answer (with 1,000
      // resting orders that was ~0.5 MiB written and fsynced with its previous generation in every start's
      // recovery); only the records that moved are replaced, so a read that moves one order's period costs that
      // order, not a copy of the account
      const moved = checkedPeriodsMoved(this.store.data, matches);
      if (moved.length > 0) {
        this.store.change((d) => {
          for (const order of moved) d.orders[order.id] = order;
        });
      }
      return behind;
    }
    const next = applyMatches(this.store.data, matches, markets, rules);
    if (!next) return behind;
    try {
      await this.save(next);
    } catch (err) {
      if (err instanceof PersistenceError) {
        throw new ExchangeUnavailableError('paper exchange could not store fills', {}, { cause: err });
      }
      throw err;
    }
    return behind;
  }
}
