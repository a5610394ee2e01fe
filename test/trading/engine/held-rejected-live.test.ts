/**
 * What recovery takes from the exchange's open and recent orders for an order state holds otherwise. Orders of ours
 * that state holds as rejected — refused on their create's answer (an answer read as a refusal while
 * the exchange took the order: review 29), or declared never placed — that the exchange has after all: recovery and
 * the operator's reconcile take them back from the exchange's answer, so the position and the stop-loss follow and
 * the next entry does not buy again. An order in doubt the open list shows as state holds it is in doubt no more.
 * Real engine, real ccxt, each verified exchange's local double.
 */
import { expect } from 'chai';
import { reconcileWithExchange } from '../../../src/trading/engine/start/reconcile';
import { clientOrderIdFor } from '../../../src/trading/engine/state/trading-state';
import type { LocalOrder } from '../../../src/trading/engine/orders/order-state';
import { EXCHANGE_KITS } from '../../../harness/exchanges/exchange-kits';
import type { LocalExchange } from '../../../harness/exchanges/local-exchange';
import { EngineHarness, ScriptedStrategy, TEST_INSTALL_ID } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import { withOverrides } from '../../support/exchange-overrides';
import { startLiveEngine } from '../../support/live-engine';

const BTC = 'BTC/USDT';
const CONFIG = {
  trading: {
    mode: 'live',
    symbols: [BTC],
    risk: { stopLossPct: 2, takeProfitPct: 0 },
    orders: { unknownNotFoundMisses: 3, unknownNotFoundWindowMs: 1_000, createTimeoutMs: 800 },
  },
};

