/**
 * Bybit's `minOrderQty` is no minimum any more (review 44a). Bybit v5 spot instruments-info, lotSizeFilter
 * (github.com/bybit-exchange/docs, docs/v5/market/instrument.mdx, since 2025-10-24): "minOrderQty — Minimum order
 * quantity, deprecated, no longer check `minOrderQty`, check `minOrderAmt` instead". ccxt 4.5.84 still reads it as
 * `limits.amount.min`; the adapter took that as every order's minimum (ccxt-exchange.ts toMarket `minAmount`), so
 * precision.ts sellableByExits (risk.ts isOpenPosition) judged a holding below it no position — no stop-loss, told
 * unsellable and offered for /writeoff — which Bybit sells (worth far above minOrderAmt). The Bybit minimum is now
 * one `basePrecision` step (order-maximums.ts minimumAmount) and its value `minOrderAmt`; the double checks no
 * quantity minimum, as Bybit.
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
