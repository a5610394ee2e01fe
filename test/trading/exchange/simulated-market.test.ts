import { expect } from 'chai';
import { configSchema } from '../../../src/shared/config/schema';
import {
  MAX_PRICE_RANGES,
  SimulatedMarket,
  simulatedMarketInfo,
} from '../../../src/trading/exchange/simulated-market';
import { BTC_MARKET } from '../../support/risk-fixtures';

const defaults = configSchema().parse({}).trading;
const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);

function market(seed = 42): SimulatedMarket {
  return new SimulatedMarket({
    seed,
    volatility: defaults.paper.volatility,
    candleMs: defaults.paper.candleMs,
  });
}

function sma(values: number[], period: number, end: number): number {
  let sum = 0;
  for (let i = end - period + 1; i <= end; i++) sum += values[i];
  return sum / period;
}

describe('SimulatedMarket', () => {
  it('gives the same prices for the same seed, in a new instance (restarts continue the same path)', () => {
    const a = market(42).candles('BTC/USDT', NOW, 50);
    const b = market(42).candles('BTC/USDT', NOW, 50);
    expect(b).to.deep.equal(a);
    expect(market(7).candles('BTC/USDT', NOW, 50)).to.not.deep.equal(a);
  });

  it('is a function of time: later calls see the same completed candles', () => {
    const m = market();
    const early = m.candles('ETH/USDT', NOW, 30).slice(0, -1); // drop the running candle
    const later = m.candles('ETH/USDT', NOW + 10 * defaults.paper.candleMs, 40);
    const index = later.findIndex((c) => c[0] === early[0][0]);
    expect(later.slice(index, index + early.length)).to.deep.equal(early);
  });

  it('gives each symbol its own path around its start price', () => {
    const m = market();
    const btc = m.lastPrice('BTC/USDT', NOW);
    const eth = m.lastPrice('ETH/USDT', NOW);
    const sol = m.lastPrice('SOL/USDT', NOW);
    expect(btc).to.be.within(60_000 * 0.6, 60_000 * 1.6);
    expect(eth).to.be.within(3_000 * 0.6, 3_000 * 1.6);
    expect(sol).to.be.within(100 * 0.6, 100 * 1.6);
    expect(m.lastPrice('XRP/USDT', NOW)).to.not.equal(sol);
  });

  it('produces plausible OHLCV candles: open = previous close, high/low enclose open and close, volume > 0', () => {
    const candles = market().candles('BTC/USDT', NOW, 200);
    expect(candles).to.have.length(200);
    for (let i = 0; i < candles.length; i++) {
      const [time, open, high, low, close, volume] = candles[i];
      expect(time).to.equal(Math.floor(NOW / defaults.paper.candleMs - (199 - i)) * defaults.paper.candleMs);
      expect(high).to.be.at.least(Math.max(open, close));
      expect(low).to.be.at.most(Math.min(open, close));
      expect(volume).to.be.at.least(0);
      if (i > 0) expect(open).to.equal(candles[i - 1][4]);
    }
    expect(candles.slice(0, -1).every((c) => c[5] > 0)).to.equal(true);
  });

  it('quotes a ticker with the bid below the ask around the last price', () => {
    const t = market().ticker('ETH/USDT', NOW + 700);
    expect(t.bid).to.be.below(t.last);
    expect(t.ask).to.be.above(t.last);
    expect(t.timestamp).to.equal(NOW + 700);
    expect(
      market()
        .candles('ETH/USDT', NOW + 700, 3)
        .at(-1)![4],
    ).to.equal(t.last);
  });

  it('gives Binance-like trading rules, with its largest orders (LOT_SIZE, MARKET_LOT_SIZE maxQty)', () => {
    expect(simulatedMarketInfo('BTC/USDT')).to.deep.equal({
      ...BTC_MARKET,
      maxOrder: { limit: { amount: 9_000 }, market: { amount: 63.1 } },
    });
    expect(simulatedMarketInfo('SOL/USDT').amountStep).to.equal(0.01);
    expect(simulatedMarketInfo('SOL/USDT').maxOrder).to.deep.equal({
      limit: { amount: 9_000_000 },
      market: { amount: 37_860 },
    });
  });

  it('at the default config, an SMA 5/20 crossover happens within the first minute of any start', () => {
    // 500 start times spread over ~10 days; the first minute is 30 candles of 2 s
    const m = market(defaults.paper.seed);
    const { fast, slow } = defaults.strategy.smaCrossover;
    const window = Math.floor(60_000 / defaults.paper.candleMs);
    let startsWithBuyCross = 0;
    const starts = 500;
    for (let s = 0; s < starts; s++) {
      const start = m.candleIndex(NOW) + s * 1_733;
      const buyCross = defaults.symbols.some((symbol) => {
        const closes: number[] = [];
        for (let i = start - 100; i <= start + window; i++) closes.push(m.closeAt(symbol, i));
        for (let i = 100; i <= 100 + window; i++) {
          const before = sma(closes, fast, i - 1) - sma(closes, slow, i - 1);
          const after = sma(closes, fast, i) - sma(closes, slow, i);
          if (before <= 0 && after > 0) return true;
        }
        return false;
      });
      if (buyCross) startsWithBuyCross++;
    }
    expect(startsWithBuyCross / starts).to.be.at.least(0.99);
  });

  it('lists the completed candles after a bucket as price ranges, each ending with its own close, never the running one', () => {
    const m = market();
    const current = m.candleIndex(NOW);
    const ranges = m.priceRanges('BTC/USDT', current - 4, NOW);
    expect(ranges.map((r) => r.bucket)).to.deep.equal([current - 3, current - 2, current - 1]);
    const [, , high, low, close] = m.candle('BTC/USDT', current - 1);
    expect(ranges[2].lowestAsk).to.be.at.least(low);
    expect(ranges[2].highestBid).to.be.at.most(high);
    expect(ranges[2].ask).to.be.greaterThan(close);
    expect(ranges[2].bid).to.be.lessThan(close);
    expect(ranges[2].time).to.equal(current * m.candleMs);
    // the same periods whenever they are asked for: later in the running candle, or candles later
    expect(m.priceRanges('BTC/USDT', current - 4, NOW + m.candleMs - 1)).to.deep.equal(ranges);
    expect(m.priceRanges('BTC/USDT', current - 4, NOW + 7 * m.candleMs).slice(0, 3)).to.deep.equal(ranges);
  });

  it('lists at most MAX_PRICE_RANGES periods, the oldest first, so a caller far behind asks again from the last', () => {
    const m = market();
    const current = m.candleIndex(NOW);
    const after = current - MAX_PRICE_RANGES - 10;
    const ranges = m.priceRanges('BTC/USDT', after, NOW);
    expect(ranges).to.have.length(MAX_PRICE_RANGES);
    expect(ranges[0].bucket).to.equal(after + 1);
    expect(ranges.at(-1)!.bucket).to.equal(after + MAX_PRICE_RANGES);
    const rest = m.priceRanges('BTC/USDT', ranges.at(-1)!.bucket, NOW);
    expect(rest.map((r) => r.bucket)).to.deep.equal([
      current - 9,
      current - 8,
      current - 7,
      current - 6,
      current - 5,
      current - 4,
      current - 3,
      current - 2,
      current - 1,
    ]);
  });
});