for (const kit of EXCHANGE_KITS) {
  describe(`orders held as rejected that ${kit.profile.name} has (real ccxt, local double)`, function () {
    this.timeout(30_000);
    let fake: LocalExchange | undefined;
    let h: EngineHarness | undefined;
    closeAfterEach(() => [h, fake]);
    const id = (n: number): string =>
      clientOrderIdFor('bot', TEST_INSTALL_ID, n, kit.profile.clientOrderId.separator);

    /** Hides every order from the recent orders read while set (Bybit's order history "may delay"). */
    let hideRecent = false;
    let lookups: string[] = [];

    /** A resting limit buy (id 1) and a filled market buy (id 2), placed through the engine. */
    async function twoOrders(): Promise<void> {
      hideRecent = false;
      lookups = [];
      fake = await kit.start({ candleMs: 300, balances: { USDT: 10_000, BTC: 1 } });
      fake.pinPrice(BTC, 60_000);
      h = await startLiveEngine(kit, fake.url, {
        config: CONFIG,
        strategy: new ScriptedStrategy(),
        wrapAdapter: (adapter) =>
          withOverrides(adapter, {
            fetchRecentOrders: async (symbol) => (hideRecent ? [] : adapter.fetchRecentOrders(symbol)),
            fetchOrderByClientId: (clientOrderId, symbol, since) => {
              lookups.push(clientOrderId);
              return adapter.fetchOrderByClientId(clientOrderId, symbol, since);
            },
          }),
      });
      const resting = await h.manager.place({
        symbol: BTC,
        side: 'buy',
        type: 'limit',
        amount: 0.001,
        price: 30_000,
        purpose: 'entry',
      });
      expect(resting).to.include({ clientOrderId: id(1), status: 'open' });
      await h.manager.place({ symbol: BTC, side: 'buy', type: 'market', amount: 0.001, purpose: 'entry' });
      for (let i = 0; i < 40 && h.orderBook.order(id(2))!.fills.length === 0; i++) await h.loop.tick();
      expect(h.orderBook.order(id(2))).to.include({ status: 'filled' });
    }

    /** What state would hold had each create's answer been read as a refusal: nothing placed, nothing filled. */
    async function holdAsRefused(h: EngineHarness, ids: string[]): Promise<void> {
      await h.files.store.commit((d) => {
        for (const clientOrderId of ids) {
          const o = d.orders[clientOrderId] as LocalOrder;
          d.orders[clientOrderId] = {
            ...o,
            status: 'rejected',
            refused: true,
            error: `${kit.id}: the create's answer read as a refusal`,
            exchangeOrderId: undefined,
            filled: 0,
            averagePrice: undefined,
            fills: [],
          };
        }
      });
    }

    const position = (): number => h!.orderBook.positions()[BTC]?.amount ?? 0;

    it("recovery takes back a working one (open list) and a filled one (recent orders): status, fills and position are the exchange's, alerted once each", async () => {
      await twoOrders();
      const held = position();
      h = await h!.restart();
      await holdAsRefused(h, [id(1), id(2)]);
      expect(position()).to.equal(0);
      const summary = await h.loop.recover({ kind: 'clean' });
      expect(h.orderBook.order(id(1))).to.include({ status: 'open', filled: 0 });
      expect(h.orderBook.order(id(1))!.refused).to.equal(undefined);
      expect(h.orderBook.order(id(2))).to.include({ status: 'filled', filled: 0.001 });
      expect(position()).to.be.closeTo(held, 1e-12);
      expect(position()).to.be.closeTo(fake!.balance('BTC') - 1, 1e-12);
      expect(summary.changedWhileDown).to.deep.include.members([
        { clientOrderId: id(1), from: 'rejected', to: 'open' },
        { clientOrderId: id(2), from: 'rejected', to: 'filled' },
      ]);
      const taken = h.events.filter((e) => e.type === 'order.taken_back');
      expect(taken.map((e) => e.data.clientOrderId).sort()).to.deep.equal([id(1), id(2)].sort());
      for (const e of taken)
        expect(e.summary).to.match(/was recorded refused \(.*\), but the exchange has it/);
      // a second start books nothing twice
      const fills = h.orderBook.order(id(2))!.fills.length;
      const lastSeq = Math.max(...h.events.map((e) => e.seq));
      h = await h.restart();
      const again = await h.loop.recover({ kind: 'clean' });
      expect(again.changedWhileDown).to.deep.equal([]);
      expect(again.newFills).to.equal(0);
      expect(h.orderBook.order(id(2))!.fills).to.have.length(fills);
      expect(h.events.filter((e) => e.type === 'order.taken_back' && e.seq > lastSeq)).to.deep.equal([]);
      expect(fake!.createRequests()).to.deep.equal([id(1), id(2)]);
    });

    it("recovery looks up one held refused that the recent orders read missed (a lagging history): taken back, the position the exchange's", async () => {
      await twoOrders();
      const held = position();
      h = await h!.restart();
      await holdAsRefused(h, [id(2)]);
      hideRecent = true;
      lookups = [];
      const summary = await h.loop.recover({ kind: 'clean' });
      expect(lookups).to.deep.equal([id(2)]);
      expect(h.orderBook.order(id(2))).to.include({ status: 'filled', filled: 0.001 });
      expect(summary.changedWhileDown).to.deep.include({
        clientOrderId: id(2),
        from: 'rejected',
        to: 'filled',
      });
      expect(position()).to.be.closeTo(held, 1e-12);
      expect(
        h.events.filter((e) => e.type === 'order.taken_back').map((e) => e.data.clientOrderId),
      ).to.deep.equal([id(2)]);
    });

    it('recovery never looks up one refused unsent (the rate-limit gate held it): the exchange cannot have it', async () => {
      await twoOrders();
      h = await h!.restart();
      await holdAsRefused(h, [id(2)]);
      await h.files.store.commit((d) => {
        d.orders[id(2)] = { ...(d.orders[id(2)] as LocalOrder), neverSent: true };
      });
      hideRecent = true;
      lookups = [];
      await h.loop.recover({ kind: 'clean' });
      expect(lookups).to.deep.equal([]);
      expect(h.orderBook.order(id(2))).to.include({ status: 'rejected' });
    });

    it("recovery ends the doubt of an order in doubt that the exchange's open list shows as state holds it", async () => {
      await twoOrders();
      h = await h!.restart();
      const at = Date.now() - 60_000;
      await h.files.store.commit((d) => {
        // no longer shown for a day (absent-orders.ts), in doubt; now listed again, as state holds it
        d.orders[id(1)] = { ...(d.orders[id(1)] as LocalOrder), inDoubtAt: at, inDoubtToldAt: at };
      });
      expect(h.loop.inDoubtOrders().map((o) => o.clientOrderId)).to.deep.equal([id(1)]);
      await h.loop.recover({ kind: 'clean' });
      expect(h.orderBook.order(id(1))).to.include({
        status: 'open',
        inDoubtAt: undefined,
        inDoubtToldAt: undefined,
      });
      expect(h.stateFile().orders[id(1)]).to.not.have.property('inDoubtAt');
      expect(h.loop.inDoubtOrders()).to.deep.equal([]);
    });

    it('reconcile takes back, while running, a working one state holds as refused; one state holds live is untouched', async () => {
      await twoOrders();
      await holdAsRefused(h!, [id(1)]);
      const live = h!.orderBook.order(id(2))!;
      const differences = await reconcileWithExchange(h!.orders, h!.exchange);
      expect(differences.map((d) => [d.kind, d.clientOrderId])).to.deep.equal([
        ['order-unknown-locally', id(1)],
      ]);
      expect(differences[0].detail).to.match(/held as rejected: taken back \(open\)/);
      expect(h!.orderBook.order(id(1))).to.include({ status: 'open' });
      expect(h!.orderBook.order(id(2))).to.deep.equal(live);
      expect(h!.events.filter((e) => e.type === 'order.taken_back')).to.have.length(1);
      // nothing left to differ
      expect(await reconcileWithExchange(h!.orders, h!.exchange)).to.deep.equal([]);
    });
  });
}
