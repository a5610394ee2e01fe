/**
 * A rollback: the trading daemon of this build started on the files a newer build left (docs/operations.md,
 * "Builds and upgrades"). A newer build adds trading event types without a state version step (the event types are
 * a list in shared/ipc/event-schema.ts, the state's version is not moved for one more), so this build may meet a
 * type it does not know in two places: an event committed with a state change and not yet in the event log when the
 * newer build stopped (`state.outbox`), and an event line in `events.jsonl`. Neither is damage: the state is read
 * and the event published, and the line replayed to the subscriber (telegram words a type it does not know with
 * its own title: trading-event-text.ts), not the state file quarantined and the line dropped. A value a newer build
 * adds to another closed list of the state (an order's purpose or status) comes with a step of STATE_VERSION
 * (persisted-closed-lists.test.ts): this build refuses such a file whole, untouched, and stops with exit 78.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../harness/ports';
import { STATE_VERSION } from '../../src/trading/engine/state/trading-state';
import type { TradingEvent } from '../../src/shared/ipc/protocol';
import { daemonEnv, TradingDaemon, TRADING_TEST_TOKEN } from '../support/trading-daemon';
import { callOverTcp } from '../support/trading-files';

/** A type no build has: what a newer build's event is to this one. */
const NEWER_TYPE = 'entry.from_a_newer_build';

interface Envelope {
  version: number;
  savedAt: number;
  data: { installId: string; outbox: Array<Record<string, unknown>> } & Record<string, unknown>;
}

/** Every event the daemon on `port` replays and sends within `ms`, subscribed from the start of its log. */
async function eventsOf(port: number, ms: number): Promise<TradingEvent[]> {
  const events: TradingEvent[] = [];
  await callOverTcp(port, TRADING_TEST_TOKEN, () => sleep(ms), {
    cursor: { load: () => 0, save: () => Promise.resolve() },
    onEvent: (e) => events.push(e),
  });
  return events;
}

