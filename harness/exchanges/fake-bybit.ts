/**
 * A local Bybit V5 REST API (spot, unified trading account) for real ccxt (`bybit`), built from Bybit's public
 * documentation (github.com/bybit-exchange/docs: v5/guide.mdx, error.mdx, enum.mdx, rate-limit, order/*, market/*,
 * account/wallet-balance.mdx, faq.mdx) — not from what our engine expects. What it does as Bybit does:
 *
 * - every answer is `{ retCode, retMsg, result, retExtInfo, time }`, errors included (HTTP 200 with a retCode);
 * - signed requests carry X-BAPI-API-KEY, X-BAPI-TIMESTAMP, X-BAPI-RECV-WINDOW (default 5000) and X-BAPI-SIGN =
 *   hex HMAC-SHA256 of timestamp + key + recvWindow + (query string | JSON body): an unknown key is HTTP 401 10003,
 *   a wrong signature 10004, a timestamp outside [server - recvWindow, server + 1000) 10002; a create the trade
 *   service takes up past its window (`tradeServiceLagMs`) -1 "request expired: o@…, now[…] diff[…]";
 * - POST /v5/order/create answers only `orderId` and `orderLinkId` (the request is asynchronous); `orderLinkId`
 *   (≤ 36 of [A-Za-z0-9_-]) is "always unique": any earlier order with it makes a create 170141 "Duplicate
 *   clientOrderId"; a Market Buy's `qty` is the quote amount unless `marketUnit=baseCoin`; above `maxLimitOrderQty` /
 *   `maxMarketOrderQty` (by order type) 170381, too many decimals 170137 / price 170134, order value below
 *   `minOrderAmt` 170140, balance 170131, a Market order larger than the book takes (`setMarketDepth`) 170197 /
 *   170198 — no quantity minimum: `minOrderQty` is listed, but "deprecated, no longer
 *   check `minOrderQty`, check `minOrderAmt` instead" (instrument.mdx);
 * - resting Limit orders fill when the price crosses them, in `limitFillSlices` executions; a cancelled order that
 *   had filled in part ends `PartiallyFilledCanceled` (spot only);
 * - GET /v5/order/realtime: open orders, or by `orderId`/`orderLinkId` any of the last 500 (closed ones are
 *   forgotten after a service restart: `restartService()`); GET /v5/order/history: finished orders (cancelled and
 *   rejected ones for 24 h); GET /v5/execution/list (7-day windows): executions with side, execTime, execFee and feeCurrency (the
 *   coin received: base on a buy, quote on a sell; a maker rebate, `makerFeeRate` < 0, negative in the coin paid, as
 *   the "Spot Fee Currency Instruction" says); newest first, `limit` ≤ 50 (100 for executions), `cursor`;
 * - POST /v5/order/cancel answers ids only; an order it does not know: 170213; one filled: 170139, cancelled: 170142;
 * - GET /v5/account/wallet-balance (UNIFIED: walletBalance and `locked` by spot open orders), instruments-info,
 *   tickers, kline (newest first), market/time;
 * - per-UID, per-endpoint limits per second (create/cancel 20, order and execution queries 50): 10006 "Too many
 *   visits!" with X-Bapi-Limit, X-Bapi-Limit-Status, X-Bapi-Limit-Reset-Timestamp; over 600 requests per 5 s from
 *   the IP: HTTP 403 "access too frequent".
 *
 * And the behaviours that hurt, on demand: `lookupLagMs` (reads — realtime, history, executions, cancel — do not know
 * an order younger than this: the create is asynchronous), `balanceLagMs` (wallet-balance answers the balances as
 * they stood that long ago: Bybit documents no figure for either lag — its order processing "is asynchronous" — and
 * no promise that the wallet follows a fill at once) and one-shot faults through `faults.next(route, fault)`.
 */
import { createHmac } from 'node:crypto';
import type http from 'node:http';
import { RET } from './answers/bybit';
import {
  ExchangeApiError,
  FakeExchangeServer,
  floorTo,
  onGrid,
  round8,
  type Answer,
  type ExchangeRequest,
  type FakeExchangeOptions,
  type LoggedRequest,
  type TransportFault,
} from './fake-exchange-server';
import type { LocalFault, LocalRoute, LocalTrade } from './local-exchange';

/** Route names `faults.next` matches (a realtime or history request with an id filter is a lookup). */
export type BybitRoute =
  | 'time'
  | 'instruments'
  | 'ticker'
  | 'kline'
  | 'createOrder'
  | 'cancelOrder'
  | 'fetchOrder'
  | 'openOrders'
  | 'orderHistory'
  | 'recentOrders'
  | 'executions'
  | 'balance'
  | 'apiKeyInfo';

/** Bybit's own faults; the transport ones (timeout, delay, reset, lose-response, taken-then-hang) are shared. */
type BybitOwnFault =
  /** Answer this HTTP status and body without doing the work (a retCode body with HTTP 200, or a gateway 5xx). */
  | { kind: 'answer'; status: number; body: unknown; headers?: Record<string, string> }
  /** Do the work, then answer this status and body instead of the result. */
  | { kind: 'taken-then-answer'; status: number; body: unknown };

export type BybitFault = TransportFault | BybitOwnFault;

type OrderStatus =
  'New' | 'PartiallyFilled' | 'Filled' | 'Cancelled' | 'PartiallyFilledCanceled' | 'Rejected';

export interface BybitOrder {
  orderId: string;
  orderLinkId: string;
  blockTradeId: string;
  symbol: string;
  price: string;
  qty: string;
  side: 'Buy' | 'Sell';
  isLeverage: string;
  positionIdx: number;
  orderStatus: OrderStatus;
  cancelType: string;
  rejectReason: string;
  avgPrice: string;
  leavesQty: string;
  leavesValue: string;
  cumExecQty: string;
  cumExecValue: string;
  cumExecFee: string;
  timeInForce: string;
  orderType: 'Market' | 'Limit';
  stopOrderType: string;
  orderIv: string;
  marketUnit: string;
  triggerPrice: string;
  takeProfit: string;
  stopLoss: string;
  tpTriggerBy: string;
  slTriggerBy: string;
  triggerDirection: number;
  triggerBy: string;
  lastPriceOnCreated: string;
  basePrice: string;
  reduceOnly: boolean;
  closeOnTrigger: boolean;
  placeType: string;
  smpType: string;
  smpGroup: number;
  smpOrderId: string;
  tpLimitPrice: string;
  slLimitPrice: string;
  createdTime: string;
  updatedTime: string;
  cumFeeDetail: Record<string, string>;
  slippageToleranceType: string;
  slippageTolerance: string;
  extraFees: string;
}

