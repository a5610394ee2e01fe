/**
 * A holding unsellable only by its value (Binance NOTIONAL minNotional, applied to MARKET orders) while the price
 * hovers about the minimum (review 34w): each markets load judged it on the last price, so one load found it
 * sellable (the announcement forgotten) and the next unsellable again — `position.unsellable` sent once more at every
 * crossing a load saw. Loads come often while another watched symbol is halted (`haltedMarketsRefreshMs`, 60 s
 * doubling) or after an order refused for the symbol's rules. The same holding is told once: its announcement is
 * kept while the bot holds the same amount, and forgotten once it holds another (sold, bought more) or none.
 *
 * Real engine, real ccxt against the Binance double (`setMarketRules`, NOTIONAL applyMinToMarket by default), real
 * clock; the daily reload made short so that loads see the crossings.
 */
import { expect } from 'chai';
import { EXCHANGE_KITS } from '../../../harness/exchanges/exchange-kits';
import type { LocalExchange } from '../../../harness/exchanges/local-exchange';
import type { EngineHarness } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import {
  HELD_PRICE,
  HELD_SYMBOL,
  startHeldSymbolDouble,
  startHoldingLiveEngine,
} from '../../support/live-engine';

const BTC = HELD_SYMBOL;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const kit = EXCHANGE_KITS.find((k) => k.id === 'binance')!;

describe('a holding below the minimum value while the price hovers about it (real ccxt, Binance double)', function () {
  this.timeout(120_000);
  let fake: LocalExchange | undefined;
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h, fake]);

  const position = (): number => h!.orderBook.positions()[BTC]?.amount ?? 0;
  const told = (): number => h!.eventTypes().filter((t) => t === 'position.unsellable').length;

  it('is told once, not at each crossing a markets load sees', async () => {
    fake = await startHeldSymbolDouble(kit);
    let bought: number;
    ({ h, bought } = await startHoldingLiveEngine(kit, fake, {
      // no exit fires in this test: only the loads judge the holding
      risk: { stopLossPct: 50, takeProfitPct: 0 },
      marketsRefreshMs: 100,
      haltedMarketsRefreshMs: 100,
    }));
    // the exchange's new minimum order value: the position (~0.0333 BTC) is worth it above 60,000 only
    fake.setMarketRules(BTC, { minNotional: bought * HELD_PRICE });
    for (let crossing = 0; crossing < 4; crossing++) {
      fake.pinPrice(BTC, 59_000);
      const before = told();
      // the first crossing is told; after it, a few loads at this price (none is told again)
      for (let i = 0; i < (crossing === 0 ? 40 : 8) && told() === before; i++) {
        await h.loop.tick();
        await sleep(50);
      }
      expect(h.orderBook.openPositions().map((p) => p.symbol)).to.deep.equal([]);
      fake.pinPrice(BTC, 61_000);
      for (let i = 0; i < 40 && h.orderBook.openPositions().length === 0; i++) {
        await h.loop.tick();
        await sleep(50);
      }
      // a load after the price read: the holding judged sellable at 61,000
      for (let i = 0; i < 4; i++) {
        await h.loop.tick();
        await sleep(120);
      }
      expect(h.orderBook.openPositions().map((p) => p.symbol)).to.deep.equal([BTC]);
    }
    expect(fake.trades(BTC).filter((t) => t.side === 'sell')).to.deep.equal([]);
    expect(position()).to.equal(bought);
    expect(
      told(),
      `events: ${h.events
        .filter((e) => e.type === 'position.unsellable')
        .map((e) => e.summary)
        .join(' | ')}`,
    ).to.equal(1);
  });
});
