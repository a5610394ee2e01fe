/**
 * A local Binance spot REST API for real ccxt (`binance`), built from Binance's public spot API documentation
 * (rest-api.md, errors.md, filters.md of github.com/binance/binance-spot-api-docs) — not from what our engine
 * expects. What it does as Binance does:
 *
 * - signed endpoints check X-MBX-APIKEY (-2015, 401), the HMAC signature (-1022) and `timestamp` against
 *   `recvWindow` (default 5000 ms; -1021 when outside);
 * - POST /api/v3/order answers ACK, RESULT or FULL (`newOrderRespType`; MARKET and LIMIT default to FULL). FULL
 *   `fills` carry price, qty, commission, commissionAsset and tradeId — no side, no time;
 * - `newClientOrderId` is "a unique id among open orders": a duplicate is refused (-2010 "Duplicate order sent.")
 *   only while the first order is open — a second create of a filled order's id is accepted as a new order;
 * - filters: LOT_SIZE (step, minimum, and maxQty for every order: `lotMaxQty`), PRICE_FILTER (tick),
 *   MARKET_LOT_SIZE (a MARKET order's own maximum, minimum and step: `marketMaxQty`, `marketMinQty`,
 *   `marketStepSize`, 0 for none), NOTIONAL (minNotional ≤ price × quantity
 *   ≤ maxNotional, `maxNotional`; a MARKET order is valued at the average price over `avgPriceMins` —
 *   `pinAveragePrice`, else the last price — and checked against the minimum only when `applyMinToMarket`, against
 *   the maximum only when `applyMaxToMarket`), PERCENT_PRICE_BY_SIDE on demand (`percentPriceBySide`: a LIMIT
 *   order's price against the average price; a MARKET order has none) (-1013 "Filter failure: …"); balance (-2010
 *   "Account has insufficient balance for requested action.");
 * - resting LIMIT orders match when the price crosses them, in `limitFillSlices` partial fills;
 * - commission: by default in the asset received (base on a buy, quote on a sell), or in the quote, or in BNB
 *   (`feeAsset`, with the 25 % BNB discount when the account holds enough BNB);
 * - GET /api/v3/order (-2013 "Order does not exist."), openOrders, allOrders (most recent, `limit` ≤ 1000),
 *   myTrades (`orderId`, `startTime`, `endTime`, `fromId`, `limit`; at most 24 h between startTime and endTime,
 *   -1127 beyond; a lone startTime reads the 24 h after it, a lone endTime the 24 h before — the docs do not say how
 *   far a lone one reads, the double takes the narrower reading; other combinations -1128), DELETE order (-2011 "Unknown order sent."; the answer's
 *   clientOrderId is the cancel's own id, origClientOrderId the order's), account, exchangeInfo, klines, tickers;
 * - GET /sapi/v1/account/apiRestrictions (the key's permissions, weight 1, `setKeyLimits`); without the spot
 *   trading permission, or after its `tradingAuthorityExpirationTime`, order and cancel are refused -2015 (401);
 * - request weight per minute with X-MBX-USED-WEIGHT-1M and 429 -1003 + Retry-After over the limit;
 * - the unfilled order count limit (per account, only new orders) on demand: the `order-count` fault, 429 -1015
 *   "Too many new orders" without Retry-After (rest-api/limits: "you will receive a 429 error without the
 *   Retry-After header");
 * - a rate-limit outage on demand (`refuseAll`): every request answered 429, or 418 (the IP ban Binance gives for
 *   requests after a 429), with Retry-After, until cleared.
 *
 * And the behaviours that hurt, on demand: `lookupLagMs` (every read — order query, open orders, all orders,
 * trades — does not know an order younger than this: -2013 for an order the matching engine took; a cancel, answered
 * by the matching engine ("Data Source: Matching Engine"), knows every order it took),
 * `balanceLagMs` (GET /api/v3/account answers the balances as they stood that long ago: its data source is "Memory =>
 * Database" like the order query's, so it can lag a fill as a lookup lags the order), and
 * `setTickerAge` (ticker/24hr's `closeTime` that far in the past, or absent: a stale price), `expireNextInMatch`
 * (self-trade prevention expires the next marketable order: EXPIRED_IN_MATCH), and
 * one-shot faults through `faults.next(match, fault)`, `match` being a route name (`createOrder`, `fetchOrder`,
 * `cancelOrder`, `openOrders`, `allOrders`, `account`, `myTrades`, `ticker`, `klines`, `exchangeInfo`, `time`), a
 * path, `METHOD path`, or `*`.
 */
import { createHmac } from 'node:crypto';
import type http from 'node:http';
import { ERRORS } from './answers/binance';
import {
  ExchangeApiError,
  FakeExchangeServer,
  onGrid,
  round8,
  type Answer,
  type ExchangeRequest,
  type FakeExchangeOptions,
  type LoggedRequest,
  type TransportFault,
} from './fake-exchange-server';
import type { LocalFault, LocalRoute, LocalTrade } from './local-exchange';

/** GET /api/v3/myTrades: the longest span between startTime and endTime (-1127 beyond). */
const MY_TRADES_SPAN_MS = 24 * 60 * 60 * 1000;

/** Binance's own faults; the transport ones (timeout, delay, reset, lose-response, taken-then-hang) are shared. */
type BinanceOwnFault =
  /** Answer with this HTTP status and body (Binance's -1001 body by default), without doing the work. */
  | { kind: 'status'; status: number; body?: unknown; retryAfterSec?: number }
  /** 429 -1003 with Retry-After. */
  | { kind: 'rate-limit'; retryAfterSec: number }
  /** 429 -1015: the account's unfilled order count is over its limit; documented without Retry-After. */
  | { kind: 'order-count' }
  /**
   * HTTP 403: "used when the WAF Limit (Web Application Firewall) has been violated" (rest-api.md, HTTP Return
   * Codes). The firewall answers before the API does: no `{code, msg}` body (its page, here a plain text), no
   * Retry-After. Nothing is done.
   */
  | { kind: 'waf-limit' }
  /** Do the work, then answer this status and body (e.g. 503 with -1007 "execution status unknown"). */
  | { kind: 'taken-then-status'; status: number; body: unknown };

export type FakeFault = TransportFault | BinanceOwnFault;

/** Binance's -1007 answer: the order may or may not have been placed. */
export const BINANCE_TIMEOUT_BODY = {
  code: -1007,
  msg: 'Timeout waiting for response from backend server. Send status unknown; execution status unknown.',
};

type OrderStatus = 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'EXPIRED' | 'EXPIRED_IN_MATCH';

