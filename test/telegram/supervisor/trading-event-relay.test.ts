import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { systemClock } from '../../../src/shared/clock';
import { FakeClock } from '../../support/fake-clock';
import { MemoryStore } from '../../support/memory-store';
import { configSchema } from '../../../src/shared/config/schema';
import { PersistenceError } from '../../../src/shared/errors';
import type { TradingEvent } from '../../../src/shared/ipc/protocol';
import { silentLogger } from '../../../src/shared/logging/logger';
import type { NotificationInput, Notifier } from '../../../src/telegram/notify/notification';
import {
  emptySupervisorState,
  type SupervisorState,
} from '../../../src/telegram/supervisor/supervisor-state';
import { TradingEventRelay } from '../../../src/telegram/supervisor/trading-event-relay';
import { LinkWatch } from '../../../src/telegram/supervisor/link-watch';

/** Records notifications; `failNext` makes the next commits fail like a full disk. */
class RecordingNotifier implements Notifier {
  queued: NotificationInput[] = [];
  /** Cursor value at the moment each notification was committed. */
  cursorAtCommit: number[] = [];
  failNext = 0;
  constructor(private readonly store: MemoryStore<SupervisorState>) {}
  notify(n: NotificationInput): Promise<void> {
    if (this.failNext > 0) {
      this.failNext -= 1;
      return Promise.reject(new PersistenceError('disk full', {}, { code: 'ENOSPC' }));
    }
    this.queued.push(n);
    this.cursorAtCommit.push(this.store.data.eventCursor);
    return Promise.resolve();
  }
  depth(): number {
    return this.queued.length;
  }
}

/** Stands in for IpcClient: emits events; ack saves through the cursor like the real client. */
class FakeSource extends EventEmitter {
  constructor(private readonly save: (seq: number) => Promise<void>) {
    super();
  }
  ack(seq: number): Promise<void> {
    return this.save(seq);
  }
}

const settings = configSchema().parse({}).telegram.notifications;
const ev = (seq: number, type: TradingEvent['type'] = 'order.filled'): TradingEvent => ({
  seq,
  ts: Date.now(),
  type,
  summary: `fill #${seq}`,
  data: {},
});

