/**
 * The live adapter: any ccxt exchange behind the Exchange port. Together with ccxt-errors.ts it is the only
 * code that touches ccxt.
 *
 * - Loads only the configured exchange: the build's bundle of it (ccxt-bundle.ts) when there is one, else its ES
 *   module (js/src/<id>.js); importing all of ccxt costs about 0.4 s and 35 MB more per start. Falls back to the
 *   full CommonJS bundle.
 * - Reads (markets, ticker, candles, orders, balance, trades) are retried with backoff by the one retry helper;
 *   createOrder and cancelOrder are never retried here. What a failed create means is decided in one place,
 *   `createFailure`: an answer that refused it (4xx, rate limit) is final; a timeout, a lost answer, any HTTP
 *   5xx or an answer code the profile lists as a server-side failure has an UNKNOWN outcome and is reported as
 *   NetworkError: the caller resolves it with fetchOrderByClientId.
 * - Answers are taken as the exchange gave them: an order without a side takes the side we sent, never a
 *   default; times are the exchange's (absent when it sent none, never the local clock); the trades inside an
 *   order answer are used only when complete (the exchange's profile says whether they can be), otherwise the
 *   engine reads the trade list; a listed trade without a side or time is left out and logged. A cancel
 *   acknowledged with ids only is followed by a lookup; an order the exchange calls done that filled less than its
 *   amount was cancelled.
 * - Where the profile says so (`orderLists`: Bybit), an order is found in the open-orders list, then the order
 *   history, by the exchange's own id parameter, instead of through ccxt's fetchOrder/fetchOrders.
 * - Lists are read whole where the exchange pages them (the profile's `lists`, paged-list.ts): open orders and an
 *   order's trades to the last page (an order with more fills than a page, an own order behind a page of the
 *   owner's manual orders), finished orders for the profile's `recentPages`.
 * - Amounts are floored to the market's step and prices rounded to its tick; orders below the minimum amount or
 *   notional are refused with InvalidOrderError before any request.
 * - Markets kept on disk by the last run (kept-markets.ts: the traded symbols') are read while ccxt loads and put
 *   in ccxt once read (`keptMarkets()`; the first requests do not wait for them), so recovery's reads can be sent
 *   and parsed before the fresh markets answer; nothing is created before a fresh load answered. Each fresh load is
 *   kept for the next start.
 * - Markets are asked for by symbol where the profile says the exchange takes it (`marketsBySymbol`), the whole list
 *   when the exchange refuses one of them (not listed) or no symbols are given; a call on a symbol outside those
 *   loaded loads its market first (`marketFor`), and all symbols' open orders naming one are read again after. A
 *   market looked up outside them (`findMarket`: a fee currency's) is asked for alone, once a run, without a reload
 *   of ccxt's markets (which every ccxt call, a create too, waits for), and kept in every later load by symbol.
 * - Every request passes one exchange-wide rate-limit gate (rate-limit-gate.ts): after a 429 / 418 or the profile's
 *   equivalent nothing the limit covers (everything, new orders, or one endpoint) leaves until the wait the exchange
 *   asked for has passed, then one probe before the rest. A ban of every request is kept on disk (gate-file.ts) and
 *   holds the next start's first request too.
 * - The clock offset is measured from the exchange's server time with the first tick's reads, then hourly (a
 *   measurement that fails is tried again on the one backoff until one succeeds), and a request refused for its
 *   timestamp (a host clock off the exchange's) measures it too, at most once a minute; every later request is
 *   signed on it (clock-skew.ts); listeners
 *   of `onClockSkew` hear each measurement. The spans an order's rows are searched within go out in the exchange's
 *   time too (search-span.ts); a history lookup that missed in its span is read once without one.
 * - What differs per exchange comes from its profile (profiles/): ccxt options, ccxt calls switched off, error codes
 *   ccxt maps too loosely. A cancel answered with a bare acknowledgement is followed by a read of the order; an
 *   exchange without a list of all orders has its open and finished lists read instead.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type {
  Exchange as CcxtClient,
  Market as CcxtMarket,
  Order as CcxtOrder,
  Trade as CcxtTrade,
} from 'ccxt';
import type { Clock } from '../../shared/clock';
import {
  AuthenticationError,
  ByNinjaError,
  ConfigError,
  errorMessage,
  InvalidOrderError,
  NetworkError,
  OrderNotFoundError,
  PermissionDeniedError,
  RateLimitError,
  TemporaryError,
} from '../../shared/errors';
import { requireWithCodeCache } from '../../shared/lifecycle/code-cache';
import type { Logger } from '../../shared/logging/logger';
import { retry, retryForever, type RetryOptions } from '../../shared/retry';
import { closestKey } from '../../shared/config/problems';
import { ccxtBundleFile, ccxtVersion } from './ccxt-bundle';
import { constructWithRestNames, type RestNameRow } from './ccxt-rest-names';
import { errorBodyCode, errorBodySummary, summaryCodePattern, translateCcxtError } from './ccxt-errors';
import { correctClockSkew, SKEW_REMEASURE_MS, SKEW_RETRY, type MeasureClockSkew } from './clock-skew';
import { EndpointLimiter, WindowPastDeadline } from './endpoint-limiter';
import { throttleWaitMs } from './throttle-wait';
import type {
  ApiKeyLimits,
  BalanceEntry,
  Candle,
  ClockSkew,
  CreateOrderRequest,
  Exchange,
  ExchangeOrder,
  FeePaid,
  ExchangeOrderStatus,
  ExchangeTrade,
  ExchangeTraits,
  KeyExpiry,
  Market,
  SymbolTrades,
  Ticker,
} from './exchange';
import { sourceHash, type KeptMarkets, type KeptMarketsFile, type MarketsSource } from './kept-markets';
import { marketOrderLot, minimumAmount, orderMaximums } from './order-maximums';
import { floorToStep, lotOf } from './precision';
import { readWholeList, timeWindows, type PagedRow } from './paged-list';
import { profileFor, type ExchangeProfile } from './profiles';
import type { ListPaging } from './profiles/exchange-profile';
import type { GateFile } from './gate-file';
import {
  RateLimitGate,
  assertStillAdmitted,
  budgetDeadline,
  pacedPastBudget,
  withGateBudget,
  type Refusal,
} from './rate-limit-gate';
import { SearchSpans } from './search-span';
import { SpareConnections, type Connector } from './spare-connections';
import { EarlyReads, type EarlyRead } from './early-reads';

type CcxtConstructor = new (config: Record<string, unknown>) => CcxtClient;

export interface CcxtLoadInfo {
  /**
   * `bundle`: the build's one-file bundle of this exchange (scripts/bundle.ts); `esm-single`: only this exchange's
   * ES module from node_modules; `cjs-all`: the whole ccxt bundle (fallback).
   */
  via: 'bundle' | 'esm-single' | 'cjs-all';
  ms: number;
  /** Why the single module could not be loaded, when it exists and failed. */
  fallbackReason?: string;
}

export interface CcxtExchangeOptions {
  /** ccxt exchange id (binance, kraken…). */
  exchangeId: string;
  apiKey?: string;
  secret?: string;
  password?: string;
  /** Use the exchange's testnet (ccxt setSandboxMode). */
  sandbox?: boolean;
  /** Replaces scheme://host[:port] of every REST endpoint (self-hosted gateway, local fake exchange in tests). */
  apiUrl?: string;
  /** ccxt request timeout; default 10 000 ms (config trading.orders.createTimeoutMs). */
  timeoutMs?: number;
  /** Retry policy of reads; default 4 attempts, 250 ms doubling up to 5 s. */
  readRetry?: Pick<RetryOptions, 'maxAttempts' | 'baseDelayMs' | 'maxDelayMs' | 'random'>;
  /** Extra ccxt options, deep-merged over ours. */
  ccxtOptions?: Record<string, unknown>;
  /**
   * Connections opened ahead to the exchange (spare-connections.ts): at once to `apiUrl` or the profile's
   * `restOrigin` (not in sandbox mode), else beside the first connection; default 0.
   */
  spareConnections?: number;
  /**
   * The traded symbols: with the profile's `earlyReads`, spare connections, markets kept for every one of them and no
   * refusal for rate kept (gate-file.ts), the start's reads of them are sent before ccxt is loaded (early-reads.ts);
   * default none.
   */
  earlyReadSymbols?: readonly string[];
  /** The exchange's verified profile; default the one registered for exchangeId (none: dry-run data only). */
  profile?: ExchangeProfile;
  /** Markets kept between runs (kept-markets.ts): read at creation, written after each fresh load; default none. */
  keptMarkets?: KeptMarketsFile;
  /**
   * The rate-limit gate's "closed until" kept between runs (gate-file.ts): read before the first request, written
   * at each closing of the whole gate; default none (the gate starts open).
   */
  gateFile?: GateFile;
  clock: Clock;
  logger?: Logger;
}

/** The calls the engine relies on (see capabilities()). */
export type ExchangeCapability =
  | 'createOrder'
  | 'cancelOrder'
  | 'fetchOrderByClientId'
  | 'fetchOpenOrdersAllSymbols'
  | 'fetchRecentOrders'
  | 'fetchOrderTrades'
  | 'fetchBalance'
  | 'fetchTicker'
  | 'fetchCandles';

/** Orders fetchRecentOrders asks for (Binance allOrders: at most 1000, weight 20 either way). */
const RECENT_ORDERS_LIMIT = 1_000;
/**
 * Pages a list that must be whole may take (paged-list.ts): 100 pages are 5,000 open orders on Bybit, 10,000 fills
 * of one order on Bybit and OKX, 100,000 on Binance. Beyond it the read fails and says so, never a cut list.
 */
const WHOLE_LIST_MAX_PAGES = 100;
/**
 * Time windows a symbol's trades since a send are read in at most (profile `tradesByTime`): 8 days of Binance's 24 h
 * windows (8 × weight 20), 8 weeks of Bybit's. An older send is not read: its answer is not complete.
 */
const MAX_TRADE_WINDOWS = 8;
/** The longest a create waits at the rate-limit gate (a Bybit 10006's second); a longer wait refuses it unsent. */
const CREATE_GATE_WAIT_MS = 1_000;

const WAIT_ERRORS = new Set(['DDoSProtection', 'RateLimitExceeded', 'ExchangeNotAvailable', 'OnMaintenance']);
const TICK_SIZE = 4;
const DECIMAL_PLACES = 2;

/**
 * ccxt's limiter (its leaky bucket: a request goes when the bucket is not in debt, then takes its cost) set from an
 * exchange's documented weight budget: the bucket starts full with `burst` weight, so start-up's parallel reads go
 * out together instead of one after the other, and refills at what the window has left (ccxt refills only while
 * in debt: the burst is the start's, later requests are paced). In any window it admits at most the bucket's
 * content, plus the refill over the window, plus the one request that may overdraw it: burst + refill + heaviest
 * = limit, never more. ccxt's stock setting for Binance (capacity 1, 50 ms per cost unit) has the same per-minute
 * total but spaces every request by its own weight: a start's ~240 weight waited ~2.4 s in the limiter alone.
 */
export function ccxtThrottle(budget: NonNullable<ExchangeProfile['requestWeight']>): {
  rateLimit: number;
  tokenBucket: { capacity: number; tokens: number };
} {
  const burst = budget.burst * budget.costPerWeight;
  const refillPerWindow = (budget.limit - budget.burst - budget.heaviestRequest) * budget.costPerWeight;
  if (!(burst > 0) || !(refillPerWindow > 0)) {
    throw new Error('exchange profile: requestWeight leaves no room for the burst and the heaviest request');
  }
  return { rateLimit: budget.windowMs / refillPerWindow, tokenBucket: { capacity: burst, tokens: burst } };
}

/**
 * The pacing of an exchange whose limits are per endpoint (the profile's `endpointWindows`), in ccxt's cost units:
 * an endpoint's documented count in a window is `windowMs / rateLimit` of them (ccxt's cost of a request to it is
 * that divided by the count), held over the window plus the margin; every request counts one towards `overall`,
 * held over its window plus the same share of margin (Bybit: 100 ms a second, 600 requests per 5.5 s).
 */