export interface BybitExecution {
  symbol: string;
  orderType: string;
  underlyingPrice: string;
  orderLinkId: string;
  side: 'Buy' | 'Sell';
  indexPrice: string;
  orderId: string;
  stopOrderType: string;
  leavesQty: string;
  execTime: string;
  feeCurrency: string;
  isMaker: boolean;
  execFee: string;
  feeRate: string;
  execId: string;
  tradeIv: string;
  blockTradeId: string;
  markPrice: string;
  execPrice: string;
  markIv: string;
  orderQty: string;
  orderPrice: string;
  execValue: string;
  execType: string;
  execQty: string;
  closedSize: string;
  extraFees: string;
  seq: number;
}

/** Fee rate per execution (default 0.1 %), in the coin received. */
export interface FakeBybitOptions extends FakeExchangeOptions {
  /** instruments-info lotSizeFilter `maxLimitOrderQty`: the largest Limit order, base (default 9000). */
  maxLimitOrderQty?: number;
  /** `maxMarketOrderQty`: the largest Market order, base (default 4500). */
  maxMarketOrderQty?: number;
}

/** Bybit's error answer, HTTP 200 unless the route says otherwise. */
class BybitError extends ExchangeApiError<number> {
  constructor(code: number, message: string, status = 200) {
    super(code, message, status);
  }
}

/** Bybit's routes for each kind of request of the exchange-neutral tests. */
const ROUTES: Record<LocalRoute, BybitRoute> = {
  createOrder: 'createOrder',
  fetchOrder: 'fetchOrder',
  cancelOrder: 'cancelOrder',
  openOrders: 'openOrders',
  recentOrders: 'recentOrders',
  trades: 'executions',
  balance: 'balance',
  ticker: 'ticker',
  candles: 'kline',
  markets: 'instruments',
  time: 'time',
};

/** Requests per second per UID, by path (rate-limit.mdx, spot); other private paths 50. */
const UID_LIMITS: Record<string, number> = {
  '/v5/order/create': 20,
  '/v5/order/cancel': 20,
  '/v5/order/realtime': 50,
  '/v5/order/history': 50,
  '/v5/execution/list': 50,
  '/v5/user/query-api': 10,
};
const IP_LIMIT = { requests: 600, windowMs: 5_000 };
/** Closed orders /v5/order/realtime keeps per account and category. */
const REALTIME_CLOSED_KEPT = 500;
const DAY_MS = 86_400_000;

/** Bybit's documented answer for each semantic fault. */
function bybitFault(fault: LocalFault, now: number): BybitFault {
  switch (fault.kind) {
    case 'refuse': {
      const ret = {
        notional: RET.orderValueTooLow,
        'lot-size': RET.quantityTooLow,
        'insufficient-balance': RET.balanceInsufficient,
        duplicate: RET.duplicateOrderLinkId,
        auth: RET.apiKeyInvalid,
        'rate-limit': RET.tooManyVisits,
      }[fault.reason];
      return {
        kind: 'answer',
        status: fault.reason === 'auth' ? 401 : 200,
        body: envelope(ret, now),
        headers:
          fault.reason === 'rate-limit'
            ? {
                'X-Bapi-Limit': '20',
                'X-Bapi-Limit-Status': '0',
                'X-Bapi-Limit-Reset-Timestamp': String(now + 1000),
              }
            : undefined,
      };
    }
    case 'server-error':
      return { kind: 'answer', status: 200, body: envelope(RET.serverError, now) };
    case 'taken-then-unknown':
      return { kind: 'taken-then-answer', status: 200, body: envelope(RET.orderCreationTimeout, now) };
    case 'taken-then-refuse':
      return { kind: 'taken-then-answer', status: 200, body: envelope(RET.balanceInsufficient, now) };
    case 'not-found':
      // an order read by id that knows no such order: an empty list (retCode 0)
      return {
        kind: 'answer',
        status: 200,
        body: envelope(RET.ok, now, { category: 'spot', list: [], nextPageCursor: '' }),
      };
    default:
      return fault;
  }
}

function envelope(ret: { retCode: number; retMsg: string }, now: number, result: unknown = {}): unknown {
  return { ...ret, result, retExtInfo: {}, time: now };
}

export class FakeBybit extends FakeExchangeServer<BybitOwnFault, FakeBybitOptions> {
  /** Every order ever accepted, in order. */
  readonly orders: BybitOrder[] = [];
  /** Every execution of the account, in order. */
  readonly executions: BybitExecution[] = [];
  private readonly uidWindows = new Map<string, number[]>();
  private ipWindow: number[] = [];
  /** Orders /v5/order/realtime no longer lists once closed (a service restart cleared its closed-order cache). */
  private readonly forgottenByRealtime = new Set<string>();
  private nextOrderId = 1_900_000_000_000_000_000n;
  private nextSeq = 4_688_002_127;
  /**
   * The next execution's `execId`: a spot execId as Bybit sends them (digits, e.g. "2210000000101610464" in ccxt's
   * unified private-trade example; the linear example's UUID is another category's). Bybit documents it only as
   * "Execution ID": nothing says it grows with execTime.
   */
  private nextExecId = 2_210_000_000_101_610_464n;
  /**
   * A jump of the next execution's id, once (0 by default; ids then count on from it): negative, a later execution
   * gets a smaller execId than an earlier one — which Bybit's documentation allows (execId promises no order), so
   * the bot must not read one into them.
   */
  execIdJump = 0n;
  /**
   * How long a create takes from the gateway (which checks its timestamp against the window: 10002) to the trade
   * service, which drops one whose timestamp is older than its recv_window by then: -1 "request expired" (0 by
   * default: never). Bybit documents no figure: a create in a busy moment.
   */
  tradeServiceLagMs = 0;
  /**
   * How long after its acknowledgement a cancel is carried out (0 by default: at once). cancel-order.mdx: "The
   * acknowledgement of an cancel order request indicates that the request was sucessfully accepted. This request is
   * asynchronous so please use the websocket to confirm the order status." Meanwhile the order reads as it was
   * (New / PartiallyFilled), and a second cancel is answered 170212 "Cancel order request processing" (error.mdx).
   */
  cancelLagMs = 0;
  /** The largest Market order the book takes now (setMarketDepth); undefined: any. */
  private marketDepthQty: number | undefined;
  private readonly cancelsUnderWay = new Set<string>();
  protected override readonly contentType = 'application/json; charset=utf-8';

