/**
 * The shell every local exchange double shares (fake-binance.ts, fake-bybit.ts, fake-okx.ts): the loopback HTTP
 * server and its close, the request log, the one-shot faults (a queued fault is served instead of, around or after
 * the request's work), pinned prices over the simulated market, the server clock with its skew, the wallet, and the
 * matching of marketable and resting orders. What differs per exchange is only what its public documentation says:
 * its routes, its authentication, its error and answer shapes — each double keeps those and nothing else.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Candle, Market } from '../../src/trading/exchange/exchange';
import { SimulatedMarket, simulatedMarketInfo } from '../../src/trading/exchange/simulated-market';
import { FaultQueue } from './fault-queue';
import type { LocalExchange, LocalFault, LocalKeyLimits, LocalRoute, LocalTrade } from './local-exchange';
import { Wallet } from './wallet';

/** The faults every double serves the same way, whatever the exchange. */
export type TransportFault =
  /** Never answer (until the server closes). */
  | { kind: 'timeout' }
  /** Answer normally after a delay. */
  | { kind: 'delay'; ms: number }
  /** Destroy the connection before doing anything. */
  | { kind: 'reset' }
  /** Do the work (an order is taken) and then destroy the connection: the answer is lost. */
  | { kind: 'lose-response' }
  /** Do the work, then never answer: the matching engine took the order, its HTTP answer never arrives. */
  | { kind: 'taken-then-hang' };

const TRANSPORT_KINDS: ReadonlySet<string> = new Set([
  'timeout',
  'delay',
  'reset',
  'lose-response',
  'taken-then-hang',
]);

/** An HTTP answer: a JSON body, or `text` as text/plain. */
export interface Answer {
  status?: number;
  body?: unknown;
  text?: string;
  headers?: Record<string, string>;
}

/** A request as the double read it. */
export interface ExchangeRequest {
  req: http.IncomingMessage;
  method: string;
  url: URL;
  rawBody: string;
  /** The route name (what `faults.next` matches), undefined for a path the exchange does not serve. */
  route?: string;
  /** Query and body parameters together. */
  params: URLSearchParams;
  /** A body the exchange refuses to read: answered after the faults, instead of the work. */
  invalid?: Answer;
}

export interface LoggedRequest {
  method: string;
  path: string;
  route: string;
  at: number;
  /** When its answer was written (Date.now()), if one was: a test orders other requests against it, not by time. */
  answeredAt?: number;
  /** When the connection it came on was opened (Date.now()): tells a killed client's last requests from a new one's. */
  connectedAt: number;
  /** A create's client order id, whatever the exchange calls it. */
  clientOrderId?: string;
  /** Query and body parameters, as strings. */
  params: Record<string, string>;
  /** A JSON body as sent (numbers stay numbers). */
  body?: Record<string, unknown>;
  /** OKX's `expTime` header, when sent. */
  expTime?: string;
}

/**
 * An error answer of an exchange double, thrown by a route: the exchange's own error code (Binance -2010, Bybit
 * 170131, OKX "51008"), its message, and the HTTP status the exchange sends it with (each double's default).
 */
