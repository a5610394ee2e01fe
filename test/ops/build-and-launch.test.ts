/**
 * Builds, `npm start` and `npm run upgrade` against the real pair under a real PM2 (temp PM2_HOME), in a copy of
 * this checkout (test/support/install-copy.ts): a build never removes what the running daemons use, `npm start`
 * while the pair runs does nothing, an upgrade restarts one service at a time on the new build, a failed build
 * changes nothing. The services alert in log-only mode: the telegram service's log is the alert channel here. @slow
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { systemClock } from '../../src/shared/clock';
import { Pm2Client, type Pm2ProcessView } from '../../src/ops/pm2-client';
import { InstallCopy } from '../support/install-copy';
import { Pm2Harness, eventually } from '../../harness/pm2';
import { sigkillApp } from '../support/pm2-apps';
import { freePort } from '../../harness/ports';

describe('builds, npm start and npm run upgrade with the pair running @slow', function () {
  this.timeout(240_000);
  let install: InstallCopy;
  let harness: Pm2Harness;
  let pm2: Pm2Client;
  let env: NodeJS.ProcessEnv;

  const log = (file: string): string => harness.readLog(file);
  const alertsSince = (mark: number, text: string): number =>
    log('telegram.out.log')
      .slice(mark)
      .split('\n')
      .filter((l) => l.includes('📣') && l.includes(text)).length;
  /** The build each start line of trading names, oldest first. */
  const tradingBuilds = (): string[] =>
    [...log('trading.out.log').matchAll(/🚀 trading starting .*"build":"([^"]+)"/g)].map((m) => m[1]!);
  const apps = async (): Promise<Record<string, Pm2ProcessView>> =>
    Object.fromEntries((await pm2.list()).map((p) => [p.name, p]));

  before(async () => {
    install = InstallCopy.create();
    harness = Pm2Harness.create('bn-bld-');
    env = harness.env({
      BYNINJA_IPC_PORT: String(await freePort()),
      BYNINJA__TRADING__PAPER__CANDLE_MS: '200',
      BYNINJA__TRADING__TICK_INTERVAL_MS: '200',
      // the log is the alert channel here: no need to pace it like Telegram's 1 message/s per chat
      BYNINJA__OUTBOX__PER_CHAT_INTERVAL_MS: '20',
      BYNINJA__OUTBOX__GLOBAL_PER_SECOND: '30',
    });
    const started = await install.cli(['start'], env);
    expect(started.code, started.stdout + started.stderr).to.equal(0);
    expect(started.stdout).to.include('✅ telegram ready').and.include('✅ trading ready');
    pm2 = new Pm2Client({ pm2Home: harness.home, clock: systemClock });
  });

  after(async () => {
    await pm2?.disconnect();
    await harness?.stop({ keepFiles: process.env.BYNINJA_KEEP_TEST_FILES === '1' });
    install?.remove();
  });

  it('npm start while the pair runs says so and does nothing: no build, no restart', async () => {
    const before = await apps();
    const builds = install.builds();
    for (let i = 0; i < 2; i++) {
      const r = await install.npm(['start'], env);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout)
        .to.include('ByNinja is already running')
        .and.include('Nothing done (no build, no restart)');
    }
    const after = await apps();
    for (const name of ['trading', 'telegram']) {
      expect(after[name]!.pid, name).to.equal(before[name]!.pid);
      expect(after[name]!.restarts, name).to.equal(before[name]!.restarts);
    }
    expect(install.builds()).to.deep.equal(builds);
  });

  it('SIGKILL of trading during npm run build: it comes back on the old build, one crash alert, one back online', async () => {
    const old = install.currentBuild();
    const buildsBefore = install.builds().length;
    const mark = log('telegram.out.log').length;
    const restartsBefore = (await apps()).trading!.restarts;
    const build = install.npmRunning(['run', 'build'], env);
    // npm has started the build script (tsc type-checks for many seconds before it writes anything)
    await eventually(() => build.output().includes('node scripts/build.js'), 30_000, 'the build under way');
    await sigkillApp(pm2, 'trading');
    await eventually(
      () => alertsSince(mark, 'trading back online after a crash') > 0,
      30_000,
      'back online alert',
    );
    expect(install.currentBuild(), 'the build was still running when trading came back').to.equal(old);
    expect(tradingBuilds().at(-1)).to.equal(old);

    const built = await build.done;
    expect(built.code, built.stderr).to.equal(0);
    expect(install.builds().length).to.be.greaterThan(buildsBefore);
    const next = install.currentBuild();
    expect(next).not.to.equal(old);
    // the build trading runs from is kept
    expect(fs.existsSync(path.join(install.root, old, 'daemons', 'trading.bundle.js'))).to.equal(true);
    await new Promise((r) => setTimeout(r, 1_000)); // a late second alert would be here by now
    expect(alertsSince(mark, 'trading crashed')).to.equal(1);
    expect(alertsSince(mark, 'trading back online')).to.equal(1);
    const now = await apps();
    expect(now.trading!.status).to.equal('online');
    expect(now.trading!.restarts, 'one restart: no restart loop').to.equal(restartsBefore + 1);
    // both still run the old build: status says so for each, with the fix
    const status = await install.cli(['status'], env);
    const stale = status.stdout
      .split('\n')
      .filter((l) => l.includes(`runs build ${old}; dist/ is now ${next}`));
    expect(stale, status.stdout).to.have.length(2);
    expect(status.stdout).to.include('`npm run upgrade` restarts the pair onto it');
  });

  it('npm run upgrade: builds, then restarts telegram and trading one at a time onto the new build, each ready', async () => {
    const before = await apps();
    const previous = install.currentBuild();
    const mark = log('telegram.out.log').length;
    const r = await install.npm(['run', 'upgrade'], env);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    const next = install.currentBuild();
    expect(next).not.to.equal(previous);
    expect(r.stdout.indexOf('✅ telegram ready')).to.be.greaterThan(-1);
    expect(r.stdout.indexOf('✅ trading ready')).to.be.greaterThan(r.stdout.indexOf('✅ telegram ready'));
    expect(tradingBuilds().at(-1)).to.equal(next);
    const after = await apps();
    for (const name of ['trading', 'telegram']) {
      expect(after[name]!.status, name).to.equal('online');
      expect(after[name]!.restarts, name).to.equal(before[name]!.restarts + 1);
    }
    const status = await install.cli(['status'], env);
    expect(status.stdout, 'both on the current build').not.to.include('runs build');
    // the new supervisor saw trading's restart as an operator's, once it was ready
    await eventually(
      () => alertsSince(mark, 'trading restarted by an operator and online') === 1,
      20_000,
      'the restart alert',
    );
  });

  it('npm run upgrade with a build that fails (tsc error): nothing restarted, dist/ unchanged', async () => {
    const before = await apps();
    const current = install.currentBuild();
    const builds = install.builds();
    const file = path.join(install.root, 'src', 'ops', 'version.ts');
    fs.appendFileSync(file, '\nexport const broken: number = "not a number";\n');
    const r = await install.npm(['run', 'upgrade'], env);
    expect(r.code).not.to.equal(0);
    expect(r.stdout + r.stderr).to.include('build failed');
    expect(r.stdout).to.include('nothing restarted');
    expect(install.currentBuild()).to.equal(current);
    expect(install.builds()).to.deep.equal(builds);
    const after = await apps();
    for (const name of ['trading', 'telegram']) {
      expect(after[name]!.pid, name).to.equal(before[name]!.pid);
      expect(after[name]!.restarts, name).to.equal(before[name]!.restarts);
    }
  });
});
