import { expect } from 'chai';
import type { LocalOrder } from '../../../src/trading/engine/orders/order-state';
import { EngineHarness, orderId } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';

const LAST_EXIT = { kind: 'crash' as const, reason: 'test' };
const BTC = 'BTC/USDT';

/**
 * Recovery skips an order the exchange's open list shows exactly as state has it (same status, filled amount and
 * exchange id, fills complete): a pass over 1,000 resting orders makes no call for them. Each test here starts
 * recovery with an order that differs from its listed view in ONE of those, and fails when the skip check (or
 * changedByExchange, which applyRemote shares with it) stops looking at it: the fill is not applied, the exchange
 * id not learnt, the missing fills not synced.
 */
describe('startup recovery: the skip check for orders the open list shows as state has them (integration)', function () {
  this.timeout(20_000);
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h]);

  /**
   * A limit buy placed through the manager, worth ten partial-fill slices and marketable (its first slice filled
   * at once): open on the paper exchange, partially filled in state with its fill recorded.
   */
  async function partlyFilledBuy(): Promise<LocalOrder> {
    h = await EngineHarness.open({ config: { trading: { paper: { partialFillNotional: 100 } } } });
    await h.loop.recover(LAST_EXIT);
    h.manager.startAccepting();
    const ask = (await h.paper.fetchTicker(BTC)).ask;
    const price = Math.round(ask * 1.02 * 100) / 100;
    const amount = Math.round((1_000 / price) * 1e5) / 1e5;
    const placed = await h.manager.place({
      symbol: BTC,
      side: 'buy',
      type: 'limit',
      amount,
      price,
      purpose: 'entry',
    });
    expect(placed).to.include({ status: 'partially_filled' });
    expect(placed.fills).to.have.length(1);
    return placed;
  }

  async function rewriteOrder(id: string, change: (o: LocalOrder) => LocalOrder): Promise<void> {
    await h!.files.store.commit((d) => {
      d.orders[id] = change(d.orders[id]);
    });
  }

  /** The paper exchange's own record of the order (as the exchange has it: the truth recovery must reach). */
  async function onExchange(o: LocalOrder): Promise<{ filled: number; trades: number; id: string }> {
    const remote = await h!.paper.fetchOrderByClientId(o.clientOrderId, BTC);
    return { filled: remote.filled, trades: remote.trades!.length, id: remote.id };
  }

  it('applies the slices that filled while down to an order the open list still shows partially filled (its filled amount moved, its status did not)', async () => {
    const placed = await partlyFilledBuy();
    for (let i = 0; i < 4; i += 1) await h!.nextCandle();
    h = await h!.restart();
    const truth = await onExchange(placed);
    expect(truth.filled, 'more slices filled while trading was down').to.be.greaterThan(placed.filled);
    expect(
      (await h.paper.fetchOpenOrders(BTC)).map((o) => o.id),
      'and it is still open',
    ).to.deep.equal([truth.id]);

    const summary = await h.loop.recover(LAST_EXIT);
    const order = h.orderBook.order(placed.clientOrderId)!;
    expect(order).to.include({ status: 'partially_filled', filled: truth.filled });
    expect(order.fills).to.have.length(truth.trades);
    expect(summary.newFills).to.equal(truth.trades - 1);
    expect(h.orderBook.positions()[BTC].amount).to.be.closeTo(truth.filled, 1e-12);
  });

  it('syncs the fills of an order whose status was committed but whose fills were not (died between the two commits)', async () => {
    const placed = await partlyFilledBuy();
    // applyRemote commits the status and filled amount first, then fetches and commits the fills
    await rewriteOrder(placed.clientOrderId, (o) => ({ ...o, fills: [] }));
    h = await h!.restart();
    const summary = await h.loop.recover(LAST_EXIT);
    const order = h.orderBook.order(placed.clientOrderId)!;
    expect(order.fills.map((x) => x.amount)).to.deep.equal([placed.filled]);
    expect(summary.newFills).to.equal(1);
    expect(h.orderBook.positions()[BTC].amount).to.be.closeTo(placed.filled, 1e-12);
  });

  it('moves an order state has as open, with its fill recorded, to partially filled as the exchange lists it (only its status differs)', async () => {
    const placed = await partlyFilledBuy();
    await rewriteOrder(placed.clientOrderId, (o) => ({ ...o, status: 'open' }));
    h = await h!.restart();
    const summary = await h.loop.recover(LAST_EXIT);
    expect(h.orderBook.order(placed.clientOrderId)).to.include({
      status: 'partially_filled',
      filled: placed.filled,
    });
    expect(summary.changedWhileDown).to.deep.equal([
      { clientOrderId: placed.clientOrderId, from: 'open', to: 'partially_filled' },
    ]);
  });

  it('learns the exchange id of an open order state has without one (found by its clientOrderId, nothing else differs)', async () => {
    h = await EngineHarness.open();
    await h.loop.recover(LAST_EXIT);
    const id = orderId(1);
    const price = Math.round((await h.paper.fetchTicker(BTC)).last * 0.5);
    const resting = await h.paper.createOrder({
      symbol: BTC,
      side: 'buy',
      type: 'limit',
      amount: 0.001,
      price,
      clientOrderId: id,
    });
    const at = h.clock.now();
    await h.files.store.commit((d) => {
      d.seq = 1;
      d.orders[id] = {
        clientOrderId: id,
        symbol: BTC,
        side: 'buy',
        type: 'limit',
        price,
        amount: 0.001,
        filled: 0,
        status: 'open',
        purpose: 'entry',
        createdAt: at,
        updatedAt: at,
        sentAt: at,
        fills: [],
      };
    });
    h = await h.restart();
    await h.loop.recover(LAST_EXIT);
    expect(h.orderBook.order(id)).to.include({ status: 'open', exchangeOrderId: resting.id });
    // with its id it is found in the open list (and cancelled) like any other
    expect(await h.orders.canceller.cancel(id)).to.include({ status: 'cancelled' });
  });

  it('fetches and applies an order that filled while down, which the open list no longer shows', async () => {
    const placed = await partlyFilledBuy();
    for (let i = 0; i < 20; i += 1) await h!.nextCandle();
    h = await h!.restart();
    const truth = await onExchange(placed);
    const summary = await h.loop.recover(LAST_EXIT);
    expect(h.orderBook.order(placed.clientOrderId)).to.include({
      status: 'filled',
      filled: truth.filled,
    });
    expect(summary.changedWhileDown).to.deep.equal([
      { clientOrderId: placed.clientOrderId, from: 'partially_filled', to: 'filled' },
    ]);
  });
});
