/**
 * A local OKX API v5 (spot) for real ccxt (`okx`), built from OKX's public documentation (www.okx.com/docs-v5/en/:
 * REST Authentication, Rate Limits, General Info, the Trade, Public data, Market data and Trading account
 * endpoints below, Error Code → REST API) — not from what our engine expects. What it does as OKX does:
 *
 * - private requests are checked as documented: OK-ACCESS-KEY (50103 empty, 50111 unknown), OK-ACCESS-PASSPHRASE
 *   (50104 empty, 50105 wrong), OK-ACCESS-TIMESTAMP (50107 empty, 50112 not ISO 8601, 50102 more than 30 s from
 *   server time) and OK-ACCESS-SIGN = base64(HMAC-SHA256(secret, timestamp + METHOD + requestPath + body)) (50106
 *   empty, 50113 wrong), all HTTP 401;
 * - answers are `{ code, msg, data }` with HTTP 200 for most errors; a per-order failure is `code` "1" with `sCode`,
 *   `sMsg` and `subCode` in `data[0]`; numbers are strings;
 * - POST /api/v5/trade/order (tdMode `cash`, ordType `market`/`limit`) answers ids only (ordId, clOrdId, ts, sCode).
 *   `clOrdId`: letters and digits, at most 32 (51000 otherwise); unique among PENDING orders only (51016 "Client
 *   order ID already exists."): a filled or canceled order's id is taken again as a new order. A SPOT market
 *   order's `sz` is in the quote for a buy unless `tgtCcy=base_ccy` (the base for a sell). The largest order: a
 *   limit one's `maxLmtSz` (base) and `maxLmtAmt` (USD) (51203), a market one's `maxMktSz` (in USDT: 51202) and
 *   `maxMktAmt` (USD: 51201). minSz (51020), lotSz
 *   (51121), tickSz (51000 "Parameter px error"), balance (51008, subCode 1000: refused — OKX's default shrinking of
 *   a SPOT market order larger than the balance, `banAmend=false`, is not modelled);
 * - resting limit orders match when the price crosses them, in `limitFillSlices` partial fills;
 * - a create carrying an `expTime` header is not processed once the server's time is past it (50037 "Order
 *   expired.");
 * - fees: rate 0.1 %, negative in `fee`, in the currency received (base on a buy, quote on a sell), or all in the
 *   quote with `feeInQuote` ("spot fees in quote currency"); a maker rebate (`makerFeeRate` < 0) positive in the
 *   fill's `fee`, in the order's `rebateCcy` (the quote on a buy, the base on a maker sell), summed in its `rebate`;
 * - GET order by `ordId` or `clOrdId` (latest with that clOrdId; 51603 "Order does not exist."), orders-pending,
 *   orders-history (orders finished in the last 7 days; canceled ones without fills only for 2 hours), fills and fills-history
 *   (`ordId`, `instId`), every list newest first, `limit` at most 100 (the default), paged by `after`/`before`
 *   (ordId for orders, billId for fills), POST cancel-order (an acknowledgement; 51400 when the order is not pending),
 *   account balance, public instruments/time, market ticker/candles, asset currencies;
 * - the documented rate limits per endpoint over 2 s (per instrument for order endpoints), over them HTTP 429
 *   `50011` "Too Many Requests".
 *
 * And the behaviours that hurt, on demand: `lookupLagMs` (every read — order, lists, fills, cancel — does not know
 * an order younger than this), `balanceLagMs` (account/balance answers the balances as they stood that long ago: OKX
 * dates each balance with `uTime`, "update time", and documents no bound on how far it trails a fill), and one-shot
 * faults through `faults.next(match, fault, params)`, `match` being a
 * route name (`createOrder`, `fetchOrder`, `cancelOrder`, `ordersPending`, `ordersHistory`, `fills`,
 * `fillsHistory`, `balance`, `ticker`, `candles`, `instruments`, `time`, `currencies`), a path, `METHOD path`, or `*`.
 */
import { createHmac } from 'node:crypto';
import type http from 'node:http';
import { ERRORS, orderFailure } from './answers/okx';
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

/** OKX's own faults; the transport ones (timeout, delay, reset, lose-response, taken-then-hang) are shared. */
type OkxOwnFault =
  /** Answer with this HTTP status and body (OKX's 50026 "System error" by default), without doing the work. */
  | { kind: 'status'; status: number; body?: unknown }
  /** Refuse the order with this per-order result (`code` "1", HTTP 200), echoing the request's clOrdId. */
  | { kind: 'order-refused'; sCode: string; sMsg: string; subCode?: string }
  /** Do the work, then answer this status and body (e.g. 50004 "does not mean that the request … failed"). */
  | { kind: 'taken-then-status'; status: number; body: unknown };

export type OkxFakeFault = TransportFault | OkxOwnFault;

type OrderState = 'live' | 'partially_filled' | 'filled' | 'canceled';

export interface OkxOrder {
  instId: string;
  ordId: string;
  clOrdId: string;
  side: 'buy' | 'sell';
  ordType: 'market' | 'limit';
  /** As sent: base, or the quote for a market buy without `tgtCcy=base_ccy`. */
  sz: string;
  tgtCcy: string;
  px: string;
  /** The base amount the order trades (sz, or sz / price for a market buy sized in the quote). */
  qty: number;
  accFillSz: number;
  fillCost: number;
  fee: number;
  feeCcy: string;
  /** Maker rebates paid, positive, in `rebateCcy`. */
  rebate: number;
  rebateCcy: string;
  fillPx: string;
  fillSz: string;
  fillTime: string;
  tradeId: string;
  state: OrderState;
  /** Why it was cancelled when not by the user (cancelSource), e.g. "14" for an IOC's unfilled rest. */
  cancelSource?: string;
  cTime: number;
  uTime: number;
}

