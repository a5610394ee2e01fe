/**
 * A market order's own amount rules, end to end: the real engine through real ccxt against the Binance double
 * (harness/exchanges/fake-binance.ts), which lists MARKET_LOT_SIZE minQty and stepSize as Binance's filters.md defines
 * them ("quantity >= minQty", "quantity % stepSize == 0", for MARKET orders, besides LOT_SIZE's) and refuses a MARKET
 * order off them -1013 "Filter failure: MARKET_LOT_SIZE". ccxt reads only LOT_SIZE: before the fix, a stop-loss sold
 * the position on LOT_SIZE's step, was refused, and was tried again on every tick, never sold. And what is below the
 * market step (a position bought before the rule, or the buy fee taken in the coin) is sold by a limit order on
 * LOT_SIZE's grid at the marketable price: it rode on with no stop-loss as "dust", a one-step entry opened no position
 * at all. And in a crash faster than Binance's PERCENT_PRICE_BY_SIDE band (review 44b), which the double lists and
 * applies as filters.md defines it — "A SELL order will pass this filter evaluation if: … price >= average of previous
 * trade prices * askMultiplierDown", on the order's `price`; a MARKET order has none (unlike NOTIONAL, whose MARKET rule
 * filters.md spells out: "Since MARKET orders have no price, an average of previous trade prices is used instead") —
 * that limit is refused -1013 until the average has caught up: such a refusal is a miss (symbol-decision.ts
 * urgentLimitMissed), and the next stop-loss or close-all sells the whole market steps at market. Before, the
 * stop-loss was tried again on its backoff as the same limit, never at market, and the position rode the crash with no
 * exit taken. Real clock, as live-exchanges.suite.ts (see there why).
 */
import { expect } from 'chai';
import { HOLD, type Signal } from '../../../src/trading/strategy/strategy';
import { binanceKit } from '../../../harness/exchanges/exchange-kits';
import { floorToStep } from '../../../src/trading/exchange/precision';
import { FakeBinance } from '../../../harness/exchanges/fake-binance';
import { ScriptedStrategy, EngineHarness } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import { startLiveEngine, tickUntil as tickUntilIn } from '../../support/live-engine';

const BTC = 'BTC/USDT';
const ENTER: Signal = { action: 'enter-long', reason: 'test says buy' };
/** Binance's sample PERCENT_PRICE_BY_SIDE band (filters.md): a sell may be priced down to 80 % of the average. */
const BAND = {
  bidMultiplierUp: 1.2,
  bidMultiplierDown: 0.2,
  askMultiplierUp: 5,
  askMultiplierDown: 0.8,
  avgPriceMins: 5,
};