  private constructor(options: FakeBybitOptions) {
    super(options, ROUTES);
  }

  static start(options: FakeBybitOptions = {}): Promise<FakeBybit> {
    return FakeExchangeServer.listening(new FakeBybit(options));
  }

  /**
   * Bybit's bi-monthly adjustment of `maxMarketOrderQty` ("Developers should not assume these values remain
   * constant"): listed by instruments-info and applied from now on.
   */
  setMaxMarketOrderQty(qty: number): void {
    this.options.maxMarketOrderQty = qty;
  }

  /**
   * The book too thin for a Market order above `qty` (base; undefined: any size): Bybit refuses it 170197 (Buy) /
   * 170198 (Sell) "Your order quantity to buy/sell is too large. The filled price may deviate significantly from the
   * market price. Please try again" (error.mdx; zh-TW 市價單買入/賣出偏離值風控, the market order's deviation risk
   * control). Bybit gives no threshold: the double's is this one, until set again.
   */
  setMarketDepth(qty: number | undefined): void {
    this.marketDepthQty = qty;
  }

  /** Orders with this orderLinkId (Bybit never holds more than one). */
  ordersByLinkId(orderLinkId: string): BybitOrder[] {
    return this.orders.filter((o) => o.orderLinkId === orderLinkId);
  }

  /**
   * What Bybit's asynchronous create allows ("the request is successfully accepted. Please use websocket … to
   * confirm the order status"): an order it acknowledged ends `Rejected` later (with `rejectReason`), what it
   * filled before kept; the rest of its hold is released.
   */
  rejectAfterAck(orderLinkId: string, rejectReason = 'EC_ReachRiskPriceLimit'): void {
    const order = this.orders.find((o) => o.orderLinkId === orderLinkId && isOpen(o));
    if (!order) throw new Error(`no open order ${orderLinkId} to reject`);
    if (order.orderType === 'Limit') {
      this.wallet.release(
        this.symbolOfId(order.symbol),
        order.side === 'Buy',
        Number(order.leavesQty),
        Number(order.price),
      );
    }
    order.orderStatus = 'Rejected';
    order.rejectReason = rejectReason;
    order.leavesQty = '0';
    order.leavesValue = '0';
    order.updatedTime = String(this.now());
  }

  /**
   * A rejected order's reads catch up with what the matching engine filled before the rejection: `qty` more at
   * its price (the execution and cumExecQty appear; the order stays Rejected). A read before this call was a
   * lagging one that showed nothing filled.
   */
  revealFillBeforeReject(orderLinkId: string, qty: number): void {
    const order = this.orders.find((o) => o.orderLinkId === orderLinkId && o.orderStatus === 'Rejected');
    if (!order) throw new Error(`no rejected order ${orderLinkId}`);
    this.fill(order, qty, Number(order.price), true);
    order.orderStatus = 'Rejected';
    order.leavesQty = '0';
    order.leavesValue = '0';
  }

  /** What a release or restart of Bybit's service does: /v5/order/realtime forgets every closed order. */
  restartService(): void {
    for (const o of this.orders) if (!isOpen(o)) this.forgottenByRealtime.add(o.orderId);
  }

  // --- LocalExchange ---------------------------------------------------------------------------------------------

  orderClientIds(): string[] {
    return this.orders.map((o) => o.orderLinkId);
  }

  trades(symbol?: string): LocalTrade[] {
    return this.executions
      .filter((e) => !symbol || e.symbol === symbol.replace('/', ''))
      .map((e) => ({
        symbol: this.symbolOfId(e.symbol),
        side: e.side === 'Buy' ? ('buy' as const) : ('sell' as const),
        qty: Number(e.execQty),
        price: Number(e.execPrice),
        quoteQty: Number(e.execValue),
        fee: Number(e.execFee),
        feeAsset: e.feeCurrency,
        time: Number(e.execTime),
      }));
  }

  protected documentedFault(fault: LocalFault): BybitFault {
    return bybitFault(fault, Date.now());
  }

  protected symbolParams(symbol: string): Record<string, string> {
    return { symbol: symbol.replace('/', '') };
  }

  // --- HTTP ------------------------------------------------------------------------------------------------------

  /** A POST's parameters are its JSON body (a body that is not JSON: 10001), a GET's its query string. */
  protected readRequest(
    req: http.IncomingMessage,
    url: URL,
    rawBody: string,
  ): { route?: string; params: URLSearchParams; invalid?: Answer; log: Partial<LoggedRequest> } {
    const method = req.method ?? 'GET';
    let body: Record<string, unknown> | undefined;
    try {
      body = method === 'POST' && rawBody ? (JSON.parse(rawBody) as Record<string, unknown>) : undefined;
    } catch {
      return {
        params: new URLSearchParams(),
        invalid: { body: envelope(RET.paramsError, this.now()) },
        log: {},
      };
    }
    const params = body
      ? new URLSearchParams(Object.fromEntries(Object.entries(body).map(([k, v]) => [k, String(v)])))
      : new URLSearchParams(url.search.slice(1));
    const route = routeOf(method, url.pathname, Object.fromEntries(params));
    const clientOrderId = route === 'createOrder' ? (params.get('orderLinkId') ?? undefined) : undefined;
    return { route, params, log: { clientOrderId, body } };
  }

  /**
   * Until when the IP is banned (Date.now() ms; 0: not): every request answered HTTP 403 "access too frequent". Bybit
   * v5 "Rate Limit Rules": over the IP limit, "you should terminate all HTTP sessions and wait for at least 10
   * minutes. The ban will be lifted automatically" — a test sets it (a ban this client did not cause: another on the
   * same IP) and ends it.
   */
  ipBannedUntil = 0;

  /** Over 600 requests per 5 s from the IP, or during an IP ban: HTTP 403, before anything else. */
  protected override refuseEarly(): Answer | undefined {
    const banned = Date.now() < this.ipBannedUntil;
    return this.overIpLimit() || banned ? { status: 403, text: 'access too frequent' } : undefined;
  }

  protected answerInstead(fault: BybitOwnFault): Answer | undefined {
    return fault.kind === 'answer' ? fault : undefined;
  }

