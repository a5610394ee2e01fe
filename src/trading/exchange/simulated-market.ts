/**
 * The offline market of paper mode: a seeded random price path per symbol that is a pure function of
 * (seed, symbol, candle index). Nothing is stored and nothing iterates from the beginning of time, so a
 * restart continues exactly the same path, two processes with the same seed see the same prices, and a
 * limit order can be matched against the candles that passed while the process was down.
 *
 * The path is the sum of three deterministic parts, all scaled by `volatility`:
 * - a trend: value noise over octaves of 2..4096 candles (amplitude ∝ √period, so it behaves like a
 *   random walk at every scale but stays bounded: about ±20 % around the start price at the default);
 * - a swing: a sine of 14–24 candles with an amplitude that drifts slowly, so a fast/slow moving-average
 *   pair crosses every few dozen seconds at the default 2 s candles (a new user sees trades in a minute);
 * - per-candle noise.
 */
import type { Candle, Market, Ticker } from './exchange';

export interface SimulatedMarketOptions {
  /** Same seed → same prices. */
  seed: number;
  /** Per-candle volatility (fraction); default config 0.004. */
  volatility: number;
  /** Simulated time per candle; default config 2000 ms. */
  candleMs: number;
  /** Bid/ask spread as a fraction of the price; default 0.0002 (2 bps). */
  spread?: number;
}

/** Lowest and highest tradeable prices seen in one period, for matching resting limit orders. */
export interface PriceRange {
  /** Period index (candle index); at most one partial-fill slice per order per period. */
  bucket: number;
  lowestAsk: number;
  highestBid: number;
  /** Quote at the end of the range: what a still-marketable order fills at. */
  ask: number;
  bid: number;
  /** Time the period ends: when what it fills is filled. */
  time: number;
}

/**
 * Most periods one priceRanges answer lists (the oldest after the bucket asked for): a bot back after a long
 * downtime is matched in passes of this many, not with every candle since in memory at once.
 */
export const MAX_PRICE_RANGES = 5_000;

const TREND_OCTAVES = 12;
const MAX_CANDLES_PER_CALL = 5_000;

/**
 * The markets paper trading defines: a symbol outside them is refused at start (configuration error) instead of
 * trading on invented prices. (The function below still gives any symbol rules: test doubles use it.)
 */
export const SIMULATED_SYMBOLS: readonly string[] = ['BTC/USDT', 'ETH/USDT', 'SOL/USDT', 'BNB/USDT'];

/** Price a symbol starts around, by base currency. */
export function startPrice(symbol: string): number {
  const base = symbol.split('/')[0];
  if (base === 'BTC') return 60_000;
  if (base === 'ETH') return 3_000;
  return 100;
}

/**
 * The paper markets' largest orders, in the base, as Binance's filters state them: LOT_SIZE maxQty binds every order
 * (BTCUSDT and ETHUSDT list 9,000, SOLUSDT and BNBUSDT 9,000,000), MARKET_LOT_SIZE maxQty a market order besides.
 * Binance recomputes MARKET_LOT_SIZE from its book (BTCUSDT listed 63.1 BTC, about 3.8 M USDT); here it is that
 * value at each symbol's start price, so a market order above about 3.8 M USDT goes in pieces, as on Binance.
 */
export const PAPER_ORDER_MAXIMUMS: Readonly<Record<string, { lotMaxQty: number; marketMaxQty: number }>> = {
  BTC: { lotMaxQty: 9_000, marketMaxQty: 63.1 },
  ETH: { lotMaxQty: 9_000, marketMaxQty: 1_262 },
  SOL: { lotMaxQty: 9_000_000, marketMaxQty: 37_860 },
  BNB: { lotMaxQty: 9_000_000, marketMaxQty: 37_860 },
};

/**
 * Binance-like trading rules: amount step worth about a cent or two, price tick 0.01, 5 quote minimum, and the
 * largest orders of PAPER_ORDER_MAXIMUMS (a base without an entry has none).
 */
