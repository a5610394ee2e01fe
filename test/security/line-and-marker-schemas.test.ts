/**
 * Issue 12 hole 3 for the append-only files and the breadcrumb: a line of the history journal or the event log
 * that is valid JSON with a wrong type inside is skipped (and logged), never handed to the engine or replayed; a
 * breadcrumb with a wrong type is set aside and reported as unreadable.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventLog } from '../../src/shared/ipc/event-log';
import { breadcrumbPath, readLastExit } from '../../src/shared/lifecycle/last-exit';
import { Journal } from '../../src/shared/persistence/journal';
import { validateHistoryEntry, type HistoryEntry } from '../../src/trading/engine/state/trading-state';
import { captureLogger } from '../support/capture-logger';
import { systemClock } from '../../src/shared/clock';

const order = (id: string, amount: unknown) => ({
  clientOrderId: id,
  symbol: 'BTC/USDT',
  side: 'buy',
  type: 'market',
  amount,
  filled: 0,
  status: 'cancelled',
  purpose: 'entry',
  createdAt: 1,
  updatedAt: 2,
  fills: [],
});

describe('line and marker schemas', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-sec-lines-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a history line whose order amount is "lots" is skipped and logged; the good lines are read', async () => {
    const lines = [
      { kind: 'order', archivedAt: 5, order: order('b-1', 1), seq: 1 },
      { kind: 'order', archivedAt: 6, order: order('b-2', 'lots'), seq: 2 },
      { kind: 'order', archivedAt: 7, order: order('b-3', 3), seq: 3 },
    ];
    fs.writeFileSync(
      path.join(dir, 'trading-history.jsonl'),
      lines.map((l) => JSON.stringify(l) + '\n').join(''),
    );
    const { logger, lines: logged } = captureLogger();
    const journal = await Journal.open<HistoryEntry>(dir, 'trading-history', {
      logger,
      validate: validateHistoryEntry,
    });
    try {
      expect((await journal.readAll()).map((e) => e.order.clientOrderId)).to.deep.equal(['b-1', 'b-3']);
      expect((await journal.tail(1)).map((e) => e.order.clientOrderId)).to.deep.equal(['b-3']);
      expect(
        logged.some((l) => l.level === 'error' && /not matching the entry schema/.test(l.message)),
      ).to.equal(true);
    } finally {
      await journal.close();
    }
  });

  it('an event line with data "x" or a type that is no type is not replayed; the seq still continues after the last one', async () => {
    const good = (seq: number) => ({ seq, ts: 1, type: 'order.filled', summary: `e${seq}`, data: {} });
    // a type this build does not make but of the form (a newer build's, after a rollback) is replayed: event-schema.ts
    const lines = [
      good(1),
      { ...good(2), data: 'x' },
      { ...good(3), type: '<b>made up</b>' },
      { ...good(4), type: 'made.up' },
      good(5),
    ];
    fs.writeFileSync(path.join(dir, 'events.jsonl'), lines.map((l) => JSON.stringify(l) + '\n').join(''));
    const log = await EventLog.open(dir, { clock: systemClock });
    try {
      expect(log.eventsAfter(0, 10).map((e) => e.seq)).to.deep.equal([1, 4, 5]);
      expect((await log.publish('trading.paused', 'next')).seq).to.equal(6);
    } finally {
      await log.close();
    }
  });

  it('a breadcrumb with pid "abc" is set aside and the last exit is reported as unknown', () => {
    const file = breadcrumbPath(dir, 'trading');
    fs.writeFileSync(file, JSON.stringify({ kind: 'crash', pid: 'abc', startedAt: 1, at: 2 }));
    expect(readLastExit(dir, 'trading').kind).to.equal('unknown');
    expect(fs.existsSync(file)).to.equal(false);
    expect(fs.readdirSync(dir).some((n) => n.startsWith('trading.last-exit.json.corrupt-'))).to.equal(true);
  });
});
