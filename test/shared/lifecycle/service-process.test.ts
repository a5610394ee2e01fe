/**
 * runService in real child processes (no PM2): signals, exit codes, breadcrumbs, the second-instance refusal,
 * crash handlers and the watchdog. PM2-specific behaviour is in pm2-lifecycle.test.ts.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { readBreadcrumb } from '../../../src/shared/lifecycle/last-exit';
import { Tmpfs } from '../../../harness/tmpfs';
import {
  cleanEnv,
  FixtureProcess,
  makeFixtureDirs,
  readFixtureState,
  type FixtureDirs,
} from '../../fixtures/service/run-fixture';

describe('runService in a real process @slow', function () {
  this.timeout(30_000);
  const running: FixtureProcess[] = [];
  const roots: string[] = [];

  function dirs(): FixtureDirs {
    const d = makeFixtureDirs();
    roots.push(d.root);
    return d;
  }
  function start(d: FixtureDirs, extra: Record<string, string> = {}, ipc = false): FixtureProcess {
    const p = new FixtureProcess(cleanEnv(d, extra), { ipc });
    running.push(p);
    return p;
  }

  afterEach(() => {
    for (const p of running.splice(0)) p.kill('SIGKILL');
  });

  /** V8's cachedDataVersionTag (its flag hash) in a fresh node: plain, or with both heap settings set at run time. */
  function flagHash(withSettings: boolean): string {
    const settings = withSettings
      ? "v8.setFlagsFromString('--semi-space-growth-factor=1'); v8.setFlagsFromString('--compact-on-every-full-gc'); "
      : '';
    return execFileSync(
      process.execPath,
      ['-e', `const v8 = require('v8'); ${settings}console.log(v8.cachedDataVersionTag())`],
      { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
    ).trim();
  }
  after(() => {
    for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
  });

  it('SIGINT runs the shutdown once: seed log lines in order, state flushed, clean marker, exit 0', async () => {
    const d = dirs();
    const p = start(d);
    await p.waitFor(/tick 5\b/);
    p.child.kill('SIGINT');
    const { code } = await p.exited;
    expect(code, p.output).to.equal(0);
    const lines = [
      '🛑 Shutdown signal received...',
      '💾 Forcing save to disk...',
      '✅ PersistentMap stopped',
    ];
    const at = lines.map((l) => p.stdout.indexOf(l));
    expect(
      at.every((i) => i >= 0),
      p.output,
    ).to.equal(true);
    expect([...at].sort((a, b) => a - b)).to.deep.equal(at);
    // `ticks` is only written by the shutdown flush (its debounce is an hour): it equals the last tick logged.
    const lastTick = Math.max(...[...p.stdout.matchAll(/tick (\d+)/g)].map((m) => Number(m[1])));
    expect(readFixtureState(d.dataDir)?.ticks).to.equal(lastTick);
    const crumb = readBreadcrumb(path.join(d.dataDir, 'fixture.last-exit.json'));
    expect(crumb).to.include({ kind: 'clean', reason: 'SIGINT' });
  });

  it('sends "ready" over the IPC channel, and shuts down cleanly when that channel (the PM2 parent) goes away', async () => {
    const d = dirs();
    const p = start(d, {}, true);
    await p.waitFor(/fixture ready/);
    expect(p.messages).to.deep.equal(['ready']);
    p.child.disconnect();
    const { code } = await p.exited;
    expect(code, p.output).to.equal(0);
    expect(p.stdout).to.include('✅ PersistentMap stopped');
    const crumb = readBreadcrumb(path.join(d.dataDir, 'fixture.last-exit.json'));
    expect(crumb).to.include({ kind: 'clean', reason: 'PM2 parent gone (IPC channel closed)' });
  });

  it('a second SIGINT during a slow shutdown forces exit 1 at once', async () => {
    const d = dirs();
    const p = start(d, { FIXTURE_SLOW_STOP_MS: '20000' });
    await p.waitFor(/fixture ready/);
    p.child.kill('SIGINT');
    await p.waitFor(/Shutdown signal received/);
    p.child.kill('SIGINT');
    const { code } = await p.exited;
    expect(code).to.equal(1);
    expect(p.output).to.match(/Second SIGINT during shutdown: forcing exit/);
  });

  it('after a SIGKILL the next boot reports lastExit "killed"', async () => {
    const d = dirs();
    const first = start(d);
    await first.waitFor(/fixture ready/);
    first.kill('SIGKILL');
    await first.exited;
    const second = start(d);
    await second.waitFor(/fixture ready/);
    expect(second.output).to.match(/last exit: killed .*left no exit marker/);
    expect(readFixtureState(d.dataDir)?.lastExits).to.deep.equal(['first-start', 'killed']);
  });

  it('a second instance on the same data dir exits 75 with a clear message and leaves the first untouched', async () => {
    const d = dirs();
    const first = start(d);
    await first.waitFor(/fixture ready/);
    const second = start(d);
    const { code } = await second.exited;
    expect(code, second.output).to.equal(75);
    expect(second.output).to.match(/Another ByNinja instance is running: pid \d+/);
    expect(second.output).to.match(/another fixture instance is running with data dir/);
    // The refused instance did not touch the breadcrumb of the running one.
    const crumb = readBreadcrumb(path.join(d.dataDir, 'fixture.last-exit.json'));
    expect(crumb).to.include({ kind: 'running', pid: first.child.pid });
    const before = readFixtureState(d.dataDir)?.commits ?? 0;
    await first.waitFor(new RegExp(`tick ${before + 3}\\b`));
  });

  it('an uncaught exception is logged as fatal, leaves a crash marker, exits 1; the next boot reports it', async () => {
    const d = dirs();
    const p = start(d, {
      FIXTURE_CRASH: 'uncaught-exception',
      FIXTURE_CRASH_AFTER_MS: '200',
      FIXTURE_TICK_MS: '2',
    });
    const { code } = await p.exited;
    expect(code, p.output).to.equal(1);
    expect(p.stderr).to.match(/💥 Fatal uncaughtException: Error: fixture: deliberate uncaught exception/);
    // The crash handler's best-effort flush wrote the debounced state (its debounce is an hour).
    const lastTick = Math.max(...[...p.stdout.matchAll(/tick (\d+)/g)].map((m) => Number(m[1])));
    expect(lastTick).to.be.at.least(1);
    expect(readFixtureState(d.dataDir)?.ticks).to.equal(lastTick);
    // halted before the flush: no tick ran after the fatal error (it would be work on a broken process's state)
    // (the log file has both streams' lines in the order written)
    const logged = fs.readFileSync(path.join(d.logDir, 'fixture.log'), 'utf8');
    expect(logged).to.include('💥 Fatal');
    expect(logged.slice(logged.indexOf('💥 Fatal')), logged).not.to.match(/tick \d+/);
    const next = start(d);
    await next.waitFor(/fixture ready/);
    expect(next.output).to.match(
      /last exit: crash .*uncaughtException: Error: fixture: deliberate uncaught exception/,
    );
  });

  it('main() failing with CorruptStateError exits 78, with any other error exits 1', async () => {
    const corrupt = start(dirs(), { FIXTURE_FAIL_START: 'corrupt' });
    expect((await corrupt.exited).code, corrupt.output).to.equal(78);
    expect(corrupt.output).to.match(/fixture start failed \(exit 78\): fixture: .*corrupt/);
    const failing = start(dirs(), { FIXTURE_FAIL_START: 'error' });
    expect((await failing.exited).code, failing.output).to.equal(1);
  });

  it('a full or read-only data dir at start exits 1 (PM2 retries), not 78; it starts once there is space', async function () {
    const why: { reason?: string } = {};
    const disk = Tmpfs.mount(4, why);
    if (!disk) return this.skip(); // why.reason: not root here
    try {
      const d = { ...dirs(), dataDir: disk.dir };
      disk.fill();
      const full = start(d);
      expect((await full.exited).code, full.output).to.equal(1);
      expect(full.output).to.match(/disk full \(ENOSPC\)/);
      expect(fs.readdirSync(disk.dir).filter((f) => f.includes('.tmp'))).to.deep.equal([]);
      disk.free();
      disk.readOnly(true);
      const readOnly = start(d);
      expect((await readOnly.exited).code, readOnly.output).to.equal(1);
      expect(readOnly.output).to.match(/EROFS/);
      disk.readOnly(false);
      const next = start(d);
      await next.waitFor(/fixture ready/);
    } finally {
      for (const p of running.splice(0)) {
        p.kill('SIGKILL');
        await p.exited;
      }
      disk.unmount();
    }
  });

  it('the watchdog SIGKILLs a blocked event loop and the next boot reports the stall with the last activity', async () => {
    const d = dirs();
    const p = start(d, { FIXTURE_BUSY_LOOP: '1', BYNINJA__LIFECYCLE__WATCHDOG_STALL_MS: '1000' });
    await p.waitFor(/tick 2\b/);
    p.child.kill('SIGUSR2');
    const { signal } = await p.exited;
    expect(signal, p.output).to.equal('SIGKILL');
    expect(p.stderr).to.match(/watchdog: event loop blocked for \d+ ms/);
    const crumb = readBreadcrumb(path.join(d.dataDir, 'fixture.last-exit.json'));
    expect(crumb).to.include({
      kind: 'stall',
      activity: 'test hook: event loop blocked on purpose (SIGUSR2)',
    });
    const next = start(d);
    await next.waitFor(/fixture ready/);
    expect(next.output).to.match(
      /last exit: stall .*event loop blocked for \d+ ms.*last activity: test hook: event loop blocked on purpose/,
    );
  });

  it('the watchdog covers the start too: a start that blocks the event loop past the stall limit is killed as a stall', async () => {
    const d = dirs();
    const p = start(d, { FIXTURE_START_BUSY_MS: '8000', BYNINJA__LIFECYCLE__WATCHDOG_STALL_MS: '1000' });
    const { signal } = await p.exited;
    expect(signal, p.output).to.equal('SIGKILL');
    expect(p.output).not.to.match(/fixture ready/);
    expect(p.stderr).to.match(/watchdog: event loop blocked for \d+ ms/);
    expect(readBreadcrumb(path.join(d.dataDir, 'fixture.last-exit.json'))).to.include({ kind: 'stall' });
  });

  it('a start that waits, then blocks, is killed as a stall with what it was doing', async () => {
    const d = dirs();
    const p = start(d, { FIXTURE_START_WAIT_MS: '2500', BYNINJA__LIFECYCLE__WATCHDOG_STALL_MS: '1000' });
    const { signal } = await p.exited;
    expect(signal, p.output).to.equal('SIGKILL');
    expect(p.output).not.to.match(/fixture ready/);
    expect(readBreadcrumb(path.join(d.dataDir, 'fixture.last-exit.json'))).to.include({
      kind: 'stall',
      activity: 'fixture: start blocked on purpose',
    });
  });

  it('afterReady steps run in order once ready is out; one that throws is logged and the service runs on', async () => {
    const p = start(dirs(), { FIXTURE_AFTER_READY: '1' }, true);
    await p.waitFor(/after ready: step 3/);
    await p.waitFor(/tick 2\b/);
    const ready = p.stdout.indexOf('✅ fixture ready');
    const first = p.stdout.indexOf('after ready: step 1');
    expect(ready, p.output).to.be.greaterThan(-1);
    expect(first, p.output).to.be.greaterThan(ready);
    expect(p.stdout.indexOf('after ready: step 3')).to.be.greaterThan(first);
    expect(p.stderr).to.match(/a step after ready failed: fixture: step 2 fails on purpose/);
    expect(p.child.exitCode).to.equal(null);
  });

  it("applies V8's memory settings once ready, not before: the start compiles under node's own flags", async () => {
    const plain = flagHash(false);
    // both settings in force: the flag hash of a node given both at run time
    const both = flagHash(true);
    const p = start(dirs(), { FIXTURE_V8_TAG: '1' }, true);
    await p.waitFor(/v8 tag after ready: \d+/);
    expect(/v8 tag in main: (\d+)/.exec(p.stdout)?.[1], p.output).to.equal(plain);
    // the watchdog's worker is online by then (the fixture's start lasts 500 ms more): the settings wait for ready
    expect(/v8 tag at the end of main: (\d+)/.exec(p.stdout)?.[1], p.output).to.equal(plain);
    // both, and kept: none of them put back by the watchdog worker's isolate coming up after them
    await p.waitFor(new RegExp(`v8 tag at tick \\d+: ${both}\\b`));
    const first = Number(new RegExp(`v8 tag at tick (\\d+): ${both}\\b`).exec(p.stdout)![1]);
    await p.waitFor(new RegExp(`v8 tag at tick ${first + 3}: `));
    const since = [...p.stdout.matchAll(/v8 tag at tick (\d+): (\d+)/g)].filter((m) => Number(m[1]) >= first);
    expect(
      since.map((m) => m[2]),
      'the tag at each tick once applied',
    ).to.deep.equal(since.map(() => both));
  });

  it("applies V8's memory settings 10 s after start to a start that never becomes ready", async function () {
    this.timeout(40_000);
    const both = flagHash(true);
    const p = start(dirs(), { FIXTURE_NEVER_READY: '1' }, true);
    await p.waitFor(/v8 tag while starting: \d+/);
    expect(/v8 tag while starting: (\d+)/.exec(p.stdout)?.[1], 'not at once').to.not.equal(both);
    await p.waitFor(new RegExp(`v8 tag while starting: ${both}\\b`), 20_000);
    expect(p.stdout, 'never ready').to.not.include('fixture ready');
  });

  it('a whole-process pause (SIGSTOP/SIGCONT, host suspend) longer than the stall limit is not a stall', async () => {
    const p = start(dirs(), { BYNINJA__LIFECYCLE__WATCHDOG_STALL_MS: '1000' });
    await p.waitFor(/tick 2\b/);
    p.child.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 2_000));
    p.child.kill('SIGCONT');
    const ticks = [...p.stdout.matchAll(/tick (\d+)/g)].length;
    await p.waitFor(new RegExp(`tick ${ticks + 3}\\b`));
    expect(p.child.exitCode).to.equal(null);
    expect(p.child.signalCode).to.equal(null);
    expect(p.stderr).not.to.match(/watchdog/);
  });

  it('without the busy-loop hook SIGUSR2 keeps its default (the runtime installs no test hook)', async () => {
    const p = start(dirs());
    await p.waitFor(/fixture ready/);
    expect(p.output).not.to.match(/SIGUSR2 blocks/);
    p.child.kill('SIGUSR2');
    const { signal } = await p.exited;
    // Node's default for SIGUSR2 (terminate by that signal), not a blocked loop killed by the watchdog.
    expect(signal).to.equal('SIGUSR2');
  });
});