export function simulatedMarketInfo(symbol: string): Market {
  const [base, quote] = symbol.split('/');
  const price = startPrice(symbol);
  const amountStep = Number(`1e${Math.floor(Math.log10(1 / price))}`);
  const max = PAPER_ORDER_MAXIMUMS[base];
  return {
    symbol,
    base,
    quote,
    amountStep,
    priceStep: 0.01,
    minAmount: amountStep,
    minNotional: 5,
    ...(max && {
      maxOrder: {
        limit: { amount: max.lotMaxQty },
        market: { amount: Math.min(max.lotMaxQty, max.marketMaxQty) },
      },
    }),
  };
}

export class SimulatedMarket {
  private readonly seedHash: number;
  private readonly spread: number;
  private readonly symbolHashes = new Map<string, number>();

  constructor(private readonly options: SimulatedMarketOptions) {
    this.seedHash = mix32(options.seed | 0) ^ mix32(Math.floor(options.seed / 2 ** 32));
    this.spread = options.spread ?? 0.0002;
  }

  get candleMs(): number {
    return this.options.candleMs;
  }

  candleIndex(now: number): number {
    return Math.floor(now / this.options.candleMs);
  }

  /** Closing price of candle `index` (a pure function of seed, symbol and index). */
  closeAt(symbol: string, index: number): number {
    const h = this.symbolHash(symbol);
    const vol = this.options.volatility;
    let logPrice = 0;
    // trend: value noise, octave k has lattice spacing 2^k candles and amplitude vol·√(2^k)·0.35
    for (let k = 1; k <= TREND_OCTAVES; k++) {
      const spacing = 2 ** k;
      const x = index / spacing;
      const i0 = Math.floor(x);
      const t = x - i0;
      const a = gaussian(h ^ (k * 0x9e3779b1), i0);
      const b = gaussian(h ^ (k * 0x9e3779b1), i0 + 1);
      logPrice += (a + (b - a) * t) * vol * Math.sqrt(spacing) * 0.35;
    }
    // swing: period 16–28 candles per symbol, amplitude drifting over ~256 candles
    const period = 14 + hash01(h ^ 0x5bd1e995, 0) * 10;
    const phase = hash01(h ^ 0x1b873593, 0) * 2 * Math.PI;
    const ampIndex = index / 256;
    const a0 = Math.floor(ampIndex);
    const u0 = hash01(h ^ 0x27d4eb2f, a0);
    const u1 = hash01(h ^ 0x27d4eb2f, a0 + 1);
    const amplitude = vol * 3 * (0.6 + 0.8 * (u0 + (u1 - u0) * (ampIndex - a0)));
    logPrice += amplitude * Math.sin((2 * Math.PI * index) / period + phase);
    // per-candle noise
    logPrice += gaussian(h ^ 0x85ebca6b, index) * vol * 0.5;
    return roundTo(startPrice(symbol) * Math.exp(logPrice), 8);
  }

  /** The completed candle `index` (open = previous close). */
  candle(symbol: string, index: number, previousClose?: number): Candle {
    const open = previousClose ?? this.closeAt(symbol, index - 1);
    const close = this.closeAt(symbol, index);
    const h = this.symbolHash(symbol);
    const wick = this.options.volatility * 0.6;
    const high = Math.max(open, close) * (1 + hash01(h ^ 0xc2b2ae35, index) * wick);
    const low = Math.min(open, close) * (1 - hash01(h ^ 0x165667b1, index) * wick);
    const move = Math.abs(close / open - 1) / this.options.volatility;
    const volume = (baseVolume(symbol) * (0.5 + hash01(h ^ 0xd3a2646c, index)) * (1 + move)) / 2;
    return [
      index * this.options.candleMs,
      open,
      roundTo(high, 8),
      roundTo(low, 8),
      close,
      roundTo(volume, 6),
    ];
  }

  /**
   * The last `limit` candles at `now`, oldest first. The last one is the running candle: its close is the
   * current price, its high/low only cover the part already elapsed (what an exchange returns).
   */
  candles(symbol: string, now: number, limit: number): Candle[] {
    const current = this.candleIndex(now);
    const count = Math.max(0, Math.min(limit, MAX_CANDLES_PER_CALL));
    const result: Candle[] = [];
    let previousClose: number | undefined;
    for (let i = current - count + 1; i < current; i++) {
      const candle = this.candle(symbol, i, previousClose);
      previousClose = candle[4];
      result.push(candle);
    }
    if (count > 0) result.push(this.runningCandle(symbol, now));
    return result;
  }

