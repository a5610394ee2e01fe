/**
 * A price the exchange serves stale, end to end (real ccxt, the Binance double): GET /api/v3/ticker/24hr answers with
 * an old `closeTime`, or none. No entry is placed on it, the operator is told once however many ticks it lasts, and a
 * fresh ticker resumes entries (told once). The exchange's clock is 2 minutes behind the host's: the price's age is
 * read on the exchange's clock (the measured offset), so a skewed host is not taken for stale prices.
 */
import { expect } from 'chai';
import { binanceKit } from '../../../harness/exchanges/exchange-kits';
import type { FakeBinance } from '../../../harness/exchanges/fake-binance';
import type { LocalExchange, LocalExchangeOptions } from '../../../harness/exchanges/local-exchange';
import { HOLD, type Signal } from '../../../src/trading/strategy/strategy';
import { ScriptedStrategy, type EngineHarness } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import { openLiveEngine, tickUntil } from '../../support/live-engine';

const BTC = 'BTC/USDT';
const ENTER: Signal = { action: 'enter-long', reason: 'test says buy' };

interface RunningOnBinance {
  binance: FakeBinance;
  h: EngineHarness;
  strategy: ScriptedStrategy;
}

/**
 * For each test of the describe that calls it: a Binance double started with `options` (its clock `clockSkewMs` off
 * the host's) and a live engine on it trading BTC/USDT with a scripted strategy, recovered and running; both closed
 * after the test.
 */
function runningOnBinance(): (
  options: LocalExchangeOptions,
  clockSkewMs?: number,
) => Promise<RunningOnBinance> {
  let fake: LocalExchange | undefined;
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h, fake]);
  return async (options, clockSkewMs = 0) => {
    fake = await binanceKit.start(options);
    fake.clockSkewMs = clockSkewMs;
    const strategy = new ScriptedStrategy();
    h = await openLiveEngine(binanceKit, fake.url, {
      config: {
        trading: {
          mode: 'live',
          symbols: [BTC],
          risk: { stopLossPct: 0, takeProfitPct: 0 },
          // under a skewed host clock: an age read on the host's clock would call every price stale
          maxTickerAgeMs: 60_000,
          orders: { unknownNotFoundMisses: 3, unknownNotFoundWindowMs: 1_000, createTimeoutMs: 800 },
        },
      },
      strategy,
    });
    await h.loop.recover({ kind: 'first-start' });
    h.loop.enterRunning();
    return { binance: fake as FakeBinance, h, strategy };
  };
}

describe('a stale ticker (real ccxt, Binance double, host clock 2 min ahead of the exchange)', function () {
  this.timeout(60_000);
  const start = runningOnBinance();

  it('places no entry on it, alerts once, and enters again once the ticker is fresh', async () => {
    const { binance, h, strategy } = await start(
      { candleMs: 300, balances: { USDT: 10_000, BTC: 0 } },
      -120_000,
    );
    const stale = (): number => h.events.filter((e) => e.type === 'market.stale').length;
    const asked = (): number => strategy.asked.length;

    // the exchange's clock, measured: a fresh ticker is fresh (no stale alert however far the host is ahead)
    for (let i = 0; i < 3; i++) await h.loop.tick();
    expect(h.eventTypes()).to.not.include('market.stale');

    // no closeTime in the answer: stale; then an old one: still stale, not told again
    binance.setTickerAge(BTC, 'missing');
    strategy.next = ENTER;
    await tickUntil(h, () => stale() === 1);
    const before = asked();
    binance.setTickerAge(BTC, 10 * 60_000);
    // the strategy asked on new candles, its entry signal not followed
    await tickUntil(h, () => asked() >= before + 3);
    expect(binance.createRequests()).to.deep.equal([]);
    expect(stale()).to.equal(1);
    const told = h.events.find((e) => e.type === 'market.stale')!;
    expect(told.data).to.include({ symbol: BTC, exchange: 'binance' });
    expect(told.summary).to.include("no closeTime in the exchange's ticker answer");
    expect(h.orders.state.data.announcedStale[BTC]).to.include({
      reason: "no closeTime in the exchange's ticker answer",
    });

    // fresh again: told once, and the next entry signal is followed
    binance.setTickerAge(BTC, undefined);
    await tickUntil(h, () => binance.createRequests().length > 0);
    strategy.next = HOLD;
    for (let i = 0; i < 3; i++) await h.loop.tick();
    expect(h.events.filter((e) => e.type === 'market.fresh')).to.have.length(1);
    expect(stale()).to.equal(1);
    expect(h.orders.state.data.announcedStale).to.deep.equal({});
    expect(h.orderBook.positions()[BTC]?.amount ?? 0).to.be.greaterThan(0);
  });
});

describe('a third-coin fee valued at a stale price (real ccxt, Binance double, BNB fees)', function () {
  this.timeout(60_000);
  const start = runningOnBinance();

  it('is booked valued at that price and marked estimated; at a fresh price it is not', async () => {
    const { binance, h, strategy } = await start({
      candleMs: 300,
      balances: { USDT: 10_000, BTC: 0, BNB: 10 },
      thirdCurrencyFees: true,
    });
    binance.pinPrice(BTC, 60_000);
    // BNB's ticker dated 10 minutes ago: its price is not the market's now
    binance.setTickerAge('BNB/USDT', 10 * 60_000);
    strategy.next = ENTER;
    await tickUntil(h, () => (h.orderBook.positions()[BTC]?.amount ?? 0) > 0);
    strategy.next = HOLD;
    const entry = Object.values(h.orders.state.data.orders).find((o) => o.purpose === 'entry')!;
    expect(entry.fills.length).to.be.greaterThan(0);
    for (const f of entry.fills) {
      expect(f).to.include({ feeCurrency: 'BNB', feeEstimated: true });
      expect(f.feeQuote).to.be.greaterThan(0);
    }
    // fresh again: the exit's fees are valued at a price read now, not estimated
    binance.setTickerAge('BNB/USDT', undefined);
    const sold = await h.manager.place({
      symbol: BTC,
      side: 'sell',
      type: 'market',
      amount: h.orderBook.positions()[BTC].amount,
      purpose: 'exit',
    });
    await tickUntil(h, () => h.orderBook.order(sold.clientOrderId)!.status === 'filled');
    await tickUntil(h, () => h.orderBook.order(sold.clientOrderId)!.fills.length > 0);
    for (const f of h.orderBook.order(sold.clientOrderId)!.fills) {
      expect(f.feeCurrency).to.equal('BNB');
      expect(f.feeEstimated).to.equal(undefined);
      expect(f.feeQuote).to.be.greaterThan(0);
    }
  });
});
