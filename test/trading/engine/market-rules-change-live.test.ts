/**
 * The exchange changes a symbol's trading rules between two of the bot's daily markets reads (review 34x): Binance
 * announces a new tick size, step or minimum and applies it at a set time ("Tick size via API will also change. API
 * users may use GET /api/v3/exchangeInfo for the latest tick size"), Bybit and OKX likewise through their instruments
 * reads. Every order the bot sizes on the markets it read before is refused from then on (Binance -1013 "Filter
 * failure: LOT_SIZE", Bybit 170137 "Order volume decimal too long", OKX 51121 "Order quantity must be a multiple of
 * the lot size"). On main a stop-loss so refused was tried again on its backoff with the same stale amount until the
 * next daily reload — a position left unprotected for up to `trading.marketsRefreshMs` (24 h) while the price fell.
 * A refusal of the symbol's trading rules makes the markets due for a reload (at most once per
 * `trading.haltedMarketsRefreshMs`), so the next try is sized on the rules the exchange applies now — a lowered
 * largest order as well (Bybit adjusts `maxMarketOrderQty` "bi-monthly", review 44a).
 *
 * Real engine, real ccxt against each exchange's double (harness/exchanges/, `setMarketRules`), real clock.
 */
import { expect } from 'chai';
import { EXCHANGE_KITS } from '../../../harness/exchanges/exchange-kits';
import type { FakeBinance } from '../../../harness/exchanges/fake-binance';
import type { FakeBybit } from '../../../harness/exchanges/fake-bybit';
import type { FakeOkx } from '../../../harness/exchanges/fake-okx';
import type { LocalExchange } from '../../../harness/exchanges/local-exchange';
import type { EngineHarness } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import {
  HELD_SYMBOL,
  minimumAboveHolding,
  STOP_LOSS_ON_DAY_OLD_MARKETS,
  startHeldSymbolDouble,
  startHoldingLiveEngine,
  tickUntil as tickUntilIn,
} from '../../support/live-engine';

const BTC = HELD_SYMBOL;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Each double's largest market order lowered as its exchange would (listed by the next markets read, applied now): a
 * refusal above it is a market-rule code on each (review 44a: Bybit's 170381/170382 and OKX's 51201–51203 were not,
 * and a stop-loss sized on the day-old maximum was refused on its backoff until the daily reload).
 */
const LOWER_MARKET_MAXIMUM: Record<string, (fake: LocalExchange) => void> = {
  // MARKET_LOT_SIZE maxQty 0.02 BTC
  binance: (fake) => (fake as FakeBinance).setMarketMaxQty(0.02),
  // lotSizeFilter maxMarketOrderQty 0.02 BTC (its bi-monthly adjustment)
  bybit: (fake) => (fake as FakeBybit).setMaxMarketOrderQty(0.02),
  // maxMktSz 1,200 USDT ("the quantity in USDT" for SPOT): 0.02 BTC at 60,000
  okx: (fake) => (fake as FakeOkx).setMaxMktSz(1_200),
};

