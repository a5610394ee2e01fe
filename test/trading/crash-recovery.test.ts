/**
 * Crash tests with real processes: the compiled trading daemon runs as a child process on a fast paper market,
 * SIGKILLs itself at one step of its first order (test hook), and is started again. After recovery: exactly one
 * exchange order per clientOrderId, every order of ours on the exchange known to state, positions equal to the
 * fills (and to the paper account's balances), and `reconcile` over the real TCP layer reports no difference.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FakeBinance } from '../../harness/exchanges/fake-binance';
import type { ReconcileDifference, RecoverySummary, TradingEvent } from '../../src/shared/ipc/protocol';
import { CRASH_STEPS, type CrashStep } from '../../harness/faults/crash-points';
import type { LocalOrder } from '../../src/trading/engine/orders/order-state';
import { derivePositions, type PositionBook } from '../../src/trading/engine/books/pnl';
import type { TradingState } from '../../src/trading/engine/state/trading-state';
import { freePort } from '../../harness/ports';
import { localOrders, readEnvelope, readJsonl, reconcileOverTcp } from '../support/trading-files';
import { TradingProcess } from '../support/trading-process';

const TOKEN = 'crash-test-token-0123456789abcdef';

interface PaperOrder {
  clientOrderId?: string;
  status: string;
  symbol: string;
  trades: Array<{ id: string; side: 'buy' | 'sell'; amount: number }>;
}

/** The id of the first order of the install whose state is in `dataDir` (`crash-<installId>-1`). */
function firstOrderId(dataDir: string): string {
  return `crash-${readEnvelope<TradingState>(path.join(dataDir, 'trading-state.json')).installId}-1`;
}

function reconcile(port: number): Promise<{ differences: ReconcileDifference[] }> {
  return reconcileOverTcp(port, TOKEN);
}

