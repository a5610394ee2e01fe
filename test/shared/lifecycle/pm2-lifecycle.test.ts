/**
 * The lifecycle under a real PM2 daemon (temporary PM2_HOME), with ByNinja's PM2 options: a graceful
 * `pm2 stop`, a crash restarted by PM2 and reported on the next boot, and a stalled event loop killed by the
 * watchdog, restarted, and explained on the next boot.
 */
import { expect } from 'chai';
import path from 'node:path';
import { readBreadcrumb } from '../../../src/shared/lifecycle/last-exit';
import { FIXTURE_SCRIPT, readFixtureState } from '../../fixtures/service/run-fixture';
import { eventually, Pm2Harness } from '../../../harness/pm2';

describe('lifecycle under PM2 @slow', function () {
  this.timeout(60_000);
  let pm2: Pm2Harness;

  const start = (name: string, env: Record<string, string> = {}): Promise<void> =>
    pm2.startScript(name, FIXTURE_SCRIPT, { env: { FIXTURE_NAME: name, ...env } });

  // The three apps start together, so their waits overlap; each test then drives and checks its own app.
  before(async () => {
    pm2 = Pm2Harness.create('bn-life-');
    await start('stopper');
    await start('crasher', { FIXTURE_CRASH: 'unhandled-rejection', FIXTURE_CRASH_AFTER_MS: '200' });
    await start('staller', { FIXTURE_BUSY_LOOP: '1', BYNINJA__LIFECYCLE__WATCHDOG_STALL_MS: '1000' });
  });
  after(async () => {
    await pm2.stop();
  });

  it('pm2 stop: exit 0, the three seed lines in the out log, state flushed, clean marker', async () => {
    await pm2.waitFor('stopper', (p) => p.status === 'online', 20_000, 'online');
    await eventually(() => /tick 3\b/.test(pm2.readLog('stopper.out.log')), 10_000, 'a few ticks');
    await pm2.pm2(['stop', 'stopper']);
    const info = await pm2.waitFor('stopper', (p) => p.status === 'stopped', 20_000, 'stopped');
    expect(info.restarts).to.equal(0);
    const out = pm2.readLog('stopper.out.log');
    for (const line of [
      '🛑 Shutdown signal received...',
      '💾 Forcing save to disk...',
      '✅ PersistentMap stopped',
    ]) {
      expect(out, line).to.include(line);
    }
    const lastTick = Math.max(...[...out.matchAll(/tick (\d+)/g)].map((m) => Number(m[1])));
    expect(readFixtureState(pm2.dataDir, 'stopper')?.ticks).to.equal(lastTick);
    const crumb = readBreadcrumb(path.join(pm2.dataDir, 'stopper.last-exit.json'));
    expect(crumb).to.include({ kind: 'clean', reason: 'SIGINT' });
    // PM2 recorded our own exit code, not a kill after kill_timeout.
    expect(info.exitCode).to.equal(0);
  });

  it('an unhandled rejection: fatal log, exit 1, PM2 restarts it, and the next boot reports lastExit "crash"', async () => {
    const info = await pm2.waitFor(
      'crasher',
      (p) => p.restarts >= 1 && p.status === 'online',
      30_000,
      'restarted and online',
    );
    expect(info.restarts).to.be.at.least(1);
    await eventually(
      () => readFixtureState(pm2.dataDir, 'crasher')?.lastExits.length === 2,
      15_000,
      'second boot recorded',
    );
    expect(readFixtureState(pm2.dataDir, 'crasher')?.lastExits).to.deep.equal(['first-start', 'crash']);
    expect(pm2.readLog('crasher.err.log')).to.match(
      /💥 Fatal unhandledRejection: Error: fixture: deliberate unhandled rejection/,
    );
    expect(pm2.readLog('crasher.log')).to.match(
      /last exit: crash .*unhandledRejection: Error: fixture: deliberate unhandled rejection/,
    );
  });

  it('a blocked event loop: the watchdog kills it, PM2 restarts it, the next boot logs the stall and the last activity', async () => {
    const first = await pm2.waitFor('staller', (p) => p.status === 'online' && p.pid > 0, 20_000, 'online');
    await eventually(() => /tick 2\b/.test(pm2.readLog('staller.out.log')), 10_000, 'ticking');
    process.kill(first.pid, 'SIGUSR2');
    const info = await pm2.waitFor(
      'staller',
      (p) => p.restarts >= 1 && p.status === 'online' && p.pid !== first.pid,
      30_000,
      'restarted',
    );
    expect(info.restarts).to.equal(1);
    await eventually(
      () => /last exit: stall/.test(pm2.readLog('staller.log')),
      15_000,
      'stall reported on boot',
    );
    expect(pm2.readLog('staller.log')).to.match(
      /last exit: stall .*event loop blocked for \d+ ms .*last activity: test hook: event loop blocked on purpose \(SIGUSR2\)/,
    );
    expect(readFixtureState(pm2.dataDir, 'staller')?.lastExits).to.deep.equal(['first-start', 'stall']);
  });
});
