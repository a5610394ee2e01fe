import { expect } from 'chai';
import { applyFill, emptyBook, type Fill, type PositionBook } from '../../../src/trading/engine/books/pnl';
import { SafeStrategy } from '../../../src/trading/strategy/safe-strategy';
import { FakeClock } from '../../support/fake-clock';
import { EngineHarness, ScriptedStrategy } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import { withOverrides } from '../../support/exchange-overrides';

const DAY1 = Date.UTC(2026, 11, 2, 12, 0);
const DAY2 = Date.UTC(2026, 11, 3, 12, 0);

/** The risk state of Dec 2: the bot's capital 10 000, its peak and the day's start. */
const AT_10K = {
  equityPeak: 10_000,
  day: '2026-12-02',
  dayStartEquity: 10_000,
  killSwitch: null,
  dailyLossOverrideDay: null,
  capital: 10_000,
};

/** `book` is BTC/USDT's booked trades now (the bot's equity moves with its PnL); then a tick. */
async function bookedThenTick(h: EngineHarness, book: PositionBook): Promise<void> {
  await h.files.store.commit((d) => {
    d.checkpoint['BTC/USDT'] = book;
  });
  await h.loop.tick();
}

/** A round trip of 1 BTC bought at 30 000 and sold at `30 000 - loss`, both filled at `at`: a realized loss. */
function losingTrip(book: PositionBook, n: number, loss: number, at: number): PositionBook {
  const fill = (side: 'buy' | 'sell', price: number): Fill => ({
    orderId: `o-${n}-${side}`,
    clientOrderId: `c-${n}-${side}`,
    tradeId: `t-${n}-${side}`,
    symbol: 'BTC/USDT',
    side,
    amount: 1,
    price,
    feeCost: 0,
    feeCurrency: 'USDT',
    timestamp: at,
  });
  return applyFill(applyFill(book, fill('buy', 30_000)), fill('sell', 30_000 - loss));
}