describe('trading crash recovery with real processes (SIGKILL mid-order)', function () {
  this.timeout(60_000);
  const roots: string[] = [];
  const running: TradingProcess[] = [];

  after(async () => {
    await Promise.all(running.map((p) => p.stop()));
    for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
  });

  it('refuses a second trading process on the same data dir (exit 75) while the first keeps running', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-twice-'));
    roots.push(root);
    const port = await freePort();
    const first = new TradingProcess(root, port);
    running.push(first);
    await first.ready;
    const second = new TradingProcess(root, await freePort());
    running.push(second);
    expect((await second.exited).code, second.log()).to.equal(75);
    const { differences } = await reconcile(port);
    expect(differences).to.deep.equal([]);
    await first.stop();
    expect((await first.exited).code).to.equal(0);
  });

  // the scenarios run side by side (each its own processes, dir and port); each test awaits its own
  const scenarios = new Map<CrashStep, Promise<void>>();
  before(() => {
    for (const step of CRASH_STEPS) {
      const run = crashScenario(step);
      run.catch(() => {}); // reported by the step's own test
      scenarios.set(step, run);
    }
  });

  for (const step of CRASH_STEPS) {
    it(`after SIGKILL at ${step}: one exchange order per clientOrderId, positions equal fills, reconcile finds nothing`, () =>
      scenarios.get(step)!);
  }

  async function crashScenario(step: CrashStep): Promise<void> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `byninja-crash-${step}-`));
    roots.push(root);
    const dataDir = path.join(root, 'data');
    const port = await freePort();

    const first = new TradingProcess(root, port, step);
    running.push(first);
    const died = await first.exited;
    expect(died.signal, first.log()).to.equal('SIGKILL');
    expect(first.log()).to.contain(`test hook: SIGKILL at ${step}`);

    // what the crash left behind, before any recovery
    const paperAtCrash = readEnvelope<{ orders: Record<string, PaperOrder> }>(
      path.join(dataDir, 'paper-exchange.json'),
    );
    const atCrash = localOrders(dataDir);
    const id = firstOrderId(dataDir);
    const crashOrder = atCrash.orders.get(id);
    const onExchange = Object.values(paperAtCrash.orders).filter((o) => o.clientOrderId === id);
    switch (step) {
      case 'before-intent-commit':
        expect(crashOrder).to.equal(undefined);
        expect(onExchange).to.have.length(0);
        break;
      case 'after-intent-commit':
        expect(crashOrder?.status).to.equal('intent');
        expect(onExchange).to.have.length(0);
        break;
      case 'after-create':
        expect(crashOrder?.status).to.equal('intent');
        expect(onExchange).to.have.length(1);
        break;
      case 'after-fill':
        expect(crashOrder?.status).to.equal('filled');
        expect(crashOrder?.fills).to.deep.equal([]);
        expect(onExchange).to.have.length(1);
        break;
      case 'before-events':
        // the order change and its events are committed together; the event log has none of them yet
        expect(atCrash.state.outbox.length).to.be.greaterThan(0);
        expect(onExchange).to.have.length(1);
        break;
    }
    // the outbox may also hold events already logged whose removal (a debounced write) the crash cut off
    const outboxAtCrash = atCrash.state.outbox.map((e) => e.key);
    if (step === 'before-events') {
      const logged = readJsonl<TradingEvent>(path.join(dataDir, 'events.jsonl')).map((e) => e.data.eventKey);
      expect(outboxAtCrash.filter((key) => !logged.includes(key))).to.not.deep.equal([]);
    }

    const second = new TradingProcess(root, port);
    running.push(second);
    await second.ready;
    // keep trading a little after recovery, then compare with the exchange while it runs
    await sleep(1500);
    const { differences } = await reconcile(port);
    expect(differences, second.log()).to.deep.equal([]);
    await second.stop();
    expect((await second.exited).code, second.log()).to.equal(0);

    const events = readJsonl<TradingEvent>(path.join(dataDir, 'events.jsonl'));
    const recovery = events.filter((e) => e.type === 'recovery').pop()!.data as unknown as RecoverySummary;
    const { state, orders } = localOrders(dataDir);
    const paper = readEnvelope<{
      orders: Record<string, PaperOrder>;
      balances: Record<string, { free: number; used: number }>;
    }>(path.join(dataDir, 'paper-exchange.json'));

    // exactly one exchange order per clientOrderId, and every one of ours known to state
    const perClientId = new Map<string, number>();
    for (const o of Object.values(paper.orders))
      perClientId.set(o.clientOrderId!, (perClientId.get(o.clientOrderId!) ?? 0) + 1);
    expect([...perClientId.values()].every((n) => n === 1)).to.equal(true);
    for (const id of perClientId.keys()) expect(orders.has(id), `${id} unknown to state`).to.equal(true);
    // and every local order that is not "never placed" exists on the exchange
    for (const o of orders.values()) {
      if (o.status === 'rejected') expect(perClientId.has(o.clientOrderId)).to.equal(false);
      else expect(perClientId.get(o.clientOrderId), o.clientOrderId).to.equal(1);
    }
    expect(orders.size).to.be.greaterThan(1);

    // positions derived from fills equal the fills on the exchange and the account's base balances
    const books: Record<string, PositionBook> = derivePositions(
      state.checkpoint,
      Object.values(state.orders).flatMap((o) => o.fills),
      {},
      'trade-id',
    );
    for (const symbol of ['BTC/USDT', 'ETH/USDT']) {
      const base = symbol.split('/')[0];
      const exchangeNet = Object.values(paper.orders)
        .filter((o) => o.symbol === symbol)
        .flatMap((o) => o.trades)
        .reduce((s, t) => s + (t.side === 'buy' ? t.amount : -t.amount), 0);
      const held = books[symbol]?.amount ?? 0;
      expect(held).to.be.closeTo(exchangeNet, 1e-9);
      const balance = paper.balances[base] ?? { free: 0, used: 0 };
      expect(held).to.be.closeTo(balance.free + balance.used, 1e-9);
    }

    // what recovery says about the interrupted order
    if (step === 'after-intent-commit') {
      // never sent: one lookup proves nothing, so recovery leaves it unknown and the loop declares it never
      // placed once the unknown-order rule allows (3 misses, a window of 300 ms here)
      // (the other symbol, ticking beside it, may have committed its intent before the kill too)
      expect(recovery.stillUnknown).to.include(id);
      expect(orders.get(id)!.status).to.equal('rejected');
      expect(orders.get(id)!.lookupMisses).to.be.at.least(3);
    } else if (step === 'after-create') {
      expect(recovery.resolvedUnknown).to.deep.include({ clientOrderId: id, found: true });
      expect(orders.get(id)!.status).to.equal('filled');
    } else if (step === 'after-fill') {
      expect(recovery.newFills).to.be.greaterThan(0);
      expect(orders.get(id)!.fills.length).to.be.greaterThan(0);
    }
    expect(recovery.lastExit.kind).to.not.equal('clean');

    // every order event reached the event log exactly once, including those the crash left in the outbox
    const keyCounts = new Map<unknown, number>();
    for (const e of events) {
      if (e.data.eventKey !== undefined)
        keyCounts.set(e.data.eventKey, (keyCounts.get(e.data.eventKey) ?? 0) + 1);
    }
    expect([...keyCounts.values()].every((n) => n === 1)).to.equal(true);
    for (const key of outboxAtCrash) expect(keyCounts.get(key), `outbox event ${key}`).to.equal(1);
    expect(state.outbox).to.deep.equal([]);
    if (step === 'before-events') {
      const crashEvents = events.filter((e) => e.data.clientOrderId === id).map((e) => e.type);
      expect(crashEvents).to.include('order.placed');
      expect(new Set(crashEvents).size).to.equal(crashEvents.length);
    }
  }
});