  protected answerAfterWork(fault: BybitOwnFault): Answer | undefined {
    return fault.kind === 'taken-then-answer' ? { status: fault.status, body: fault.body } : undefined;
  }

  protected dispatch({ req, url, rawBody, route: name, params: query }: ExchangeRequest): Answer {
    const now = this.now();
    const route = name as BybitRoute | undefined;
    if (!route) return { status: 404, body: envelope(RET.routeNotFound, now) };
    const params = Object.fromEntries(query);
    let headers: Record<string, string> | undefined;
    try {
      if (isPrivate(route)) {
        this.authenticate(req, url, rawBody);
        // a key past its end no longer exists for Bybit (error.mdx 10003); a read-only key or one without the spot
        // permission may not trade (10005)
        if (this.keyExpired()) throw new BybitError(RET.apiKeyInvalid.retCode, RET.apiKeyInvalid.retMsg, 401);
        if ((route === 'createOrder' || route === 'cancelOrder') && !this.keyLimits.spotTrade)
          throw new BybitError(RET.permissionDenied.retCode, RET.permissionDenied.retMsg);
        if (route === 'createOrder') this.refuseExpiredAtTradeService(req, now);
        const limit = this.chargeUid(url.pathname);
        headers = limit.headers;
        if (limit.over) return { status: 200, body: envelope(RET.tooManyVisits, now), headers };
      }
      this.matchRestingOrders();
      return { status: 200, body: envelope(RET.ok, now, this.handle(route, params)), headers };
    } catch (err) {
      if (err instanceof BybitError) {
        return {
          status: err.status,
          body: envelope({ retCode: err.code, retMsg: err.message }, now),
          headers,
        };
      }
      throw err;
    }
  }

  /**
   * The trade service takes a create up `tradeServiceLagMs` after the gateway let it through, and drops one whose
   * timestamp is by then older than its recv_window: error.mdx (UTA) -1 "request expired: o@0, now[] diff[]" — the
   * request's time, the service's, and the difference; nothing placed. A host clock behind the exchange's by a little
   * less than the window passes the gateway (10002 only outside [server_time − recv_window, server_time + 1000)).
   */
  private refuseExpiredAtTradeService(req: http.IncomingMessage, now: number): void {
    if (!(this.tradeServiceLagMs > 0)) return;
    const ts = Number(req.headers['x-bapi-timestamp']);
    const recvWindow = Number(req.headers['x-bapi-recv-window'] || '5000');
    const at = now + this.tradeServiceLagMs;
    if (at - ts > recvWindow) {
      throw new BybitError(-1, `request expired: o@${ts}, now[${at}] diff[${at - ts}]`);
    }
  }

  private authenticate(req: http.IncomingMessage, url: URL, rawBody: string): void {
    const header = (name: string): string => String(req.headers[name] ?? '');
    if (header('x-bapi-api-key') !== this.apiKey) {
      throw new BybitError(RET.apiKeyInvalid.retCode, RET.apiKeyInvalid.retMsg, 401);
    }
    const timestamp = header('x-bapi-timestamp');
    const recvWindow = header('x-bapi-recv-window') || '5000';
    const payload = `${timestamp}${this.apiKey}${recvWindow}${req.method === 'POST' ? rawBody : url.search.slice(1)}`;
    const expected = createHmac('sha256', this.secret).update(payload).digest('hex');
    if (header('x-bapi-sign') !== expected) throw new BybitError(RET.badSign.retCode, RET.badSign.retMsg);
    const serverTime = this.now();
    const ts = Number(timestamp);
    if (!(serverTime - Number(recvWindow) <= ts && ts < serverTime + 1000)) {
      throw new BybitError(RET.requestExpired.retCode, RET.requestExpired.retMsg);
    }
  }

  private overIpLimit(): boolean {
    const now = Date.now();
    this.ipWindow = this.ipWindow.filter((t) => now - t < IP_LIMIT.windowMs);
    this.ipWindow.push(now);
    return this.ipWindow.length > IP_LIMIT.requests;
  }

  /** The rolling one-second window of this UID on this path. */
  private chargeUid(path: string): { over: boolean; headers: Record<string, string> } {
    const now = Date.now();
    const limit = UID_LIMITS[path] ?? 50;
    const window = (this.uidWindows.get(path) ?? []).filter((t) => now - t < 1000);
    window.push(now);
    this.uidWindows.set(path, window);
    const over = window.length > limit;
    return {
      over,
      headers: {
        'X-Bapi-Limit': String(limit),
        'X-Bapi-Limit-Status': String(Math.max(0, limit - window.length)),
        'X-Bapi-Limit-Reset-Timestamp': String(over ? window[0] + 1000 : now),
      },
    };
  }

  // --- endpoints -------------------------------------------------------------------------------------------------

  private handle(route: BybitRoute, p: Record<string, string>): unknown {
    switch (route) {
      case 'time': {
        const now = this.now();
        return { timeSecond: String(Math.floor(now / 1000)), timeNano: `${now}000000` };
      }
      case 'instruments':
        return this.instruments(p);
      case 'ticker':
        return this.tickers(p);
      case 'kline':
        return this.kline(p);
      case 'createOrder':
        return this.createOrder(p);
      case 'cancelOrder':
        return this.cancelOrder(p);
      case 'fetchOrder':
      case 'openOrders':
        return this.realtime(p);
      case 'orderHistory':
      case 'recentOrders':
        return this.history(p);
      case 'executions':
        return this.executionList(p);
      case 'balance':
        return this.walletBalance(p);
      case 'apiKeyInfo':
        return this.apiKeyInfo();
    }
  }