export interface FakeOrder {
  symbol: string;
  orderId: number;
  orderListId: number;
  clientOrderId: string;
  price: string;
  origQty: string;
  executedQty: string;
  cummulativeQuoteQty: string;
  status: OrderStatus;
  timeInForce: string;
  type: 'MARKET' | 'LIMIT';
  side: 'BUY' | 'SELL';
  stopPrice: string;
  icebergQty: string;
  time: number;
  updateTime: number;
  isWorking: boolean;
  workingTime: number;
  origQuoteOrderQty: string;
  selfTradePreventionMode: string;
  /** Set when self-trade prevention expired the order (status EXPIRED_IN_MATCH). */
  preventedMatchId?: number;
  preventedQuantity?: string;
}

export interface FakeTrade {
  symbol: string;
  id: number;
  orderId: number;
  orderListId: number;
  price: string;
  qty: string;
  quoteQty: string;
  commission: string;
  commissionAsset: string;
  time: number;
  isBuyer: boolean;
  isMaker: boolean;
  isBestMatch: boolean;
}

export interface FakeBinanceOptions extends FakeExchangeOptions {
  /** Markets listed, ccxt symbols; default BTC/USDT and ETH/USDT (BNB/USDT is added when fees are in BNB). */
  symbols?: string[];
  /** Asset the commission is taken in: the asset received (Binance's default), the quote, or BNB. */
  feeAsset?: 'received' | 'quote' | 'BNB';
  /** Request weight allowed per minute (default 6000, Binance's REQUEST_WEIGHT limit). */
  weightPerMinute?: number;
  /**
   * Markets exchangeInfo lists besides `symbols`, generated (`G<n>/<quote>`), listed only — nothing trades on them
   * (default 0). A real Binance lists ~3,400: with ~3,000 a markets load costs what it costs there.
   */
  listedMarkets?: number;
  /** LOT_SIZE maxQty: the largest order of any type (default 9000). */
  lotMaxQty?: number;
  /** MARKET_LOT_SIZE maxQty: the largest MARKET order (default 9000, as LOT_SIZE). */
  marketMaxQty?: number;
  /**
   * MARKET_LOT_SIZE minQty and stepSize: a MARKET order's own minimum and step, besides LOT_SIZE's (default 0 both,
   * as Binance lists them on the spot symbols seen today: no rule). filters.md: "quantity >= minQty", "quantity %
   * stepSize == 0".
   */
  marketMinQty?: number;
  marketStepSize?: number;
  /** NOTIONAL maxNotional: the largest order value (default 9,000,000). */
  maxNotional?: number;
  /** NOTIONAL applyMaxToMarket: whether maxNotional applies to MARKET orders (default false, as on most markets). */
  applyMaxToMarket?: boolean;
  /** NOTIONAL applyMinToMarket: whether minNotional applies to MARKET orders (default true). */
  applyMinToMarket?: boolean;
  /**
   * PERCENT_PRICE_BY_SIDE (filters.md): listed, and applied to an order's `price` against the average price
   * (`pinAveragePrice`, else the last) — a SELL passes when `price` >= average × askMultiplierDown and `price` <=
   * average × askMultiplierUp, a BUY on the bid multipliers; -1013 "Filter failure: PERCENT_PRICE_BY_SIDE" otherwise.
   * A MARKET order has no `price`: not judged. None by default.
   */
  percentPriceBySide?: PercentPriceBySide;
}

/** PERCENT_PRICE_BY_SIDE's multipliers (filters.md). */
export interface PercentPriceBySide {
  bidMultiplierUp: number;
  bidMultiplierDown: number;
  askMultiplierUp: number;
  askMultiplierDown: number;
  avgPriceMins: number;
}

/** The generated markets' quotes, in turn. */
const LISTED_QUOTES = ['USDT', 'BTC', 'FDUSD', 'ETH', 'TRY', 'EUR'];

interface Route {
  name: string;
  private: boolean;
  weight: (params: URLSearchParams) => number;
  handle: (params: URLSearchParams) => { status?: number; body: unknown };
}

/** Routes that need the key's spot trading permission (refused -2015 without it, or after its end). */
const TRADE_ROUTES: ReadonlySet<string> = new Set(['createOrder', 'cancelOrder']);

/** Binance's error answer, HTTP 400 unless the route says otherwise. */
class BinanceError extends ExchangeApiError<number> {
  constructor(code: number, message: string, status = 400) {
    super(code, message, status);
  }
}

/** Binance's route for each kind of request (the names `faults.next` matches). */
const ROUTES: Record<LocalRoute, string> = {
  createOrder: 'createOrder',
  fetchOrder: 'fetchOrder',
  cancelOrder: 'cancelOrder',
  openOrders: 'openOrders',
  recentOrders: 'allOrders',
  trades: 'myTrades',
  balance: 'account',
  ticker: 'ticker',
  candles: 'klines',
  markets: 'exchangeInfo',
  time: 'time',
};

/** Binance's documented answer for each semantic fault. */
function binanceFault(fault: LocalFault): FakeFault {
  switch (fault.kind) {
    case 'refuse':
      switch (fault.reason) {
        case 'notional':
          return { kind: 'status', status: 400, body: ERRORS.notional };
        case 'lot-size':
          return { kind: 'status', status: 400, body: ERRORS.lotSize };
        case 'insufficient-balance':
          return { kind: 'status', status: 400, body: ERRORS.insufficientBalance };
        case 'duplicate':
          return { kind: 'status', status: 400, body: ERRORS.duplicate };
        case 'auth':
          return { kind: 'status', status: 401, body: ERRORS.badKey };
        case 'rate-limit':
          return { kind: 'rate-limit', retryAfterSec: 1 };
      }
      break;
    case 'server-error':
      return { kind: 'status', status: 503, body: ERRORS.internal };
    case 'taken-then-unknown':
      return { kind: 'taken-then-status', status: 503, body: BINANCE_TIMEOUT_BODY };
    case 'taken-then-refuse':
      return { kind: 'taken-then-status', status: 400, body: ERRORS.insufficientBalance };
    case 'not-found':
      return { kind: 'status', status: 400, body: { code: -2013, msg: 'Order does not exist.' } };
    default:
      return fault;
  }
}