describe('trading event relay', () => {
  let store: MemoryStore<SupervisorState>;
  let notifier: RecordingNotifier;

  beforeEach(() => {
    store = new MemoryStore(emptySupervisorState());
    notifier = new RecordingNotifier(store);
  });

  function relayWith(opts: Partial<ConstructorParameters<typeof TradingEventRelay>[0]> = {}) {
    const relay = new TradingEventRelay({
      notifier,
      store,
      settings,
      logger: silentLogger(),
      clock: systemClock,
      retryBaseMs: 5,
      retryMaxMs: 5,
      ...opts,
    });
    const source = new FakeSource(relay.cursor().save);
    relay.attach(source);
    return { relay, source };
  }

  it('moves the cursor only after the notification is in the outbox', async () => {
    const { relay, source } = relayWith();
    for (const seq of [1, 2, 3]) source.emit('event', ev(seq));
    await relay.idle();
    expect(notifier.queued.map((n) => n.eventSeq)).to.deep.equal([1, 2, 3]);
    expect(notifier.cursorAtCommit).to.deep.equal([0, 1, 2]);
    expect(store.data.eventCursor).to.equal(3);
  });

  it('skips events at or below the cursor (replay after a restart) and advances past muted types', async () => {
    store.data.eventCursor = 2;
    const { relay, source } = relayWith();
    source.emit('event', ev(2));
    source.emit('event', ev(3, 'order.placed')); // off by default
    source.emit('event', ev(4));
    await relay.idle();
    expect(notifier.queued.map((n) => n.eventSeq)).to.deep.equal([4]);
    expect(store.data.eventCursor).to.equal(4);
  });

  it('retries a failed commit and never moves the cursor past an unhandled event', async () => {
    notifier.failNext = 3;
    const { relay, source } = relayWith();
    source.emit('event', ev(1));
    source.emit('event', ev(2));
    await relay.idle();
    expect(notifier.queued.map((n) => n.eventSeq)).to.deep.equal([1, 2]);
    expect(notifier.cursorAtCommit).to.deep.equal([0, 1]);
  });

  it('waits out a failing commit with the one backoff (growing, 1 s → 30 s) and starts from 1 s for the next event', async () => {
    const clock = new FakeClock(0, { sleep: 'advances' });
    notifier.failNext = 4;
    const { relay, source } = relayWith({ clock, retryBaseMs: undefined, retryMaxMs: undefined });
    source.emit('event', ev(1));
    await relay.idle();
    notifier.failNext = 1;
    source.emit('event', ev(2));
    await relay.idle();
    expect(notifier.queued.map((n) => n.eventSeq)).to.deep.equal([1, 2]);
    // equal jitter: each wait lies in [step/2, step]
    const steps = [1_000, 2_000, 4_000, 8_000, 1_000];
    expect(clock.sleeps).to.have.length(steps.length);
    clock.sleeps.forEach((ms, i) => expect(ms).to.be.within(steps[i] / 2, steps[i]));
  });

  it('hands recovery to the online alert when it is merged there, else notifies it alone', async () => {
    let offered = 0;
    const merged = relayWith({ offerRecovery: () => Promise.resolve(++offered === 1) });
    merged.source.emit('event', ev(1, 'recovery'));
    merged.source.emit('event', ev(2, 'recovery'));
    await merged.relay.idle();
    expect(notifier.queued.map((n) => n.eventSeq)).to.deep.equal([2]);
    expect(store.data.eventCursor).to.equal(2);
  });

  it('after trading’s event log was reset, starts over and reports lost events', async () => {
    let reset = 0;
    (notifier as unknown as { resetEventDedup: () => Promise<void> }).resetEventDedup = () =>
      Promise.resolve(void reset++);
    store.data.eventCursor = 50;
    const { relay, source } = relayWith();
    source.emit('streamReset', { afterSeq: 50, lastSeq: 3 });
    source.emit('event', ev(1));
    source.emit('missed', { count: 7, afterSeq: 1 });
    await relay.idle();
    expect(reset).to.equal(1);
    expect(notifier.queued.map((n) => n.eventSeq ?? n.key)).to.deep.equal([1, 'events-missed']);
    expect(notifier.queued[1].text).to.contain('7 trading event(s) were lost');
  });
});

describe('link watch', () => {
  function watch(status = 'online', lifecycleAt?: number) {
    const queued: NotificationInput[] = [];
    const notifier: Notifier = {
      notify: (n) => Promise.resolve(void queued.push(n)),
      depth: () => queued.length,
    };
    const w = new LinkWatch({
      notifier,
      tradingStatus: () => status,
      lastLifecycleAt: () => lifecycleAt,
      graceMs: 30,
      logger: silentLogger(),
      clock: systemClock,
    });
    return { w, queued };
  }

  it('one alert when the link stays down, one when it is back — not one per retry', async () => {
    const { w, queued } = watch();
    w.onChange({ up: false, reason: 'refused' });
    w.onChange({ up: false, reason: 'refused again' });
    await sleep(60);
    w.onChange({ up: false, reason: 'and again' });
    await sleep(60);
    w.onChange({ up: true, downtimeMs: 120 });
    await sleep(5);
    expect(queued.map((n) => n.key)).to.deep.equal(['link-down:trading', 'link-up:trading']);
    expect(queued[0].text).to.contain('refused');
  });

  it('says nothing for a blip or for a drop PM2 explains', async () => {
    const blip = watch();
    blip.w.onChange({ up: false });
    blip.w.onChange({ up: true });
    const crashed = watch('stopped');
    crashed.w.onChange({ up: false });
    await sleep(60);
    crashed.w.onChange({ up: true });
    await sleep(5);
    expect(blip.queued).to.deep.equal([]);
    expect(crashed.queued).to.deep.equal([]);
  });
});
