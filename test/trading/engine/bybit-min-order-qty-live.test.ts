/**
 * Review 44a. Bybit v5 spot instruments-info, lotSizeFilter (github.com/bybit-exchange/docs,
 * docs/v5/market/instrument.mdx line 326, since 2025-10-24): "minOrderQty — Minimum order quantity, deprecated, no
 * longer check `minOrderQty`, check `minOrderAmt` instead". ccxt 4.5.84 still reads minOrderQty as
 * `limits.amount.min` (node_modules/ccxt/js/src/bybit.js fetchSpotMarkets), the adapter takes it as every order's
 * minimum (ccxt-exchange.ts toMarket `minAmount`), and precision.ts sellableByExits (risk.ts isOpenPosition) judges a
 * holding below it no position: no stop-loss, not in maxOpenPositions, told "unsellable" and offered for /writeoff —
 * a holding Bybit sells (worth far above minOrderAmt). The Bybit double (fake-bybit.ts createOrder) refuses 170136
 * below minOrderQty, as the docs said before: stricter than Bybit, so the live tests agree with the bot.
 *
 * Real engine, real ccxt, Bybit double, real clock.
 */
import { expect } from 'chai';
import { bybitKit } from '../../../harness/exchanges/exchange-kits';
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

describe("Bybit's deprecated minOrderQty (real ccxt, Bybit double)", function () {
  this.timeout(60_000);
  let fake: LocalExchange | undefined;
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h, fake]);

  it('a holding worth 2,000 USDT (minOrderAmt 5) stays a position whatever minOrderQty lists', async () => {
    fake = await startHeldSymbolDouble(bybitKit);
    let bought: number;
    ({ h, bought } = await startHoldingLiveEngine(bybitKit, fake, STOP_LOSS_ON_DAY_OLD_MARKETS));
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