  /**
   * GET /v5/user/query-api (user/apikey-info.mdx): the calling key's information — "Any permission can access this
   * endpoint"; `userID` the account's id, the same for each of its keys. A unified trading account's master key
   * without an IP allow-list: it expires (`deadlineDay`, `expiredAt`, 90 days after it was made, or at the end a
   * test set with `setKeyLimits`; after a set end every private request is refused 10003); bound to an IP: no end.
   */
  private apiKeyInfo(): Record<string, unknown> {
    const { spotTrade, withdraw, ipBound, expiresAt } = this.keyLimits;
    const created = this.now() - 7 * 86_400_000;
    // a key bound to an IP has no end ("Only for those api key with no IP bound"): empty fields
    const expires =
      typeof expiresAt === 'number'
        ? expiresAt
        : expiresAt === null || ipBound
          ? undefined
          : created + 90 * 86_400_000;
    const iso = (ms: number): string =>
      new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
    return {
      id: '13770661',
      note: 'byninja',
      apiKey: this.apiKey,
      readOnly: spotTrade || withdraw ? 0 : 1,
      secret: '',
      permissions: {
        ContractTrade: [],
        Spot: spotTrade ? ['SpotTrade'] : [],
        Wallet: withdraw ? ['AccountTransfer', 'Withdraw'] : [],
        Options: [],
        Derivatives: [],
        CopyTrading: [],
        BlockTrade: [],
        Exchange: [],
        NFT: [],
        Affiliate: [],
      },
      ips: ipBound ? ['203.0.113.7'] : ['*'],
      type: 1,
      deadlineDay: expires === undefined ? 0 : Math.max(0, Math.ceil((expires - this.now()) / 86_400_000)),
      expiredAt: expires === undefined ? '' : iso(expires),
      createdAt: iso(created),
      unified: 0,
      uta: 1,
      userID: Number(this.options.accountUid ?? 24600000),
      inviterID: 0,
      vipLevel: 'No VIP',
      mktMakerLevel: '0',
      affiliateID: 0,
      rsaPublicKey: '',
      isMaster: true,
      parentUid: '0',
      kycLevel: 'LEVEL_DEFAULT',
      kycRegion: '',
    };
  }

  private spotOnly(p: Record<string, string>): void {
    if (p.category !== 'spot')
      throw new BybitError(RET.paramsError.retCode, 'category only support spot here');
  }

  private instruments(p: Record<string, string>): unknown {
    this.spotOnly(p);
    // GET /v5/market/instruments-info, status: "Symbol status filter … Spot has Trading only": a spot symbol that does
    // not trade (halted, suspended) is not in the list at all, as a delisted one is not
    const listed = this.listedSymbols().filter((s) => !this.haltedSymbols.has(s));
    const symbols = p.symbol ? listed.filter((s) => s.replace('/', '') === p.symbol) : listed;
    return {
      category: 'spot',
      list: symbols.map((symbol, i) => {
        const m = this.marketInfo(symbol);
        return {
          symbolId: i + 1,
          symbol: symbol.replace('/', ''),
          baseCoin: m.base,
          quoteCoin: m.quote,
          innovation: '0',
          status: 'Trading',
          marginTrading: 'utaOnly',
          stTag: '0',
          lotSizeFilter: {
            basePrecision: fmtStep(m.amountStep),
            quotePrecision: '0.00000001',
            minOrderQty: fmtStep(m.minAmount),
            maxOrderQty: '9000',
            minOrderAmt: String(m.minNotional),
            maxOrderAmt: '8000000',
            maxLimitOrderQty: fmt(this.options.maxLimitOrderQty ?? 9000),
            maxMarketOrderQty: fmt(this.options.maxMarketOrderQty ?? 4500),
            postOnlyMaxLimitOrderSize: '60000',
          },
          priceFilter: { tickSize: fmtStep(m.priceStep) },
          riskParameters: { priceLimitRatioX: '0.005', priceLimitRatioY: '0.01' },
          symbolType: '',
        };
      }),
    };
  }

  private tickers(p: Record<string, string>): unknown {
    this.spotOnly(p);
    const symbols = p.symbol ? [this.symbolOf(p)] : this.symbols;
    return {
      category: 'spot',
      list: symbols.map((symbol) => {
        const { t, open, high, low, volume } = this.daySummary(symbol);
        return {
          symbol: symbol.replace('/', ''),
          bid1Price: String(t.bid),
          bid1Size: '2',
          ask1Price: String(t.ask),
          ask1Size: '1.862172',
          lastPrice: String(t.last),
          prevPrice24h: String(open),
          price24hPcnt: ((t.last - open) / open).toFixed(4),
          highPrice24h: String(high),
          lowPrice24h: String(low),
          turnover24h: '0',
          volume24h: String(volume),
          usdIndexPrice: String(t.last),
        };
      }),
    };
  }

  private kline(p: Record<string, string>): unknown {
    const symbol = this.symbolOf(p);
    const limit = Math.min(Number(p.limit ?? 200), 1000);
    const candles = this.recentCandles(symbol, limit);
    return {
      symbol: symbol.replace('/', ''),
      category: p.category ?? 'linear',
      // "Sort in reverse by startTime"
      list: candles
        .reverse()
        .map(([t, o, h, l, c, v]) => [
          String(t),
          String(o),
          String(h),
          String(l),
          String(c),
          String(v),
          String(v * c),
        ]),
    };
  }