describe('trading on the files a newer build left (a rollback)', function () {
  this.timeout(60_000);
  const roots: string[] = [];
  const running: TradingDaemon[] = [];

  after(async () => {
    await Promise.all(running.map((d) => d.stop()));
    for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
  });

  /** A data dir this build's trading wrote and stopped cleanly on; returns the root. */
  async function stoppedInstall(port: number): Promise<string> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-newer-'));
    roots.push(root);
    const first = new TradingDaemon(root, daemonEnv(root, port));
    running.push(first);
    await first.ready;
    await first.stop();
    expect((await first.exited).code, first.log()).to.equal(0);
    return root;
  }

  it('reads a state whose outbox holds an event of a type it does not know, and publishes that event', async () => {
    const port = await freePort();
    const root = await stoppedInstall(port);
    const dataDir = path.join(root, 'data');
    // the newer build committed a change with its event and stopped before the log had it (killed, or the log's
    // disk full): both generations of the state hold the event, as two writes after that commit leave them
    const withNewerEvent = (file: string): void => {
      const envelope = JSON.parse(fs.readFileSync(file, 'utf8')) as Envelope;
      envelope.data.outbox.push({
        key: 'a-newer-builds-event',
        type: NEWER_TYPE,
        summary: 'Said by a newer build',
        data: { symbol: 'BTC/USDT' },
      });
      fs.writeFileSync(file, JSON.stringify(envelope));
    };
    const stateFile = path.join(dataDir, 'trading-state.json');
    const installId = (JSON.parse(fs.readFileSync(stateFile, 'utf8')) as Envelope).data.installId;
    withNewerEvent(stateFile);
    withNewerEvent(`${stateFile}.prev`);

    const again = new TradingDaemon(root, daemonEnv(root, port));
    running.push(again);
    await again.ready;
    const events = await eventsOf(port, 500);
    await again.stop();
    expect((await again.exited).code, again.log()).to.equal(0);

    expect(fs.readdirSync(dataDir).filter((n) => n.includes('.corrupt-'))).to.deep.equal([]);
    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as Envelope;
    expect(state.data.installId, 'the same state, not a new one').to.equal(installId);
    expect(state.data.outbox, 'published, so out of the outbox').to.deep.equal([]);
    const told = events.filter((e) => e.type === (NEWER_TYPE as TradingEvent['type']));
    expect(told.map((e) => [e.summary, e.data.eventKey])).to.deep.equal([
      ['Said by a newer build', 'a-newer-builds-event'],
    ]);
  });

  it('replays an event line of a type it does not know from its event log, after the ones before it', async () => {
    const port = await freePort();
    const root = await stoppedInstall(port);
    const log = path.join(root, 'data', 'events.jsonl');
    const lines = fs.readFileSync(log, 'utf8').split('\n').filter(Boolean);
    const last = JSON.parse(lines[lines.length - 1]) as TradingEvent;
    const newer = {
      seq: last.seq + 1,
      ts: Date.now(),
      type: NEWER_TYPE,
      summary: 'Said by a newer build',
      data: {},
    };
    fs.appendFileSync(log, `${JSON.stringify(newer)}\n`);

    const again = new TradingDaemon(root, daemonEnv(root, port));
    running.push(again);
    await again.ready;
    const events = await eventsOf(port, 500);
    await again.stop();

    const seqs = events.map((e) => e.seq);
    expect(seqs.slice(0, last.seq + 1), 'every event kept, in order').to.deep.equal(
      Array.from({ length: last.seq + 1 }, (_, i) => i + 1),
    );
    expect(events[last.seq]).to.include({ type: NEWER_TYPE, summary: 'Said by a newer build' });
    expect(again.log()).not.to.match(/does not match the event schema/);
  });

  it('refuses a state a newer state version wrote, an order of a purpose it does not know in it: exit 78, untouched', async () => {
    const port = await freePort();
    const root = await stoppedInstall(port);
    const dataDir = path.join(root, 'data');
    const stateFile = path.join(dataDir, 'trading-state.json');
    // the newer build's order of a purpose this one does not know, in both generations, as two writes leave it
    const written: Record<string, string> = {};
    for (const file of [stateFile, `${stateFile}.prev`]) {
      const envelope = JSON.parse(fs.readFileSync(file, 'utf8')) as Envelope;
      envelope.version = STATE_VERSION + 1;
      const clientOrderId = `bn-${envelope.data.installId}-99`;
      (envelope.data.orders as Record<string, unknown>)[clientOrderId] = {
        clientOrderId,
        exchangeOrderId: '1',
        symbol: 'BTC/USDT',
        side: 'sell',
        type: 'market',
        amount: 0.001,
        filled: 0,
        status: 'open',
        purpose: 'from-a-newer-build',
        createdAt: Date.now(),
        updatedAt: Date.now(),
        fills: [],
      };
      written[file] = JSON.stringify(envelope);
      fs.writeFileSync(file, written[file]);
    }

    const again = new TradingDaemon(root, daemonEnv(root, port));
    running.push(again);
    const exit = await again.exited;
    expect(exit.code, again.log()).to.equal(78);
    expect(again.log()).to.contain('was written by a newer build').and.contain('upgrade again');
    for (const [file, text] of Object.entries(written))
      expect(fs.readFileSync(file, 'utf8'), file).to.equal(text);
    const names = fs.readdirSync(dataDir);
    expect(names.filter((n) => n.includes('.corrupt-') || n.endsWith('.blocked.json'))).to.deep.equal([]);
    // what `byninja status` and the supervisor's alert say while trading stays down
    const failure = JSON.parse(fs.readFileSync(path.join(dataDir, 'trading.config-error.json'), 'utf8')) as {
      problems: Array<{ field: string; value: string; message: string }>;
    };
    expect(failure.problems.map((p) => [p.field, p.value])).to.deep.equal([
      [stateFile, `(schema version ${STATE_VERSION + 1})`],
    ]);
    expect(failure.problems[0]!.message).to.contain(`schema version ${STATE_VERSION + 1}`);
  });
});
