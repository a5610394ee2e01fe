import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { InvalidOrderError, PersistenceError } from '../../../src/shared/errors';
import type { StateStore } from '../../../src/trading/engine/order-manager';
import type { CreateOrderRequest, Exchange } from '../../../src/trading/exchange/exchange';
import type { PaperExchange } from '../../../src/trading/exchange/paper-exchange';
import { EngineHarness } from './engine-harness';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A delegating exchange whose createOrder runs `before` first. */
function withCreate(paper: PaperExchange, create: (req: CreateOrderRequest) => Promise<unknown>): Exchange {
  return new Proxy(paper, {
    get(target, prop, receiver) {
      if (prop === 'createOrder') return create;
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as Exchange;
}

function paperOrdersFor(h: EngineHarness, clientOrderId: string) {
  return Object.values(h.paperFile().orders).filter((o) => o.clientOrderId === clientOrderId);
}

const buy = {
  symbol: 'BTC/USDT',
  side: 'buy' as const,
  type: 'market' as const,
  amount: 0.001,
  purpose: 'entry' as const,
};

describe('OrderManager against the paper exchange (integration)', function () {
  this.timeout(20_000);
  let h: EngineHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

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
          await sleep(100);
          return paperRef!.createOrder(req);
        });
      },
    });
    h.manager.startAccepting();
    const order = await h.manager.place(buy);
    expect(seenOnDisk).to.deep.include({ seq: 1 });
    expect((seenOnDisk as { order: { status: string; clientOrderId: string } }).order).to.include({
      status: 'intent',
      clientOrderId: 'bot-1',
    });
    expect(order.status).to.equal('filled');
    expect(h.stateFile().orders['bot-1'].status).to.equal('filled');
    expect(order.fills.reduce((s, f) => s + f.amount, 0)).to.equal(0.001);
    expect(h.manager.openPositions().map((p) => p.amount)).to.deep.equal([0.001]);
    expect(h.eventTypes()).to.include.members(['order.placed', 'order.filled', 'position.opened']);
  });

  it('resolves a create whose response was lost by lookup: exactly one exchange order, never re-sent', async () => {
    h = await EngineHarness.open({ faults: { operations: ['createOrder'], script: ['lose-response'] } });
    h.manager.startAccepting();
    const order = await h.manager.place(buy);
    expect(order.status).to.equal('filled');
    expect(paperOrdersFor(h, 'bot-1')).to.have.length(1);
    expect(h.paper.faults!.fired).to.deep.equal([{ operation: 'createOrder', kind: 'lose-response' }]);
    expect(h.manager.positions()['BTC/USDT'].amount).to.equal(0.001);
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
    expect(paperOrdersFor(h, 'bot-1')).to.have.length(1);
    expect(h.manager.positions()['BTC/USDT'].amount).to.equal(0.001);
  });

  it('declares a create that never reached the exchange rejected only after the confirmation delay', async () => {
    h = await EngineHarness.open({
      faults: { operations: ['createOrder'], script: ['network-before'] },
      unknownConfirmMs: 300,
    });
    h.manager.startAccepting();
    const order = await h.manager.place(buy);
    expect(order.status).to.equal('unknown');
    await sleep(350);
    await h.manager.refresh('bot-1');
    expect(h.manager.order('bot-1')!.status).to.equal('rejected');
    expect(paperOrdersFor(h, 'bot-1')).to.have.length(0);
    const rejected = h.events.find((e) => e.type === 'order.rejected');
    expect(rejected?.data).to.include({ clientOrderId: 'bot-1', neverPlaced: true });
    // the next order gets a new id: bot-1 is never reused
    const next = await h.manager.place(buy);
    expect(next.clientOrderId).to.equal('bot-2');
  });

  it('applies a late create answer that arrives after the create timeout', async () => {
    let paperRef: PaperExchange | undefined;
    h = await EngineHarness.open({
      config: { trading: { orders: { createTimeoutMs: 50 } } },
      unknownConfirmMs: 5_000,
      wrapExchange: (paper) => {
        paperRef = paper;
        return withCreate(paper, async (req) => {
          await sleep(200);
          return paperRef!.createOrder(req);
        });
      },
    });
    h.manager.startAccepting();
    const order = await h.manager.place(buy);
    expect(order.status).to.equal('unknown');
    for (let i = 0; i < 40 && h.manager.order('bot-1')!.status === 'unknown'; i++) await sleep(25);
    await h.manager.waitIdle(1000);
    expect(h.manager.order('bot-1')!.status).to.equal('filled');
    expect(paperOrdersFor(h, 'bot-1')).to.have.length(1);
  });

  it('places nothing when the intent cannot be saved, and allows orders again once saving works', async () => {
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
    h.manager.startAccepting();
    failWrites = true;
    await expectRejects(h.manager.place(buy), PersistenceError);
    await expectRejects(h.manager.place(buy), PersistenceError);
    expect(creates).to.equal(0);
    expect(h.manager.persistBlocked).to.match(/no space left/);
    expect(h.loop.pause?.by).to.equal('persist');
    expect(h.eventTypes().filter((t) => t === 'persist.failed')).to.have.length(1);
    failWrites = false;
    const order = await h.manager.place(buy);
    expect(creates).to.equal(1);
    // bot-1 was used by the intent that could not be saved; the refused second call did not take an id
    expect(order.clientOrderId).to.equal('bot-2');
    expect(h.manager.persistBlocked).to.equal(null);
    expect(h.eventTypes()).to.include('trading.resumed');
    expect(h.manager.order('bot-1')).to.include({ status: 'rejected' });
    expect(h.stateFile().orders['bot-1'].status).to.equal('rejected');
    expect(paperOrdersFor(h, 'bot-1')).to.have.length(0);
  });
});

/** The real store, except that commits fail with ENOSPC while `failing()` is true (the file stays as it was). */
function failingStore(store: StateStore, failing: () => boolean): StateStore {
  return {
    get data() {
      return store.data;
    },
    change: (m) => store.change(m),
    commit: (m) => {
      if (!failing()) return store.commit(m);
      if (m) m(store.data);
      return Promise.reject(
        new PersistenceError('no space left on device', { path: 'trading-state.json' }, { code: 'ENOSPC' }),
      );
    },
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
