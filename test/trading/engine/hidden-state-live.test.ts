/**
 * A live start on a new state (its data dir lost, or on a mount not up yet) on an account where another install of
 * this bot traded: each exchange's recent and open orders read (Binance `allOrders`; Bybit `order/realtime` and
 * `order/history`; OKX `orders-pending` and `orders-history`, with its `Z` form of clientOrderId) shows that
 * install's orders, so entries pause until /resume while its open order is adopted as always (hidden-state.ts).
 * Real engine, real ccxt, each verified exchange's local double.
 */
import { expect } from 'chai';
import { HIDDEN_STATE_CODE, unconfirmedNewState } from '../../../src/trading/engine/start/hidden-state';
import { clientOrderIdFor } from '../../../src/trading/engine/state/trading-state';
import type { Signal } from '../../../src/trading/strategy/strategy';
import { EXCHANGE_KITS } from '../../../harness/exchanges/exchange-kits';
import type { LocalExchange } from '../../../harness/exchanges/local-exchange';
import {
  MARKET_BUY,
  ScriptedStrategy,
  TEST_INSTALL_ID,
  type EngineHarness,
} from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import { openLiveEngine, startLiveEngine, tickUntil } from '../../support/live-engine';

const BTC = 'BTC/USDT';
const ETH = 'ETH/USDT';
const ENTER: Signal = { action: 'enter-long', reason: 'test says buy' };
const OLD_INSTALL = 'old111';
const CONFIG = {
  trading: {
    mode: 'live',
    symbols: [BTC, ETH],
    risk: { stopLossPct: 0, takeProfitPct: 0, maxOpenPositions: 3 },
  },
};

for (const kit of EXCHANGE_KITS) {
  describe(`a new state where another install traded, live ${kit.profile.name} (real ccxt, local double)`, function () {
    this.timeout(30_000);
    let fake: LocalExchange | undefined;
    let h: EngineHarness | undefined;
    closeAfterEach(() => [h, fake]);
    const oldId = (n: number): string =>
      clientOrderIdFor('bot', OLD_INSTALL, n, kit.profile.clientOrderId.separator);

    it("pauses entries (none sent while the strategy signals), adopts the other install's open order", async () => {
      fake = await kit.start({ candleMs: 300, balances: { USDT: 10_000 }, symbols: [BTC, ETH] });
      fake.pinPrice(BTC, 60_000);
      fake.pinPrice(ETH, 3_000);
      // the install whose state goes missing: a resting limit buy (on ETH: a symbol with a working order asks its
      // strategy nothing, BTC's is asked) and a filled market buy
      const old = await startLiveEngine(kit, fake.url, { config: CONFIG, strategy: new ScriptedStrategy() });
      try {
        await old.files.store.commit((d) => {
          d.installId = OLD_INSTALL;
        });
        await old.manager.place({ ...MARKET_BUY, symbol: ETH, amount: 0.01, type: 'limit', price: 1_500 });
        await old.manager.place(MARKET_BUY);
        await tickUntil(old, () => old.orderBook.order(oldId(2))?.status === 'filled');
      } finally {
        // its data dir goes with it
        await old.close();
      }

      const strategy = new ScriptedStrategy();
      h = await openLiveEngine(kit, fake.url, { config: CONFIG, strategy });
      const newState = unconfirmedNewState(h.files.store.data);
      expect(newState).to.equal(true);
      const summary = await h.loop.recover({ kind: 'crash' }, undefined, { newState, dataDir: h.dir });
      expect(summary.hiddenState).to.deep.include({ installIds: [OLD_INSTALL], orders: 2, open: 1 });
      expect(summary.hiddenState!.newestAt).to.be.a('number');
      expect(summary.adopted).to.deep.equal([oldId(1)]);
      expect(h.orderBook.order(oldId(1))).to.include({ status: 'open', purpose: 'adopted' });
      expect(h.files.store.data.pause).to.include({ code: HIDDEN_STATE_CODE });
      expect(h.files.store.data.pause!.reason).to.include(`BYNINJA_DATA_DIR is ${h.dir}`);

      h.loop.enterRunning();
      strategy.next = ENTER;
      // candles close while the strategy signals: a running engine would enter on the first of them
      await tickUntil(h, () => strategy.asked.length >= 3);
      const fresh = fake.createRequests().filter((id) => id.includes(TEST_INSTALL_ID));
      expect(fresh, 'orders of the new install').to.deep.equal([]);
    });
  });
}
