/**
 * Review 44e: Bybit's cancel is asynchronous (docs/v5/order/cancel-order.mdx: "The acknowledgement of an cancel order
 * request indicates that the request was sucessfully accepted. This request is asynchronous so please use the
 * websocket to confirm the order status."). The cancel's read-back (order-cancel.ts) can then still show the order
 * New: the cancel returns it working, nothing thrown. Close-all (close-all.ts settleOrders) takes that as "still open
 * after the cancel" and skips the symbol: the position behind a resting take-profit is not sold — the operator's
 * emergency sale does nothing there until it is asked again. The double acknowledges the cancel and carries it out
 * `cancelLagMs` later (its reads show the order as it was meanwhile; a second cancel answers 170212).
 * Real engine, real ccxt, the local Bybit double.
 */
import { expect } from 'chai';
import { bybitKit } from '../../../harness/exchanges/exchange-kits';
import type { FakeBybit } from '../../../harness/exchanges/fake-bybit';
import { floorToStep } from '../../../src/trading/exchange/precision';
import type { EngineHarness } from '../../support/engine-harness';
import { ScriptedStrategy } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import { startLiveEngine, tickUntil } from '../../support/live-engine';

const BTC = 'BTC/USDT';

describe('review 44e: Bybit acknowledges a cancel before it carries it out (real ccxt, local double)', function () {
  this.timeout(40_000);
  let fake: FakeBybit | undefined;
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h, fake]);

  async function positionWithRestingTakeProfit(): Promise<{ tp: string; held: number }> {
    fake = (await bybitKit.start({ candleMs: 300, balances: { USDT: 10_000 } })) as FakeBybit;
    fake.pinPrice(BTC, 60_000);
    h = await startLiveEngine(bybitKit, fake.url, {
      config: { trading: { mode: 'live', symbols: [BTC] } },
      strategy: new ScriptedStrategy(),
    });
    const entry = await h.manager.place({
      symbol: BTC,
      side: 'buy',
      type: 'market',
      amount: 0.002,
      purpose: 'entry',
    });
    await tickUntil(h, () => h!.orderBook.order(entry.clientOrderId)!.status === 'filled');
    const held = h.orderBook.positions()[BTC]!.amount;
    expect(held).to.be.above(0.0019);
    const tp = await h.manager.place({
      symbol: BTC,
      side: 'sell',
      type: 'limit',
      amount: floorToStep(held, h.orderBook.markets[BTC].amountStep),
      price: 70_000,
      purpose: 'take-profit',
    });
    expect(tp.status).to.equal('open');
    return { tp: tp.clientOrderId, held };
  }

  it('close-all cancels the resting take-profit and sells the position (cancel carried out 300 ms after its answer)', async () => {
    const { tp } = await positionWithRestingTakeProfit();
    fake!.cancelLagMs = 300;
    const result = await h!.loop.closeAll();
    // the exchange did cancel the take-profit
    await new Promise((r) => setTimeout(r, 400));
    expect(fake!.ordersByLinkId(tp)[0]!.orderStatus).to.equal('Cancelled');
    expect(result.skipped, JSON.stringify(result.skipped)).to.deep.equal([]);
    expect(h!.orderBook.openPositions()).to.deep.equal([]);
  });

  it('a cancel Bybit has acknowledged is not reported as the order still working when the read-back lags', async () => {
    const { tp } = await positionWithRestingTakeProfit();
    fake!.cancelLagMs = 300;
    const after = await h!.orders.canceller.cancel(tp);
    // the cancel was accepted: the order is cancelled on Bybit 300 ms later
    await new Promise((r) => setTimeout(r, 400));
    expect(fake!.ordersByLinkId(tp)[0]!.orderStatus).to.equal('Cancelled');
    expect(after.status).to.equal('cancelled');
  });
});
