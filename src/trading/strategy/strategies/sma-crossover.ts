/**
 * SMA crossover: enter long when the fast SMA crosses above the slow one, exit when it crosses back below.
 * Only a cross among the candles new since the last evaluation counts, and the relation must still hold on the
 * newest candle, so one cross gives one signal.
 */
import type { Candle } from '../../exchange/exchange';
import { sma } from '../indicators';
import { HOLD, type Signal, type Strategy, type StrategyContext } from '../strategy';

export interface SmaCrossoverParams {
  /** Fast period (default 5). */
  fast: number;
  /** Slow period (default 20); must exceed fast. */
  slow: number;
}

export class SmaCrossoverStrategy implements Strategy {
  readonly name = 'sma-crossover';
  readonly minCandles: number;

  constructor(private readonly params: SmaCrossoverParams) {
    if (!(params.fast > 0 && params.slow > params.fast)) {
      throw new RangeError(
        `sma-crossover needs 0 < fast < slow (got fast=${params.fast}, slow=${params.slow})`,
      );
    }
    // one more than slow: a cross needs the relation on the candle before the first new one
    this.minCandles = params.slow + 1;
  }

  evaluate(candles: readonly Candle[], ctx: StrategyContext): Signal {
    const closes = candles.map((c) => c[4]);
    const fast = sma(closes, this.params.fast);
    const slow = sma(closes, this.params.slow);
    const last = closes.length - 1;
    const diff = (i: number): number => fast[i] - slow[i];
    const first = Math.max(last - Math.max(1, ctx.newCandles) + 1, this.params.slow);
    let crossedUp = false;
    let crossedDown = false;
    for (let i = first; i <= last; i++) {
      if (diff(i - 1) <= 0 && diff(i) > 0) crossedUp = true;
      if (diff(i - 1) >= 0 && diff(i) < 0) crossedDown = true;
    }
    const f = fast[last].toFixed(4);
    const s = slow[last].toFixed(4);
    if (!ctx.inPosition && crossedUp && diff(last) > 0) {
      return {
        action: 'enter-long',
        reason: `SMA${this.params.fast} ${f} crossed above SMA${this.params.slow} ${s}`,
      };
    }
    if (ctx.inPosition && crossedDown && diff(last) < 0) {
      return {
        action: 'exit-long',
        reason: `SMA${this.params.fast} ${f} crossed below SMA${this.params.slow} ${s}`,
      };
    }
    return HOLD;
  }
}
