/**
 * RSI mean reversion: buy when Wilder's RSI is below `oversold`, sell when it is above `overbought`.
 * The signal follows the RSI level on the newest candle (not a cross), so a restart mid-swing still acts.
 */
import type { Candle } from '../../exchange/exchange';
import { wilderRsi } from '../indicators';
import { HOLD, type Signal, type Strategy, type StrategyContext } from '../strategy';

export interface RsiMeanReversionParams {
  /** RSI period (default 14). */
  period: number;
  /** Enter below this RSI (default 30). */
  oversold: number;
  /** Exit above this RSI (default 70). */
  overbought: number;
}

export class RsiMeanReversionStrategy implements Strategy {
  readonly name = 'rsi-mean-reversion';
  readonly minCandles: number;

  constructor(private readonly params: RsiMeanReversionParams) {
    if (!(params.period > 0 && params.oversold < params.overbought)) {
      throw new RangeError('rsi-mean-reversion needs period > 0 and oversold < overbought');
    }
    this.minCandles = params.period + 1;
  }

  evaluate(candles: readonly Candle[], ctx: StrategyContext): Signal {
    const rsi = wilderRsi(
      candles.map((c) => c[4]),
      this.params.period,
    );
    const value = rsi[rsi.length - 1];
    if (!ctx.inPosition && value < this.params.oversold) {
      return {
        action: 'enter-long',
        reason: `RSI${this.params.period} ${value.toFixed(1)} < ${this.params.oversold}`,
      };
    }
    if (ctx.inPosition && value > this.params.overbought) {
      return {
        action: 'exit-long',
        reason: `RSI${this.params.period} ${value.toFixed(1)} > ${this.params.overbought}`,
      };
    }
    return HOLD;
  }
}
