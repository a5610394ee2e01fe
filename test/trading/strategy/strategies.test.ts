import { expect } from 'chai';
import { StrategyError } from '../../../src/shared/errors';
import type { Candle } from '../../../src/trading/exchange/exchange';
import { sma, wilderRsi } from '../../../src/trading/strategy/indicators';
import { SafeStrategy } from '../../../src/trading/strategy/safe-strategy';
import { RsiMeanReversionStrategy } from '../../../src/trading/strategy/strategies/rsi-mean-reversion';
import { SmaCrossoverStrategy } from '../../../src/trading/strategy/strategies/sma-crossover';
import type { Strategy } from '../../../src/trading/strategy/strategy';

const candles = (closes: number[]): Candle[] => closes.map((c, i) => [i * 60_000, c, c, c, c, 1]);
const ctx = (over: Partial<{ inPosition: boolean; newCandles: number }> = {}) => ({
  symbol: 'BTC/USDT',
  inPosition: false,
  newCandles: 1,
  ...over,
});

// 21 falling closes (30 → 10): fast SMA below slow; then one jump to 100 lifts the fast SMA above the slow one.
const falling = Array.from({ length: 21 }, (_, i) => 30 - i);
const crossUp = [...falling, 100];
// the mirror: rising, then a crash
const rising = Array.from({ length: 21 }, (_, i) => 100 + i);
const crossDown = [...rising, 1];

describe('indicators', () => {
  it('computes a simple moving average once the window is full', () => {
    const out = sma([1, 2, 3, 4, 5], 3);
    expect(out.slice(0, 2).every(Number.isNaN)).to.equal(true);
    expect(out.slice(2)).to.deep.equal([2, 3, 4]);
  });

  it("matches TA-Lib's Wilder RSI(14) on the classic StockCharts data set", () => {
    const closes = [
      44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.1, 45.42, 45.84, 46.08, 45.89, 46.03, 45.61, 46.28, 46.28,
      46.0, 46.03, 46.41, 46.22, 45.64, 46.21, 46.25, 45.71, 46.45, 45.78, 45.35, 44.03, 44.18, 44.22, 44.57,
      43.42, 42.66, 43.13,
    ];
    // TA-Lib values; StockCharts' sheet shows 70.53, 66.32… because it rounds the first averages to 2 decimals
    const expected = [
      70.464, 66.249, 66.48, 69.346, 66.295, 57.915, 62.881, 63.209, 56.011, 62.34, 54.671, 50.387, 40.019,
      41.493, 41.903, 45.5, 37.323, 33.09, 37.789,
    ];
    const rsi = wilderRsi(closes, 14);
    expect(rsi.slice(0, 14).every(Number.isNaN)).to.equal(true);
    rsi.slice(14).forEach((v, i) => expect(v).to.be.closeTo(expected[i], 0.01));
  });

  it('gives RSI 100 without losses and 50 without movement', () => {
    expect(wilderRsi([1, 2, 3, 4], 3)[3]).to.equal(100);
    expect(wilderRsi([5, 5, 5, 5], 3)[3]).to.equal(50);
  });
});

describe('SMA crossover strategy', () => {
  const strategy = new SmaCrossoverStrategy({ fast: 5, slow: 20 });

  it('needs slow + 1 candles', () => {
    expect(strategy.minCandles).to.equal(21);
  });

  it('enters long when the fast SMA crosses above the slow SMA on the newest candle', () => {
    const signal = strategy.evaluate(candles(crossUp), ctx());
    expect(signal.action).to.equal('enter-long');
    expect(signal.reason).to.match(/crossed above/);
  });

  it('holds while fast stays below slow', () => {
    expect(strategy.evaluate(candles(falling), ctx()).action).to.equal('hold');
  });

  it('does not enter again when already in a position', () => {
    expect(strategy.evaluate(candles(crossUp), ctx({ inPosition: true })).action).to.equal('hold');
  });

  it('exits a position when the fast SMA crosses below the slow SMA', () => {
    expect(strategy.evaluate(candles(crossDown), ctx({ inPosition: true })).action).to.equal('exit-long');
    expect(strategy.evaluate(candles(crossDown), ctx({ inPosition: false })).action).to.equal('hold');
  });

  it('sees a cross among several new candles, but not one it already evaluated', () => {
    const later = [...crossUp, 101];
    expect(strategy.evaluate(candles(later), ctx({ newCandles: 1 })).action).to.equal('hold');
    expect(strategy.evaluate(candles(later), ctx({ newCandles: 2 })).action).to.equal('enter-long');
  });

  it('refuses fast >= slow', () => {
    expect(() => new SmaCrossoverStrategy({ fast: 20, slow: 20 })).to.throw(RangeError);
  });
});

describe('RSI mean reversion strategy', () => {
  const strategy = new RsiMeanReversionStrategy({ period: 14, oversold: 30, overbought: 70 });
  // mostly falling (every third candle bounces a little) / the mirror
  const walk = (step: number): number[] => {
    const out = [100];
    for (let i = 1; i < 20; i++) out.push(out[i - 1] + (i % 3 === 0 ? -0.3 * step : step));
    return out;
  };
  const down = walk(-1);
  const up = walk(1);

  it('buys when RSI is below oversold and not in a position', () => {
    const signal = strategy.evaluate(candles(down), ctx());
    expect(signal.action).to.equal('enter-long');
    expect(signal.reason).to.match(/RSI14 \d+\.\d < 30/);
  });

  it('sells when RSI is above overbought and in a position', () => {
    expect(strategy.evaluate(candles(up), ctx({ inPosition: true })).action).to.equal('exit-long');
    expect(strategy.evaluate(candles(up), ctx({ inPosition: false })).action).to.equal('hold');
  });

  it('holds in between', () => {
    const flat = Array.from({ length: 20 }, (_, i) => 100 + (i % 2 === 0 ? 1 : -1));
    expect(strategy.evaluate(candles(flat), ctx()).action).to.equal('hold');
  });
});

describe('SafeStrategy', () => {
  const throwing: Strategy = {
    name: 'broken',
    minCandles: 1,
    evaluate: () => {
      throw new TypeError('boom');
    },
  };
  const invalid: Strategy = {
    name: 'weird',
    minCandles: 1,
    evaluate: () => ({ action: 'buy-everything', reason: 'x' }) as never,
  };

  it('turns a throw into a StrategyError with strategy and symbol context', () => {
    try {
      new SafeStrategy(throwing).evaluate(candles([1]), ctx());
      expect.fail('should throw');
    } catch (err) {
      expect(err).to.be.instanceOf(StrategyError);
      expect((err as StrategyError).context).to.include({ strategy: 'broken', symbol: 'BTC/USDT' });
      expect((err as Error).message).to.contain('boom');
    }
  });

  it('turns an invalid signal into a StrategyError', () => {
    expect(() => new SafeStrategy(invalid).evaluate(candles([1]), ctx())).to.throw(
      StrategyError,
      /invalid signal/,
    );
  });

  it('passes a valid signal through unchanged', () => {
    const s = new SafeStrategy(new SmaCrossoverStrategy({ fast: 5, slow: 20 }));
    expect(s.evaluate(candles(crossUp), ctx()).action).to.equal('enter-long');
    expect(s.minCandles).to.equal(21);
  });
});
