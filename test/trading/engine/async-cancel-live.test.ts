/**
 * A cancel the exchange acknowledges before it carries it out (review 44e). Bybit cancel-order.mdx: "The
 * acknowledgement of an cancel order request indicates that the request was sucessfully accepted. This request is
 * asynchronous so please use the websocket to confirm the order status."; OKX's cancel: sCode 0 "only means that your
 * cancellation request has been accepted". The read right after the answer may still show the order working: an
 * accepted cancel's order is read again a few times (order-cancel.ts CANCEL_SETTLE_WAITS_MS) before it is taken as
 * working. Before, the cancel returned it working and close-all (close-all.ts settleOrders) skipped the symbol, "still
 * open after the cancel": the position behind a resting take-profit was not sold until close-all was asked again.
 * Each double acknowledges the cancel and carries it out `cancelLagMs` later (its reads show the order as it was
 * meanwhile; a second cancel is refused, Bybit 170212, OKX 51410).
 * Real engine, real ccxt, the local Bybit and OKX doubles.
 */
import { expect } from 'chai';
import { bybitKit, okxKit } from '../../../harness/exchanges/exchange-kits';
import type { FakeBybit } from '../../../harness/exchanges/fake-bybit';
import type { FakeOkx } from '../../../harness/exchanges/fake-okx';
import type { ExchangeKit } from '../../../harness/exchanges/local-exchange';
import { floorToStep } from '../../../src/trading/exchange/precision';
import type { EngineHarness } from '../../support/engine-harness';
import { ScriptedStrategy } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import { startLiveEngine, tickUntil } from '../../support/live-engine';

const BTC = 'BTC/USDT';

for (const kit of [bybitKit, okxKit] as ExchangeKit[]) {
  describe(`${kit.id} acknowledges a cancel before it carries it out (real ccxt, local double)`, function () {
    this.timeout(40_000);
    let fake: FakeBybit | FakeOkx | undefined;
    let h: EngineHarness | undefined;
    closeAfterEach(() => [h, fake]);

    /** Whether the exchange shows the order with this clientOrderId cancelled. */
    const cancelledOnExchange = (id: string): boolean =>
      kit.id === 'bybit'
        ? (fake as FakeBybit).ordersByLinkId(id)[0]?.orderStatus === 'Cancelled'
        : (fake as FakeOkx).ordersByClientId(id)[0]?.state === 'canceled';

    async function positionWithRestingTakeProfit(): Promise<{ tp: string; held: number }> {
      fake = (await kit.start({ candleMs: 300, balances: { USDT: 10_000 } })) as FakeBybit | FakeOkx;
      fake.pinPrice(BTC, 60_000);
      h = await startLiveEngine(kit, fake.url, {
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
      expect(cancelledOnExchange(tp)).to.equal(true);
      expect(result.skipped, JSON.stringify(result.skipped)).to.deep.equal([]);
      expect(h!.orderBook.openPositions()).to.deep.equal([]);
    });

    it('a cancel the exchange has acknowledged is not reported as the order still working when the read-back lags', async () => {
      const { tp } = await positionWithRestingTakeProfit();
      fake!.cancelLagMs = 300;
      const after = await h!.orders.canceller.cancel(tp, { settle: true });
      // the cancel was accepted: the order is cancelled on the exchange 300 ms later
      await new Promise((r) => setTimeout(r, 400));
      expect(cancelledOnExchange(tp)).to.equal(true);
      expect(after.status).to.equal('cancelled');
    });
  });
}
