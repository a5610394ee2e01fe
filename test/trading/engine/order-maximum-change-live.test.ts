/**
 * The exchange lowers a symbol's LARGEST order between two of the bot's daily markets reads (review 44a). Binance
 * refuses an order above MARKET_LOT_SIZE / LOT_SIZE maxQty with -1013, Bybit with 170381/170382 "Order quantity too
 * large." (error.mdx; instruments-info: "The fields `maxLimitOrderQty`, `maxMarketOrderQty`, and
 * `postOnlyMaxLimitOrderSize` are adjusted bi-monthly (3rd and 17th, 08:00 UTC+8). Developers should not assume these
 * values remain constant.", github.com/bybit-exchange/docs docs/v5/market/instrument.mdx), OKX with 51201–51203
 * (maxMktSz / maxMktAmt / maxLmtSz / maxLmtAmt of public/instruments). Each is a market-rule code
 * (profiles/<exchange>.ts marketRuleCodes): the markets are due for a reload (market-refresh.ts rulesRefusedAt), and
 * the next try is sized in pieces on the new maximum. Before, Bybit's and OKX's were not: a stop-loss sized on the
 * day-old maximum was refused again and again on its backoff with the same amount until the next daily reload
 * (`trading.marketsRefreshMs`, 24 h), the position riding down with no working stop-loss.
 *
 * Real engine, real ccxt against each exchange's double (harness/exchanges/), real clock.
 */
import { expect } from 'chai';
import { EXCHANGE_KITS } from '../../../harness/exchanges/exchange-kits';
import type { LocalExchange } from '../../../harness/exchanges/local-exchange';
import type { EngineHarness } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import {
  HELD_SYMBOL,
  STOP_LOSS_ON_DAY_OLD_MARKETS,
  startHeldSymbolDouble,
  startHoldingLiveEngine,
} from '../../support/live-engine';

const BTC = HELD_SYMBOL;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Each double's largest market order lowered as its exchange would (listed by the next markets read, applied now). */
const LOWER_MARKET_MAXIMUM: Record<string, (fake: LocalExchange) => void> = {
  // MARKET_LOT_SIZE maxQty 0.02 BTC
  binance: (fake) => (fake as unknown as { setMarketMaxQty(q: number): void }).setMarketMaxQty(0.02),
  // lotSizeFilter maxMarketOrderQty 0.02 BTC (its bi-monthly adjustment)
  bybit: (fake) => {
    (fake as unknown as { options: { maxMarketOrderQty?: number } }).options.maxMarketOrderQty = 0.02;
  },
  // maxMktSz 1,200 USDT ("the quantity in USDT" for SPOT): 0.02 BTC at 60,000
  okx: (fake) => {
    (fake as unknown as { options: { maxMktSz?: number } }).options.maxMktSz = 1_200;
  },
};

for (const kit of EXCHANGE_KITS) {
  describe(`the exchange lowers its largest market order between markets reads (real ccxt, ${kit.id} double)`, function () {
    this.timeout(60_000);
    let fake: LocalExchange | undefined;
    let h: EngineHarness | undefined;
    closeAfterEach(() => [h, fake]);

    const sells = () => fake!.trades(BTC).filter((t) => t.side === 'sell');

    it('a stop-loss refused for the lowered maximum reloads the markets and sells in pieces on it', async () => {
      fake = await startHeldSymbolDouble(kit);
      let bought: number;
      ({ h, bought } = await startHoldingLiveEngine(kit, fake, STOP_LOSS_ON_DAY_OLD_MARKETS));
      // ~0.0333 BTC: above the new maximum of 0.02
      expect(bought).to.be.above(0.03);
      LOWER_MARKET_MAXIMUM[kit.id](fake);
      fake.pinPrice(BTC, 58_000);
      for (let i = 0; i < 60 && sells().length === 0; i++) {
        await h!.loop.tick();
        await sleep(50);
      }
      const refused = h!.events.filter((e) => e.type === 'order.rejected');
      expect(
        sells(),
        `never sold in 60 ticks (3 s; the markets reload due at the soonest 200 ms after a market-rule refusal); refused ${refused.length} times: ${refused
          .slice(0, 3)
          .map((e) => e.summary)
          .join(' | ')}`,
      ).to.not.deep.equal([]);
      // sold within the new maximum
      for (const t of sells()) expect(t.qty).to.be.at.most(0.02 + 1e-9);
    });
  });
}
