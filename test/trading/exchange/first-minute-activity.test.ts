import { expect } from 'chai';
import { configSchema } from '../../../src/shared/config/schema';
import { SimulatedMarket } from '../../../src/trading/exchange/simulated-market';
import { SmaCrossoverStrategy } from '../../../src/trading/strategy/strategies/sma-crossover';

const trading = configSchema().parse({}).trading;

describe('paper mode at the default configuration', () => {
  it('makes the built-in SMA crossover strategy open and close positions within the first minute', () => {
    const market = new SimulatedMarket({
      seed: trading.paper.seed,
      volatility: trading.paper.volatility,
      candleMs: trading.paper.candleMs,
    });
    const strategy = new SmaCrossoverStrategy(trading.strategy.smaCrossover);
    const ticks = Math.floor(60_000 / trading.tickIntervalMs);
    const starts = 100;
    let opened = 0;
    let openedAndClosed = 0;
    for (let s = 0; s < starts; s++) {
      // start times spread over ~4 days, at arbitrary offsets inside a candle
      const start = Date.UTC(2026, 10, 26) + s * 3_600_017 + ((s * 7_919) % trading.paper.candleMs);
      const inPosition: Record<string, boolean> = {};
      const lastSeen: Record<string, number> = {};
      let entered = false;
      let exited = false;
      for (let k = 0; k < ticks; k++) {
        const now = start + k * trading.tickIntervalMs;
        for (const symbol of trading.symbols) {
          const closed = market.candles(symbol, now, strategy.minCandles + 10).slice(0, -1);
          const newCandles =
            lastSeen[symbol] === undefined ? 1 : closed.filter((c) => c[0] > lastSeen[symbol]).length;
          lastSeen[symbol] = closed.at(-1)![0];
          if (newCandles === 0) continue;
          const signal = strategy.evaluate(closed, {
            symbol,
            inPosition: Boolean(inPosition[symbol]),
            newCandles,
          });
          if (signal.action === 'enter-long') inPosition[symbol] = entered = true;
          if (signal.action === 'exit-long') {
            inPosition[symbol] = false;
            exited = true;
          }
        }
      }
      if (entered) opened++;
      if (entered && exited) openedAndClosed++;
    }
    expect(opened / starts).to.be.at.least(0.99);
    expect(openedAndClosed / starts).to.be.at.least(0.95);
  });
});