export function endpointLimiter(
  windows: NonNullable<ExchangeProfile['endpointWindows']>,
  rateLimit: number,
  clock: Clock,
  signal?: AbortSignal,
): EndpointLimiter {
  const { windowMs, marginMs, overall } = windows;
  if (!(rateLimit > 0))
    throw new Error(`ccxt's rateLimit is ${rateLimit}: no cost scale to pace endpoints by`);
  return new EndpointLimiter({
    clock,
    perEndpoint: { windowMs: windowMs + marginMs, weight: windowMs / rateLimit },
    ...(overall
      ? {
          overall: {
            windowMs: overall.windowMs + (marginMs * overall.windowMs) / windowMs,
            weight: overall.requests,
          },
        }
      : {}),
    signal,
  });
}

/** Every exchange id ccxt knows (loads the whole library: for checks, never on a daemon's start path). */
export function ccxtExchangeIds(): string[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return [...((require('ccxt') as { exchanges?: string[] }).exchanges ?? [])];
}

/** "not an exchange id known to ccxt — did you mean "binance"?" for a typo such as "binanse". */
export function unknownExchangeMessage(exchangeId: string, known: string[]): string {
  const guess = closestKey(exchangeId, known);
  return `not an exchange id known to ccxt${guess ? ` — did you mean "${guess}"?` : ' (e.g. binance, kraken)'}`;
}

/**
 * Loads the ccxt class of `exchangeId` (and ccxt's error classes of the same copy), preferring the build's bundle
 * of it, then its single ES module.
 */
interface LoadedBundle {
  default?: CcxtConstructor;
  errors?: Record<string, unknown>;
  /** The names ccxt gives the class's implicit REST methods, recorded by the build (ccxt-rest-names.ts). */
  restNames?: RestNameRow[];
}
/** The ccxt bundles this process has run, by file. */
const loadedBundles = new Map<string, LoadedBundle>();