export interface OkxFill {
  instId: string;
  tradeId: string;
  ordId: string;
  clOrdId: string;
  billId: string;
  side: 'buy' | 'sell';
  fillPx: string;
  fillSz: string;
  /** Negative: charged; positive: a maker rebate. */
  fee: string;
  feeCcy: string;
  /** The rate as OKX writes it: negative for a fee charged (`-0.001`), positive for a rebate. */
  feeRate: string;
  execType: 'T' | 'M';
  ts: number;
}

export interface FakeOkxOptions extends FakeExchangeOptions {
  /** The passphrase private endpoints require besides key and secret; default `test-passphrase`. */
  passphrase?: string;
  /** "Spot fees in quote currency" on: every fee in the quote. */
  feeInQuote?: boolean;
  /** public/instruments `maxLmtSz`: the largest limit order, base (default 9999999999, as documented). */
  maxLmtSz?: number;
  /** `maxMktSz`: the largest market order, "the quantity in USDT" for SPOT (default 1000000, as documented). */
  maxMktSz?: number;
  /** `maxLmtAmt` / `maxMktAmt`: the largest limit / market order value in USD (default 1000000 each). */
  maxLmtAmt?: number;
  maxMktAmt?: number;
  /**
   * The account mode (account/config `acctLv`): 1 Spot mode (default), 2 Futures mode ("Spot and futures"), 3
   * Multi-currency margin, 4 Portfolio margin. account/balance answers `availEq` ("Available equity of currency")
   * only in 2–4, "" in 1, as documented.
   */
  acctLv?: '1' | '2' | '3' | '4';
}

type Params = URLSearchParams;

interface Route {
  name: string;
  private: boolean;
  /** Requests allowed per 2 s, as documented. */
  limit: number;
  /** The rate limit is counted per instrument (order endpoints), else per user / IP. */
  perInstrument?: boolean;
  handle: (params: Params, headers: http.IncomingHttpHeaders) => Answer;
}

/** OKX's error answer, HTTP 200 unless the route says otherwise. */
class OkxError extends ExchangeApiError<string> {
  constructor(code: string, message: string, status = 200) {
    super(code, message, status);
  }
}

/** A per-order refusal: `code` "1", the reason in `data[0]`. */
class OrderRefused extends Error {
  constructor(
    readonly sCode: string,
    message: string,
    readonly subCode = '',
  ) {
    super(message);
  }
}

/** OKX's route for each kind of request (the names `faults.next` matches). */
const ROUTES: Record<LocalRoute, string> = {
  createOrder: 'createOrder',
  fetchOrder: 'fetchOrder',
  cancelOrder: 'cancelOrder',
  openOrders: 'ordersPending',
  recentOrders: 'ordersHistory',
  trades: 'fillsHistory',
  balance: 'balance',
  ticker: 'ticker',
  candles: 'candles',
  markets: 'instruments',
  time: 'time',
};

/** OKX's documented answer for each semantic fault. */
function okxFault(fault: LocalFault): OkxFakeFault {
  const refused = (e: { body: { data: unknown[] } }): OkxFakeFault => {
    const d = e.body.data[0] as { sCode: string; sMsg: string; subCode: string };
    return { kind: 'order-refused', sCode: d.sCode, sMsg: d.sMsg, subCode: d.subCode };
  };
  switch (fault.kind) {
    case 'refuse':
      switch (fault.reason) {
        // OKX has no minimum order value: its minimum is the amount (minSz)
        case 'notional':
          return refused(ERRORS.minimumAmount);
        case 'lot-size':
          return refused(ERRORS.lotSize);
        case 'insufficient-balance':
          return refused(ERRORS.insufficientBalance);
        case 'duplicate':
          return refused(ERRORS.duplicate);
        case 'auth':
          return { kind: 'status', ...ERRORS.badKey };
        case 'rate-limit':
          return { kind: 'status', ...ERRORS.tooManyRequests };
      }
      break;
    case 'server-error':
      return { kind: 'status', ...ERRORS.serviceUnavailable };
    case 'taken-then-unknown':
      return { kind: 'taken-then-status', ...ERRORS.endpointTimeout };
    case 'taken-then-refuse':
      return { kind: 'taken-then-status', ...ERRORS.insufficientBalance };
    case 'not-found':
      return { kind: 'status', status: 200, body: { code: '51603', msg: 'Order does not exist.', data: [] } };
    default:
      return fault;
  }
}

/** Timestamps must be within this of the server's time. */
const TIMESTAMP_WINDOW_MS = 30_000;
/** Canceled orders without fills stay in the order history this long. */
const CANCELED_UNFILLED_KEPT_MS = 2 * 3_600_000;
/**
 * orders-history: "completed orders which are placed in the last 7 days, including those placed 7 days ago but
 * completed in the last 7 days" — an order finished longer ago is in orders-history-archive only.
 */
const ORDER_HISTORY_KEPT_MS = 7 * 86_400_000;
const CLORDID = /^[A-Za-z0-9]{1,32}$/;

export class FakeOkx extends FakeExchangeServer<OkxOwnFault, FakeOkxOptions> {
  /** Every order ever accepted, in order. */
  readonly orders: OkxOrder[] = [];
  /** Every fill of the account. */
  readonly fills: OkxFill[] = [];
  private passphrase: string;
  private readonly windows = new Map<string, { start: number; count: number }>();
  private readonly routes: Record<string, Route>;
  private nextOrderId = 1;
  private nextTradeId = 744_876_980;

  private constructor(options: FakeOkxOptions) {
    super(options, ROUTES);
    this.passphrase = options.passphrase ?? 'test-passphrase';
    this.routes = this.buildRoutes();
  }

