import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pm2LogRotation, pm2LogFilesFromEnv } from '../../../src/shared/logging/pm2-log-rotation';
import { FakeClock } from '../../support/fake-clock';
import { FIXTURE_SCRIPT } from '../../fixtures/service/run-fixture';
import { eventually, Pm2Harness } from '../../../harness/pm2';

describe('Pm2LogRotation', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-pm2rot-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('finds PM2 out/err paths in the environment, skipping /dev/null and duplicates', () => {
    expect(pm2LogFilesFromEnv({ pm_out_log_path: '/l/a.out', pm_err_log_path: '/l/a.err' })).to.deep.equal([
      '/l/a.out',
      '/l/a.err',
    ]);
    expect(pm2LogFilesFromEnv({ pm_out_log_path: '/l/a.log', pm_err_log_path: '/l/a.log' })).to.deep.equal([
      '/l/a.log',
    ]);
    expect(pm2LogFilesFromEnv({ pm_out_log_path: '/dev/null' })).to.deep.equal([]);
    expect(pm2LogFilesFromEnv({})).to.deep.equal([]);
  });

  it('copies a file above the limit to .1, shifts older generations, keeps `keep`, truncates in place', () => {
    const file = path.join(dir, 'app.out.log');
    // A writer holding the file open with O_APPEND, as PM2 does.
    const fd = fs.openSync(file, 'a');
    const rotation = new Pm2LogRotation({ files: [file], maxBytes: 100, keep: 2, clock: new FakeClock() });
    for (const gen of ['A', 'B', 'C']) {
      fs.writeSync(fd, gen.repeat(150));
      expect(rotation.checkNow()).to.deep.equal([file]);
    }
    fs.writeSync(fd, 'after');
    fs.closeSync(fd);
    // The appending writer continues at the new end: no hole of NUL bytes, no lost line.
    expect(fs.readFileSync(file, 'utf8')).to.equal('after');
    expect(fs.readFileSync(`${file}.1`, 'utf8')).to.equal('C'.repeat(150));
    expect(fs.readFileSync(`${file}.2`, 'utf8')).to.equal('B'.repeat(150));
    expect(fs.existsSync(`${file}.3`)).to.equal(false);
    expect(rotation.checkNow()).to.deep.equal([]);
  });

  it('ignores missing files and never throws', () => {
    const rotation = new Pm2LogRotation({
      files: [path.join(dir, 'nope.log')],
      maxBytes: 1,
      keep: 1,
      clock: new FakeClock(),
    });
    expect(rotation.checkNow()).to.deep.equal([]);
  });

  it('start checks at once, then every checkEveryMs on the clock, until stop', async () => {
    const file = path.join(dir, 'app.out.log');
    const clock = new FakeClock();
    const rotation = new Pm2LogRotation({ files: [file], maxBytes: 10, keep: 5, checkEveryMs: 1_000, clock });
    const generations = (): number => fs.readdirSync(dir).filter((f) => f.startsWith('app.out.log.')).length;
    fs.writeFileSync(file, 'x'.repeat(20));
    rotation.start();
    expect(generations(), 'the check at start').to.equal(1);

    for (const expected of [2, 3]) {
      fs.appendFileSync(file, 'x'.repeat(20));
      await clock.advance(999, 999);
      expect(generations(), 'not before checkEveryMs').to.equal(expected - 1);
      await clock.advance(1, 1);
      expect(generations(), 'each period').to.equal(expected);
    }

    rotation.stop();
    expect(clock.pendingTimers).to.equal(0);
    fs.appendFileSync(file, 'x'.repeat(20));
    await clock.advance(5_000, 1_000);
    expect(generations(), 'nothing after stop').to.equal(3);
  });

  describe('under PM2 @slow', function () {
    this.timeout(60_000);
    let pm2: Pm2Harness;
    before(() => {
      pm2 = Pm2Harness.create('bn-rot-');
    });
    after(async () => {
      await pm2.stop();
    });

    it('a service makes its data and log dirs 0700 and every log file it owns 0600 (PM2 out/err and rotated copies too)', async () => {
      // what a default umask gives before the service starts: world-readable
      fs.chmodSync(pm2.dataDir, 0o755);
      fs.chmodSync(pm2.logDir, 0o755);
      await pm2.startScript('private', FIXTURE_SCRIPT, {
        env: {
          FIXTURE_NAME: 'private',
          FIXTURE_TICK_MS: '20',
          FIXTURE_CHATTY_LINES: '10',
          BYNINJA__LOGGING__PM2_LOG_MAX_BYTES: '20000',
          BYNINJA__LOGGING__PM2_LOG_KEEP: '1',
          BYNINJA__LOGGING__PM2_LOG_CHECK_MS: '100',
        },
      });
      const out = path.join(pm2.logDir, 'private.out.log');
      await eventually(() => fs.existsSync(`${out}.1`), 20_000, 'a rotated copy');
      const mode = (f: string): string => (fs.statSync(f).mode & 0o777).toString(8);
      expect(mode(pm2.dataDir)).to.equal('700');
      expect(mode(pm2.logDir)).to.equal('700');
      const owned = fs.readdirSync(pm2.logDir).filter((f) => f.startsWith('private.'));
      expect(owned).to.include.members([
        'private.out.log',
        'private.out.log.1',
        'private.err.log',
        'private.log',
      ]);
      for (const f of owned) expect(mode(path.join(pm2.logDir, f)), f).to.equal('600');
      for (const f of fs.readdirSync(pm2.dataDir)) expect(mode(path.join(pm2.dataDir, f)), f).to.equal('600');
    });

    it('a service that prints a lot keeps its PM2 out file bounded, with `keep` rotated generations', async () => {
      const maxBytes = 40_000;
      await pm2.startScript('chatty', FIXTURE_SCRIPT, {
        env: {
          FIXTURE_NAME: 'chatty',
          FIXTURE_TICK_MS: '20',
          FIXTURE_CHATTY_LINES: '10',
          BYNINJA__LOGGING__PM2_LOG_MAX_BYTES: String(maxBytes),
          BYNINJA__LOGGING__PM2_LOG_KEEP: '2',
          BYNINJA__LOGGING__PM2_LOG_CHECK_MS: '100',
        },
      });
      const out = path.join(pm2.logDir, 'chatty.out.log');
      // ~2.3 KB per 20 ms tick: 40 KB is crossed every ~0.35 s. Wait for a tick number that proves ≥ 15× the limit was printed.
      await eventually(
        () => {
          const m = [...pm2.readLog('chatty.out.log').matchAll(/tick (\d+)/g)];
          return m.length > 0 && Number(m[m.length - 1][1]) > 300;
        },
        40_000,
        'lots of output',
      );
      const sizes = fs
        .readdirSync(pm2.logDir)
        .filter((f) => f.startsWith('chatty.out.log'))
        .sort();
      expect(sizes).to.deep.equal(['chatty.out.log', 'chatty.out.log.1', 'chatty.out.log.2']);
      // Bounded: the live file is at most the limit plus what is printed between two checks (with slack for a slow CI).
      expect(fs.statSync(out).size).to.be.below(maxBytes * 3);
      for (const gen of ['.1', '.2']) expect(fs.statSync(out + gen).size).to.be.below(maxBytes * 3);
      // The rotated copies are real log text (no NUL holes from a truncation under O_APPEND).
      expect(fs.readFileSync(out + '.1', 'utf8'))
        .to.match(/chatter \d+\.\d+ z+/)
        .and.not.include('\u0000');
      expect(fs.readFileSync(out, 'utf8')).not.to.include('\u0000');
    });
  });
});
