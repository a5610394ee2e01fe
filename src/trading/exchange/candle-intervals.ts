/**
 * The candle interval of `trading.timeframe` against those the exchange serves (pure). ccxt lists each exchange's
 * (its `timeframes`: Binance's klines `interval` enum 1s…1M, Bybit's kline 1…M, OKX's candles `bar` 1m…3M); an
 * interval it does not list is sent as written and refused at every candle read (Binance -1120 "Invalid interval"),
 * so the strategy would never be asked and the operator hear of a failing exchange, not of the setting. A live or
 * dry-run start is refused instead (exit 78) with the intervals there are. Paper mode's simulated candles are
 * `trading.paper.candleMs` long whatever the timeframe: not checked.
 */
import type { ConfigProblem } from '../../shared/errors';

export function timeframeProblem(
  exchangeId: string,
  timeframe: string,
  served: readonly string[] | undefined,
): ConfigProblem | null {
  // ccxt lists none for an exchange it cannot read candles of: the capability check says so (fetchOHLCV)
  if (served === undefined || served.length === 0 || served.includes(timeframe)) return null;
  return {
    field: 'trading.timeframe',
    value: timeframe,
    message: `${exchangeId} serves no ${timeframe} candles; set one of its intervals: ${served.join(', ')}`,
  };
}