  static start(options: FakeOkxOptions = {}): Promise<FakeOkx> {
    return FakeExchangeServer.listening(new FakeOkx(options));
  }

  /**
   * How long after its acknowledgement a cancel is carried out (0 by default: at once). Cancel order: sCode 0 "only
   * means that your cancellation request has been accepted". Meanwhile the order reads as it was (live /
   * partially_filled), and a second cancel is refused 51410 "Cancellation failed as the order is already under
   * cancelling status."
   */
  cancelLagMs = 0;
  private readonly cancelsUnderWay = new Set<string>();

  /** OKX changes an instrument's `maxMktSz` (USDT for SPOT): listed by public/instruments and applied from now on. */
  setMaxMktSz(usdt: number): void {
    this.options.maxMktSz = usdt;
  }

  /** The account's key replaced, with the passphrase set when the new key was made (`passphrase`). */
  override rotateKey(apiKey: string, secret: string, passphrase = this.passphrase): void {
    super.rotateKey(apiKey, secret);
    this.passphrase = passphrase;
  }

  ordersByClientId(clientOrderId: string): OkxOrder[] {
    return this.orders.filter((o) => o.clOrdId === clientOrderId);
  }

  /** The parameters of every create request received, in order. */
  createBodies(): Array<Record<string, string>> {
    return this.requests.filter((r) => r.route === 'createOrder').map((r) => r.params);
  }

  // --- LocalExchange ---------------------------------------------------------------------------------------------

  orderClientIds(): string[] {
    return this.orders.map((o) => o.clOrdId);
  }

  trades(symbol?: string): LocalTrade[] {
    return this.fills
      .filter((f) => !symbol || f.instId === instIdOf(symbol))
      .map((f) => ({
        symbol: this.symbolOfInst(f.instId),
        side: f.side,
        qty: Number(f.fillSz),
        price: Number(f.fillPx),
        quoteQty: Number(f.fillSz) * Number(f.fillPx),
        fee: -Number(f.fee),
        feeAsset: f.feeCcy,
        time: f.ts,
      }));
  }

  protected documentedFault(fault: LocalFault): OkxFakeFault {
    return okxFault(fault);
  }

  protected symbolParams(symbol: string): Record<string, string> {
    return { instId: instIdOf(symbol) };
  }

  // --- HTTP ------------------------------------------------------------------------------------------------------

  protected readRequest(
    req: http.IncomingMessage,
    url: URL,
    rawBody: string,
  ): { route?: string; params: URLSearchParams; invalid?: Answer; log: Partial<LoggedRequest> } {
    const route = this.routes[`${req.method ?? 'GET'} ${url.pathname}`]?.name;
    const params = new URLSearchParams(url.search.slice(1));
    const invalid = mergeJsonBody(rawBody, params);
    return {
      route,
      params,
      invalid,
      log: {
        clientOrderId: route === 'createOrder' ? (params.get('clOrdId') ?? undefined) : undefined,
        expTime: typeof req.headers.exptime === 'string' ? req.headers.exptime : undefined,
      },
    };
  }

  protected answerInstead(fault: OkxOwnFault, { params }: ExchangeRequest): Answer | undefined {
    if (fault.kind === 'status') return { status: fault.status, body: fault.body ?? ERRORS.systemError.body };
    if (fault.kind === 'order-refused') {
      return {
        body: orderFailure(fault.sCode, fault.sMsg, fault.subCode ?? '', params.get('clOrdId') ?? ''),
      };
    }
    return undefined;
  }

  protected answerAfterWork(fault: OkxOwnFault): Answer | undefined {
    return fault.kind === 'taken-then-status' ? { status: fault.status, body: fault.body } : undefined;
  }

  protected dispatch({ req, method, url, rawBody, params }: ExchangeRequest): Answer {
    const route = this.routes[`${method} ${url.pathname}`];
    if (!route) return { status: 404, body: { code: '50115', msg: 'Invalid request method.', data: [] } };
    try {
      if (route.private) this.authenticate(req, url, rawBody);
      if (this.overLimit(route, params)) return ERRORS.tooManyRequests;
      this.matchRestingOrders();
      return route.handle(params, req.headers);
    } catch (err) {
      if (err instanceof OkxError) {
        return { status: err.status, body: { code: err.code, msg: err.message, data: [] } };
      }
      if (err instanceof OrderRefused) {
        return { body: orderFailure(err.sCode, err.message, err.subCode, params.get('clOrdId') ?? '') };
      }
      throw err;
    }
  }

