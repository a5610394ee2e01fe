/**
 * Review 29b: an acknowledged order the exchange no longer showed, in doubt, that its open-orders list shows again
 * while its lookups still miss: its answer applied, in doubt no more (it stayed listed by /settle, reminded daily,
 * every settle refused). The real engine against the paper exchange (fake clock), whose reads hide the order.
 */
import { expect } from 'chai';
import { OrderNotFoundError } from '../../../src/shared/errors';
import { HISTORY_EDGE_MS } from '../../../src/trading/engine/absent-order';
import type { ExchangeOrder } from '../../../src/trading/exchange/exchange';
import type { PaperExchange } from '../../../src/trading/exchange/paper-exchange';
import { SafeStrategy } from '../../../src/trading/strategy/safe-strategy';
import { EngineHarness, ScriptedStrategy } from '../../support/engine-harness';
import { withOverrides } from '../../support/exchange-overrides';
import { closeAfterEach } from '../../support/close-after-each';

const ID = 'bot-tst000-1';

describe('in doubt, then listed again by the open orders', function () {
  this.timeout(20_000);
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h]);
  const hidden = { on: false };
  const listHidden = { on: true };

  /** A resting limit buy the exchange then stops showing, its trade history reaching back only a second past a day. */
  async function absentBeyondReach(): Promise<EngineHarness> {
    let paperRef: PaperExchange | undefined;
    const ours = (o: ExchangeOrder): boolean => o.clientOrderId === ID;
    hidden.on = false;
    h = await EngineHarness.open({
      config: {
        trading: { risk: { stopLossPct: 0, takeProfitPct: 0 }, orders: { limitOrderTtlMs: 86_400_000 } },
      },
      strategy: new SafeStrategy(new ScriptedStrategy()),
      wrapExchange: (paper) => {
        paperRef = paper;
        return withOverrides(paper, {
          traits: { ...paper.traits, tradeHistoryReachMs: HISTORY_EDGE_MS + 1_000 },
          fetchOrder: (async (id: string, symbol: string) => {
            const order = await paperRef!.fetchOrder(id, symbol);
            if (hidden.on && ours(order)) throw new OrderNotFoundError('the exchange has no such order', {});
            return order;
          }) as never,
          fetchOrderByClientId: (async (id: string, symbol: string) => {
            if (hidden.on && id === ID) throw new OrderNotFoundError('the exchange has no such order', {});
            return paperRef!.fetchOrderByClientId(id, symbol);
          }) as never,
          fetchOpenOrders: (async (symbol?: string) =>
            (await paperRef!.fetchOpenOrders(symbol)).filter(
              (o) => !(hidden.on && listHidden.on && ours(o)),
            )) as never,
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

  it('is in doubt no more once its open-orders list shows it again (lookups still missing)', async () => {
    listHidden.on = true;
    const h = await absentBeyondReach();
    expect(h.manager.order(ID)!.inDoubtAt).to.be.a('number');
    listHidden.on = false;
    for (let i = 0; i < 4; i++) {
      await h.fakeClock().advance(60_000, 60_000);
      await h.loop.tick();
    }
    const d = await h.loop.settleOrder({ clientOrderId: ID, outcome: 'not-carried-out' });
    // nothing to settle: the exchange answers for it
    expect(!d.ok && d.refusal).to.match(/its own answers settle it/);
    expect(h.manager.order(ID)!.status).to.equal('open');
    expect(h.manager.order(ID)!.inDoubtAt, 'still in doubt while the exchange lists it').to.equal(undefined);
    expect(h.loop.inDoubtOrders()).to.deep.equal([]);
  });
});
