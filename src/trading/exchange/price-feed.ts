/**
 * Where the paper exchange's prices come from. Paper mode uses the offline simulated market; dry-run mode uses
 * a real exchange's public data through ccxt (dry-run-exchange.ts). The paper exchange's order and account
 * engine is the same for both.
 */
import type { Candle, Market, Ticker } from './exchange';
import {
  MAX_PRICE_RANGES,
  SIMULATED_SYMBOLS,
  SimulatedMarket,
  simulatedMarketInfo,
  type PriceRange,
} from './simulated-market';

export { MAX_PRICE_RANGES, type PriceRange };

export interface PriceFeed {
  loadMarkets(): Promise<Record<string, Market>>;
  fetchTicker(symbol: string, now: number): Promise<Ticker>;
  fetchCandles(symbol: string, timeframe: string, limit: number, now: number): Promise<Candle[]>;
  /**
   * Tradeable price ranges of the completed periods after `afterBucket` up to `now`, oldest first, used to fill
   * resting limit orders: at most MAX_PRICE_RANGES (the caller asks again from the last one when it got that many).
   * The running period is never listed: what fills in it would depend on when it was looked at. A feed that only
   * knows the quotes it was shown lists the periods it saw.
   */
  priceRanges(symbol: string, afterBucket: number, now: number): Promise<PriceRange[]>;
  /** Period index of `now` (limit orders only match periods after the one they were placed in). */
  bucketOf(now: number): number;
  close(): Promise<void>;
}

/** The simulated market as a feed. Every candle is `candleMs` long whatever timeframe is asked (paper time runs fast). */
export class SimulatedPriceFeed implements PriceFeed {
  constructor(
    private readonly market: SimulatedMarket,
    private readonly symbols: string[],
  ) {}

  async loadMarkets(): Promise<Record<string, Market>> {
    return Object.fromEntries(
      this.symbols.filter((s) => SIMULATED_SYMBOLS.includes(s)).map((s) => [s, simulatedMarketInfo(s)]),
    );
  }

  async fetchTicker(symbol: string, now: number): Promise<Ticker> {
    return this.market.ticker(symbol, now);
  }

  async fetchCandles(symbol: string, _timeframe: string, limit: number, now: number): Promise<Candle[]> {
    return this.market.candles(symbol, now, limit);
  }

  async priceRanges(symbol: string, afterBucket: number, now: number): Promise<PriceRange[]> {
    return this.market.priceRanges(symbol, afterBucket, now);
  }

  bucketOf(now: number): number {
    return this.market.candleIndex(now);
  }

  async close(): Promise<void> {}
}