export async function loadCcxtClass(
  exchangeId: string,
  bundleDir?: string,
): Promise<{
  Ctor: CcxtConstructor;
  info: CcxtLoadInfo;
  errorClasses: () => Record<string, unknown>;
  /** The names of the class's implicit REST methods the build recorded (its bundle only): constructWithRestNames. */
  restNames?: readonly RestNameRow[];
}> {
  const started = performance.now();
  let fallbackReason: string | undefined;
  if (/^[a-z0-9]+$/.test(exchangeId)) {
    const bundled = ccxtBundleFile(exchangeId, bundleDir);
    if (bundled) {
      try {
        // with a V8 code cache, like the daemon bundle: compiling ccxt's ~1.8 MB was most of its load; run once
        // per process (it is no module in require's cache: a second exchange object must not run it again)
        let mod = loadedBundles.get(bundled);
        if (!mod) {
          mod = requireWithCodeCache(bundled).exports as LoadedBundle;
          loadedBundles.set(bundled, mod);
        }
        if (typeof mod.default === 'function' && mod.errors) {
          const errors = mod.errors;
          return {
            Ctor: mod.default,
            restNames: mod.restNames,
            info: { via: 'bundle', ms: performance.now() - started },
            errorClasses: () => errors,
          };
        }
        fallbackReason = `${path.basename(bundled)} exports no exchange class`;
      } catch (err) {
        fallbackReason = errorMessage(err);
      }
    }
    try {
      const file = path.join(path.dirname(require.resolve('ccxt')), '..', 'js', 'src', `${exchangeId}.js`);
      if (existsSync(file)) {
        // require() of an ES module (node ≥ 20.19, package.json engines), not import(): the daemons run from a V8
        // code cache, and on Node 20 a script compiled from one cannot run import() (see scripts/bundle.ts)
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const mod = require(file) as { default?: CcxtConstructor };
        if (typeof mod.default === 'function') {
          return {
            Ctor: mod.default,
            info: { via: 'esm-single', ms: performance.now() - started, fallbackReason },
            errorClasses: esmErrorClasses,
          };
        }
      }
    } catch (err) {
      // fall back to the full library below, but say so: it costs ~0.3 s and ~35 MB more per start
      fallbackReason = errorMessage(err);
    }
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const all = require('ccxt') as Record<string, unknown>;
  const Ctor = all[exchangeId];
  if (typeof Ctor !== 'function' || !(all.exchanges as string[] | undefined)?.includes(exchangeId)) {
    throw new ConfigError([
      {
        field: 'trading.exchange',
        value: exchangeId,
        message: unknownExchangeMessage(exchangeId, (all.exchanges as string[] | undefined) ?? []),
      },
    ]);
  }
  return {
    Ctor: Ctor as CcxtConstructor,
    info: { via: 'cjs-all', ms: performance.now() - started, fallbackReason },
    errorClasses: () => all,
  };
}

/** ccxt's error classes by name from its ES modules (`base/errors.js`), the copy the single module throws. */
function esmErrorClasses(): Record<string, unknown> {
  const file = path.join(path.dirname(require.resolve('ccxt')), '..', 'js', 'src', 'base', 'errors.js');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(file) as Record<string, unknown>;
}

/**
 * `exceptions.exact` entries for a profile's error codes (ccxt deep-merges them over its own table), from the same
 * copy of ccxt `loadCcxtClass` took the exchange from.
 */
function errorCodeOverrides(
  codes: Record<string, string> | undefined,
  errorClasses: () => Record<string, unknown>,
): Record<string, unknown> | undefined {
  if (!codes || Object.keys(codes).length === 0) return undefined;
  const classes = errorClasses();
  const exact: Record<string, unknown> = {};
  for (const [code, name] of Object.entries(codes)) {
    if (typeof classes[name] !== 'function')
      throw new Error(`exchange profile: ${name} is not a ccxt error class`);
    exact[code] = classes[name];
  }
  return exact;
}

/**
 * Puts the profile's error codes over ccxt's in every exact table it reads: the common one and the per-API ones
 * (ccxt's binance reads the table of the URL's API first — `spot` for api.binance.com — where -2026 is InvalidOrder,
 * so an override in the common table alone changed nothing against the real host, only against a local one).
 */
function applyErrorCodeOverrides(client: CcxtClient, exact: Record<string, unknown>): void {
  const tables = (client as unknown as { exceptions: Record<string, unknown> }).exceptions;
  tables.exact = { ...((tables.exact as Record<string, unknown> | undefined) ?? {}), ...exact };
  for (const [key, scoped] of Object.entries(tables)) {
    if (key === 'exact' || key === 'broad' || typeof scoped !== 'object' || scoped === null) continue;
    const table = (scoped as { exact?: unknown }).exact;
    if (typeof table === 'object' && table !== null) Object.assign(table, exact);
  }
}

export class CcxtExchange implements Exchange {
  readonly id: string;
  readonly loadInfo: CcxtLoadInfo;
  readonly traits: ExchangeTraits;
  readonly profile: ExchangeProfile | undefined;
  private readonly clock: Clock;
  /** The markets of the last load the exchange answered (undefined until one did). */
  private markets?: Record<string, Market>;
  /** The markets kept on disk, once read and put in ccxt (undefined: none usable, or a fresh load came first). */
  private readonly kept: Promise<Record<string, Market> | undefined>;
  /** The market ids the last fresh load asked for (the profile's `marketsBySymbol`); undefined: the whole list. */
  private scope?: string[];
  /**
   * Markets looked up outside the scope (`findMarket`: a fee currency's), by symbol: its market id when listed (kept
   * in every later load by symbol, so a reload never loses it), null when the exchange does not list it (never asked
   * again this run).
   */
  private readonly outside = new Map<string, string | null>();
  /** The markets load running, if any (loadMarketIds). */
  private marketLoads: Promise<unknown> = Promise.resolve();
  /** What ccxt's market load fetched last: kept for the next start. */
  private fetched: { markets?: KeptMarkets['markets']; currencies?: KeptMarkets['currencies'] } = {};
  private readonly summarizeError?: (message: string) => string;
  /** The exchange's code in a ccxt error's message (profile `errorBody`: OKX's per-order sCode), if any. */
  private readonly bodyCode?: (message: string) => { code: string } | undefined;
  private closing?: Promise<void>;
  /** The key's end as last read or kept (knowKeyExpiry): refusals after it are named as it. */
  private keyExpiry?: KeyExpiry;
  /** The exchange's key read said the key cannot place spot orders: refusals are named as that. */
  private keyCannotTrade = false;
  private readonly skewListeners: Array<(skew: ClockSkew) => void> = [];
  private lastSkew?: ClockSkew;
  /** Spans of an order's searches by time, in the exchange's time (search-span.ts). */
  private readonly spans: SearchSpans;
  /** Measures the clock offset now (clock-skew.ts): with the first tick's reads, then every SKEW_REMEASURE_MS. */
  private readonly measureClock: MeasureClockSkew;
  /**
   * The first measurement, started by the first tick's reads (ticker, candles) — after ready: one request more
   * beside recovery's reads delayed them behind ccxt's throttle —; candles wait for it where the exchange does not
   * mark the forming one itself (the engine decides on the exchange's clock which is finished). Undefined until then.
   */
  private firstMeasure?: Promise<void>;
  private cancelRemeasure?: () => void;

  private constructor(
    private readonly client: CcxtClient,
    private readonly options: CcxtExchangeOptions,
    loadInfo: CcxtLoadInfo,
    private readonly spares: SpareConnections | undefined,
    private readonly source: Omit<MarketsSource, 'byninja'>,
    keptRead: Promise<KeptMarkets | undefined> | undefined,
    /** Aborted on close: ends read retries and the rate-limit gate's waits. */
    private readonly abort: AbortController,
    private readonly gate: RateLimitGate,
  ) {
    this.id = options.exchangeId;
    recordMarketLoads(client, this.fetched);
    this.kept = (keptRead ?? Promise.resolve(undefined)).then((kept) => {
      // markets a load answered first (ours, or ccxt's own for a call made meanwhile) are newer: never replaced
      if (!kept || this.markets !== undefined || client.markets) return undefined;
      // what ccxt's own loadMarkets ends with, given the answers it fetched then
      client.setMarkets(kept.markets, kept.currencies as undefined);
      return this.toMarkets(client.markets);
    });
    // (a failure is no kept markets; read() never rejects, setMarkets should not)
    this.kept = this.kept.catch((err: unknown) => {
      options.logger?.warn('Kept markets could not be put in ccxt', { error: errorMessage(err) });
      return undefined;
    });
    this.loadInfo = loadInfo;
    this.clock = options.clock;
    this.profile = options.profile ?? profileFor(options.exchangeId);
    if (this.profile?.errorBody) {
      this.summarizeError = errorBodySummary(this.id, this.profile.errorBody);
      this.bodyCode = errorBodyCode(this.id, this.profile.errorBody);
    }
    // outermost around ccxt's requests (over the rate-limit gate): a timestamp refusal measures the offset
    this.measureClock = correctClockSkew(client, {
      now: () => this.clock.now(),
      codes: this.profile?.clockRefusalCodes,
      logger: options.logger,
      describe: (err) => this.translate(err, {}).message,
      onMeasured: (skew) => {
        this.lastSkew = skew;
        for (const listener of this.skewListeners) listener(skew);
      },
    });
    this.spans = new SearchSpans({
      now: () => this.clock.now(),
      offsetMs: () => this.clockOffsetMs(),
      lateMs: this.profile?.recvWindowMs ?? 0,
    });
    this.traits = {
      lookupGraceMs: this.profile?.recvWindowMs ?? 0,
      // without a profile nothing documented says the ids grow with time
      fillOrder: this.profile?.fillOrder ?? 'time',
      clientOrderId: this.profile?.clientOrderId ?? { maxLength: 32, pattern: /^[A-Za-z0-9-]{1,32}$/ },
      tradeHistoryReachMs: this.profile?.tradeHistoryReachMs,
      maxCandles: this.profile?.maxCandles,
      // the three profiled exchanges take a buy's fee in the coin received; without a profile, the coin is assumed
      // too: a fee booked in the coin errs towards leaving the owner's coins alone
      buyFeeCoin: 'base',
      cancelFromEngine: this.profile?.cancelFromEngine ?? false,
      unlistsSuspended: this.profile?.unlistsSuspended ?? false,
      ...(this.profile?.depthRefusalCodes?.length && this.profile.errorBody
        ? { depthRefusal: summaryCodePattern(this.id, this.profile.depthRefusalCodes) }
        : {}),
    };
  }

  static async create(options: CcxtExchangeOptions): Promise<CcxtExchange> {
    const profile = options.profile ?? profileFor(options.exchangeId);
    const spares = options.spareConnections
      ? new SpareConnections({ spare: options.spareConnections, clock: options.clock })
      : undefined;
    // where the origin is known before ccxt is loaded, the handshakes run while it loads
    const origin = options.apiUrl ?? (options.sandbox ? undefined : profile?.restOrigin);
    // the start's reads sent before ccxt loads, where the profile says how (early-reads.ts): a connection each more
    const earlyCount =
      spares && origin ? (earlyReadsFor(profile, options, options.earlyReadSymbols ?? [])?.length ?? 0) : 0;
    if (spares && origin) {
      spares.preconnect(origin, earlyCount);
      // one turn of the event loop before ccxt's synchronous load: node makes a socket's connect call on a later
      // tick, which the load and the construct (~50 ms of CPU) held back until the first requests were on their way,
      // so they waited a round trip for the handshakes. A host name's lookup runs in the thread pool and answers
      // after this turn: its connect goes out at the next one (after the construct), a real exchange's TLS after it
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const ccxtOptions = { defaultType: 'spot', ...profile?.ccxtOptions, ...options.ccxtOptions };
    const source: Omit<MarketsSource, 'byninja'> = {
      exchange: options.exchangeId,
      sandbox: Boolean(options.sandbox),
      // as the URLs are rebased: without trailing slashes; hashed (it may carry credentials or a private host)
      apiUrl: options.apiUrl ? sourceHash(options.apiUrl.replace(/\/+$/, '')) : null,
      account: apiKeyFingerprint(options.apiKey),
      ccxt: ccxtVersion(),
      options: sourceHash({
        profile: profile?.id ?? null,
        options: ccxtOptions,
        has: profile?.ccxtHas ?? null,
      }),
    };
    // read synchronously (a few KB), once the spares' connects are out; put in ccxt once it is constructed
    const kept = await options.keptMarkets?.read(source);
    const keptRead = options.keptMarkets && Promise.resolve(kept);
    const closed = new AbortController();
    const early =
      earlyCount > 0 && spares && origin
        ? await sendEarlyReads(profile, kept, spares, origin, options)
        : undefined;
    if (early) {
      closed.signal.addEventListener('abort', () => early.close());
      // node writes a request on a tick after it is made: without a turn of the event loop here, ccxt's synchronous
      // load and construct (~40 ms of CPU) held the reads back until done
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const { Ctor, info, errorClasses, restNames } = await loadCcxtClass(options.exchangeId);
    const exact = errorCodeOverrides(profile?.ccxtErrorCodes, errorClasses);
    const config = {
      apiKey: options.apiKey,
      secret: options.secret,
      password: options.password,
      timeout: options.timeoutMs ?? 10_000,
      // an exchange paced per endpoint has our limiter instead (endpoint-limiter.ts, below)
      enableRateLimit: !profile?.endpointWindows,
      ...(profile?.requestWeight ? ccxtThrottle(profile.requestWeight) : {}),
      ...(profile?.ccxtHas ? { has: profile.ccxtHas } : {}),
      options: ccxtOptions,
    };
    // the implicit REST methods' names from the build's record where the bundle has one (~5 ms less CPU)
    const client = restNames ? constructWithRestNames(Ctor, restNames, config) : new Ctor(config);
    if (exact) applyErrorCodeOverrides(client, exact);
    const byStatus = errorCodeOverrides(profile?.ccxtHttpExceptions, errorClasses);
    if (byStatus) Object.assign((client as unknown as { httpExceptions: object }).httpExceptions, byStatus);
    skipProxyAgentModules(client);
    if (spares) openSpareConnections(client, spares);
    if (early) answerEarly(client, early);
    recordHttpStatus(client, profile?.answerCodes?.field ?? profile?.rateLimitResets?.codeField);
    const clock = options.clock;
    const gateFile = options.gateFile;
    // set once the adapter exists: a refusal its key explains (keyRefusal) never closes the gate
    let keyExplains: (err: unknown) => boolean = () => false;
    const gate = new RateLimitGate({
      clock,
      resets: profile?.rateLimitResets,
      signal: closed.signal,
      refusal: (err) => (keyExplains(err) ? undefined : refusalOf(err, clock.now())),
      closedUntil: gateFile?.closedUntil(),
      onClosed: (waitMs, refusals, lane) => {
        options.logger?.warn(
          `${options.exchangeId} refused for rate: ${lane === 'all' ? 'no request' : lane === 'orders' ? 'no new order' : `nothing to ${lane.slice('endpoint '.length)}`} for ${Math.round(waitMs)} ms`,
          { refusals, lane },
        );
        // an IP ban outlives this process: the next start waits it out instead of sending into it
        if (lane === 'all') gateFile?.save(clock.now() + waitMs);
      },
    });
    gateRequests(
      client,
      gate,
      profile?.endpointWindows &&
        endpointLimiter(profile.endpointWindows, Number(client.rateLimit), clock, closed.signal),
    );
    // outermost: a request waits for ccxt's HTTP client before the gate's last check (assertStillAdmitted)
    awaitFetchClient(client);
    if (profile?.createDeadline) sendCreateDeadline(client, profile.createDeadline, profile.recvWindowMs);
    if (options.sandbox) client.setSandboxMode(true);
    if (options.apiUrl)
      client.urls.api = rebaseUrls(client.urls.api, options.apiUrl) as typeof client.urls.api;
    options.logger?.info(
      `ccxt ${options.exchangeId} loaded (${info.via}, ${Math.round(info.ms)} ms)${early ? `; ${early.sent} reads sent before it` : ''}`,
      { sandbox: Boolean(options.sandbox), apiUrl: options.apiUrl },
    );
    if (info.fallbackReason) {
      options.logger?.warn(
        `ccxt ${options.exchangeId}: its own ${info.via === 'esm-single' ? 'bundle' : 'module'} failed to load (${info.fallbackReason}); loaded ${info.via === 'esm-single' ? 'its ES module' : 'all of ccxt'} instead`,
      );
    }
    if (profile?.formingCandle) markFormingCandles(client, profile.formingCandle);
    const exchange = new CcxtExchange(client, options, info, spares, source, keptRead, closed, gate);
    keyExplains = (err) => exchange.keyRefusal(err) !== undefined;
    void exchange.announceKeptBan();
    return exchange;
  }

  /** Each later measurement, and the last one made before (the start's may answer before the engine listens). */
  onClockSkew(listener: (skew: ClockSkew) => void): void {
    this.skewListeners.push(listener);
    if (this.lastSkew) listener(this.lastSkew);
  }

  clockOffsetMs(): number {
    return Number(this.client.options.timeDifference) || 0;
  }

  /** The candle intervals the exchange serves, as ccxt lists them (its `timeframes`); undefined when it lists none. */
  candleIntervals(): string[] | undefined {
    const listed = (this.client as { timeframes?: unknown }).timeframes;
    return typeof listed === 'object' && listed !== null ? Object.keys(listed) : undefined;
  }

  /**
   * The clock offset measured with the first tick's reads (nothing waits for it but the first candles), then hourly:
   * public and unsigned, through the rate-limit gate like every request. A measurement that fails is tried again on
   * the one backoff (clock-skew.ts `SKEW_RETRY`) until one succeeds; the hour counts from that one. Nothing is
   * tried or scheduled after close(). Returns the first attempt (the first candles wait for it, not for a success).
   */
  private clockMeasured(): Promise<void> {
    if (this.firstMeasure) return this.firstMeasure;
    let firstAttempt!: () => void;
    this.firstMeasure = new Promise<void>((resolve) => (firstAttempt = resolve));
    const again = (): void => {
      // a measurement still on its way at close() ends here: no timer after it (it would hold the process an hour)
      if (this.abort.signal.aborted) return;
      this.cancelRemeasure = this.clock.timer(SKEW_REMEASURE_MS, () => {
        if (this.abort.signal.aborted) return;
        this.measuredOnBackoff().then(again, () => undefined);
      });
    };
    // rejected only by close(), which ends the backoff's wait
    this.measuredOnBackoff(firstAttempt).then(again, () => firstAttempt());
    return this.firstMeasure;
  }

  /** One measurement, tried again on the one backoff until it succeeds; rejects only when close() ends the wait. */
  private measuredOnBackoff(attempted?: () => void): Promise<void> {
    return retryForever(
      async () => {
        const measured = await this.measureClock();
        attempted?.();
        if (!measured) throw new NetworkError(`${this.id} server time not read`);
      },
      { ...SKEW_RETRY, signal: this.abort.signal, clock: this.clock },
    );
  }

  /**
   * The markets kept on disk, once in ccxt: enough to send and parse reads before the exchange answered a load,
   * never to size or place an order (createOrder loads the markets first). Undefined without usable ones, or when a
   * fresh load answered first.
   */
  async keptMarkets(): Promise<Record<string, Market> | undefined> {
    const kept = await this.kept;
    return kept && { ...kept };
  }

  /**
   * ccxt keeps the promise of its first market load and hands it to every later call (its own createOrder,
   * fetchTicker… load markets first): a load that failed once — the network down at boot — would fail every call
   * for ever. So a load is forced until one has worked, and a failed reload puts the markets it had back. (ccxt's
   * calls load markets only while it has none: with kept markets in it, they never wait for a load on its way.)
   */
  loadMarkets(reload = false, symbols?: readonly string[]): Promise<Record<string, Market>> {
    const bySymbol = this.profile?.marketsBySymbol;
    const ids =
      bySymbol && symbols?.length
        ? [...new Set(symbols.map((symbol) => this.marketIdOf(symbol)))]
        : undefined;
    return this.loadMarketIds(reload, ids);
  }

  /**
   * Markets loaded by id where the profile can ask for them (`ids`), else the whole list. One load at a time: ccxt
   * hands a load asked while another runs the one running, whatever was asked of each.
   */
  private loadMarketIds(reload: boolean, ids: string[] | undefined): Promise<Record<string, Market>> {
    const load = this.marketLoads.then(() => this.loadMarketIdsNow(reload, ids));
    this.marketLoads = load.catch(() => undefined);
    return load;
  }

  private loadMarketIdsNow(reload: boolean, ids: string[] | undefined): Promise<Record<string, Market>> {
    return this.read('loadMarkets', {}, async () => {
      const loaded = this.client.markets;
      this.fetched.markets = undefined;
      this.fetched.currencies = undefined;
      let raw: Awaited<ReturnType<CcxtClient['loadMarkets']>>;
      try {
        raw =
          reload || this.markets === undefined
            ? // with the markets found outside the scope when it was asked (a fee market looked up meanwhile)
              await this.fetchMarkets(ids && [...new Set([...ids, ...this.listedOutside()])])
            : await this.client.loadMarkets(false);
      } catch (err) {
        if (loaded) {
          (this.client as unknown as { marketsLoading?: Promise<unknown> }).marketsLoading =
            Promise.resolve(loaded);
        }
        throw err;
      }
      const markets = this.toMarkets(raw);
      this.markets = markets;
      if (this.fetched.markets) {
        this.options.keptMarkets?.save(this.source, this.fetched.markets, this.fetched.currencies);
      }
      return { ...markets };
    });
  }

  /**
   * A fresh load: only `ids` where given (the profile's `marketsBySymbol`), the whole list when the exchange refuses
   * one of them (a delisted or mistyped symbol: the whole request is refused) or none are given.
   */
  private async fetchMarkets(ids: string[] | undefined): ReturnType<CcxtClient['loadMarkets']> {
    if (ids) {
      try {
        const raw = await this.client.loadMarkets(true, this.profile!.marketsBySymbol!.params(ids));
        this.scope = ids;
        return raw;
      } catch (err) {
        if ((err as { name?: string } | undefined)?.name !== 'BadSymbol') throw err;
        this.options.logger?.info(`${this.id} does not list every market asked for; the whole list is read`, {
          asked: ids,
        });
      }
    }
    const raw = await this.client.loadMarkets(true);
    this.scope = undefined;
    return raw;
  }

  /** The exchange's id of a symbol's market: from the markets ccxt has (kept or loaded), else the profile's rule. */
  private marketIdOf(symbol: string): string {
    return this.client.markets?.[symbol]?.id ?? this.profile!.marketsBySymbol!.marketId(symbol);
  }

  /**
   * After a load by symbol, a call on a symbol outside it (an order in state on a symbol no longer traded) loads
   * that market first, with the others; without it ccxt would refuse the symbol. Before a fresh load (kept markets
   * only) nothing is loaded here: the start decides what waits for the fresh markets.
   */
  private async marketFor(symbol: string): Promise<void> {
    if (this.scope && this.markets && !this.markets[symbol]) {
      await this.loadMarketIds(true, [...this.scope, this.marketIdOf(symbol)]);
    }
  }

  /**
   * A market whether or not it is among those loaded (a fee currency's, fee-valuation.ts). Outside a load by symbol
   * it is asked for alone, once a run: one exchangeInfo request, never a reload of ccxt's markets — which every ccxt
   * call (a create, a stop-loss) would wait for — and kept in every later load by symbol; a market the exchange does
   * not list is remembered as such (no whole-list read for it).
   */
  async findMarket(symbol: string): Promise<Market | undefined> {
    if (!this.markets) await this.loadMarkets();
    if (this.markets![symbol] || !this.scope || this.outside.has(symbol)) return this.markets![symbol];
    const lookup = this.marketLoads.then(() => this.lookUpOutside(symbol));
    this.marketLoads = lookup.catch(() => undefined);
    await lookup;
    return this.markets![symbol];
  }

  /** Asks for one market outside the scope and puts it in ccxt's markets beside the others (findMarket). */
  private lookUpOutside(symbol: string): Promise<void> {
    return this.read('findMarket', { market: symbol }, async () => {
      // a load (or lookup) that ran meanwhile may have it, or have read the whole list
      if (this.markets?.[symbol] || !this.scope || this.outside.has(symbol)) return;
      const id = this.marketIdOf(symbol);
      let found: CcxtMarket[];
      try {
        found = (await this.client.fetchMarkets(this.profile!.marketsBySymbol!.params([id]))) as CcxtMarket[];
      } catch (err) {
        if ((err as { name?: string } | undefined)?.name !== 'BadSymbol') throw err;
        this.outside.set(symbol, null);
        return;
      }
      // ccxt's markets with it (setMarkets: ccxt's own pending load, which its calls wait for, is left alone)
      this.client.setMarkets([...Object.values(this.client.markets ?? {}), ...found] as never);
      this.markets = this.toMarkets(this.client.markets);
      this.outside.set(symbol, this.markets[symbol] ? id : null);
    });
  }

  /** The market ids found outside the scope and listed: asked for with every load by symbol. */
  private listedOutside(): string[] {
    return [...this.outside.values()].filter((id): id is string => id !== null);
  }

  fetchTicker(symbol: string): Promise<Ticker> {
    // the first tick's: measured beside its reads. A ticker's age is judged on the exchange's clock, so its answer
    // waits for the first measurement (a host clock minutes off would read every price as stale until then)
    const measured = this.clockMeasured();
    const timeField = this.profile?.tickerTime;
    return this.read('fetchTicker', { symbol }, async () => {
      const t = await this.client.fetchTicker(symbol);
      const last = num(t.last ?? t.close);
      if (last === undefined) throw new NetworkError('ticker without a price', { symbol });
      if (timeField !== undefined) await measured;
      return {
        symbol,
        last,
        bid: num(t.bid) ?? last,
        ask: num(t.ask) ?? last,
        // never filled in with our clock: a price without the exchange's time is one whose age is unknown
        timestamp: num(t.timestamp),
        ...(timeField !== undefined ? { timeField } : {}),
      };
    });
  }

  fetchCandles(symbol: string, timeframe: string, limit: number): Promise<Candle[]> {
    return this.read('fetchCandles', { symbol, timeframe }, async () => {
      // where the exchange marks the forming candle itself (OKX) none is handed on whatever the clocks say: no wait
      const measured = this.clockMeasured();
      const marked = this.profile?.formingCandle !== undefined;
      if (!marked) await measured;
      // no offset measured yet (the server-time reads failed): the exchange's clock is unknown, and the newest row
      // may be the candle still forming whatever the host's clock says (review 45: the host 0.9 s ahead, inside the
      // exchanges' timestamp tolerance, took it for finished) — left out until a measurement succeeds
      const unjudged = !marked && this.lastSkew === undefined;
      const rows = await this.client.fetchOHLCV(symbol, timeframe, undefined, limit);
      const candles = rows
        .filter((r) => (r as unknown[])[FORMING] !== true)
        .map((r) => [r[0], r[1], r[2], r[3], r[4], r[5]].map((v) => Number(v ?? 0)) as Candle);
      return unjudged ? candles.slice(0, -1) : candles;
    });
  }

  async createOrder(request: CreateOrderRequest): Promise<ExchangeOrder> {
    const { symbol, side, type, clientOrderId } = request;
    const context = { symbol, side, type, amount: request.amount, price: request.price, clientOrderId };
    const market = (await this.marketsLoaded(symbol))[symbol];
    if (!market) throw new InvalidOrderError(`unknown symbol ${symbol}`, context);
    const { amount, price } = this.precise(request, market, context);
    // A limit order's value is known: below the minimum it is refused here, nothing sent. A market order's is
    // not: the exchange values it at its own reference (Binance: the average price over `avgPriceMins`, and only
    // when `applyMinToMarket`), which a bid or ask here may put below the minimum when the exchange takes it —
    // a refused stop-loss. So a market order goes out and the exchange decides.
    if (price !== undefined && market.minNotional > 0 && amount * price < market.minNotional) {
      throw new InvalidOrderError(
        `order value ${amount * price} is below the minimum ${market.minNotional}`,
        context,
      );
    }
    try {
      // decided on this tick's prices: sent now or refused unsent, never held through a rate-limit ban
      const order = await withGateBudget(
        CREATE_GATE_WAIT_MS,
        () => this.client.createOrder(symbol, type, side, amount, price, { clientOrderId }),
        // an order-count limit (Binance -1015) holds these, never the reads and cancels
        { placesOrder: true },
      );
      return this.toOrder(order, { symbol, side, type, amount, price, clientOrderId });
    } catch (err) {
      const error = this.translate(err, context);
      // refused for the symbol's trading rules (which the exchange may have changed since the markets were read)
      if (error instanceof ByNinjaError && this.refusedForMarketRules(err)) error.context.marketRules = true;
      throw createFailure(error, this.profile?.answerCodes);
    }
  }

  /** Whether a create's ccxt error carries a code the profile lists as refusing the symbol's trading rules. */
  private refusedForMarketRules(err: unknown): boolean {
    const e = err as { exchangeCode?: string; message?: unknown } | undefined;
    const code =
      (typeof e?.message === 'string' ? this.bodyCode?.(e.message)?.code : undefined) ?? e?.exchangeCode;
    return code !== undefined && this.profile?.marketRuleCodes?.includes(code) === true;
  }

  fetchOrder(id: string, symbol: string, since?: number): Promise<ExchangeOrder> {
    return this.read('fetchOrder', { orderId: id, symbol }, async () => {
      const order = this.toOrder(
        this.profile?.orderLists
          ? await this.findInOrderLists(symbol, { orderId: id }, (o) => String(o.id) === id, since, id)
          : await this.client.fetchOrder(id, symbol),
      );
      // its creation in the exchange's time: where its fills are searched from
      this.spans.remember(order.id, order.timestamp);
      return order;
    });
  }

  fetchOrderByClientId(clientOrderId: string, symbol: string, since?: number): Promise<ExchangeOrder> {
    return this.read('fetchOrderByClientId', { clientOrderId, symbol }, async () => {
      const order = this.profile?.orderLists
        ? await this.findInOrderLists(
            symbol,
            { [this.profile.clientOrderId.param]: clientOrderId },
            (o) => o.clientOrderId === clientOrderId,
            since,
          )
        : // ccxt maps the unified clientOrderId param to each exchange's own (binance: origClientOrderId)
          await this.client.fetchOrder('', symbol, { clientOrderId });
      const found = this.toOrder(order, { clientOrderId });
      this.spans.remember(found.id, found.timestamp);
      return found;
    });
  }

  fetchOpenOrders(symbol?: string): Promise<ExchangeOrder[]> {
    return this.read('fetchOpenOrders', { symbol }, async () => {
      let orders = await this.openOrders(symbol);
      // all symbols' open orders after a load by symbol: one on a market outside it (ccxt named it by the exchange's
      // market id) is read again once that market is loaded too
      const outside =
        this.scope && this.markets
          ? orders.flatMap((o) => (o.symbol && !this.client.markets?.[o.symbol] ? [o.symbol] : []))
          : [];
      if (outside.length > 0) {
        await this.loadMarketIds(true, [...new Set([...this.scope!, ...outside])]);
        orders = await this.openOrders(symbol);
      }
      return orders.map((o) => this.toOrder(o));
    });
  }

  fetchRecentOrders(symbol: string): Promise<ExchangeOrder[]> {
    return this.read('fetchRecentOrders', { symbol }, async () => {
      const lists = this.profile?.orderLists;
      if (!lists && this.client.has.fetchOrders) {
        const orders = await this.client.fetchOrders(symbol, undefined, RECENT_ORDERS_LIMIT);
        return orders.map((o) => this.toOrder(o));
      }
      // no list of all orders: every open one, then the most recent finished ones (Bybit and OKX: the profile's
      // `recentPages` pages of them; OKX: of the last 7 days). Finished means cancelled too: ccxt's call for both
      // where it has one (Bybit), else its closed and its cancelled lists (OKX: orders-history `state=filled`, then
      // `state=canceled` — a cancelled order may have fills). An order that finished between the open read and the
      // finished ones is in both, and the finished read wins.
      const open = await this.openOrders(symbol);
      type ListCall = (
        symbol: string,
        since: undefined,
        limit: number | undefined,
        params: Record<string, string>,
      ) => Promise<CcxtOrder[]>;
      const has = this.client.has as Record<string, boolean | string | undefined>;
      const calls: Array<[string, ListCall]> =
        lists || has.fetchCanceledAndClosedOrders === true
          ? [['finished', this.client.fetchCanceledAndClosedOrders.bind(this.client)]]
          : [
              ['closed', this.client.fetchClosedOrders.bind(this.client)],
              ...(has.fetchCanceledOrders === true
                ? [['cancelled', this.client.fetchCanceledOrders.bind(this.client)] as [string, ListCall]]
                : []),
            ];
      const finished = this.profile?.lists.finished;
      // the finished lists together (OKX's filled and cancelled: no order is in both), each after the open one
      const done = await Promise.all(
        calls.map(([name, call]) => {
          const fetchPage = (
            limit: number | undefined,
            params: Record<string, string> = {},
          ): Promise<CcxtOrder[]> => call(symbol, undefined, limit, params);
          return finished
            ? readWholeList({
                paging: finished,
                fetchPage,
                key: (o) => String(o.id),
                maxPages: this.profile!.lists.recentPages,
                what: `${name} orders of ${symbol}`,
                onCap: (read) =>
                  this.options.logger?.info(
                    `Recent orders of ${symbol}: the ${read} most recent ${name} orders read; older ones are not`,
                    { exchange: this.id, symbol, pages: this.profile!.lists.recentPages },
                  ),
              })
            : fetchPage(RECENT_ORDERS_LIMIT);
        }),
      );
      const byId = new Map<string, ExchangeOrder>();
      for (const o of [...open, ...done.flat()]) byId.set(String(o.id), this.toOrder(o));
      return [...byId.values()];
    });
  }

  fetchOrderTrades(orderId: string, symbol: string, since?: number): Promise<ExchangeTrade[]> {
    return this.read('fetchOrderTrades', { orderId, symbol }, async () => {
      // Binance myTrades takes orderId but not together with startTime: `since` only for the trade-list search
      const trades = this.client.has.fetchOrderTrades
        ? await this.wholeOrUnpaged(
            this.profile?.lists.trades,
            `trades of order ${orderId} on ${symbol}`,
            (limit, params) => this.client.fetchOrderTrades(orderId, symbol, undefined, limit, params),
            // a list answered within a time window (Bybit: 7 days): from the order's creation to now, the exchange's
            since === undefined ? undefined : this.spans.span(orderId, since),
          )
        : (
            await this.client.fetchMyTrades(
              symbol,
              since === undefined ? undefined : this.spans.from(orderId, since),
            )
          ).filter((t) => String(t.order) === orderId);
      return this.completeTrades(trades, orderId, { symbol, warn: true }) ?? [];
    });
  }

  /**
   * The symbol's trades from the send (on the exchange's clock, less the search margin) to now, one page of the
   * profile's largest size per read: a full page leaves trades beyond it, so the answer is not complete. Where the
   * exchange bounds a read's span (profile `tradesByTime`: Binance myTrades 24 h, Bybit execution/list 7 days) the
   * span is read window by window, each with its start and end — a lone start reads only the window after it there
   * (Bybit documents it; Binance does not say), so one read from a send older than the window showed none of the
   * trades since and called that complete. More than MAX_TRADE_WINDOWS windows, or a send older than the trade
   * history reaches (OKX fills-history: 3 months), is not read: not complete (an incomplete read is never "no trade").
   * OKX fills-history from `begin` answers newest first up to now.
   */
  fetchSymbolTrades(symbol: string, since: number): Promise<SymbolTrades> {
    return this.read('fetchSymbolTrades', { symbol }, async () => {
      const perPage = this.profile?.lists.trades?.perPage;
      const byTime = this.profile?.lists.tradesByTime;
      const span = this.spans.span(undefined, since);
      const reach = this.profile?.tradeHistoryReachMs;
      const windows = byTime ? timeWindows(byTime, span.from, span.to) : [];
      if ((reach !== undefined && span.to - span.from > reach) || windows.length > MAX_TRADE_WINDOWS) {
        return { trades: [], complete: false };
      }
      const pages: CcxtTrade[][] = [];
      if (!byTime) pages.push(await this.client.fetchMyTrades(symbol, span.from, perPage));
      for (const window of windows)
        pages.push(await this.client.fetchMyTrades(symbol, undefined, perPage, window));
      // without a documented page size nothing says the page holds them all
      let complete = perPage !== undefined && pages.every((page) => page.length < perPage);
      const trades = new Map<string, ExchangeTrade>();
      for (const t of pages.flat()) {
        const trade = toTrade(t, '', symbol);
        if (trade && trade.orderId !== '') trades.set(trade.id, trade);
        else complete = false;
      }
      return { trades: [...trades.values()].sort((a, b) => a.timestamp - b.timestamp), complete };
    });
  }

  /**
   * Not retried: the engine decides (a second cancel of a cancelled order only gets OrderNotFoundError). An answer
   * that only acknowledges the request (Bybit: "asynchronous"; OKX: ids and sCode, "only means that your
   * cancellation request has been accepted") says nothing of the order: the order is read instead.
   */
  async cancelOrder(id: string, symbol: string): Promise<ExchangeOrder> {
    let answer: CcxtOrder;
    try {
      answer = await this.client.cancelOrder(id, symbol);
    } catch (err) {
      throw this.translate(err, { orderId: id, symbol });
    }
    if (answer.side !== 'buy' && answer.side !== 'sell') return this.fetchOrder(id, symbol);
    return this.toOrder(answer, { status: 'canceled' });
  }

  async cancelOrderByClientId(clientOrderId: string, symbol: string): Promise<ExchangeOrder> {
    let answer: CcxtOrder;
    const param = this.profile?.cancelByClientIdParam ?? 'clientOrderId';
    try {
      // no exchange id: ccxt names the order by the parameter alone
      answer = await this.client.cancelOrder(undefined as unknown as string, symbol, {
        [param]: clientOrderId,
      });
    } catch (err) {
      throw this.translate(err, { clientOrderId, symbol });
    }
    if (answer.side !== 'buy' && answer.side !== 'sell')
      return this.fetchOrderByClientId(clientOrderId, symbol);
    return this.toOrder(answer, { status: 'canceled', clientOrderId });
  }

  fetchBalance(): Promise<Record<string, BalanceEntry>> {
    return this.read('fetchBalance', {}, async () => {
      const balance = (await this.client.fetchBalance()) as unknown as {
        free?: Record<string, number | undefined>;
        used?: Record<string, number | undefined>;
        total?: Record<string, number | undefined>;
        info?: unknown;
      };
      // where ccxt's reading counts more than the coin held (OKX above Spot mode), the profile reads the answer
      const own = this.profile?.balanceRead?.(balance.info);
      if (own) return own;
      const result: Record<string, BalanceEntry> = {};
      const currencies = new Set([...Object.keys(balance.total ?? {}), ...Object.keys(balance.free ?? {})]);
      for (const c of currencies) {
        const free = num(balance.free?.[c]) ?? 0;
        const used = num(balance.used?.[c]) ?? 0;
        result[c] = { free, used, total: num(balance.total?.[c]) ?? free + used };
      }
      return result;
    });
  }

  /**
   * What the engine needs of an exchange, as ccxt says this one can (its `has` table): checked at start; live mode
   * refuses to start without one of the REQUIRED ones.
   */
  capabilities(): Record<ExchangeCapability, boolean> {
    const has = this.client.has as Record<string, boolean | string | undefined>;
    const yes = (name: string): boolean => has[name] === true || has[name] === 'emulated';
    return {
      createOrder: yes('createOrder'),
      cancelOrder: yes('cancelOrder'),
      fetchOrderByClientId: yes('fetchOrder') && this.profile !== undefined,
      fetchOpenOrdersAllSymbols: yes('fetchOpenOrders') && this.profile?.needsSymbol.fetchOpenOrders !== true,
      fetchRecentOrders: yes('fetchOrders') || yes('fetchClosedOrders'),
      fetchOrderTrades: yes('fetchOrderTrades') || yes('fetchMyTrades'),
      fetchBalance: yes('fetchBalance'),
      fetchTicker: yes('fetchTicker'),
      fetchCandles: yes('fetchOHLCV'),
    };
  }

  accountId(): Promise<string> {
    return this.read('accountId', {}, async () => {
      const uid = this.profile?.accountUid?.(await this.accountAnswer());
      if (uid) return `uid:${uid}`;
      return apiKeyFingerprint(this.options.apiKey);
    });
  }

  /**
   * The API key's own limits: the profile's key read, one request (retried like any read); undefined where the
   * profile names none. Its end, if it tells one, is known from then on (`knowKeyExpiry`).
   */
  apiKeyLimits(): Promise<ApiKeyLimits | undefined> {
    const spec = this.profile?.keyLimits;
    if (!spec) return Promise.resolve(undefined);
    return this.read('apiKeyLimits', {}, async () => {
      const limits = spec.read(await this.callImplicit(spec.call));
      if (limits?.expiresAt !== undefined)
        this.knowKeyExpiry({ at: limits.expiresAt, field: limits.expiryField ?? 'key expiry' });
      else if (limits) this.knowKeyExpiry(undefined);
      if (limits) this.keyCannotTrade = limits.spotTrade === false;
      return limits;
    });
  }

  knowKeyExpiry(expiry: KeyExpiry | undefined): void {
    this.keyExpiry = expiry;
  }

  /**
   * The account answer `accountUid` reads: the exchange's own account call where the profile names it (it does not
   * wait for ccxt's market load, as fetchBalance does: start-up reads markets and account together), else ccxt's
   * fetchBalance, whose `info` is that answer.
   */
  private async accountAnswer(): Promise<{ info?: unknown }> {
    const call = this.profile?.accountCall;
    if (!call) return (await this.client.fetchBalance()) as { info?: unknown };
    return { info: await this.callImplicit(call) };
  }

  /** One of ccxt's implicit API methods the profile names (e.g. `privateGetV5UserQueryApi`), without parameters. */
  private callImplicit(call: string): Promise<unknown> {
    const implicit = (this.client as unknown as Record<string, unknown>)[call];
    if (typeof implicit !== 'function') throw new Error(`exchange profile: ccxt ${this.id} has no ${call}`);
    return (implicit as (params?: object) => Promise<unknown>).call(this.client, {});
  }

  /**
   * Whether the exchange refused this bot for rate lately: this run's gate closed, or the kept file says so (within
   * a day, or it could not be read); without a kept file, refused (the start's reads wait for the account's answer).
   */
  async refusedLately(): Promise<boolean> {
    if (this.gate.refusals > 0 || !this.options.gateFile) return true;
    return this.options.gateFile.refusedLately();
  }

  /** Until when the exchange's rate limit holds every request (a ban kept from the last run, or a fresh one). */
  rateLimitedUntil(): number | undefined {
    return this.gate.closedUntil();
  }

  /** A ban kept from the last run that still holds: said once in the log, before the start's first request waits. */
  private async announceKeptBan(): Promise<void> {
    const until = await this.options.gateFile?.closedUntil();
    const honoured = this.gate.closedUntil();
    if (until === undefined || honoured === undefined) return;
    this.options.logger?.warn(
      `${this.id} rate-limit ban kept from the last run: no request before ${new Date(honoured).toISOString()} (${Math.ceil((honoured - this.clock.now()) / 1000)} s); the start waits`,
      { until: honoured },
    );
  }

  /** Stops pending read retries; idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.abort.abort(new NetworkError('exchange adapter closed'));
      this.cancelRemeasure?.();
      this.spares?.close();
      await this.options.keptMarkets?.close();
      await this.options.gateFile?.close();
      await (this.client as unknown as { close?: () => Promise<void> }).close?.().catch(() => undefined);
    })();
    return this.closing;
  }

  // --- internals -------------------------------------------------------------------------------------------

  private async read<T>(
    operation: string,
    context: Record<string, unknown>,
    fn: () => Promise<T>,
  ): Promise<T> {
    const r = this.options.readRetry ?? {};
    if (typeof context.symbol === 'string') await this.marketFor(context.symbol);
    return retry(
      async () => {
        try {
          return await fn();
        } catch (err) {
          throw this.translate(err, { operation, ...context });
        }
      },
      {
        maxAttempts: r.maxAttempts ?? 4,
        baseDelayMs: r.baseDelayMs ?? 250,
        maxDelayMs: r.maxDelayMs ?? 5_000,
        random: r.random,
        clock: this.clock,
        signal: this.abort.signal,
        onRetry: ({ attempt, error, delayMs }) =>
          this.options.logger?.debug(`${operation} failed, retrying in ${delayMs} ms`, {
            attempt,
            error: error instanceof Error ? error.message : String(error),
          }),
      },
    );
  }

  private translate(err: unknown, context: Record<string, unknown>): Error {
    return this.namedForKey(err, this.translateOnly(err, context));
  }

  /**
   * What the key itself explains of a refusal (ccxt's error, before translation), or undefined: an authentication
   * or permission refusal, an HTTP 401 of any class, or an answer code the profile lists as refusing the key
   * (`keyRefusalCodes`: ccxt's binance reads -2015 after a signed call succeeded as a temporary IP ban,
   * DDoSProtection) — a deleted key, a wrong secret or passphrase, this host's IP off the key's allow-list, a
   * permission the key lacks. A person must act (a new key in .env, the allow-list, the permissions, then a
   * restart), so it names what to check; more precisely the key's known end once passed, or its read saying it
   * cannot place spot orders (key-watch.ts). Such a refusal is no rate limit and no outage: the gate does not wait on
   * it, and the loop and the start tell it as the key's (`keyRefused`). A code the profile lists as the account's, its
   * region's or the symbol's (`accountRefusals`: ccxt classes them as the key's) has the same effect but is told as
   * what it is (`account`): the operator is not sent to replace a good key.
   */
  keyRefusal(
    err: unknown,
  ): { expired: boolean; cannotTrade: boolean; account?: true; text: string } | undefined {
    const e = err as
      { name?: string; httpStatus?: number; exchangeCode?: string; message?: unknown } | undefined;
    const byCode = e?.exchangeCode !== undefined && this.profile?.keyRefusalCodes?.includes(e.exchangeCode);
    // a 401 that ccxt reads as the clock's (OKX 50102 "Timestamp request expired": InvalidNonce) is no key's
    const by401 = e?.httpStatus === 401 && !NOT_THE_KEY_401.has(e?.name ?? '');
    if (!(by401 || KEY_REFUSAL_CLASSES.has(e?.name ?? '') || byCode)) return undefined;
    const code =
      (typeof e?.message === 'string' ? this.bodyCode?.(e.message)?.code : undefined) ?? e?.exchangeCode;
    const account = accountRefusedText(this.id, code, this.profile?.accountRefusals);
    if (account) return { expired: false, cannotTrade: false, account: true, text: account };
    const expiry = this.keyExpiry;
    if (expiry && this.clock.now() >= expiry.at)
      return {
        expired: true,
        cannotTrade: false,
        text: `${this.id} API key expired at ${new Date(expiry.at).toISOString()} (${expiry.field}): trading stopped — create a new key (bound to this host's IP address, without withdrawals) and restart with it`,
      };
    if (this.keyCannotTrade)
      return {
        expired: false,
        cannotTrade: true,
        text: `${this.id} API key cannot place spot orders (the exchange's key read says so): enable spot trading on the key, or create a new key with it`,
      };
    return {
      expired: false,
      cannotTrade: false,
      text: keyRefusedText(this.id, this.profile?.password !== undefined),
    };
  }

  /**
   * A refusal the key explains (keyRefusal), named as that: the operator reads "the key is refused", not a ban. A
   * plain authentication refusal stays one; the key's end or missing permission, and anything else (ccxt's
   * DDoSProtection for Binance's -2015), is a permission refusal: both operational (a person must act).
   */
  private namedForKey(raw: unknown, error: Error): Error {
    const key = this.keyRefusal(raw);
    if (!key) return error;
    const context = error instanceof ByNinjaError ? error.context : {};
    const Refusal =
      error instanceof AuthenticationError && !key.expired && !key.cannotTrade && !key.account
        ? AuthenticationError
        : PermissionDeniedError;
    return new Refusal(`${key.text} (${error.message})`, {
      ...context,
      keyRefused: true,
      ...(key.expired
        ? { keyExpired: true }
        : key.cannotTrade
          ? { keyCannotTrade: true }
          : key.account
            ? { accountRefused: true }
            : {}),
    });
  }

  private translateOnly(err: unknown, context: Record<string, unknown>): Error {
    return translateCcxtError(err, {
      context: { exchange: this.id, ...context },
      secrets: [this.options.apiKey, this.options.secret, this.options.password],
      summarize: this.summarizeError,
      // only an answer that asks us to wait carries a meaningful Retry-After: the headers of that very answer
      retryAfterMs: WAIT_ERRORS.has((err as { name?: string } | undefined)?.name ?? '')
        ? retryAfterFrom(
            (err as { responseHeaders?: Record<string, string> }).responseHeaders,
            this.clock.now(),
          )
        : undefined,
    });
  }

  /** Open orders of one symbol or all, whole (every page the exchange has of them). */
  private openOrders(symbol?: string): Promise<CcxtOrder[]> {
    return this.wholeOrUnpaged(
      this.profile?.lists.open,
      `open orders${symbol ? ` of ${symbol}` : ''}`,
      (limit, params) => this.client.fetchOpenOrders(symbol, undefined, limit, params),
    );
  }

  /** A list read to its last page where the profile documents its paging, else the exchange's one answer. */
  private wholeOrUnpaged<T extends PagedRow & { id?: string | number }>(
    paging: ListPaging | undefined,
    what: string,
    fetchPage: (limit: number | undefined, params: Record<string, string>) => Promise<T[]>,
    span?: { from: number; to: number },
  ): Promise<T[]> {
    if (!paging) return fetchPage(undefined, {});
    return readWholeList({
      paging,
      fetchPage,
      key: (row) => String(row.id),
      maxPages: WHOLE_LIST_MAX_PAGES,
      what,
      span,
    });
  }

  /**
   * The one order `matches` picks from the exchange's open-orders list, else from its order history, both asked with
   * the exchange's own filter (`orderId`, `orderLinkId`…). The match is checked here too: a filter the exchange
   * ignored would otherwise hand back some other order.
   */
  private async findInOrderLists(
    symbol: string,
    filter: Record<string, string>,
    matches: (o: CcxtOrder) => boolean,
    since?: number,
    orderId?: string,
  ): Promise<CcxtOrder> {
    const lists = this.profile?.lists;
    const open = (await this.client.fetchOpenOrders(symbol, undefined, lists?.open?.perPage, filter)).find(
      matches,
    );
    if (open) return open;
    const history = (limit: number | undefined, params: Record<string, string>): Promise<CcxtOrder[]> =>
      this.client.fetchCanceledAndClosedOrders(symbol, undefined, limit, { ...filter, ...params });
    // a history answered by time window (Bybit: 7 days): searched from the order's creation to now, the exchange's
    // times; missed there (the host clock stepped since its creation), the exchange's default span once (7 days)
    const windowed = since !== undefined && lists?.finished?.window !== undefined;
    const done =
      (windowed
        ? (
            await this.wholeOrUnpaged(
              lists!.finished,
              `order ${JSON.stringify(filter)} on ${symbol}`,
              history,
              this.spans.span(orderId ?? '', since!),
            )
          ).find(matches)
        : undefined) ?? (await history(lists?.finished?.perPage, {})).find(matches);
    if (done) return done;
    throw new OrderNotFoundError('the exchange has no such order', { exchange: this.id, symbol, ...filter });
  }

  private async marketsLoaded(symbol: string): Promise<Record<string, Market>> {
    if (!this.markets) await this.loadMarkets();
    await this.marketFor(symbol);
    return this.markets!;
  }

  /**
   * Amount floored to the step, price rounded to the tick (ccxt's own precision functions); a market order's amount
   * also to its own step and minimum where the market lists them (lotOf: Binance MARKET_LOT_SIZE, which ccxt does not
   * read) — the engine sizes on them already, this keeps a request off the exchange that it would refuse every time.
   */
  private precise(
    request: CreateOrderRequest,
    market: Market,
    context: Record<string, unknown>,
  ): { amount: number; price?: number } {
    let amount: number;
    let price: number | undefined;
    try {
      amount = Number(this.client.amountToPrecision(request.symbol, request.amount));
      if (request.type === 'limit') {
        if (!(request.price !== undefined && request.price > 0))
          throw new InvalidOrderError('a limit order needs a positive price', context);
        price = Number(this.client.priceToPrecision(request.symbol, request.price));
      }
    } catch (err) {
      throw this.translate(err, context);
    }
    const lot = lotOf(market, request.type);
    if (lot !== market) amount = floorToStep(amount, lot.amountStep);
    if (!(amount > 0) || amount < lot.minAmount) {
      throw new InvalidOrderError(`amount ${request.amount} is below the minimum ${lot.minAmount}`, context);
    }
    return { amount, price };
  }

  /** ccxt's markets as the port's: spot markets that trade, by symbol. */
  private toMarkets(raw: Record<string, CcxtMarket> | undefined): Record<string, Market> {
    const markets: Record<string, Market> = {};
    for (const m of Object.values(raw ?? {})) {
      if (!m || m.spot === false) continue;
      // a halted market (a few hours' BREAK) stays known: its orders and positions are still watched
      markets[m.symbol] = m.active === false ? { ...this.toMarket(m), halted: true } : this.toMarket(m);
    }
    return markets;
  }

  private toMarket(m: NonNullable<CcxtMarket>): Market {
    const step = (p: number | undefined): number => {
      if (p === undefined || !(p > 0)) return 1e-8;
      if (this.client.precisionMode === TICK_SIZE) return p;
      if (this.client.precisionMode === DECIMAL_PLACES) return 10 ** -p;
      return 1e-8; // significant digits: no fixed step; the exchange rounds
    };
    const amountStep = step(num(m.precision?.amount));
    // per order type, base and quote: read per exchange where ccxt keeps them exactly (order-maximums.ts)
    const maxOrder = orderMaximums(this.id, m);
    // a market order's own amount step and minimum (Binance MARKET_LOT_SIZE), read from the answer: ccxt does not
    const marketLot = marketOrderLot(this.id, m);
    return {
      symbol: m.symbol,
      base: m.base,
      quote: m.quote,
      amountStep,
      priceStep: step(num(m.precision?.price)),
      // every order's least amount, where the exchange checks one (order-maximums.ts: not Bybit's minOrderQty)
      minAmount: minimumAmount(this.id, m, amountStep),
      minNotional: num(m.limits?.cost?.min) ?? 0,
      ...(maxOrder ? { maxOrder } : {}),
      ...(marketLot ? { marketLot } : {}),
      // ccxt puts NOTIONAL in limits.cost.min whether or not it applies to market orders: read the filter
      ...(minNotionalSkipsMarket(m.info) ? { minNotionalOnMarket: false } : {}),
      ...(num(m.taker) !== undefined && num(m.taker)! >= 0 ? { takerFee: num(m.taker) } : {}),
    };
  }

  private toOrder(o: CcxtOrder, sent: Partial<ExchangeOrder> & { price?: number } = {}): ExchangeOrder {
    const amount = num(o.amount) ?? sent.amount ?? 0;
    const filled = num(o.filled) ?? 0;
    const side = o.side === 'buy' || o.side === 'sell' ? o.side : sent.side;
    if (!side) {
      // never a default: a sell taken for a buy doubles the position instead of closing it
      throw new NetworkError('order answer without a side', { exchange: this.id, orderId: o.id });
    }
    const id = String(o.id);
    return {
      id,
      // a cancel answer may carry the cancel request's own id in clientOrderId (Binance): the order's is orig…
      clientOrderId:
        (o.info as { origClientOrderId?: string } | undefined)?.origClientOrderId ??
        o.clientOrderId ??
        sent.clientOrderId,
      symbol: o.symbol ?? sent.symbol ?? '',
      side,
      type: o.type === 'limit' || o.type === 'market' ? o.type : (sent.type ?? 'limit'),
      price: num(o.price) ?? sent.price,
      amount,
      filled,
      remaining: num(o.remaining) ?? Math.max(0, amount - filled),
      average: num(o.average),
      status: finishedShort(toStatus(o.status, sent.status), amount, num(o.filled)),
      timestamp: num(o.timestamp),
      fees: this.profile?.orderFees?.(o.info) ?? feesOf(o),
      trades:
        this.profile?.orderAnswerTradesComplete !== false && Array.isArray(o.trades) && o.trades.length > 0
          ? this.completeTrades(o.trades, id, { symbol: o.symbol ?? sent.symbol ?? '', warn: false })
          : undefined,
      ...selfTradeOf(this.profile?.selfTradeEnd, o.info),
    };
  }

  /**
   * The trades as fills, or undefined when one lacks what a fill needs (id, side, exchange time, price, amount):
   * an order answer's trades are then all left for the trade list; a trade-list entry is left out (and logged).
   */
  private completeTrades(
    trades: CcxtTrade[],
    orderId: string,
    opts: { symbol: string; warn: boolean },
  ): ExchangeTrade[] | undefined {
    const complete: ExchangeTrade[] = [];
    for (const t of trades) {
      const trade = toTrade(t, orderId, opts.symbol);
      if (trade) {
        complete.push(trade);
        continue;
      }
      if (!opts.warn) return undefined;
      this.options.logger?.warn('Trade without id, side, time, price or amount left out (never guessed)', {
        exchange: this.id,
        orderId,
        tradeId: t.id,
      });
    }
    return complete;
  }
}

/** A ccxt trade as a fill, or null when the exchange left out a field a fill needs. */
function toTrade(t: CcxtTrade, orderId: string, symbol: string): ExchangeTrade | null {
  const price = num(t.price);
  const amount = num(t.amount);
  const timestamp = num(t.timestamp);
  const id = t.id === undefined || t.id === null ? '' : String(t.id);
  if (id === '' || (t.side !== 'buy' && t.side !== 'sell') || timestamp === undefined) return null;
  if (price === undefined || amount === undefined || !(amount > 0)) return null;
  return {
    id,
    orderId: t.order !== undefined && t.order !== null ? String(t.order) : orderId,
    symbol: t.symbol ?? symbol,
    side: t.side,
    price,
    amount,
    cost: num(t.cost) ?? price * amount,
    fee: { cost: num(t.fee?.cost) ?? 0, currency: t.fee?.currency ?? '' },
    timestamp,
  };
}

/**
 * What a failed create means. The exchange refused it — the order does not exist — when it answered with a
 * refusal: a 4xx class (invalid order, bad request, insufficient funds, authentication…), a rate limit (429/418)
 * or a timestamp outside its window. Everything else — a timeout, a reset, a lost answer, any HTTP 5xx whatever
 * its body (Binance: "It is important to NOT treat this as a failure operation; the execution status is
 * UNKNOWN"), an answer code the exchange's profile lists as a server-side failure (Bybit 170146 "Order creation
 * timeout", 10016 "Server error." with HTTP 200), an answer code ccxt does not know (its bare ExchangeError) outside
 * a 4xx — may have placed it: NetworkError, resolved by lookup (a refusal so read costs one not-found window; the
 * other mistake leaves an order no one tracks). A
 * duplicate clientOrderId means the order EXISTS: InvalidOrderError with `context.duplicate`, resolved by lookup too.
 */
export function createFailure(error: Error, codes?: ExchangeProfile['answerCodes']): Error {
  const context = error instanceof ByNinjaError ? error.context : {};
  const httpStatus = typeof context.httpStatus === 'number' ? context.httpStatus : undefined;
  const code = typeof context.exchangeCode === 'string' ? context.exchangeCode : undefined;
  // ccxt's DuplicateOrderId class, the profile's codes, or an exchange that reports it only in words (Binance -2010
  // "Duplicate order sent.")
  if (
    context.ccxtError === 'DuplicateOrderId' ||
    (code !== undefined && codes?.duplicate.includes(code)) ||
    (error instanceof InvalidOrderError && /duplicate/i.test(error.message))
  ) {
    return new InvalidOrderError(error.message, { ...context, duplicate: true });
  }
  if (code !== undefined && codes?.outcomeUnknown.includes(code)) {
    return new NetworkError(`create outcome unknown (code ${code}): ${error.message}`, {
      ...context,
      cause: error.name,
    });
  }
  // a code ccxt does not know (its bare ExchangeError) in an answer that is no 4xx: nothing says it was refused —
  // Bybit and OKX send every error with HTTP 200, so no 5xx ever marks theirs (review 29: Bybit 170032 "Network
  // error", OKX sCode 51054 "Request timed out" were read as refusals of orders the exchange carried out)
  if (
    context.ccxtError === 'ExchangeError' &&
    !(httpStatus !== undefined && httpStatus >= 400 && httpStatus < 500)
  ) {
    return new NetworkError(
      `create outcome unknown (an answer code not known as a refusal): ${error.message}`,
      {
        ...context,
        cause: error.name,
      },
    );
  }
  if (httpStatus !== undefined && httpStatus >= 500) {
    return new NetworkError(`create outcome unknown (HTTP ${httpStatus}): ${error.message}`, {
      ...context,
      cause: error.name,
    });
  }
  if (error instanceof OrderNotFoundError) {
    return new NetworkError(`create outcome unknown: ${error.message}`, { ...context, cause: error.name });
  }
  if (error instanceof TemporaryError && !(error instanceof NetworkError)) {
    const refused = error instanceof RateLimitError || context.ccxtError === 'InvalidNonce';
    if (!refused) {
      return new NetworkError(`create outcome unknown: ${error.message}`, { ...context, cause: error.name });
    }
  }
  return error;
}

/** The account's fingerprint from its API key: a hash, never the key (tells two apart, signs nothing). */
export function apiKeyFingerprint(apiKey: string | undefined): string {
  return apiKey ? `key:${createHash('sha256').update(apiKey).digest('hex').slice(0, 16)}` : 'public';
}

/**
 * Records what ccxt's market load fetches (its fetchMarkets and fetchCurrencies answers, as it passes them to
 * setMarkets) into `into`, so a fresh load can be kept on disk as ccxt had it.
 */
function recordMarketLoads(client: CcxtClient, into: { markets?: unknown; currencies?: unknown }): void {
  const target = client as unknown as Record<
    'fetchMarkets' | 'fetchCurrencies',
    (p?: object) => Promise<unknown>
  >;
  const markets = target.fetchMarkets.bind(client);
  const currencies = target.fetchCurrencies.bind(client);
  target.fetchMarkets = async (params?: object) => (into.markets = await markets(params));
  target.fetchCurrencies = async (params?: object) => (into.currencies = await currencies(params));
}

/**
 * The reads a start sends before ccxt loads for these market ids (the profile's `earlyReads`), when the profile says
 * how and their weight fits in its burst (nothing else is sent with them); undefined otherwise.
 */
function earlyReadsFor(
  profile: ExchangeProfile | undefined,
  options: CcxtExchangeOptions,
  marketIds: readonly string[],
): EarlyRead[] | undefined {
  const burst = profile?.requestWeight?.burst;
  if (
    !profile?.earlyReads ||
    !options.apiKey ||
    !options.secret ||
    !profile.earlyReads.signs(options.secret) ||
    burst === undefined ||
    !marketIds.length
  ) {
    return undefined;
  }
  const reads = profile.earlyReads.reads(marketIds);
  return reads.reduce((sum, read) => sum + read.weight, 0) <= burst ? reads : undefined;
}

/**
 * Sends the start's reads before ccxt loads (early-reads.ts) when what they need holds: markets kept for every traded
 * symbol (their ids; without them recovery's reads wait for the fresh markets anyway) and no refusal for rate within
 * the last day kept (gate-file.ts: after one the start sends markets and account alone first, and the rest once the
 * account answered). Each read goes on a spare connection of its own.
 */
async function sendEarlyReads(
  profile: ExchangeProfile | undefined,
  kept: KeptMarkets | undefined,
  spares: SpareConnections,
  origin: string,
  options: CcxtExchangeOptions,
): Promise<EarlyReads | undefined> {
  const ids = (options.earlyReadSymbols ?? []).map(
    (symbol) => kept?.markets.find((market) => market.symbol === symbol)?.id,
  );
  if (!ids.every((id): id is string => typeof id === 'string')) return undefined;
  if (!options.gateFile || (await options.gateFile.refusedLately())) return undefined;
  const reads = earlyReadsFor(profile, options, ids);
  if (!reads || !profile?.earlyReads || !options.apiKey || !options.secret) return undefined;
  return EarlyReads.send({
    base: origin,
    reads,
    profile: profile.earlyReads,
    credentials: { apiKey: options.apiKey, secret: options.secret },
    connection: () => spares.take(origin),
    clock: options.clock,
    timeoutMs: options.timeoutMs ?? 10_000,
  });
}

/**
 * ccxt's HTTP client answers a request an early read asked (early-reads.ts) with that read's answer, in the shape of
 * its own (undiciRequest's: status, statusText, headers, text, arrayBuffer), which ccxt then handles as any answer;
 * any other request, or one whose early read failed, it sends. Its request timeout holds while it waits for one.
 */
function answerEarly(client: CcxtClient, early: EarlyReads): void {
  interface Params {
    method?: string;
    signal?: AbortSignal;
  }
  const c = client as unknown as {
    undiciRequest(url: string, params: Params): Promise<unknown>;
    httpStatusTexts?: Record<number, string>;
  };
  const send = c.undiciRequest.bind(client);
  c.undiciRequest = async (url: string, params: Params) => {
    const waiting = early.take(params.method ?? 'GET', url);
    const answer = waiting && (await untilAborted(waiting, params.signal));
    if (!answer) {
      // once a refusal for rate was handed out, a request that passed the gate before it closes must not leave: the
      // gate closes as ccxt handles that answer (a few promise jobs later), then holds this one unsent
      if (early.refused) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        assertStillAdmitted();
      }
      return send(url, params);
    }
    const { body } = answer;
    return {
      status: answer.status,
      statusText: c.httpStatusTexts?.[answer.status] ?? '',
      headers: answer.headers,
      text: () => Promise.resolve(body.toString('utf8')),
      arrayBuffer: () =>
        Promise.resolve(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)),
    };
  };
}

/** `promise`, or an AbortError (what ccxt reads as its request timing out) once `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  const aborted = (): DOMException => new DOMException('This operation was aborted', 'AbortError');
  if (signal.aborted) return Promise.reject(aborted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/**
 * Every request waits until ccxt's HTTP client is whole. ccxt loads it on the first request (loadFetchImplementation:
 * undici, then node:zlib and node:http) and sets `fetchImplementation` two awaits before `fetchIsNative`; its fetch
 * waits only while `fetchImplementation` is unset, so a request arriving between the two (the start's recovery reads,
 * sent right behind the first ones) went through undici's WHATWG fetch instead: not on ccxt's dispatcher (no spare
 * connections, a handshake each), ~0.1 s of CPU to load that fetch's modules, and ccxt's request options in their
 * legacy form. ccxt's own loading promise is the one awaited (it resolves once `fetchIsNative` is set), once per
 * client; a failed load fails each request as ccxt's would.
 */
export function awaitFetchClient(client: CcxtClient): void {
  type Fetch = (...args: unknown[]) => Promise<unknown>;
  const c = client as unknown as { fetch: Fetch; loadFetchImplementation(): Promise<void> };
  const send = c.fetch.bind(client) as Fetch;
  let loaded: Promise<void> | undefined;
  c.fetch = async (...args: unknown[]) => {
    await (loaded ??= c.loadFetchImplementation());
    return send(...args);
  };
}

/**
 * ccxt imports three proxy-agent packages (http-, https-, socks-proxy-agent; here only because PM2 depends on them)
 * before its first request, for websockets and a user-supplied fetch: its own undici path, the one we use, handles
 * proxies without them, and we set no proxy. Marked as loaded, they stay out of the restart path (~0.1–0.3 s of CPU
 * before the first request reached the exchange).
 */
function skipProxyAgentModules(client: CcxtClient): void {
  const c = client as unknown as {
    proxiesModulesLoading?: Promise<void>;
    socksProxyAgentModuleChecked?: boolean;
  };
  c.proxiesModulesLoading = Promise.resolve();
  c.socksProxyAgentModuleChecked = true;
}

/**
 * Gives ccxt's own keep-alive undici Agent (made on its first request from `getDispatcherOptions(true)`) a connector
 * that opens spare connections (spare-connections.ts) over undici's default one, built with the same options
 * undici would use (ccxt's `connect` TLS options, no HTTP/2, happy eyeballs). A proxy's dispatcher is left alone.
 */
function openSpareConnections(client: CcxtClient, spares: SpareConnections): void {
  type Options = Record<string, unknown> & { connect?: unknown };
  const c = client as unknown as {
    getDispatcherOptions(isPlainAgent?: boolean): Options;
    undiciModule?: { buildConnector?: (options: Record<string, unknown>) => Connector };
  };
  const original = c.getDispatcherOptions.bind(client);
  c.getDispatcherOptions = (isPlainAgent?: boolean) => {
    const options = original(isPlainAgent);
    const build = c.undiciModule?.buildConnector;
    if (!isPlainAgent || !build || typeof options.connect === 'function') return options;
    const connect = build({
      allowH2: options.allowH2,
      autoSelectFamily: options.autoSelectFamily,
      ...(options.connect as Record<string, unknown> | undefined),
    });
    return { ...options, connect: spares.connector(connect) };
  };
}

/**
 * Every request ccxt sends passes the exchange-wide rate-limit gate (rate-limit-gate.ts) first — before the pacing
 * (ccxt's own throttle, or the endpoint limiter where the profile paces per endpoint) and the signing, so a request
 * held for a ban is signed when it leaves. `fetch2` is the one method all of ccxt's REST calls go through (its
 * implicit API methods and `request` included); it calls `fetch` once the pacing let the request go and it is
 * signed: there the gate is asked again, and a request a refusal caught in the pacing goes back to the gate unsent
 * (`assertStillAdmitted`). A create's budget (`withGateBudget`) bounds the pacing's wait as well as the gate's.
 */
function gateRequests(client: CcxtClient, gate: RateLimitGate, limiter?: EndpointLimiter): void {
  type Fetch = (...args: unknown[]) => Promise<unknown>;
  const target = client as unknown as { fetch2: Fetch; fetch: Fetch };
  const original = target.fetch2.bind(client) as Fetch;
  // fetch2(path, api, method, params, headers, body, config): the endpoint a per-endpoint limit closes, and paces
  target.fetch2 = (...args: unknown[]) => {
    const endpoint = `${String(args[2])} ${String(args[1])} ${String(args[0])}`;
    if (!limiter) {
      return gate.send(() => {
        // a create's budget bounds its wait in ccxt's throttle too: refused at once, unsent, when the requests queued
        // there before it hold it past the budget (assertStillAdmitted catches what this estimate misses)
        const deadline = budgetDeadline();
        const waitMs = deadline === undefined ? 0 : ccxtThrottleWaitMs(client);
        if (deadline !== undefined && gate.now() + waitMs > deadline) throw pacedPastBudget(waitMs);
        return original(...args);
      }, endpoint);
    }
    // ccxt's cost of the request, as its own limiter would have taken it
    const cost = client.calculateRateLimiterCost(
      (args[1] as string | undefined) ?? 'public',
      (args[2] as string | undefined) ?? 'GET',
      args[0] as string,
      (args[3] as Record<string, unknown> | undefined) ?? {},
      (args[6] as Record<string, unknown> | undefined) ?? {},
    );
    return gate.send(async () => {
      // a create's budget bounds its wait for its endpoint's window too: refused unsent when none has room in time
      const answered = await limiter.take(endpoint, cost, budgetDeadline()).catch((err: unknown) => {
        throw err instanceof WindowPastDeadline ? pacedPastBudget(err.waitMs) : err;
      });
      try {
        return await original(...args);
      } finally {
        // counted until a window after its answer: the exchange counted it on arrival, before that
        answered();
      }
    }, endpoint);
  };
  const send = target.fetch.bind(client) as Fetch;
  target.fetch = (...args: unknown[]) => {
    assertStillAdmitted();
    return send(...args);
  };
}

/**
 * How long ccxt's throttle holds a request sent now (throttle-wait.ts), read from its leaky bucket: 0 when it does not
 * throttle or its internals are not the ones this was written against (ccxt 4's Throttler: `config.tokens`,
 * `config.refillRate`, `queue` from `queueHead`).
 */
function ccxtThrottleWaitMs(client: CcxtClient): number {
  const { enableRateLimit, throttler } = client as unknown as {
    enableRateLimit?: boolean;
    throttler?: {
      config?: { tokens?: unknown; refillRate?: unknown; algorithm?: unknown };
      queue?: unknown;
      queueHead?: unknown;
    };
  };
  const config = throttler?.config;
  if (
    !enableRateLimit ||
    !config ||
    (config.algorithm !== undefined && config.algorithm !== 'leakyBucket') ||
    typeof config.tokens !== 'number' ||
    typeof config.refillRate !== 'number' ||
    !Array.isArray(throttler.queue)
  )
    return 0;
  const head = typeof throttler.queueHead === 'number' ? throttler.queueHead : 0;
  const queued = (throttler.queue as Array<{ cost?: unknown } | undefined>)
    .slice(head)
    .map((entry) => (typeof entry?.cost === 'number' ? entry.cost : 0));
  return throttleWaitMs({ tokens: config.tokens, refillRate: config.refillRate, queued });
}

/**
 * What a refused key asks of the operator: the settings that hold it, and what on the exchange's side refuses a key
 * that is right in .env (the IP allow-list, the permissions).
 */
export function keyRefusedText(exchangeId: string, withPassword: boolean): string {
  const settings = withPassword
    ? 'EXCHANGE_API_KEY, EXCHANGE_SECRET and EXCHANGE_PASSWORD'
    : 'EXCHANGE_API_KEY and EXCHANGE_SECRET';
  return `${exchangeId} refuses the API key: check ${settings} in .env, the key's IP allow-list (this host's address) and its spot trading permission, then restart`;
}

/**
 * A refusal that is the account's, its region's or the symbol's, not the API key's (pure): `<exchange> refuses the
 * account's requests (code <code>, not the API key): <reason>`, from the profile's `accountRefusals`; undefined for
 * any other code.
 */
export function accountRefusedText(
  exchangeId: string,
  code: string | undefined,
  reasons: Readonly<Record<string, string>> | undefined,
): string | undefined {
  const reason = code !== undefined && reasons && Object.hasOwn(reasons, code) ? reasons[code] : undefined;
  if (reason === undefined) return undefined;
  return `${exchangeId} refuses the account's requests (code ${code}, not the API key): ${reason}`;
}

/** ccxt's classes for a refused key (matched by name: the per-exchange and full builds have their own copies). */
const KEY_REFUSAL_CLASSES: ReadonlySet<string> = new Set(['AuthenticationError', 'PermissionDenied']);

/** ccxt's classes of an HTTP 401 that is not the key's: the host clock (OKX 50102 "Timestamp request expired"). */
const NOT_THE_KEY_401: ReadonlySet<string> = new Set(['InvalidNonce']);

/** What the gate reads from a ccxt error: its class, and what recordHttpStatus put on it. */
function refusalOf(err: unknown, now: number): Refusal | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as {
    name?: string;
    httpStatus?: number;
    exchangeCode?: string;
    responseHeaders?: Record<string, string>;
  };
  return {
    name: e.name,
    httpStatus: e.httpStatus,
    exchangeCode: e.exchangeCode,
    retryAfterMs: retryAfterFrom(e.responseHeaders, now),
  };
}

