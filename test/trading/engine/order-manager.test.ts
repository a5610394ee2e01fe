import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import {
  ConfigError,
  InvalidOrderError,
  NetworkError,
  OrderNotFoundError,
  PersistenceError,
  RateLimitError,
} from '../../../src/shared/errors';
import type { EventLog } from '../../../src/shared/ipc/event-log';
import { silentLogger } from '../../../src/shared/logging/logger';
import type { EventPublisher } from '../../../src/trading/engine/state/event-outbox';
import { declaredNeverPlaced } from '../../../src/trading/engine/orders/never-placed-recheck';
import { wireOrders } from '../../../src/trading/engine/orders/order-parts';
import { cooldownUntil } from '../../../src/trading/engine/decide/symbol-decision';
import type { LocalOrder } from '../../../src/trading/engine/orders/order-state';
import type { StateStore } from '../../../src/trading/engine/state/state-gateway';
import type {
  CreateOrderRequest,
  Exchange,
  ExchangeOrder,
  ExchangeTrade,
} from '../../../src/trading/exchange/exchange';
import type { PaperExchange } from '../../../src/trading/exchange/paper-exchange';
import { okxProfile } from '../../../src/trading/exchange/profiles/okx';
import { EngineHarness, MARKET_BUY } from '../../support/engine-harness';
import { withOverrides } from '../../support/exchange-overrides';
import { flush, type FakeClock } from '../../support/fake-clock';
import { closeAfterEach } from '../../support/close-after-each';

/** The paper exchange with `create` in place of its createOrder. */
function withCreate(paper: PaperExchange, create: (req: CreateOrderRequest) => Promise<unknown>): Exchange {
  return withOverrides(paper, { createOrder: create as Exchange['createOrder'] });
}

/** Bybit's create: answered with the order's ids only ("asynchronous"), nothing of its status or fills. */
function ackOnlyCreate(paper: PaperExchange): Exchange['createOrder'] {
  return async (req) => ({
    ...(await paper.createOrder(req)),
    status: 'open',
    filled: 0,
    average: undefined,
    trades: undefined,
  });
}

function paperOrdersFor(h: EngineHarness, clientOrderId: string) {
  return Object.values(h.paperFile().orders).filter((o) => o.clientOrderId === clientOrderId);
}

const buy = MARKET_BUY;
/** Lookups and cancels given up after 1 s. */
const READS_1S = { trading: { symbolReadTimeoutMs: 1_000 } };

/** The event log as the manager sees it, refusing every append (disk full or read-only) while `down()`. */
function eventLogDownWhile(down: () => boolean, code = 'ENOSPC') {
  return (log: EventLog): EventPublisher => ({
    publish: (type, summary, data) =>
      down()
        ? Promise.reject(new PersistenceError(`event log: ${code}`, {}, { code }))
        : log.publish(type, summary, data),
    hasEventKey: (key) => log.hasEventKey(key),
  });
}

