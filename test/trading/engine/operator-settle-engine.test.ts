/**
 * The operator's settle against the real OrderManager and paper exchange (fake clock): a market buy the exchange took
 * while its answer was lost and every read missed it (lookups, open orders, trades), declared never placed. The
 * exchange's answer beats the operator's reading, before the settle and for a day after it (review of the settle).
 */
import { expect } from 'chai';
import { OrderNotFoundError } from '../../../src/shared/errors';
import { NetworkError } from '../../../src/shared/errors';
import { settleOrder } from '../../../src/trading/engine/operator/operator-settle';
import type { Exchange } from '../../../src/trading/exchange/exchange';
import type { PaperExchange } from '../../../src/trading/exchange/paper-exchange';
import { EngineHarness, MARKET_BUY } from '../../support/engine-harness';
import { withOverrides } from '../../support/exchange-overrides';
import { closeAfterEach } from '../../support/close-after-each';

const ID = 'bot-tst000-1';

describe("the operator's settle against the exchange's answer (OrderManager, paper exchange)", function () {
  this.timeout(20_000);
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h]);
  /** While true, every read misses the order the exchange took. */
  const hidden = { on: true };

  function takenThenHidden(paper: PaperExchange): Exchange {
    const missing = (id: string): Promise<never> =>
      Promise.reject(new OrderNotFoundError('the exchange has no such order', { clientOrderId: id }));
    return withOverrides(paper, {
      // an exchange whose cancel lags like its reads (Bybit and OKX document no matching-engine answer for it)
      traits: { ...paper.traits, cancelFromEngine: false },
      createOrder: async (req) => {
        await paper.createOrder(req);
        throw new NetworkError('connection reset: no answer', {});
      },
      cancelOrderByClientId: (id, symbol) =>
        hidden.on ? missing(id) : paper.cancelOrderByClientId(id, symbol),
      fetchOrderByClientId: (id, symbol) =>
        hidden.on ? missing(id) : paper.fetchOrderByClientId(id, symbol),
      fetchOpenOrders: (symbol) => (hidden.on ? Promise.resolve([]) : paper.fetchOpenOrders(symbol)),
      fetchSymbolTrades: (symbol, since) =>
        hidden.on ? Promise.resolve({ trades: [], complete: true }) : paper.fetchSymbolTrades(symbol, since),
    });
  }

  /** The buy declared never placed; what the exchange filled (its trades). */
  async function declaredNeverPlaced(): Promise<{ filled: number; average: number }> {
    hidden.on = true;
    h = await EngineHarness.open({
      config: { trading: { orders: { unknownNotFoundWindowMs: 300 } } },
      wrapExchange: takenThenHidden,
    });
    h.manager.startAccepting();
    await h.manager.place(MARKET_BUY);
    await h.fakeClock().advance(350, 350);
    for (let i = 0; i < 3; i++) await h.orders.refresher.refresh(ID);
    expect(h.orderBook.order(ID)!.status).to.equal('rejected');
    const trades = (await h.paper.fetchSymbolTrades('BTC/USDT', 0)).trades;
    const filled = trades.reduce((sum, t) => sum + t.amount, 0);
    const average = trades.reduce((sum, t) => sum + t.amount * t.price, 0) / filled;
    expect(filled).to.be.greaterThan(0);
    return { filled, average };
  }

  const settle = (req: Parameters<typeof settleOrder>[1]) =>
    settleOrder(
      {
        orderBook: h!.orderBook,
        manager: h!.manager,
        state: h!.orders.state,
        answers: h!.orders.answers,
        rechecks: h!.orders.rechecks,
      },
      req,
      h!.clock.now(),
      h!.clock.now(),
    );

  it('asks the exchange once more first: an order it shows now is taken back, nothing settled', async () => {
    const { filled } = await declaredNeverPlaced();
    hidden.on = false;
    const d = await settle({ clientOrderId: ID, outcome: 'not-carried-out' });
    expect(d.ok).to.equal(false);
    expect(!d.ok && d.refusal).to.include('taken back from its answer instead');
    const order = h!.orderBook.order(ID)!;
    expect(order).to.include({ status: 'filled' });
    expect(order.operatorSettled).to.equal(undefined);
    expect(h!.orderBook.positions()['BTC/USDT'].amount).to.be.closeTo(filled, 1e-12);
    expect(h!.eventTypes()).to.include('order.taken_back');
  });

  it("settled with the wrong amount, then found: the exchange's fills replace the operator's, once", async () => {
    const { filled, average } = await declaredNeverPlaced();
    const d = await settle({
      clientOrderId: ID,
      outcome: 'carried-out',
      executed: filled / 2,
      averagePrice: average,
    });
    expect(d.ok).to.equal(true);
    expect(h!.orderBook.positions()['BTC/USDT'].amount).to.be.closeTo(filled / 2, 1e-12);
    hidden.on = false;
    const taken = await h!.orders.rechecks.recheck('all');
    expect(taken.map((t) => t.clientOrderId)).to.deep.equal([ID]);
    const order = h!.orderBook.order(ID)!;
    expect(order.fills.map((f) => f.tradeId).filter((t) => t.startsWith('operator-'))).to.deep.equal([]);
    expect(order.filled).to.be.closeTo(filled, 1e-12);
    expect(order.operatorSettled).to.equal(undefined);
    expect(h!.orderBook.positions()['BTC/USDT'].amount, "the exchange's fills only").to.be.closeTo(
      filled,
      1e-12,
    );
  });

  it("settled with the right amount at a mistyped price, then found: the exchange's price and fills win", async () => {
    const { filled, average } = await declaredNeverPlaced();
    // a typo: ten times the price (review of the settle, round 2: "confirmed" on the amount alone kept it)
    const d = await settle({
      clientOrderId: ID,
      outcome: 'carried-out',
      executed: filled,
      averagePrice: average * 10,
    });
    expect(d.ok).to.equal(true);
    hidden.on = false;
    expect((await h!.orders.rechecks.recheck('all')).map((t) => t.clientOrderId)).to.deep.equal([ID]);
    const order = h!.orderBook.order(ID)!;
    expect(order.operatorSettled).to.equal(undefined);
    expect(order.fills.some((f) => f.tradeId.startsWith('operator-'))).to.equal(false);
    const book = h!.orderBook.positions()['BTC/USDT'];
    expect(book.amount).to.be.closeTo(filled, 1e-12);
    expect(book.costBasis / book.amount, "the exchange's price").to.be.closeTo(average, average * 0.01);
    const taken = h!.events.filter((e) => e.type === 'order.taken_back');
    expect(taken.at(-1)!.summary).to.include('settled by the operator as filled');
    // no longer looked up
    expect(await h!.orders.rechecks.recheck('all')).to.deep.equal([]);
  });

  it("asks the symbol's open orders too: a resting order its lookup still misses is taken back, nothing settled", async () => {
    const listHidden = { on: true };
    hidden.on = true;
    h = await EngineHarness.open({
      config: { trading: { orders: { unknownNotFoundWindowMs: 300 } } },
      wrapExchange: (paper) => {
        const taken = takenThenHidden(paper);
        return withOverrides(taken, {
          // the lookup by clientOrderId keeps missing; the list of working orders shows it once unhidden
          fetchOpenOrders: (symbol) => (listHidden.on ? Promise.resolve([]) : paper.fetchOpenOrders(symbol)),
        });
      },
    });
    h.manager.startAccepting();
    const price = (await h.paper.fetchTicker('BTC/USDT')).last;
    await h.manager.place({ ...MARKET_BUY, type: 'limit', price: Math.round(price * 0.5) });
    await h.fakeClock().advance(350, 350);
    for (let i = 0; i < 3; i++) await h.orders.refresher.refresh(ID);
    expect(h.orderBook.order(ID)!.status).to.equal('rejected');
    listHidden.on = false;
    const d = await settle({ clientOrderId: ID, outcome: 'not-carried-out' });
    expect(!d.ok && d.refusal).to.include('taken back from its answer instead');
    expect(h.orderBook.order(ID)).to.include({ status: 'open' });
    expect(h.orderBook.order(ID)!.operatorSettled).to.equal(undefined);
  });

  it('an order in doubt, found and taken back, is in doubt no more (its next question starts afresh)', async () => {
    await declaredNeverPlaced();
    await h!.files.store.commit((d) => {
      d.orders[ID] = { ...d.orders[ID]!, inDoubtAt: h!.clock.now() };
    });
    hidden.on = false;
    await h!.orders.rechecks.recheck('all');
    expect(h!.orderBook.order(ID)!.inDoubtAt).to.equal(undefined);
  });

  describe("an unknown order the exchange's reads cannot decide: in doubt, the operator settles it", () => {
    /** Runs inside each lookup by clientOrderId, before it answers (a change that lands meanwhile). */
    let duringLookup: (() => Promise<void>) | undefined;

    /** The buy taken, its answer lost, its lookups missing and the symbol's trade read cut: unknown, in doubt. */
    async function unknownInDoubt(): Promise<{ filled: number; average: number }> {
      hidden.on = true;
      duringLookup = undefined;
      h = await EngineHarness.open({
        config: { trading: { orders: { unknownNotFoundWindowMs: 300 } } },
        wrapExchange: (paper) => {
          const taken = takenThenHidden(paper);
          return withOverrides(taken, {
            fetchOrderByClientId: async (id, symbol) => {
              await duringLookup?.();
              return taken.fetchOrderByClientId(id, symbol);
            },
            // a send older than the exchange's trade windows, say: the read says it is not complete
            fetchSymbolTrades: async (symbol, since) => ({
              ...(await paper.fetchSymbolTrades(symbol, since)),
              complete: !hidden.on,
            }),
          });
        },
      });
      h.manager.startAccepting();
      await h.manager.place(MARKET_BUY);
      const d = await settle({ clientOrderId: ID, outcome: 'not-carried-out' });
      expect(!d.ok && d.refusal, 'not in doubt before its lookups missed over the window').to.include(
        'still being looked up',
      );
      await h.fakeClock().advance(350, 350);
      for (let i = 0; i < 5; i++) await h.orders.refresher.refresh(ID);
      const order = h.orderBook.order(ID)!;
      expect(order.status).to.equal('unknown');
      expect(order.inDoubtAt).to.be.a('number');
      const told = h.events.filter((e) => e.type === 'order.in_doubt');
      expect(told, 'told once').to.have.length(1);
      expect(told[0]!.summary).to.include(`/settle ${ID} none`).and.include('not all read');
      expect(told[0]!.data).to.include({ clientOrderId: ID, unknown: true });
      const trades = (await h.paper.fetchSymbolTrades('BTC/USDT', 0)).trades;
      const filled = trades.reduce((sum, t) => sum + t.amount, 0);
      const average = trades.reduce((sum, t) => sum + t.amount * t.price, 0) / filled;
      return { filled, average };
    }

    it("settled not carried out: never placed, the symbol free; found within the day: taken back, the position the exchange's", async () => {
      const { filled } = await unknownInDoubt();
      const d = await settle({ clientOrderId: ID, outcome: 'not-carried-out' });
      expect(d.ok).to.equal(true);
      expect(h!.orderBook.order(ID)).to.include({ status: 'rejected', inDoubtAt: undefined });
      expect(h!.orderBook.order(ID)!.operatorSettled?.outcome).to.equal('not-carried-out');
      expect(h!.orderBook.pendingOrders('BTC/USDT'), 'the symbol no longer held').to.deep.equal([]);
      expect(h!.eventTypes()).to.include('order.operator_settled');
      // the operator was wrong: the exchange shows it within the day
      hidden.on = false;
      expect((await h!.orders.rechecks.recheck('all')).map((t) => t.clientOrderId)).to.deep.equal([ID]);
      expect(h!.orderBook.order(ID)).to.include({ status: 'filled' });
      expect(h!.orderBook.positions()['BTC/USDT'].amount).to.be.closeTo(filled, 1e-12);
    });

    it("settled carried out: the history's amount and price booked, its symbol free", async () => {
      const { filled, average } = await unknownInDoubt();
      const d = await settle({
        clientOrderId: ID,
        outcome: 'carried-out',
        executed: filled,
        averagePrice: average,
      });
      expect(d.ok).to.equal(true);
      expect(h!.orderBook.order(ID)).to.include({ status: 'filled', inDoubtAt: undefined });
      const book = h!.orderBook.positions()['BTC/USDT'];
      expect(book.amount).to.be.closeTo(filled, 1e-12);
      // the fee the operator did not give: estimated at the account's 0.1 % rate, in the quote paper charges it in
      expect(book.costBasis / book.amount).to.be.closeTo(average * 1.001, average * 1e-9);
      expect(h!.orderBook.pendingOrders('BTC/USDT')).to.deep.equal([]);
    });

    it('found at the settle (asked once more): its answer applied, nothing settled, in doubt no more', async () => {
      const { filled } = await unknownInDoubt();
      hidden.on = false;
      const d = await settle({ clientOrderId: ID, outcome: 'not-carried-out' });
      expect(!d.ok && d.refusal).to.include('its answer applied instead');
      const order = h!.orderBook.order(ID)!;
      expect(order).to.include({ status: 'filled', inDoubtAt: undefined });
      expect(order.operatorSettled).to.equal(undefined);
      expect(h!.orderBook.positions()['BTC/USDT'].amount).to.be.closeTo(filled, 1e-12);
      expect(h!.eventTypes()).to.not.include('order.taken_back');
    });

    it('refused when the order changes while the exchange is asked once more (nothing overwritten)', async () => {
      await unknownInDoubt();
      duringLookup = async () => {
        duringLookup = undefined;
        // e.g. the daily reminder committed meanwhile
        await h!.files.store.commit((d) => {
          d.orders[ID] = { ...d.orders[ID]!, inDoubtToldAt: h!.clock.now() + 1 };
        });
      };
      const d = await settle({ clientOrderId: ID, outcome: 'not-carried-out' });
      expect(!d.ok && d.refusal).to.include('changed while the exchange was asked');
      expect(h!.orderBook.order(ID)).to.include({
        status: 'unknown',
        inDoubtToldAt: h!.clock.now() + 1,
      });
      expect(h!.orderBook.order(ID)!.operatorSettled).to.equal(undefined);
    });

    it('refused while its create is still on its way (its answer decides)', async () => {
      let loseCreate: (err: Error) => void = () => undefined;
      let sent!: () => void;
      const createSent = new Promise<void>((r) => (sent = r));
      h = await EngineHarness.open({
        config: { trading: { orders: { unknownNotFoundWindowMs: 300, createTimeoutMs: 100 } } },
        // the create does not answer: unknown at its timeout, still on its way (lost at the end of the test)
        wrapExchange: (paper) =>
          withOverrides(paper, {
            createOrder: () => {
              sent();
              return new Promise<never>((_, reject) => (loseCreate = reject));
            },
          }),
      });
      h.manager.startAccepting();
      const placing = h.manager.place(MARKET_BUY);
      await createSent;
      await h.fakeClock().advance(150, 50);
      await placing;
      expect(h.orderBook.order(ID)!.status).to.equal('unknown');
      expect(h.manager.isCreatePending(ID)).to.equal(true);
      await h.files.store.commit((d) => {
        d.orders[ID] = { ...d.orders[ID]!, inDoubtAt: h!.clock.now() };
      });
      const d = await settle({ clientOrderId: ID, outcome: 'not-carried-out' });
      expect(!d.ok && d.refusal).to.include('still on its way');
      expect(h.orderBook.order(ID)!.status).to.equal('unknown');
      loseCreate(new NetworkError('connection reset: no answer', {}));
    });

    it('found by its own lookup later: in doubt no more, no settle needed', async () => {
      await unknownInDoubt();
      hidden.on = false;
      await h!.orders.refresher.refresh(ID);
      expect(h!.orderBook.order(ID)).to.include({ status: 'filled', inDoubtAt: undefined });
      expect(h!.orderBook.pendingOrders('BTC/USDT')).to.deep.equal([]);
    });
  });
});