  /** The current price: interpolated between the previous close and this candle's close. */
  lastPrice(symbol: string, now: number): number {
    const index = this.candleIndex(now);
    const from = this.closeAt(symbol, index - 1);
    const to = this.closeAt(symbol, index);
    const f = (now - index * this.options.candleMs) / this.options.candleMs;
    return roundTo(from + (to - from) * f, 8);
  }

  ticker(symbol: string, now: number): Ticker {
    const last = this.lastPrice(symbol, now);
    const half = (last * this.spread) / 2;
    return { symbol, last, bid: roundTo(last - half, 8), ask: roundTo(last + half, 8), timestamp: now };
  }

  /**
   * Tradeable ranges of the completed candles after `afterBucket` up to `now`, oldest first: at most
   * MAX_PRICE_RANGES of them (the oldest), so a caller far behind asks again from the last one. The running candle
   * is not listed: its range is not final until it completes.
   */
  priceRanges(symbol: string, afterBucket: number, now: number): PriceRange[] {
    const end = Math.min(this.candleIndex(now), afterBucket + 1 + MAX_PRICE_RANGES);
    const ranges: PriceRange[] = [];
    const halfSpread = this.spread / 2;
    let previousClose: number | undefined;
    for (let i = afterBucket + 1; i < end; i++) {
      const [, , high, low, close] = this.candle(symbol, i, previousClose);
      previousClose = close;
      ranges.push({
        bucket: i,
        lowestAsk: low * (1 + halfSpread),
        highestBid: high * (1 - halfSpread),
        ask: close * (1 + halfSpread),
        bid: close * (1 - halfSpread),
        time: (i + 1) * this.options.candleMs,
      });
    }
    return ranges;
  }

  private runningCandle(symbol: string, now: number): Candle {
    const index = this.candleIndex(now);
    const [time, open, high, low, close, volume] = this.candle(symbol, index);
    const last = this.lastPrice(symbol, now);
    const f = (now - time) / this.options.candleMs;
    // the wick seen so far grows with the elapsed part of the candle, never beyond the full candle's
    const partialHigh = Math.max(open, last, Math.max(open, last) + (high - Math.max(open, close)) * f);
    const partialLow = Math.min(open, last, Math.min(open, last) - (Math.min(open, close) - low) * f);
    return [time, open, roundTo(partialHigh, 8), roundTo(partialLow, 8), last, roundTo(volume * f, 6)];
  }

  private symbolHash(symbol: string): number {
    let h = this.symbolHashes.get(symbol);
    if (h === undefined) {
      h = this.seedHash;
      for (let i = 0; i < symbol.length; i++) h = mix32(h ^ symbol.charCodeAt(i));
      this.symbolHashes.set(symbol, h);
    }
    return h;
  }
}

function baseVolume(symbol: string): number {
  const base = symbol.split('/')[0];
  if (base === 'BTC') return 5;
  if (base === 'ETH') return 60;
  return 1_500;
}

/** murmur3's 32-bit finalizer: a cheap, well-mixed integer hash. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Uniform in [0, 1) from a stream key and an index (indices beyond 2^32 are folded in, not truncated). */
function hash01(key: number, index: number): number {
  const lo = index >>> 0;
  const hi = Math.floor(index / 2 ** 32) >>> 0;
  return mix32(key ^ mix32(lo ^ mix32(hi + 0x632be5ab))) / 2 ** 32;
}

/** Standard normal from two uniforms (Box–Muller). */
function gaussian(key: number, index: number): number {
  const u1 = Math.max(hash01(key, index), 1e-12);
  const u2 = hash01(key ^ 0x68e31da4, index);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** Rounds to a number of decimals without leaving binary noise (0.1 + 0.2 style). */
function roundTo(value: number, decimals: number): number {
  return Number(value.toFixed(decimals));
}
