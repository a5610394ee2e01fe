/**
 * A MARKET order Binance fills in part and EXPIRES, the book exhausted (enums.md, order status EXPIRED: "LIMIT IOC
 * or MARKET orders that partially fill"; ccxt 'expired' with `filled` > 0) — real ccxt, the Binance double. The
 * filled part is booked from the trade list, and the stop-loss sells the rest on a later tick: the position is exited
 * whole, never sold beyond what the bot bought.
 */
import { expect } from 'chai';
import { binanceKit } from '../../../harness/exchanges/exchange-kits';
import type { FakeBinance } from '../../../harness/exchanges/fake-binance';
import type { LocalExchange } from '../../../harness/exchanges/local-exchange';
import { HOLD, type Signal } from '../../../src/trading/strategy/strategy';
import { ScriptedStrategy, type EngineHarness } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import { openLiveEngine, tickUntil } from '../../support/live-engine';

const BTC = 'BTC/USDT';
const ENTER: Signal = { action: 'enter-long', reason: 'test says buy' };

describe('a MARKET order filled in part, then EXPIRED (real ccxt, Binance double)', function () {
  this.timeout(60_000);
  let fake: LocalExchange | undefined;
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h, fake]);

  it("books the stop-loss's filled part and sells the rest on a later tick, no more than the bot bought", async () => {
    fake = await binanceKit.start({ candleMs: 300, balances: { USDT: 10_000, BTC: 0.5 } });
    const strategy = new ScriptedStrategy();
    h = await openLiveEngine(binanceKit, fake.url, {
      config: {
        trading: {
          mode: 'live',
          symbols: [BTC],
          risk: { stopLossPct: 2, takeProfitPct: 0 },
          orders: { unknownNotFoundMisses: 3, unknownNotFoundWindowMs: 1_000, createTimeoutMs: 800 },
        },
      },
      strategy,
    });
    await h.loop.recover({ kind: 'first-start' });
    h.loop.enterRunning();
    strategy.next = ENTER;
    await tickUntil(h, () => (h!.manager.positions()[BTC]?.amount ?? 0) > 0);
    strategy.next = HOLD;
    const held = h.manager.positions()[BTC]!.amount;
    const entry = h.manager.openPositions()[0];
    const half = Number((held / 2).toFixed(5));
    (fake as FakeBinance).thinBookOnce(BTC, half);
    fake.pinPrice(BTC, Number(((entry.costBasis / entry.amount) * 0.95).toFixed(2)));
    await tickUntil(h, () => h!.manager.hotOrders((o) => o.purpose === 'stop-loss').length > 0);
    const first = h.manager.hotOrders((o) => o.purpose === 'stop-loss')[0];
    await tickUntil(h, () => (h!.manager.positions()[BTC]?.amount ?? held) < held);
    expect(h.manager.order(first.clientOrderId)).to.include({ status: 'expired', filled: half });
    // the rest goes on a later stop-loss: the position ends, and the owner's 0.5 BTC is untouched
    await tickUntil(h, () => h!.manager.openPositions().length === 0, 100);
    const sold = fake
      .trades(BTC)
      .filter((t) => t.side === 'sell')
      .reduce((sum, t) => sum + t.qty, 0);
    // whole amount steps of what the bot's fills hold (the buy's fee in BTC leaves dust below one step)
    expect(sold).to.be.at.most(held + 1e-12);
    expect(held - sold).to.be.lessThan(1e-5);
    expect(h.manager.positions()[BTC]?.amount ?? 0).to.be.closeTo(held - sold, 1e-9);
  });
});
