import { expect } from 'chai';
import {
  AuthenticationError,
  ExchangeRefusedError,
  ExchangeUnavailableError,
  InsufficientFundsError,
  InvalidOrderError,
  NetworkError,
  OrderNotFoundError,
  RateLimitError,
  TemporaryError,
} from '../../../src/shared/errors';
import {
  CcxtExchange,
  retryAfterFrom,
  type CcxtExchangeOptions,
} from '../../../src/trading/exchange/ccxt-exchange';
import { SKEW_REMEASURE_MS } from '../../../src/trading/exchange/clock-skew';
import type { CreateOrderRequest } from '../../../src/trading/exchange/exchange';
import { FakeBinance, type FakeBinanceOptions } from '../../../harness/exchanges/fake-binance';
import { freePort } from '../../../harness/ports';
import { FakeClock, flush } from '../../support/fake-clock';
import { BTC_MARKET } from '../../support/risk-fixtures';

const API_KEY = 'kEy0123456789abcdefAPIKEYvalue';
const SECRET = 'sEcReT0123456789abcdefSECRETvalue';
const BTC = 'BTC/USDT';
/** Small ccxt timeout keeps timeout tests fast. */
const TIMEOUT_MS = 600;

async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  expect.fail('expected the call to fail');
}

describe('retryAfterFrom (Retry-After → ms)', () => {
  it('counts an HTTP-date Retry-After from the given now, not the machine clock', () => {
    const now = Date.parse('2020-01-01T00:00:00Z');
    expect(retryAfterFrom({ 'Retry-After': 'Wed, 01 Jan 2020 00:00:30 GMT' }, now)).to.equal(30_000);
    expect(retryAfterFrom({ 'retry-after': '2' }, now)).to.equal(2_000);
    expect(retryAfterFrom({}, now)).to.equal(undefined);
  });
});