/**
 * Puts the HTTP status on every error ccxt throws from an answer (`httpStatus`), and the exchange's own error code
 * when the profile names the field that holds it (`exchangeCode`), so a failed create can be told apart: Binance
 * answers refusals with 4xx and its "execution status unknown" failures with 5xx, Bybit answers both with HTTP 200
 * and a retCode, and ccxt may give both the same class.
 */
function recordHttpStatus(client: CcxtClient, codeField?: string): void {
  type Handler = (status: number, ...rest: unknown[]) => unknown;
  const target = client as unknown as { handleErrors: Handler; handleHttpStatusCode: Handler };
  // ccxt calls handleErrors(…, headers, …) then, in the same synchronous step, handleHttpStatusCode (no headers):
  // the headers of the answer being handled are kept for that step, never read later from the client's shared
  // last_response_headers (with reads in parallel, another answer may have replaced them: a 429's Retry-After lost)
  let handling: Record<string, string> | undefined;
  for (const name of ['handleErrors', 'handleHttpStatusCode'] as const) {
    const original = target[name].bind(client) as Handler;
    target[name] = (status: number, ...rest: unknown[]) => {
      // handleErrors(status, reason, url, method, headers, body, response, …)
      if (name === 'handleErrors') handling = rest[3] as Record<string, string> | undefined;
      try {
        return original(status, ...rest);
      } catch (err) {
        if (err && typeof err === 'object') {
          const recorded = err as { httpStatus?: number; exchangeCode?: string; responseHeaders?: unknown };
          recorded.httpStatus = status;
          recorded.responseHeaders = handling;
          // handleErrors(status, reason, url, method, headers, body, response, …): the parsed answer is 6th of rest
          const answer = name === 'handleErrors' ? rest[5] : undefined;
          const code =
            codeField && answer && typeof answer === 'object'
              ? (answer as Record<string, unknown>)[codeField]
              : undefined;
          if (typeof code === 'string' || typeof code === 'number') recorded.exchangeCode = String(code);
        }
        throw err;
      }
    };
  }
}

