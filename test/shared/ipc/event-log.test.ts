import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { Tmpfs } from '../../../harness/tmpfs';
import { systemClock, type Clock } from '../../../src/shared/clock';
import { PersistenceError } from '../../../src/shared/errors';
import { EventLog } from '../../../src/shared/ipc/event-log';
import type { TradingEvent } from '../../../src/shared/ipc/protocol';
import { tempDir } from '../../support/ipc';

function seqs(events: TradingEvent[]): number[] {
  return events.map((e) => e.seq);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

describe('ipc/EventLog', () => {
  let dir: string;
  let log: EventLog | undefined;

  /** Runs `body` on a fresh 2 MiB tmpfs (skipped where none can be mounted), then closes the log and unmounts. */
  async function onTmpfs(ctx: Mocha.Context, body: (disk: Tmpfs) => Promise<void>): Promise<void> {
    const why: { reason?: string } = {};
    const disk = Tmpfs.mount(2, why);
    if (!disk) {
      ctx.test!.title += ` (skipped: ${why.reason})`;
      ctx.skip();
    }
    try {
      await body(disk);
    } finally {
      await log?.close();
      log = undefined;
      disk.unmount();
    }
  }

  beforeEach(() => {
    dir = tempDir('byninja-eventlog-');
  });

  afterEach(async () => {
    await log?.close();
    log = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('numbers events 1, 2, 3… and continues after a reopen from disk', async () => {
    log = await EventLog.open(dir, { retention: 100, clock: systemClock });
    expect(log.lastSeq).to.equal(0);
    for (let i = 0; i < 3; i++) await log.publish('order.placed', `order ${i}`, { i });
    await log.close();

    log = await EventLog.open(dir, { retention: 100, clock: systemClock });
    expect(log.lastSeq).to.equal(3);
    const e = await log.publish('order.filled', 'filled', { x: 1 });
    expect(e.seq).to.equal(4);
    expect(seqs(log.eventsAfter(0))).to.deep.equal([1, 2, 3, 4]);
    expect(log.eventsAfter(0)[3]).to.include({ type: 'order.filled', summary: 'filled' });
  });

  it('gives concurrent publishes distinct increasing seqs in call order (group commit)', async () => {
    log = await EventLog.open(dir, { retention: 1_000, clock: systemClock });
    const published = await Promise.all(
      range(1, 200).map((i) => log!.publish('order.placed', `o${i}`, { i })),
    );
    expect(seqs(published)).to.deep.equal(range(1, 200));
    expect(published.map((e) => e.data.i)).to.deep.equal(range(1, 200));
  });

  it('commits publishes chained through awaits in one turn as one group (one write, one fdatasync)', async () => {
    // each commit reads the clock once for its events' ts: a clock that counts its reads tells the groups apart
    let reads = 0;
    const clock: Clock = { ...systemClock, now: () => ++reads };
    log = await EventLog.open(dir, { retention: 1_000, clock });
    const published: Array<Promise<TradingEvent>> = [];
    for (let i = 1; i <= 50; i++) {
      published.push(log.publish('order.placed', `o${i}`, { i }));
      await Promise.resolve(); // a caller that awaits something between two publishes
    }
    const events = await Promise.all(published);
    expect(seqs(events)).to.deep.equal(range(1, 50));
    expect(new Set(events.map((e) => e.ts)).size, 'commits').to.equal(1);
    expect(reads).to.equal(1);
  });

  it('writes a burst of 1,500 as one group, each publish resolving only once its line is in the file', async () => {
    let reads = 0;
    const clock: Clock = { ...systemClock, now: () => ++reads };
    log = await EventLog.open(dir, { retention: 10_000, clock });
    const file = path.join(dir, 'events.jsonl');
    const live: number[] = [];
    log.subscribe(0, (e) => live.push(e.seq));
    // the size of the file when each publish resolved
    const sizeAtResolve: number[] = [];
    const published = range(1, 1_500).map((i) =>
      log!.publish('order.placed', `o${i}`, { i }).then((e) => {
        sizeAtResolve[e.seq] = fs.statSync(file).size;
        return e;
      }),
    );
    const events = await Promise.all(published);
    expect(seqs(events)).to.deep.equal(range(1, 1_500));
    expect(reads, 'group commits').to.equal(1);
    expect(live).to.deep.equal(range(1, 1_500));
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
    expect(lines.map((l) => (JSON.parse(l) as TradingEvent).seq)).to.deep.equal(range(1, 1_500));
    let end = 0;
    lines.forEach((line, i) => {
      end += Buffer.byteLength(line) + 1;
      expect(sizeAtResolve[i + 1], `file size when seq ${i + 1} resolved`).to.be.at.least(end);
    });
  });

  it('@slow on a full disk refuses every group of a burst with PersistenceError, then goes on with fresh seqs', async function () {
    await onTmpfs(this, async (disk) => {
      log = await EventLog.open(disk.dir, { retention: 10_000, clock: systemClock });
      await log.publish('recovery', 'boot', {});
      disk.fill();
      const outcomes = await Promise.all(
        range(1, 1_200).map((i) =>
          log!.publish('order.placed', `o${i}`, { i }).then(
            () => 'published',
            (e: unknown) => (e instanceof PersistenceError ? 'refused' : String(e)),
          ),
        ),
      );
      expect(new Set(outcomes)).to.deep.equal(new Set(['refused']));
      expect(log.lastSeq).to.equal(1);
      disk.free();
      const next = await log.publish('order.filled', 'after', {});
      expect(next.seq).to.be.above(1_201); // the refused seqs are never reused
      await log.close();
      log = await EventLog.open(disk.dir, { retention: 10_000, clock: systemClock });
      expect(seqs(log.eventsAfter(0))).to.deep.equal([1, next.seq]);
    });
  });

  it('@slow on an almost full disk refuses a whole burst, never a first part of it while accepting the rest', async function () {
    // a write cut short by ENOSPC is cut back; split in groups, the next part of the burst then fitted in the
    // room the cut-back left and was accepted after the first part was refused
    await onTmpfs(this, async (disk) => {
      log = await EventLog.open(disk.dir, { retention: 10_000, clock: systemClock });
      await log.publish('recovery', 'boot', {});
      disk.fill();
      disk.freeBytes(48 * 1024);
      const outcomes = await Promise.all(
        range(1, 600).map((i) =>
          log!.publish('order.placed', `o${i}`, { i, pad: 'x'.repeat(100) }).then(
            () => 'published',
            (e: unknown) => (e instanceof PersistenceError ? 'refused' : String(e)),
          ),
        ),
      );
      expect(new Set(outcomes)).to.deep.equal(new Set(['refused']));
      disk.free();
      const next = await log.publish('order.filled', 'after', {});
      await log.close();
      log = await EventLog.open(disk.dir, { retention: 10_000, clock: systemClock });
      expect(seqs(log.eventsAfter(0))).to.deep.equal([1, next.seq]);
    });
  });

  it('writes and streams the event as it was published: a change to its data afterwards reaches neither', async () => {
    log = await EventLog.open(dir, { retention: 100, clock: systemClock });
    const live: TradingEvent[] = [];
    log.subscribe(0, (e) => live.push(e));
    const data: Record<string, unknown> = { n: 0 };
    const published = log.publish('order.placed', 'o1', data);
    data.n = 999;
    data.apiKey = 'sekrit-after-publish';
    const event = await published;
    const line = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').trim();
    expect(JSON.parse(line)).to.deep.include({ data: { n: 0 } });
    expect(log.jsonAfter(0, 10).json).to.deep.equal([line]);
    expect(event.data).to.deep.equal({ n: 0 });
    expect(live.map((e) => e.data)).to.deep.equal([{ n: 0 }]);
    await log.close();
    log = await EventLog.open(dir, { retention: 100, clock: systemClock });
    expect(log.eventsAfter(0).map((e) => e.data)).to.deep.equal([{ n: 0 }]);
  });

  it('hands out the JSON of the kept events after a seq, the journal lines, also for events read back at open', async () => {
    log = await EventLog.open(dir, { retention: 100, clock: systemClock });
    for (let i = 1; i <= 3; i++) await log.publish('order.placed', `o${i}`, { i, note: 'a\nb "q"' });
    await log.close();
    log = await EventLog.open(dir, { retention: 100, clock: systemClock });
    await log.publish('order.filled', 'o4', { i: 4 });
    const journal = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean);
    expect(log.jsonAfter(0, 10)).to.deep.equal({ json: journal, lastSeq: 4 });
    expect(log.jsonAfter(1, 2)).to.deep.equal({ json: journal.slice(1, 3), lastSeq: 3 });
    expect(log.jsonAfter(4, 10)).to.deep.equal({ json: [], lastSeq: 4 });
    expect(log.jsonAfter(0, 10).json.map((j) => JSON.parse(j) as unknown)).to.deep.equal(log.eventsAfter(0));
  });

  it('keeps the last N events across compaction and reopen, and the journal stays under 2N lines', async () => {
    const retention = 10;
    log = await EventLog.open(dir, { retention, clock: systemClock });
    for (let i = 1; i <= 57; i++) await log.publish('order.placed', `o${i}`, {});
    expect(seqs(log.eventsAfter(0))).to.deep.equal(range(48, 57));
    const lines = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean);
    expect(lines.length).to.be.at.most(2 * retention);
    await log.close();

    log = await EventLog.open(dir, { retention, clock: systemClock });
    expect(log.lastSeq).to.equal(57);
    expect(seqs(log.eventsAfter(0))).to.deep.equal(range(48, 57));
    expect((await log.publish('order.placed', 'next', {})).seq).to.equal(58);
  });

  it('tells a subscriber how many events after its cursor were trimmed', async () => {
    log = await EventLog.open(dir, { retention: 5, clock: systemClock });
    for (let i = 1; i <= 20; i++) await log.publish('order.placed', `o${i}`, {});
    const behind = log.subscribe(3, () => undefined);
    expect(behind.missed).to.equal(12); // 4..15 are gone
    expect(behind.replayed).to.equal(5);
    expect(seqs(log.eventsAfter(3))).to.deep.equal(range(16, 20));
    const upToDate = log.subscribe(17, () => undefined);
    expect(upToDate.missed).to.equal(0);
    expect(upToDate.replayed).to.equal(3);
    expect(seqs(log.eventsAfter(17))).to.deep.equal([18, 19, 20]);
    behind.unsubscribe();
    upToDate.unsubscribe();
  });

  it('replays then streams live with no gap, duplicate or reordering while publishes race the subscription', async () => {
    log = await EventLog.open(dir, { retention: 10_000, clock: systemClock });
    for (let i = 1; i <= 50; i++) await log.publish('order.placed', `o${i}`, {});
    // Publishes in flight (some committing, some queued) while subscribers join at different points.
    const inFlight = range(51, 300).map((i) => log!.publish('order.placed', `o${i}`, {}));
    const views: TradingEvent[][] = [];
    const subs: Array<{ sub: { unsubscribe(): void }; afterSeq: number }> = [];
    for (let k = 0; k < 5; k++) {
      const seen: TradingEvent[] = [];
      const sub = log.subscribe(k * 10, (e) => seen.push(e));
      // the replay is what is kept up to the subscription's lastSeq, read in the same synchronous step
      const replay = log.eventsAfter(k * 10);
      expect(replay.length).to.equal(sub.replayed);
      expect(replay.at(-1)?.seq ?? k * 10).to.equal(sub.lastSeq);
      seen.unshift(...replay);
      views.push(seen);
      subs.push({ sub, afterSeq: k * 10 });
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(inFlight);
    views.forEach((seen, k) => {
      expect(seqs(seen), `subscriber ${k}`).to.deep.equal(range(subs[k].afterSeq + 1, 300));
    });
    for (const { sub } of subs) sub.unsubscribe();
  });

  it('flags a cursor ahead of the log (reset data) and replays everything it has', async () => {
    log = await EventLog.open(dir, { retention: 100, clock: systemClock });
    await log.publish('recovery', 'boot', {});
    await log.publish('order.placed', 'o', {});
    const sub = log.subscribe(500, () => undefined);
    expect(sub.streamReset).to.equal(true);
    expect(sub.replayed).to.equal(2);
    expect(sub.missed).to.equal(0);
    sub.unsubscribe();
  });

  it('refuses only an event JSON cannot hold (a BigInt): its group commits, no seq is used up', async () => {
    log = await EventLog.open(dir, { retention: 100, clock: systemClock });
    const good = log.publish('order.placed', 'fine', { n: 1 });
    const bad = log.publish('order.placed', 'not JSON', { n: 10n });
    const after = log.publish('order.filled', 'fine too', { n: 2 });
    const outcome = await bad.then(
      () => 'published',
      (e: Error) => `${e.name}: ${e.message}`,
    );
    expect(outcome).to.match(/^PersistenceError: Trading event order.placed cannot be serialised/);
    // data that would not serialise as a record (its line would fail the schema when read back) is refused alike
    for (const notARecord of [[1, 2], new Date(0)]) {
      const refused = await log
        .publish('order.placed', 'not a record', notARecord as unknown as Record<string, unknown>)
        .then(
          () => 'published',
          (e: unknown) => (e instanceof PersistenceError ? 'refused' : String(e)),
        );
      expect(refused).to.equal('refused');
    }
    expect(seqs([await good, await after])).to.deep.equal([1, 2]);
    expect((await log.publish('order.filled', 'next', {})).seq).to.equal(3);
    await log.close();
    log = await EventLog.open(dir, { retention: 100, clock: systemClock });
    expect(seqs(log.eventsAfter(0))).to.deep.equal([1, 2, 3]);
  });

  it('a throwing subscriber does not stop delivery to the others or fail the publish', async () => {
    log = await EventLog.open(dir, { retention: 100, clock: systemClock });
    const got: number[] = [];
    log.subscribe(0, () => {
      throw new Error('subscriber bug');
    });
    log.subscribe(0, (e) => got.push(e.seq));
    await log.publish('order.placed', 'a', {});
    await log.publish('order.placed', 'b', {});
    expect(got).to.deep.equal([1, 2]);
  });

  it('refuses publishes after close', async () => {
    log = await EventLog.open(dir, { retention: 100, clock: systemClock });
    await log.close();
    let error: unknown;
    await log.publish('order.placed', 'late', {}).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(Error);
  });
});
