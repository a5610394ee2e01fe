/**
 * A local fake of Binance's spot REST API, enough for real ccxt (`binance`) to load markets, read tickers and
 * candles, create/fetch/cancel orders by clientOrderId, list open orders, read the balance and trades.
 * Prices come from the simulated market. Private endpoints check the API key header and the HMAC signature
 * exactly as Binance does, so a test also proves ccxt signs what we send.
 *
 * Fault injection: `server.faults.next(match, fault)` queues one fault for the next request matching `match`
 * — a route name (`createOrder`, `fetchOrder`, `cancelOrder`, `openOrders`, `account`, `myTrades`, `ticker`,
 * `klines`, `exchangeInfo`, `time`), a path (`/api/v3/order`), `METHOD path`, or `*`.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SimulatedMarket, simulatedMarketInfo } from '../../src/trading/exchange/simulated-market';

export type FakeFault =
  /** Answer with this HTTP status (and Binance-style body). */
  | { kind: 'status'; status: number; body?: unknown; retryAfterSec?: number }
  /** 429 with Retry-After. */
  | { kind: 'rate-limit'; retryAfterSec: number }
  /** Never answer (until the server closes). */
  | { kind: 'timeout' }
  /** Answer normally after a delay. */
  | { kind: 'delay'; ms: number }
  /** Destroy the connection before doing anything. */
  | { kind: 'reset' }
  /** Do the work (an order is stored) and then destroy the connection: the response is lost. */
  | { kind: 'lose-response' };

export interface FakeOrder {
  symbol: string;
  orderId: number;
  clientOrderId: string;
  side: 'BUY' | 'SELL';
  type: 'MARKET' | 'LIMIT';
  price: string;
  origQty: string;
  executedQty: string;
  cummulativeQuoteQty: string;
  status: 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED';
  timeInForce: string;
  time: number;
  updateTime: number;
}

export interface FakeTrade {
  symbol: string;
  id: number;
  orderId: number;
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

export interface FakeBinanceOptions {
  /** Credentials private endpoints require; default `test-key` / `test-secret`. */
  apiKey?: string;
  secret?: string;
  /** Starting balances; default 10 000 USDT. */
  balances?: Record<string, number>;
  /** Markets listed, ccxt symbols; default BTC/USDT and ETH/USDT. */
  symbols?: string[];
  seed?: number;
  /** Commission charged in the quote asset; default 0.001. */
  feeRate?: number;
}

interface Route {
  name: string;
  private: boolean;
  handle: (params: URLSearchParams) => { status?: number; body: unknown };
}

class FaultQueue {
  private readonly queued: Array<{ match: string; fault: FakeFault }> = [];

  /** Queues `fault` for the next request matching `match` (route name, path, `METHOD path` or `*`). */
  next(match: string, fault: FakeFault): void {
    this.queued.push({ match, fault });
  }

  clear(): void {
    this.queued.length = 0;
  }

  get pending(): number {
    return this.queued.length;
  }

  take(method: string, path: string, route: string | undefined): FakeFault | undefined {
    const index = this.queued.findIndex(
      ({ match }) => match === '*' || match === route || match === path || match === `${method} ${path}`,
    );
    if (index < 0) return undefined;
    return this.queued.splice(index, 1)[0].fault;
  }
}

export class FakeBinance {
  readonly faults = new FaultQueue();
  /** Every order ever accepted, in order. */
  readonly orders: FakeOrder[] = [];
  readonly trades: FakeTrade[] = [];
  /** Every request seen (method, path, route name or `unknown`), for debugging and assertions. */
  readonly requests: Array<{ method: string; path: string; route: string }> = [];
  readonly balances: Record<string, { free: number; locked: number }> = {};
  readonly market: SimulatedMarket;
  private readonly server: http.Server;
  private readonly apiKey: string;
  private readonly secret: string;
  private readonly symbols: string[];
  private readonly feeRate: number;
  private readonly hanging = new Set<http.ServerResponse>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Leave `tradeId` out of an order answer's fills, as some exchanges do (the trades endpoint still has ids). */
  omitFillTradeIds = false;
  private nextOrderId = 1000;
  private nextTradeId = 5000;
  private routes: Record<string, Route>;
  url = '';