  /** REST Authentication, checked in the order of the documented API-class errors. */
  private authenticate(req: http.IncomingMessage, url: URL, rawBody: string): void {
    const header = (name: string): string => {
      const v = req.headers[name];
      return typeof v === 'string' ? v : '';
    };
    const key = header('ok-access-key');
    const passphrase = header('ok-access-passphrase');
    const timestamp = header('ok-access-timestamp');
    const sign = header('ok-access-sign');
    if (!key) throw new OkxError('50103', 'Request header "OK-ACCESS-KEY" cannot be empty.', 401);
    if (!passphrase)
      throw new OkxError('50104', 'Request header "OK-ACCESS-PASSPHRASE" cannot be empty.', 401);
    if (!sign) throw new OkxError('50106', 'Request header "OK-ACCESS-SIGN" cannot be empty.', 401);
    if (!timestamp) throw new OkxError('50107', 'Request header "OK-ACCESS-TIMESTAMP" cannot be empty.', 401);
    if (key !== this.apiKey) throw new OkxError('50111', 'Invalid OK-ACCESS-KEY.', 401);
    const at = Date.parse(timestamp);
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(timestamp) || !Number.isFinite(at)) {
      throw new OkxError('50112', 'Invalid OK-ACCESS-TIMESTAMP.', 401);
    }
    if (Math.abs(this.now() - at) > TIMESTAMP_WINDOW_MS) {
      throw new OkxError('50102', 'Timestamp request expired.', 401);
    }
    if (passphrase !== this.passphrase) {
      throw new OkxError('50105', 'Request header "OK-ACCESS-PASSPHRASE" incorrect.', 401);
    }
    // timestamp + METHOD + requestPath (with the query string of a GET) + body
    const prehash = `${timestamp}${req.method ?? 'GET'}${url.pathname}${url.search}${rawBody}`;
    const expected = createHmac('sha256', this.secret).update(prehash).digest('base64');
    if (sign !== expected) throw new OkxError('50113', 'Invalid signature.', 401);
  }

  /** GET /api/v5/account/config's answer for a main account's key in spot mode (the fields its documentation lists). */
  private accountConfig(): Record<string, unknown> {
    const uid = this.options.accountUid ?? '44705892343619584';
    return {
      uid,
      mainUid: uid,
      acctLv: this.options.acctLv ?? '1',
      acctStpMode: 'cancel_maker',
      posMode: 'net_mode',
      autoLoan: false,
      greeksType: 'PA',
      level: 'Lv1',
      levelTmp: '',
      ctIsoMode: 'automatic',
      mgnIsoMode: 'automatic',
      spotOffsetType: '',
      roleType: '0',
      traderInsts: [],
      spotRoleType: '0',
      spotTraderInsts: [],
      opAuth: '0',
      kycLv: '2',
      label: 'byninja',
      ip: this.keyLimits.ipBound ? '203.0.113.7' : '',
      perm: [
        'read_only',
        ...(this.keyLimits.spotTrade ? ['trade'] : []),
        ...(this.keyLimits.withdraw ? ['withdraw'] : []),
      ].join(','),
      liquidationGear: '-1',
      enableSpotBorrow: false,
      spotBorrowAutoRepay: false,
      type: '0',
      feeType: '0',
      settleCcy: 'USDT',
      settleCcyList: ['USD', 'USDC', 'USDG'],
    };
  }

  /** The documented requests per 2 s of each endpoint. */
  private overLimit(route: Route, params: Params): boolean {
    const key = route.perInstrument ? `${route.name} ${params.get('instId') ?? ''}` : route.name;
    const now = Date.now();
    const w = this.windows.get(key);
    if (!w || now - w.start >= 2_000) {
      this.windows.set(key, { start: now, count: 1 });
      return false;
    }
    w.count += 1;
    return w.count > route.limit;
  }

  // --- OKX endpoints -----------------------------------------------------------------------------------------

  private buildRoutes(): Record<string, Route> {
    const ok = (data: unknown[]): Answer => ({ body: { code: '0', msg: '', data } });
    const r = (
      name: string,
      priv: boolean,
      limit: number,
      handle: Route['handle'],
      perInstrument = false,
    ): Route => ({ name, private: priv, limit, handle, perInstrument });
    return {
      'GET /api/v5/public/time': r('time', false, 10, () => ok([{ ts: String(this.now()) }])),
      'GET /api/v5/public/instruments': r('instruments', false, 20, (p) => {
        const instType = required(p, 'instType');
        return ok(instType === 'SPOT' ? this.listedSymbols().map((s) => this.instrument(s)) : []);
      }),
      'GET /api/v5/market/ticker': r('ticker', false, 20, (p) => ok([this.tickerOf(this.symbolOf(p))])),
      'GET /api/v5/market/candles': r('candles', false, 40, (p) => ok(this.candles(p))),
      'GET /api/v5/asset/currencies': r('currencies', true, 6, () => ok(this.currencies())),
      'GET /api/v5/account/balance': r('balance', true, 10, () => ok([this.accountBalance()])),
      // Trading account "Get account configuration": 5 requests per 2 s; `uid` "Account ID of current request"
      'GET /api/v5/account/config': r('accountConfig', true, 5, () => ok([this.accountConfig()])),
      'POST /api/v5/trade/order': r('createOrder', true, 60, (p, h) => this.createOrder(p, h), true),
      'POST /api/v5/trade/cancel-order': r('cancelOrder', true, 60, (p) => this.cancelOrder(p), true),
      'GET /api/v5/trade/order': r(
        'fetchOrder',
        true,
        60,
        (p) => ok([this.orderJson(this.mustFind(p))]),
        true,
      ),
      'GET /api/v5/trade/orders-pending': r('ordersPending', true, 60, (p) =>
        ok(this.listOrders(p, (o) => isPending(o)).map((o) => this.orderJson(o))),
      ),
      'GET /api/v5/trade/orders-history': r('ordersHistory', true, 40, (p) => {
        required(p, 'instType');
        const now = this.now();
        const state = p.get('state');
        const finished = this.listOrders(
          p,
          (o) =>
            !isPending(o) &&
            (!state || o.state === state) &&
            now - o.uTime <= ORDER_HISTORY_KEPT_MS &&
            !(o.state === 'canceled' && o.accFillSz === 0 && now - o.uTime > CANCELED_UNFILLED_KEPT_MS),
        );
        return ok(finished.map((o) => this.orderJson(o)));
      }),
      'GET /api/v5/trade/fills': r('fills', true, 60, (p) => ok(this.listFills(p))),
      'GET /api/v5/trade/fills-history': r('fillsHistory', true, 10, (p) => {
        required(p, 'instType');
        return ok(this.listFills(p));
      }),
    };
  }

  private instrument(symbol: string): Record<string, unknown> {
    const m = this.marketInfo(symbol);
    return {
      alias: '',
      auctionEndTime: '',
      baseCcy: m.base,
      category: '1',
      ctMult: '',
      ctType: '',
      ctVal: '',
      ctValCcy: '',
      contTdSwTime: '1704876947000',
      expTime: '',
      futureSettlement: false,
      groupId: '1',
      instFamily: '',
      instId: instIdOf(symbol),
      instType: 'SPOT',
      lever: '10',
      listTime: '1606468572000',
      lotSz: fmt(m.amountStep),
      maxIcebergSz: '9999999999.0000000000000000',
      maxLmtAmt: fmt(this.options.maxLmtAmt ?? 1_000_000),
      maxLmtSz: fmt(this.options.maxLmtSz ?? 9_999_999_999),
      maxMktAmt: fmt(this.options.maxMktAmt ?? 1_000_000),
      maxMktSz: fmt(this.options.maxMktSz ?? 1_000_000),
      maxStopSz: '',
      maxTriggerSz: '9999999999.0000000000000000',
      maxTwapSz: '9999999999.0000000000000000',
      minSz: fmt(m.minAmount),
      optType: '',
      openType: 'call_auction',
      preMktSwTime: '',
      quoteCcy: m.quote,
      tradeQuoteCcyList: [m.quote],
      settleCcy: '',
      // instrument state: live, suspend, preopen, test
      state: this.haltedSymbols.has(symbol) ? 'suspend' : 'live',
      ruleType: 'normal',
      stk: '',
      tickSz: fmt(m.priceStep),
      uly: '',
      instIdCode: 1_000_000_000 + this.symbols.indexOf(symbol),
      instCategory: '1',
      upcChg: [],
    };
  }

  private currencies(): unknown[] {
    const codes = new Set(this.symbols.flatMap((s) => s.split('/')));
    return [...codes].map((ccy) => ({
      canDep: true,
      canInternal: true,
      canWd: true,
      ccy,
      chain: `${ccy}-${ccy}`,
      mainNet: true,
      maxFee: '0',
      minFee: '0',
      minWd: '0.0001',
      name: ccy,
    }));
  }

  private accountBalance(): Record<string, unknown> {
    // a lagging answer is dated as of the state it shows
    const uTime = String(this.now() - this.balanceLagMs);
    return {
      adjEq: '',
      availEq: '',
      // "" for the fields not applicable to the account's mode: availEq, upl above Spot mode only
      details: Object.entries(this.accountBalances()).map(([ccy, b]) => {
        const margin = (this.options.acctLv ?? '1') !== '1';
        const upl = margin ? (this.upl.get(ccy) ?? 0) : 0;
        return {
          availBal: fmt(b.free),
          availEq: margin ? fmt(b.free + upl) : '',
          cashBal: fmt(b.free + b.locked),
          ccy,
          eq: fmt(b.free + b.locked + upl),
          frozenBal: fmt(b.locked),
          ordFrozen: fmt(b.locked),
          spotBal: fmt(b.free + b.locked),
          upl: margin ? fmt(upl) : '',
          uTime,
        };
      }),
      totalEq: '0',
      uTime,
    };
  }

  private tickerOf(symbol: string): Record<string, string> {
    const { now, t, open, high, low, volume } = this.daySummary(symbol);
    return {
      instType: 'SPOT',
      instId: instIdOf(symbol),
      last: String(t.last),
      lastSz: '0.1',
      askPx: String(t.ask),
      askSz: '1',
      bidPx: String(t.bid),
      bidSz: '1',
      open24h: String(open),
      high24h: String(high),
      low24h: String(low),
      volCcy24h: fmt(volume * t.last),
      vol24h: fmt(volume),
      sodUtc0: String(open),
      sodUtc8: String(open),
      ts: String(now),
    };
  }

  /** Newest first, at most 300 (default 100); the running candle unconfirmed. */
  private candles(p: Params): string[][] {
    const symbol = this.symbolOf(p);
    const limit = Math.min(Number(p.get('limit') ?? 100), 300);
    const candles = this.recentCandles(symbol, limit);
    return candles
      .map(([t, o, h, l, c, v], i) => [
        String(t),
        String(o),
        String(h),
        String(l),
        String(c),
        fmt(v),
        fmt(v * c),
        fmt(v * c),
        i === candles.length - 1 ? '0' : '1',
      ])
      .reverse();
  }

  private symbolOf(p: Params): string {
    const instId = required(p, 'instId');
    const symbol = this.symbols.find((s) => instIdOf(s) === instId);
    if (!symbol) throw new OkxError('51001', "Instrument ID, Instrument ID code or Spread ID doesn't exist.");
    return symbol;
  }

  private symbolOfInst(instId: string): string {
    return this.symbols.find((s) => instIdOf(s) === instId)!;
  }

  /** Orders the reads know: not those younger than the lookup lag. */
  private visibleOrders(): OkxOrder[] {
    return this.known(this.orders, (o) => o.cTime).filter((o) => !this.purged.has(o.ordId));
  }

  /** Orders forgotten by every order read (`purge`), by ordId. */
  private readonly purged = new Set<string>();
  /**
   * The unrealized P&L of each currency's margin and derivatives positions (`upl`: Futures mode / Multi-currency
   * margin / Portfolio margin): equity — `eq`, `availEq` — the account does not hold as coin. Set by a test (the
   * double has no derivatives to earn it); counts only above Spot mode.
   */
  readonly upl = new Map<string, number>();

  purge(clOrdId: string): void {
    const order = this.orders.filter((o) => o.clOrdId === clOrdId).pop();
    if (!order) throw new Error(`no order ${clOrdId} to purge`);
    if (isPending(order)) this.cancelOrder(new URLSearchParams({ instId: order.instId, ordId: order.ordId }));
    this.purged.add(order.ordId);
  }

  /** GET order: by ordId, else the latest order with the clOrdId. */
  private mustFind(p: Params): OkxOrder {
    const instId = instIdOf(this.symbolOf(p));
    const ordId = p.get('ordId');
    const clOrdId = p.get('clOrdId');
    if (!ordId && !clOrdId) throw new OkxError('51003', 'Either client order ID or order ID is required.');
    const candidates = this.visibleOrders().filter(
      (o) => o.instId === instId && (ordId ? o.ordId === ordId : o.clOrdId === clOrdId),
    );
    const order = candidates[candidates.length - 1];
    if (!order) throw new OkxError('51603', 'Order does not exist.');
    return order;
  }

  /**
   * Newest first, filtered by instType/instId, at most `limit` (≤ 100, default 100); `after`: only orders older than
   * that ordId ("records earlier than the requested ordId"), `before`: only newer ones.
   */
  private listOrders(p: Params, keep: (o: OkxOrder) => boolean): OkxOrder[] {
    const instType = p.get('instType');
    const instId = p.get('instId');
    const limit = pageLimit(p);
    if (instType && instType !== 'SPOT') return [];
    return this.visibleOrders()
      .filter((o) => (!instId || o.instId === instId) && keep(o) && withinPage(o.ordId, p))
      .reverse()
      .slice(0, limit);
  }

  private listFills(p: Params): unknown[] {
    const instType = p.get('instType');
    const instId = p.get('instId');
    const ordId = p.get('ordId');
    const begin = p.get('begin');
    const end = p.get('end');
    const limit = pageLimit(p);
    if (instType && instType !== 'SPOT') return [];
    const cutoff = this.now() - this.lookupLagMs;
    // newest first; `after`/`before` page by billId ("records earlier / newer than the requested billId")
    return this.fills
      .filter(
        (f) =>
          f.ts <= cutoff &&
          withinPage(f.billId, p) &&
          (!instId || f.instId === instId) &&
          (!ordId || f.ordId === ordId) &&
          (!begin || f.ts >= Number(begin)) &&
          (!end || f.ts <= Number(end)),
      )
      .reverse()
      .slice(0, limit)
      .map((f) => fillJson(f));
  }

  private createOrder(p: Params, headers: http.IncomingHttpHeaders): Answer {
    // Transaction timeouts: "the request will not be processed if the current system time of the server is after
    // the expTime"
    const expTime = headers.exptime;
    if (typeof expTime === 'string' && this.now() > Number(expTime)) {
      throw new OrderRefused('50037', 'Order expired.');
    }
    const symbol = this.symbolOf(p);
    const m = this.marketInfo(symbol);
    const [base, quote] = symbol.split('/');
    if (p.get('tdMode') !== 'cash') throw new OrderRefused('51000', 'Parameter tdMode error');
    const side = p.get('side');
    if (side !== 'buy' && side !== 'sell') throw new OrderRefused('51000', 'Parameter side error');
    const ordType = p.get('ordType');
    if (ordType !== 'market' && ordType !== 'limit')
      throw new OrderRefused('51000', 'Parameter ordType error');
    const clOrdId = p.get('clOrdId') ?? '';
    if (clOrdId !== '' && !CLORDID.test(clOrdId)) throw new OrderRefused('51000', 'Parameter clOrdId error');
    // "unique among all currently pending (live or partially_filled) orders"
    if (clOrdId !== '' && this.orders.some((o) => o.clOrdId === clOrdId && isPending(o))) {
      throw new OrderRefused('51016', 'Client order ID already exists.');
    }
    const sz = Number(p.get('sz'));
    if (!(sz > 0)) throw new OrderRefused('51000', 'Parameter sz error');
    const t = this.ticker(symbol);
    const limit = ordType === 'limit' ? Number(p.get('px')) : undefined;
    if (limit !== undefined && (!(limit > 0) || !onGrid(limit, m.priceStep))) {
      throw new OrderRefused('51000', 'Parameter px error');
    }
    // a SPOT market buy's sz is the quote to spend unless tgtCcy=base_ccy ("Default is quote_ccy for buy")
    const tgtCcy = p.get('tgtCcy') ?? '';
    const inQuote = ordType === 'market' && side === 'buy' && tgtCcy !== 'base_ccy';
    const qty = inQuote ? floorTo(sz / t.ask, m.amountStep) : sz;
    if (!inQuote && !onGrid(qty, m.amountStep)) {
      throw new OrderRefused('51121', 'Order quantity must be a multiple of the lot size.');
    }
    if (!(qty >= m.minAmount)) {
      throw new OrderRefused('51020', 'Your order should meet or exceed the minimum order amount.');
    }
    const refPrice = limit ?? (side === 'buy' ? t.ask : t.bid);
    this.checkMaximums(ordType, qty, inQuote ? sz : qty * refPrice);
    const spend = side === 'buy' ? (inQuote ? sz : qty * refPrice) : qty;
    const spendCcy = side === 'buy' ? quote : base;
    if (this.wallet.free(spendCcy) + 1e-12 < spend) {
      throw new OrderRefused('51008', `Order failed. Insufficient ${spendCcy} balance in account`, '1000');
    }
    const now = this.now();
    const order: OkxOrder = {
      instId: instIdOf(symbol),
      ordId: `1752588852${String(this.nextOrderId++).padStart(9, '0')}`,
      clOrdId,
      side,
      ordType,
      sz: fmt(sz),
      tgtCcy: ordType === 'market' ? tgtCcy || (side === 'buy' ? 'quote_ccy' : 'base_ccy') : '',
      px: limit !== undefined ? fmt(limit) : '',
      qty,
      accFillSz: 0,
      fillCost: 0,
      fee: 0,
      rebate: 0,
      feeCcy: this.options.feeInQuote || side === 'sell' ? quote : base,
      rebateCcy: this.options.feeInQuote || side === 'sell' ? base : quote,
      fillPx: '',
      fillSz: '0',
      fillTime: '',
      tradeId: '',
      state: 'live',
      cTime: now,
      uTime: now,
    };
    this.orders.push(order);
    const marketable = limit === undefined || (side === 'buy' ? limit >= t.ask : limit <= t.bid);
    if (marketable) {
      this.walkBook(t, side === 'buy', qty, m.amountStep, limit, (part, price) =>
        this.fill(order, part, price, 'T'),
      );
      // a market order takes what the book holds, the rest is cancelled: state `canceled`, cancelSource "14: Order
      // canceled: IOC order was partially canceled due to incompletely filled" (Trade, GET / Order details)
      if (ordType === 'market' && order.accFillSz < order.qty - 1e-12) {
        order.state = 'canceled';
        order.cancelSource = '14';
      }
    } else {
      this.wallet.hold(symbol, side === 'buy', qty, limit!);
    }
    return {
      body: {
        code: '0',
        msg: '',
        data: [{ clOrdId, ordId: order.ordId, tag: '', ts: String(now), sCode: '0', sMsg: '', subCode: '' }],
        inTime: `${now}000`,
        outTime: `${now}001`,
      },
    };
  }

  /**
   * The largest order (public/instruments, SPOT): a limit order's `sz` at most maxLmtSz (base) and its value at most
   * maxLmtAmt (USD): 51203 "Order amount exceeds the limit {0}."; a market order's value at most maxMktSz ("the
   * quantity in USDT"): 51202 "Market order amount exceeds the maximum amount.", and at most maxMktAmt (USD): 51201
   * "The value of a market order can't exceed {0}." A market order is valued at the price it fills at first (the
   * markets here are quoted in USDT: one USD).
   */
  private checkMaximums(ordType: 'market' | 'limit', qty: number, value: number): void {
    const o = this.options;
    if (ordType === 'limit') {
      const maxSz = o.maxLmtSz ?? 9_999_999_999;
      if (qty > maxSz) throw new OrderRefused('51203', `Order amount exceeds the limit ${fmt(maxSz)}.`);
      const maxAmt = o.maxLmtAmt ?? 1_000_000;
      if (value > maxAmt) throw new OrderRefused('51203', `Order amount exceeds the limit ${fmt(maxAmt)}.`);
      return;
    }
    if (value > (o.maxMktSz ?? 1_000_000)) {
      throw new OrderRefused('51202', 'Market order amount exceeds the maximum amount.');
    }
    const maxAmt = o.maxMktAmt ?? 1_000_000;
    if (value > maxAmt)
      throw new OrderRefused('51201', `The value of a market order can't exceed ${fmt(maxAmt)}.`);
  }

  private matchRestingOrders(): void {
    this.matchResting(
      this.orders.filter((o) => o.ordType === 'limit' && isPending(o)),
      (o) => ({
        id: o.ordId,
        symbol: this.symbolOfInst(o.instId),
        buy: o.side === 'buy',
        price: Number(o.px),
        qty: o.qty,
        left: round8(o.qty - o.accFillSz),
      }),
      (o, qty, price) => this.fill(o, qty, price, 'M'),
    );
  }

  private fill(order: OkxOrder, qty: number, price: number, execType: 'T' | 'M'): void {
    const symbol = this.symbolOfInst(order.instId);
    const [base] = symbol.split('/');
    const now = this.now();
    const cost = qty * price;
    const taker = this.options.feeRate ?? 0.001;
    const rate = execType === 'M' ? (this.options.makerFeeRate ?? taker) : taker;
    // a negative rate is a maker rebate: "the rebate is positive" in the fill's `fee`, in the order's `rebateCcy`
    // ("For maker sell orders of Spot and Margin, this represents the base currency")
    const ccy = rate < 0 ? order.rebateCcy : order.feeCcy;
    const fee = ccy === base ? round8(qty * rate) : round8(cost * rate);
    this.wallet.settle(symbol, order.side === 'buy', qty, cost, ccy, fee);
    const tradeId = String(this.nextTradeId++);
    order.accFillSz = round8(order.accFillSz + qty);
    order.fillCost += cost;
    if (rate < 0) order.rebate = round8(order.rebate - fee);
    else order.fee = round8(order.fee - fee);
    order.fillPx = fmt(price);
    order.fillSz = fmt(qty);
    order.fillTime = String(now);
    order.tradeId = tradeId;
    order.state = order.accFillSz >= order.qty - 1e-12 ? 'filled' : 'partially_filled';
    order.uTime = now;
    this.fills.push({
      instId: order.instId,
      tradeId,
      ordId: order.ordId,
      clOrdId: order.clOrdId,
      billId: `6808000197${String(this.fills.length + 1).padStart(9, '0')}`,
      side: order.side,
      fillPx: fmt(price),
      fillSz: fmt(qty),
      fee: fmt(-fee),
      feeCcy: ccy,
      feeRate: fmt(-rate),
      execType,
      ts: now,
    });
  }

  private cancelOrder(p: Params): Answer {
    const instId = instIdOf(this.symbolOf(p));
    const ordId = p.get('ordId');
    const clOrdId = p.get('clOrdId');
    if (!ordId && !clOrdId) throw new OkxError('51003', 'Either client order ID or order ID is required.');
    const order = this.visibleOrders()
      .filter((o) => o.instId === instId && (ordId ? o.ordId === ordId : o.clOrdId === clOrdId))
      .pop();
    // OKX error codes (REST, Trade): 51400 "Order cancellation failed as the order has been filled, canceled or does
    // not exist." — one code for all three on spot; 51401 "already canceled" and 51402 "already completed" are marked
    // "(Only applicable to Nitro Spread)", so a spot cancel never answers them
    if (!order || !isPending(order)) {
      throw new OrderRefused(
        '51400',
        'Order cancellation failed as the order has been filled, canceled or does not exist.',
      );
    }
    if (this.cancelsUnderWay.has(order.ordId)) {
      throw new OrderRefused('51410', 'Cancellation failed as the order is already under cancelling status.');
    }
    const carryOut = (): void => {
      this.cancelsUnderWay.delete(order.ordId);
      if (!isPending(order)) return;
      const rest = round8(order.qty - order.accFillSz);
      this.wallet.release(this.symbolOfInst(order.instId), order.side === 'buy', rest, Number(order.px));
      order.state = 'canceled';
      order.uTime = this.now();
    };
    const now = this.now();
    if (this.cancelLagMs > 0) {
      // accepted now, carried out later
      this.cancelsUnderWay.add(order.ordId);
      setTimeout(carryOut, this.cancelLagMs).unref();
    } else carryOut();
    return {
      body: {
        code: '0',
        msg: '',
        data: [{ clOrdId: order.clOrdId, ordId: order.ordId, ts: String(now), sCode: '0', sMsg: '' }],
        inTime: `${now}000`,
        outTime: `${now}001`,
      },
    };
  }

  private orderJson(o: OkxOrder): Record<string, unknown> {
    return {
      accFillSz: fmt(o.accFillSz),
      algoClOrdId: '',
      algoId: '',
      attachAlgoClOrdId: '',
      attachAlgoOrds: [],
      avgPx: o.accFillSz > 0 ? fmt(o.fillCost / o.accFillSz) : '',
      cTime: String(o.cTime),
      cancelSource: o.state === 'canceled' ? (o.cancelSource ?? '1') : '',
      cancelSourceReason:
        o.state !== 'canceled'
          ? ''
          : o.cancelSource === '14'
            ? 'Order canceled: IOC order was partially canceled due to incompletely filled'
            : 'Order canceled by user',
      category: 'normal',
      ccy: '',
      clOrdId: o.clOrdId,
      fee: fmt(o.fee),
      feeCcy: o.feeCcy,
      fillPx: o.fillPx,
      fillSz: o.fillSz,
      fillTime: o.fillTime,
      instId: o.instId,
      instType: 'SPOT',
      isTpLimit: 'false',
      lever: '',
      linkedAlgoOrd: { algoId: '' },
      ordId: o.ordId,
      ordType: o.ordType,
      pnl: '0',
      posSide: 'net',
      px: o.px,
      pxType: '',
      pxUsd: '',
      pxVol: '',
      quickMgnType: '',
      rebate: fmt(o.rebate),
      rebateCcy: o.rebateCcy,
      reduceOnly: 'false',
      side: o.side,
      slOrdPx: '',
      slTriggerPx: '',
      slTriggerPxType: '',
      source: '',
      state: o.state,
      stpId: '',
      stpMode: 'cancel_maker',
      sz: o.sz,
      tag: '',
      tdMode: 'cash',
      tgtCcy: o.tgtCcy,
      tpOrdPx: '',
      tpTriggerPx: '',
      tpTriggerPxType: '',
      tradeId: o.tradeId,
      tradeQuoteCcy: o.instId.split('-')[1],
      uTime: String(o.uTime),
    };
  }
}

