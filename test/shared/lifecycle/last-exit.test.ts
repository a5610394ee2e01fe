import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  alivePath,
  breadcrumbPath,
  describeLastExit,
  interpretBreadcrumb,
  readBreadcrumb,
  readLastExit,
  readRunTraces,
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

  describe('when a killed run died (no time of death of its own)', () => {
    const HOUR = 3_600_000;
    const startedAt = Date.UTC(2026, 11, 4, 10);
    const running = { kind: 'running' as const, pid: 77, startedAt, at: startedAt, bootId: 'boot-a' };

    it('after a power loss and a boot it is dated by its last sign of life, and the server restart is said', () => {
      const aliveAt = startedAt + HOUR;
      const nextStart = aliveAt + 3 * HOUR; // down three hours
      const last = interpretBreadcrumb(running, nextStart, { aliveAt, bootId: 'boot-b' });
      expect(last.kind).to.equal('killed');
      expect(last.at).to.equal(aliveAt);
      expect(last.reason).to.equal(
        `the server restarted (power loss or reboot) under pid 77 (started ${new Date(startedAt).toISOString()}); ` +
          `last alive ${new Date(aliveAt).toISOString()}, down ≈ 3 h`,
      );
    });

    it('on the same boot (PM2 itself killed, a kill under PM2) it is dated by its last sign of life too', () => {
      const aliveAt = startedAt + HOUR;
      const last = interpretBreadcrumb(running, aliveAt + 6_500, { aliveAt, bootId: 'boot-a' });
      expect(last.at).to.equal(aliveAt);
      expect(last.reason).to.match(/left no exit marker: killed by SIGKILL.*; last alive .*, down ≈ 6\.5 s$/);
      expect(last.reason).not.to.match(/server restarted/);
    });

    it("an .alive file older than the run (left by an earlier run) counts as the run's start, never before it", () => {
      const last = interpretBreadcrumb(running, startedAt + 500, {
        aliveAt: startedAt - HOUR,
        bootId: 'boot-a',
      });
      expect(last.at).to.equal(startedAt);
    });

    it('without a sign of life: when the death was noticed on the same boot; no date at all after a boot', () => {
      expect(interpretBreadcrumb(running, startedAt + 9, { bootId: 'boot-a' }).at).to.equal(startedAt + 9);
      const rebooted = interpretBreadcrumb(running, startedAt + 9, { bootId: 'boot-b' });
      expect(rebooted.at).to.equal(undefined);
      expect(rebooted.reason).to.match(/^the server restarted \(power loss or reboot\) under pid 77/);
      // a crumb without a boot id (an older version) never claims a server restart
      const { bootId: _unused, ...older } = running;
      expect(interpretBreadcrumb(older, startedAt + 9, { bootId: 'boot-b' }).reason).not.to.match(/server/);
    });

    it('reads the sign of life from the .alive file (its mtime) and the boot id of this server', () => {
      expect(readRunTraces(dir, 'trading').aliveAt).to.equal(undefined);
      const aliveAt = startedAt + HOUR;
      fs.writeFileSync(alivePath(dir, 'trading'), '');
      fs.utimesSync(alivePath(dir, 'trading'), aliveAt / 1000, aliveAt / 1000);
      writeBreadcrumbSync(breadcrumbPath(dir, 'trading'), running);
      const traces = readRunTraces(dir, 'trading');
      expect(traces.aliveAt).to.equal(aliveAt);
      if (fs.existsSync('/proc/sys/kernel/random/boot_id')) expect(traces.bootId).to.match(/^[0-9a-f-]{36}$/);
      expect(readLastExit(dir, 'trading', aliveAt + 60_000).at).to.equal(aliveAt);
    });
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