  private createOrder(p: Record<string, string>): unknown {
    this.spotOnly(p);
    const symbol = this.symbolOf(p);
    const m = this.marketInfo(symbol);
    const [base, quote] = symbol.split('/');
    if (p.side !== 'Buy' && p.side !== 'Sell') throw new BybitError(170117, 'Invalid side.');
    if (p.orderType !== 'Market' && p.orderType !== 'Limit')
      throw new BybitError(170116, 'Invalid orderType.');
    const orderLinkId = p.orderLinkId ?? '';
    if (orderLinkId !== '' && !/^[A-Za-z0-9_-]{1,36}$/.test(orderLinkId)) {
      throw new BybitError(170130, "Data sent for paramter 'orderLinkId' is not valid.");
    }
    // "always unique": any order ever placed with this id, whatever its status
    if (orderLinkId !== '' && this.orders.some((o) => o.orderLinkId === orderLinkId)) {
      throw new BybitError(RET.duplicateOrderLinkId.retCode, RET.duplicateOrderLinkId.retMsg);
    }
    const side = p.side;
    const type = p.orderType;
    const t = this.ticker(symbol);
    // "Spot: Market Buy order by value by default"
    const unit =
      type === 'Market' ? (p.marketUnit ?? (side === 'Buy' ? 'quoteCoin' : 'baseCoin')) : 'baseCoin';
    const raw = Number(p.qty);
    if (!(raw > 0)) throw new BybitError(170105, "Parameter 'qty' was empty.");
    const limit = type === 'Limit' ? Number(p.price) : undefined;
    if (limit !== undefined && (!(limit > 0) || !onGrid(limit, m.priceStep))) {
      throw new BybitError(170134, 'Order price decimal too long.');
    }
    const refPrice = limit ?? (side === 'Buy' ? t.ask : t.bid);
    let qty: number;
    if (unit === 'quoteCoin') {
      if (!onGrid(raw, 1e-8)) throw new BybitError(170148, 'Market order amount decimal too long');
      qty = floorTo(raw / refPrice, m.amountStep);
    } else {
      if (!onGrid(raw, m.amountStep)) throw new BybitError(170137, 'Order volume decimal too long');
      qty = raw;
    }
    // no check of minOrderQty ("deprecated, no longer check"): a quantity on the grid worth minOrderAmt is taken
    if (!(qty > 0)) throw new BybitError(RET.orderValueTooLow.retCode, RET.orderValueTooLow.retMsg);
    // the largest order by type: maxLimitOrderQty / maxMarketOrderQty ("based on order type"; maxOrderQty and
    // maxOrderAmt are "deprecated, no longer check")
    const maxQty =
      type === 'Limit' ? (this.options.maxLimitOrderQty ?? 9000) : (this.options.maxMarketOrderQty ?? 4500);
    if (qty > maxQty) throw new BybitError(RET.quantityTooLarge.retCode, RET.quantityTooLarge.retMsg);
    if (type === 'Market' && this.marketDepthQty !== undefined && qty > this.marketDepthQty) {
      const refusal = side === 'Buy' ? RET.buyTooLargeForBook : RET.sellTooLargeForBook;
      throw new BybitError(refusal.retCode, refusal.retMsg);
    }
    if (qty * refPrice < m.minNotional) {
      throw new BybitError(RET.orderValueTooLow.retCode, RET.orderValueTooLow.retMsg);
    }
    const need = side === 'Buy' ? qty * refPrice : qty;
    if (this.wallet.free(side === 'Buy' ? quote : base) + 1e-12 < need) {
      throw new BybitError(RET.balanceInsufficient.retCode, RET.balanceInsufficient.retMsg);
    }
    const now = this.now();
    const order: BybitOrder = {
      orderId: String(this.nextOrderId++),
      orderLinkId,
      blockTradeId: '',
      symbol: symbol.replace('/', ''),
      price: limit !== undefined ? fmt(limit) : '0',
      qty: fmt(type === 'Market' && unit === 'quoteCoin' ? raw : qty),
      side,
      isLeverage: '0',
      positionIdx: 0,
      orderStatus: 'New',
      cancelType: 'UNKNOWN',
      rejectReason: 'EC_NoError',
      avgPrice: '',
      leavesQty: fmt(qty),
      leavesValue: fmt(qty * refPrice),
      cumExecQty: '0',
      cumExecValue: '0',
      cumExecFee: '0',
      timeInForce: type === 'Market' ? 'IOC' : (p.timeInForce ?? 'GTC'),
      orderType: type,
      stopOrderType: '',
      orderIv: '',
      marketUnit: type === 'Market' ? unit : '',
      triggerPrice: '0',
      takeProfit: '0',
      stopLoss: '0',
      tpTriggerBy: '',
      slTriggerBy: '',
      triggerDirection: 0,
      triggerBy: '',
      lastPriceOnCreated: '',
      basePrice: String(t.last),
      reduceOnly: false,
      closeOnTrigger: false,
      placeType: '',
      smpType: 'None',
      smpGroup: 0,
      smpOrderId: '',
      tpLimitPrice: '0',
      slLimitPrice: '0',
      createdTime: String(now),
      updatedTime: String(now),
      cumFeeDetail: {},
      slippageToleranceType: 'UNKNOWN',
      slippageTolerance: '0',
      extraFees: '',
    };
    this.orders.push(order);
    const marketable = limit === undefined || (side === 'Buy' ? limit >= t.ask : limit <= t.bid);
    if (marketable) {
      this.walkBook(t, side === 'Buy', qty, m.amountStep, limit, (part, price) =>
        this.fill(order, part, price, false),
      );
      // a Market order is IOC: what the book did not take is cancelled ("PartiallyFilledCanceled: Only spot has this
      // order status", enum.mdx orderStatus)
      if (type === 'Market' && Number(order.leavesQty) > 0) {
        order.orderStatus = Number(order.cumExecQty) > 0 ? 'PartiallyFilledCanceled' : 'Cancelled';
        order.leavesQty = '0';
        order.leavesValue = '0';
      }
    } else {
      this.wallet.hold(symbol, side === 'Buy', qty, limit!);
    }
    // "This request is asynchronous": ids only
    return { orderId: order.orderId, orderLinkId: order.orderLinkId };
  }

  private cancelOrder(p: Record<string, string>): unknown {
    this.spotOnly(p);
    const symbol = this.symbolOf(p);
    if (!p.orderId && !p.orderLinkId) throw new BybitError(170105, "Parameter 'orderId' was empty.");
    const order = this.visibleOrders().find(
      (o) =>
        o.symbol === symbol.replace('/', '') &&
        (p.orderId ? o.orderId === p.orderId : o.orderLinkId === p.orderLinkId),
    );
    // Bybit's cancel-order page: "You can only cancel unfilled or partially filled orders." Its error codes, Spot Trade
    // section: 170139 "Order has been filled.", 170142 "Order has been cancelled", 170213 "Order does not exist." —
    // a finished order answers what it became (a rejected one was never on the book: not there), an unknown one 170213
    if (!order) throw new BybitError(RET.orderNotExists.retCode, RET.orderNotExists.retMsg);
    if (!isOpen(order)) {
      const ret =
        order.orderStatus === 'Filled'
          ? RET.orderFilled
          : order.orderStatus === 'Cancelled' || order.orderStatus === 'PartiallyFilledCanceled'
            ? RET.orderCancelled
            : RET.orderNotExists;
      throw new BybitError(ret.retCode, ret.retMsg);
    }
    if (this.cancelsUnderWay.has(order.orderId))
      throw new BybitError(170212, 'Cancel order request processing');
    const carryOut = (): void => {
      this.cancelsUnderWay.delete(order.orderId);
      if (!isOpen(order)) return;
      const rest = Number(order.leavesQty);
      if (order.orderType === 'Limit')
        this.wallet.release(symbol, order.side === 'Buy', rest, Number(order.price));
      order.orderStatus = Number(order.cumExecQty) > 0 ? 'PartiallyFilledCanceled' : 'Cancelled';
      order.cancelType = 'CancelByUser';
      order.leavesQty = '0';
      order.leavesValue = '0';
      order.updatedTime = String(this.now());
    };
    if (this.cancelLagMs > 0) {
      // "This request is asynchronous": acknowledged now, carried out later
      this.cancelsUnderWay.add(order.orderId);
      setTimeout(carryOut, this.cancelLagMs).unref();
    } else carryOut();
    return { orderId: order.orderId, orderLinkId: order.orderLinkId };
  }