export class FakeBinance extends FakeExchangeServer<BinanceOwnFault, FakeBinanceOptions> {
  /** Every order ever accepted, in order. */
  readonly orders: FakeOrder[] = [];
  /** Every trade of the account, as Binance's trade list has them. */
  readonly tradeLog: FakeTrade[] = [];
  /** Leave `tradeId` out of FULL answers' fills, as some exchanges do (the trades endpoint still has ids). */
  omitFillTradeIds = false;
  /**
   * Added to the `time` of the trades made from now on: a negative shift stamps a later trade before the earlier
   * ones (trade times that go back — a matching engine's clock stepped back), while trade ids keep counting up.
   */
  tradeTimeShiftMs = 0;
  private weightWindow = { minute: 0, used: 0 };
  private nextOrderId = 1000;
  private nextTradeId = 5000;
  private readonly routes: Record<string, Route>;
  private readonly averagePrices = new Map<string, number>();
  /** Symbols whose next marketable order self-trade prevention expires (expireNextInMatch), with the mode. */
  private readonly selfTrades = new Map<string, string>();
  /** What ticker/24hr dates each symbol's statistics (setTickerAge): their age, or no closeTime at all. */
  private readonly tickerAges = new Map<string, number | 'missing'>();

  /** The listed-only markets' exchangeInfo entries (built once). */
  private readonly listed: unknown[];

  private constructor(options: FakeBinanceOptions) {
    // the spot docs (faqs/commission_faq.md) give maker and taker rates, and no rebate: commission is paid
    if ((options.makerFeeRate ?? 0) < 0)
      throw new Error('Binance spot documents no maker rebate (makerFeeRate < 0)');
    const symbols = options.symbols ?? ['BTC/USDT', 'ETH/USDT'];
    if (options.feeAsset === 'BNB' && !symbols.includes('BNB/USDT')) symbols.push('BNB/USDT');
    super({ ...options, symbols }, ROUTES);
    this.routes = this.buildRoutes();
    this.listed = Array.from({ length: options.listedMarkets ?? 0 }, (_, i) =>
      this.symbolInfo(`G${i.toString(36).toUpperCase()}/${LISTED_QUOTES[i % LISTED_QUOTES.length]}`),
    );
  }

  static start(options: FakeBinanceOptions = {}): Promise<FakeBinance> {
    return FakeExchangeServer.listening(new FakeBinance(options));
  }

  /** Binance changes a filter (its exchangeInfo lists the new MARKET_LOT_SIZE maxQty from now on, and applies it). */
  setMarketMaxQty(qty: number): void {
    this.options.marketMaxQty = qty;
  }

  /** Binance changes MARKET_LOT_SIZE minQty and stepSize (listed from now on, and applied; 0: none). */
  setMarketLot(lot: { minQty: number; stepSize: number }): void {
    this.options.marketMinQty = lot.minQty;
    this.options.marketStepSize = lot.stepSize;
  }

  /** Binance lists (and applies) PERCENT_PRICE_BY_SIDE from now on; undefined: none. */
  setPercentPriceBySide(filter: PercentPriceBySide | undefined): void {
    this.options.percentPriceBySide = filter;
  }

  /** Whether PERCENT_PRICE_BY_SIDE refuses an order priced `price` on `side` (a LIMIT order; none listed: no). */
  private outsidePercentPriceBySide(symbol: string, side: 'BUY' | 'SELL', price: number): boolean {
    const f = this.options.percentPriceBySide;
    if (!f) return false;
    const avg = this.averagePrice(symbol);
    const [up, down] =
      side === 'BUY' ? [f.bidMultiplierUp, f.bidMultiplierDown] : [f.askMultiplierUp, f.askMultiplierDown];
    return price > avg * up + 1e-9 || price < avg * down - 1e-9;
  }

  /** The average price over `avgPriceMins` of `symbol` (what NOTIONAL values a MARKET order at); default the last. */
  pinAveragePrice(symbol: string, price: number): void {
    this.averagePrices.set(symbol, price);
  }

  /** Whether NOTIONAL refuses a MARKET order of `qty`: only with applyMinToMarket, at the average price. */
  private appliesMinToMarket(qty: number, symbol: string, minNotional: number): boolean {
    if (!(this.options.applyMinToMarket ?? true)) return false;
    return qty * this.averagePrice(symbol) < minNotional;
  }

  /** Whether MARKET_LOT_SIZE refuses a MARKET order of `qty`: above maxQty, below minQty, off stepSize (0: none). */
  private outsideMarketLot(qty: number): boolean {
    const { marketMinQty = 0, marketStepSize = 0, marketMaxQty = 9000 } = this.options;
    return qty > marketMaxQty || qty < marketMinQty || (marketStepSize > 0 && !onGrid(qty, marketStepSize));
  }

  /** What NOTIONAL values a MARKET order at: the pinned average price, else the last price. */
  private averagePrice(symbol: string): number {
    return this.averagePrices.get(symbol) ?? this.ticker(symbol).last;
  }

  /**
   * The next marketable order on `symbol` meets a resting order of the same account and self-trade prevention
   * expires it as the taker (`mode` EXPIRE_TAKER or EXPIRE_BOTH; Binance's STP docs): status EXPIRED_IN_MATCH,
   * nothing filled, `preventedMatchId` / `preventedQuantity` on the order and `preventedMatches` in a FULL answer.
   */
  expireNextInMatch(symbol: string, mode: 'EXPIRE_TAKER' | 'EXPIRE_BOTH' = 'EXPIRE_TAKER'): void {
    this.selfTrades.set(symbol, mode);
  }

  /**
   * GET /api/v3/ticker/24hr dates `symbol`'s statistics `ageMs` in the past (`closeTime`: a halted or illiquid
   * market, a cached answer at the edge), or leaves `closeTime` out (`'missing'`); `undefined` back to now.
   */
  setTickerAge(symbol: string, ageMs: number | 'missing' | undefined): void {
    if (ageMs === undefined) this.tickerAges.delete(symbol);
    else this.tickerAges.set(symbol, ageMs);
  }

  /** Orders with this clientOrderId (a correct client never has more than one). */
  ordersByClientId(clientOrderId: string): FakeOrder[] {
    return this.orders.filter((o) => o.clientOrderId === clientOrderId);
  }

  // --- LocalExchange ---------------------------------------------------------------------------------------------

  orderClientIds(): string[] {
    return this.orders.map((o) => o.clientOrderId);
  }

  trades(symbol?: string): LocalTrade[] {
    return this.tradeLog
      .filter((t) => !symbol || t.symbol === symbol.replace('/', ''))
      .map((t) => ({
        symbol: this.symbolOfId(t.symbol),
        side: t.isBuyer ? ('buy' as const) : ('sell' as const),
        qty: Number(t.qty),
        price: Number(t.price),
        quoteQty: Number(t.quoteQty),
        fee: Number(t.commission),
        feeAsset: t.commissionAsset,
        time: t.time,
      }));
  }

  protected documentedFault(fault: LocalFault): FakeFault {
    return binanceFault(fault);
  }

