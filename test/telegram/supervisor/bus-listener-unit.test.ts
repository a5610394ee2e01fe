/** BusListener wiring with a scripted PM2 (bus reconnects, held online alerts); the real-PM2 run is bus-listener.test.ts. */
import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { systemClock } from '../../../src/shared/clock';
import type { Pm2ProcessView } from '../../../src/ops/pm2-client';
import { NoAnswerYetError } from '../../../src/shared/errors';
import { silentLogger } from '../../../src/shared/logging/logger';
import type { NotificationInput, Notifier } from '../../../src/telegram/notify/notification';
import { BusListener } from '../../../src/telegram/supervisor/bus-listener';
import {
  emptySupervisorState,
  type SupervisorState,
} from '../../../src/telegram/supervisor/supervisor-state';
import { eventually } from '../../../harness/pm2';
import { MemoryStore } from '../../support/memory-store';
import { FakeClock } from '../../support/fake-clock';
import { pm2View } from '../../support/pm2-view';

const view = pm2View;

describe('BusListener (scripted PM2)', () => {
  let dataDir: string;
  let queued: NotificationInput[];
  let notifyFails: boolean;
  let notifier: Notifier;
  let bus: EventEmitter & { sock: EventEmitter };
  let list: Pm2ProcessView[];
  let store: MemoryStore<SupervisorState>;
  let listener: BusListener;
  /** The services whose ready message onReady heard. */
  let readies: string[];

  beforeEach(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-busl-'));
    readies = [];
    queued = [];
    notifyFails = false;
    // like the outbox: the notification is queued (in memory) even when its commit fails
    notifier = {
      notify: (n) => {
        queued.push(n);
        return notifyFails ? Promise.reject(new Error('outbox: disk full (ENOSPC)')) : Promise.resolve();
      },
      depth: () => queued.length,
    };
    bus = Object.assign(new EventEmitter(), { sock: new EventEmitter() });
    list = [view({ restarts: 2 })];
    store = new MemoryStore(emptySupervisorState());
    listener = new BusListener({
      pm2: {
        launchBus: () => Promise.resolve(bus),
        list: () => Promise.resolve(list),
        stop: () => Promise.resolve(),
        restart: () => Promise.resolve(),
      },
      notifier,
      store,
      dataDir,
      settings: { crashLoopCount: 5, crashLoopWindowMs: 60_000, crashLoopAction: 'alert' },
      logger: silentLogger(),
      onlineHoldMs: 20,
      recoveryWaitMs: 200,
      clock: systemClock,
      onReady: (service) => readies.push(service),
    });
    await listener.start();
  });

  afterEach(async () => {
    await listener.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const packet = (event: string, env: Record<string, unknown> = {}, manually = false) => ({
    event,
    manually,
    at: Date.now(),
    process: {
      name: 'trading',
      pm_id: 0,
      status: 'stopped',
      restart_time: 2,
      exit_code: 1,
      exp_backoff_restart_delay: 100,
      ...env,
    },
  });

  it('re-syncs from pm2.list() when the bus reconnects and reports the restarts it missed', async () => {
    expect(store.data.services.trading.restarts).to.equal(2);
    bus.sock.emit('reconnect attempt');
    list = [view({ restarts: 4, exitCode: 1 })];
    bus.sock.emit('connect');
    await eventually(() => queued.length > 0, 2_000, 're-sync alert');
    expect(queued[0].text).to.contain('trading restarted 2 times while the PM2 event bus was disconnected');
    expect(store.data.services.trading.restarts).to.equal(4);
  });

  it('an alert whose outbox commit fails (full disk) does not end the handling of its event: crash loops are still counted', async () => {
    notifyFails = true;
    // more than crashLoopCount (5) crashes in the window is a loop
    for (let i = 0; i < 6; i++) {
      bus.emit('process:event', packet('exit', { restart_time: 2 + i }));
      await new Promise((r) => setTimeout(r, 5));
    }
    await eventually(() => queued.some((n) => n.key === 'crash-loop:trading'), 2_000, 'crash-loop alert');
    expect(queued.filter((n) => n.key === 'crash:trading')).to.have.length(6);
  });

  it('a crash reported live is not reported again by the next re-sync', async () => {
    bus.emit('process:event', packet('exit'));
    bus.emit('process:event', packet('online', { status: 'online', restart_time: 3 }));
    await eventually(() => queued.some((n) => n.key === 'online:trading'), 2_000, 'online alert');
    list = [view({ restarts: 3 })];
    await listener.resync('bus-reconnect');
    expect(queued.map((n) => n.key)).to.deep.equal(['crash:trading', 'online:trading']);
  });

  it('merges trading’s recovery event into its back-online alert', async () => {
    bus.emit('process:event', packet('exit'));
    bus.emit('process:event', packet('online', { status: 'online', restart_time: 3 }));
    await eventually(() => queued.length === 1, 1_000, 'crash alert');
    const merged = await listener.offerRecovery({
      seq: 9,
      ts: Date.now(),
      type: 'recovery',
      summary: 'r',
      data: { restoredOrders: 4 },
    });
    expect(merged).to.equal(true);
    expect(queued[1].text).to.contain('back online after a crash');
    expect(queued[1].text).to.contain('restored 4 open orders');
    expect(queued[1].eventSeq).to.equal(9);
  });

  it('a recovery that arrives before PM2’s online waits for it; a replayed one does not', async () => {
    const replayed = await listener.offerRecovery({
      seq: 1,
      ts: Date.now(),
      type: 'recovery',
      summary: 'r',
      data: {},
    });
    expect(replayed, 'no outage in progress: sent on its own').to.equal(false);
    bus.emit('process:event', packet('exit'));
    await eventually(() => queued.length === 1, 1_000, 'crash alert');
    const early = listener.offerRecovery({
      seq: 2,
      ts: Date.now(),
      type: 'recovery',
      summary: 'r',
      data: { restoredPositions: 1 },
    });
    bus.emit('process:event', packet('online', { status: 'online', restart_time: 3 }));
    expect(await early).to.equal(true);
    expect(queued[1].text).to.contain('restored 0 open orders, 1 open position');
  });

  const ready = (name = 'trading') => ({ raw: 'ready', at: Date.now(), process: { name, pm_id: 0 } });

  it('with wait_ready, back online goes out at the ready message — never for a run that dies while starting', async () => {
    // a build removed under it: PM2 says online, then exit, again and again (7 of them)
    for (let i = 0; i < 7; i++) {
      bus.emit('process:event', packet('exit', { restart_time: 2 + i }));
      bus.emit(
        'process:event',
        packet('online', { status: 'online', restart_time: 3 + i, wait_ready: true }),
      );
    }
    bus.emit('process:event', packet('exit', { restart_time: 10 }));
    await eventually(() => queued.filter((n) => n.key === 'crash:trading').length === 8, 2_000, '8 crashes');
    await new Promise((r) => setTimeout(r, 300)); // longer than recoveryWaitMs: nothing held goes out late
    expect(queued.filter((n) => n.key === 'online:trading')).to.have.length(0);
    // then a run that works: PM2 forwards its ready first, then online
    bus.emit('process:msg', ready());
    bus.emit('process:event', packet('online', { status: 'online', restart_time: 11, wait_ready: true }));
    await eventually(() => queued.some((n) => n.key === 'online:trading'), 2_000, 'online alert');
    expect(queued.filter((n) => n.key === 'online:trading')).to.have.length(1);
    expect(store.data.watch.trading?.down).to.equal(undefined);
  });

  it('with wait_ready, PM2’s online without ready (listen_timeout) is not back online until ready comes', async () => {
    bus.emit('process:event', packet('exit'));
    bus.emit('process:event', packet('online', { status: 'online', restart_time: 3, wait_ready: true }));
    await eventually(() => queued.length === 1, 1_000, 'crash alert');
    await new Promise((r) => setTimeout(r, 300));
    expect(listener.notReady()).to.deep.equal(['trading']);
    expect(queued.map((n) => n.key)).to.deep.equal(['crash:trading']);
    await listener.handleMessage(ready());
    await eventually(() => queued.some((n) => n.key === 'online:trading'), 2_000, 'online alert');
    expect(listener.notReady()).to.deep.equal([]);
  });

  it("tells onReady of another service's ready message as it comes (main.ts: the IPC link then dials trading at once)", async () => {
    bus.emit('process:msg', ready('telegram'));
    bus.emit('process:msg', { raw: 'not ready', at: Date.now(), process: { name: 'trading', pm_id: 0 } });
    expect(readies).to.deep.equal([]);
    bus.emit('process:msg', ready());
    expect(readies).to.deep.equal(['trading']);
  });

  it('does not alert on its own process events', async () => {
    bus.emit('process:event', {
      ...packet('exit'),
      process: { ...packet('exit').process, name: 'telegram' },
    });
    await listener.resync('bus-reconnect');
    expect(queued).to.deep.equal([]);
  });
});

describe('BusListener on a fake clock (PM2 unreachable at start, readiness waits)', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-busl-'));
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  function listenerWith(launchBus: () => Promise<EventEmitter>, clock: FakeClock) {
    const queued: NotificationInput[] = [];
    const listener = new BusListener({
      pm2: {
        launchBus,
        list: () => Promise.resolve([view({ restarts: 2 })]),
        stop: () => Promise.resolve(),
        restart: () => Promise.resolve(),
      },
      notifier: { notify: (n) => Promise.resolve(void queued.push(n)), depth: () => queued.length },
      store: new MemoryStore(emptySupervisorState()),
      dataDir,
      settings: { crashLoopCount: 5, crashLoopWindowMs: 60_000, crashLoopAction: 'alert' },
      logger: silentLogger(),
      clock,
    });
    return { listener, queued };
  }

  it('keeps opening the bus with the one backoff on its clock (1 s, 2 s, 4 s…) and listens once it opens', async () => {
    const clock = new FakeClock();
    const bus = new EventEmitter();
    const launchedAt: number[] = [];
    const { listener, queued } = listenerWith(() => {
      launchedAt.push(clock.now());
      return launchedAt.length <= 3
        ? Promise.reject(new Error('connect ENOENT rpc.sock'))
        : Promise.resolve(bus);
    }, clock);
    await listener.start(); // resolves after the first attempt, PM2 or not
    expect(launchedAt).to.have.length(1);
    await clock.advance(8_000, 50);
    expect(launchedAt).to.have.length(4);
    // equal jitter: each wait lies in [step/2, step]
    const waits = launchedAt.slice(1).map((t, i) => t - launchedAt[i]);
    [1_000, 2_000, 4_000].forEach((step, i) => expect(waits[i]).to.be.within(step / 2, step + 50));
    bus.emit('process:event', {
      event: 'exit',
      manually: false,
      at: clock.now(),
      process: { name: 'trading', pm_id: 0, status: 'stopped', restart_time: 3, exit_code: 1 },
    });
    await eventually(() => queued.some((n) => n.key === 'crash:trading'), 2_000, 'crash alert');
    await listener.close();
  });

  it("trading's back online waits for its recovery summary on the listener's clock, then goes out without it", async () => {
    const clock = new FakeClock();
    const bus = new EventEmitter();
    const { listener, queued } = listenerWith(() => Promise.resolve(bus), clock);
    await listener.start();
    const proc = { name: 'trading', pm_id: 0, restart_time: 3, exit_code: 1 };
    bus.emit('process:event', { event: 'exit', at: clock.now(), process: { ...proc, status: 'stopped' } });
    bus.emit('process:msg', { raw: 'ready', at: clock.now(), process: { name: 'trading', pm_id: 0 } });
    bus.emit('process:event', {
      event: 'online',
      at: clock.now(),
      process: { ...proc, status: 'online', wait_ready: true },
    });
    await eventually(() => queued.some((n) => n.key === 'crash:trading'), 2_000, 'crash alert');
    await clock.advance(9_000, 500); // recoveryWaitMs defaults to 10 s
    expect(queued.map((n) => n.key)).to.deep.equal(['crash:trading']);
    await clock.advance(1_500, 500);
    await eventually(() => queued.some((n) => n.key === 'online:trading'), 2_000, 'online alert');
    await listener.close();
  });

  it('close() ends the retries: no attempt after it', async () => {
    const clock = new FakeClock();
    let launches = 0;
    const { listener } = listenerWith(() => {
      launches += 1;
      return Promise.reject(new Error('connect ENOENT rpc.sock'));
    }, clock);
    await listener.start();
    await clock.advance(1_500, 50);
    const before = launches;
    await listener.close();
    await clock.advance(120_000, 1_000);
    expect(launches).to.equal(before);
    expect(clock.pendingTimers).to.equal(0);
  });
});

