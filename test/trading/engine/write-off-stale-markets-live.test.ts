/**
 * /writeoff judged on the markets the bot read last (review 34w). The markets are read again once a day
 * (`trading.marketsRefreshMs`, 24 h by default): a minimum the exchange raised and lowered back since (Binance
 * announces filter changes and reverts a mistaken one the same way: "API users may use GET /api/v3/exchangeInfo for
 * the latest" rules), or a symbol listed again, is unknown to the bot until then. On main the write-off decided on
 * those stale markets and booked as sold at price 0 a position a market order could sell again — its stop-loss gone,
 * the coins left to the owner as if the bot could not sell them. The write-off now reads the markets first and
 * decides on what the exchange applies now.
 *
 * Real engine, real ccxt against each exchange's double (harness/exchanges/, `setMarketRules`), real clock.
 */
import { expect } from 'chai';
import { EXCHANGE_KITS } from '../../../harness/exchanges/exchange-kits';
import type { LocalExchange } from '../../../harness/exchanges/local-exchange';
import type { EngineHarness } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import {
  HELD_SYMBOL,
  minimumAboveHolding,
  STOP_LOSS_ON_DAY_OLD_MARKETS,
  startHeldSymbolDouble,
  startHoldingLiveEngine,
} from '../../support/live-engine';

const BTC = HELD_SYMBOL;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

for (const kit of EXCHANGE_KITS) {
  describe(`/writeoff on the markets the exchange applies now (real ccxt, ${kit.id} double)`, function () {
    this.timeout(60_000);
    let fake: LocalExchange | undefined;
    let h: EngineHarness | undefined;
    closeAfterEach(() => [h, fake]);

    const position = (): number => h!.orderBook.positions()[BTC]?.amount ?? 0;
    const sells = () => fake!.trades(BTC).filter((t) => t.side === 'sell');

    it('refuses a holding the exchange made sellable again since the last load, and its stop-loss sells it', async () => {
      fake = await startHeldSymbolDouble(kit);
      let bought: number;
      ({ h, bought } = await startHoldingLiveEngine(kit, fake, STOP_LOSS_ON_DAY_OLD_MARKETS));
      const raised = minimumAboveHolding(kit, h.orderBook.markets[BTC]!);
      // the exchange raises the minimum above the position: the stop-loss is refused, the reload finds it unsellable
      fake.setMarketRules(BTC, raised.rules);
      fake.pinPrice(BTC, 58_000);
      for (let i = 0; i < 40 && !h.eventTypes().includes('position.unsellable'); i++) {
        await h.loop.tick();
        await sleep(50);
      }
      expect(h.eventTypes()).to.include('position.unsellable');
      expect(sells()).to.deep.equal([]);
      // ... and lowers it back; the bot's markets stay the ones with the raised minimum until the daily reload
      fake.setMarketRules(BTC, raised.back);
      expect(h.orderBook.markets[BTC]![raised.field]).to.be.at.least(raised.value);
      const written = await h.loop.writeOff(BTC);
      expect(written.ok ? 'written off' : written.refusal).to.match(/can still sell/);
      expect(position()).to.equal(bought);
      expect(h.eventTypes()).to.not.include('position.written_off');
      // the position is the bot's again: its stop-loss (the price is 3 % under the entry) sells it
      for (let i = 0; i < 40 && sells().length === 0; i++) {
        await h.loop.tick();
        await sleep(50);
      }
      expect(sells()).to.not.deep.equal([]);
    });
  });
}