  protected symbolParams(symbol: string): Record<string, string> {
    return { symbol: symbol.replace('/', '') };
  }

  /**
   * While set, every request is refused for rate (nothing is done): 429 -1003, or 418 -1003 "IP banned until …",
   * with this Retry-After. Counted in `requests` like any other.
   */
  refuseAll?: { status: 429 | 418; retryAfterSec: number };

  // --- HTTP ------------------------------------------------------------------------------------------------------

  protected override refuseEarly(): Answer | undefined {
    const refuse = this.refuseAll;
    if (!refuse) return undefined;
    const msg =
      refuse.status === 418
        ? `Way too much request weight used; IP banned until ${this.now() + refuse.retryAfterSec * 1000}. Please use WebSocket Streams for live updates to avoid bans.`
        : 'Too much request weight used; current limit is 6000 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid bans.';
    return {
      status: refuse.status,
      body: { code: -1003, msg },
      headers: { 'Retry-After': String(refuse.retryAfterSec) },
    };
  }

  protected readRequest(
    req: http.IncomingMessage,
    url: URL,
    rawBody: string,
  ): { route?: string; params: URLSearchParams; log: Partial<LoggedRequest> } {
    const route = this.routes[`${req.method ?? 'GET'} ${url.pathname}`]?.name;
    const params = new URLSearchParams(url.search.slice(1));
    for (const [k, v] of new URLSearchParams(rawBody)) params.set(k, v);
    const clientOrderId = route === 'createOrder' ? (params.get('newClientOrderId') ?? undefined) : undefined;
    return { route, params, log: { clientOrderId } };
  }

  protected answerInstead(fault: BinanceOwnFault): Answer | undefined {
    if (fault.kind === 'waf-limit') return { status: 403, text: '403 Forbidden' };
    if (fault.kind === 'order-count') {
      return {
        status: 429,
        body: { code: -1015, msg: 'Too many new orders; current limit is 100 orders per 10 SECOND.' },
      };
    }
    if (fault.kind === 'rate-limit') {
      return {
        status: 429,
        body: {
          code: -1003,
          msg: 'Too much request weight used; current limit is 6000 request weight per 1 MINUTE.',
        },
        headers: { 'Retry-After': String(fault.retryAfterSec) },
      };
    }
    if (fault.kind === 'status') {
      return {
        status: fault.status,
        body: fault.body ?? {
          code: -1001,
          msg: 'Internal error; unable to process your request. Please try again.',
        },
        headers: fault.retryAfterSec !== undefined ? { 'Retry-After': String(fault.retryAfterSec) } : {},
      };
    }
    return undefined;
  }

  protected answerAfterWork(fault: BinanceOwnFault): Answer | undefined {
    return fault.kind === 'taken-then-status' ? { status: fault.status, body: fault.body } : undefined;
  }

  protected dispatch({ req, method, url, rawBody, route: name, params }: ExchangeRequest): Answer {
    const route = name === undefined ? undefined : this.routes[`${method} ${url.pathname}`];
    if (!route)
      return { status: 404, body: { code: -1, msg: `fake binance: no route ${req.method} ${url.pathname}` } };
    const weight = this.chargeWeight(route.weight(params));
    const headers = { 'X-MBX-USED-WEIGHT-1M': String(weight.used) };
    if (weight.over) {
      return {
        status: 429,
        body: {
          code: -1003,
          msg: `Too much request weight used; current limit is ${this.weightLimit()} request weight per 1 MINUTE.`,
        },
        headers: { ...headers, 'Retry-After': String(weight.retryAfterSec) },
      };
    }
    try {
      if (route.private) this.authenticate(req, url, rawBody, params);
      if (TRADE_ROUTES.has(route.name) && !this.mayTrade())
        throw new BinanceError(-2015, 'Invalid API-key, IP, or permissions for action.', 401);
      this.matchRestingOrders();
      return { ...route.handle(params), headers };
    } catch (err) {
      if (err instanceof BinanceError) {
        return { status: err.status, body: { code: err.code, msg: err.message }, headers };
      }
      throw err;
    }
  }

  private authenticate(req: http.IncomingMessage, url: URL, rawBody: string, params: URLSearchParams): void {
    if (req.headers['x-mbx-apikey'] !== this.apiKey) {
      throw new BinanceError(-2015, 'Invalid API-key, IP, or permissions for action.', 401);
    }
    // the signature payload is the query string followed by the body
    const query = url.search.slice(1);
    const signed = query && rawBody ? `${query}${rawBody}` : query || rawBody;
    const match = /^(.*)&signature=([0-9a-f]+)$/.exec(signed);
    const expected = match ? createHmac('sha256', this.secret).update(match[1]).digest('hex') : undefined;
    if (!match || match[2] !== expected)
      throw new BinanceError(-1022, 'Signature for this request is not valid.');
    const timestamp = Number(params.get('timestamp'));
    const recvWindow = Number(params.get('recvWindow') ?? 5000);
    const serverTime = this.now();
    if (!(timestamp < serverTime + 1000)) {
      throw new BinanceError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.");
    }
    if (serverTime - timestamp > recvWindow) {
      throw new BinanceError(-1021, 'Timestamp for this request is outside of the recvWindow.');
    }
  }

  /** The key has its spot trading permission and it has not ended (tradingAuthorityExpirationTime). */
  private mayTrade(): boolean {
    return this.keyLimits.spotTrade && !this.keyExpired();
  }

  /**
   * GET /sapi/v1/account/apiRestrictions (wallet docs, "Get API Key Permission (USER_DATA)", weight(IP) 1): the
   * calling key's permissions; `tradingAuthorityExpirationTime` only when its spot trading permission ends.
   */
  private apiRestrictions(): Record<string, unknown> {
    const { spotTrade, withdraw, ipBound, expiresAt } = this.keyLimits;
    return {
      ipRestrict: ipBound,
      createTime: 1698645219000,
      enableInternalTransfer: false,
      enableFutures: false,
      enablePortfolioMarginTrading: false,
      enableVanillaOptions: false,
      permitsUniversalTransfer: false,
      enableReading: true,
      enableSpotAndMarginTrading: spotTrade,
      enableWithdrawals: withdraw,
      enableMargin: false,
      enableFixApiTrade: false,
      enableFixReadOnly: false,
      ...(typeof expiresAt === 'number' ? { tradingAuthorityExpirationTime: expiresAt } : {}),
    };
  }

  private weightLimit(): number {
    return this.options.weightPerMinute ?? 6000;
  }