  /** GET /v5/order/realtime: open orders; by id any of them, or of the last 500 closed, newest first. */
  private realtime(p: Record<string, string>): unknown {
    this.spotOnly(p);
    const byId = Boolean(p.orderId || p.orderLinkId);
    const closedKept = new Set(
      this.orders
        .filter((o) => !isOpen(o) && !this.forgottenByRealtime.has(o.orderId))
        .slice(-REALTIME_CLOSED_KEPT)
        .map((o) => o.orderId),
    );
    const rows = this.visibleOrders().filter(
      (o) =>
        this.matchesFilter(o, p) &&
        (isOpen(o) || (byId && closedKept.has(o.orderId))) &&
        // openOnly=1 (closed ones) is ignored when an id is given
        (byId || (p.openOnly === '1' ? closedKept.has(o.orderId) : isOpen(o))),
    );
    return this.page(rows.reverse(), p, 50, 20);
  }

  /** GET /v5/order/history: finished orders of the last 7 days (cancelled and rejected ones for 24 hours), newest first. */
  private history(p: Record<string, string>): unknown {
    this.spotOnly(p);
    const now = this.now();
    const { start, end } = sevenDayWindow(p, now);
    const rows = this.visibleOrders().filter(
      (o) =>
        !isOpen(o) &&
        this.matchesFilter(o, p) &&
        (!p.orderStatus || o.orderStatus === p.orderStatus) &&
        Number(o.createdTime) >= start &&
        Number(o.createdTime) <= end &&
        ((o.orderStatus !== 'Cancelled' && o.orderStatus !== 'Rejected') ||
          now - Number(o.updatedTime) <= DAY_MS),
    );
    return this.page(rows.reverse(), p, 50, 20);
  }

  /**
   * GET /v5/execution/list: newest first; orderId / orderLinkId take priority over the symbol. Within a time window,
   * with an order's id too: "startTime and endTime are not passed, return 7 days by default; only startTime is
   * passed, return range between startTime and startTime+7 days; only endTime is passed, return range between
   * endTime-7 days and endTime"; a wider span is refused.
   */
  private executionList(p: Record<string, string>): unknown {
    this.spotOnly(p);
    const now = this.now();
    const { start, end } = sevenDayWindow(p, now);
    const cutoff = now - this.lookupLagMs;
    const rows = this.executions.filter((e) => {
      const t = Number(e.execTime);
      if (t > cutoff || t < start || t > end) return false;
      if (p.orderId) return e.orderId === p.orderId;
      if (p.orderLinkId) return e.orderLinkId === p.orderLinkId;
      return !p.symbol || e.symbol === p.symbol;
    });
    return this.page([...rows].reverse(), p, 100, 50);
  }

  private walletBalance(p: Record<string, string>): unknown {
    if (p.accountType !== 'UNIFIED')
      throw new BybitError(RET.paramsError.retCode, 'accountType only support UNIFIED');
    const wanted = p.coin ? p.coin.split(',') : undefined;
    const coins = Object.entries(this.accountBalances())
      .filter(([coin, b]) => (wanted ? wanted.includes(coin) : b.free + b.locked !== 0))
      .map(([coin, b]) => ({
        availableToBorrow: '',
        bonus: '0',
        accruedInterest: '0',
        availableToWithdraw: '',
        totalOrderIM: '0',
        equity: fmt(b.free + b.locked),
        totalPositionMM: '0',
        usdValue: '0',
        spotHedgingQty: '0',
        unrealisedPnl: '0',
        collateralSwitch: true,
        borrowAmount: '0',
        totalPositionIM: '0',
        walletBalance: fmt(b.free + b.locked),
        cumRealisedPnl: '0',
        locked: fmt(b.locked),
        marginCollateral: true,
        coin,
        spotBorrow: '0',
      }));
    return {
      list: [
        {
          totalEquity: '0',
          accountIMRate: '0',
          totalMarginBalance: '0',
          totalInitialMargin: '0',
          accountType: 'UNIFIED',
          totalAvailableBalance: '0',
          accountMMRate: '0',
          totalPerpUPL: '0',
          totalWalletBalance: '0',
          accountLTV: '0',
          totalMaintenanceMargin: '0',
          coin: coins,
        },
      ],
    };
  }

  /** One page of `rows` (`limit` ≤ max, default `fallback`) and the cursor of the next. */
  private page<T>(rows: T[], p: Record<string, string>, max: number, fallback: number): unknown {
    const limit = Math.min(Math.max(1, Number(p.limit ?? fallback)), max);
    const offset = p.cursor
      ? Number(Buffer.from(decodeURIComponent(p.cursor), 'base64').toString('utf8'))
      : 0;
    const list = rows.slice(offset, offset + limit);
    const more = offset + limit < rows.length;
    return {
      category: 'spot',
      list,
      nextPageCursor: more ? encodeURIComponent(Buffer.from(String(offset + limit)).toString('base64')) : '',
    };
  }

  private matchesFilter(o: BybitOrder, p: Record<string, string>): boolean {
    // priority orderId > orderLinkId > symbol
    if (p.orderId) return o.orderId === p.orderId;
    if (p.orderLinkId) return o.orderLinkId === p.orderLinkId;
    return !p.symbol || o.symbol === p.symbol;
  }

  // --- matching and accounts -------------------------------------------------------------------------------------

  private symbolOf(p: Record<string, string>): string {
    const symbol = this.symbols.find((s) => s.replace('/', '') === p.symbol);
    if (!symbol) throw new BybitError(170121, 'Invalid symbol.');
    return symbol;
  }

  private symbolOfId(id: string): string {
    return this.symbols.find((s) => s.replace('/', '') === id)!;
  }

  /** Orders the reads know: not those younger than the lookup lag (the create is asynchronous). */
  private visibleOrders(): BybitOrder[] {
    return this.known(this.orders, (o) => Number(o.createdTime)).filter((o) => !this.purged.has(o.orderId));
  }