describe('the drawdown peak across pauses that lift', function () {
  this.timeout(20_000);
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h]);

  /**
   * The bot's own equity (capital 10 000 + its PnL), so the test sets the equity through its books: limits 6 % a day
   * and 12 % from the peak.
   */
  async function started(clock: FakeClock): Promise<EngineHarness> {
    h = await EngineHarness.open({
      clock,
      strategy: new SafeStrategy(new ScriptedStrategy()),
      config: {
        trading: {
          risk: { stopLossPct: 0, takeProfitPct: 0, capital: 10_000, maxDailyLossPct: 6, maxDrawdownPct: 12 },
        },
      },
    });
    await h.files.store.commit((d) => {
      d.risk = { ...AT_10K };
    });
    await h.loop.recover({ kind: 'first-start' });
    h.loop.enterRunning();
    return h;
  }

  it('keeps the peak when a daily-loss kill switch ends with its day: a losing streak over days still meets the drawdown limit', async () => {
    const clock = new FakeClock(DAY1);
    const h = await started(clock);
    // day 1: 600 lost (6 % of the day's 10 000): the daily-loss kill switch; 6 % below the peak, under 12 %
    const day1 = losingTrip(emptyBook('BTC/USDT'), 1, 600, DAY1 - 3_600_000);
    await bookedThenTick(h, day1);
    expect(h.files.store.data.risk.killSwitch?.kind).to.equal('daily-loss');
    expect(h.loop.pause).to.include({ by: 'risk' });

    // day 2: the daily-loss kill switch ends with its day and its pause lifts by itself; the peak stays 10 000
    clock.time = DAY2;
    await h.loop.tick();
    expect(h.files.store.data.risk.killSwitch).to.equal(null);
    expect(h.loop.pause).to.equal(null);
    expect(h.files.store.data.risk.equityPeak, 'the peak the drawdown is measured from').to.equal(10_000);

    // 700 more lost on day 2: 8 700 is 13 % below the peak of 10 000, past the 12 % drawdown limit — the kill switch
    // that holds until the operator resumes, not one that ends with the day
    const day2 = losingTrip(day1, 2, 700, DAY2 - 3_600_000);
    await bookedThenTick(h, day2);
    expect(h.files.store.data.risk.killSwitch?.kind).to.equal('max-drawdown');
  });

  it("keeps the peak when a pause without a kill switch lifts (the operator's /pause and /resume)", async () => {
    const clock = new FakeClock(DAY1);
    const h = await started(clock);
    const day1 = losingTrip(emptyBook('BTC/USDT'), 1, 500, DAY1 - 3_600_000);
    await bookedThenTick(h, day1);
    expect(h.files.store.data.risk.killSwitch).to.equal(null);
    await h.loop.pauseEntries('maintenance', 'operator');
    await h.loop.resumeEntries('operator');
    expect(h.files.store.data.risk.equityPeak).to.equal(10_000);
    // an order the exchange stopped showing paused entries; settled, its pause lifts by itself (entry-pause.ts)
    await h.loop.pauseEntries('an order no longer shown', 'operational', false, 'bot-gone-1');
    await h.loop.resumeEntries('operational');
    expect(h.loop.pause).to.equal(null);
    expect(h.files.store.data.risk.equityPeak).to.equal(10_000);
  });

  it('lets the operator resume past a drawdown kill switch: the drawdown is measured from the equity then', async () => {
    const clock = new FakeClock(DAY1);
    const h = await started(clock);
    const day1 = losingTrip(emptyBook('BTC/USDT'), 1, 1_300, DAY1 - 86_400_000);
    await bookedThenTick(h, day1);
    expect(h.files.store.data.risk.killSwitch?.kind).to.equal('max-drawdown');
    await h.loop.resumeEntries('operator');
    expect(h.files.store.data.risk.equityPeak).to.equal(8_700);
    await h.loop.tick();
    expect(h.files.store.data.risk.killSwitch).to.equal(null);
    expect(h.loop.pause).to.equal(null);
  });
});

describe("the risk day on the exchange's clock going back", function () {
  this.timeout(20_000);
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h]);

  it("keeps a daily-loss kill switch when the exchange's clock is measured back across midnight", async () => {
    // 00:00:10 on Dec 3; the host's offset from the exchange's clock measured again: 20 s ahead, 23:59:50 on Dec 2
    const clock = new FakeClock(Date.UTC(2026, 11, 3, 0, 0, 10));
    let offsetMs = 0;
    h = await EngineHarness.open({
      clock,
      strategy: new SafeStrategy(new ScriptedStrategy()),
      config: {
        trading: { risk: { stopLossPct: 0, takeProfitPct: 0, capital: 10_000, maxDailyLossPct: 5 } },
      },
      wrapExchange: (paper) => withOverrides(paper, { clockOffsetMs: () => offsetMs }),
    });
    await h.files.store.commit((d) => {
      d.risk = { ...AT_10K };
      // 600 lost at 00:00:05 on Dec 3: 6 % of the day's start
      d.checkpoint['BTC/USDT'] = losingTrip(emptyBook('BTC/USDT'), 1, 600, Date.UTC(2026, 11, 3, 0, 0, 5));
    });
    await h.loop.recover({ kind: 'first-start' });
    h.loop.enterRunning();
    await h.loop.tick();
    expect(h.files.store.data.risk).to.deep.include({ day: '2026-12-03' });
    expect(h.files.store.data.risk.killSwitch?.kind).to.equal('daily-loss');

    offsetMs = 20_000;
    expect(new Date(h.loop.exchangeClock.now()).toISOString()).to.equal('2026-12-02T23:59:50.000Z');
    await h.loop.tick();
    expect(h.files.store.data.risk.killSwitch?.kind, 'the day that fired it has not ended').to.equal(
      'daily-loss',
    );
    expect(h.loop.pause).to.include({ by: 'risk' });
  });
});
