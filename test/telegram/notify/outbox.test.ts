import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { systemClock } from '../../../src/shared/clock';
import {
  OperationalError,
  PermissionDeniedError,
  PersistenceError,
  TemporaryError,
} from '../../../src/shared/errors';
import { silentLogger } from '../../../src/shared/logging/logger';
import { writeFileDurable } from '../../../src/shared/persistence/durable-file';
import { Store } from '../../../src/shared/persistence/store';
import type { MessageSender } from '../../../src/telegram/notify/notification';
import {
  OUTBOX_STORE_NAME,
  OUTBOX_STORE_VERSION,
  Outbox,
  validateOutboxState,
} from '../../../src/telegram/notify/outbox';
import { emptyOutboxState, type OutboxState } from '../../../src/telegram/notify/outbox-queue';
import { FakeClock, flush } from '../../support/fake-clock';
import { MemoryStore } from '../../support/memory-store';
import { openOutboxStore } from '../../support/alert-path';

interface Sent {
  chatId: string;
  text: string;
  at: number;
  silent?: boolean;
  /** Sent as plain text (no parse_mode). */
  plain?: boolean;
}

class ScriptedSender implements MessageSender {
  sent: Sent[] = [];
  attempts: number[] = [];
  /** Errors thrown by the next attempts, in order. */
  failures: unknown[] = [];
  constructor(private readonly clock: FakeClock) {}
  send(chatId: string, text: string, opts: { silent?: boolean; plain?: boolean }): Promise<void> {
    this.attempts.push(this.clock.now());
    const fail = this.failures.shift();
    if (fail) return Promise.reject(fail);
    this.sent.push({
      chatId,
      text,
      at: this.clock.now(),
      silent: opts.silent,
      ...(opts.plain ? { plain: true } : {}),
    });
    return Promise.resolve();
  }
}

const settings = { maxSize: 50, perChatIntervalMs: 1000, globalPerSecond: 25, coalesceWindowMs: 120_000 };