/**
 * Adds the exchange's deadline header to every create (OKX `expTime`): the signing time (ccxt's nonce, the same
 * clock as the signed timestamp) plus the window. The exchange drops a create that reaches it later, which is what
 * lets the unknown-order rule wait only that window after the send.
 */
function sendCreateDeadline(
  client: CcxtClient,
  deadline: { header: string; path: string },
  windowMs: number,
): void {
  type Signed = { url: string; method: string; body?: unknown; headers?: Record<string, string> };
  type Sign = (path: string, api: unknown, method: string, ...rest: unknown[]) => Signed;
  const target = client as unknown as { sign: Sign; nonce: () => number };
  const original = target.sign.bind(client) as Sign;
  target.sign = (path, api, method, ...rest) => {
    const signed = original(path, api, method, ...rest);
    if (path !== deadline.path || method !== 'POST') return signed;
    return {
      ...signed,
      headers: { ...signed.headers, [deadline.header]: String(target.nonce() + windowMs) },
    };
  };
}

/**
 * The order's fees as its answer says them (ccxt's `fees`, one per coin, else its `fee`): only entries with a coin and
 * a finite cost; none → undefined (the answer does not say: Binance's order read, an answer of before any fill).
 */
function feesOf(o: CcxtOrder): FeePaid[] | undefined {
  // ccxt's safeOrder sets `fees` (one per coin) beside `fee`; its Order type declares only `fee`
  const all = (o as CcxtOrder & { fees?: CcxtOrder['fee'][] }).fees;
  const listed = Array.isArray(all) && all.length > 0 ? all : o.fee ? [o.fee] : [];
  const fees: FeePaid[] = [];
  for (const f of listed) {
    const cost = num(f?.cost);
    if (cost !== undefined && typeof f?.currency === 'string' && f.currency !== '')
      fees.push({ cost, currency: f.currency });
  }
  return fees.length > 0 ? fees : undefined;
}

