/**
 * Review 28: the state kept the OPEN time of the newest closed candle the strategy saw. After the operator changes
 * trading.timeframe to a longer one between runs, the candle that was forming at the restart opens before the seen
 * candle of the old timeframe, so when it closed it was not new (`c[0] > seen`): the strategy was not asked on it,
 * and its cross — an exit of an open position included — was never seen. Now its END is kept (`seenCandleEnds`):
 * a candle ending after it holds data the strategy never saw.
 */
import { expect } from 'chai';
import type { Candle } from '../../../src/trading/exchange/exchange';
import { FAKE_CLOCK_START, FakeClock } from '../../support/fake-clock';
import type { PaperExchange } from '../../../src/trading/exchange/paper-exchange';
import { EngineHarness, ScriptedStrategy } from '../../support/engine-harness';
import { withOverrides } from '../../support/exchange-overrides';
import { closeAfterEach } from '../../support/close-after-each';

/** Candle length per timeframe in this test's exchange (paper time runs fast): '1m' 100 ms, '1h' 1 000 ms. */
const PERIOD: Record<string, number> = { '1m': 100, '1h': 1_000 };

describe('the timeframe changed between runs (review 28)', function () {
  this.timeout(20_000);
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h]);

  it('asks the strategy on the first candle of the new timeframe that closes after the restart', async () => {
    const strategy = new ScriptedStrategy();
    const S = FAKE_CLOCK_START; // a multiple of 1 000
    const clock = new FakeClock();
    const wrapExchange = (paper: PaperExchange) =>
      withOverrides(paper, {
        fetchCandles: (async (_symbol: string, timeframe: string, limit: number) => {
          const p = PERIOD[timeframe];
          const current = Math.floor(clock.now() / p) * p; // the forming candle's open
          const rows: Candle[] = [];
          for (let t = current - (limit - 1) * p; t <= current; t += p) {
            const close = 100 + ((t / p) % 7);
            rows.push([t, close, close + 1, close - 1, close, 1]);
          }
          return rows;
        }) as never,
      });
    const risk = { stopLossPct: 0, takeProfitPct: 0 };
    h = await EngineHarness.open({
      config: { trading: { timeframe: '1m', candleLimit: 10, risk } },
      strategy,
      wrapExchange,
      clock,
    });
    await h.loop.recover({ kind: 'first-start' });
    h.loop.enterRunning();
    h.fakeClock().time = S + 350;
    await h.loop.tick();
    // (seen: S + 200)
    // the operator switches to 1h and restarts
    h = await h.restart({ config: { trading: { timeframe: '1h', candleLimit: 10, risk } } });
    await h.loop.recover({ kind: 'crash' });
    h.loop.enterRunning();
    await h.loop.tick();
    const before = strategy.asked.length;
    // the 1h candle forming at the restart (open S) closes
    h.fakeClock().time = S + 1_050;
    await h.loop.tick();
    const asked = strategy.asked.slice(before).map((a) => a.newest);
    expect(asked, 'the candle that closed after the switch').to.include(S);
  });
});
