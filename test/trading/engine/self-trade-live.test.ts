/**
 * An order the exchange's self-trade prevention ends (real ccxt, the Binance double): Binance expires a stop-loss's
 * market sell that would have traded against a resting buy of the same account (EXPIRE_TAKER: status
 * EXPIRED_IN_MATCH, ccxt 'expired'). The operator is told that cause, once, and what to do — not a bare "expired".
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

describe("self-trade prevention ends the bot's order (real ccxt, Binance double)", function () {
  this.timeout(60_000);
  let fake: LocalExchange | undefined;
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h, fake]);

  it("tells the operator once that the account's own order stood in the way, and what to do", async () => {
    fake = await binanceKit.start({ candleMs: 300, balances: { USDT: 10_000, BTC: 0 } });
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
    await tickUntil(h, () => (h!.orderBook.positions()[BTC]?.amount ?? 0) > 0);
    strategy.next = HOLD;
    const entry = h.orderBook.openPositions()[0];
    const price = Number(((entry.costBasis / entry.amount) * 0.95).toFixed(2));
    (fake as FakeBinance).expireNextInMatch(BTC, 'EXPIRE_TAKER');
    fake.pinPrice(BTC, price);
    const selfTrade = (): number => h!.events.filter((e) => e.type === 'order.self_trade').length;
    await tickUntil(h, () => selfTrade() === 1);
    const stop = h.orderBook.hotOrders((o) => o.purpose === 'stop-loss')[0];
    expect(stop).to.include({ status: 'expired', filled: 0 });
    expect(stop.selfTrade).to.equal('EXPIRED_IN_MATCH, selfTradePreventionMode EXPIRE_TAKER');
    const told = h.events.find((e) => e.type === 'order.self_trade')!;
    expect(told.summary).to.include("Order expired by the exchange's self-trade prevention");
    expect(told.summary).to.include("Cancel the account's own buy order on BTC/USDT");
    expect(told.data).to.include({ clientOrderId: stop.clientOrderId, selfTrade: stop.selfTrade });
    // one alert for it: no generic "Order expired" beside it
    const cancelled = h.events.filter((e) => e.type === 'order.cancelled');
    expect(cancelled.map((e) => e.data.clientOrderId)).to.not.include(stop.clientOrderId);
    // the stop-loss is tried again after its backoff (the owner's order is gone now): the position is sold
    await tickUntil(h, () => h!.orderBook.openPositions().length === 0, 100);
    expect(selfTrade()).to.equal(1);
  });
});