describe("a market order on Binance's MARKET_LOT_SIZE step and minimum (real ccxt, Binance double)", function () {
  this.timeout(60_000);
  let fake: FakeBinance | undefined;
  let h: EngineHarness | undefined;
  let strategy: ScriptedStrategy;

  closeAfterEach(() => [h, fake]);

  const position = (): number => h!.orderBook.positions()[BTC]?.amount ?? 0;
  const events = (type: string) => h!.events.filter((e) => e.type === type);
  const sells = () => fake!.trades(BTC).filter((t) => t.side === 'sell');
  /** The bot's sell orders as the exchange took them, oldest first. */
  const sellOrders = () =>
    [...new Set(fake!.orderClientIds())]
      .flatMap((id) => fake!.ordersByClientId(id))
      .filter((o) => o.side === 'SELL')
      .sort((a, b) => a.time - b.time || a.orderId - b.orderId)
      .map((o) => ({ type: o.type, qty: Number(o.origQty), price: Number(o.price) }));
  const tickUntil = (done: () => boolean): Promise<void> => tickUntilIn(h!, done);

  /**
   * The engine on the Binance double (the owner holds 1 BTC of their own), the price pinned at 60,000, buying `stake`
   * USDT a trade; `marketLot`: the double's MARKET_LOT_SIZE from the start; `feeAsset` 'quote': fees in USDT (the
   * kit's Binance takes them in the asset received); a 2 % stop-loss unless `stopLossPct` says (0: off), tried again
   * after a refusal on the shipped backoff unless `protectiveRefusalBackoffMs` says.
   */
  async function startEngine(
    stake: number,
    marketLot?: { minQty: number; stepSize: number },
    feeAsset?: 'quote',
    {
      stopLossPct = 2,
      protectiveRefusalBackoffMs,
    }: { stopLossPct?: number; protectiveRefusalBackoffMs?: number } = {},
  ): Promise<void> {
    const options = { candleMs: 300, balances: { USDT: 10_000, BTC: 1 } };
    fake = feeAsset
      ? await FakeBinance.start({ ...binanceKit.credentials, ...options, feeAsset })
      : ((await binanceKit.start(options)) as FakeBinance);
    fake.pinPrice(BTC, 60_000);
    if (marketLot) fake.setMarketLot(marketLot);
    strategy = new ScriptedStrategy();
    h = await startLiveEngine(binanceKit, fake.url, {
      config: {
        trading: {
          mode: 'live',
          symbols: [BTC],
          risk: { stopLossPct, takeProfitPct: 0, stakePerTrade: stake },
          ...(protectiveRefusalBackoffMs !== undefined ? { orders: { protectiveRefusalBackoffMs } } : {}),
        },
      },
      strategy,
    });
  }

  /** A BTC position of ~0.0333 bought at 60,000, then MARKET_LOT_SIZE 0.01. */
  async function positionThenMarketLot(): Promise<number> {
    await startEngine(2_000);
    strategy.next = ENTER;
    await tickUntil(() => position() > 0);
    strategy.next = HOLD;
    const bought = position();
    // LOT_SIZE's step 0.00001: not a multiple of 0.01
    expect(bought).to.be.closeTo(0.0333, 0.0001);
    // Binance lists a market order's own step and minimum from now on (its exchangeInfo; the bot reloads markets)
    fake!.setMarketLot({ minQty: 0.02, stepSize: 0.01 });
    h!.orderBook.setMarkets(await h!.exchange.loadMarkets(true));
    return bought;
  }

  it('a stop-loss sells a position off the market step whole, by one limit at the marketable price', async () => {
    const bought = await positionThenMarketLot();
    fake!.pinPrice(BTC, 58_000);
    await tickUntil(() => sells().length > 0);
    for (let i = 0; i < 5; i++) await h!.loop.tick();
    // never the position's 0.0333 at market (refused -1013 again and again), nor 0.03 at market leaving 0.0033 that no
    // stop-loss watched: all of it on LOT_SIZE's step by a limit 2 % under the last price, filled at the book (the
    // bid), not at its limit
    expect(events('order.rejected')).to.deep.equal([]);
    const all = floorToStep(bought, 0.00001);
    expect(sellOrders()).to.deep.equal([{ type: 'LIMIT', qty: all, price: 56_840 }]);
    expect(sells().map((t) => t.qty)).to.deep.equal([all]);
    expect(sells()[0].price).to.be.closeTo(58_000, 10);
    // what is left is below LOT_SIZE's step: dust, the round trip over
    expect(position()).to.be.below(0.00001);
    expect(events('position.closed')).to.have.length(1);
    expect(h!.orderBook.openPositions()).to.deep.equal([]);
    // the owner's coin: untouched
    expect(fake!.balance('BTC')).to.be.closeTo(1 + bought - all, 1e-9);
  });

  it('close-all sells it whole by one limit too, and leaves only dust', async () => {
    const bought = await positionThenMarketLot();
    const result = await h!.loop.closeAll();
    expect(events('order.rejected')).to.deep.equal([]);
    expect(result.skipped).to.deep.equal([]);
    const all = floorToStep(bought, 0.00001);
    expect(sellOrders().map((o) => [o.type, o.qty])).to.deep.equal([['LIMIT', all]]);
    expect(position()).to.be.below(0.00001);
    expect(fake!.balance('BTC')).to.be.closeTo(1 + bought - all, 1e-9);
  });

  /** MARKET_LOT_SIZE step and minimum 0.001 from the start. */
  const lottedEngine = (stake: number, feeAsset?: 'quote'): Promise<void> =>
    startEngine(stake, { minQty: 0.001, stepSize: 0.001 }, feeAsset);

  it('a position of whole market steps is sold at market, on the market step', async () => {
    // the fee in USDT: 0.005 bought is 0.005 held
    await lottedEngine(300, 'quote');
    strategy.next = ENTER;
    await tickUntil(() => position() > 0);
    strategy.next = HOLD;
    expect(position()).to.equal(0.005);
    fake!.pinPrice(BTC, 58_000);
    await tickUntil(() => sells().length > 0);
    expect(events('order.rejected')).to.deep.equal([]);
    expect(sellOrders()).to.deep.equal([{ type: 'MARKET', qty: 0.005, price: 0 }]);
    expect(h!.orderBook.openPositions()).to.deep.equal([]);
  });

  it('a market entry of one market step, its fee taken in the coin, is a position its stop-loss sells', async () => {
    // review 33m: 0.001 BTC bought at market held 0.000999 after Binance's 0.1 % fee in BTC — below the market step,
    // so no position at all: no stop-loss, and the next signal bought again
    await lottedEngine(70);
    strategy.next = ENTER;
    await tickUntil(() => position() > 0);
    for (let i = 0; i < 3; i++) await h!.loop.tick();
    // one buy of one market step, the fee in BTC: a position (opened once), so the strategy's next signal buys nothing
    const buys = fake!.trades(BTC).filter((t) => t.side === 'buy');
    expect(buys.map((t) => [t.qty, t.feeAsset])).to.deep.equal([[0.001, 'BTC']]);
    expect(position()).to.be.closeTo(0.000999, 1e-12);
    expect(events('position.opened')).to.have.length(1);
    expect(h!.orderBook.openPositions().map((p) => p.symbol)).to.deep.equal([BTC]);
    strategy.next = HOLD;
    fake!.pinPrice(BTC, 58_000);
    await tickUntil(() => sells().length > 0);
    expect(sellOrders()).to.deep.equal([{ type: 'LIMIT', qty: 0.00099, price: 56_840 }]);
    expect(events('order.rejected')).to.deep.equal([]);
    expect(events('position.closed')).to.have.length(1);
    expect(h!.orderBook.openPositions()).to.deep.equal([]);
    expect(fake!.balance('BTC')).to.be.closeTo(1 + 0.000999 - 0.00099, 1e-9);
  });

  it('a stop-loss limit the bids left behind is cancelled, and the next sells the market steps at market', async () => {
    await lottedEngine(300);
    strategy.next = ENTER;
    await tickUntil(() => position() > 0);
    strategy.next = HOLD;
    expect(position()).to.be.closeTo(0.004995, 1e-12);
    // the book thins out: the best bid 5 % under the last price, below the limit's 2 %
    fake!.widenSpread(BTC, 0.05);
    fake!.pinPrice(BTC, 58_000);
    await tickUntil(() => sells().length > 0);
    // first the limit of all of it, resting, cancelled by the stop-loss still firing; then 0.004 at market, filled at
    // the bid; the rest (below a market step) by a limit again
    const [first, second] = sellOrders();
    expect(first).to.deep.equal({ type: 'LIMIT', qty: 0.00499, price: 56_840 });
    expect(second).to.deep.equal({ type: 'MARKET', qty: 0.004, price: 0 });
    expect(sells().map((t) => [t.qty, t.price])).to.deep.equal([[0.004, 55_100]]);
    expect(events('order.rejected')).to.deep.equal([]);
    expect(position()).to.be.closeTo(0.000995, 1e-12);
  });

  it('a close-all whose limit the bids left behind sells the market steps at market the next time', async () => {
    await lottedEngine(300);
    strategy.next = ENTER;
    await tickUntil(() => position() > 0);
    strategy.next = HOLD;
    fake!.widenSpread(BTC, 0.05);
    // the limit of all of it rests: close-all says what is left unsold
    const first = await h!.loop.closeAll();
    expect(first.skipped.map((s) => s.reason).join()).to.match(/0\.004995 BTC\/USDT left unsold/);
    // again: that limit cancelled first, then 0.004 at market (filled at the bid), the rest by a limit (resting)
    const second = await h!.loop.closeAll();
    expect(sellOrders().map((o) => [o.type, o.qty])).to.deep.equal([
      ['LIMIT', 0.00499],
      ['MARKET', 0.004],
      ['LIMIT', 0.00099],
    ]);
    expect(sells().map((t) => [t.qty, t.price])).to.deep.equal([[0.004, 57_000]]);
    expect(second.skipped.map((s) => s.reason).join()).to.match(/left unsold/);
    expect(position()).to.be.closeTo(0.000995, 1e-12);
  });

  it("a strategy's market exit sells it whole, so the next entry is free to buy (review43 HIGH)", async () => {
    // five steps bought, 0.004995 held: four at market would leave 0.000995, a position no exit is asked for again
    await lottedEngine(300);
    strategy.next = ENTER;
    await tickUntil(() => position() > 0);
    expect(position()).to.be.closeTo(0.004995, 1e-12);
    strategy.next = { action: 'exit-long', reason: 'test says sell' };
    await tickUntil(() => sells().length > 0);
    strategy.next = HOLD;
    expect(sellOrders()).to.deep.equal([{ type: 'LIMIT', qty: 0.00499, price: 58_800 }]);
    await tickUntil(() => events('position.closed').length > 0);
    expect(h!.orderBook.openPositions()).to.deep.equal([]);
    // the next signal buys again
    strategy.next = ENTER;
    await tickUntil(() => fake!.trades(BTC).filter((t) => t.side === 'buy').length > 1);
    expect(fake!.balance('BTC')).to.be.closeTo(1 + 0.004995 - 0.00499 + 0.004995, 1e-9);
  });

  /** The bot's sells as its state has them: what a condition not reached shows. */
  const rejected = () =>
    h!.orderBook
      .hotOrders((o) => o.symbol === BTC && o.side === 'sell')
      .map((o) => `${o.purpose} ${o.type} ${o.amount}@${o.price ?? 'market'} ${o.status} ${o.error ?? ''}`);

  /**
   * The owner holds 1 BTC of their own; MARKET_LOT_SIZE step and minimum 0.001; 300 USDT bought at 60,000 at market,
   * the fee taken in BTC: 0.004995 held (four whole market steps and a rest). Then the band is listed, the average of
   * the last five minutes still 60,000. `stopLossPct` 2 unless given (0: off).
   */
  async function holding(stopLossPct = 2): Promise<void> {
    await startEngine(300, { minQty: 0.001, stepSize: 0.001 }, undefined, {
      stopLossPct,
      protectiveRefusalBackoffMs: 50,
    });
    strategy.next = ENTER;
    await tickUntil(() => position() > 0);
    strategy.next = HOLD;
    expect(position()).to.be.closeTo(0.004995, 1e-12);
    fake!.setPercentPriceBySide(BAND);
    fake!.pinAveragePrice(BTC, 60_000);
    h!.orderBook.setMarkets(await h!.exchange.loadMarkets(true));
  }

  it('a stop-loss whose limit PERCENT_PRICE_BY_SIDE refuses sells the market steps at market', async () => {
    await holding();
    // a 25 % crash within the average's five minutes: the limit 2 % under it (44,100) is below 60,000 × 0.8
    fake!.pinPrice(BTC, 45_000);
    // Binance takes a MARKET sell of the whole market steps now (the double: 0.004 filled at the bid)
    await tickUntilIn(h!, () => sells().length > 0, 40, rejected);
    expect(sells()[0].qty).to.equal(0.004);
    // never the owner's coin
    expect(fake!.balance('BTC')).to.be.at.least(1);
  });

  it('a close-all whose limit PERCENT_PRICE_BY_SIDE refused sells the market steps at market the next time', async () => {
    // no stop-loss: the operator closes all; a tick reads the crashed price first
    await holding(0);
    fake!.pinPrice(BTC, 45_000);
    await h!.loop.tick();
    const first = await h!.loop.closeAll();
    // the first close-all may be refused; the operator is told to close-all again, and the next one must sell
    const second = await h!.loop.closeAll();
    expect(
      sells().map((t) => t.qty),
      `first: ${JSON.stringify(first.skipped)}; second: ${JSON.stringify(second.skipped)}; ${JSON.stringify(rejected())}`,
    ).to.deep.equal([0.004]);
    expect(fake!.balance('BTC')).to.be.at.least(1);
  });

  it('a stop-loss answered HTTP 400 -1000 "unknown error" after Binance took it: looked up, sold once (checked correct)', async () => {
    await holding();
    fake!.setPercentPriceBySide(undefined);
    // errors.md: "-1000 UNKNOWN An unknown error occurred while processing the request." — ccxt: OperationFailed
    fake!.faults.next('createOrder', {
      kind: 'taken-then-status',
      status: 400,
      body: { code: -1000, msg: 'An unknown error occurred while processing the request.' },
    });
    fake!.pinPrice(BTC, 58_000);
    await tickUntilIn(
      h!,
      () => sells().length > 0 && h!.orderBook.openPositions().length === 0,
      40,
      rejected,
    );
    for (let i = 0; i < 3; i++) await h!.loop.tick();
    // the fault was served: the stop-loss's create got the -1000 answer
    expect(fake!.faults.pending).to.equal(0);
    // the entry and one stop-loss: the create answered -1000 was never sent again
    expect(fake!.createRequests()).to.have.length(2);
    // one limit of all of it (off the market step), taken once: never sold twice, never the owner's coin
    const sold = sells().reduce((sum, t) => sum + t.qty, 0);
    expect(sold).to.be.closeTo(0.00499, 1e-12);
    expect(fake!.balance('BTC')).to.be.closeTo(1 + 0.004995 - 0.00499, 1e-9);
  });
});