describe('BusListener: the crash loop stop that PM2 has not answered yet (review 33t)', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-busl-'));
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('says PM2 has not answered yet (not "could not stop"), and tells a late refusal when it comes', async () => {
    const bus = Object.assign(new EventEmitter(), { sock: new EventEmitter() });
    const queued: NotificationInput[] = [];
    let refuseLate: (err: Error) => void = () => undefined;
    const late = new Promise<void>((_, reject) => (refuseLate = reject));
    const listener = new BusListener({
      pm2: {
        launchBus: () => Promise.resolve(bus),
        list: () => Promise.resolve([view({ restarts: 2 })]),
        // Pm2Client.stop() past actionTimeoutMs: PM2 is slow or stuck and may still stop it
        stop: () =>
          Promise.reject(
            new NoAnswerYetError(
              'PM2 stop trading: no answer within 40 s (the PM2 daemon is slow or stuck; it may still do it)',
              { method: 'stop', name: 'trading' },
              late,
            ),
          ),
        restart: () => Promise.resolve(),
      },
      notifier: { notify: (n) => Promise.resolve(void queued.push(n)), depth: () => queued.length },
      store: new MemoryStore(emptySupervisorState()),
      dataDir,
      settings: { crashLoopCount: 5, crashLoopWindowMs: 60_000, crashLoopAction: 'stop-trading' },
      logger: silentLogger(),
      clock: systemClock,
    });
    await listener.start();
    try {
      for (let i = 0; i < 6; i++) {
        bus.emit('process:event', {
          event: 'exit',
          manually: false,
          at: Date.now(),
          process: { name: 'trading', pm_id: 0, status: 'stopped', restart_time: 2 + i, exit_code: 1 },
        });
        await new Promise((r) => setTimeout(r, 5));
      }
      await eventually(
        () => queued.some((n) => n.key === 'crash-loop-stop-failed:trading'),
        2_000,
        'the stop outcome',
      );
      const first = queued.find((n) => n.key === 'crash-loop-stop-failed:trading')!;
      expect(first.text).to.not.contain('Could not stop');
      expect(first.text).to.contain('not answered');
      refuseLate(new Error('process name not found'));
      await eventually(
        () => queued.filter((n) => n.key === 'crash-loop-stop-failed:trading').length === 2,
        2_000,
        'the late refusal',
      );
      expect(queued.filter((n) => n.key === 'crash-loop-stop-failed:trading')[1].text).to.contain(
        'process name not found',
      );
    } finally {
      await listener.close();
    }
  });
});