  private chargeWeight(weight: number): { used: number; over: boolean; retryAfterSec: number } {
    const now = Date.now();
    const minute = Math.floor(now / 60_000);
    if (this.weightWindow.minute !== minute) this.weightWindow = { minute, used: 0 };
    this.weightWindow.used += weight;
    return {
      used: this.weightWindow.used,
      over: this.weightWindow.used > this.weightLimit(),
      retryAfterSec: Math.ceil(((minute + 1) * 60_000 - now) / 1000),
    };
  }

  // --- Binance endpoints -------------------------------------------------------------------------------------

  private buildRoutes(): Record<string, Route> {
    const r = (
      name: string,
      priv: boolean,
      weight: number | ((p: URLSearchParams) => number),
      handle: Route['handle'],
    ): Route => ({
      name,
      private: priv,
      weight: typeof weight === 'number' ? () => weight : weight,
      handle,
    });
    return {
      'GET /api/v3/ping': r('ping', false, 1, () => ({ body: {} })),
      'GET /api/v3/time': r('time', false, 1, () => ({ body: { serverTime: this.now() } })),
      'GET /api/v3/exchangeInfo': r('exchangeInfo', false, 20, (p) => ({ body: this.exchangeInfo(p) })),
      'GET /api/v3/ticker/24hr': r('ticker', false, 2, (p) => ({ body: this.ticker24h(this.symbolOf(p)) })),
      'GET /api/v3/ticker/price': r('ticker', false, 2, (p) => {
        const s = this.symbolOf(p);
        return { body: { symbol: s.replace('/', ''), price: String(this.ticker(s).last) } };
      }),
      'GET /api/v3/ticker/bookTicker': r('ticker', false, 2, (p) => {
        const s = this.symbolOf(p);
        const t = this.ticker(s);
        return {
          body: {
            symbol: s.replace('/', ''),
            bidPrice: String(t.bid),
            bidQty: '1',
            askPrice: String(t.ask),
            askQty: '1',
          },
        };
      }),
      'GET /api/v3/klines': r('klines', false, 2, (p) => {
        const limit = Math.min(Number(p.get('limit') ?? 500), 1000);
        const symbol = this.symbolOf(p);
        const candles = this.recentCandles(symbol, limit);
        const period = this.market.candleMs;
        return {
          body: candles.map(([t, o, h, l, c, v]) => [
            t,
            String(o),
            String(h),
            String(l),
            String(c),
            String(v),
            t + period - 1,
            String(v * c),
            10,
            '0',
            '0',
            '0',
          ]),
        };
      }),
      'POST /api/v3/order': r('createOrder', true, 1, (p) => this.createOrder(p)),
      'GET /api/v3/order': r('fetchOrder', true, 4, (p) => ({ body: this.lookUpOrder(p) })),
      'DELETE /api/v3/order': r('cancelOrder', true, 1, (p) => this.cancelOrder(p)),
      'GET /api/v3/openOrders': r(
        'openOrders',
        true,
        (p) => (p.get('symbol') ? 6 : 80),
        (p) => {
          const symbol = p.get('symbol');
          return {
            body: this.visibleOrders().filter(
              (o) =>
                (o.status === 'NEW' || o.status === 'PARTIALLY_FILLED') && (!symbol || o.symbol === symbol),
            ),
          };
        },
      ),
      'GET /api/v3/allOrders': r('allOrders', true, 20, (p) => {
        const symbol = this.symbolOf(p).replace('/', '');
        const limit = Math.min(Number(p.get('limit') ?? 500), 1000);
        const fromId = p.get('orderId');
        const start = p.get('startTime');
        let orders = this.visibleOrders().filter((o) => o.symbol === symbol);
        if (fromId) orders = orders.filter((o) => o.orderId >= Number(fromId)).slice(0, limit);
        else if (start) orders = orders.filter((o) => o.time >= Number(start)).slice(0, limit);
        else orders = orders.slice(-limit);
        return { body: orders };
      }),
      'GET /sapi/v1/account/apiRestrictions': r('apiRestrictions', true, 1, () => ({
        body: this.apiRestrictions(),
      })),
      'GET /api/v3/account': r('account', true, 20, () => ({
        body: {
          makerCommission: 10,
          takerCommission: 10,
          buyerCommission: 0,
          sellerCommission: 0,
          canTrade: this.mayTrade(),
          canWithdraw: this.keyLimits.withdraw,
          canDeposit: true,
          brokered: false,
          requireSelfTradePrevention: false,
          preventSor: false,
          updateTime: this.now(),
          accountType: 'SPOT',
          balances: Object.entries(this.accountBalances()).map(([asset, b]) => ({
            asset,
            free: fmt(b.free),
            locked: fmt(b.locked),
          })),
          permissions: ['SPOT'],
          uid: Number(this.options.accountUid ?? 354937868),
        },
      })),
      'GET /api/v3/myTrades': r(
        'myTrades',
        true,
        (p) => (p.get('orderId') ? 5 : 20),
        (p) => {
          const symbol = this.symbolOf(p).replace('/', '');
          const orderId = p.get('orderId');
          const fromId = p.get('fromId');
          const start = p.get('startTime');
          const end = p.get('endTime');
          const limit = Math.min(Number(p.get('limit') ?? 500), 1000);
          // the supported combinations: symbol, + orderId, + startTime, + endTime, + fromId, + startTime + endTime,
          // + orderId + fromId
          if ((orderId || fromId) && (start || end)) {
            throw new BinanceError(-1128, 'Combination of optional parameters invalid.');
          }
          // "The time between startTime and endTime can't be longer than 24 hours"; a lone start or end reads the
          // 24 h after or before it (the docs do not say how far a lone one reads: the narrower reading)
          const from = start ? Number(start) : end ? Number(end) - MY_TRADES_SPAN_MS : undefined;
          const to = end ? Number(end) : start ? Number(start) + MY_TRADES_SPAN_MS : undefined;
          if (from !== undefined && to! - from > MY_TRADES_SPAN_MS) {
            throw new BinanceError(-1127, 'More than 24 hours between startTime and endTime.');
          }
          const cutoff = this.now() - this.lookupLagMs;
          let trades = this.tradeLog.filter(
            (t) => t.symbol === symbol && t.time <= cutoff && (!orderId || String(t.orderId) === orderId),
          );
          if (fromId) trades = trades.filter((t) => t.id >= Number(fromId)).slice(0, limit);
          else if (from !== undefined)
            trades = trades.filter((t) => t.time >= from && t.time <= to!).slice(0, limit);
          else trades = trades.slice(-limit);
          return { body: trades };
        },
      ),
    };
  }

