import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configSchema } from '../../../src/shared/config/schema';
import {
  ExchangeUnavailableError,
  InsufficientFundsError,
  InvalidOrderError,
  LockHeldError,
  NetworkError,
  OrderNotFoundError,
} from '../../../src/shared/errors';
import type { CreateOrderRequest, Exchange } from '../../../src/trading/exchange/exchange';
import {
  ExchangeFaults,
  withFaults,
  type ExchangeFaultOptions,
} from '../../../harness/faults/exchange-faults';
import { PaperExchange, type PaperSettings } from '../../../src/trading/exchange/paper-exchange';
import { ceilToStep, floorToStep } from '../../../src/trading/exchange/precision';
import { SimulatedPriceFeed } from '../../../src/trading/exchange/price-feed';
import { SimulatedMarket } from '../../../src/trading/exchange/simulated-market';
import { FakeClock } from '../../support/fake-clock';

const paperDefaults = configSchema().parse({}).trading.paper;
const CANDLE = paperDefaults.candleMs;
const START = Date.UTC(2026, 10, 26, 12, 0, 0) + 123;
const SYMBOLS = ['BTC/USDT', 'ETH/USDT'];
const BTC = 'BTC/USDT';

async function expectRejects(
  promise: Promise<unknown>,
  type: new (...args: never[]) => Error,
  message?: RegExp,
): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(type);
    if (message) expect((err as Error).message).to.match(message);
    return err as Error;
  }
  expect.fail(`expected a ${type.name}`);
}

