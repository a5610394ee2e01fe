/**
 * A market order's own amount rules, end to end: the real engine through real ccxt against the Binance double
 * (harness/exchanges/fake-binance.ts), which lists MARKET_LOT_SIZE minQty and stepSize as Binance's filters.md defines
 * them ("quantity >= minQty", "quantity % stepSize == 0", for MARKET orders, besides LOT_SIZE's) and refuses a MARKET
 * order off them -1013 "Filter failure: MARKET_LOT_SIZE". ccxt reads only LOT_SIZE: before the fix, a stop-loss sold
 * the position on LOT_SIZE's step, was refused, and was tried again on every tick, never sold. Real clock, as
 * live-exchanges.suite.ts (see there why).
 */
import { expect } from 'chai';
import { HOLD, type Signal } from '../../../src/trading/strategy/strategy';
import { binanceKit } from '../../../harness/exchanges/exchange-kits';
import type { FakeBinance } from '../../../harness/exchanges/fake-binance';
import { ScriptedStrategy, EngineHarness } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import { startLiveEngine, tickUntil as tickUntilIn } from '../../support/live-engine';

const BTC = 'BTC/USDT';
const ENTER: Signal = { action: 'enter-long', reason: 'test says buy' };

describe("a market order on Binance's MARKET_LOT_SIZE step and minimum (real ccxt, Binance double)", function () {
  this.timeout(60_000);
  let fake: FakeBinance | undefined;
  let h: EngineHarness | undefined;
  let strategy: ScriptedStrategy;

  closeAfterEach(() => [h, fake]);

  const position = (): number => h!.orderBook.positions()[BTC]?.amount ?? 0;
  const events = (type: string) => h!.events.filter((e) => e.type === type);
  const sells = () => fake!.trades(BTC).filter((t) => t.side === 'sell');
  const tickUntil = (done: () => boolean): Promise<void> => tickUntilIn(h!, done);

  /** A BTC position of ~0.0333 bought at 60,000 (the owner holds 1 BTC of their own), then MARKET_LOT_SIZE 0.01. */
  async function positionThenMarketLot(): Promise<number> {
    fake = (await binanceKit.start({ candleMs: 300, balances: { USDT: 10_000, BTC: 1 } })) as FakeBinance;
    fake.pinPrice(BTC, 60_000);
    strategy = new ScriptedStrategy();
    h = await startLiveEngine(binanceKit, fake.url, {
      config: {
        trading: {
          mode: 'live',
          symbols: [BTC],
          risk: { stopLossPct: 2, takeProfitPct: 0, stakePerTrade: 2_000 },
        },
      },
      strategy,
    });
    strategy.next = ENTER;
    await tickUntil(() => position() > 0);
    strategy.next = HOLD;
    const bought = position();
    // LOT_SIZE's step 0.00001: not a multiple of 0.01
    expect(bought).to.be.closeTo(0.0333, 0.0001);
    // Binance lists a market order's own step and minimum from now on (its exchangeInfo; the bot reloads markets)
    fake.setMarketLot({ minQty: 0.02, stepSize: 0.01 });
    h.orderBook.setMarkets(await h.exchange.loadMarkets(true));
    return bought;
  }

  it('a stop-loss sells on the market step once, never refused; the rest below it is dust, not a position', async () => {
    const bought = await positionThenMarketLot();
    fake!.pinPrice(BTC, 58_000);
    await tickUntil(() => sells().length > 0);
    for (let i = 0; i < 5; i++) await h!.loop.tick();
    // one market sell of 0.03 (the market step), never the position's 0.0333 refused -1013 again and again
    expect(events('order.rejected')).to.deep.equal([]);
    expect(sells().map((t) => t.qty)).to.deep.equal([0.03]);
    // what is left is what a market order cannot sell: dust, the round trip over
    expect(position()).to.be.closeTo(bought - 0.03, 1e-9);
    expect(events('position.closed')).to.have.length(1);
    expect(h!.orderBook.openPositions()).to.deep.equal([]);
    // the owner's coin: untouched
    expect(fake!.balance('BTC')).to.be.closeTo(1 + bought - 0.03, 1e-9);
  });

  it('close-all sells on the market step too, and says nothing is left to sell but dust', async () => {
    const bought = await positionThenMarketLot();
    const result = await h!.loop.closeAll();
    expect(events('order.rejected')).to.deep.equal([]);
    expect(result.skipped).to.deep.equal([]);
    expect(sells().map((t) => t.qty)).to.deep.equal([0.03]);
    expect(position()).to.be.closeTo(bought - 0.03, 1e-9);
  });
});