  private constructor(options: FakeBinanceOptions) {
    this.apiKey = options.apiKey ?? 'test-key';
    this.secret = options.secret ?? 'test-secret';
    this.symbols = options.symbols ?? ['BTC/USDT', 'ETH/USDT'];
    this.feeRate = options.feeRate ?? 0.001;
    this.market = new SimulatedMarket({ seed: options.seed ?? 7, volatility: 0.002, candleMs: 60_000 });
    for (const [asset, amount] of Object.entries(options.balances ?? { USDT: 10_000 })) {
      this.balances[asset] = { free: amount, locked: 0 };
    }
    this.routes = this.buildRoutes();
    this.server = http.createServer((req, res) => this.onRequest(req, res));
  }

  static async start(options: FakeBinanceOptions = {}): Promise<FakeBinance> {
    const fake = new FakeBinance(options);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    return fake;
  }

  /** Orders with this clientOrderId (a correct client never has more than one). */
  ordersByClientId(clientOrderId: string): FakeOrder[] {
    return this.orders.filter((o) => o.clientOrderId === clientOrderId);
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // --- HTTP --------------------------------------------------------------------------------------------------

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const method = req.method ?? 'GET';
      const key = `${method} ${url.pathname}`;
      const route = this.routes[key];
      this.requests.push({ method, path: url.pathname, route: route?.name ?? 'unknown' });
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const fault = this.faults.take(method, url.pathname, route?.name);
      if (fault?.kind === 'reset') return void req.socket.destroy();
      if (fault?.kind === 'timeout') return void this.hanging.add(res);
      if (fault?.kind === 'rate-limit') {
        return this.send(
          res,
          429,
          { code: -1003, msg: 'Too many requests; current limit is 6000 request weight per 1 MINUTE.' },
          {
            'Retry-After': String(fault.retryAfterSec),
          },
        );
      }
      if (fault?.kind === 'status') {
        const headers: Record<string, string> =
          fault.retryAfterSec !== undefined ? { 'Retry-After': String(fault.retryAfterSec) } : {};
        return this.send(
          res,
          fault.status,
          fault.body ?? {
            code: -1001,
            msg: 'Internal error; unable to process your request. Please try again.',
          },
          headers,
        );
      }
      const answer = (): void => {
        const result = this.dispatch(route, req, url, rawBody);
        if (fault?.kind === 'lose-response') return void req.socket.destroy();
        this.send(res, result.status ?? 200, result.body);
      };
      if (fault?.kind === 'delay') {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          answer();
        }, fault.ms);
        this.timers.add(timer);
      } else {
        answer();
      }
    });
  }

  private dispatch(
    route: Route | undefined,
    req: http.IncomingMessage,
    url: URL,
    rawBody: string,
  ): { status?: number; body: unknown } {
    if (!route)
      return { status: 404, body: { code: -1, msg: `fake binance: no route ${req.method} ${url.pathname}` } };
    const query = url.search.slice(1);
    const params = new URLSearchParams(query);
    if (route.private) {
      if (req.headers['x-mbx-apikey'] !== this.apiKey) {
        return { status: 401, body: { code: -2015, msg: 'Invalid API-key, IP, or permissions for action.' } };
      }
      const signed = req.method === 'POST' ? rawBody : query;
      for (const [k, v] of new URLSearchParams(rawBody)) params.set(k, v);
      const match = /^(.*)&signature=([0-9a-f]+)$/.exec(signed);
      const expected = match ? createHmac('sha256', this.secret).update(match[1]).digest('hex') : undefined;
      if (!match || match[2] !== expected) {
        return { status: 400, body: { code: -1022, msg: 'Signature for this request is not valid.' } };
      }
    }
    try {
      return route.handle(params);
    } catch (err) {
      const code = (err as { code?: number }).code ?? -1100;
      return { status: 400, body: { code, msg: err instanceof Error ? err.message : String(err) } };
    }
  }

  private send(
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    if (res.destroyed) return;
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  // --- Binance endpoints -------------------------------------------------------------------------------------

  private buildRoutes(): Record<string, Route> {
    const r = (name: string, priv: boolean, handle: Route['handle']): Route => ({
      name,
      private: priv,
      handle,
    });
    return {
      'GET /api/v3/ping': r('ping', false, () => ({ body: {} })),
      'GET /api/v3/time': r('time', false, () => ({ body: { serverTime: Date.now() } })),
      'GET /api/v3/exchangeInfo': r('exchangeInfo', false, () => ({ body: this.exchangeInfo() })),
      'GET /api/v3/ticker/24hr': r('ticker', false, (p) => ({ body: this.ticker24h(this.symbolOf(p)) })),
      'GET /api/v3/ticker/price': r('ticker', false, (p) => {
        const s = this.symbolOf(p);
        return { body: { symbol: s.replace('/', ''), price: String(this.market.lastPrice(s, Date.now())) } };
      }),
      'GET /api/v3/ticker/bookTicker': r('ticker', false, (p) => {
        const s = this.symbolOf(p);
        const t = this.market.ticker(s, Date.now());
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
      'GET /api/v3/klines': r('klines', false, (p) => {
        const limit = Math.min(Number(p.get('limit') ?? 500), 1000);
        const candles = this.market.candles(this.symbolOf(p), Date.now(), limit);
        return {
          body: candles.map(([t, o, h, l, c, v]) => [
            t,
            String(o),
            String(h),
            String(l),
            String(c),
            String(v),
            t + 59_999,
            String(v * c),
            10,
            '0',
            '0',
            '0',
          ]),
        };
      }),
      'POST /api/v3/order': r('createOrder', true, (p) => this.createOrder(p)),
      'GET /api/v3/order': r('fetchOrder', true, (p) => {
        const order = this.findOrder(p);
        return order ? { body: order } : { status: 400, body: { code: -2013, msg: 'Order does not exist.' } };
      }),
      'DELETE /api/v3/order': r('cancelOrder', true, (p) => this.cancelOrder(p)),
      'GET /api/v3/openOrders': r('openOrders', true, (p) => {
        const symbol = p.get('symbol');
        return {
          body: this.orders.filter(
            (o) =>
              (o.status === 'NEW' || o.status === 'PARTIALLY_FILLED') && (!symbol || o.symbol === symbol),
          ),
        };
      }),
      'GET /api/v3/account': r('account', true, () => ({
        body: {
          makerCommission: 10,
          takerCommission: 10,
          canTrade: true,
          canWithdraw: true,
          canDeposit: true,
          updateTime: Date.now(),
          accountType: 'SPOT',
          balances: Object.entries(this.balances).map(([asset, b]) => ({
            asset,
            free: fmt(b.free),
            locked: fmt(b.locked),
          })),
          permissions: ['SPOT'],
        },
      })),
      'GET /api/v3/myTrades': r('myTrades', true, (p) => {
        const symbol = p.get('symbol');
        const orderId = p.get('orderId');
        return {
          body: this.trades.filter((t) => t.symbol === symbol && (!orderId || String(t.orderId) === orderId)),
        };
      }),
    };
  }

  private exchangeInfo(): unknown {
    return {
      timezone: 'UTC',
      serverTime: Date.now(),
      rateLimits: [{ rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 6000 }],
      exchangeFilters: [],
      symbols: this.symbols.map((symbol) => {
        const m = simulatedMarketInfo(symbol);
        return {
          symbol: symbol.replace('/', ''),
          status: 'TRADING',
          baseAsset: m.base,
          baseAssetPrecision: 8,
          quoteAsset: m.quote,
          quotePrecision: 8,
          quoteAssetPrecision: 8,
          orderTypes: ['LIMIT', 'MARKET'],
          icebergAllowed: true,
          ocoAllowed: true,
          isSpotTradingAllowed: true,
          isMarginTradingAllowed: false,
          filters: [
            {
              filterType: 'PRICE_FILTER',
              minPrice: String(m.priceStep),
              maxPrice: '1000000.00',
              tickSize: String(m.priceStep),
            },
            {
              filterType: 'LOT_SIZE',
              minQty: fmt(m.minAmount),
              maxQty: '9000.00000000',
              stepSize: fmt(m.amountStep),
            },
            {
              filterType: 'NOTIONAL',
              minNotional: String(m.minNotional),
              applyMinToMarket: true,
              maxNotional: '9000000.00',
            },
          ],
          permissions: ['SPOT'],
          permissionSets: [['SPOT']],
        };
      }),
    };
  }

  private ticker24h(symbol: string): unknown {
    const now = Date.now();
    const t = this.market.ticker(symbol, now);
    const day = this.market.candles(symbol, now, 24 * 60);
    const open = day[0][1];
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
      highPrice: String(Math.max(...day.map((c) => c[2]))),
      lowPrice: String(Math.min(...day.map((c) => c[3]))),
      volume: String(day.reduce((s, c) => s + c[5], 0)),
      quoteVolume: '0',
      openTime: now - 86_400_000,
      closeTime: now,
      firstId: 1,
      lastId: 2,
      count: 2,
    };
  }

  private symbolOf(p: URLSearchParams): string {
    const id = p.get('symbol') ?? '';
    const symbol = this.symbols.find((s) => s.replace('/', '') === id);
    if (!symbol) throw Object.assign(new Error('Invalid symbol.'), { code: -1121 });
    return symbol;
  }

  private findOrder(p: URLSearchParams): FakeOrder | undefined {
    const symbol = p.get('symbol');
    const orderId = p.get('orderId');
    const client = p.get('origClientOrderId');
    return this.orders.find(
      (o) =>
        o.symbol === symbol &&
        ((orderId && String(o.orderId) === orderId) || (client && o.clientOrderId === client)),
    );
  }

  private createOrder(p: URLSearchParams): { status?: number; body: unknown } {
    const symbol = this.symbolOf(p);
    const [base, quote] = symbol.split('/');
    const clientOrderId = p.get('newClientOrderId') ?? `fake-${this.nextOrderId}`;
    if (this.orders.some((o) => o.clientOrderId === clientOrderId)) {
      return { status: 400, body: { code: -2010, msg: 'Duplicate order sent.' } };
    }
    const side = p.get('side') as 'BUY' | 'SELL';
    const type = p.get('type') as 'MARKET' | 'LIMIT';
    const qty = Number(p.get('quantity'));
    const m = simulatedMarketInfo(symbol);
    if (!(qty >= m.minAmount) || Math.abs(Math.round(qty / m.amountStep) * m.amountStep - qty) > 1e-12) {
      return { status: 400, body: { code: -1013, msg: 'Filter failure: LOT_SIZE' } };
    }
    const now = Date.now();
    const t = this.market.ticker(symbol, now);
    const limit = type === 'LIMIT' ? Number(p.get('price')) : undefined;
    const marketable = limit === undefined || (side === 'BUY' ? limit >= t.ask : limit <= t.bid);
    const fillPrice = Number((side === 'BUY' ? t.ask : t.bid).toFixed(2));
    const refPrice = limit ?? fillPrice;
    if (qty * refPrice < m.minNotional)
      return { status: 400, body: { code: -1013, msg: 'Filter failure: NOTIONAL' } };
    const need = side === 'BUY' ? qty * refPrice * (1 + this.feeRate) : qty;
    const asset = side === 'BUY' ? quote : base;
    if ((this.balances[asset]?.free ?? 0) + 1e-12 < need) {
      return {
        status: 400,
        body: { code: -2010, msg: 'Account has insufficient balance for requested action.' },
      };
    }
    const order: FakeOrder = {
      symbol: symbol.replace('/', ''),
      orderId: this.nextOrderId++,
      clientOrderId,
      side,
      type,
      price: limit !== undefined ? fmt(limit) : '0.00000000',
      origQty: fmt(qty),
      executedQty: '0.00000000',
      cummulativeQuoteQty: '0.00000000',
      status: 'NEW',
      timeInForce: type === 'LIMIT' ? (p.get('timeInForce') ?? 'GTC') : 'GTC',
      time: now,
      updateTime: now,
    };
    this.orders.push(order);
    const fills: unknown[] = [];
    if (marketable) {
      const trade = this.fill(order, base, quote, qty, fillPrice, now);
      fills.push({
        price: trade.price,
        qty: trade.qty,
        commission: trade.commission,
        commissionAsset: trade.commissionAsset,
        ...(this.omitFillTradeIds ? {} : { tradeId: trade.id }),
      });
    } else {
      this.hold(side === 'BUY' ? quote : base, side === 'BUY' ? qty * (limit ?? 0) : qty);
    }
    return {
      body: {
        ...order,
        orderListId: -1,
        transactTime: now,
        workingTime: now,
        fills,
        selfTradePreventionMode: 'EXPIRE_MAKER',
      },
    };
  }

  private fill(
    order: FakeOrder,
    base: string,
    quote: string,
    qty: number,
    price: number,
    now: number,
  ): FakeTrade {
    const cost = qty * price;
    const fee = cost * this.feeRate;
    this.balances[base] ??= { free: 0, locked: 0 };
    this.balances[quote] ??= { free: 0, locked: 0 };
    if (order.side === 'BUY') {
      this.balances[quote].free -= cost + fee;
      this.balances[base].free += qty;
    } else {
      this.balances[base].free -= qty;
      this.balances[quote].free += cost - fee;
    }
    order.executedQty = fmt(Number(order.executedQty) + qty);
    order.cummulativeQuoteQty = fmt(Number(order.cummulativeQuoteQty) + cost);
    order.status = Number(order.executedQty) >= Number(order.origQty) ? 'FILLED' : 'PARTIALLY_FILLED';
    order.updateTime = now;
    const trade: FakeTrade = {
      symbol: order.symbol,
      id: this.nextTradeId++,
      orderId: order.orderId,
      price: fmt(price),
      qty: fmt(qty),
      quoteQty: fmt(cost),
      commission: fmt(fee),
      commissionAsset: quote,
      time: now,
      isBuyer: order.side === 'BUY',
      isMaker: false,
      isBestMatch: true,
    };
    this.trades.push(trade);
    return trade;
  }

  private hold(asset: string, amount: number): void {
    this.balances[asset] ??= { free: 0, locked: 0 };
    this.balances[asset].free -= amount;
    this.balances[asset].locked += amount;
  }

  private cancelOrder(p: URLSearchParams): { status?: number; body: unknown } {
    const order = this.findOrder(p);
    if (!order || (order.status !== 'NEW' && order.status !== 'PARTIALLY_FILLED')) {
      return { status: 400, body: { code: -2011, msg: 'Unknown order sent.' } };
    }
    const symbol = this.symbols.find((s) => s.replace('/', '') === order.symbol)!;
    const [base, quote] = symbol.split('/');
    const rest = Number(order.origQty) - Number(order.executedQty);
    const asset = order.side === 'BUY' ? quote : base;
    const held = order.side === 'BUY' ? rest * Number(order.price) : rest;
    this.balances[asset].locked -= held;
    this.balances[asset].free += held;
    order.status = 'CANCELED';
    order.updateTime = Date.now();
    // like Binance: clientOrderId is the cancel request's own id, origClientOrderId the order's
    return {
      body: {
        ...order,
        origClientOrderId: order.clientOrderId,
        clientOrderId: `cancel-${order.orderId}`,
        orderListId: -1,
        transactTime: Date.now(),
      },
    };
  }
}

function fmt(n: number): string {
  return n.toFixed(8);
}