describe('PaperExchange', () => {
  const market = new SimulatedMarket({ seed: 42, volatility: paperDefaults.volatility, candleMs: CANDLE });
  let dir: string;
  let clock: FakeClock;
  const opened: PaperExchange[] = [];
  let seq = 0;

  async function open(settings: Partial<PaperSettings> = {}, dataDir = dir): Promise<PaperExchange> {
    const ex = await PaperExchange.open({
      dataDir,
      feed: new SimulatedPriceFeed(market, SYMBOLS),
      settings: { ...paperDefaults, ...settings },
      clock,
    });
    opened.push(ex);
    return ex;
  }

  function order(
    fields: Partial<CreateOrderRequest> & Pick<CreateOrderRequest, 'side' | 'amount'>,
  ): CreateOrderRequest {
    seq += 1;
    return { symbol: BTC, type: 'market', clientOrderId: `test-${seq}`, ...fields };
  }

  /** First candle after the current one whose low reaches `limit` (buy), within `max` candles. */
  function firstCrossing(limit: number, max = 400): number {
    const start = market.candleIndex(clock.now());
    for (let i = start + 1; i < start + max; i++) {
      const range = market.priceRanges(BTC, i - 1, (i + 1) * CANDLE)[0];
      if (range.lowestAsk <= limit) return i;
    }
    throw new Error('no crossing found; pick another limit');
  }

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-paper-'));
    clock = new FakeClock(START, { sleep: 'advances' });
  });

  afterEach(async () => {
    for (const ex of opened.splice(0)) await ex.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts with the configured balances and lists the configured markets', async () => {
    const ex = await open();
    expect(await ex.fetchBalance()).to.deep.equal({ USDT: { free: 10_000, used: 0, total: 10_000 } });
    expect(Object.keys(await ex.loadMarkets())).to.deep.equal(SYMBOLS);
    expect(ex.id).to.equal('paper');
  });

  it('fills a market buy at once at the ask plus slippage, fee in quote', async () => {
    const ex = await open();
    const ticker = market.ticker(BTC, clock.now());
    const placed = await ex.createOrder(order({ side: 'buy', amount: 0.01 }));
    const price = ceilToStep(ticker.ask * (1 + paperDefaults.slippageBps / 10_000), 0.01);
    expect(placed).to.include({
      status: 'closed',
      filled: 0.01,
      remaining: 0,
      average: price,
      clientOrderId: `test-${seq}`,
    });
    expect(placed.trades).to.have.length(1);
    const trade = placed.trades![0];
    const cost = Number((0.01 * price).toFixed(12));
    expect(trade).to.include({ price, amount: 0.01, orderId: placed.id });
    expect(trade.fee.currency).to.equal('USDT');
    expect(trade.fee.cost).to.be.closeTo(cost * paperDefaults.feeRate, 1e-9);
    const balance = await ex.fetchBalance();
    expect(balance.BTC).to.deep.equal({ free: 0.01, used: 0, total: 0.01 });
    expect(balance.USDT.free).to.be.closeTo(10_000 - cost - cost * paperDefaults.feeRate, 1e-9);
  });

  it('fills a market sell at the bid minus slippage and credits the quote less the fee', async () => {
    const ex = await open({ startingBalances: { USDT: 0, BTC: 0.5 } });
    const ticker = market.ticker(BTC, clock.now());
    const placed = await ex.createOrder(order({ side: 'sell', amount: 0.1 }));
    const price = floorToStep(ticker.bid * (1 - paperDefaults.slippageBps / 10_000), 0.01);
    expect(placed.average).to.equal(price);
    const balance = await ex.fetchBalance();
    expect(balance.BTC.total).to.be.closeTo(0.4, 1e-12);
    expect(balance.USDT.total).to.be.closeTo(0.1 * price * (1 - paperDefaults.feeRate), 1e-6);
  });

  it('rests a limit buy below the market with its funds held, and fills it at the limit when the market comes down', async () => {
    const ex = await open();
    const limit = floorToStep(market.ticker(BTC, clock.now()).ask * 0.997, 0.01);
    const crossing = firstCrossing(limit);
    const placed = await ex.createOrder(order({ side: 'buy', type: 'limit', amount: 0.02, price: limit }));
    expect(placed).to.include({ status: 'open', filled: 0, price: limit });
    const held = Number((0.02 * limit * (1 + paperDefaults.feeRate)).toFixed(12));
    expect((await ex.fetchBalance()).USDT).to.deep.equal({ free: 10_000 - held, used: held, total: 10_000 });

    clock.time = crossing * CANDLE; // the crossing candle has begun but is not complete
    expect((await ex.fetchOrder(placed.id, BTC)).status).to.equal('open');
    clock.time = (crossing + 1) * CANDLE;
    const filled = await ex.fetchOrder(placed.id, BTC);
    expect(filled).to.include({ status: 'closed', filled: 0.02, remaining: 0 });
    expect(filled.trades![0].price).to.be.at.most(limit);
    expect(filled.trades![0].timestamp).to.equal((crossing + 1) * CANDLE);
    const balance = await ex.fetchBalance();
    expect(balance.USDT.used).to.equal(0);
    expect(balance.BTC.free).to.equal(0.02);
    expect(await ex.fetchOrderTrades(placed.id, BTC)).to.deep.equal(filled.trades);
  });

  it('matches what a read answers for: a fetch of one order fills that order only, the balance and the open list every resting one, each at the fill the market gave it', async () => {
    const file = path.join(dir, 'paper-exchange.json');
    const statusOnDisk = (id: string): string =>
      (JSON.parse(fs.readFileSync(file, 'utf8')) as { data: { orders: Record<string, { status: string }> } })
        .data.orders[id].status;
    const ex = await open();
    const limit = floorToStep(market.ticker(BTC, clock.now()).ask * 0.997, 0.01);
    const crossing = firstCrossing(limit);
    const [a, b, c] = [
      await ex.createOrder(order({ side: 'buy', type: 'limit', amount: 0.01, price: limit })),
      await ex.createOrder(order({ side: 'buy', type: 'limit', amount: 0.01, price: limit })),
      await ex.createOrder(order({ side: 'buy', type: 'limit', amount: 0.01, price: limit })),
    ];
    clock.time = (crossing + 5) * CANDLE;

    const filledA = await ex.fetchOrder(a.id, BTC);
    expect(filledA.status).to.equal('closed');
    expect(statusOnDisk(a.id), 'its fill is durable').to.equal('closed');
    expect([statusOnDisk(b.id), statusOnDisk(c.id)], 'the others were not matched').to.deep.equal([
      'open',
      'open',
    ]);
    // matched later, each fills where the market crossed it, as if it had been matched then
    const filledB = await ex.fetchOrderByClientId(b.clientOrderId!, BTC);
    expect(filledB.trades!.map((t) => [t.price, t.timestamp])).to.deep.equal(
      filledA.trades!.map((t) => [t.price, t.timestamp]),
    );
    const balance = await ex.fetchBalance();
    expect(statusOnDisk(c.id), 'the balance matched every resting order').to.equal('closed');
    expect(balance.BTC.free).to.be.closeTo(0.03, 1e-12);
    expect(balance.USDT.used).to.equal(0);
    expect(await ex.fetchOpenOrders()).to.deep.equal([]);
  });

  it('fills a large limit order in parts over several candles (partialFillNotional)', async () => {
    const ex = await open({ startingBalances: { USDT: 100_000 }, partialFillNotional: 5_000 });
    const limit = floorToStep(market.ticker(BTC, clock.now()).ask * 1.03, 0.01); // marketable for a while
    const placed = await ex.createOrder(order({ side: 'buy', type: 'limit', amount: 0.2, price: limit }));
    const slice = floorToStep(5_000 / limit, 0.00001);
    expect(placed).to.include({ status: 'open', filled: slice });
    clock.time += CANDLE;
    expect((await ex.fetchOrder(placed.id, BTC)).filled, 'the running period fills nothing yet').to.equal(
      slice,
    );
    clock.time += CANDLE;
    const second = await ex.fetchOrder(placed.id, BTC);
    expect(second.status).to.equal('open');
    expect(second.filled).to.be.closeTo(2 * slice, 1e-12);
    clock.time += 5 * CANDLE;
    const done = await ex.fetchOrder(placed.id, BTC);
    expect(done.status).to.equal('closed');
    expect(done.trades!.length).to.be.at.least(3);
    expect(done.trades!.reduce((sum, t) => sum + t.amount, 0)).to.be.closeTo(0.2, 1e-12);
    expect(new Set(done.trades!.map((t) => t.timestamp)).size).to.equal(done.trades!.length);
    for (const t of done.trades!) expect(t.price).to.be.at.most(limit);
    const spent = done.trades!.reduce((sum, t) => sum + t.cost + t.fee.cost, 0);
    const balance = await ex.fetchBalance();
    expect(balance.USDT).to.deep.include({ used: 0 });
    expect(balance.USDT.free).to.be.closeTo(100_000 - spent, 1e-6);
    expect(balance.BTC.total).to.be.closeTo(0.2, 1e-12);
  });

  it('refuses a second create with the same clientOrderId (what makes a repeated submit harmless)', async () => {
    const ex = await open();
    const request = order({ side: 'buy', amount: 0.01 });
    const first = await ex.createOrder(request);
    const err = await expectRejects(ex.createOrder(request), InvalidOrderError, /duplicate clientOrderId/);
    expect((err as InvalidOrderError).context).to.include({
      clientOrderId: request.clientOrderId,
      orderId: first.id,
      duplicate: true,
    });
    expect((await ex.fetchBalance()).BTC.total).to.equal(0.01);
    expect((await ex.fetchOrderByClientId(request.clientOrderId, BTC)).id).to.equal(first.id);
  });

  it('refuses an order it cannot pay for and changes nothing', async () => {
    const ex = await open();
    await expectRejects(
      ex.createOrder(order({ side: 'buy', amount: 1 })),
      InsufficientFundsError,
      /insufficient USDT/,
    );
    await expectRejects(ex.createOrder(order({ side: 'sell', amount: 0.01 })), InsufficientFundsError);
    const limit = order({ side: 'buy', type: 'limit', amount: 1, price: 30_000 });
    await expectRejects(ex.createOrder(limit), InsufficientFundsError);
    expect(await ex.fetchBalance()).to.deep.equal({ USDT: { free: 10_000, used: 0, total: 10_000 } });
    await expectRejects(ex.fetchOrderByClientId(limit.clientOrderId, BTC), OrderNotFoundError);
  });

  it('floors amounts to the step and refuses orders below the minimum amount or notional', async () => {
    const ex = await open();
    await expectRejects(
      ex.createOrder(order({ side: 'buy', amount: 0.00005 })),
      InvalidOrderError,
      /below the minimum 5/,
    );
    await expectRejects(
      ex.createOrder(order({ side: 'buy', amount: 0.000001 })),
      InvalidOrderError,
      /amount/,
    );
    await expectRejects(
      ex.createOrder(order({ side: 'buy', type: 'limit', amount: 0.01 })),
      InvalidOrderError,
      /price/,
    );
    await expectRejects(
      ex.createOrder(order({ side: 'buy', amount: 0.01, symbol: 'DOGE/USDT' })),
      InvalidOrderError,
      /unknown symbol/,
    );
    const placed = await ex.createOrder(order({ side: 'buy', amount: 0.0123456 }));
    expect(placed.amount).to.equal(0.01234);
  });

  it("refuses orders above the market's largest as Binance does: LOT_SIZE for any order, MARKET_LOT_SIZE for a market one", async () => {
    const ex = await open({ startingBalances: { USDT: 10_000_000 } });
    expect((await ex.loadMarkets())[BTC].maxOrder).to.deep.equal({
      limit: { amount: 9_000 },
      market: { amount: 63.1 },
    });
    const before = await ex.fetchBalance();
    await expectRejects(
      ex.createOrder(order({ side: 'buy', amount: 63.2 })),
      InvalidOrderError,
      /^Filter failure: MARKET_LOT_SIZE$/,
    );
    await expectRejects(
      ex.createOrder(order({ side: 'buy', type: 'limit', price: 1_000, amount: 9_000.1 })),
      InvalidOrderError,
      /^Filter failure: LOT_SIZE$/,
    );
    await expectRejects(
      ex.createOrder(order({ side: 'buy', amount: 9_001 })),
      InvalidOrderError,
      /^Filter failure: LOT_SIZE$/,
    );
    // refused before anything changes
    expect(await ex.fetchBalance()).to.deep.equal(before);
    expect(await ex.fetchOpenOrders()).to.deep.equal([]);
    // at the maximums: taken (a limit of 100 BTC far below the market rests)
    expect((await ex.createOrder(order({ side: 'buy', amount: 63.1 }))).filled).to.equal(63.1);
    expect(
      (await ex.createOrder(order({ side: 'buy', type: 'limit', price: 1_000, amount: 100 }))).status,
    ).to.equal('open');
  });

  it('cancels an open order, releasing its funds; a second cancel finds no open order', async () => {
    const ex = await open();
    const placed = await ex.createOrder(order({ side: 'buy', type: 'limit', amount: 0.01, price: 20_000 }));
    expect((await ex.fetchOpenOrders(BTC)).map((o) => o.id)).to.deep.equal([placed.id]);
    expect(await ex.fetchOpenOrders('ETH/USDT')).to.deep.equal([]);
    const canceled = await ex.cancelOrder(placed.id, BTC);
    expect(canceled).to.include({ status: 'canceled', filled: 0 });
    expect(await ex.fetchBalance()).to.deep.equal({ USDT: { free: 10_000, used: 0, total: 10_000 } });
    expect(await ex.fetchOpenOrders()).to.deep.equal([]);
    await expectRejects(ex.cancelOrder(placed.id, BTC), OrderNotFoundError);
    await expectRejects(ex.fetchOrder('999', BTC), OrderNotFoundError);
    await expectRejects(ex.fetchOrder(placed.id, 'ETH/USDT'), OrderNotFoundError);
  });

  it('has the order on disk before createOrder returns, and a reopened exchange sees the same account', async () => {
    const ex = await open();
    const bought = await ex.createOrder(order({ side: 'buy', amount: 0.01 }));
    const resting = await ex.createOrder(order({ side: 'buy', type: 'limit', amount: 0.01, price: 20_000 }));
    const onDisk = JSON.parse(fs.readFileSync(path.join(dir, 'paper-exchange.json'), 'utf8'));
    expect(onDisk.data.byClientId[resting.clientOrderId!]).to.equal(resting.id);
    const balance = await ex.fetchBalance();
    await ex.close();

    const reopened = await open();
    expect(await reopened.fetchBalance()).to.deep.equal(balance);
    expect(await reopened.fetchOrderByClientId(bought.clientOrderId!, BTC)).to.deep.equal(bought);
    expect((await reopened.fetchOpenOrders()).map((o) => o.id)).to.deep.equal([resting.id]);
    const next = await reopened.createOrder(order({ side: 'buy', amount: 0.01 }));
    expect(Number(next.id)).to.be.greaterThan(Number(resting.id));
  });

  it('keeps matching while the bot is away: a limit order crossed during the downtime is filled on reopen', async () => {
    const ex = await open();
    const limit = floorToStep(market.ticker(BTC, clock.now()).ask * 0.997, 0.01);
    const crossing = firstCrossing(limit);
    const placed = await ex.createOrder(order({ side: 'buy', type: 'limit', amount: 0.01, price: limit }));
    await ex.close();
    clock.time = (crossing + 20) * CANDLE;
    const reopened = await open();
    const found = await reopened.fetchOrder(placed.id, BTC);
    expect(found.status).to.equal('closed');
    expect(found.trades![0].timestamp).to.equal((crossing + 1) * CANDLE);
  });

  it('fsyncs a fill before the call that found it returns; a pass that only moves its checked period is written later, and losing that write loses no fill', async () => {
    const file = path.join(dir, 'paper-exchange.json');
    const onDisk = (): { checkedBucket: number; status: string } => {
      const o = Object.values(JSON.parse(fs.readFileSync(file, 'utf8')).data.orders)[0];
      return o as { checkedBucket: number; status: string };
    };
    const ex = await open();
    const limit = floorToStep(market.ticker(BTC, clock.now()).ask * 0.997, 0.01);
    const crossing = firstCrossing(limit);
    const placed = await ex.createOrder(order({ side: 'buy', type: 'limit', amount: 0.01, price: limit }));
    const placedBucket = onDisk().checkedBucket;
    expect(crossing - 1, 'completed periods without a crossing lie between').to.be.greaterThan(placedBucket);

    clock.time = crossing * CANDLE; // periods passed without a crossing: only the checked period moves
    expect((await ex.fetchOpenOrders()).map((o) => o.id)).to.deep.equal([placed.id]);
    expect(onDisk(), 'no write before the answer').to.deep.include({
      checkedBucket: placedBucket,
      status: 'open',
    });
    const beforeTheLaterWrite = fs.readFileSync(file);

    clock.time = (crossing + 1) * CANDLE;
    expect((await ex.fetchOrder(placed.id, BTC)).status).to.equal('closed');
    expect(onDisk().status, 'the fill is on disk when the call returns').to.equal('closed');
    await ex.close();

    // a crash that lost the period bookkeeping: the next start matches those periods again and fills the same
    fs.writeFileSync(file, beforeTheLaterWrite);
    const reopened = await open();
    const again = await reopened.fetchOrder(placed.id, BTC);
    expect(again.status).to.equal('closed');
    expect(again.trades![0].timestamp).to.equal((crossing + 1) * CANDLE);
  });

  it('refuses a second live instance on the same account file', async () => {
    await open();
    await expectRejects(open(), LockHeldError);
  });

  it('is deterministic: the same seed, clock and orders give the same fills', async () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-paper-'));
    try {
      const results: unknown[] = [];
      for (const dataDir of [dir, other]) {
        clock.time = START;
        const ex = await open({ startingBalances: { USDT: 100_000 } }, dataDir);
        await ex.createOrder({
          symbol: BTC,
          side: 'buy',
          type: 'market',
          amount: 0.05,
          clientOrderId: 'a-1',
        });
        const limit = await ex.createOrder({
          symbol: 'ETH/USDT',
          side: 'buy',
          type: 'limit',
          amount: 3,
          price: 2_990,
          clientOrderId: 'a-2',
        });
        clock.time += 300 * CANDLE;
        results.push([await ex.fetchOrder(limit.id, 'ETH/USDT'), await ex.fetchBalance()]);
        await ex.close();
      }
      expect(results[1]).to.deep.equal(results[0]);
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  describe('test faults (the decorator test code wraps an exchange with)', () => {
    async function faulty(
      options: ExchangeFaultOptions,
      settings: Partial<PaperSettings> = {},
    ): Promise<{ ex: Exchange; faults: ExchangeFaults }> {
      const faults = new ExchangeFaults(options);
      return { ex: withFaults(await open(settings), faults), faults };
    }

    it('lose-response: stores the order but throws NetworkError; the order is then found by clientOrderId', async () => {
      const { ex, faults } = await faulty({ script: ['lose-response'] });
      const request = order({ side: 'buy', amount: 0.01 });
      await expectRejects(ex.createOrder(request), NetworkError, /response lost/);
      const found = await ex.fetchOrderByClientId(request.clientOrderId, BTC);
      expect(found).to.include({ status: 'closed', filled: 0.01 });
      await expectRejects(ex.createOrder(request), InvalidOrderError, /duplicate/);
      expect(faults.fired).to.deep.equal([{ operation: 'createOrder', kind: 'lose-response' }]);
    });

    it('leaves the calls no fault may hit as they are: a synchronous one answers at once, not a promise', async () => {
      // the chaos run's faults wrapped every method async: the clock offset was a promise, every time NaN, and the
      // paper start was refused ("Invalid time value")
      const { ex } = await faulty({ operations: ['createOrder', 'fetchOrder'], probability: 1 });
      expect(ex.clockOffsetMs?.()).to.equal(0);
      expect((await ex.loadMarkets())[BTC]).to.include({ symbol: BTC });
    });

    it('network-before and unavailable: throw before anything happens', async () => {
      const { ex } = await faulty({ script: ['network-before', 'unavailable', 'ok'] });
      const request = order({ side: 'buy', amount: 0.01 });
      await expectRejects(ex.createOrder(request), NetworkError);
      await expectRejects(ex.fetchOrderByClientId(request.clientOrderId, BTC), OrderNotFoundError);
      await expectRejects(ex.createOrder(request), ExchangeUnavailableError);
      await expectRejects(ex.fetchOrderByClientId(request.clientOrderId, BTC), OrderNotFoundError);
      expect((await ex.createOrder(request)).status).to.equal('closed');
    });

    it('draws faults with a seeded probability, only on the listed operations', async () => {
      const { ex, faults } = await faulty(
        { probability: 0.5, seed: 3, kinds: ['network-before'] },
        { startingBalances: { USDT: 1_000_000 } },
      );
      let failures = 0;
      for (let i = 0; i < 40; i++) {
        try {
          await ex.createOrder(order({ side: 'buy', amount: 0.001 }));
        } catch (err) {
          expect(err).to.be.instanceOf(NetworkError);
          failures++;
        }
        await ex.fetchBalance(); // not listed: never faults
      }
      expect(failures).to.be.within(8, 32);
      expect(faults.fired).to.have.length(failures);
    });
  });
});
