/**
 * A real paper exchange on real files for tests: the simulated market of the default config, a fake clock the
 * test moves, and the candle a resting limit order first crosses (found from the market itself, so a test names the
 * period it expects a fill in instead of a magic time).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configSchema } from '../../src/shared/config/schema';
import type { CreateOrderRequest } from '../../src/trading/exchange/exchange';
import { PaperExchange, type PaperSettings } from '../../src/trading/exchange/paper-exchange';
import { SimulatedPriceFeed } from '../../src/trading/exchange/price-feed';
import { SimulatedMarket } from '../../src/trading/exchange/simulated-market';
import { FakeClock } from './fake-clock';

export const PAPER_DEFAULTS = configSchema().parse({}).trading.paper;
export const CANDLE = PAPER_DEFAULTS.candleMs;
/** A start inside a candle (not on its edge), so "the running period" is a real part of one. */
export const PAPER_START = Date.UTC(2026, 10, 26, 12, 0, 0) + 123;
export const BTC = 'BTC/USDT';
export const SYMBOLS = [BTC, 'ETH/USDT'];
export const MARKET = new SimulatedMarket({
  seed: PAPER_DEFAULTS.seed,
  volatility: PAPER_DEFAULTS.volatility,
  candleMs: CANDLE,
});

export class PaperFixture {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-paper-'));
  readonly clock = new FakeClock(PAPER_START, { sleep: 'advances' });
  private readonly opened: PaperExchange[] = [];
  private seq = 0;

  async open(settings: Partial<PaperSettings> = {}): Promise<PaperExchange> {
    const ex = await PaperExchange.open({
      dataDir: this.dir,
      feed: new SimulatedPriceFeed(MARKET, SYMBOLS),
      settings: { ...PAPER_DEFAULTS, ...settings },
      clock: this.clock,
    });
    this.opened.push(ex);
    return ex;
  }

  /** A request with a fresh clientOrderId (market order of BTC/USDT unless told otherwise). */
  order(
    fields: Partial<CreateOrderRequest> & Pick<CreateOrderRequest, 'side' | 'amount'>,
  ): CreateOrderRequest {
    this.seq += 1;
    return { symbol: BTC, type: 'market', clientOrderId: `test-${this.seq}`, ...fields };
  }

  /** First completed candle after the current one whose range reaches `limit` (a buy's low, a sell's high). */
  firstCrossing(limit: number, side: 'buy' | 'sell' = 'buy', max = 400): number {
    const start = MARKET.candleIndex(this.clock.now());
    for (let i = start + 1; i < start + max; i++) {
      const range = MARKET.priceRanges(BTC, i - 1, (i + 1) * CANDLE)[0];
      if (side === 'buy' ? range.lowestAsk <= limit : range.highestBid >= limit) return i;
    }
    throw new Error('no crossing found; pick another limit');
  }

  async close(): Promise<void> {
    for (const ex of this.opened.splice(0)) await ex.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