export class ExchangeApiError<Code extends number | string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface FakeExchangeOptions {
  /** Credentials private endpoints require; default `test-key` / `test-secret`. */
  apiKey?: string;
  secret?: string;
  /**
   * The account's id as the exchange's account call answers it (Binance GET /api/v3/account `uid`, Bybit GET
   * /v5/user/query-api `userID`, OKX GET /api/v5/account/config `uid`): the same for every key of the account
   * (`rotateKey`); another double stands for another account with another id. Default: each double's own.
   */
  accountUid?: string;
  /** Starting balances; default 10 000 USDT. */
  balances?: Record<string, number>;
  /** Markets listed, ccxt symbols; default BTC/USDT and ETH/USDT. */
  symbols?: string[];
  seed?: number;
  /** Simulated time per candle (default 60 s). */
  candleMs?: number;
  /** Fee rate per trade; default 0.001 (0.1 %). */
  feeRate?: number;
  /**
   * Fee rate of a maker's trade (a resting limit order filled); default `feeRate`. Negative: a maker rebate, paid as
   * each exchange documents it (Bybit: "Spot Fee Currency Instruction"; OKX: `fee` positive, in `rebateCcy`).
   */
  makerFeeRate?: number;
  /** A marketable order fills in this many trades at slightly worse prices (default 1). */
  marketFillParts?: number;
  /**
   * The share of a MARKET order the book holds (default 1: all of it). A market order is immediate-or-cancel on
   * every verified exchange: what the book (or the exchange's price protection) does not take is cancelled, and the
   * order ends with what filled — Binance `EXPIRED` ("LIMIT IOC or MARKET orders that partially fill"), Bybit
   * `PartiallyFilledCanceled` (spot only; a Market order is IOC), OKX `canceled` with cancelSource `14` ("IOC order
   * was partially canceled due to incompletely filled").
   */
  marketBookShare?: number;
  /** A resting limit order fills in this many slices, one per match (default 1: whole at once). */
  limitFillSlices?: number;
  /** Least time between two partial fills of one resting order (default 0). */
  matchIntervalMs?: number;
  /** Reads do not know an order (or its trades) younger than this (default 0). */
  lookupLagMs?: number;
  /** The account read answers the balances as they stood this long ago (default 0: as they are). */
  balanceLagMs?: number;
  /** Loopback port to listen on (default: any free one), e.g. to come back where a stopped double was. */
  port?: number;
}

/** A resting order as the matcher needs it, whatever the exchange's shape. */
export interface RestingOrder {
  /** The exchange's order id (the key of the least time between two slices). */
  id: string | number;
  /** ccxt symbol. */
  symbol: string;
  buy: boolean;
  price: number;
  /** The base amount the order trades, and what is left of it. */
  qty: number;
  left: number;
}

/** The exchange's own fault kinds besides the transport ones (`X`), and its request log. */
export abstract class FakeExchangeServer<
  X extends { kind: string },
  O extends FakeExchangeOptions,
