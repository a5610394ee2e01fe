/**
 * Binance's cancel is answered by the matching engine (rest-api.md "Cancel order (TRADE)": "Data Source: Matching
 * Engine") with the order's final status and executedQty, while the read OrderCancel takes the outcome from, GET
 * /api/v3/order, is "Memory => Database" and may answer -2013 "Order does not exist." for an order the engine took
 * (profiles/binance.ts). Where that read lags, the order ends from the engine's answer (ExchangeTraits
 * `cancelFromEngine`; review 44i): it was left working in state, and the stop-loss or close-all that cancelled it
 * waited (or skipped the symbol) until the read caught up. Bybit's and OKX's cancel answers only acknowledge the
 * request (async-cancel-live.test.ts): there the read decides.
 *
 * Real engine, real ccxt, the Binance double: its reads do not show an order younger than `lookupLagMs`, its cancel
 * (the engine) finds it at once.
 */
import { expect } from 'chai';
import { binanceKit } from '../../../harness/exchanges/exchange-kits';
import type { LocalExchange } from '../../../harness/exchanges/local-exchange';
import { EngineHarness, ScriptedStrategy } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import { startLiveEngine } from '../../support/live-engine';

const BTC = 'BTC/USDT';

describe('a Binance cancel answered CANCELED by the matching engine while the read after it lags (review 44i)', function () {
  this.timeout(30_000);
  let fake: LocalExchange | undefined;
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h, fake]);

  it('ends the order from the engine answer, not left working while GET /api/v3/order answers -2013', async () => {
    // the reads miss an order for 5 s after it was taken: well past this test's cancel
    fake = await binanceKit.start({ candleMs: 300, balances: { USDT: 10_000 }, lookupLagMs: 5_000 });
    fake.pinPrice(BTC, 60_000);
    h = await startLiveEngine(binanceKit, fake.url, {
      config: { trading: { mode: 'live', symbols: [BTC] } },
      strategy: new ScriptedStrategy(),
    });
    const order = await h.manager.place({
      symbol: BTC,
      side: 'buy',
      type: 'limit',
      amount: 0.001,
      price: 30_000,
      purpose: 'entry',
    });
    expect(order.status).to.equal('open');
    // as the tick cancels before an exit: no waits, the one read after the cancel
    const after = await h.orders.canceller.cancel(order.clientOrderId);
    // the exchange cancelled it, and its read still does not show it
    expect(fake.orderClientIds()).to.include(order.clientOrderId);
    expect(after.status, 'the matching engine answered CANCELED').to.equal('cancelled');
    expect(h.orderBook.order(order.clientOrderId)!.status).to.equal('cancelled');
  });
});