describe('trading crash recovery on the live ccxt path against a local fake Binance (real processes)', function () {
  this.timeout(60_000);
  let fake: FakeBinance;
  const roots: string[] = [];
  const running: TradingProcess[] = [];
  const liveEnv = (): NodeJS.ProcessEnv => ({
    BYNINJA_MODE: 'live',
    BYNINJA__TRADING__EXCHANGE: 'binance',
    BYNINJA__TRADING__EXCHANGE_API_URL: fake.url,
    EXCHANGE_API_KEY: 'crash-key',
    EXCHANGE_SECRET: 'crash-secret',
    // enter at once on every symbol (RSI below 99.9), never exit: one order per symbol
    BYNINJA__TRADING__STRATEGY__RSI_MEAN_REVERSION__OVERSOLD: '99.9',
    BYNINJA__TRADING__STRATEGY__RSI_MEAN_REVERSION__OVERBOUGHT: '100',
    BYNINJA__TRADING__TICK_INTERVAL_MS: '100',
  });

  beforeEach(async () => {
    fake = await FakeBinance.start({
      apiKey: 'crash-key',
      secret: 'crash-secret',
      balances: { USDT: 10_000 },
    });
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.stop()));
    await fake.close();
  });
  after(() => {
    for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
  });

  async function checkAgreement(
    root: string,
    port: number,
    proc: TradingProcess,
  ): Promise<Map<string, LocalOrder>> {
    // an intent the kill cut off before its create is declared never placed only once the unknown-order rule
    // allows (300 ms here, plus Binance's 5 s recvWindow)
    const unresolved = (): LocalOrder[] =>
      [...localOrders(path.join(root, 'data')).orders.values()].filter(
        (o) => o.status === 'intent' || o.status === 'unknown',
      );
    for (let i = 0; i < 100 && unresolved().length > 0; i++) await sleep(100);
    expect(unresolved(), proc.log()).to.deep.equal([]);
    const { differences } = await reconcile(port);
    expect(differences, proc.log()).to.deep.equal([]);
    await proc.stop();
    const { state, orders } = localOrders(path.join(root, 'data'));
    for (const o of fake.orders)
      expect(fake.ordersByClientId(o.clientOrderId), o.clientOrderId).to.have.length(1);
    for (const o of orders.values()) {
      expect(fake.ordersByClientId(o.clientOrderId), o.clientOrderId).to.have.length(
        o.status === 'rejected' ? 0 : 1,
      );
    }
    const books = derivePositions(
      state.checkpoint,
      Object.values(state.orders).flatMap((o) => o.fills),
      {},
      'trade-id',
    );
    for (const symbol of ['BTC/USDT', 'ETH/USDT']) {
      const base = symbol.split('/')[0];
      const balance = fake.balances[base] ?? { free: 0, locked: 0 };
      expect(books[symbol]?.amount ?? 0, symbol).to.be.closeTo(balance.free + balance.locked, 1e-9);
    }
    return orders;
  }

  it('after SIGKILL between create and ack commit: one Binance order per clientOrderId, positions equal fills', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-crash-live-'));
    roots.push(root);
    const port = await freePort();
    const first = new TradingProcess(root, port, 'after-create', liveEnv());
    running.push(first);
    expect((await first.exited).signal, first.log()).to.equal('SIGKILL');
    const id = firstOrderId(path.join(root, 'data'));
    expect(fake.ordersByClientId(id)).to.have.length(1);
    expect(localOrders(path.join(root, 'data')).orders.get(id)?.status).to.equal('intent');

    const second = new TradingProcess(root, port, undefined, liveEnv());
    running.push(second);
    await second.ready;
    await sleep(1000);
    const orders = await checkAgreement(root, port, second);
    expect(orders.get(id)!.status).to.equal('filled');
    expect(orders.get(id)!.fills.length).to.be.greaterThan(0);
  });

  it('resolves a create whose HTTP response was lost by clientOrderId lookup: never re-sent', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-lost-live-'));
    roots.push(root);
    const port = await freePort();
    fake.faults.next('createOrder', { kind: 'lose-response' });
    const proc = new TradingProcess(root, port, undefined, liveEnv());
    running.push(proc);
    await proc.ready;
    for (let i = 0; i < 50 && fake.orders.length < 2; i++) await sleep(100);
    await sleep(500);
    const creates = fake.requests.filter((r) => r.route === 'createOrder').length;
    const orders = await checkAgreement(root, port, proc);
    expect(fake.faults.pending).to.equal(0);
    expect(creates).to.equal(fake.orders.length);
    expect([...orders.values()].filter((o) => o.status === 'filled')).to.have.length(2);
  });
});