describe('Outbox (fake clock)', () => {
  let clock: FakeClock;
  let store: MemoryStore<OutboxState>;
  let sender: ScriptedSender;
  let outbox: Outbox;

  beforeEach(() => {
    clock = new FakeClock();
    store = new MemoryStore(emptyOutboxState());
    sender = new ScriptedSender(clock);
    outbox = new Outbox({
      store,
      sender,
      settings,
      defaultChatId: '42',
      logger: silentLogger(),
      clock,
      random: () => 0.5,
    });
  });
  afterEach(async () => {
    await outbox.close();
  });

  it('commits a notification before it resolves and removes it only once sent', async () => {
    await outbox.notify({ key: 'a', priority: 'normal', text: 'hello' });
    expect(store.data.entries).to.have.length(1);
    expect(sender.sent).to.have.length(0);
    outbox.start();
    await flush();
    expect(sender.sent.map((s) => s.text)).to.deep.equal(['hello']);
    expect(store.data.entries).to.have.length(0);
    expect(outbox.depth()).to.equal(0);
  });

  it('sends at most one message per second to a chat, highest priority first', async () => {
    await outbox.notify({ key: 'low', priority: 'low', text: 'low' });
    await outbox.notify({ key: 'n', priority: 'normal', text: 'normal' });
    await outbox.notify({ key: 'c', priority: 'critical', text: 'critical' });
    outbox.start();
    await clock.advance(3000, 50);
    expect(sender.sent.map((s) => s.text)).to.deep.equal(['critical', 'normal', 'low']);
    const gaps = sender.sent.slice(1).map((s, i) => s.at - sender.sent[i].at);
    for (const g of gaps) expect(g).to.be.at.least(1000);
  });

  it('sends an alert at once after an ordinary message to the same chat (the burst), not one interval later', async () => {
    outbox.start();
    await outbox.notify({ key: 'event:1', priority: 'normal', text: 'order filled' });
    await clock.advance(10, 10);
    await outbox.notify({ key: 'event:2', priority: 'normal', text: 'order placed' });
    await outbox.notify({ key: 'crash:x', priority: 'high', text: 'x crashed' });
    await clock.advance(20, 10);
    expect(sender.sent.map((s) => s.text)).to.deep.equal(['order filled', 'x crashed']);
    await clock.advance(1000, 50);
    expect(sender.sent.map((s) => s.text)).to.deep.equal(['order filled', 'x crashed', 'order placed']);
  });

  it('honours 429 retry_after: nothing is sent before it passes, then the message goes out', async () => {
    sender.failures.push(new TemporaryError('429', {}, { retryAfterMs: 5000 }));
    await outbox.notify({ key: 'a', priority: 'high', text: 'crash' });
    await outbox.notify({ key: 'b', chatId: '77', priority: 'high', text: 'other chat' });
    const t0 = clock.now();
    outbox.start();
    await clock.advance(4900, 50);
    expect(sender.attempts).to.deep.equal([t0]);
    expect(sender.sent).to.have.length(0);
    await clock.advance(200, 50);
    expect(sender.sent.map((s) => s.text)).to.include('crash');
    expect(sender.sent[0].at - t0).to.be.at.least(5000);
  });

  it('backs off with growing delays while Telegram is unreachable and loses nothing', async () => {
    for (let i = 0; i < 4; i++) sender.failures.push(new TemporaryError('502 Bad Gateway'));
    await outbox.notify({ key: 'a', priority: 'high', text: 'one' });
    await outbox.notify({ key: 'b', priority: 'high', text: 'two' });
    outbox.start();
    await clock.advance(60_000, 100);
    const gaps = sender.attempts.slice(1, 5).map((t, i) => t - sender.attempts[i]);
    expect(gaps[0]).to.be.below(gaps[2]);
    expect(gaps[1]).to.be.below(gaps[3]);
    expect(sender.sent.map((s) => s.text)).to.deep.equal(['one', 'two']);
  });

  it('once Telegram answers again (even refusing a message), the next network failure backs off from the first step', async () => {
    // an outage long enough to reach the top of the backoff (1 s doubling, capped at 30 s)…
    for (let i = 0; i < 6; i++) sender.failures.push(new TemporaryError('502 Bad Gateway'));
    // …ends with an answer: this message is refused for good, as HTML and as plain text (dropped), so Telegram is
    // reachable…
    sender.failures.push(new OperationalError("Bad Request: can't parse entities", { code: 400 }));
    sender.failures.push(new OperationalError('Bad Request: message text is empty', { code: 400 }));
    // …and the next message meets one network blip
    sender.failures.push(new TemporaryError('ECONNRESET'));
    await outbox.notify({ key: 'bad', priority: 'high', text: '<b>broken' });
    await outbox.notify({ key: 'next', priority: 'normal', text: 'next' });
    outbox.start();
    await clock.advance(120_000, 100);
    expect(sender.sent.map((s) => s.text)).to.deep.equal(['next']);
    const [blip, retried] = sender.attempts.slice(-2);
    // the first step (1 s, jitter pinned at the middle: 750 ms) under the per-chat interval of 1 s — not the
    // 22.5 s the outage's last step would be
    expect(retried - blip).to.equal(1000);
  });

  it('coalesces repeats that pile up while Telegram is down into one message', async () => {
    sender.failures.push(...Array.from({ length: 3 }, () => new TemporaryError('network')));
    outbox.start();
    for (let i = 1; i <= 5; i++) {
      await outbox.notify({
        key: 'crash:trading',
        priority: 'high',
        text: `trading crashed, exit code ${i}`,
      });
      await clock.advance(5000, 100);
    }
    await clock.advance(60_000, 200);
    const crashMessages = sender.sent.filter((s) => s.text.includes('trading crashed'));
    const total = crashMessages.reduce((a, s) => a + Number(/×(\d+)/.exec(s.text)?.[1] ?? 1), 0);
    expect(total).to.equal(5);
    expect(crashMessages.length).to.be.below(5);
    expect(crashMessages.at(-1)!.text).to.contain('exit code 5');
  });

  it('sends a message Telegram refuses as HTML (400) as plain text, the same words, at once (review 44g)', async () => {
    sender.failures.push(new OperationalError("Bad Request: can't parse entities", { code: 400 }));
    await outbox.notify({
      key: 'bad',
      priority: 'high',
      text: '💥 <b>trading crashed</b> &lt;1 s &amp; <code>GET',
    });
    await outbox.notify({ key: 'good', priority: 'normal', text: 'fine' });
    outbox.start();
    await clock.advance(2000, 50);
    expect(sender.sent.map((s) => [s.text, s.plain ?? false])).to.deep.equal([
      ['💥 trading crashed <1 s & GET', true],
      ['fine', false],
    ]);
    expect(store.data.entries).to.have.length(0);
  });

  it('drops a message Telegram refuses for good (400, as HTML and as plain text) and keeps going', async () => {
    sender.failures.push(new OperationalError("Bad Request: can't parse entities", { code: 400 }));
    sender.failures.push(new OperationalError('Bad Request: message is too long', { code: 400 }));
    await outbox.notify({ key: 'bad', priority: 'high', text: '<b>broken' });
    await outbox.notify({ key: 'good', priority: 'normal', text: 'fine' });
    outbox.start();
    await clock.advance(2000, 50);
    expect(sender.sent.map((s) => s.text)).to.deep.equal(['fine']);
    expect(store.data.entries).to.have.length(0);
  });

  it('keeps everything on 401/403 and retries after a pause', async () => {
    sender.failures.push(new PermissionDeniedError('Forbidden: bot was blocked', { code: 403 }));
    await outbox.notify({ key: 'a', priority: 'high', text: 'kept' });
    outbox.start();
    await clock.advance(30_000, 500);
    expect(sender.sent).to.have.length(0);
    expect(outbox.depth()).to.equal(1);
    await clock.advance(31_000, 500);
    expect(sender.sent.map((s) => s.text)).to.deep.equal(['kept']);
  });

  it('reports dropped notifications in the next message that goes out', async () => {
    const small = new Outbox({
      store,
      sender,
      settings: { ...settings, maxSize: 2 },
      defaultChatId: '42',
      logger: silentLogger(),
      clock,
    });
    for (const k of ['a', 'b', 'c', 'd']) await small.notify({ key: k, priority: 'low', text: k });
    small.start();
    await clock.advance(3000, 50);
    await small.close();
    expect(sender.sent[0].text).to.contain('2 notifications dropped');
    expect(sender.sent[1].text).to.not.contain('dropped');
    expect(store.data.dropped).to.equal(0);
  });
});