  /**
   * The whole list, or only the markets `symbol` (one id) or `symbols` (a JSON array of ids) name: "If any symbol
   * provided in either symbol or symbols do not exist, the endpoint will throw an error" — -1121 for the whole
   * request (a delisted market does not exist).
   */
  private exchangeInfo(p: URLSearchParams): unknown {
    const all = [...this.listedSymbols().map((symbol) => this.symbolInfo(symbol)), ...this.listed] as Array<{
      symbol: string;
    }>;
    const one = p.get('symbol');
    const many = p.get('symbols');
    let asked: string[] | undefined;
    if (one !== null) asked = [one];
    else if (many !== null) {
      try {
        asked = JSON.parse(many) as string[];
      } catch {
        throw new BinanceError(-1100, "Illegal characters found in parameter 'symbols'.");
      }
    }
    let symbols = all;
    if (asked) {
      const byId = new Map(all.map((info) => [info.symbol, info]));
      if (!asked.every((id) => byId.has(id))) throw new BinanceError(-1121, 'Invalid symbol.');
      symbols = asked.map((id) => byId.get(id)!);
    }
    return {
      timezone: 'UTC',
      serverTime: this.now(),
      rateLimits: [
        { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: this.weightLimit() },
        { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 100 },
        { rateLimitType: 'RAW_REQUESTS', interval: 'MINUTE', intervalNum: 5, limit: 61_000 },
      ],
      exchangeFilters: [],
      symbols,
    };
  }

  /** One symbol's exchangeInfo entry. */
  private symbolInfo(symbol: string): unknown {
    const m = this.marketInfo(symbol);
    return {
      symbol: symbol.replace('/', ''),
      // exchangeInfo's symbol status: PRE_TRADING, TRADING, POST_TRADING, END_OF_DAY, HALT, AUCTION_MATCH, BREAK
      status: this.haltedSymbols.has(symbol) ? 'BREAK' : 'TRADING',
      baseAsset: m.base,
      baseAssetPrecision: 8,
      quoteAsset: m.quote,
      quotePrecision: 8,
      quoteAssetPrecision: 8,
      baseCommissionPrecision: 8,
      quoteCommissionPrecision: 8,
      orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET', 'STOP_LOSS_LIMIT', 'TAKE_PROFIT_LIMIT'],
      icebergAllowed: true,
      ocoAllowed: true,
      otoAllowed: true,
      quoteOrderQtyMarketAllowed: true,
      allowTrailingStop: true,
      cancelReplaceAllowed: true,
      isSpotTradingAllowed: true,
      isMarginTradingAllowed: false,
      filters: [
        {
          filterType: 'PRICE_FILTER',
          minPrice: fmt(m.priceStep),
          maxPrice: '1000000.00000000',
          tickSize: fmt(m.priceStep),
        },
        {
          filterType: 'LOT_SIZE',
          minQty: fmt(m.minAmount),
          maxQty: fmt(this.options.lotMaxQty ?? 9000),
          stepSize: fmt(m.amountStep),
        },
        {
          filterType: 'MARKET_LOT_SIZE',
          minQty: fmt(this.options.marketMinQty ?? 0),
          maxQty: fmt(this.options.marketMaxQty ?? 9000),
          stepSize: fmt(this.options.marketStepSize ?? 0),
        },
        {
          filterType: 'NOTIONAL',
          minNotional: fmt(m.minNotional),
          applyMinToMarket: this.options.applyMinToMarket ?? true,
          maxNotional: fmt(this.options.maxNotional ?? 9_000_000),
          applyMaxToMarket: this.options.applyMaxToMarket ?? false,
          avgPriceMins: 5,
        },
        ...(this.options.percentPriceBySide
          ? [
              {
                filterType: 'PERCENT_PRICE_BY_SIDE',
                bidMultiplierUp: String(this.options.percentPriceBySide.bidMultiplierUp),
                bidMultiplierDown: String(this.options.percentPriceBySide.bidMultiplierDown),
                askMultiplierUp: String(this.options.percentPriceBySide.askMultiplierUp),
                askMultiplierDown: String(this.options.percentPriceBySide.askMultiplierDown),
                avgPriceMins: this.options.percentPriceBySide.avgPriceMins,
              },
            ]
          : []),
      ],
      permissions: [],
      permissionSets: [['SPOT']],
      defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
      allowedSelfTradePreventionModes: ['EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'],
    };
  }

  private ticker24h(symbol: string): unknown {
    const { now, t, open, high, low, volume } = this.daySummary(symbol);
    const age = this.tickerAges.get(symbol);
    const closeTime = age === 'missing' ? {} : { closeTime: now - (age ?? 0) };
    return {
      symbol: symbol.replace('/', ''),
      priceChange: String(t.last - open),
      priceChangePercent: String(((t.last - open) / open) * 100),
      weightedAvgPrice: String(t.last),
      prevClosePrice: String(open),
      lastPrice: String(t.last),
      lastQty: '0.1',
      bidPrice: String(t.bid),
      bidQty: '1',
      askPrice: String(t.ask),
      askQty: '1',
      openPrice: String(open),
      highPrice: String(high),
      lowPrice: String(low),
      volume: String(volume),
      quoteVolume: '0',
      openTime: now - 86_400_000,
      ...closeTime,
      firstId: 1,
      lastId: 2,
      count: 2,
    };
  }

  private symbolOf(p: URLSearchParams): string {
    const id = p.get('symbol') ?? '';
    const symbol = this.symbols.find((s) => s.replace('/', '') === id);
    if (!symbol) throw new BinanceError(-1121, 'Invalid symbol.');
    return symbol;
  }

  private symbolOfId(id: string): string {
    return this.symbols.find((s) => s.replace('/', '') === id)!;
  }

  /** Orders the reads know: not those younger than the lookup lag, nor those purged. */
  private visibleOrders(): FakeOrder[] {
    return this.known(this.orders, (o) => o.time).filter((o) => !this.purged.has(o.orderId));
  }

  /** Orders forgotten by every order read (`purge`), by orderId. */
  private readonly purged = new Set<number>();

  purge(clientOrderId: string): void {
    const order = this.orders.filter((o) => o.clientOrderId === clientOrderId).pop();
    if (!order) throw new Error(`no order ${clientOrderId} to purge`);
    if (isOpen(order)) {
      this.cancelOrder(new URLSearchParams({ symbol: order.symbol, orderId: String(order.orderId) }));
    }
    this.purged.add(order.orderId);
  }