function num(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * An order the exchange calls done ("closed") whose answer shows it filled less than its amount was cancelled after
 * a partial fill: ccxt maps Bybit's spot `PartiallyFilledCanceled` to closed. Taken as filled, the order's record
 * would say filled when the rest of it was cancelled. An answer without a filled amount is left as it is.
 */
function finishedShort(
  status: ExchangeOrderStatus,
  amount: number,
  filled: number | undefined,
): ExchangeOrderStatus {
  if (status !== 'closed' || filled === undefined || !(amount > 0)) return status;
  return filled < amount - amount * 1e-9 ? 'canceled' : status;
}

function toStatus(status: string | undefined, fallback?: ExchangeOrderStatus): ExchangeOrderStatus {
  if (
    status === 'open' ||
    status === 'closed' ||
    status === 'canceled' ||
    status === 'rejected' ||
    status === 'expired'
  ) {
    return status;
  }
  if (status === 'cancelled') return 'canceled';
  return fallback ?? 'open';
}

/** Retry-After as seconds or an HTTP date (counted from `now`) → milliseconds. */
export function retryAfterFrom(headers: Record<string, string> | undefined, now: number): number | undefined {
  const raw = headers?.['Retry-After'] ?? headers?.['retry-after'];
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/** Replaces scheme://host[:port] of every URL in ccxt's `urls.api` (a string or nested object of strings). */
export function rebaseUrls(api: unknown, base: string): unknown {
  const root = base.replace(/\/+$/, '');
  if (typeof api === 'string') return api.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]+/i, root);
  if (api && typeof api === 'object') {
    return Object.fromEntries(Object.entries(api).map(([k, v]) => [k, rebaseUrls(v, base)]));
  }
  return api;
}