describe('Outbox (real store on disk)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-outbox-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const open = () => openOutboxStore(dir);

  it('keeps unsent notifications across a restart and sends them after it', async () => {
    const clock = new FakeClock();
    const down = new ScriptedSender(clock);
    down.failures.push(...Array.from({ length: 100 }, () => new TemporaryError('network')));
    const store1 = await open();
    const first = new Outbox({
      store: store1,
      sender: down,
      settings,
      defaultChatId: '42',
      logger: silentLogger(),
      clock,
    });
    first.start();
    await first.notify({ key: 'a', priority: 'high', text: 'survives', eventSeq: 9 });
    await clock.advance(3000, 100);
    await first.close();
    await store1.close();
    expect(down.sent).to.have.length(0);

    const store2 = await open();
    const up = new ScriptedSender(clock);
    const second = new Outbox({
      store: store2,
      sender: up,
      settings,
      defaultChatId: '42',
      logger: silentLogger(),
      clock,
    });
    // the replayed event is recognised as already queued
    await second.notify({ key: 'a2', priority: 'high', text: 'replayed', eventSeq: 9 });
    second.start();
    await clock.advance(2000, 100);
    await second.close();
    expect(up.sent.map((s) => s.text)).to.deep.equal(['survives']);
    await store2.close();
    const onDisk = JSON.parse(
      fs.readFileSync(path.join(dir, `${OUTBOX_STORE_NAME}.json`), 'utf8'),
    ) as unknown;
    expect(JSON.stringify(onDisk)).to.not.contain('survives');
  });
});

