/**
 * Dry-run mode: a real exchange's public market data (markets, ticker, candles through ccxt, no keys needed)
 * with the paper exchange's order and account engine for fills. The account lives in its own file
 * `<dataDir>/dry-run-exchange.json`, apart from paper mode's, because its prices come from another world.
 */
import type { Clock } from '../../shared/clock';
import type { Logger } from '../../shared/logging/logger';
import { ConfigError } from '../../shared/errors';
import { timeframeProblem } from './candle-intervals';
import { CcxtExchange, type CcxtExchangeOptions } from './ccxt-exchange';
import type { Candle, Exchange, Market, Ticker } from './exchange';
import { PaperExchange, type PaperSettings } from './paper-exchange';
import type { PriceFeed, PriceRange } from './price-feed';

/** Periods a dry-run feed remembers per symbol: far more than a resting order waits between two looks at it. */
const SEEN_PERIODS = 1_000;

/** The public-data part of an exchange the feed reads. */
export type MarketDataSource = Pick<Exchange, 'loadMarkets' | 'fetchTicker' | 'fetchCandles' | 'close'>;

/**
 * A live exchange's quotes as a paper price feed. Only the quotes it fetches are known: each look records the
 * quote in its period (lowest ask, highest bid, last quote), and a period is listed once it has ended, so a resting
 * limit order fills from what its periods showed, at a period's end — not at the quote of whichever look came after.
 * Which quotes are seen still depends on when the bot looks (a live market's path is not known in between), and
 * what was seen is lost with the process. Partial-fill slices are one per `periodMs`.
 */
export class ExchangePriceFeed implements PriceFeed {
  /** Per symbol, the periods seen, oldest first (at most SEEN_PERIODS). */
  private readonly seen = new Map<string, PriceRange[]>();

  constructor(
    private readonly source: MarketDataSource,
    /** Period of one partial-fill slice (config trading.paper.candleMs; default 2000). */
    private readonly periodMs: number,
  ) {}

  loadMarkets(reload?: boolean, symbols?: readonly string[]): Promise<Record<string, Market>> {
    return this.source.loadMarkets(reload, symbols);
  }

  fetchTicker(symbol: string): Promise<Ticker> {
    return this.source.fetchTicker(symbol);
  }

  fetchCandles(symbol: string, timeframe: string, limit: number): Promise<Candle[]> {
    return this.source.fetchCandles(symbol, timeframe, limit);
  }

  async priceRanges(symbol: string, afterBucket: number, now: number): Promise<PriceRange[]> {
    const t = await this.source.fetchTicker(symbol);
    const current = this.bucketOf(now);
    const periods = this.seen.get(symbol) ?? [];
    this.seen.set(symbol, periods);
    const last = periods.at(-1);
    if (last?.bucket === current) {
      last.lowestAsk = Math.min(last.lowestAsk, t.ask);
      last.highestBid = Math.max(last.highestBid, t.bid);
      last.ask = t.ask;
      last.bid = t.bid;
    } else {
      const time = (current + 1) * this.periodMs;
      periods.push({ bucket: current, lowestAsk: t.ask, highestBid: t.bid, ask: t.ask, bid: t.bid, time });
      if (periods.length > SEEN_PERIODS) periods.shift();
    }
    return periods.filter((p) => p.bucket > afterBucket && p.bucket < current).map((p) => ({ ...p }));
  }

  bucketOf(now: number): number {
    return Math.floor(now / this.periodMs);
  }

  close(): Promise<void> {
    return this.source.close();
  }
}

export interface DryRunExchangeOptions {
  dataDir: string;
  /** ccxt exchange id, sandbox, apiUrl, timeout… (no keys: only public endpoints are used). */
  ccxt: Omit<CcxtExchangeOptions, 'apiKey' | 'secret' | 'password' | 'clock'>;
  settings: PaperSettings;
  /** Partial-fill period (config trading.paper.candleMs). */
  periodMs: number;
  /** trading.timeframe: refused (ConfigError) when the exchange serves no such candles (candle-intervals.ts). */
  timeframe: string;
  clock: Clock;
  logger?: Logger;
}

export async function openDryRunExchange(options: DryRunExchangeOptions): Promise<PaperExchange> {
  const source = await CcxtExchange.create({ ...options.ccxt, clock: options.clock, logger: options.logger });
  try {
    const problem = timeframeProblem(source.id, options.timeframe, source.candleIntervals());
    if (problem) throw new ConfigError([problem]);
    return await PaperExchange.open({
      dataDir: options.dataDir,
      feed: new ExchangePriceFeed(source, options.periodMs),
      settings: options.settings,
      id: source.id,
      storeName: 'dry-run-exchange',
      clock: options.clock,
      // the real exchange's candles and ticker times are judged on its clock, as live
      clockOffsetMs: () => source.clockOffsetMs(),
      logger: options.logger,
    });
  } catch (err) {
    await source.close();
    throw err;
  }
}
