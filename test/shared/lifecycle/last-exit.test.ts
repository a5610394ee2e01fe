import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  breadcrumbPath,
  describeLastExit,
  interpretBreadcrumb,
  readBreadcrumb,
  readLastExit,
  writeBreadcrumbDurableLater,
  writeBreadcrumbSync,
} from '../../../src/shared/lifecycle/last-exit';

describe('last-exit breadcrumb', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-crumb-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('no breadcrumb means first start', () => {
    expect(readLastExit(dir, 'trading')).to.deep.equal({ kind: 'first-start' });
  });

  it('a leftover "running" means the previous run was killed without a word', () => {
    writeBreadcrumbSync(breadcrumbPath(dir, 'trading'), {
      kind: 'running',
      pid: 123,
      startedAt: 1_000,
      at: 1_000,
    });
    const last = readLastExit(dir, 'trading');
    expect(last.kind).to.equal('killed');
    expect(last.reason).to.match(/pid 123 .*SIGKILL, the OOM killer or a power loss/);
  });

  it('clean, crash and stall are reported with their reason (stall with the last activity)', () => {
    expect(
      interpretBreadcrumb({ kind: 'clean', pid: 1, startedAt: 1, at: 5, reason: 'SIGINT' }),
    ).to.deep.equal({ kind: 'clean', at: 5, reason: 'SIGINT' });
    expect(
      interpretBreadcrumb({ kind: 'crash', pid: 1, startedAt: 1, at: 6, reason: 'uncaughtException: x' }),
    ).to.deep.equal({
      kind: 'crash',
      at: 6,
      reason: 'uncaughtException: x',
    });
    const stall = interpretBreadcrumb({
      kind: 'stall',
      pid: 1,
      startedAt: 1,
      at: 7,
      reason: 'event loop blocked for 10003 ms',
      activity: 'tick 42',
    });
    expect(stall).to.deep.equal({
      kind: 'stall',
      at: 7,
      reason: 'event loop blocked for 10003 ms (last activity: tick 42)',
    });
    expect(describeLastExit(stall)).to.equal(
      `last exit: stall at ${new Date(7).toISOString()} — event loop blocked for 10003 ms (last activity: tick 42)`,
    );
  });

  it('describes a killed run without a time of death it does not know', () => {
    const killed = { kind: 'killed' as const, at: 5, reason: 'pid 9 (started …) left no exit marker' };
    expect(describeLastExit(killed)).to.equal('last exit: killed — pid 9 (started …) left no exit marker');
  });

  it('a damaged breadcrumb is "unknown", never a crash of the reader', () => {
    fs.writeFileSync(breadcrumbPath(dir, 'trading'), '{"kind":');
    expect(readLastExit(dir, 'trading').kind).to.equal('unknown');
    fs.writeFileSync(breadcrumbPath(dir, 'trading'), '{"kind":"bogus","pid":1}');
    expect(readLastExit(dir, 'trading').kind).to.equal('unknown');
  });

  it('writes atomically: the file is replaced whole and no temp file is left', () => {
    const file = breadcrumbPath(dir, 'svc');
    writeBreadcrumbSync(file, { kind: 'running', pid: 1, startedAt: 1, at: 1 });
    writeBreadcrumbSync(file, { kind: 'clean', pid: 1, startedAt: 1, at: 2, reason: 'SIGTERM' });
    expect(readBreadcrumb(file)).to.include({ kind: 'clean', reason: 'SIGTERM' });
    expect(fs.readdirSync(dir)).to.deep.equal(['svc.last-exit.json']);
  });

  it("a start's crumb is in place before its fsyncs settle: a kill from there on finds it, and nothing is left behind", async () => {
    const file = breadcrumbPath(dir, 'svc');
    writeBreadcrumbSync(file, { kind: 'clean', pid: 1, startedAt: 1, at: 2, reason: 'SIGTERM' });
    const durable = writeBreadcrumbDurableLater(file, { kind: 'running', pid: 2, startedAt: 3, at: 3 });
    // read in the same turn, before the thread pool's fsyncs could have answered
    expect(readBreadcrumb(file)).to.deep.equal({ kind: 'running', pid: 2, startedAt: 3, at: 3 });
    expect(readLastExit(dir, 'svc').kind).to.equal('killed');
    await durable;
    expect(fs.readdirSync(dir)).to.deep.equal(['svc.last-exit.json']);
    expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
  });

  it("a start's crumb that cannot be written throws at once (the start fails as before), leaving no temp file", () => {
    const file = breadcrumbPath(dir, 'svc');
    fs.mkdirSync(file); // a directory where the file goes: the rename fails
    expect(() =>
      writeBreadcrumbDurableLater(file, { kind: 'running', pid: 2, startedAt: 3, at: 3 }),
    ).to.throw(/EISDIR|ENOTDIR|EEXIST|ENOTEMPTY/);
    expect(fs.readdirSync(dir)).to.deep.equal(['svc.last-exit.json']);
  });
});