function fillJson(f: OkxFill): Record<string, string> {
  return {
    side: f.side,
    fillSz: f.fillSz,
    fillPx: f.fillPx,
    fillPxVol: '',
    fillFwdPx: '',
    fee: f.fee,
    fillPnl: '0',
    ordId: f.ordId,
    feeRate: f.feeRate,
    instType: 'SPOT',
    fillPxUsd: '',
    instId: f.instId,
    clOrdId: f.clOrdId,
    posSide: 'net',
    billId: f.billId,
    subType: f.side === 'buy' ? '1' : '2',
    fillMarkVol: '',
    tag: '',
    fillTime: String(f.ts),
    execType: f.execType,
    fillIdxPx: '',
    tradeId: f.tradeId,
    fillMarkPx: '',
    feeCcy: f.feeCcy,
    ts: String(f.ts),
    tradeQuoteCcy: f.instId.split('-')[1],
  };
}

/**
 * A POST's JSON body joins the parameters (string fields only: what the order endpoints take); a body that is not
 * a JSON object is OKX's 50002 "JSON syntax error".
 */
function mergeJsonBody(rawBody: string, params: Params): Answer | undefined {
  if (rawBody === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawBody);
  } catch {
    parsed = undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { status: 400, body: { code: '50002', msg: 'JSON syntax error', data: [] } };
  }
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') params.set(k, String(v));
  }
  return undefined;
}

function required(p: Params, name: string): string {
  const value = p.get(name);
  if (!value) throw new OkxError('50014', `Parameter ${name} can not be empty.`, 400);
  return value;
}

function instIdOf(symbol: string): string {
  return symbol.replace('/', '-');
}

function isPending(o: OkxOrder): boolean {
  return o.state === 'live' || o.state === 'partially_filled';
}

/** OKX's number strings: no exponent, no trailing zeros. */
function fmt(n: number): string {
  const s = n.toFixed(8);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** `limit`: "The maximum is 100; The default is 100" (a larger one is answered with 100). */
function pageLimit(p: Params): number {
  return Math.min(Math.max(1, Number(p.get('limit') ?? 100)), 100);
}

/** Whether a row's id (ordId or billId: numeric strings) lies between the request's `after` and `before`. */
function withinPage(id: string, p: Params): boolean {
  const after = p.get('after');
  const before = p.get('before');
  return (!after || BigInt(id) < BigInt(after)) && (!before || BigInt(id) > BigInt(before));
}
