import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { systemClock, type Clock } from '../../../src/shared/clock';
import { ShutdownCoordinator } from '../../../src/shared/lifecycle/shutdown';
import { createLogger, type Logger } from '../../../src/shared/logging/logger';
import { FakeClock, flush } from '../../support/fake-clock';

/** A logger that records the messages it receives. */
function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({
    service: 'test',
    console: false,
    sinks: [{ write: (entry) => lines.push(String(entry.message)) }],
  });
  return { logger, lines };
}

function setup(budgetMs = 2_000, clock: Clock = systemClock) {
  const { logger, lines } = recordingLogger();
  const exits: number[] = [];
  let exited: () => void = () => undefined;
  const exitedP = new Promise<void>((r) => (exited = r));
  const sc = new ShutdownCoordinator({
    clock,
    logger,
    budgetMs,
    exit: (code) => {
      exits.push(code);
      exited();
    },
  });
  return { sc, lines, exits, exitedP };
}

describe('ShutdownCoordinator', () => {
  it('runs steps by ascending order (registration order on ties), stores at 80, then exits with the code', async () => {
    const { sc, lines, exits, exitedP } = setup();
    const ran: string[] = [];
    sc.addStep('late', () => void ran.push('late'), { order: 90 });
    sc.addStep('first', () => void ran.push('first'), { order: 10 });
    sc.addStep('default-a', async () => void ran.push('default-a'));
    sc.addStep('default-b', () => void ran.push('default-b'));
    sc.addStore({ flush: async () => undefined, close: async () => void ran.push('store closed') });
    await sc.shutdown('SIGTERM', 3);
    await exitedP;
    expect(ran).to.deep.equal(['first', 'default-a', 'default-b', 'store closed', 'late']);
    expect(exits).to.deep.equal([3]);
    const seed = ['🛑 Shutdown signal received...', '💾 Forcing save to disk...', '✅ PersistentMap stopped'];
    expect(lines.filter((l) => seed.includes(l))).to.deep.equal(seed);
  });

  it('says "Shutdown signal received" only for a signal: a failed start says why it stops', async () => {
    const failed = setup();
    await failed.sc.shutdown('start failed: trading.symbols = DOGE/USDT', 78);
    await failed.exitedP;
    expect(failed.lines.some((l) => l.includes('Shutdown signal received'))).to.equal(false);
    expect(failed.lines).to.include('🛑 Stopping (start failed: trading.symbols = DOGE/USDT)...');
    for (const reason of ['SIGINT', 'SIGTERM', 'PM2 shutdown message']) {
      const stopped = setup();
      await stopped.sc.shutdown(reason);
      await stopped.exitedP;
      expect(stopped.lines).to.include('🛑 Shutdown signal received...');
    }
  });

  it('is idempotent: a second call returns the same run and steps run once', async () => {
    const { sc, exits, exitedP } = setup();
    let runs = 0;
    sc.addStep('count', async () => {
      runs++;
      await sleep(20);
    });
    const a = sc.shutdown('one');
    const b = sc.shutdown('two', 1);
    expect(a).to.equal(b);
    await a;
    await exitedP;
    expect(runs).to.equal(1);
    expect(exits).to.deep.equal([0]);
    expect(sc.request).to.deep.equal({ reason: 'one', exitCode: 0 });
  });

  it('aborts its signal when shutdown starts', async () => {
    const { sc } = setup();
    expect(sc.signal.aborted).to.equal(false);
    expect(sc.stopping).to.equal(false);
    const p = sc.shutdown('x');
    expect(sc.signal.aborted).to.equal(true);
    expect(sc.stopping).to.equal(true);
    await p;
  });

  it('halt aborts the signal at once without running a step; a later shutdown still runs them all', async () => {
    const { sc, exits, exitedP } = setup();
    const ran: string[] = [];
    sc.addStep('a', () => void ran.push('a'));
    sc.halt('fatal error');
    expect(sc.signal.aborted).to.equal(true);
    expect(String((sc.signal.reason as Error).message)).to.equal('halted: fatal error');
    expect(sc.stopping).to.equal(false);
    await flush();
    expect(ran).to.deep.equal([]);
    await sc.shutdown('x', 3);
    await exitedP;
    expect(ran).to.deep.equal(['a']);
    expect(exits).to.deep.equal([3]);
  });

  it('onHalt runs its work-stopper on a halt (at once if halted already), never on an orderly shutdown', async () => {
    const halting = setup();
    const stopped: string[] = [];
    halting.sc.onHalt(() => void stopped.push('before'));
    halting.sc.onHalt(() => {
      throw new Error('a broken stopper');
    });
    halting.sc.halt('fatal error');
    halting.sc.onHalt(() => void stopped.push('after'));
    expect(stopped).to.deep.equal(['before', 'after']);
    expect(halting.lines).to.include('could not halt a part of the service');

    const orderly = setup();
    orderly.sc.onHalt(() => void stopped.push('orderly'));
    await orderly.sc.shutdown('SIGINT');
    await orderly.exitedP;
    orderly.sc.onHalt(() => void stopped.push('orderly, late'));
    expect(stopped).to.deep.equal(['before', 'after']);
  });

  it('a fatal error during an orderly shutdown still halts the work onHalt stops (review 33t)', async () => {
    // A SIGINT starts the shutdown; a step hangs (the bot draining its commands), and a fatal error comes meanwhile:
    // the crash handler's halt must stop the poller/outbox/replies for its flush as it does outside a shutdown.
    const { sc, exitedP } = setup(1_000);
    const stopped: string[] = [];
    sc.onHalt(() => void stopped.push('outbox'));
    let stepStarted: () => void = () => undefined;
    const started = new Promise<void>((r) => (stepStarted = r));
    sc.addStep('hangs', () => {
      stepStarted();
      return new Promise(() => undefined);
    });
    const done = sc.shutdown('SIGINT');
    await started;
    expect(stopped, 'an orderly shutdown runs no halt work').to.deep.equal([]);
    sc.halt('uncaughtException');
    sc.onHalt(() => void stopped.push('late'));
    expect(stopped).to.deep.equal(['outbox', 'late']);
    sc.halt('again');
    expect(stopped, 'halt is idempotent').to.deep.equal(['outbox', 'late']);
    await done;
    await exitedP;
  });

  it('a failing step is logged and the next steps still run', async () => {
    const { sc, lines } = setup();
    const ran: string[] = [];
    sc.addStep('boom', () => {
      throw new Error('kaput');
    });
    sc.addStep('after', () => void ran.push('after'));
    await sc.shutdown('x');
    expect(ran).to.deep.equal(['after']);
    expect(lines).to.include('shutdown step "boom" failed');
  });

  it('a hanging step is cut at its own deadline, its signal aborted, and the stores still get flushed', async () => {
    const { sc, lines } = setup(1_000);
    let stepSignal: AbortSignal | undefined;
    let closed = false;
    sc.addStep('hangs', (signal) => {
      stepSignal = signal;
      return new Promise(() => undefined);
    });
    sc.addStore({ flush: async () => undefined, close: async () => void (closed = true) });
    await sc.shutdown('x');
    expect(stepSignal?.aborted).to.equal(true);
    expect(closed).to.equal(true);
    // The hanging step got the budget minus the stores' reserve (40 % of 1000 ms), never the whole budget.
    const cut = lines
      .map((l) => /shutdown step "hangs" did not finish within (\d+) ms/.exec(l))
      .find(Boolean);
    expect(Number(cut?.[1])).to.be.within(1, 600);
  });

  it("gives a step up at its deadline on the service's clock (the one that measures the budget)", async () => {
    const clock = new FakeClock();
    const { sc, lines, exits } = setup(120_000, clock);
    sc.addStep('hangs', () => new Promise(() => undefined), { timeoutMs: 60_000 });
    void sc.shutdown('x');
    await clock.advance(59_000, 1_000);
    expect(lines).to.not.include('shutdown step "hangs" did not finish within 60000 ms');
    await clock.advance(1_000, 1_000);
    expect(lines).to.include('shutdown step "hangs" did not finish within 60000 ms');
    await new Promise((r) => setImmediate(r));
    expect(exits).to.deep.equal([0]);
  });

  it("bounds the crash handler's store flush on the service's clock", async () => {
    const clock = new FakeClock();
    const { sc } = setup(5_000, clock);
    sc.addStore({ flush: () => new Promise(() => undefined), close: async () => undefined });
    let flushed = false;
    void sc.flushStores(30_000).then(() => (flushed = true));
    await clock.advance(29_000, 1_000);
    expect(flushed).to.equal(false);
    await clock.advance(1_000, 1_000);
    await flush();
    expect(flushed).to.equal(true);
  });

  it('honours a step timeout shorter than the budget', async () => {
    const { sc, lines } = setup(5_000);
    sc.addStep('slow', () => sleep(2_000), { timeoutMs: 50 });
    await sc.shutdown('x');
    expect(lines).to.include('shutdown step "slow" did not finish within 50 ms');
  });

  it('a store that fails to close is reported and "PersistentMap stopped" is not claimed', async () => {
    const { sc, lines } = setup();
    sc.addStore({ flush: async () => undefined, close: async () => Promise.reject(new Error('ENOSPC')) });
    await sc.shutdown('x');
    expect(lines).to.include('a store could not be saved on shutdown');
    expect(lines).not.to.include('✅ PersistentMap stopped');
  });

  it('flushStores is bounded and never throws (crash-handler path)', async () => {
    const { sc } = setup();
    let flushed = 0;
    sc.addStore({ flush: async () => void flushed++, close: async () => undefined });
    sc.addStore({ flush: () => new Promise(() => undefined), close: async () => undefined });
    sc.addStore({ flush: async () => Promise.reject(new Error('x')), close: async () => undefined });
    await sc.flushStores(100); // resolves despite the flush that never ends
    expect(flushed).to.equal(1);
  });

  describe('signal handlers', () => {
    type FakeProcess = NodeJS.Process & EventEmitter & { emit(event: string, ...args: unknown[]): boolean };
    function fakeProcess(): FakeProcess {
      return new EventEmitter() as unknown as FakeProcess;
    }

    it('SIGINT, SIGTERM, the PM2 shutdown message and a lost IPC channel each start the shutdown', async () => {
      for (const trigger of [
        (p: FakeProcess) => p.emit('SIGINT', 'SIGINT'),
        (p: FakeProcess) => p.emit('SIGTERM', 'SIGTERM'),
        (p: FakeProcess) => p.emit('message', 'shutdown'),
        (p: FakeProcess) => p.emit('disconnect'),
      ]) {
        const { sc, exits, exitedP } = setup();
        const proc = fakeProcess();
        sc.installSignalHandlers(proc);
        trigger(proc);
        expect(sc.stopping).to.equal(true);
        await exitedP;
        expect(exits).to.deep.equal([0]);
      }
    });

    it('ignores other messages', () => {
      const { sc } = setup();
      const proc = fakeProcess();
      sc.installSignalHandlers(proc);
      proc.emit('message', { type: 'something' });
      expect(sc.stopping).to.equal(false);
    });

    it('a second signal while stopping forces exit 1 at once', async () => {
      const { sc, exits, lines } = setup();
      sc.addStep('slow', () => sleep(300));
      const proc = fakeProcess();
      sc.installSignalHandlers(proc);
      proc.emit('SIGTERM', 'SIGTERM');
      await sleep(10);
      proc.emit('SIGINT', 'SIGINT');
      expect(exits).to.deep.equal([1]);
      expect(lines).to.include('⚠️ Second SIGINT during shutdown: forcing exit');
    });
  });
});
