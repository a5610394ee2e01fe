import { expect } from 'chai';
import fc from 'fast-check';
import type { ExchangeOrder } from '../../../src/trading/exchange/exchange';
import type { PaperExchange, PaperSettings } from '../../../src/trading/exchange/paper-exchange';
import { ceilToStep, floorToStep } from '../../../src/trading/exchange/precision';
import { MAX_PRICE_RANGES } from '../../../src/trading/exchange/price-feed';
import { BTC, CANDLE, MARKET, PAPER_START, PaperFixture } from '../../support/paper-fixture';

/** A fill as the bot sees it (trade ids are left out: they number fills in the order they were found). */
type SeenFill = [orderId: string, price: number, amount: number, time: number, fee: number];

/** What a look is: every kind of read the engine makes (each matches what it answers for). */
type Look = 'order' | 'open' | 'balance' | 'recent';

/**
 * A paper exchange must be deterministic: the same price path gives the same fills whether the bot looks every
 * second, once a minute, at odd moments, or only after a restart. The orders and their placing times are fixed;
 * only when (and how) the account is looked at changes. Real paper exchange, real files, the simulated market.
 */
describe('paper exchange: fills do not depend on when they are looked at', function () {
  this.timeout(60_000);
  let f: PaperFixture;
  beforeEach(() => (f = new PaperFixture()));
  afterEach(() => f.close());

  const SETTINGS: Partial<PaperSettings> = { startingBalances: { USDT: 100_000, BTC: 2 }, latencyMs: 0 };
  const END = PAPER_START + 300 * CANDLE;
  const LATER = PAPER_START + 60 * CANDLE + 777;

  /** The same orders at the same times in every run: resting buys and sells, large ones filling in slices. */
  async function placeAt(ex: PaperExchange, at: number, placed: ExchangeOrder[]): Promise<void> {
    const { ask, bid } = MARKET.ticker(BTC, at);
    const limit = (side: 'buy' | 'sell', amount: number, price: number): Promise<ExchangeOrder> =>
      ex.createOrder(f.order({ side, type: 'limit', amount, price }));
    if (at === PAPER_START) {
      placed.push(await limit('buy', 0.05, floorToStep(ask * 0.998, 0.01)));
      placed.push(await limit('buy', 0.3, floorToStep(ask * 0.999, 0.01))); // 4 slices of 5,000
      placed.push(await limit('sell', 0.2, ceilToStep(bid * 1.002, 0.01)));
      placed.push(await limit('sell', 0.5, ceilToStep(bid * 1.004, 0.01)));
      placed.push(await limit('buy', 0.01, floorToStep(ask * 0.99, 0.01)));
    } else {
      placed.push(await limit('buy', 0.2, floorToStep(ask * 0.997, 0.01)));
      placed.push(await limit('sell', 0.2, ceilToStep(bid * 1.001, 0.01)));
    }
  }

  async function look(ex: PaperExchange, kind: Look, placed: ExchangeOrder[], pick: number): Promise<void> {
    if (kind === 'order' && placed.length > 0) await ex.fetchOrder(placed[pick % placed.length].id, BTC);
    else if (kind === 'open') await ex.fetchOpenOrders(BTC);
    else if (kind === 'balance') await ex.fetchBalance();
    else await ex.fetchRecentOrders(BTC);
  }

  /**
   * Places the orders, looks at the given times (a restart at `restartAt`: closed, reopened on the same file), and
   * returns every fill the orders have at END, each read once there.
   */
  async function run(
    looks: ReadonlyArray<{ at: number; kind: Look; pick: number }>,
    opts: { restartAt?: number; end?: number; place?: typeof placeAt } = {},
  ): Promise<SeenFill[]> {
    const end = opts.end ?? END;
    const place = opts.place ?? placeAt;
    let ex = await f.open(SETTINGS);
    const placed: ExchangeOrder[] = [];
    const events = [
      ...looks.filter((l) => l.at < end),
      { at: PAPER_START, kind: 'place' as const, pick: 0 },
      { at: LATER, kind: 'place' as const, pick: 0 },
      ...(opts.restartAt === undefined ? [] : [{ at: opts.restartAt, kind: 'restart' as const, pick: 0 }]),
    ].sort((a, b) => a.at - b.at || (a.kind === 'place' ? -1 : 1));
    for (const event of events) {
      if (event.kind === 'place') {
        f.clock.time = event.at;
        await place(ex, event.at, placed);
      } else if (event.kind === 'restart') {
        await ex.close();
        f.clock.time = Math.max(f.clock.now(), event.at);
        ex = await f.open(SETTINGS);
      } else {
        f.clock.time = Math.max(f.clock.now(), event.at);
        await look(ex, event.kind, placed, event.pick);
      }
    }
    f.clock.time = end;
    const fills: SeenFill[] = [];
    for (const o of placed) {
      for (const t of (await ex.fetchOrder(o.id, BTC)).trades!) {
        fills.push([o.id, t.price, t.amount, t.timestamp, t.fee.cost]);
      }
    }
    await ex.close();
    return fills;
  }

  function every(
    ms: number,
    kind: Look,
    from = PAPER_START + 1,
    until = END,
  ): Array<{ at: number; kind: Look; pick: number }> {
    const looks = [];
    for (let at = from, i = 0; at < until; at += ms, i += 1) looks.push({ at, kind, pick: i });
    return looks;
  }

  it('the same fills (price, amount, time, fee) whether the bot looks every second, every minute, at odd moments, or only after a restart', async () => {
    const onlyAfterRestart = await run([], { restartAt: PAPER_START + 1 });
    expect(onlyAfterRestart.length, 'the path fills in every order, some in slices').to.be.at.least(12);
    expect(new Set(onlyAfterRestart.map((x) => x[0])).size).to.equal(7);
    const schedules = {
      'every second, each order looked up in turn': every(1_000, 'order'),
      'every second, the open list': every(1_000, 'open'),
      'every minute, the balance': every(60_000, 'balance'),
      'every 7.3 s, recent orders': every(7_300, 'recent'),
      'twice in every candle, one order': every(CANDLE / 2 + 1, 'order'),
    };
    for (const [name, looks] of Object.entries(schedules)) {
      f.clock.time = PAPER_START;
      await f.close();
      f = new PaperFixture();
      expect(await run(looks), name).to.deep.equal(onlyAfterRestart);
    }
  });

  it('the same fills for any schedule of looks (property: random moments, random kinds of read)', async () => {
    const reference = await run([]);
    const lookArb = fc.record({
      at: fc.integer({ min: PAPER_START + 1, max: END - 1 }),
      kind: fc.constantFrom<Look>('order', 'open', 'balance', 'recent'),
      pick: fc.nat({ max: 6 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(lookArb, { maxLength: 60 }),
        fc.option(fc.integer({ min: PAPER_START + 1, max: END - 1 })),
        async (looks, restartAt) => {
          await f.close();
          f = new PaperFixture();
          const fills = await run(looks, { restartAt: restartAt ?? undefined });
          expect(fills).to.deep.equal(reference);
        },
      ),
      { numRuns: 15 },
    );
  });

  it(`the same fills after a downtime longer than one feed answer (${MAX_PRICE_RANGES} periods) as with a look every 20 minutes`, async () => {
    // a buy below every price of the first MAX_PRICE_RANGES periods: the path reaches it only after them
    const first = MARKET.candleIndex(PAPER_START);
    const lowest = Math.min(
      ...MARKET.priceRanges(BTC, first, (first + 1 + MAX_PRICE_RANGES) * CANDLE).map((r) => r.lowestAsk),
    );
    const deep = floorToStep(lowest * 0.995, 0.01);
    const end = PAPER_START + (MAX_PRICE_RANGES + 3_000) * CANDLE;
    const place = async (ex: PaperExchange, at: number, placed: ExchangeOrder[]): Promise<void> => {
      const { bid } = MARKET.ticker(BTC, at);
      placed.push(await ex.createOrder(f.order({ side: 'buy', type: 'limit', amount: 0.05, price: deep })));
      placed.push(
        await ex.createOrder(
          f.order({ side: 'sell', type: 'limit', amount: 0.3, price: ceilToStep(bid * 1.002, 0.01) }),
        ),
      );
    };
    const afterDowntime = await run([], { restartAt: PAPER_START + 1, end, place });
    const deepFill = afterDowntime.find((x) => x[1] <= deep);
    expect(deepFill, 'the deep buy fills').to.not.equal(undefined);
    expect(deepFill![3], 'after the first answer').to.be.greaterThan(PAPER_START + MAX_PRICE_RANGES * CANDLE);
    await f.close();
    f = new PaperFixture();
    const watched = await run(every(20 * 60_000, 'balance', PAPER_START + 1, end), { end, place });
    expect(afterDowntime).to.deep.equal(watched);
  });
});