  /**
   * GET /api/v3/order: -2013 "Order does not exist.", or for a purged order cancelled or expired without a fill,
   * -2026 ORDER_ARCHIVED (errors.md: "Order was canceled or expired with no executed qty over 90 days ago and has
   * been archived.").
   */
  private lookUpOrder(p: URLSearchParams): FakeOrder {
    const symbol = this.symbolOf(p).replace('/', '');
    const orderId = p.get('orderId');
    const client = p.get('origClientOrderId');
    const archived = this.orders.some(
      (o) =>
        this.purged.has(o.orderId) &&
        o.symbol === symbol &&
        (orderId ? String(o.orderId) === orderId : o.clientOrderId === client) &&
        Number(o.executedQty) === 0 &&
        o.status === 'CANCELED',
    );
    if (archived) {
      throw new BinanceError(
        -2026,
        'Order was canceled or expired with no executed qty over 90 days ago and has been archived.',
      );
    }
    return this.mustFindOrder(p, -2013);
  }

  /**
   * `engine`: the matching engine's view (a cancel: "Data Source: Matching Engine"), every order it took, lagging
   * reads or not; else the order reads' ("Memory => Database"), which `lookupLagMs` delays.
   */
  private mustFindOrder(p: URLSearchParams, code: number, engine = false): FakeOrder {
    const symbol = this.symbolOf(p).replace('/', '');
    const orderId = p.get('orderId');
    const client = p.get('origClientOrderId');
    if (!orderId && !client) {
      throw new BinanceError(
        -1102,
        "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
      );
    }
    // by clientOrderId: the most recent order with it (an id is unique among OPEN orders only)
    const candidates = (engine ? this.orders : this.visibleOrders()).filter(
      (o) => o.symbol === symbol && (orderId ? String(o.orderId) === orderId : o.clientOrderId === client),
    );
    const order = candidates[candidates.length - 1];
    if (!order)
      throw new BinanceError(code, code === -2011 ? 'Unknown order sent.' : 'Order does not exist.');
    return order;
  }

  private createOrder(p: URLSearchParams): { status?: number; body: unknown } {
    const symbol = this.symbolOf(p);
    const m = this.marketInfo(symbol);
    const side = p.get('side') as 'BUY' | 'SELL';
    const type = p.get('type') as 'MARKET' | 'LIMIT';
    const clientOrderId = p.get('newClientOrderId') ?? `web_${this.nextOrderId}`;
    if (!/^[.A-Z:/a-z0-9_-]{1,36}$/.test(clientOrderId)) {
      throw new BinanceError(
        -1100,
        "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.",
      );
    }
    // "A unique id among open orders": only an OPEN order with this id makes it a duplicate
    if (this.orders.some((o) => o.clientOrderId === clientOrderId && isOpen(o))) {
      throw new BinanceError(-2010, 'Duplicate order sent.');
    }
    const qty = Number(p.get('quantity'));
    if (!(qty >= m.minAmount) || !onGrid(qty, m.amountStep) || qty > (this.options.lotMaxQty ?? 9000))
      throw new BinanceError(-1013, 'Filter failure: LOT_SIZE');
    const limit = type === 'LIMIT' ? Number(p.get('price')) : undefined;
    if (limit !== undefined && (!(limit > 0) || !onGrid(limit, m.priceStep))) {
      throw new BinanceError(-1013, 'Filter failure: PRICE_FILTER');
    }
    if (limit !== undefined && this.outsidePercentPriceBySide(symbol, side, limit)) {
      throw new BinanceError(-1013, 'Filter failure: PERCENT_PRICE_BY_SIDE');
    }
    if (type === 'LIMIT' && !p.get('timeInForce')) {
      throw new BinanceError(
        -1102,
        "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.",
      );
    }
    if (type === 'MARKET' && this.outsideMarketLot(qty)) {
      throw new BinanceError(-1013, 'Filter failure: MARKET_LOT_SIZE');
    }
    const t = this.ticker(symbol);
    const refPrice = limit ?? (side === 'BUY' ? t.ask : t.bid);
    // NOTIONAL: a LIMIT order at its price; a MARKET one at the average price, and only with applyMinToMarket
    // (the minimum) or applyMaxToMarket (the maximum)
    if (
      limit !== undefined ? qty * limit < m.minNotional : this.appliesMinToMarket(qty, symbol, m.minNotional)
    ) {
      throw new BinanceError(-1013, 'Filter failure: NOTIONAL');
    }
    const maxNotional = this.options.maxNotional ?? 9_000_000;
    if (
      limit !== undefined
        ? qty * limit > maxNotional
        : (this.options.applyMaxToMarket ?? false) && qty * this.averagePrice(symbol) > maxNotional
    ) {
      throw new BinanceError(-1013, 'Filter failure: NOTIONAL');
    }
    const [base, quote] = symbol.split('/');
    const need = side === 'BUY' ? qty * refPrice : qty;
    if (this.wallet.free(side === 'BUY' ? quote : base) + 1e-12 < need) {
      throw new BinanceError(-2010, 'Account has insufficient balance for requested action.');
    }
    const now = this.now();
    const order: FakeOrder = {
      symbol: symbol.replace('/', ''),
      orderId: this.nextOrderId++,
      orderListId: -1,
      clientOrderId,
      price: limit !== undefined ? fmt(limit) : '0.00000000',
      origQty: fmt(qty),
      executedQty: '0.00000000',
      cummulativeQuoteQty: '0.00000000',
      status: 'NEW',
      timeInForce: type === 'LIMIT' ? p.get('timeInForce')! : 'GTC',
      type,
      side,
      stopPrice: '0.00000000',
      icebergQty: '0.00000000',
      time: now,
      updateTime: now,
      isWorking: true,
      workingTime: now,
      origQuoteOrderQty: '0.00000000',
      selfTradePreventionMode: 'EXPIRE_MAKER',
    };
    this.orders.push(order);
    const marketable = limit === undefined || (side === 'BUY' ? limit >= t.ask : limit <= t.bid);
    const fills: FakeTrade[] = [];
    const stpMode = marketable ? this.selfTrades.get(symbol) : undefined;
    if (stpMode !== undefined) {
      this.selfTrades.delete(symbol);
      Object.assign(order, {
        status: 'EXPIRED_IN_MATCH',
        isWorking: false,
        selfTradePreventionMode: stpMode,
        preventedMatchId: 0,
        preventedQuantity: order.origQty,
      });
    } else if (marketable) {
      this.walkBook(t, side === 'BUY', qty, m.amountStep, limit, (part, price) =>
        fills.push(this.fill(order, part, price, false)),
      );
      // ENUM "Order status" EXPIRED: "canceled according to the order type's rules (e.g. LIMIT FOK orders with no
      // fill, LIMIT IOC or MARKET orders that partially fill)"
      if (type === 'MARKET' && order.status !== 'FILLED')
        Object.assign(order, { status: 'EXPIRED', isWorking: false });
    } else {
      this.wallet.hold(symbol, side === 'BUY', qty, limit!);
    }
    const respType = p.get('newOrderRespType') ?? 'FULL';
    const ack = {
      symbol: order.symbol,
      orderId: order.orderId,
      orderListId: -1,
      clientOrderId,
      transactTime: now,
    };
    if (respType === 'ACK') return { body: ack };
    const result = {
      ...ack,
      price: order.price,
      origQty: order.origQty,
      executedQty: order.executedQty,
      origQuoteOrderQty: '0.000000',
      cummulativeQuoteQty: order.cummulativeQuoteQty,
      status: order.status,
      timeInForce: order.timeInForce,
      type,
      side,
      workingTime: now,
      selfTradePreventionMode: order.selfTradePreventionMode,
    };
    if (respType === 'RESULT') return { body: result };
    return {
      body: {
        ...result,
        fills: fills.map((f) => ({
          price: f.price,
          qty: f.qty,
          commission: f.commission,
          commissionAsset: f.commissionAsset,
          ...(this.omitFillTradeIds ? {} : { tradeId: f.id }),
        })),
        ...(stpMode !== undefined
          ? {
              preventedMatches: [
                {
                  preventedMatchId: 0,
                  takerOrderId: order.orderId,
                  makerSymbol: order.symbol,
                  makerOrderId: order.orderId - 1,
                  tradeGroupId: 1,
                  selfTradePreventionMode: stpMode,
                  price: fmt(refPrice),
                  takerPreventedQuantity: order.origQty,
                  transactTime: now,
                },
              ],
            }
          : {}),
      },
    };
  }

