import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configSchema } from '../../../src/shared/config/schema';
import { ExchangePriceFeed, type MarketDataSource } from '../../../src/trading/exchange/dry-run-exchange';
import type { Ticker } from '../../../src/trading/exchange/exchange';
import { PaperExchange } from '../../../src/trading/exchange/paper-exchange';
import { simulatedMarketInfo } from '../../../src/trading/exchange/simulated-market';
import { FakeClock } from '../../support/fake-clock';

const PERIOD = 2_000;
const BTC = 'BTC/USDT';

/** A live exchange's public data reduced to the quote the test sets (the feed's only input). */
class ScriptedQuotes implements MarketDataSource {
  quote = { bid: 100, ask: 100.1 };
  async loadMarkets() {
    return { [BTC]: simulatedMarketInfo(BTC) };
  }
  async fetchTicker(symbol: string): Promise<Ticker> {
    return { symbol, last: this.quote.bid, ...this.quote, timestamp: 0 };
  }
  async fetchCandles() {
    return [];
  }
  async close() {}
}

describe('dry-run price feed: periods from the quotes it saw, listed once they end', () => {
  it('lists a period only after it ended, with the lowest ask, highest bid and last quote seen in it, ending at its end', async () => {
    const source = new ScriptedQuotes();
    const feed = new ExchangePriceFeed(source, PERIOD);
    const t0 = 1_000 * PERIOD;
    source.quote = { bid: 100, ask: 100.1 };
    expect(await feed.priceRanges(BTC, 999, t0 + 100), 'the running period is not listed').to.deep.equal([]);
    source.quote = { bid: 98, ask: 98.1 };
    await feed.priceRanges(BTC, 999, t0 + 900);
    source.quote = { bid: 101, ask: 101.1 };
    await feed.priceRanges(BTC, 999, t0 + 1_900);
    source.quote = { bid: 90, ask: 90.1 }; // next period: not part of period 1000
    const listed = await feed.priceRanges(BTC, 999, t0 + PERIOD + 5);
    const period = {
      bucket: 1000,
      lowestAsk: 98.1,
      highestBid: 101,
      ask: 101.1,
      bid: 101,
      time: t0 + PERIOD,
    };
    expect(listed).to.deep.equal([period]);
    // the same answer whenever it is asked again, and nothing before the bucket asked after
    expect(await feed.priceRanges(BTC, 999, t0 + 3 * PERIOD)).to.deep.equal([
      period,
      { bucket: 1001, lowestAsk: 90.1, highestBid: 90, ask: 90.1, bid: 90, time: t0 + 2 * PERIOD },
    ]);
    expect(await feed.priceRanges(BTC, 1000, t0 + 3 * PERIOD)).to.have.length(1);
  });

  it('a resting buy fills at its limit at the end of the period whose quote reached it, not at the quote of the next look', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-dryrun-'));
    const clock = new FakeClock(1_000 * PERIOD + 10, { sleep: 'advances' });
    const source = new ScriptedQuotes();
    const ex = await PaperExchange.open({
      dataDir: dir,
      feed: new ExchangePriceFeed(source, PERIOD),
      settings: { ...configSchema().parse({}).trading.paper, latencyMs: 0 },
      clock,
    });
    try {
      const placed = await ex.createOrder({
        symbol: BTC,
        side: 'buy',
        type: 'limit',
        amount: 0.1,
        price: 99,
        clientOrderId: 'd-1',
      });
      clock.time += PERIOD; // period 1001
      source.quote = { bid: 98.9, ask: 99 };
      expect((await ex.fetchOrder(placed.id, BTC)).status, 'seen crossing, period still running').to.equal(
        'open',
      );
      clock.time += 5 * PERIOD + 7;
      source.quote = { bid: 80, ask: 80.1 }; // the next look's quote: not what the order crossed at
      const filled = await ex.fetchOrder(placed.id, BTC);
      expect(filled.status).to.equal('closed');
      expect(filled.trades!.map((t) => [t.price, t.timestamp])).to.deep.equal([[99, 1_002 * PERIOD]]);
    } finally {
      await ex.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