> implements LocalExchange {
  readonly faults = new FaultQueue<TransportFault | X>();
  /** Every request seen, for assertions. */
  readonly requests: LoggedRequest[] = [];
  private readonly connectedAt = new WeakMap<object, number>();
  readonly wallet: Wallet;
  readonly market: SimulatedMarket;
  /** Server clock minus ours (a host whose clock drifts). */
  clockSkewMs = 0;
  lookupLagMs: number;
  balanceLagMs: number;
  /** The share of a market order the book holds (`marketBookShare`); may be changed while running. */
  marketBookShare: number | undefined;
  url = '';
  /** The account's current API key and secret (`rotateKey` replaces them). */
  protected apiKey: string;
  protected secret: string;
  /** Keys this account had before (`rotateKey`): the exchange refuses them now (expired or deleted). */
  protected readonly formerKeys = new Set<string>();
  /**
   * The key's limits as set by a test (`setKeyLimits`); each double answers them in its documented shape. `expiresAt`
   * undefined: the double's own default (Bybit: 90 days after the key was made, when not bound to an IP).
   */
  protected keyLimits: {
    spotTrade: boolean;
    withdraw: boolean;
    ipBound: boolean;
    expiresAt?: number | null;
  } = {
    spotTrade: true,
    withdraw: false,
    ipBound: false,
  };
  protected readonly symbols: string[];
  /** Prices pinned by tests (ticker and the running candle follow them). */
  private readonly pinned = new Map<string, number>();
  /** Half the spread of a pinned price, as a share of it (widenSpread); 0.0001 unless set. */
  private readonly halfSpreads = new Map<string, number>();
  private readonly lastMatch = new Map<string | number, number>();
  private readonly server: http.Server;
  private readonly hanging = new Set<http.ServerResponse>();
  /** Each response's entry in `requests` (its `answeredAt` is set as it is written). */
  private readonly logged = new WeakMap<http.ServerResponse, LoggedRequest>();
  private readonly timers = new Set<NodeJS.Timeout>();

  protected constructor(
    protected readonly options: O,
    /** The exchange's route name for each kind of request of the exchange-neutral tests. */
    private readonly routeNames: Record<LocalRoute, string>,
  ) {
    this.apiKey = options.apiKey ?? 'test-key';
    this.secret = options.secret ?? 'test-secret';
    this.symbols = options.symbols ?? ['BTC/USDT', 'ETH/USDT'];
    this.lookupLagMs = options.lookupLagMs ?? 0;
    this.balanceLagMs = options.balanceLagMs ?? 0;
    this.marketBookShare = options.marketBookShare;
    this.market = new SimulatedMarket({
      seed: options.seed ?? 7,
      volatility: 0.002,
      candleMs: options.candleMs ?? 60_000,
    });
    this.wallet = new Wallet(options.balances ?? { USDT: 10_000 }, () => this.now());
    this.server = http.createServer((req, res) => this.onRequest(req, res));
    this.server.on('connection', (socket) => this.connectedAt.set(socket, Date.now()));
  }

  /**
   * The account's API key replaced by a new one (the old one expired, or was deleted after a leak): the same account
   * — balances, orders, trades, id — answers the new key only; the old one is refused as the exchange refuses an
   * unknown key. OKX's passphrase belongs to the key: `FakeOkx` takes the new one too.
   */
  rotateKey(apiKey: string, secret: string): void {
    this.formerKeys.add(this.apiKey);
    this.apiKey = apiKey;
    this.secret = secret;
  }

  setKeyLimits(limits: LocalKeyLimits): void {
    this.keyLimits = { ...this.keyLimits, ...limits };
  }

  /** The key's end has passed (an end set by a test; the double's default end is never reached in a test). */
  protected keyExpired(): boolean {
    const at = this.keyLimits.expiresAt;
    return typeof at === 'number' && this.now() >= at;
  }

  /** Starts `fake` listening on loopback (`port`, or any free one). */
  protected static async listening<T extends FakeExchangeServer<{ kind: string }, FakeExchangeOptions>>(
    fake: T,
  ): Promise<T> {
    const server = fake.server;
    await new Promise<void>((resolve) => server.listen(fake.options.port ?? 0, '127.0.0.1', resolve));
    fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return fake;
  }

  get balances(): Record<string, { free: number; locked: number }> {
    return this.wallet.balances;
  }

  /** Pins the price of a symbol (until `unpin`), e.g. to fire a stop-loss. */
  pinPrice(symbol: string, price: number): void {
    this.pinned.set(symbol, price);
  }

  unpin(symbol: string): void {
    this.pinned.delete(symbol);
  }

  /**
   * The book of a pinned `symbol` thins out: its best bid and ask stand `share` of the last price below and above it
   * (a gap, a market maker gone), until set back (0.0001, the default).
   */
  widenSpread(symbol: string, share: number): void {
    this.halfSpreads.set(symbol, share);
  }

  /** Halts a symbol: its markets entry says the exchange's not-trading status (Binance BREAK…) until `resume`. */
  halt(symbol: string): void {
    this.haltedSymbols.add(symbol);
  }

  resume(symbol: string): void {
    this.haltedSymbols.delete(symbol);
  }

  /** Symbols halted by tests (each double writes its own documented status for them). */
  protected readonly haltedSymbols = new Set<string>();

  /**
   * The exchange changes a symbol's trading rules (amount step, minimum amount, price tick, minimum order value),
   * listed by its markets read and applied to every order from now on, orders it already holds keep theirs. Each
   * exchange documents that it does, at an announced time, between any two markets reads of a bot: Binance "Updates
   * on Tick Size for Spot Trading Pairs (2024-01-19)" (binance.com/en/support/announcement, "Tick size via API will
   * also change. API users may use GET /api/v3/exchangeInfo for the latest tick size", "orders placed before the
   * update will still be matched with the original tick size"; filters.md: LOT_SIZE stepSize/minQty, PRICE_FILTER
   * tickSize, NOTIONAL minNotional are checked on every new order); Bybit's instruments-info `lotSizeFilter` /
   * `priceFilter` and OKX's instruments `lotSz` / `minSz` / `tickSz` are likewise the current rules.
   */
  setMarketRules(
    symbol: string,
    rules: Partial<Pick<Market, 'amountStep' | 'minAmount' | 'priceStep' | 'minNotional'>>,
  ): void {
    this.marketRules.set(symbol, { ...this.marketRules.get(symbol), ...rules });
  }

  private readonly marketRules = new Map<string, Partial<Market>>();

  /** A symbol's trading rules now: the simulated market's, as `setMarketRules` changed them. */
  protected marketInfo(symbol: string): Market {
    return { ...simulatedMarketInfo(symbol), ...this.marketRules.get(symbol) };
  }

  /** Takes a symbol out of the markets list (delisted); its other routes keep answering. */
  delist(symbol: string): void {
    this.delistedSymbols.add(symbol);
  }

  private readonly delistedSymbols = new Set<string>();

  /** The symbols the markets list shows. */
  protected listedSymbols(): string[] {
    return this.symbols.filter((s) => !this.delistedSymbols.has(s));
  }

  // --- LocalExchange: the view the exchange-neutral live tests use ----------------------------------------------

  fault(route: LocalRoute, fault: LocalFault, symbol?: string): void {
    this.faults.next(
      this.routeNames[route],
      this.documentedFault(fault),
      symbol ? this.symbolParams(symbol) : undefined,
    );
  }

  clearFaults(): void {
    this.faults.clear();
  }

  createRequests(): string[] {
    return this.requests.filter((r) => r.route === 'createOrder').map((r) => r.clientOrderId ?? '');
  }

  requestCount(route: LocalRoute): number {
    return this.requests.filter((r) => r.route === this.routeNames[route]).length;
  }

  /** This exchange's name of a kind of request, as `requests` log it. */
  routeName(route: LocalRoute): string {
    return this.routeNames[route];
  }

  balance(asset: string): number {
    return this.wallet.total(asset);
  }

  ordersWithClientId(clientOrderId: string): number {
    return this.orderClientIds().filter((id) => id === clientOrderId).length;
  }

  abstract orderClientIds(): string[];
  abstract purge(clientOrderId: string): void;
  abstract trades(symbol?: string): LocalTrade[];

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // --- what each exchange's documentation says ------------------------------------------------------------------

  /** The exchange's documented answer for a semantic fault. */
  protected abstract documentedFault(fault: LocalFault): TransportFault | X;
  /** The parameters that name `symbol` in the exchange's requests (what a fault aimed at it matches). */
  protected abstract symbolParams(symbol: string): Record<string, string>;
  /** Route, parameters and log fields of a request. */
  protected abstract readRequest(
    req: http.IncomingMessage,
    url: URL,
    rawBody: string,
  ): { route?: string; params: URLSearchParams; invalid?: Answer; log?: Partial<LoggedRequest> };
  /** Authentication, rate limits, the work and the exchange's answer (resting orders matched first). */
  protected abstract dispatch(request: ExchangeRequest): Answer;
  /** The answer an exchange's own fault kind serves instead of the work, if it does. */
  protected abstract answerInstead(fault: X, request: ExchangeRequest): Answer | undefined;
  /** The answer an exchange's own fault kind serves after the work was done, if it does. */
  protected abstract answerAfterWork(fault: X): Answer | undefined;

  /** A refusal before the faults are looked at (a gateway limit); none by default. */
  protected refuseEarly(_request: ExchangeRequest): Answer | undefined {
    return undefined;
  }

  protected readonly contentType: string = 'application/json';

  // --- the clock, prices and matching ---------------------------------------------------------------------------

  protected now(): number {
    return Date.now() + this.clockSkewMs;
  }

  protected ticker(symbol: string): { last: number; bid: number; ask: number } {
    const t = this.market.ticker(symbol, this.now());
    const pinned = this.pinned.get(symbol);
    if (pinned === undefined) return t;
    const half = pinned * (this.halfSpreads.get(symbol) ?? 0.0001);
    return { last: pinned, bid: round8(pinned - half), ask: round8(pinned + half) };
  }

  /** The last `limit` candles, oldest first; the running one follows a pinned price. */
  protected recentCandles(symbol: string, limit: number): Candle[] {
    const candles = this.market.candles(symbol, this.now(), limit);
    const pinned = this.pinned.get(symbol);
    if (pinned !== undefined && candles.length > 0) {
      const last = candles[candles.length - 1];
      candles[candles.length - 1] = [
        last[0],
        last[1],
        Math.max(last[2], pinned),
        Math.min(last[3], pinned),
        pinned,
        last[5],
      ];
    }
    return candles;
  }

  /** The 24 hours up to now: the ticker and the day's open, high, low and base volume. */
  protected daySummary(symbol: string): {
    now: number;
    t: { last: number; bid: number; ask: number };
    open: number;
    high: number;
    low: number;
    volume: number;
  } {
    const now = this.now();
    const t = this.ticker(symbol);
    const day = this.market.candles(symbol, now, 24 * 60);
    return {
      now,
      t,
      open: day[0][1],
      high: Math.max(t.last, ...day.map((c) => c[2])),
      low: Math.min(t.last, ...day.map((c) => c[3])),
      volume: day.reduce((s, c) => s + c[5], 0),
    };
  }

  /**
   * What the account read answers: the balances as they stood `balanceLagMs` ago (a read served from a store that
   * lags the matching engine, like the order reads: Binance's account endpoint is "Memory => Database" as its order
   * queries are), else as they are.
   */
  protected accountBalances(): Record<string, { free: number; locked: number }> {
    return this.balanceLagMs > 0 ? this.wallet.asOf(this.now() - this.balanceLagMs) : this.wallet.balances;
  }

  /** Items the reads know: not those younger than the lookup lag (`at`: the item's exchange time). */
  protected known<T>(items: T[], at: (item: T) => number): T[] {
    const cutoff = this.now() - this.lookupLagMs;
    return items.filter((item) => at(item) <= cutoff);
  }

  /**
   * A marketable order of `qty` walks the book from ticker `t`: `marketFillParts` trades (`step`: the amount
   * step), each next one slightly worse. A marketable limit order takes the book as a market order does — at the
   * resting orders' prices, the best first, never worse than its limit (a level beyond it trades at the limit: the
   * double keeps no depth to rest the rest against) — as a taker on every exchange: a sell priced under the bid
   * trades at the bid. A market order trades only the `marketBookShare` of it the book holds (floored to the step):
   * the caller ends it as its exchange documents.
   */
  protected walkBook(
    t: { bid: number; ask: number },
    buy: boolean,
    qty: number,
    step: number,
    limit: number | undefined,
    fill: (qty: number, price: number) => void,
  ): void {
    const parts = Math.max(1, this.options.marketFillParts ?? 1);
    const share = this.marketBookShare;
    if (limit === undefined && share !== undefined && share < 1) qty = floorTo(qty * share, step);
    let left = qty;
    for (let i = 0; i < parts && left > 1e-12; i++) {
      const part = i === parts - 1 ? left : floorTo(qty / parts, step);
      if (!(part > 0)) continue;
      const price = round2((buy ? t.ask : t.bid) * (1 + (buy ? 1 : -1) * 0.0001 * i));
      fill(part, limit === undefined ? price : buy ? Math.min(price, limit) : Math.max(price, limit));
      left = round8(left - part);
    }
  }

  /**
   * Resting limit orders the price has crossed fill, `limitFillSlices` slices, at most one per `matchIntervalMs`;
   * a slice leaves the reservation before it is paid for.
   */
  protected matchResting<T>(
    open: T[],
    view: (order: T) => RestingOrder,
    fill: (order: T, qty: number, price: number) => void,
  ): void {
    const now = this.now();
    const slices = Math.max(1, this.options.limitFillSlices ?? 1);
    for (const order of open) {
      const o = view(order);
      const last = this.lastMatch.get(o.id);
      if (last !== undefined && now - last < (this.options.matchIntervalMs ?? 0)) continue;
      const t = this.ticker(o.symbol);
      if (!(o.buy ? t.ask <= o.price : t.bid >= o.price)) continue;
      const step = this.marketInfo(o.symbol).amountStep;
      const slice = Math.min(o.left, Math.max(step, floorTo(o.qty / slices, step)));
      this.wallet.release(o.symbol, o.buy, slice, o.price);
      fill(order, slice, o.price);
      this.lastMatch.set(o.id, now);
    }
  }

  // --- HTTP -----------------------------------------------------------------------------------------------------

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const method = req.method ?? 'GET';
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const read = this.readRequest(req, url, rawBody);
      const request: ExchangeRequest = { req, method, url, rawBody, ...read };
      const logged: LoggedRequest = {
        method,
        path: url.pathname,
        route: read.route ?? 'unknown',
        at: Date.now(),
        connectedAt: this.connectedAt.get(req.socket) ?? Date.now(),
        params: Object.fromEntries(read.params),
        ...read.log,
      };
      this.requests.push(logged);
      this.logged.set(res, logged);
      const early = this.refuseEarly(request);
      if (early) return this.send(res, early);
      const fault = this.faults.take(method, url.pathname, read.route, read.params);
      const own = fault && !isTransport(fault) ? fault : undefined;
      if (fault?.kind === 'reset') return void req.socket.destroy();
      if (fault?.kind === 'timeout') return void this.hanging.add(res);
      const instead = own && this.answerInstead(own, request);
      if (instead) return this.send(res, instead);
      const answer = (): void => {
        const result = request.invalid ?? this.dispatch(request);
        if (fault?.kind === 'lose-response') return void req.socket.destroy();
        if (fault?.kind === 'taken-then-hang') return void this.hanging.add(res);
        this.send(res, (own && this.answerAfterWork(own)) || result);
      };
      if (fault?.kind === 'delay') {
        const timer = setTimeout(
          () => {
            this.timers.delete(timer);
            answer();
          },
          (fault as { ms: number }).ms,
        );
        this.timers.add(timer);
      } else {
        answer();
      }
    });
  }

  private send(res: http.ServerResponse, answer: Answer): void {
    if (res.destroyed) return;
    const logged = this.logged.get(res);
    if (logged) logged.answeredAt = Date.now();
    const text = answer.text !== undefined;
    res.writeHead(answer.status ?? 200, {
      'Content-Type': text ? 'text/plain' : this.contentType,
      ...answer.headers,
    });
    res.end(text ? answer.text : JSON.stringify(answer.body));
  }
}

function isTransport(fault: { kind: string }): fault is TransportFault {
  return TRANSPORT_KINDS.has(fault.kind);
}

export function onGrid(value: number, step: number): boolean {
  return Math.abs(Math.round(value / step) * step - value) <= step * 1e-6;
}

export function floorTo(value: number, step: number): number {
  return round8(Math.floor(value / step + 1e-9) * step);
}

export function round8(n: number): number {
  return Number(n.toFixed(8));
}

function round2(n: number): number {
  return Number(n.toFixed(2));
}