  /** Orders forgotten by every order read (`purge`), by orderId. */
  private readonly purged = new Set<string>();

  purge(orderLinkId: string): void {
    const order = this.orders.find((o) => o.orderLinkId === orderLinkId);
    if (!order) throw new Error(`no order ${orderLinkId} to purge`);
    if (isOpen(order)) this.cancelOrder({ category: 'spot', symbol: order.symbol, orderId: order.orderId });
    this.purged.add(order.orderId);
  }

  private matchRestingOrders(): void {
    this.matchResting(
      this.orders.filter((o) => o.orderType === 'Limit' && isOpen(o)),
      (o) => ({
        id: o.orderId,
        symbol: this.symbolOfId(o.symbol),
        buy: o.side === 'Buy',
        price: Number(o.price),
        qty: Number(o.qty),
        left: Number(o.leavesQty),
      }),
      (o, qty, price) => this.fill(o, qty, price, true),
    );
  }

  private fill(order: BybitOrder, qty: number, price: number, isMaker: boolean): void {
    const symbol = this.symbolOfId(order.symbol);
    const [base, quote] = symbol.split('/');
    const now = this.now();
    const value = qty * price;
    const taker = this.options.feeRate ?? 0.001;
    const makerRate = this.options.makerFeeRate ?? taker;
    const rate = isMaker ? makerRate : taker;
    // "Spot Fee Currency Instruction" (enum.mdx): with a positive makerFeeRate, and on a taker's execution, the fee is
    // in the coin received (Buy: base, Sell: quote); a maker's with a makerFeeRate not positive in the other coin (Buy:
    // quote, Sell: base). "Negative fee value means rebates" (account/transaction-log.mdx): credited to that coin.
    const received = !(isMaker && makerRate <= 0);
    const feeCurrency = (order.side === 'Buy') === received ? base : quote;
    const fee = round8(feeCurrency === base ? qty * rate : value * rate);
    this.wallet.settle(symbol, order.side === 'Buy', qty, value, feeCurrency, fee);
    // in the base coin, also for a market buy sent by value (its qty is the quote amount)
    const total = round8(Number(order.cumExecQty) + Number(order.leavesQty));
    const cumQty = round8(Number(order.cumExecQty) + qty);
    const cumValue = round8(Number(order.cumExecValue) + value);
    const cumFee = round8(Number(order.cumExecFee) + fee);
    order.cumExecQty = fmt(cumQty);
    order.cumExecValue = fmt(cumValue);
    order.cumExecFee = fmt(cumFee);
    // per coin: a maker rebate and a taker's fee of one order are in different coins
    order.cumFeeDetail = {
      ...order.cumFeeDetail,
      [feeCurrency]: fmt(Number(order.cumFeeDetail[feeCurrency] ?? 0) + fee),
    };
    order.avgPrice = fmt(cumValue / cumQty);
    order.leavesQty = fmt(Math.max(0, round8(total - cumQty)));
    order.leavesValue = fmt(Number(order.leavesQty) * price);
    order.orderStatus = Number(order.leavesQty) <= 1e-12 ? 'Filled' : 'PartiallyFilled';
    order.updatedTime = String(now);
    this.executions.push({
      symbol: order.symbol,
      orderType: order.orderType,
      underlyingPrice: '',
      orderLinkId: order.orderLinkId,
      side: order.side,
      indexPrice: '',
      orderId: order.orderId,
      stopOrderType: 'UNKNOWN',
      leavesQty: order.leavesQty,
      execTime: String(now),
      feeCurrency,
      isMaker,
      execFee: fmt(fee),
      feeRate: String(rate),
      execId: String(this.takeExecId()),
      tradeIv: '',
      blockTradeId: '',
      markPrice: String(price),
      execPrice: fmt(price),
      markIv: '',
      orderQty: order.qty,
      orderPrice: order.price,
      execValue: fmt(value),
      execType: 'Trade',
      execQty: fmt(qty),
      closedSize: '',
      extraFees: '',
      seq: this.nextSeq++,
    });
  }

  private takeExecId(): bigint {
    this.nextExecId += 1n + this.execIdJump;
    this.execIdJump = 0n;
    return this.nextExecId;
  }
}

/** The route of a request: a realtime or history query filtered by an id is a lookup. */
function routeOf(method: string, path: string, p: Record<string, string>): BybitRoute | undefined {
  const byId = Boolean(p.orderId || p.orderLinkId);
  const routes: Record<string, BybitRoute> = {
    'GET /v5/market/time': 'time',
    'GET /v5/market/instruments-info': 'instruments',
    'GET /v5/market/tickers': 'ticker',
    'GET /v5/market/kline': 'kline',
    'POST /v5/order/create': 'createOrder',
    'POST /v5/order/cancel': 'cancelOrder',
    'GET /v5/order/realtime': byId ? 'fetchOrder' : 'openOrders',
    'GET /v5/order/history': byId ? 'orderHistory' : 'recentOrders',
    'GET /v5/execution/list': 'executions',
    'GET /v5/account/wallet-balance': 'balance',
    'GET /v5/user/query-api': 'apiKeyInfo',
  };
  return routes[`${method} ${path}`];
}

function isPrivate(route: BybitRoute): boolean {
  return !['time', 'instruments', 'ticker', 'kline'].includes(route);
}

function isOpen(o: BybitOrder): boolean {
  return o.orderStatus === 'New' || o.orderStatus === 'PartiallyFilled';
}

function fmt(n: number): string {
  return String(round8(n));
}

/** A step as Bybit writes it (`0.000001`, `0.01`). */
function fmtStep(step: number): string {
  return step >= 1 ? String(step) : step.toFixed(Math.max(0, Math.round(-Math.log10(step))));
}

/**
 * The time window of Bybit's history lists (order/history, execution/list): without times the last 7 days, with
 * startTime only that and 7 days after, with endTime only the 7 days before; a wider span is refused (10001).
 */
function sevenDayWindow(p: Record<string, string>, now: number): { start: number; end: number } {
  const end = p.endTime ? Number(p.endTime) : p.startTime ? Number(p.startTime) + 7 * DAY_MS : now;
  const start = p.startTime ? Number(p.startTime) : end - 7 * DAY_MS;
  if (end - start > 7 * DAY_MS || end < start)
    throw new BybitError(
      RET.paramsError.retCode,
      'The time range between startTime and endTime cannot exceed 7 days',
    );
  return { start, end };
}
