import { expect } from 'chai';
import { OrderNotFoundError } from '../../../src/shared/errors';
import type { CreateOrderRequest, ExchangeOrder } from '../../../src/trading/exchange/exchange';
import { PaperExchange } from '../../../src/trading/exchange/paper-exchange';
import { floorToStep } from '../../../src/trading/exchange/precision';
import { SimulatedPriceFeed } from '../../../src/trading/exchange/price-feed';
import { BTC, CANDLE, MARKET, PAPER_DEFAULTS, PaperFixture, SYMBOLS } from '../../support/paper-fixture';

/**
 * Every call that answers for an order, or takes funds, first matches the periods that already crossed the resting
 * orders it answers for: an exchange's matching engine fills an order when the market reaches it, not when someone
 * looks. Each test below makes that call the FIRST look after the crossing, so it fails when the call skips matching.
 */
describe('paper exchange: a read answers only after the periods that crossed its orders were matched', () => {
  let f: PaperFixture;
  beforeEach(() => (f = new PaperFixture()));
  afterEach(() => f.close());

  /** A limit buy resting below the market, and the clock two candles past the one that crossed it (nobody looked). */
  async function filledUnseen(ex: PaperExchange, amount = 0.02): Promise<ExchangeOrder> {
    const limit = floorToStep(MARKET.ticker(BTC, f.clock.now()).ask * 0.997, 0.01);
    const crossing = f.firstCrossing(limit);
    const placed = await ex.createOrder(f.order({ side: 'buy', type: 'limit', amount, price: limit }));
    expect(placed.status).to.equal('open');
    f.clock.time = (crossing + 2) * CANDLE + 1;
    return placed;
  }

  it('cancel: an order that filled in a past period answers filled, not cancelled, and keeps its fill', async () => {
    const ex = await f.open();
    const placed = await filledUnseen(ex);
    const err = await ex.cancelOrder(placed.id, BTC).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, 'only an open order can be cancelled').to.be.instanceOf(OrderNotFoundError);
    expect(await ex.fetchOrder(placed.id, BTC)).to.include({ status: 'closed', filled: 0.02 });
    expect((await ex.fetchBalance()).BTC.free).to.equal(0.02);
  });

  it('create: funds a past fill brought are there for the new order', async () => {
    const ex = await f.open({ startingBalances: { USDT: 10_000 } });
    await filledUnseen(ex);
    // the BTC exists only through the resting buy's fill: unmatched, this sell is refused for lack of funds
    const sold = await ex.createOrder(f.order({ side: 'sell', amount: 0.02 }));
    expect(sold).to.include({ status: 'closed', filled: 0.02 });
  });

  it('open orders: an order that filled in a past period is not listed open', async () => {
    const ex = await f.open();
    const farBelow = floorToStep(MARKET.ticker(BTC, f.clock.now()).ask * 0.5, 0.01);
    const still = await ex.createOrder(
      f.order({ side: 'buy', type: 'limit', amount: 0.001, price: farBelow }),
    );
    await filledUnseen(ex);
    expect((await ex.fetchOpenOrders(BTC)).map((o) => o.id)).to.deep.equal([still.id]);
  });

  it('recent orders: an order that filled in a past period is listed filled, with its fill', async () => {
    const ex = await f.open();
    const placed = await filledUnseen(ex);
    const recent = (await ex.fetchRecentOrders(BTC)).find((o) => o.id === placed.id)!;
    expect(recent).to.include({ status: 'closed', filled: 0.02 });
    expect(recent.trades).to.have.length(1);
  });

  it('recent orders: an order its own matching closed and dropped beyond the closed orders kept is not listed', async () => {
    const ex = await PaperExchange.open({
      dataDir: f.dir,
      feed: new SimulatedPriceFeed(MARKET, SYMBOLS),
      settings: PAPER_DEFAULTS,
      clock: f.clock,
      retainClosedOrders: 1,
    });
    try {
      const limit = floorToStep(MARKET.ticker(BTC, f.clock.now()).ask * 0.997, 0.01);
      const crossing = f.firstCrossing(limit);
      const order = (): CreateOrderRequest =>
        f.order({ side: 'buy', type: 'limit', amount: 0.01, price: limit });
      const first = await ex.createOrder(order());
      const second = await ex.createOrder(order());
      f.clock.time = (crossing + 2) * CANDLE + 1;
      // both fill in the read's own pass, which then keeps only the later of them
      const recent = await ex.fetchRecentOrders(BTC);
      expect(recent.map((o) => [o.id, o.status])).to.deep.equal([[second.id, 'closed']]);
      expect(await ex.fetchRecentOrders(BTC), 'as a listing with nothing left to match').to.deep.equal(
        recent,
      );
      expect(first.id).to.not.equal(second.id);
    } finally {
      await ex.close();
    }
  });

  for (const lookup of ['fetchOrder', 'fetchOrderByClientId', 'fetchOrderTrades'] as const) {
    it(`single lookup (${lookup}): an order that filled in a past period answers with its fill`, async () => {
      const ex = await f.open();
      const placed = await filledUnseen(ex);
      const trades =
        lookup === 'fetchOrder'
          ? (await ex.fetchOrder(placed.id, BTC)).trades!
          : lookup === 'fetchOrderByClientId'
            ? (await ex.fetchOrderByClientId(placed.clientOrderId!, BTC)).trades!
            : await ex.fetchOrderTrades(placed.id, BTC);
      expect(trades.map((t) => t.amount)).to.deep.equal([0.02]);
    });
  }
});
