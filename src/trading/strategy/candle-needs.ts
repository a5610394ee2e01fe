/**
 * Whether one candle read can give the strategy the closed candles it needs (pure; checked at start). A read answers
 * `trading.candleLimit` candles — at most the exchange's documented maximum (ccxt asks for no more, silently: OKX
 * 300) — and the newest is usually still forming, so the strategy sees one fewer closed. With fewer than its
 * `minCandles` it is never asked: no entry, and no strategy exit for an open position (only the stop-loss and
 * take-profit, which may be off) — so the start is refused, naming the field to change (review 28).
 */
import type { Config } from '../../shared/config/schema';
import type { ConfigProblem } from '../../shared/errors';

/** The strategy setting that sets how many candles it needs. */
export function strategyPeriodField(strategy: Config['trading']['strategy']): {
  field: string;
  value: number;
} {
  switch (strategy.name) {
    case 'sma-crossover':
      return { field: 'trading.strategy.smaCrossover.slow', value: strategy.smaCrossover.slow };
    case 'rsi-mean-reversion':
      return { field: 'trading.strategy.rsiMeanReversion.period', value: strategy.rsiMeanReversion.period };
  }
}

export interface CandleNeeds {
  candleLimit: number;
  /** The strategy's fewest closed candles. */
  minCandles: number;
  /** The exchange's id and the most candles one of its reads answers (undefined: no limit, paper). */
  exchange: { id: string; maxCandles?: number };
  /** The strategy setting behind `minCandles`. */
  period: { field: string; value: number };
}

/** The problem with the configuration, or null when one read gives the strategy what it needs. */
export function candleLimitProblem(n: CandleNeeds): ConfigProblem | null {
  const needed = n.minCandles + 1;
  const max = n.exchange.maxCandles ?? Infinity;
  if (needed > max) {
    return {
      field: n.period.field,
      value: String(n.period.value),
      message:
        `the strategy needs ${n.minCandles} closed candles, and ${n.exchange.id} answers at most ${max} a read ` +
        `(the newest still forming): lower it to at most ${n.period.value - (needed - max)}`,
    };
  }
  if (n.candleLimit < needed) {
    return {
      field: 'trading.candleLimit',
      value: String(n.candleLimit),
      message:
        `${n.candleLimit} candles a read leave ${n.candleLimit - 1} closed ones (the newest is still forming), and ` +
        `the strategy (${n.period.field} = ${n.period.value}) needs ${n.minCandles}: it would never be asked — set ` +
        `it to at least ${needed}`,
    };
  }
  return null;
}