describe('OrderManager against the paper exchange (integration)', function () {
  this.timeout(20_000);
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h]);

  it('makes the intent durable on disk before the exchange receives the create', async () => {
    let seenOnDisk: unknown;
    let paperRef: PaperExchange | undefined;
    h = await EngineHarness.open({
      wrapExchange: (paper) => {
        paperRef = paper;
        return withCreate(paper, async (req) => {
          // the state file as a restarted process would find it at this instant
          const state = JSON.parse(fs.readFileSync(path.join(h!.dir, 'trading-state.json'), 'utf8')).data;
          seenOnDisk = { seq: state.seq, order: state.orders[req.clientOrderId] };
          return paperRef!.createOrder(req);
        });
      },
    });
    h.manager.startAccepting();
    const order = await h.manager.place(buy);
    expect(seenOnDisk).to.deep.include({ seq: 1 });
    expect((seenOnDisk as { order: { status: string; clientOrderId: string } }).order).to.include({
      status: 'intent',
      clientOrderId: 'bot-tst000-1',
    });
    expect(order.status).to.equal('filled');
    expect(h.stateFile().orders['bot-tst000-1'].status).to.equal('filled');
    expect(order.fills.reduce((s, f) => s + f.amount, 0)).to.equal(0.001);
    expect(h.orderBook.openPositions().map((p) => p.amount)).to.deep.equal([0.001]);
    expect(h.eventTypes()).to.include.members(['order.placed', 'order.filled', 'position.opened']);
  });

  it('two placements at once (two symbols ticking together) never take one seq: each intent under its own id', async () => {
    h = await EngineHarness.open();
    h.manager.startAccepting();
    // both start in the same synchronous step: neither waits on the other's commit (the harness trades one symbol)
    const [first, second] = await Promise.all([
      h.manager.place(buy),
      h.manager.place({ ...buy, amount: 0.002 }),
    ]);
    expect([first.clientOrderId, second.clientOrderId]).to.deep.equal(['bot-tst000-1', 'bot-tst000-2']);
    const onDisk = h.stateFile();
    expect(onDisk.seq).to.equal(2);
    expect(onDisk.orders['bot-tst000-1']).to.include({ amount: 0.001, status: 'filled' });
    expect(onDisk.orders['bot-tst000-2']).to.include({ amount: 0.002, status: 'filled' });
    expect(paperOrdersFor(h, 'bot-tst000-1')).to.have.length(1);
    expect(paperOrdersFor(h, 'bot-tst000-2')).to.have.length(1);
  });

  it('keeps a filled order filled when the exchange later shows it otherwise: one order.conflict event, never a silent ignore', async () => {
    h = await EngineHarness.open();
    h.manager.startAccepting();
    const order = await h.manager.place(buy);
    expect(order.status).to.equal('filled');
    const contradiction: ExchangeOrder = {
      id: order.exchangeOrderId!,
      clientOrderId: order.clientOrderId,
      symbol: order.symbol,
      side: order.side,
      type: order.type,
      amount: order.amount,
      filled: order.filled,
      remaining: 0,
      status: 'canceled',
      timestamp: order.createdAt,
    };
    await h.orders.answers.apply(order.clientOrderId, contradiction);
    await h.orders.answers.apply(order.clientOrderId, contradiction);
    expect(h.orderBook.order(order.clientOrderId)).to.include({
      status: 'filled',
      filled: order.filled,
    });
    expect(h.orderBook.order(order.clientOrderId)!.error).to.match(/cannot go from filled to cancelled/);
    const conflicts = h.events.filter((e) => e.type === 'order.conflict');
    expect(conflicts).to.have.length(1);
    expect(conflicts[0].data).to.deep.include({
      clientOrderId: order.clientOrderId,
      exchangeOrderId: order.exchangeOrderId,
      symbol: order.symbol,
      purpose: order.purpose,
      status: 'filled',
      exchangeStatus: 'canceled',
      detail: `order ${order.clientOrderId} cannot go from filled to cancelled`,
    });
  });

  /** The exchange's view of order `id` (amount 0.002) with `trades` of 0.001 each, as a lagging read may show it. */
  function seen(id: string, status: ExchangeOrder['status'], trades: number): ExchangeOrder {
    const all: ExchangeTrade[] = [1, 2].slice(0, trades).map((n) => ({
      id: `t${n}`,
      orderId: 'x1',
      symbol: 'BTC/USDT',
      side: 'buy',
      price: 60_000,
      amount: 0.001,
      cost: 60,
      fee: { cost: 0, currency: 'USDT' },
      timestamp: 1,
    }));
    return {
      id: 'x1',
      clientOrderId: id,
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'limit',
      amount: 0.002,
      price: 60_000,
      filled: 0.001 * trades,
      remaining: 0.002 - 0.001 * trades,
      average: trades > 0 ? 60_000 : undefined,
      status,
      trades: all,
    };
  }
  const limitBuy = { ...buy, type: 'limit' as const, amount: 0.002, price: 60_000 };

  it('a rejected order the exchange later shows with fills ends cancelled WITH them: the position is right, no conflict', async () => {
    // Bybit: the create only acknowledges; a lagging read says Rejected with nothing filled, a later one with a fill
    h = await EngineHarness.open({
      wrapExchange: (paper) => withCreate(paper, async (req) => seen(req.clientOrderId!, 'rejected', 0)),
    });
    h.manager.startAccepting();
    const order = await h.manager.place(limitBuy);
    expect(order).to.include({ status: 'rejected', filled: 0 });
    await h.orders.answers.apply(order.clientOrderId, seen(order.clientOrderId, 'rejected', 1));
    const after = h.orderBook.order(order.clientOrderId)!;
    expect(after).to.include({ status: 'cancelled', filled: 0.001 });
    expect(after.fills.map((f) => f.tradeId)).to.deep.equal(['t1']);
    expect(h.orderBook.positions()['BTC/USDT'].amount).to.be.closeTo(0.001, 1e-12);
    expect(h.eventTypes()).to.include('order.cancelled');
    expect(h.eventTypes()).not.to.include('order.conflict');
  });

  it('a cancelled order the exchange later shows closed with more filled: fills raised and synced, status kept, one order.conflict', async () => {
    h = await EngineHarness.open({
      wrapExchange: (paper) => withCreate(paper, async (req) => seen(req.clientOrderId!, 'canceled', 1)),
    });
    h.manager.startAccepting();
    const order = await h.manager.place(limitBuy);
    expect(order).to.include({ status: 'cancelled', filled: 0.001 });
    await h.orders.answers.apply(order.clientOrderId, seen(order.clientOrderId, 'closed', 2));
    await h.orders.answers.apply(order.clientOrderId, seen(order.clientOrderId, 'closed', 2));
    const after = h.orderBook.order(order.clientOrderId)!;
    expect(after).to.include({ status: 'cancelled', filled: 0.002 });
    expect(after.fills.map((f) => f.tradeId)).to.deep.equal(['t1', 't2']);
    expect(h.orderBook.positions()['BTC/USDT'].amount).to.be.closeTo(0.002, 1e-12);
    expect(h.events.filter((e) => e.type === 'order.conflict')).to.have.length(1);
  });

  it('an order the exchange rejects after acknowledging it counts as a refusal (cooldown/backoff), notified once', async () => {
    h = await EngineHarness.open({
      wrapExchange: (paper) => withCreate(paper, async (req) => seen(req.clientOrderId!, 'open', 0)),
    });
    h.manager.startAccepting();
    for (const n of [1, 2]) {
      const order = await h.manager.place(limitBuy);
      expect(order).to.include({ status: 'open', clientOrderId: `bot-tst000-${n}` });
      await h.orders.answers.apply(order.clientOrderId, seen(order.clientOrderId, 'rejected', 0));
      expect(h.orderBook.order(order.clientOrderId)).to.include({
        status: 'rejected',
        refused: true,
      });
    }
    const rejected = h.events.filter((e) => e.type === 'order.rejected');
    expect(rejected.map((e) => e.data.repeated)).to.deep.equal([false, true]);
    const now = h.clock.now();
    expect(cooldownUntil(h.orderBook.hotOrders(), 1_000, 60_000)).to.be.at.least(now + 2_000);
  });

  it('marks a create the rate-limit gate refused unsent never sent (recovery never looks it up), one the exchange refused not', async () => {
    let unsent = true;
    h = await EngineHarness.open({
      wrapExchange: (paper) =>
        withCreate(paper, async () => {
          throw unsent
            ? new RateLimitError(
                'not sent: the exchange asked to wait 60 s more',
                { gate: 'closed' },
                { retryAfterMs: 60_000 },
              )
            : new RateLimitError(
                'binance 429: Too much request weight used',
                { httpStatus: 429 },
                { retryAfterMs: 1_000 },
              );
        }),
    });
    h.manager.startAccepting();
    const held = await h.manager.place(MARKET_BUY);
    expect(held).to.include({ status: 'rejected', refused: true, neverSent: true });
    unsent = false;
    const refused = await h.manager.place(MARKET_BUY);
    expect(refused).to.include({ status: 'rejected', refused: true });
    expect(refused.neverSent).to.equal(undefined);
  });

  it('resolves a create whose response was lost by lookup: exactly one exchange order, never re-sent', async () => {
    h = await EngineHarness.open({ faults: { operations: ['createOrder'], script: ['lose-response'] } });
    h.manager.startAccepting();
    const order = await h.manager.place(buy);
    expect(order.status).to.equal('filled');
    expect(paperOrdersFor(h, 'bot-tst000-1')).to.have.length(1);
    expect(h.faults!.fired).to.deep.equal([{ operation: 'createOrder', kind: 'lose-response' }]);
    expect(h.orderBook.positions()['BTC/USDT'].amount).to.equal(0.001);
  });

  it('treats a duplicate-clientOrderId refusal as an order that exists and resolves it by lookup', async () => {
    h = await EngineHarness.open({
      wrapExchange: (paper) =>
        withCreate(paper, async (req) => {
          // the create got through, but the answer we see is the exchange refusing a duplicate id
          await paper.createOrder(req);
          throw new InvalidOrderError('duplicate clientOrderId', {
            duplicate: true,
            clientOrderId: req.clientOrderId,
          });
        }),
    });
    h.manager.startAccepting();
    const order = await h.manager.place(buy);
    expect(order.status).to.equal('filled');
    expect(paperOrdersFor(h, 'bot-tst000-1')).to.have.length(1);
    expect(h.orderBook.positions()['BTC/USDT'].amount).to.equal(0.001);
  });

  it('declares a create that never reached the exchange rejected only after the confirmation delay', async () => {
    h = await EngineHarness.open({
      faults: { operations: ['createOrder'], script: ['network-before'] },
      config: { trading: { orders: { unknownNotFoundWindowMs: 300 } } },
    });
    h.manager.startAccepting();
    const order = await h.manager.place(buy);
    expect(order.status).to.equal('unknown');
    await h.fakeClock().advance(350, 350);
    await h.orders.refresher.refresh('bot-tst000-1');
    expect(h.orderBook.order('bot-tst000-1')!.status).to.equal('rejected');
    expect(paperOrdersFor(h, 'bot-tst000-1')).to.have.length(0);
    const rejected = h.events.find((e) => e.type === 'order.rejected');
    expect(rejected?.data).to.include({ clientOrderId: 'bot-tst000-1', neverPlaced: true });
    // the next order gets a new id: bot-1 is never reused
    const next = await h.manager.place(buy);
    expect(next.clientOrderId).to.equal('bot-tst000-2');
  });

  it('judges "not found" from when the create left, after the intent commit: a slow disk does not shorten the window', async () => {
    let slowDisk = false;
    h = await EngineHarness.open({
      config: { trading: { orders: { unknownNotFoundWindowMs: 300 } } },
      // the intent's durable commit takes 2 s (a slow disk); nothing else is slow
      wrapStore: (store) => ({
        get data() {
          return store.data;
        },
        get version() {
          return store.version;
        },
        change: (m) => store.change(m),
        commit: async (m) => {
          const done = store.commit(m);
          if (slowDisk) {
            slowDisk = false;
            await h!.fakeClock().advance(2_000, 2_000);
          }
          return done;
        },
        flush: () => store.flush(),
      }),
      wrapExchange: (paper) =>
        withOverrides(paper, {
          // taken, its answer lost
          createOrder: async (req) => {
            await paper.createOrder(req);
            throw new NetworkError('connection reset: no answer', {});
          },
        }),
    });
    h.manager.startAccepting();
    const before = h.clock.now();
    slowDisk = true;
    await h.manager.place(buy);
    const order = h.orderBook.order('bot-tst000-1')!;
    expect(order.createdAt).to.equal(before);
    expect(order.sentAt, 'the send: after the 2 s commit').to.equal(before + 2_000);
  });

  describe("an order whose create had no answer and its lookups keep missing: the exchange's other reads first", () => {
    /** Creates taken, their answers lost; lookups by clientOrderId miss; the open-orders list and trades answer. */
    function takenLookupsMissing(
      opts: { tradesComplete?: boolean; orderOfTrade?: 'found' | 'missing' } = {},
    ) {
      return (paper: PaperExchange): Exchange =>
        withOverrides(paper, {
          createOrder: async (req) => {
            await paper.createOrder(req);
            throw new NetworkError('connection reset: no answer', {});
          },
          fetchOrderByClientId: (id) =>
            Promise.reject(new OrderNotFoundError('the exchange has no such order', { clientOrderId: id })),
          fetchSymbolTrades: async (symbol, since) => ({
            ...(await paper.fetchSymbolTrades(symbol, since)),
            complete: opts.tradesComplete ?? true,
          }),
          fetchOrder: (id, symbol) =>
            opts.orderOfTrade === 'missing'
              ? Promise.reject(new OrderNotFoundError('the exchange has no such order', { orderId: id }))
              : paper.fetchOrder(id, symbol),
        });
    }

    async function placedThenPastWindow(wrapExchange: (paper: PaperExchange) => Exchange): Promise<void> {
      h = await EngineHarness.open({
        config: { trading: { orders: { unknownNotFoundWindowMs: 300 } } },
        wrapExchange,
      });
      h.manager.startAccepting();
      await h.manager.place(buy);
      await h.fakeClock().advance(350, 350);
      for (let i = 0; i < 3; i++) await h.orders.refresher.refresh('bot-tst000-1');
    }

    it('a trade of an order state does not know, looked up by its id, is ours: found, never declared never placed', async () => {
      await placedThenPastWindow(takenLookupsMissing());
      const order = h!.orderBook.order('bot-tst000-1')!;
      expect(order.status).to.equal('filled');
      expect(order.exchangeOrderId).to.be.a('string');
      expect(paperOrdersFor(h!, 'bot-tst000-1')).to.have.length(1);
      expect(h!.orderBook.positions()['BTC/USDT'].amount).to.be.greaterThan(0);
      expect(h!.eventTypes()).to.not.include('order.rejected');
    });

    it('stays unknown while a trade cannot be told apart: its order not found by id, or the trade list cut', async () => {
      await placedThenPastWindow(takenLookupsMissing({ orderOfTrade: 'missing' }));
      expect(h!.orderBook.order('bot-tst000-1')!.status).to.equal('unknown');
      await h!.close();
      await placedThenPastWindow(takenLookupsMissing({ tradesComplete: false }));
      expect(h!.orderBook.order('bot-tst000-1')!.status).to.equal('unknown');
    });

    it('declared never placed when nothing the exchange shows can be it', async () => {
      await placedThenPastWindow((paper) =>
        withOverrides(paper, {
          createOrder: () => Promise.reject(new NetworkError('connection reset')),
        }),
      );
      expect(h!.orderBook.order('bot-tst000-1')!.status).to.equal('rejected');
    });
  });

  it('looks up at most the given number of orders declared never placed per call (the loop: a few per tick)', async () => {
    let lookups = 0;
    h = await EngineHarness.open({
      config: { trading: { orders: { unknownNotFoundWindowMs: 300 } } },
      wrapExchange: (paper) =>
        withOverrides(paper, {
          // every create is lost before it reaches the exchange: unknown, then declared never placed
          createOrder: () => Promise.reject(new NetworkError('connection reset')),
          fetchOrderByClientId: (id, symbol) => {
            lookups++;
            return paper.fetchOrderByClientId(id, symbol);
          },
        }),
    });
    h.manager.startAccepting();
    for (let i = 0; i < 5; i++) await h.manager.place(buy);
    await h.fakeClock().advance(350, 350);
    for (let i = 1; i <= 5; i++) await h.orders.refresher.refresh(`bot-tst000-${i}`);
    expect(h.orderBook.hotOrders(declaredNeverPlaced)).to.have.length(5);
    await h.fakeClock().advance(3_600_000, 60_000);
    lookups = 0;
    await h.orders.rechecks.recheck('due', 2);
    expect(lookups).to.equal(2);
    await h.orders.rechecks.recheck('due', 2);
    await h.orders.rechecks.recheck('due', 2);
    expect(lookups).to.equal(5);
  });

  /**
   * A manager whose create answers 200 ms (fake clock) after the send, against a 50 ms create timeout: placed, the
   * timeout passed, the order unknown while its answer is still out. `answer` resolves when the exchange answers.
   */
  async function placedWithLateAnswer(): Promise<{ clock: FakeClock; answer: Promise<ExchangeOrder> }> {
    let paperRef: PaperExchange | undefined;
    let sent!: () => void;
    const createSent = new Promise<void>((r) => (sent = r));
    let answered!: (o: ExchangeOrder) => void;
    const answer = new Promise<ExchangeOrder>((r) => (answered = r));
    h = await EngineHarness.open({
      config: { trading: { orders: { createTimeoutMs: 50, unknownNotFoundWindowMs: 5_000 } } },
      wrapExchange: (paper) => {
        paperRef = paper;
        return withCreate(paper, async (req) => {
          sent();
          await h!.clock.sleep(200); // the answer comes 200 ms after the send
          const order = await paperRef!.createOrder(req);
          answered(order);
          return order;
        });
      },
    });
    const clock = h.fakeClock();
    h.manager.startAccepting();
    const placing = h.manager.place(buy);
    await createSent;
    await clock.advance(50, 50); // the create timeout passes
    expect((await placing).status).to.equal('unknown');
    return { clock, answer };
  }

  describe('an order lookup given up at its deadline (trading.symbolReadTimeoutMs)', () => {
    /**
     * The paper exchange whose create's answer never comes back (`taken`: whether the exchange took the order), with
     * lookups by clientOrderId held while the test holds the gate; how many were sent.
     */
    function heldLookups(taken: boolean): {
      wrap: (paper: PaperExchange) => Exchange;
      hold: () => void;
      release: () => void;
      sent: () => number;
    } {
      let gate: Promise<void> | null = null;
      let open: () => void = () => {};
      let sent = 0;
      return {
        wrap: (paper) =>
          withOverrides(paper, {
            createOrder: async (req) => {
              if (taken) await paper.createOrder(req);
              throw new NetworkError('connection reset: no answer', {});
            },
            fetchOrderByClientId: async (id, symbol) => {
              sent++;
              const held = gate;
              // the exchange answers when the request gets there, whatever the wait for its way back
              const answer = paper.fetchOrderByClientId(id, symbol).then(
                (o) => ({ o }),
                (e: unknown) => ({ e }),
              );
              if (held) await held;
              const got = await answer;
              if ('e' in got) throw got.e;
              return got.o;
            },
          }),
        hold: () => {
          gate = new Promise<void>((r) => (open = r));
        },
        release: () => {
          gate = null;
          open();
        },
        sent: () => sent,
      };
    }

    it('changes nothing when given up; the next lookup joins it (no second request) and applies its late answer once', async () => {
      const lookups = heldLookups(true);
      h = await EngineHarness.open({
        config: READS_1S,
        wrapExchange: lookups.wrap,
      });
      h.manager.startAccepting();
      const id = 'bot-tst000-1';
      lookups.hold();
      // the create is taken, its answer lost: unknown, and the lookup that follows hangs
      const placing = h.manager.place(buy);
      // the intent's and the unknown's commits are real file writes
      for (let i = 0; i < 200 && lookups.sent() === 0; i++) await new Promise((r) => setTimeout(r, 5));
      expect(lookups.sent()).to.equal(1);
      await h.fakeClock().advance(1_000, 100);
      expect((await placing).status, 'given up at the deadline: still unknown').to.equal('unknown');
      const unknown = h.orderBook.order(id)!;
      await flush();
      expect(h.orderBook.order(id)).to.deep.equal(unknown);
      // the next lookup joins the one on its way: no second request
      const refreshing = h.orders.refresher.refresh(id);
      await flush();
      expect(lookups.sent()).to.equal(1);
      lookups.release();
      expect(await refreshing).to.deep.equal({ from: 'unknown', to: 'filled' });
      await h.orders.calls.waitIdle(1_000);
      // applied once: one order, one fill, one position (the caller that gave up committed nothing)
      expect(lookups.sent()).to.equal(1);
      expect(h.orderBook.order(id)!.fills).to.have.length(1);
      expect(h.orderBook.positions()['BTC/USDT'].amount).to.equal(0.001);
      expect(h.events.filter((e) => e.type === 'order.filled')).to.have.length(1);
      expect(paperOrdersFor(h, id)).to.have.length(1);
    });

    it("a fee's price read that hangs holds nothing: the fill is booked at the deadline with the fee estimated", async () => {
      let priceReads = 0;
      h = await EngineHarness.open({
        config: READS_1S,
        wrapExchange: (paper) =>
          withOverrides(paper, {
            // Binance's "pay fees with BNB": the fill's fee is in a third currency, valued at BNB/USDT's price
            createOrder: async (req) => {
              const answer = await paper.createOrder(req);
              const bnbFee = { cost: 0.0001, currency: 'BNB' };
              return { ...answer, trades: answer.trades?.map((t) => ({ ...t, fee: bnbFee })) };
            },
            // the fee market is not traded: looked up alone, as live markets loaded by symbol do
            findMarket: async (symbol) =>
              symbol === 'BNB/USDT' ? { ...(await paper.loadMarkets())['BTC/USDT'], symbol } : undefined,
            fetchTicker: (symbol) => {
              if (symbol !== 'BNB/USDT') return paper.fetchTicker(symbol);
              priceReads++;
              return new Promise<never>(() => {}); // the fee market's price never answers
            },
          }),
      });
      h.manager.startAccepting();
      const placing = h.manager.place(buy);
      for (let i = 0; i < 200 && priceReads === 0; i++) await new Promise((r) => setTimeout(r, 5));
      expect(priceReads, 'the fee price was asked for').to.equal(1);
      await h.fakeClock().advance(1_000, 100);
      const order = await placing;
      expect(order.status).to.equal('filled');
      expect(order.fills).to.have.length(1);
      expect(order.fills[0]).to.include({ feeCurrency: 'BNB', feeCost: 0.0001, feeEstimated: true });
      expect(h.orderBook.positions()['BTC/USDT'].amount).to.equal(0.001);
    });

    it('a joined "not found" is judged as of its send: a late miss never declares an order never placed early', async () => {
      const lookups = heldLookups(false);
      h = await EngineHarness.open({
        config: {
          trading: {
            ...READS_1S.trading,
            orders: { unknownNotFoundMisses: 2, unknownNotFoundWindowMs: 10_000 },
          },
        },
        wrapExchange: lookups.wrap,
      });
      h.manager.startAccepting();
      const id = 'bot-tst000-1';
      // never reached the exchange: unknown, one miss counted by the lookup that follows the create
      expect((await h.manager.place(buy)).status).to.equal('unknown');
      expect(h.orderBook.order(id)!.lookupMisses).to.equal(1);
      lookups.hold();
      const first = h.orders.refresher.refresh(id).catch((err: unknown) => err);
      await flush();
      await h.fakeClock().advance(1_000, 100);
      expect(await first).to.be.instanceOf(NetworkError);
      // long after the window, a lookup joins the one sent within it; then its "not found" comes back
      await h.fakeClock().advance(20_000, 1_000);
      const joined = h.orders.refresher.refresh(id);
      await flush();
      lookups.release();
      await joined;
      expect(lookups.sent()).to.equal(2);
      expect(h.orderBook.order(id), 'a miss seen within the window proves nothing yet').to.include({
        status: 'unknown',
        lookupMisses: 2,
      });
      // a lookup sent now, after the window, decides it
      await h.orders.refresher.refresh(id);
      expect(lookups.sent()).to.equal(3);
      expect(h.orderBook.order(id)!.status).to.equal('rejected');
    });

    it('a "not found" that came back after the deadline counts no miss: only answers awaited are judged', async () => {
      const lookups = heldLookups(false);
      h = await EngineHarness.open({
        config: { trading: { ...READS_1S.trading, orders: { unknownNotFoundWindowMs: 60_000 } } },
        wrapExchange: lookups.wrap,
      });
      h.manager.startAccepting();
      const id = 'bot-tst000-1';
      // never reached the exchange: unknown, one miss counted by the lookup that follows the create
      expect((await h.manager.place(buy)).status).to.equal('unknown');
      const misses = h.orderBook.order(id)!.lookupMisses;
      expect(misses).to.equal(1);
      lookups.hold();
      const refreshing = h.orders.refresher.refresh(id).catch((err: unknown) => err);
      await flush();
      await h.fakeClock().advance(1_000, 100);
      expect(await refreshing).to.be.instanceOf(NetworkError);
      lookups.release();
      await flush();
      await h.orders.calls.waitIdle(1_000);
      expect(h.orderBook.order(id)!.lookupMisses, 'the late miss not counted').to.equal(misses);
      await h.orders.refresher.refresh(id);
      expect(h.orderBook.order(id)!.lookupMisses, 'the next lookup counts once').to.equal(2);
      expect(h.orderBook.order(id)!.status).to.equal('unknown');
    });
  });

  describe('a cancel given up at its deadline (trading.symbolReadTimeoutMs)', () => {
    /**
     * The paper exchange whose cancels wait at a gate the test opens (`taken`: the exchange carries the cancel out
     * when the request gets there, and only the answer waits; otherwise both wait), and how many were sent.
     */
    function heldCancels(taken: boolean): {
      wrap: (paper: PaperExchange) => Exchange;
      release: () => void;
      sent: () => number;
    } {
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      let sent = 0;
      return {
        wrap: (paper) =>
          withOverrides(paper, {
            cancelOrder: async (id, symbol) => {
              sent++;
              const done = taken ? await paper.cancelOrder(id, symbol) : undefined;
              await gate;
              return done ?? paper.cancelOrder(id, symbol);
            },
          }),
        release: () => open(),
        sent: () => sent,
      };
    }

    /** A limit buy far below the price: it rests, working, until cancelled. */
    async function restingBuy(): Promise<string> {
      h!.manager.startAccepting();
      const price = (await h!.paper.fetchTicker('BTC/USDT')).last;
      const placed = await h!.manager.place({ ...buy, type: 'limit', price: Math.round(price * 0.5) });
      expect(placed.status).to.equal('open');
      return placed.clientOrderId;
    }

    /** What `promise` resolved to (waiting at most `max` 10 ms turns of real I/O: state file writes), or 'pending'. */
    async function settled(promise: Promise<unknown>, max = 300): Promise<unknown> {
      let result: { value: unknown } | undefined;
      void promise.then((value) => (result = { value }));
      for (let i = 0; i < max && !result; i++) await new Promise((r) => setTimeout(r, 10));
      return result ? result.value : 'pending';
    }

    const waitSent = async (cancels: { sent: () => number }, n: number): Promise<void> => {
      for (let i = 0; i < 300 && cancels.sent() < n; i++) await new Promise((r) => setTimeout(r, 5));
      expect(cancels.sent()).to.equal(n);
    };

    it('a cancel the exchange carried out whose answer never comes: at the deadline the lookup after it ends the order cancelled', async () => {
      const cancels = heldCancels(true);
      h = await EngineHarness.open({ config: READS_1S, wrapExchange: cancels.wrap });
      const id = await restingBuy();
      const cancelling = h.orders.canceller.cancel(id);
      await waitSent(cancels, 1);
      await h.fakeClock().advance(1_000, 100);
      const after = await settled(cancelling);
      expect(after, 'settled at the deadline by the lookup after it').to.include({ status: 'cancelled' });
      expect(h.orderBook.order(id)!.status).to.equal('cancelled');
      expect(h.stateFile().orders[id].status).to.equal('cancelled');
      expect(h.eventTypes().filter((t) => t === 'order.cancelled')).to.have.length(1);
      // the answer that never came arrives at last: nothing changes, nothing is told twice
      const before = h.orderBook.order(id);
      cancels.release();
      await h.orders.calls.waitIdle(1_000);
      expect(h.orderBook.order(id)).to.deep.equal(before);
      expect(h.eventTypes().filter((t) => t === 'order.cancelled')).to.have.length(1);
    });

    it('a cancel answered after the deadline: the order is not assumed cancelled, the next cancel joins it, and its late answer changes nothing', async () => {
      const cancels = heldCancels(false);
      h = await EngineHarness.open({ config: READS_1S, wrapExchange: cancels.wrap });
      const id = await restingBuy();
      const cancelling = h.orders.canceller.cancel(id).catch((err: unknown) => err);
      await waitSent(cancels, 1);
      await h.fakeClock().advance(1_000, 100);
      const given = await settled(cancelling);
      expect(given, 'given up at the deadline: an unknown outcome').to.be.instanceOf(NetworkError);
      expect((given as Error).message).to.match(/cancel .*no answer from the exchange within 1000 ms/);
      const working = h.orderBook.order(id)!;
      expect(working.status, 'not assumed cancelled').to.equal('open');
      // tried again while the first is still on its way: joined, no second request beside it
      const again = h.orders.canceller.cancel(id).catch((err: unknown) => err);
      await flush();
      await h.fakeClock().advance(1_000, 100);
      expect(await settled(again)).to.be.instanceOf(NetworkError);
      expect(cancels.sent()).to.equal(1);
      expect(h.orderBook.order(id)).to.deep.equal(working);
      // the exchange carries it out and answers, long after both deadlines: its answer is not applied
      cancels.release();
      await h.orders.calls.waitIdle(1_000);
      expect(h.orderBook.order(id)).to.deep.equal(working);
      expect(h.eventTypes()).to.not.include('order.cancelled');
      // the next lookup settles it, once
      expect(await h.orders.refresher.refresh(id)).to.deep.equal({ from: 'open', to: 'cancelled' });
      expect(h.eventTypes().filter((t) => t === 'order.cancelled')).to.have.length(1);
      expect(cancels.sent()).to.equal(1);
    });
  });

  it('applies a late create answer that arrives after the create timeout', async () => {
    const { clock, answer } = await placedWithLateAnswer();
    await clock.advance(150, 50); // the late answer arrives
    await answer;
    await flush(); // the manager has seen it and started applying it
    await h!.orders.calls.waitIdle(1000);
    expect(h!.orderBook.order('bot-tst000-1')!.status).to.equal('filled');
    expect(paperOrdersFor(h!, 'bot-tst000-1')).to.have.length(1);
  });

  it('a create the rate-limit gate refuses unsent after the create timeout: rejected never sent at once, no lookup left', async () => {
    let lookups = 0;
    let sent!: () => void;
    const createSent = new Promise<void>((r) => (sent = r));
    h = await EngineHarness.open({
      config: { trading: { orders: { createTimeoutMs: 50, unknownNotFoundWindowMs: 5_000 } } },
      wrapExchange: (paper) =>
        withOverrides(
          withCreate(paper, async () => {
            sent();
            // held in the pacing past the create timeout, then refused as it would leave (assertStillAdmitted)
            await h!.clock.sleep(200);
            throw new RateLimitError(
              "not sent: the exchange's request pacing would hold it past its 1000 ms",
              { gate: 'pacing' },
              { retryAfterMs: 400 },
            );
          }),
          {
            fetchOrderByClientId: ((...args: Parameters<PaperExchange['fetchOrderByClientId']>) => {
              lookups++;
              return paper.fetchOrderByClientId(...args);
            }) as never,
          },
        ),
    });
    const clock = h.fakeClock();
    h.manager.startAccepting();
    const placing = h.manager.place(buy);
    await createSent;
    await clock.advance(50, 50); // the create timeout passes: unknown, looked up once (not found yet)
    expect((await placing).status).to.equal('unknown');
    const looked = lookups;
    await clock.advance(150, 50); // the gate's refusal comes back
    await h.orders.calls.waitIdle(1_000);
    expect(h.orderBook.order('bot-tst000-1')).to.include({
      status: 'rejected',
      refused: true,
      neverSent: true,
      retryAfterMs: 400,
    });
    // nothing left to look up: the unknown order no longer holds its symbol for the not-found window
    expect(await h.manager.resolveUnknown('bot-tst000-1')).to.equal(false);
    expect(lookups).to.equal(looked);
    expect(paperOrdersFor(h, 'bot-tst000-1')).to.have.length(0);
    expect(h.eventTypes().filter((t) => t === 'order.rejected')).to.have.length(1);
  });

  it('waitIdle (the stop) also waits for a create whose answer is still out after the create timeout', async () => {
    const { clock } = await placedWithLateAnswer();
    let idle: boolean | undefined;
    const waiting = h!.orders.calls.waitIdle(1_000).then((v) => (idle = v));
    await flush();
    expect(idle, 'idle while the create is still out').to.equal(undefined);
    await clock.advance(150, 50); // the late answer arrives and is applied
    await waiting;
    expect(idle).to.equal(true);
    expect(h!.orderBook.order('bot-tst000-1')!.status).to.equal('filled');
  });

  it('places nothing when the intent cannot be saved (the loop shows paused at once), and allows orders again once saving works', async () => {
    let failWrites = false;
    let creates = 0;
    let paperRef: PaperExchange | undefined;
    h = await EngineHarness.open({
      wrapStore: (store) => failingStore(store, () => failWrites),
      wrapExchange: (paper) => {
        paperRef = paper;
        return withCreate(paper, async (req) => {
          creates++;
          return paperRef!.createOrder(req);
        });
      },
    });
    h.loop.enterRunning();
    failWrites = true;
    await expectRejects(h.manager.place(buy), PersistenceError);
    await expectRejects(h.manager.place(buy), PersistenceError);
    expect(creates).to.equal(0);
    expect(h.orders.state.persistBlocked).to.match(/no space left/);
    expect(h.loop.pause?.by).to.equal('persist');
    // the loop's state is read from the pause: paused at once, not after the next tick
    expect(h.loop.loopState).to.equal('paused');
    expect(h.loop.snapshot().loopState).to.equal('paused');
    expect(h.eventTypes().filter((t) => t === 'persist.failed')).to.have.length(1);
    failWrites = false;
    const order = await h.manager.place(buy);
    expect(creates).to.equal(1);
    // bot-1 was used by the intent that could not be saved; the refused second call did not take an id
    expect(order.clientOrderId).to.equal('bot-tst000-2');
    expect(h.orders.state.persistBlocked).to.equal(null);
    expect(h.eventTypes()).to.include('trading.resumed');
    expect(h.loop.loopState).to.equal('running');
    expect(h.orderBook.order('bot-tst000-1')).to.include({ status: 'rejected', neverSent: true });
    expect(h.stateFile().orders['bot-tst000-1'].status).to.equal('rejected');
    expect(paperOrdersFor(h, 'bot-tst000-1')).to.have.length(0);
    // it never left: not one of the orders declared never placed that are looked up again for a day
    expect(h.orderBook.hotOrders(declaredNeverPlaced).map((o) => o.clientOrderId)).to.deep.equal([]);
  });

  it('a persist.failed the event log refused (same full disk) is published once it takes events, before trading.resumed', async () => {
    // a full or read-only data dir fails the state write AND the event log append of the persist.failed that
    // reports it: the operator must still hear of it (late), not lose it
    let diskBroken = false;
    h = await EngineHarness.open({
      wrapStore: (store) => failingStore(store, () => diskBroken),
      wrapEvents: eventLogDownWhile(() => diskBroken),
    });
    h.manager.startAccepting();
    diskBroken = true;
    await expectRejects(h.manager.place(buy), PersistenceError);
    expect(await h.orders.state.probe()).to.equal(false);
    expect(h.eventTypes()).to.not.include('persist.failed');
    diskBroken = false;
    expect(await h.orders.state.probe()).to.equal(true);
    const types = h.eventTypes().filter((t) => t === 'persist.failed' || t === 'trading.resumed');
    expect(types).to.deep.equal(['persist.failed', 'trading.resumed']);
    expect(h.orders.state.persistBlocked).to.equal(null);
  });

  it('any direct event the event log refuses is kept and published later, in order, before newer ones', async () => {
    let logWorks = false;
    h = await EngineHarness.open({
      wrapEvents: eventLogDownWhile(() => !logWorks, 'EROFS'),
    });
    expect(await h.orders.outbox.emit('exchange.unreachable', 'unreachable', {})).to.equal(false);
    expect(await h.orders.outbox.emit('risk.triggered', 'kill switch', {})).to.equal(false);
    expect(h.eventTypes()).to.deep.equal([]);
    logWorks = true;
    expect(await h.orders.outbox.emit('exchange.recovered', 'recovered', {})).to.equal(true);
    expect(h.eventTypes()).to.deep.equal(['exchange.unreachable', 'risk.triggered', 'exchange.recovered']);
    await h.orders.outbox.drain();
    expect(h.eventTypes()).to.have.length(3); // nothing twice
  });

  it('a trade fetch that returns after another update of the same order does not undo that update', async () => {
    // two updates of one order overlap: a partial fill whose trades are being fetched, and meanwhile the
    // exchange's answer that the order is cancelled (a late create answer or a cancel can arrive like this)
    let release!: (t: ExchangeTrade[]) => void;
    const gate = new Promise<ExchangeTrade[]>((r) => (release = r));
    let gated = false;
    let asked!: () => void;
    const tradesAsked = new Promise<void>((r) => (asked = r));
    h = await EngineHarness.open({
      wrapExchange: (paper) =>
        withOverrides(paper, {
          fetchOrderTrades: (id, symbol) => {
            if (!gated) return paper.fetchOrderTrades(id, symbol);
            asked();
            return gate;
          },
        }),
    });
    h.manager.startAccepting();
    const price = (await h.paper.fetchTicker('BTC/USDT')).last;
    const placed = await h.manager.place({ ...buy, type: 'limit', price: Math.round(price / 2) });
    expect(placed.status).to.equal('open');
    const remote = await h.paper.fetchOrder(placed.exchangeOrderId!, 'BTC/USDT');
    const trade: ExchangeTrade = {
      id: 't1',
      orderId: remote.id,
      symbol: 'BTC/USDT',
      side: 'buy',
      price: remote.price!,
      amount: 0.0005,
      cost: 0.0005 * remote.price!,
      fee: { cost: 0, currency: 'USDT' },
      timestamp: h.clock.now(),
    };
    gated = true;
    const partial = h.orders.answers.apply('bot-tst000-1', {
      ...remote,
      filled: 0.0005,
      remaining: 0.0005,
      trades: undefined,
    });
    await tradesAsked; // the partial fill is committed; its trade fetch is waiting
    expect(h.orderBook.order('bot-tst000-1')!.status).to.equal('partially_filled');
    await h.orders.answers.apply('bot-tst000-1', {
      ...remote,
      status: 'canceled',
      filled: 0.0005,
      remaining: 0.0005,
      trades: [trade],
    });
    expect(h.orderBook.order('bot-tst000-1')!.status).to.equal('cancelled');
    release([trade]);
    await partial;
    const order = h.orderBook.order('bot-tst000-1')!;
    expect(order.status).to.equal('cancelled');
    expect(order.fills.map((f) => f.tradeId)).to.deep.equal(['t1']);
    expect(h.stateFile().orders['bot-tst000-1'].status).to.equal('cancelled');
    expect(h.eventTypes().filter((t) => t === 'order.cancelled')).to.have.length(1);
  });

  it('takes what a cancelled order filled from the exchange, not from a bare cancel acknowledgement', async () => {
    // thin answers, as many exchanges give: the create is an ACK (no fill yet), the cancel an ACK (filled 0)
    const thin = (o: ExchangeOrder): ExchangeOrder => ({
      ...o,
      status: o.status === 'closed' ? 'open' : o.status,
      filled: 0,
      remaining: o.amount,
      average: undefined,
      trades: undefined,
    });
    h = await EngineHarness.open({
      config: { trading: { paper: { candleMs: 60_000, startingBalances: { USDT: 100_000 } } } },
      wrapExchange: (paper) =>
        withOverrides(paper, {
          createOrder: async (req) => thin(await paper.createOrder(req)),
          cancelOrder: async (id, symbol) => thin(await paper.cancelOrder(id, symbol)),
        }),
    });
    h.manager.startAccepting();
    const price = (await h.paper.fetchTicker('BTC/USDT')).last;
    // marketable and above the partial-fill cap: a first slice fills at once, the rest rests
    const placed = await h.manager.place({
      ...buy,
      type: 'limit',
      amount: 0.2,
      price: Math.round(price * 1.2),
    });
    expect(placed).to.include({ status: 'open', filled: 0 });
    const cancelled = await h.orders.canceller.cancel('bot-tst000-1');
    const onExchange = Object.values(h.paperFile().orders)[0] as unknown as { filled: number };
    expect(onExchange.filled).to.be.greaterThan(0);
    expect(cancelled).to.include({ status: 'cancelled', filled: onExchange.filled });
    expect(cancelled.fills.reduce((s, f) => s + f.amount, 0)).to.be.closeTo(onExchange.filled, 1e-12);
    expect(h.orderBook.positions()['BTC/USDT'].amount).to.be.closeTo(h.paperFile().balances.BTC.free, 1e-12);
  });

  describe('an order the exchange acknowledged but does not show yet (asynchronous create, lagging reads)', () => {
    /** Creates answer with ids only (Bybit); fetchOrder misses while `hidden()`; cancels are ids only too. */
    function ackOnly(hidden: () => boolean) {
      return (paper: PaperExchange): Exchange =>
        withOverrides(paper, {
          createOrder: ackOnlyCreate(paper),
          fetchOrder: async (id, symbol) => {
            if (hidden()) throw new OrderNotFoundError('the exchange has no such order', { orderId: id });
            return paper.fetchOrder(id, symbol);
          },
        });
    }

    it('stays open while lookups miss within the not-found window, then takes the exchange view', async () => {
      let hidden = true;
      h = await EngineHarness.open({ wrapExchange: ackOnly(() => hidden) });
      h.manager.startAccepting();
      expect(await h.manager.place(buy)).to.include({ status: 'open', filled: 0 });
      // one miss proves nothing: no OrderNotFoundError (the loop would pause entries on it), the order waits
      expect(await h.orders.refresher.refresh('bot-tst000-1')).to.deep.equal({ from: 'open', to: 'open' });
      expect(await h.orders.canceller.cancel('bot-tst000-1')).to.include({ status: 'open' });
      hidden = false;
      expect(await h.orders.refresher.refresh('bot-tst000-1')).to.deep.equal({ from: 'open', to: 'filled' });
      expect(h.orderBook.positions()['BTC/USDT'].amount).to.equal(0.001);
    });

    it('settles it from its fills once the window from the send has passed: filled, its position booked', async () => {
      h = await EngineHarness.open({
        wrapExchange: ackOnly(() => true),
        config: { trading: { orders: { unknownNotFoundWindowMs: 200 } } },
      });
      h.manager.startAccepting();
      await h.manager.place(buy);
      await h.fakeClock().advance(250, 250);
      // the lookups still miss, in a row over the window from the first: not among the open orders, its trades
      // fill it whole
      await missedOnce(h, 'bot-tst000-1');
      expect(await h.orders.refresher.refresh('bot-tst000-1')).to.deep.equal({ from: 'open', to: 'filled' });
      expect(h.orderBook.order('bot-tst000-1')).to.include({ filled: 0.001, settledAbsent: true });
      expect(h.orderBook.positions()['BTC/USDT'].amount).to.equal(0.001);
      expect(h.eventTypes().filter((t) => t === 'order.settled_absent')).to.have.length(1);
    });
  });

  describe('an acknowledged order the exchange no longer shows: settled from its reads, or left as it is', () => {
    /**
     * Every order read (lookups and the open-orders list) misses the bot's first order while `hidden()`, and so does
     * its cancel (an exchange that documents no matching-engine answer for its cancel, as Bybit and OKX) unless
     * `cancelFromEngine` (Binance: the cancel knows every order it took).
     */
    function forgetting(
      hidden: () => boolean,
      opts: {
        tradesFail?: () => boolean;
        reachMs?: number;
        tradeReads?: { n: number };
        cancelFromEngine?: boolean;
      } = {},
    ) {
      const ours = (o: { clientOrderId?: string }): boolean => o.clientOrderId === 'bot-tst000-1';
      const unlessHidden = (order: ExchangeOrder): ExchangeOrder => {
        if (hidden() && ours(order)) throw new OrderNotFoundError('the exchange has no such order');
        return order;
      };
      return (paper: PaperExchange): Exchange =>
        withOverrides(paper, {
          traits: {
            ...paper.traits,
            tradeHistoryReachMs: opts.reachMs,
            cancelFromEngine: opts.cancelFromEngine === true,
          },
          cancelOrder: async (id, symbol) => {
            if (!opts.cancelFromEngine) unlessHidden(await paper.fetchOrder(id, symbol));
            return paper.cancelOrder(id, symbol);
          },
          fetchOrderTrades: async (id, symbol) => {
            if (opts.tradeReads) opts.tradeReads.n++;
            if (opts.tradesFail?.()) throw new NetworkError('trades: 503 Service Unavailable', {});
            return paper.fetchOrderTrades(id, symbol);
          },
          fetchOrder: async (id, symbol) => unlessHidden(await paper.fetchOrder(id, symbol)),
          fetchOrderByClientId: async (id, symbol) =>
            unlessHidden(await paper.fetchOrderByClientId(id, symbol)),
          fetchOpenOrders: async (symbol) =>
            (await paper.fetchOpenOrders(symbol)).filter((o) => !(hidden() && ours(o))),
        });
    }

    /**
     * A limit buy whose first slice fills at once and whose rest rests, then hidden past the not-found window: it
     * ends cancelled (settled absent, or found by its cancel where the matching engine answers it). The engine (also
     * the test's `h`, closed after it) and the order as placed.
     */
    async function endedPartlyFilled(
      hidden: { on: boolean },
      cancelFromEngine = false,
    ): Promise<{ engine: EngineHarness; placed: LocalOrder }> {
      h = await EngineHarness.open({
        wrapExchange: forgetting(() => hidden.on, { cancelFromEngine }),
        config: {
          trading: {
            orders: { unknownNotFoundWindowMs: 200 },
            paper: { candleMs: 60_000, startingBalances: { USDT: 100_000 } },
          },
        },
      });
      h.manager.startAccepting();
      const price = (await h.paper.fetchTicker('BTC/USDT')).last;
      await h.manager.place({ ...buy, type: 'limit', amount: 0.2, price: Math.round(price * 1.2) });
      await h.orders.refresher.refresh('bot-tst000-1');
      const placed = h.orderBook.order('bot-tst000-1')!;
      expect(placed.status).to.equal('partially_filled');
      hidden.on = true;
      await h.fakeClock().advance(250, 250);
      await missedOnce(h, 'bot-tst000-1');
      expect(await h.orders.refresher.refresh('bot-tst000-1')).to.deep.equal({
        from: 'partially_filled',
        to: 'cancelled',
      });
      return { engine: h, placed };
    }

    /** As endedPartlyFilled, its cancel lagging like its reads: settled absent. */
    async function settledPartlyFilled(hidden: { on: boolean }): Promise<{ filled: number }> {
      const { engine, placed } = await endedPartlyFilled(hidden);
      expect(engine.orderBook.order('bot-tst000-1')).to.include({
        settledAbsent: true,
        filled: placed.filled,
      });
      return { filled: placed.filled };
    }

    it('a limit order still resting there, its cancel answered by the matching engine: found by its cancel, never ended on our inference', async () => {
      const { engine, placed } = await endedPartlyFilled({ on: false }, true);
      const order = engine.orderBook.order('bot-tst000-1')!;
      expect(order).to.include({ status: 'cancelled', filled: placed.filled });
      expect(order.settledAbsent, 'the exchange answered for it: no inference').to.equal(undefined);
      expect(
        (await engine.paper.fetchOrder(order.exchangeOrderId!, 'BTC/USDT')).status,
        'cancelled there',
      ).to.equal('canceled');
      expect(engine.eventTypes()).not.to.include('order.settled_absent');
    });

    it("takes it back when a lookup shows it: the exchange's answer wins (still working), one alert", async () => {
      const hidden = { on: false };
      const { filled } = await settledPartlyFilled(hidden);
      expect(h!.orderBook.positions()['BTC/USDT'].amount).to.be.closeTo(filled, 1e-12);
      hidden.on = false;
      await h!.fakeClock().advance(250, 250);
      const taken = await h!.orders.rechecks.recheck('due');
      expect(taken).to.deep.equal([
        { clientOrderId: 'bot-tst000-1', from: 'cancelled', to: 'partially_filled' },
      ]);
      const order = h!.orderBook.order('bot-tst000-1')!;
      expect(order).to.include({ status: 'partially_filled', filled });
      expect(order.settledAbsent).to.equal(undefined);
      // its fills are counted once
      expect(h!.orderBook.positions()['BTC/USDT'].amount).to.be.closeTo(filled, 1e-12);
      const events = h!.events.filter((e) => e.type === 'order.taken_back');
      expect(events).to.have.length(1);
      expect(events[0].summary).to.match(
        /was settled as cancelled \(filled [\d.]+\) when the exchange no longer showed it, but the exchange has it \(open/,
      );
      // working again: the next refresh follows the exchange
      expect((await h!.orders.refresher.refresh('bot-tst000-1')).to).to.equal('partially_filled');
    });

    it('reads its fills again only on the backoff after a failed read, and settles it then', async () => {
      let fail = true;
      const tradeReads = { n: 0 };
      h = await EngineHarness.open({
        wrapExchange: forgetting(() => true, { tradesFail: () => fail, tradeReads }),
        config: { trading: { orders: { unknownNotFoundWindowMs: 200, type: 'limit' } } },
      });
      h.manager.startAccepting();
      const price = (await h.paper.fetchTicker('BTC/USDT')).last;
      // resting well below the price: no fill
      await h.manager.place({ ...buy, type: 'limit', price: Math.round(price * 0.5) });
      await h.fakeClock().advance(250, 250);
      const refresh = () => h!.orders.refresher.refresh('bot-tst000-1').catch((err: unknown) => err);
      await missedOnce(h, 'bot-tst000-1');
      const first = await refresh();
      expect(first).to.be.instanceOf(OrderNotFoundError);
      expect((first as Error).message).to.match(
        /not settled: its open orders or fills could not be read \(trades: 503/,
      );
      expect(tradeReads.n).to.equal(1);
      fail = false;
      // within the backoff (the not-found window, 200 ms): no read, the same answer
      await h.fakeClock().advance(150, 150);
      expect(await refresh()).to.be.instanceOf(OrderNotFoundError);
      expect(tradeReads.n).to.equal(1);
      await h.fakeClock().advance(100, 100);
      expect(await refresh()).to.deep.equal({ from: 'open', to: 'cancelled' });
      expect(tradeReads.n).to.equal(2);
    });

    it('a failed try no longer delays the next once a lookup has found the order in between', async () => {
      let hidden = true;
      const tradeReads = { n: 0 };
      h = await EngineHarness.open({
        wrapExchange: forgetting(() => hidden, { tradesFail: () => tradeReads.n <= 2, tradeReads }),
        config: { trading: { orders: { unknownNotFoundWindowMs: 200, type: 'limit' } } },
      });
      h.manager.startAccepting();
      const price = (await h.paper.fetchTicker('BTC/USDT')).last;
      await h.manager.place({ ...buy, type: 'limit', price: Math.round(price * 0.5) });
      await h.fakeClock().advance(250, 250);
      const refresh = () => h!.orders.refresher.refresh('bot-tst000-1').catch((err: unknown) => err);
      await missedOnce(h, 'bot-tst000-1');
      expect(await refresh()).to.be.instanceOf(OrderNotFoundError);
      await h.fakeClock().advance(250, 250);
      expect(await refresh()).to.be.instanceOf(OrderNotFoundError);
      // two failed tries: the next would wait 400 ms
      expect(tradeReads.n).to.equal(2);
      // the exchange shows it again: working, nothing to settle
      hidden = false;
      expect(await refresh()).to.deep.equal({ from: 'open', to: 'open' });
      // gone again: its misses start over, and once they make it absent (250 ms, within what the failed tries'
      // backoff was) its fills are read at once and it is settled
      hidden = true;
      await missedOnce(h, 'bot-tst000-1');
      expect(await refresh()).to.deep.equal({ from: 'open', to: 'cancelled' });
      expect(tradeReads.n).to.equal(3);
    });

    it('one miss settles nothing: a filled order its reads lag behind is booked once they catch up', async () => {
      const lag = { on: false };
      // Bybit: a create is answered with ids only ("asynchronous"); right after a fill its order history "may
      // delay", it is gone from the open orders and its fills may not be listed yet
      const lagging = (paper: PaperExchange): Exchange =>
        withOverrides(paper, {
          createOrder: ackOnlyCreate(paper),
          fetchOrder: async (id, symbol) => {
            if (lag.on) throw new OrderNotFoundError('the exchange has no such order', { orderId: id });
            return paper.fetchOrder(id, symbol);
          },
          fetchOrderByClientId: async (id, symbol) => {
            if (lag.on) throw new OrderNotFoundError('the exchange has no such order', { orderId: id });
            return paper.fetchOrderByClientId(id, symbol);
          },
          fetchOrderTrades: async (id, symbol) => (lag.on ? [] : paper.fetchOrderTrades(id, symbol)),
        });
      h = await EngineHarness.open({
        wrapExchange: lagging,
        config: { trading: { orders: { unknownNotFoundWindowMs: 200 } } },
      });
      h.manager.startAccepting();
      await h.manager.place(buy);
      expect(h.orderBook.order('bot-tst000-1')).to.include({ status: 'open' });
      // its send long past the window; one read lags
      await h.fakeClock().advance(250, 250);
      lag.on = true;
      expect(await h.orders.refresher.refresh('bot-tst000-1')).to.deep.equal({ from: 'open', to: 'open' });
      expect(h.orderBook.order('bot-tst000-1')!.settledAbsent).to.equal(undefined);
      expect(h.eventTypes()).to.not.include('order.settled_absent');
      // the reads catch up: filled, its position booked
      lag.on = false;
      expect(await h.orders.refresher.refresh('bot-tst000-1')).to.deep.equal({ from: 'open', to: 'filled' });
      expect(h.orderBook.positions()['BTC/USDT']!.amount).to.equal(0.001);
    });

    it("leaves one older than the exchange's trade history as it is, saying so, without reading its fills", async () => {
      const tradeReads = { n: 0 };
      h = await EngineHarness.open({
        wrapExchange: forgetting(() => true, { reachMs: 3 * 86_400_000, tradeReads }),
        // hour candles: two days of the simulated market stay quick
        config: { trading: { orders: { unknownNotFoundWindowMs: 200 }, paper: { candleMs: 3_600_000 } } },
      });
      h.manager.startAccepting();
      const price = (await h.paper.fetchTicker('BTC/USDT')).last;
      await h.manager.place({ ...buy, type: 'limit', price: Math.round(price * 0.5) });
      // two days: within the history (3 days, less a day's edge) it would be settled; a moment more is beyond
      await h.fakeClock().advance(2 * 86_400_000, 3_600_000);
      await missedOnce(h, 'bot-tst000-1');
      const err = await h.orders.refresher.refresh('bot-tst000-1').catch((e: unknown) => e);
      expect(err).to.be.instanceOf(OrderNotFoundError);
      expect((err as Error).message).to.match(
        /not settled: created 2 days ago, beyond the 3 days the exchange's trade history reaches/,
      );
      expect((err as OrderNotFoundError).context).to.include({ clientOrderId: 'bot-tst000-1' });
      expect(h.orderBook.order('bot-tst000-1')).to.include({ status: 'open' });
      expect(tradeReads.n).to.equal(0);
    });

    it('confirms it, with no alert, when a lookup shows it as it was settled', async () => {
      const hidden = { on: false };
      await settledPartlyFilled(hidden);
      // cancelled on the exchange meanwhile, with the same fills: what the settlement said
      await h!.paper.cancelOrder(h!.orderBook.order('bot-tst000-1')!.exchangeOrderId!, 'BTC/USDT');
      hidden.on = false;
      await h!.fakeClock().advance(250, 250);
      expect(await h!.orders.rechecks.recheck('due')).to.deep.equal([]);
      expect(h!.orderBook.order('bot-tst000-1')).to.include({ status: 'cancelled' });
      expect(h!.orderBook.order('bot-tst000-1')!.settledAbsent).to.equal(undefined);
      expect(h!.eventTypes()).to.not.include('order.taken_back');
      // no longer looked up
      await h!.fakeClock().advance(3_600_000, 3_600_000);
      expect(await h!.orders.rechecks.recheck('all')).to.deep.equal([]);
    });
  });

  it("refuses at start a bot id whose longest clientOrderId would not fit the exchange's rule (OKX: 32 letters or digits)", async () => {
    // the paper exchange with OKX's clientOrderId rule: <botId>Z<installId (6)>Z<seq (up to 10 digits)>
    const okxRule = (paper: PaperExchange): Exchange =>
      withOverrides(paper, {
        traits: { ...paper.traits, lookupGraceMs: 5_000, clientOrderId: okxProfile.clientOrderId },
      });
    h = await EngineHarness.open({ config: { app: { botId: 'abcdefghijklmn' } }, wrapExchange: okxRule });
    h.manager.startAccepting();
    expect((await h.manager.place(buy)).clientOrderId).to.equal('abcdefghijklmnZtst000Z1');
    // one character more: 15 + 1 + 6 + 1 + 10 = 33
    let failure: unknown;
    try {
      wireOrders({
        exchange: h.exchange,
        store: h.files.store,
        history: h.files.history,
        publisher: h.eventLog,
        markets: h.orderBook.markets,
        botId: 'abcdefghijklmno',
        orders: h.config.trading.orders,
        lookupTimeoutMs: h.config.trading.symbolReadTimeoutMs,
        clock: h.clock,
        logger: silentLogger(),
      });
    } catch (err) {
      failure = err;
    }
    expect(failure).to.be.instanceOf(ConfigError);
    expect((failure as ConfigError).problems[0]).to.include({ field: 'app.botId', value: 'abcdefghijklmno' });
  });

  it('keeps order events in the state outbox while the event log refuses them, then publishes each once, in order', async () => {
    let logWorks = false;
    h = await EngineHarness.open({
      wrapEvents: eventLogDownWhile(() => !logWorks),
    });
    h.manager.startAccepting();
    const order = await h.manager.place(buy);
    expect(order.status).to.equal('filled');
    const waiting = h.files.store.data.outbox.map((e) => e.type);
    expect(waiting).to.include.members(['order.placed', 'order.filled']);
    expect(h.events.filter((e) => e.data.clientOrderId === 'bot-tst000-1')).to.deep.equal([]);

    logWorks = true;
    expect(await h.orders.outbox.drain()).to.equal(waiting.length);
    expect(h.files.store.data.outbox).to.deep.equal([]);
    expect(await h.orders.outbox.drain()).to.equal(0);
    const logged = h.events.filter((e) => e.data.eventKey !== undefined).map((e) => e.type);
    expect(logged).to.deep.equal(waiting); // same order, each once
  });

  it('a flush during an order commit publishes none of its events before the commit is durable, and none twice', async () => {
    let slowWrites = false;
    h = await EngineHarness.open({
      // the change is in memory at once (Store.commit), its write takes 40 ms more
      wrapStore: (store) => ({
        get data() {
          return store.data;
        },
        get version() {
          return store.version;
        },
        change: (m) => store.change(m),
        commit: (m) => {
          const write = store.commit(m);
          return slowWrites ? write.then(() => h!.clock.sleep(40)).then(() => undefined) : write;
        },
        flush: () => store.flush(),
      }),
    });
    const clock = h.fakeClock();
    h.manager.startAccepting();
    slowWrites = true;
    let placing = true;
    // what a tick (or a late create answer) does meanwhile: a drain every 5 ms
    const flushes = (async () => {
      while (placing) {
        await h!.orders.outbox.drain();
        await clock.sleep(5);
      }
    })();
    let done = false;
    const placed = h.manager.place(buy).finally(() => (placing = false));
    const both = Promise.all([placed, flushes]).finally(() => (done = true));
    while (!done) await clock.advance(5, 5);
    await both;
    const keyed = h.events.filter((e) => e.data.eventKey !== undefined);
    expect(keyed.map((e) => e.type)).to.deep.equal(['order.placed', 'order.filled', 'position.opened']);
    expect(new Set(keyed.map((e) => e.data.eventKey)).size).to.equal(3);
  });

  it('order events reach the log in commit order: waiting ones before those of a later order', async () => {
    let logWorks = false;
    h = await EngineHarness.open({ wrapEvents: eventLogDownWhile(() => !logWorks) });
    h.manager.startAccepting();
    await h.manager.place(buy);
    logWorks = true;
    await h.manager.place(buy);
    const keyed = h.events.filter((e) => e.data.eventKey !== undefined && e.type.startsWith('order.'));
    expect(keyed.map((e) => `${e.type} ${String(e.data.clientOrderId)}`)).to.deep.equal([
      'order.placed bot-tst000-1',
      'order.filled bot-tst000-1',
      'order.placed bot-tst000-2',
      'order.filled bot-tst000-2',
    ]);
  });

  it('does not repeat an outbox event the event log already has (crash after the publish, before the outbox write)', async () => {
    h = await EngineHarness.open();
    await h.eventLog.publish('order.filled', 'already logged', { eventKey: 'k-logged' });
    await h.files.store.commit((d) => {
      d.outbox.push(
        { key: 'k-logged', type: 'order.filled', summary: 'already logged', data: {} },
        { key: 'k-new', type: 'order.cancelled', summary: 'never logged', data: {} },
      );
    });
    h = await h.restart();
    expect(await h.orders.outbox.drain()).to.equal(1);
    const keys = h.eventLog.eventsAfter(0).map((e) => e.data.eventKey);
    expect(keys.filter((k) => k === 'k-logged')).to.have.length(1);
    expect(keys.filter((k) => k === 'k-new')).to.have.length(1);
    expect(h.files.store.data.outbox).to.deep.equal([]);
  });
});

