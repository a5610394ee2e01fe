import { expect } from 'chai';
import { reconcileWithExchange } from '../../../src/trading/engine/start/reconcile';
import { EngineHarness, MARKET_BUY } from '../../support/engine-harness';
import { withOverrides } from '../../support/exchange-overrides';
import { closeAfterEach } from '../../support/close-after-each';

describe('reconcileWithExchange against the paper exchange (integration)', function () {
  this.timeout(20_000);
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h]);

  it('reports an open order of ours that state holds only as "never placed"', async () => {
    h = await EngineHarness.open();
    const at = h.clock.now() - 5_000;
    const price = (await h.paper.fetchTicker('BTC/USDT')).last;
    await h.files.store.commit((d) => {
      d.seq = 1;
      d.orders['bot-1'] = {
        clientOrderId: 'bot-1',
        symbol: 'BTC/USDT',
        side: 'buy',
        type: 'limit',
        amount: 0.001,
        price: Math.round(price / 2),
        filled: 0,
        status: 'rejected',
        error: 'the exchange has no such order: never placed',
        purpose: 'entry',
        createdAt: at,
        updatedAt: at,
        sentAt: at,
        fills: [],
      };
    });
    // its create reached the exchange after the lookup that declared it absent
    await h.paper.createOrder({
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'limit',
      amount: 0.001,
      price: Math.round(price / 2),
      clientOrderId: 'bot-1',
    });
    const differences = await reconcileWithExchange(h.orders, h.exchange);
    expect(differences.map((d) => [d.kind, d.clientOrderId])).to.deep.equal([
      ['order-unknown-locally', 'bot-1'],
    ]);
  });

  it('reports an open order of ours that state holds as refused (an answer read as a refusal: review 29)', async () => {
    h = await EngineHarness.open();
    const at = h.clock.now() - 5_000;
    const price = (await h.paper.fetchTicker('BTC/USDT')).last;
    await h.files.store.commit((d) => {
      d.seq = 1;
      d.orders['bot-1'] = {
        clientOrderId: 'bot-1',
        symbol: 'BTC/USDT',
        side: 'buy',
        type: 'limit',
        amount: 0.001,
        price: Math.round(price / 2),
        filled: 0,
        status: 'rejected',
        refused: true,
        error: 'bybit 170035: Submitted to the system for processing!',
        purpose: 'entry',
        createdAt: at,
        updatedAt: at,
        sentAt: at,
        fills: [],
      };
    });
    // the exchange took the create whose answer read as a refusal
    await h.paper.createOrder({
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'limit',
      amount: 0.001,
      price: Math.round(price / 2),
      clientOrderId: 'bot-1',
    });
    const differences = await reconcileWithExchange(h.orders, h.exchange);
    expect(differences.map((d) => [d.kind, d.clientOrderId])).to.deep.equal([
      ['order-unknown-locally', 'bot-1'],
    ]);
  });

  it('reports no status difference for a partly filled order a lagging read shows open with nothing filled', async () => {
    let lagging = false;
    h = await EngineHarness.open({
      wrapExchange: (paper) =>
        withOverrides(paper, {
          fetchOrder: async (id, symbol) => {
            const answer = await paper.fetchOrder(id, symbol);
            return lagging ? { ...answer, status: 'open', filled: 0 } : answer;
          },
        }),
    });
    h.manager.startAccepting();
    const order = await h.manager.place(MARKET_BUY);
    // as the order was seen partly filled: the exchange's replica still shows it open, nothing filled
    await h.files.store.commit((d) => {
      d.orders[order.clientOrderId] = { ...order, status: 'partially_filled', amount: 0.002 };
    });
    lagging = true;
    const differences = await reconcileWithExchange(h.orders, h.exchange);
    expect(differences.map((d) => d.kind)).to.deep.equal(['order-filled-differs']);
  });

  it('finds no difference when state and exchange agree', async () => {
    h = await EngineHarness.open();
    h.manager.startAccepting();
    await h.manager.place(MARKET_BUY);
    expect(await reconcileWithExchange(h.orders, h.exchange)).to.deep.equal([]);
  });
});