/**
 * Whether the market's raw filters (Binance `info.filters`) say its minimum order value does not apply to MARKET
 * orders: NOTIONAL `applyMinToMarket` false, or the older MIN_NOTIONAL `applyToMarket` false.
 */
function minNotionalSkipsMarket(info: unknown): boolean {
  const filters = (info as { filters?: unknown } | undefined)?.filters;
  if (!Array.isArray(filters)) return false;
  const off = (v: unknown): boolean => v === false || v === 'false';
  return filters.some((f: Record<string, unknown> | null) => {
    if (f?.filterType === 'NOTIONAL') return off(f.applyMinToMarket);
    if (f?.filterType === 'MIN_NOTIONAL') return off(f.applyToMarket);
    return false;
  });
}

/** Where markFormingCandles marks a parsed candle row the exchange says is still forming (past ccxt's six). */
const FORMING = 6;

/**
 * ccxt parses a candle row into six numbers and drops the exchange's own word on whether it is finished (OKX
 * `confirm`): each parsed row of one still forming is marked at `FORMING`, and fetchCandles leaves it out.
 */
function markFormingCandles(client: CcxtClient, rule: { index: number; value: string }): void {
  type Parse = (ohlcv: unknown, market?: unknown) => unknown[];
  const target = client as unknown as { parseOHLCV: Parse };
  const parse = target.parseOHLCV.bind(client) as Parse;
  target.parseOHLCV = (ohlcv, market) => {
    const row = parse(ohlcv, market);
    return Array.isArray(ohlcv) && String(ohlcv[rule.index]) === rule.value
      ? [...row.slice(0, FORMING), true]
      : row;
  };
}

/** The profile's reading of an order answer's self-trade prevention end, as an ExchangeOrder field (or none). */
function selfTradeOf(
  read: ((info: Record<string, unknown>) => string | undefined) | undefined,
  info: unknown,
): { selfTrade?: string } {
  if (!read || typeof info !== 'object' || info === null) return {};
  const words = read(info as Record<string, unknown>);
  return words === undefined ? {} : { selfTrade: words };
}