  private matchRestingOrders(): void {
    this.matchResting(
      this.orders.filter((o) => o.type === 'LIMIT' && isOpen(o)),
      (o) => ({
        id: o.orderId,
        symbol: this.symbolOfId(o.symbol),
        buy: o.side === 'BUY',
        price: Number(o.price),
        qty: Number(o.origQty),
        left: round8(Number(o.origQty) - Number(o.executedQty)),
      }),
      (o, qty, price) => this.fill(o, qty, price, true),
    );
  }

  private fill(order: FakeOrder, qty: number, price: number, isMaker: boolean): FakeTrade {
    const symbol = this.symbolOfId(order.symbol);
    const [base, quote] = symbol.split('/');
    const now = this.now();
    const cost = qty * price;
    const taker = this.options.feeRate ?? 0.001;
    const rate = isMaker ? (this.options.makerFeeRate ?? taker) : taker;
    const { commission, asset } = this.commission(order.side, base, quote, qty, cost, rate);
    this.wallet.settle(symbol, order.side === 'BUY', qty, cost, asset, commission);
    order.executedQty = fmt(Number(order.executedQty) + qty);
    order.cummulativeQuoteQty = fmt(Number(order.cummulativeQuoteQty) + cost);
    order.status = Number(order.executedQty) >= Number(order.origQty) - 1e-12 ? 'FILLED' : 'PARTIALLY_FILLED';
    order.updateTime = now;
    if (order.status === 'FILLED') order.isWorking = false;
    const trade: FakeTrade = {
      symbol: order.symbol,
      id: this.nextTradeId++,
      orderId: order.orderId,
      orderListId: -1,
      price: fmt(price),
      qty: fmt(qty),
      quoteQty: fmt(cost),
      commission: fmt(commission),
      commissionAsset: asset,
      time: now + this.tradeTimeShiftMs,
      isBuyer: order.side === 'BUY',
      isMaker,
      isBestMatch: true,
    };
    this.tradeLog.push(trade);
    return trade;
  }

  /**
   * Binance takes the commission from the asset received, unless fees are paid in BNB (25 % off) — on every pair,
   * from the account's BNB, whoever's it is — while the account holds enough BNB after the trade (a sell of BNB
   * itself that leaves too little pays in the asset received).
   */
  private commission(
    side: 'BUY' | 'SELL',
    base: string,
    quote: string,
    qty: number,
    cost: number,
    rate: number,
  ): { commission: number; asset: string } {
    const mode = this.options.feeAsset ?? 'received';
    if (mode === 'BNB') {
      const bnbPrice = this.ticker('BNB/USDT').last;
      const inBnb = round8((cost * rate * 0.75) / bnbPrice);
      const sold = side === 'SELL' && base === 'BNB' ? qty : 0;
      if (this.wallet.free('BNB') - sold >= inBnb) return { commission: inBnb, asset: 'BNB' };
    }
    if (mode === 'quote' || side === 'SELL') return { commission: round8(cost * rate), asset: quote };
    return { commission: round8(qty * rate), asset: base };
  }

  private cancelOrder(p: URLSearchParams): { status?: number; body: unknown } {
    const order = this.mustFindOrder(p, -2011, true);
    // Binance errors.md, "Messages for -1010 ERROR_MSG_RECEIVED, -2010 NEW_ORDER_REJECTED, and -2011 CANCEL_REJECTED":
    // "Unknown order sent." — the order could not be found (on the book): a filled, cancelled or expired order answers
    // it like an unknown one (there is no separate "already filled" code on spot)
    if (!isOpen(order)) throw new BinanceError(-2011, 'Unknown order sent.');
    const rest = Number(order.origQty) - Number(order.executedQty);
    if (order.type === 'LIMIT') {
      this.wallet.release(this.symbolOfId(order.symbol), order.side === 'BUY', rest, Number(order.price));
    }
    order.status = 'CANCELED';
    order.isWorking = false;
    order.updateTime = this.now();
    // like Binance: clientOrderId is the cancel request's own id, origClientOrderId the order's
    return {
      body: {
        symbol: order.symbol,
        origClientOrderId: order.clientOrderId,
        orderId: order.orderId,
        orderListId: -1,
        clientOrderId: p.get('newClientOrderId') ?? `cancel-${order.orderId}`,
        transactTime: this.now(),
        price: order.price,
        origQty: order.origQty,
        executedQty: order.executedQty,
        origQuoteOrderQty: '0.000000',
        cummulativeQuoteQty: order.cummulativeQuoteQty,
        status: order.status,
        timeInForce: order.timeInForce,
        type: order.type,
        side: order.side,
        selfTradePreventionMode: 'EXPIRE_MAKER',
      },
    };
  }
}

function isOpen(o: FakeOrder): boolean {
  return o.status === 'NEW' || o.status === 'PARTIALLY_FILLED';
}

function fmt(n: number): string {
  return n.toFixed(8);
}
