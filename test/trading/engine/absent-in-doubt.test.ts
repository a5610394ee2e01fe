/**
 * An acknowledged order the exchange no longer shows that its reads can never settle (its trades beyond the trade
 * history's reach): in doubt with one `order.in_doubt` alert, listed by /settle as `absent`, settled by the operator
 * (the symbol free again, the pause it caused lifted) — or in doubt no more when a lookup shows it again. The real
 * engine against the paper exchange (fake clock), whose reads hide the order.
 */
import { expect } from 'chai';
import { HISTORY_EDGE_MS } from '../../../src/trading/engine/orders/absent-order';
import { pauseSummary } from '../../../src/trading/engine/operator/pause-causes';
import { SafeStrategy } from '../../../src/trading/strategy/safe-strategy';
import { EngineHarness, ScriptedStrategy } from '../../support/engine-harness';
import { withOverrides } from '../../support/exchange-overrides';
import { hiddenOrderReads } from '../../support/hidden-order';
import { closeAfterEach } from '../../support/close-after-each';

const ID = 'bot-tst000-1';

describe('an order the exchange no longer shows and its reads cannot settle (engine, paper exchange)', function () {
  this.timeout(20_000);
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h]);
  const hidden = { on: false };
  /** While the order is hidden, whether its symbol's open-orders list hides it too. */
  const listHidden = { on: true };

  /** A resting limit buy the exchange then stops showing, its trade history reaching back only a second past a day. */
  async function absentBeyondReach(): Promise<EngineHarness> {
    hidden.on = false;
    listHidden.on = true;
    h = await EngineHarness.open({
      // a resting order whose time to live does not cancel it meanwhile
      config: {
        trading: { risk: { stopLossPct: 0, takeProfitPct: 0 }, orders: { limitOrderTtlMs: 86_400_000 } },
      },
      strategy: new SafeStrategy(new ScriptedStrategy()),
      wrapExchange: (paper) => {
        return withOverrides(paper, {
          traits: { ...paper.traits, tradeHistoryReachMs: HISTORY_EDGE_MS + 1_000 },
          ...hiddenOrderReads(paper, ID, hidden, { listHidden }),
        });
      },
    });
    await h.loop.recover({ kind: 'first-start' });
    h.loop.enterRunning();
    const price = (await h.paper.fetchTicker('BTC/USDT')).last;
    await h.manager.place({
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'limit',
      price: Math.round(price * 0.5),
      amount: 0.001,
      purpose: 'entry',
    });
    hidden.on = true;
    // past the not-found window and the trade history's reach (a second past a day): misses settle nothing
    await h.fakeClock().advance(2_000, 500);
    for (let i = 0; i < 4; i++) {
      await h.loop.tick();
      await h.fakeClock().advance(500, 500);
    }
    return h;
  }

  it('goes in doubt once (alert, /settle lists it as absent); the operator settles it and the symbol is free', async () => {
    const h = await absentBeyondReach();
    const order = h.orderBook.order(ID)!;
    expect(order.status).to.equal('open');
    expect(order.inDoubtAt).to.be.a('number');
    const alerts = h.events.filter((e) => e.type === 'order.in_doubt');
    expect(alerts).to.have.length(1);
    expect(alerts[0].summary).to.match(/no longer shown by the exchange .* beyond the 1 days/);
    expect(alerts[0].summary).to.include(`/settle ${ID} none`);
    const listed = h.loop.inDoubtOrders();
    expect(listed.map((o) => [o.clientOrderId, o.ended])).to.deep.equal([[ID, 'absent']]);
    expect(listed[0].filledOnly, 'nothing filled: "none" settles it too').to.equal(undefined);
    expect(h.loop.pause, 'entries paused by the order not settled').to.not.equal(null);
    // /status shows the pause's reason: it says the operator may settle it, and how
    expect(pauseSummary(h.loop.pause!))
      .to.include(`in doubt: you may settle it`)
      .and.include(`/settle ${ID} none`);
    // more tries: no second alert
    for (let i = 0; i < 3; i++) {
      await h.fakeClock().advance(60_000, 60_000);
      await h.loop.tick();
    }
    expect(h.events.filter((e) => e.type === 'order.in_doubt')).to.have.length(1);

    const d = await h.loop.settleOrder({ clientOrderId: ID, outcome: 'not-carried-out' });
    expect(d.ok, !d.ok ? d.refusal : '').to.equal(true);
    expect(h.orderBook.order(ID)).to.include({ status: 'cancelled', filled: 0 });
    expect(h.orderBook.order(ID)!.inDoubtAt).to.equal(undefined);
    expect(h.loop.inDoubtOrders()).to.deep.equal([]);
    await h.fakeClock().advance(60_000, 60_000);
    await h.loop.tick();
    expect(h.loop.pause, 'the pause it caused lifted').to.equal(null);
    expect(h.eventTypes()).to.include('trading.resumed');
  });

  it('is in doubt no more when a lookup shows it again: its answer stands, nothing to settle', async () => {
    const h = await absentBeyondReach();
    expect(h.orderBook.order(ID)!.inDoubtAt).to.be.a('number');
    hidden.on = false;
    await h.fakeClock().advance(1_000, 500);
    await h.loop.tick();
    expect(h.orderBook.order(ID)!.status).to.equal('open');
    expect(h.orderBook.order(ID)!.inDoubtAt).to.equal(undefined);
    expect(h.loop.inDoubtOrders()).to.deep.equal([]);
    const d = await h.loop.settleOrder({ clientOrderId: ID, outcome: 'not-carried-out' });
    expect(!d.ok && d.refusal).to.match(/its own answers settle it/);
  });

  it('is in doubt no more once its open-orders list shows it again, its lookups still missing (review 29b)', async () => {
    const h = await absentBeyondReach();
    expect(h.orderBook.order(ID)!.inDoubtAt).to.be.a('number');
    listHidden.on = false;
    for (let i = 0; i < 4; i++) {
      await h.fakeClock().advance(60_000, 60_000);
      await h.loop.tick();
    }
    expect(h.orderBook.order(ID)!.status).to.equal('open');
    expect(h.orderBook.order(ID)!.inDoubtAt, 'no longer in doubt while the exchange lists it').to.equal(
      undefined,
    );
    expect(h.loop.inDoubtOrders()).to.deep.equal([]);
    const d = await h.loop.settleOrder({ clientOrderId: ID, outcome: 'not-carried-out' });
    expect(!d.ok && d.refusal).to.match(/its own answers settle it/);
  });
});
