/**
 * Whether a ticker's price is the market's now (pure). An exchange can serve an old price: a halted or illiquid
 * market, a cached answer at its edge, a lagging stream behind its REST API. What each documents:
 * - Binance GET /api/v3/ticker/24hr: `closeTime`, the end of its rolling 24 h window (ccxt's `timestamp`), which is
 *   when it answers (documented of GET /api/v3/ticker: "the current time of the request"): it tells an answer served
 *   late, not a quiet market (a suspended one is told by its status, market-halts.ts);
 * - OKX GET /api/v5/market/ticker: `ts`, "ticker data generation time";
 * - Bybit GET /v5/market/tickers: only the response's `time` (the server's clock when it answered, not the data's),
 *   which ccxt's fetchTicker drops: a Bybit ticker's age cannot be judged;
 * - the paper market (simulated-market.ts) prices at the moment asked: never old.
 *
 * The age is read on the EXCHANGE's clock (the host's less the measured offset, clock-skew.ts): a host clock off the
 * exchange's is not taken for old prices. A time ahead of the exchange's now is not old.
 */
import { formatSpan } from '../../../shared/format-span';
import type { Ticker } from '../../exchange/exchange';

export type TickerAge =
  /** `ageMs` absent: the exchange's ticker carries no time of its data (not judged). */
  | { stale: false; ageMs?: number }
  | {
      stale: true;
      /** Absent: the answer lacked the time the exchange documents for it. */
      ageMs?: number;
      /** Why, in words for the operator: "price 6 min old (closeTime)", "no closeTime in the answer". */
      reason: string;
    };

/** The age of `ticker` at `exchangeNow` (the exchange's clock), against the configured `maxAgeMs` (pure). */
export function tickerAge(
  ticker: Pick<Ticker, 'timestamp' | 'timeField'>,
  exchangeNow: number,
  maxAgeMs: number,
): TickerAge {
  const { timestamp, timeField } = ticker;
  if (timestamp === undefined || !Number.isFinite(timestamp)) {
    if (timeField === undefined) return { stale: false };
    return { stale: true, reason: `no ${timeField} in the exchange's ticker answer` };
  }
  const ageMs = Math.max(0, exchangeNow - timestamp);
  if (ageMs <= maxAgeMs) return { stale: false, ageMs };
  return {
    stale: true,
    ageMs,
    reason: `price ${formatSpan(ageMs)} old${timeField ? ` (${timeField})` : ''}, over the ${formatSpan(maxAgeMs)} limit`,
  };
}