describe('Outbox on a full disk (real store, its writes refused)', () => {
  let dir: string;
  let full: boolean;
  let store: Store<OutboxState>;
  let clock: FakeClock;
  let sender: ScriptedSender;
  let outbox: Outbox;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-outbox-full-'));
    full = false;
    clock = new FakeClock();
    store = await Store.open<OutboxState>({
      clock,
      dir,
      name: OUTBOX_STORE_NAME,
      version: OUTBOX_STORE_VERSION,
      defaults: emptyOutboxState,
      validate: validateOutboxState,
      writer: (p, d) =>
        full
          ? Promise.reject(new PersistenceError(`cannot write ${p}`, { path: p }, { code: 'ENOSPC' }))
          : writeFileDurable(p, d),
    });
    sender = new ScriptedSender(clock);
    outbox = new Outbox({ store, sender, settings, defaultChatId: '42', logger: silentLogger(), clock });
  });
  afterEach(async () => {
    await outbox.close();
    full = false;
    await store.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('still sends an alert it admitted while the disk refused to save it', async () => {
    full = true;
    const err = await outbox
      .notify({ key: 'crash', priority: 'critical', text: 'trading crashed' })
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(PersistenceError);
    outbox.start();
    await clock.advance(5_000, 100);
    expect(sender.sent.map((s) => s.text)).to.deep.equal(['trading crashed']);
  });

  it('never sends again an alert it sent while the disk refused to save its removal', async () => {
    await outbox.notify({ key: 'crash', priority: 'critical', text: 'trading crashed' });
    full = true;
    outbox.start();
    await clock.advance(60_000, 500);
    expect(sender.sent.map((s) => s.text)).to.deep.equal(['trading crashed']);
    // and once the disk takes writes again, the file no longer holds it (a restart does not send it again)
    full = false;
    await clock.advance(5_000, 500);
    await store.flush();
    expect(fs.readFileSync(path.join(dir, `${OUTBOX_STORE_NAME}.json`), 'utf8')).to.not.contain('crashed');
  });
});

describe('Outbox send timeout', () => {
  it('a send that never answers counts as a network failure and the message is retried', async () => {
    let calls = 0;
    const delivered: string[] = [];
    const sender: MessageSender = {
      send: (_chat, text) => {
        calls += 1;
        if (calls === 1) return new Promise<void>(() => undefined); // black-holed
        delivered.push(text);
        return Promise.resolve();
      },
    };
    const store = new MemoryStore(emptyOutboxState());
    const outbox = new Outbox({
      store,
      sender,
      settings,
      defaultChatId: '42',
      logger: silentLogger(),
      clock: systemClock,
      sendTimeoutMs: 50,
      baseBackoffMs: 10,
      maxBackoffMs: 20,
    });
    outbox.start();
    await outbox.notify({ key: 'a', priority: 'high', text: 'late but there' });
    const deadline = Date.now() + 3_000;
    while (delivered.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await outbox.close();
    expect(delivered).to.deep.equal(['late but there']);
    expect(calls).to.equal(2);
  });
});

describe('Outbox memory', () => {
  it('keeps nothing per wait: 30,000 sleeps cut short by a wake-up leave the heap where it was', async function () {
    this.timeout(30_000);
    // On Node 20, AbortSignal.any([perSleep, longLived]) keeps an entry on the long-lived signal for every call, for
    // as long as that signal lives (~56 bytes each): 30,000 waits would keep ~1.6 MiB.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const outbox = new Outbox({
      store: new MemoryStore(emptyOutboxState()),
      sender: { send: () => Promise.resolve() },
      settings,
      defaultChatId: '42',
      logger: silentLogger(),
      clock: systemClock,
    });
    // the sender loop's wait and its wake-up (a notification or close()), driven directly without sending anything
    const loop = outbox as unknown as { sleep(ms: number): Promise<void>; wake(): void };
    const waits = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const waiting = loop.sleep(60_000);
        loop.wake();
        await waiting;
      }
    };
    await waits(2_000); // optimized code and the like, before the measure
    gc();
    const before = process.memoryUsage().heapUsed;
    await waits(30_000);
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    await outbox.close();
    expect(grown, 'heap bytes kept by 30,000 waits').to.be.below(512 * 1024);
  });
});