describe('CcxtExchange (real ccxt binance against a local fake Binance)', function () {
  this.timeout(20_000);
  let fake: FakeBinance;
  let ex: CcxtExchange;
  let clock: FakeClock;
  let seq = 0;

  async function connect(overrides: Partial<CcxtExchangeOptions> = {}): Promise<CcxtExchange> {
    return CcxtExchange.create({
      exchangeId: 'binance',
      apiKey: API_KEY,
      secret: SECRET,
      apiUrl: fake.url,
      timeoutMs: TIMEOUT_MS,
      readRetry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 10_000, random: () => 0 },
      clock,
      ...overrides,
    });
  }

  function order(fields: Partial<CreateOrderRequest> = {}): CreateOrderRequest {
    seq += 1;
    return { symbol: BTC, side: 'buy', type: 'market', amount: 0.01, clientOrderId: `bn-${seq}`, ...fields };
  }

  const posts = (): number => fake.requests.filter((r) => r.route === 'createOrder').length;

  it("reads Binance's -2026 (archived) as OrderNotFound from api.binance.com as from the double (ccxt reads the host's spot table first)", () => {
    const client = (ex as unknown as { client: { handleErrors: (...args: unknown[]) => unknown } }).client;
    const body = {
      code: -2026,
      msg: 'Order was canceled or expired with no executed qty over 90 days ago and has been archived.',
    };
    for (const url of [
      'https://api.binance.com/api/v3/order?symbol=BTCUSDT&orderId=1',
      `${fake.url}/api/v3/order?symbol=BTCUSDT&orderId=1`,
    ]) {
      let thrown: unknown;
      try {
        client.handleErrors(400, 'Bad Request', url, 'GET', {}, JSON.stringify(body), body, {}, undefined);
      } catch (err) {
        thrown = err;
      }
      expect((thrown as Error | undefined)?.constructor.name, url).to.equal('OrderNotFound');
    }
  });

  beforeEach(async () => {
    fake = await FakeBinance.start({ apiKey: API_KEY, secret: SECRET, balances: { USDT: 10_000 } });
    clock = new FakeClock(Date.now(), { sleep: 'advances' });
    ex = await connect();
  });

  afterEach(async () => {
    await ex.close();
    await fake.close();
  });

  /** The double started again with `options` (the same account), and a new adapter on it. */
  async function restartDouble(options: FakeBinanceOptions): Promise<void> {
    await ex.close();
    await fake.close();
    fake = await FakeBinance.start({ apiKey: API_KEY, secret: SECRET, ...options });
    ex = await connect();
  }

  it('loads only the binance module and reads markets with their precision and minimums (one request)', async () => {
    expect(ex.loadInfo.via).to.equal('esm-single');
    const markets = await ex.loadMarkets();
    // the largest order: LOT_SIZE maxQty and NOTIONAL maxNotional bind a limit order; LOT_SIZE and MARKET_LOT_SIZE
    // maxQty a market order (maxNotional not: applyMaxToMarket false)
    expect(markets[BTC]).to.deep.equal({
      ...BTC_MARKET,
      maxOrder: { limit: { amount: 9000, value: 9_000_000 }, market: { amount: 9000 } },
      // ccxt's binance trading fees
      takerFee: 0.001,
    });
    expect(fake.requests.map((r) => r.route)).to.deep.equal(['exchangeInfo']);
  });

  it('loads markets once the exchange answers after a failed first load, and keeps them through a failed reload', async () => {
    // ccxt caches its first market-load promise: a failure at boot used to fail every later call for ever
    const port = await freePort();
    const late = await connect({ apiUrl: `http://127.0.0.1:${port}`, readRetry: { maxAttempts: 1 } });
    try {
      expect(await caught(late.loadMarkets())).to.be.instanceOf(NetworkError);
      const up = await FakeBinance.start({ apiKey: API_KEY, secret: SECRET, port });
      try {
        expect(Object.keys(await late.loadMarkets())).to.include(BTC);
        up.faults.next('exchangeInfo', { kind: 'status', status: 503 });
        expect(await caught(late.loadMarkets(true))).to.be.instanceOf(TemporaryError);
        // every other call still works on the markets it had
        expect((await late.fetchTicker(BTC)).last).to.be.greaterThan(0);
      } finally {
        await up.close();
      }
    } finally {
      await late.close();
    }
  });

  it('reports the capabilities live trading needs, all present for a verified exchange', () => {
    const caps = ex.capabilities();
    expect(Object.keys(caps)).to.include.members([
      'fetchOrderByClientId',
      'fetchOpenOrdersAllSymbols',
      'fetchRecentOrders',
      'fetchOrderTrades',
    ]);
    expect(Object.entries(caps).filter(([, ok]) => !ok)).to.deep.equal([]);
  });

  it('reads a ticker and candles', async () => {
    const t = await ex.fetchTicker(BTC);
    expect(t.bid).to.be.below(t.ask);
    expect(t.last).to.be.within(t.bid, t.ask);
    const candles = await ex.fetchCandles(BTC, '1m', 5);
    expect(candles).to.have.length(5);
    for (const [time, open, high, low, close, volume] of candles) {
      expect(time % 60_000).to.equal(0);
      expect(high).to.be.at.least(Math.max(open, close));
      expect(low).to.be.at.most(Math.min(open, close));
      expect(volume).to.be.at.least(0);
    }
  });

  it('creates a market order with our clientOrderId, floors the amount to the step, and finds it by clientOrderId', async () => {
    const request = order({ amount: 0.0123456 });
    const placed = await ex.createOrder(request);
    expect(placed).to.include({
      clientOrderId: request.clientOrderId,
      status: 'closed',
      amount: 0.01234,
      filled: 0.01234,
    });
    // Binance's FULL fills have no side and no time: the fills come from the trade list below
    expect(placed.trades).to.equal(undefined);
    expect(fake.ordersByClientId(request.clientOrderId)).to.have.length(1);
    expect(fake.orders[0].origQty).to.equal('0.01234000');

    const found = await ex.fetchOrderByClientId(request.clientOrderId, BTC);
    expect(found).to.include({
      id: placed.id,
      clientOrderId: request.clientOrderId,
      status: 'closed',
      filled: 0.01234,
    });
    expect((await ex.fetchOrder(placed.id, BTC)).clientOrderId).to.equal(request.clientOrderId);
    const trades = await ex.fetchOrderTrades(placed.id, BTC);
    expect(trades).to.have.length(1);
    expect(trades[0]).to.include({ side: 'buy', amount: 0.01234, orderId: placed.id });
    expect(trades[0].timestamp).to.equal(fake.tradeLog[0].time);
    // Binance takes the commission from the asset received: BTC on a buy
    expect(trades[0].fee).to.deep.equal({ cost: 0.00001234, currency: 'BTC' });
    const balance = await ex.fetchBalance();
    expect(balance.BTC).to.deep.equal({ free: 0.01232766, used: 0, total: 0.01232766 });
    expect(balance.USDT.total).to.be.below(10_000);
  });

  it('leaves trades without an id out of an order answer, so fills dedup by trade id cannot double-count', async () => {
    fake.omitFillTradeIds = true;
    const request = order({ amount: 0.01 });
    const placed = await ex.createOrder(request);
    expect(placed.status).to.equal('closed');
    expect(placed.trades ?? []).to.have.length(0);
    const trades = await ex.fetchOrderTrades(placed.id, BTC);
    expect(trades).to.have.length(1);
    expect(trades[0].id).to.not.equal('undefined');
  });

  it('lists open orders and cancels a limit order by id, keeping our clientOrderId', async () => {
    const request = order({ type: 'limit', price: 30_000.123 });
    const placed = await ex.createOrder(request);
    expect(placed).to.include({ status: 'open', price: 30_000.12 });
    expect((await ex.fetchBalance()).USDT.used).to.be.closeTo(0.01 * 30_000.12, 1e-6);
    expect((await ex.fetchOpenOrders()).map((o) => o.clientOrderId)).to.deep.equal([request.clientOrderId]);
    expect(await ex.fetchOpenOrders('ETH/USDT')).to.deep.equal([]);
    const canceled = await ex.cancelOrder(placed.id, BTC);
    expect(canceled).to.include({ id: placed.id, status: 'canceled', clientOrderId: request.clientOrderId });
    expect((await ex.fetchOrderByClientId(request.clientOrderId, BTC)).status).to.equal('canceled');
    expect(await caught(ex.cancelOrder(placed.id, BTC))).to.be.instanceOf(OrderNotFoundError);
  });

  it('answers OrderNotFoundError for an unknown clientOrderId', async () => {
    const err = await caught(ex.fetchOrderByClientId('bn-never', BTC));
    expect(err).to.be.instanceOf(OrderNotFoundError);
  });

  it('turns a duplicate clientOrderId of an open order (Binance -2010) into InvalidOrderError; one order stays', async () => {
    const request = order({ type: 'limit', price: 30_000 });
    await ex.createOrder(request);
    const err = await caught(ex.createOrder(request));
    expect(err).to.be.instanceOf(InvalidOrderError);
    expect(err.message).to.match(/Duplicate order sent/);
    expect((err as InvalidOrderError).context).to.include({
      duplicate: true,
      clientOrderId: request.clientOrderId,
    });
    expect(fake.ordersByClientId(request.clientOrderId)).to.have.length(1);
  });

  it("takes a filled order's clientOrderId again as a NEW order, as Binance documents: so it is never resent", async () => {
    const request = order();
    await ex.createOrder(request);
    await ex.createOrder(request);
    expect(fake.ordersByClientId(request.clientOrderId)).to.have.length(2);
  });

  it('turns a refusal for funds into InsufficientFundsError', async () => {
    const err = await caught(ex.createOrder(order({ amount: 1 })));
    expect(err).to.be.instanceOf(InsufficientFundsError);
  });

  it('refuses below the minimum amount, or a limit order below the minimum notional, before sending anything', async () => {
    const before = posts();
    expect(await caught(ex.createOrder(order({ amount: 0.000001 })))).to.be.instanceOf(InvalidOrderError);
    expect(
      await caught(ex.createOrder(order({ type: 'limit', amount: 0.001, price: 1_000 }))),
    ).to.be.instanceOf(InvalidOrderError);
    expect(posts()).to.equal(before);
  });

  describe("a market order's value is Binance's to judge (NOTIONAL: average price over avgPriceMins, applyMinToMarket)", () => {
    it('sends a market order worth less than the minimum at the ask that the average price puts above it', async () => {
      // after a sharp drop the 5-minute average is above the book: 0.00008 × 60,006 = 4.80, × 70,000 = 5.60
      fake.pinPrice(BTC, 60_000);
      fake.pinAveragePrice(BTC, 70_000);
      const placed = await ex.createOrder(order({ amount: 0.00008 }));
      expect(placed.status).to.equal('closed');
      expect(posts()).to.equal(1);
    });

    it('sends any market order when applyMinToMarket is off', async () => {
      await restartDouble({ balances: { USDT: 10_000 }, applyMinToMarket: false });
      fake.pinPrice(BTC, 60_000);
      expect((await ex.createOrder(order({ amount: 0.00005 }))).status).to.equal('closed'); // 3 USDT
    });

    it("takes Binance's refusal of a market order below the minimum as a refusal (the order is final)", async () => {
      fake.pinPrice(BTC, 60_000);
      const err = await caught(ex.createOrder(order({ amount: 0.00005 })));
      expect(err).to.be.instanceOf(ExchangeRefusedError);
      expect(err.message).to.match(/Filter failure: NOTIONAL/);
      expect(posts()).to.equal(1);
    });
  });

  it('reads MARKET_LOT_SIZE maxQty as the largest market order; Binance refuses a larger one (-1013)', async () => {
    await restartDouble({ balances: { USDT: 100_000 }, marketMaxQty: 0.5 });
    expect((await ex.loadMarkets())[BTC].maxOrder?.market).to.deep.equal({ amount: 0.5 });
    const err = await caught(ex.createOrder(order({ amount: 0.6 })));
    expect(err).to.be.instanceOf(InvalidOrderError);
    expect(err.message).to.match(/MARKET_LOT_SIZE/);
  });

  it("reads MARKET_LOT_SIZE minQty and stepSize as a market order's own rules (ccxt does not); sends none Binance refuses", async () => {
    await restartDouble({ balances: { USDT: 100_000, BTC: 1 }, marketMinQty: 0.02, marketStepSize: 0.01 });
    fake.pinPrice(BTC, 60_000);
    expect((await ex.loadMarkets())[BTC].marketLot).to.deep.equal({ step: 0.01, min: 0.02 });
    // Binance refuses a market order off its step (-1013), as the double does for a request sent as it is
    const raw = (ex as unknown as { client: { createOrder: (...a: unknown[]) => Promise<unknown> } }).client;
    const refused = await caught(raw.createOrder(BTC, 'market', 'sell', 0.025));
    expect((refused as Error).message).to.match(/Filter failure: MARKET_LOT_SIZE/);
    // the adapter sends a market order on the step (a limit one on LOT_SIZE's), and none below the minimum
    const sold = await ex.createOrder(order({ side: 'sell', amount: 0.02999 }));
    expect(sold).to.include({ status: 'closed', amount: 0.02 });
    const before = posts();
    const small = await caught(ex.createOrder(order({ side: 'sell', amount: 0.01999 })));
    expect(small).to.be.instanceOf(InvalidOrderError);
    expect(posts()).to.equal(before);
  });

  it('reads LOT_SIZE maxQty and NOTIONAL maxNotional (with applyMaxToMarket) as the largest orders; Binance refuses larger ones (-1013)', async () => {
    await restartDouble({
      balances: { USDT: 100_000 },
      lotMaxQty: 2,
      maxNotional: 30_000,
      applyMaxToMarket: true,
    });
    fake.pinPrice(BTC, 60_000);
    expect((await ex.loadMarkets())[BTC].maxOrder).to.deep.equal({
      limit: { amount: 2, value: 30_000 },
      market: { amount: 2, value: 30_000 },
    });
    const tooMany = await caught(ex.createOrder(order({ type: 'limit', price: 10_000, amount: 2.5 })));
    expect(tooMany.message).to.match(/Filter failure: LOT_SIZE/);
    const tooMuch = await caught(ex.createOrder(order({ amount: 0.6 })));
    expect(tooMuch.message).to.match(/Filter failure: NOTIONAL/);
    expect(await ex.createOrder(order({ amount: 0.4 }))).to.include({ status: 'closed' });
  });

  it('refuses a create unsent while Binance has the IP banned (418): it never leaves late, once the ban is over', async () => {
    await ex.loadMarkets();
    fake.refuseAll = { status: 418, retryAfterSec: 120 };
    await ex.fetchBalance().then(
      () => expect.fail('read during the ban'),
      () => undefined,
    );
    const requestsInBan = fake.requests.length;
    const refused = await ex.createOrder(order()).then(
      () => expect.fail('a create left during the ban'),
      (err: unknown) => err,
    );
    expect(refused).to.be.instanceOf(RateLimitError);
    expect((refused as RateLimitError).retryAfterMs).to.be.above(100_000);
    expect(fake.requests.length, 'nothing sent for the create').to.equal(requestsInBan);
    delete fake.refuseAll;
    clock.time += 121_000;
    await ex.fetchBalance();
    expect(posts(), 'the refused create is not sent once the gate opens').to.equal(0);
    await ex.createOrder(order());
    expect(posts()).to.equal(1);
  });

  it('reads NOTIONAL applyMinToMarket false as a minimum order value that skips market orders; Binance takes a small one', async () => {
    expect((await ex.loadMarkets())[BTC].minNotionalOnMarket).to.equal(undefined);
    await restartDouble({ balances: { USDT: 100_000, BTC: 1 }, applyMinToMarket: false });
    const market = (await ex.loadMarkets())[BTC];
    expect(market).to.include({ minNotionalOnMarket: false });
    expect(market.minNotional).to.be.above(0);
    // a market sell worth less than the minimum: the exchange takes it
    const small = await ex.createOrder(order({ side: 'sell', amount: market.minAmount }));
    expect(small.status).to.equal('closed');
  });

  it('reports wrong credentials as AuthenticationError', async () => {
    const wrong = await connect({ apiKey: 'not-the-key' });
    try {
      expect(await caught(wrong.fetchBalance())).to.be.instanceOf(AuthenticationError);
    } finally {
      await wrong.close();
    }
  });

  describe('faults on createOrder (never retried)', () => {
    it('429 → RateLimitError with retryAfterMs from Retry-After', async () => {
      fake.faults.next('createOrder', { kind: 'rate-limit', retryAfterSec: 7 });
      const err = await caught(ex.createOrder(order()));
      expect(err).to.be.instanceOf(RateLimitError);
      expect((err as RateLimitError).retryAfterMs).to.equal(7_000);
      expect(posts()).to.equal(1);
      expect(fake.orders).to.have.length(0);
    });

    it('5xx → NetworkError (a 5xx leaves the outcome unknown)', async () => {
      fake.faults.next('createOrder', { kind: 'status', status: 503 });
      const err = await caught(ex.createOrder(order()));
      expect(err).to.be.instanceOf(NetworkError);
      expect(posts()).to.equal(1);
    });

    it('timeout → NetworkError', async () => {
      fake.faults.next('createOrder', { kind: 'timeout' });
      const err = await caught(ex.createOrder(order()));
      expect(err).to.be.instanceOf(NetworkError);
      expect(posts()).to.equal(1);
    });

    it('connection reset → NetworkError', async () => {
      fake.faults.next('createOrder', { kind: 'reset' });
      expect(await caught(ex.createOrder(order()))).to.be.instanceOf(NetworkError);
      expect(posts()).to.equal(1);
    });

    it('accepted but response lost → NetworkError, then fetchOrderByClientId finds the one order', async () => {
      const request = order();
      fake.faults.next('createOrder', { kind: 'lose-response' });
      expect(await caught(ex.createOrder(request))).to.be.instanceOf(NetworkError);
      expect(posts()).to.equal(1);
      const found = await ex.fetchOrderByClientId(request.clientOrderId, BTC);
      expect(found).to.include({ clientOrderId: request.clientOrderId, status: 'closed' });
      expect(fake.ordersByClientId(request.clientOrderId)).to.have.length(1);
    });
  });

  describe("the clock offset: measured from Binance's server time with the first read, then hourly", () => {
    const timeReads = (): number => fake.requests.filter((r) => r.route === 'time').length;

    /** Lets the adapter's requests to the double (real HTTP) run until `done`, polling; a bounded wait, no assertion. */
    async function until(done: () => boolean): Promise<void> {
      for (let i = 0; i < 500 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
    }

    it('tries a server-time read that failed at the first tick again on the backoff until one succeeds, then hourly', async () => {
      fake.clockSkewMs = -120_000; // the host 2 min ahead of the exchange
      for (let i = 0; i < 3; i++) fake.faults.next('time', { kind: 'status', status: 503 });
      await ex.fetchTicker(BTC);
      await until(() => ex.clockOffsetMs() !== 0);
      expect(timeReads()).to.equal(4);
      expect(ex.clockOffsetMs()).to.be.closeTo(120_000, 2_000);
      // the one backoff (shared/retry.ts, equal jitter): 1 s doubling, each wait at least half its step
      expect(clock.sleeps).to.have.length(3);
      clock.sleeps.forEach((ms, i) => expect(ms).to.be.within(500 * 2 ** i, 1_000 * 2 ** i));
      // then nothing until the hour is up
      await clock.advance(SKEW_REMEASURE_MS - 60_000, 60_000);
      expect(timeReads()).to.equal(4);
      await clock.advance(60_000, 60_000);
      await until(() => timeReads() === 5);
      expect(timeReads()).to.equal(5);
    });

    it('schedules nothing after close(): no hourly measurement', async () => {
      await ex.fetchTicker(BTC);
      await until(() => timeReads() === 1 && clock.pendingTimers === 1);
      expect(clock.pendingTimers, 'the hourly measurement').to.equal(1);
      await ex.close();
      expect(clock.pendingTimers).to.equal(0);
      await clock.advance(2 * SKEW_REMEASURE_MS, 60_000);
      expect(timeReads()).to.equal(1);
    });

    it('schedules nothing after close() when the measurement answers after it', async () => {
      fake.clockSkewMs = -5_000;
      fake.faults.next('time', { kind: 'delay', ms: 300 });
      await ex.fetchTicker(BTC);
      await until(() => timeReads() === 1);
      await ex.close(); // the server-time read still on its way
      await until(() => ex.clockOffsetMs() !== 0);
      await flush();
      expect(clock.pendingTimers).to.equal(0);
      await clock.advance(2 * SKEW_REMEASURE_MS, 60_000);
      expect(timeReads()).to.equal(1);
    });

    it('tries nothing again after close(): a failed measurement waiting out its backoff stops', async () => {
      await ex.close();
      clock = new FakeClock(Date.now()); // sleeps wait for advance(): close() comes during the backoff
      ex = await connect();
      fake.faults.next('time', { kind: 'status', status: 503 });
      await ex.fetchTicker(BTC);
      await until(() => clock.sleeps.length === 1);
      expect(clock.sleeps, 'the backoff after the failed read').to.have.length(1);
      await ex.close();
      await clock.advance(2 * SKEW_REMEASURE_MS, 60_000);
      expect(timeReads()).to.equal(1);
      expect(clock.pendingTimers).to.equal(0);
    });
  });

  describe('faults on reads (retried with backoff)', () => {
    it('retries a ticker through a reset, a 5xx and a timeout', async () => {
      fake.faults.next('ticker', { kind: 'reset' });
      fake.faults.next('ticker', { kind: 'status', status: 502 });
      const t = await ex.fetchTicker(BTC);
      expect(t.last).to.be.above(0);
      expect(fake.requests.filter((r) => r.route === 'ticker')).to.have.length(3);
      expect(clock.sleeps).to.have.length(2);
      fake.faults.next('openOrders', { kind: 'timeout' });
      expect(await ex.fetchOpenOrders()).to.deep.equal([]);
    });

    it('honours Retry-After between attempts', async () => {
      fake.faults.next('account', { kind: 'rate-limit', retryAfterSec: 3 });
      await ex.fetchBalance();
      expect(clock.sleeps).to.deep.equal([3_000]);
    });

    it('gives up after the last attempt with the temporary error class', async () => {
      for (let i = 0; i < 3; i++)
        fake.faults.next('klines', { kind: 'status', status: 500, body: 'Internal Server Error' });
      const err = await caught(ex.fetchCandles(BTC, '1m', 5));
      expect(err).to.be.instanceOf(ExchangeUnavailableError);
      expect(err).to.be.instanceOf(TemporaryError);
      expect(fake.requests.filter((r) => r.route === 'klines')).to.have.length(3);
    });

    it('retries a lookup by clientOrderId after a timeout', async () => {
      const request = order();
      await ex.createOrder(request);
      fake.faults.next('fetchOrder', { kind: 'timeout' });
      expect((await ex.fetchOrderByClientId(request.clientOrderId, BTC)).clientOrderId).to.equal(
        request.clientOrderId,
      );
    });
  });

  it('never puts the API key, the secret or the request signature in an error', async () => {
    const errors: Error[] = [];
    for (let i = 0; i < 3; i++) fake.faults.next('account', { kind: 'timeout' });
    errors.push(await caught(ex.fetchBalance()));
    fake.faults.next('fetchOrder', { kind: 'status', status: 404, body: 'not here' });
    for (let i = 0; i < 3; i++) fake.faults.next('fetchOrder', { kind: 'status', status: 500, body: 'boom' });
    errors.push(await caught(ex.fetchOrderByClientId('bn-x', BTC)));
    fake.faults.next('createOrder', { kind: 'timeout' });
    errors.push(await caught(ex.createOrder(order())));
    expect(errors[0].message).to.match(/request timed out/);
    for (const err of errors) {
      const text = `${err.message} ${JSON.stringify((err as { context?: unknown }).context)} ${err.stack}`;
      expect(text).to.not.include(API_KEY);
      expect(text).to.not.include(SECRET);
      expect(text).to.not.match(/signature=[0-9a-f]/);
      expect(text).to.not.match(/timestamp=\d/);
    }
  });
});