for (const kit of EXCHANGE_KITS) {
  describe(`the exchange's trading rules change between markets reads (real ccxt, ${kit.id} double)`, function () {
    this.timeout(60_000);
    let fake: LocalExchange | undefined;
    let h: EngineHarness | undefined;
    closeAfterEach(() => [h, fake]);

    const position = (): number => h!.orderBook.positions()[BTC]?.amount ?? 0;
    const sells = () => fake!.trades(BTC).filter((t) => t.side === 'sell');
    const tickUntil = (done: () => boolean): Promise<void> => tickUntilIn(h!, done);

    it('a stop-loss refused for a coarser amount step reloads the markets and sells on the new step', async () => {
      fake = await startHeldSymbolDouble(kit);
      let bought: number;
      ({ h, bought } = await startHoldingLiveEngine(kit, fake, STOP_LOSS_ON_DAY_OLD_MARKETS));
      // ~0.0333 BTC on the 0.00001 step: off a 0.001 step
      expect(bought * 1000 - Math.floor(bought * 1000)).to.be.greaterThan(0.01);
      // the exchange's new amount step and minimum, applied from now on
      fake.setMarketRules(BTC, { amountStep: 0.001, minAmount: 0.001 });
      fake.pinPrice(BTC, 58_000);
      for (let i = 0; i < 60 && sells().length === 0; i++) {
        await h!.loop.tick();
        await sleep(50);
      }
      const refused = h!.events.filter((e) => e.type === 'order.rejected');
      expect(sells(), `never sold; refused: ${refused.map((e) => e.summary).join(' | ')}`).to.not.deep.equal(
        [],
      );
      // refused on the stale step only until the reload (the backoff may try again before the reload's soonest
      // time), then sold once on the new step: 0.033, the rest is dust below it
      const stale = Math.floor(bought * 1e5) / 1e5;
      for (const e of refused)
        expect(e.summary.startsWith(`sell ${stale} ${BTC} rejected`), e.summary).to.equal(true);
      expect(sells().map((t) => Math.round(t.qty * 1000) / 1000)).to.deep.equal([
        Math.floor(bought * 1000) / 1000,
      ]);
      // the sell's fills booked (Bybit and OKX answer a create with ids only: read on the next ticks), the trip over
      await tickUntil(() => h!.orderBook.openPositions().length === 0);
      expect(position()).to.be.closeTo(bought - Math.floor(bought * 1000) / 1000, 1e-9);
    });

    /**
     * A position the exchange's new minimum makes unsellable (Binance raises LOT_SIZE minQty, OKX minSz, Bybit its
     * minOrderAmt above it): its stop-loss is refused once, the markets reload, and from then on the dust rule says it is no
     * position (no stop-loss, not in /positions or maxOpenPositions). On main that happened silently (review 34x):
     * ~2,000 USDT of coins the bot held and could not sell, and nothing told the operator. Now the load that finds it
     * tells once (`position.unsellable`: amount, value, the new minimum, what to do), not again at the next load, and
     * /writeoff takes it out of the books (refused while it was sellable).
     */
    it("a position the new minimum makes unsellable is told once, and written off on the operator's word", async () => {
      fake = await startHeldSymbolDouble(kit);
      let bought: number;
      ({ h, bought } = await startHoldingLiveEngine(kit, fake, STOP_LOSS_ON_DAY_OLD_MARKETS));
      // a position the bot can sell is never written off
      const early = await h!.loop.writeOff(BTC);
      expect(early.ok ? 'written off' : early.refusal).to.match(/can still sell/);
      // the exchange's new minimum: above the whole position (Bybit: its minimum order value)
      const raised = minimumAboveHolding(kit, h!.orderBook.markets[BTC]!);
      fake.setMarketRules(BTC, raised.rules);
      fake.pinPrice(BTC, 58_000);
      for (let i = 0; i < 40; i++) {
        await h!.loop.tick();
        await sleep(50);
      }
      expect(sells()).to.deep.equal([]);
      expect(position()).to.equal(bought);
      const told = h!.events.filter((e) => e.type === 'position.unsellable');
      expect(
        told.map((e) => e.data.symbol),
        `told once; events: ${h!.events.map((e) => `${e.type}: ${e.summary}`).join(' | ')}`,
      ).to.deep.equal([BTC]);
      expect(told[0]!.data).to.include({ reason: 'below-minimum', amount: bought });
      // the minimum the exchange raised
      expect(told[0]!.data[raised.field]).to.be.at.least(raised.value);
      expect(told[0]!.summary)
        .to.match(/can no longer sell it/)
        .and.match(/\/writeoff BTC\/USDT/);
      // the operator's write-off: out of the books at price 0, the coins left to the owner
      const written = await h!.loop.writeOff(BTC);
      expect(written.ok, written.ok ? '' : written.refusal).to.equal(true);
      expect(position()).to.equal(0);
      expect(h!.orderBook.positions()[BTC]!.realizedPnl).to.be.below(-1_900);
      for (let i = 0; i < 5; i++) await h!.loop.tick();
      expect(sells()).to.deep.equal([]);
      expect(h!.eventTypes().filter((t) => t === 'position.unsellable')).to.have.length(1);
      expect(h!.eventTypes()).to.include('position.written_off');
    });

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

    /**
     * Bybit's `minOrderQty` is no minimum (review 44a): instruments-info, lotSizeFilter (docs/v5/market/instrument.mdx,
     * since 2025-10-24): "minOrderQty — Minimum order quantity, deprecated, no longer check `minOrderQty`, check
     * `minOrderAmt` instead". ccxt 4.5.84 still reads it as `limits.amount.min`; taken as every order's minimum, it
     * made a holding below it no position — no stop-loss, told unsellable and offered for /writeoff — that Bybit sells
     * (worth far above minOrderAmt). Bybit's least amount is one `basePrecision` step now (order-maximums.ts
     * minimumAmount), its least value `minOrderAmt`; the double checks no quantity minimum, as Bybit.
     */
    if (kit.id === 'bybit')
      it('a holding worth 2,000 USDT (minOrderAmt 5) stays a position whatever minOrderQty lists', async () => {
        fake = await startHeldSymbolDouble(kit);
        let bought: number;
        ({ h, bought } = await startHoldingLiveEngine(kit, fake, STOP_LOSS_ON_DAY_OLD_MARKETS));
        expect(bought * 60_000).to.be.above(1_900);
        // instruments-info lists minOrderQty 0.1 (a field Bybit "no longer check[s]"); minOrderAmt stays 5
        fake.setMarketRules(BTC, { minAmount: 0.1 });
        const markets = await h!.exchange.loadMarkets(true);
        h!.orderBook.setMarkets(markets);
        expect(markets[BTC].minNotional).to.equal(5);
        // Bybit checks minOrderAmt: 0.0333 BTC × 60,000 ≫ 5 USDT sells — a position its stop-loss must watch
        expect(
          h!.orderBook.openPositions().map((p) => p.symbol),
          `minAmount read as ${markets[BTC].minAmount}`,
        ).to.deep.equal([BTC]);
      });
  });
}
