/**
 * A stop-loss and a close-all in a crash faster than Binance's PERCENT_PRICE_BY_SIDE band (review 44b), end to end —
 * the real engine through real ccxt against the Binance double (harness/exchanges/fake-binance.ts), which lists and
 * applies the filter as filters.md defines it: "A SELL order will pass this filter evaluation if: price <= average of
 * previous trade prices * askMultiplierUp; price >= average of previous trade prices * askMultiplierDown" — on the
 * order's `price`; a MARKET order has none (unlike NOTIONAL, whose MARKET rule filters.md spells out:
 * "Since MARKET orders have no price, an average of previous trade prices is used instead").
 *
 * A holding a market order cannot sell whole (Binance MARKET_LOT_SIZE step coarser than LOT_SIZE's; the buy fee taken
 * in the coin) is sold by one LIMIT 2 % under the last price (risk.ts sizeExitOrder, precision.ts
 * marketableSellPrice). When the last price is more than the band below the 5-minute average, that limit is refused
 * -1013 "Filter failure: PERCENT_PRICE_BY_SIDE", every time until the average has caught up. Such a refusal is a
 * miss (symbol-decision.ts urgentLimitMissed): the next stop-loss or close-all sells the whole market steps at
 * market. Before, a refusal was never a miss: the stop-loss was tried again on its backoff as the same limit, never
 * at market, and the position rode the crash with no exit taken.
 */
import { expect } from 'chai';
import { HOLD, type Signal } from '../../../src/trading/strategy/strategy';
import { binanceKit } from '../../../harness/exchanges/exchange-kits';
import type { FakeBinance } from '../../../harness/exchanges/fake-binance';
import { ScriptedStrategy, type EngineHarness } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import { startLiveEngine, tickUntil as tickUntilIn } from '../../support/live-engine';

const BTC = 'BTC/USDT';
const ENTER: Signal = { action: 'enter-long', reason: 'test says buy' };
/** Binance's sample band (filters.md): a sell may be priced down to 80 % of the average. */
const BAND = {
  bidMultiplierUp: 1.2,
  bidMultiplierDown: 0.2,
  askMultiplierUp: 5,
  askMultiplierDown: 0.8,
  avgPriceMins: 5,
};

describe('a stop-loss in a crash below the PERCENT_PRICE_BY_SIDE band (real ccxt, Binance double)', function () {
  this.timeout(60_000);
  let fake: FakeBinance | undefined;
  let h: EngineHarness | undefined;
  let strategy: ScriptedStrategy;

  closeAfterEach(() => [h, fake]);

  const position = (): number => h!.orderBook.positions()[BTC]?.amount ?? 0;
  const sells = () => fake!.trades(BTC).filter((t) => t.side === 'sell');
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
    fake = (await binanceKit.start({ candleMs: 300, balances: { USDT: 10_000, BTC: 1 } })) as FakeBinance;
    fake.pinPrice(BTC, 60_000);
    fake.setMarketLot({ minQty: 0.001, stepSize: 0.001 });
    strategy = new ScriptedStrategy();
    h = await startLiveEngine(binanceKit, fake.url, {
      config: {
        trading: {
          mode: 'live',
          symbols: [BTC],
          risk: { stopLossPct, takeProfitPct: 0, stakePerTrade: 300 },
          orders: { protectiveRefusalBackoffMs: 50 },
        },
      },
      strategy,
    });
    strategy.next = ENTER;
    await tickUntilIn(h, () => position() > 0);
    strategy.next = HOLD;
    expect(position()).to.be.closeTo(0.004995, 1e-12);
    fake.setPercentPriceBySide(BAND);
    fake.pinAveragePrice(BTC, 60_000);
    h.orderBook.setMarkets(await h.exchange.loadMarkets(true));
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
