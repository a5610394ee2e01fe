/**
 * One candle read must give the strategy the closed candles it needs (strategy/candle-needs.ts): with fewer it is
 * never asked — no entry, no strategy exit of an open position (review 28). The start is refused naming the field.
 */
import { expect } from 'chai';
import { candleLimitProblem } from '../../../src/trading/strategy/candle-needs';

const SLOW = 'trading.strategy.smaCrossover.slow';

describe('the candles one read gives the strategy (candleLimitProblem)', () => {
  it('needs its fewest closed candles plus the one still forming', () => {
    const needs = (candleLimit: number) =>
      candleLimitProblem({
        candleLimit,
        minCandles: 101,
        exchange: { id: 'binance', maxCandles: 1000 },
        period: { field: SLOW, value: 100 },
      });
    expect(needs(102)).to.equal(null);
    const problem = needs(101)!;
    expect(problem.field).to.equal('trading.candleLimit');
    expect(problem.value).to.equal('101');
    expect(problem.message).to.include('leave 100 closed ones').and.include('at least 102');
  });

  it("beyond what the exchange answers in one read (OKX 300), the strategy's period is what to change", () => {
    const problem = candleLimitProblem({
      candleLimit: 500,
      minCandles: 301,
      exchange: { id: 'okx', maxCandles: 300 },
      period: { field: SLOW, value: 300 },
    })!;
    expect(problem.field).to.equal(SLOW);
    expect(problem.message).to.include('okx answers at most 300').and.include('at most 298');
    // 298 → 299 closed candles needed, 300 a read: fits
    expect(
      candleLimitProblem({
        candleLimit: 300,
        minCandles: 299,
        exchange: { id: 'okx', maxCandles: 300 },
        period: { field: SLOW, value: 298 },
      }),
    ).to.equal(null);
  });

  it('paper answers any number', () => {
    expect(
      candleLimitProblem({
        candleLimit: 1000,
        minCandles: 999,
        exchange: { id: 'paper' },
        period: { field: SLOW, value: 998 },
      }),
    ).to.equal(null);
  });
});
