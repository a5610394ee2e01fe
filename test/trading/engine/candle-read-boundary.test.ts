/**
 * Review 28: a candle read whose answer comes back after the candle's period ended. The exchange answered with the
 * candle still forming (its close the price at the send, not at the end of the period); closedCandles judges it
 * by the time the answer is LOOKED AT, takes it as closed, and the strategy acts on it — and, the candle marked
 * seen, never sees its final data. The same happens to a read joined from an earlier tick (ExchangeReads.once).
 */
import { expect } from 'chai';
import { FAKE_CLOCK_START, FakeClock } from '../../support/fake-clock';
import { EngineHarness, ScriptedStrategy } from '../../support/engine-harness';
import { withOverrides } from '../../support/exchange-overrides';
import { closeAfterEach } from '../../support/close-after-each';

describe('a candle read answered after its candle closed (review 28)', function () {
  this.timeout(20_000);
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h]);

  it('never hands the strategy a candle read while it was still forming as a closed one', async () => {
    const strategy = new ScriptedStrategy();
    let latencyMs = 0;
    const clock = new FakeClock();
    h = await EngineHarness.open({
      config: { trading: { risk: { stopLossPct: 0, takeProfitPct: 0 } } },
      strategy,
      clock,
      wrapExchange: (paper) =>
        withOverrides(paper, {
          fetchCandles: (async (symbol: string, timeframe: string, limit: number) => {
            // the exchange builds its answer now (the candle still forming) ...
            const rows = await paper.fetchCandles(symbol, timeframe, limit);
            // ... and the answer takes `latencyMs` to come back
            if (latencyMs > 0) clock.time += latencyMs;
            return rows;
          }) as never,
        }),
    });
    const candleMs = h.config.trading.paper.candleMs; // 100
    await h.loop.recover({ kind: 'first-start' });
    h.loop.enterRunning();
    await h.loop.tick();
    const before = strategy.asked.length;
    // 30 ms before a candle ends the tick reads the candles; the answer arrives 60 ms later (30 ms after the end)
    const end = FAKE_CLOCK_START + 10 * candleMs;
    h.fakeClock().time = end - 30;
    latencyMs = 60;
    await h.loop.tick();
    latencyMs = 0;
    const forming = end - candleMs;
    // the candle as the exchange has it once its period ended
    const final = (await h.paper.fetchCandles('BTC/USDT', '1m', 5)).find((c) => c[0] === forming)!;
    const onForming = strategy.asked.slice(before).filter((a) => a.newest === forming);
    for (const a of onForming) {
      expect(a.close, 'the strategy saw the candle as it was 30 ms before its close').to.equal(final[4]);
    }
    // and the candle's final data is seen by the strategy at some tick
    await h.loop.tick();
    await h.nextCandle();
    await h.loop.tick();
    const finalSeen = strategy.asked.some((a) => a.newest === forming && a.close === final[4]);
    expect(finalSeen, 'the final candle is never evaluated: it was marked seen on its forming copy').to.equal(
      true,
    );
  });
});