/** The real store, except that commits fail with ENOSPC while `failing()` is true (the file stays as it was). */
/**
 * A lookup of an acknowledged order `id` that misses (past a 200 ms not-found window from its send), then 250 ms:
 * the order stays as it is; the next miss, over the window from the first (the harness asks 1 miss), makes it
 * absent.
 */
async function missedOnce(h: EngineHarness, id: string): Promise<void> {
  const status = h.orderBook.order(id)!.status;
  expect(await h.orders.refresher.refresh(id)).to.deep.equal({ from: status, to: status });
  await h.fakeClock().advance(250, 250);
}

function failingStore(store: StateStore, failing: () => boolean): StateStore {
  return {
    get data() {
      return store.data;
    },
    get version() {
      return store.version;
    },
    change: (m) => store.change(m),
    commit: (m) => {
      if (!failing()) return store.commit(m);
      if (m) m(store.data);
      return Promise.reject(
        new PersistenceError('no space left on device', { path: 'trading-state.json' }, { code: 'ENOSPC' }),
      );
    },
    flush: () =>
      failing()
        ? Promise.reject(new PersistenceError('no space left on device', {}, { code: 'ENOSPC' }))
        : store.flush(),
  };
}

async function expectRejects(p: Promise<unknown>, type: new (...args: never[]) => Error): Promise<void> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(type);
    return;
  }
  expect.fail('expected a rejection');
}
