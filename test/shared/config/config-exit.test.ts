/**
 * An invalid configuration stops a service with exit 78 and a readable list of every problem — and PM2, which
 * has 78 in stop_exit_codes, leaves it stopped instead of restart-looping it.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import {
  cleanEnv,
  FIXTURE_SCRIPT,
  FixtureProcess,
  makeFixtureDirs,
} from '../../fixtures/service/run-fixture';
import { readConfigFailure } from '../../../src/shared/lifecycle/config-failure';
import { Pm2Harness } from '../../../harness/pm2';

const BAD = {
  BYNINJA_IPC_PORT: 'not-a-port',
  BYNINJA__TRADING__RISK__STAKE_PER_TRAD: '5',
  BYNINJA__TRADING__EXCHANGE__API_KEY: '123456:bad-config-token-value',
};

describe('invalid configuration stops the service @slow', function () {
  this.timeout(60_000);

  it('a direct run exits 78 and prints every problem with field, value and fix, secrets masked', async () => {
    const dirs = makeFixtureDirs();
    try {
      const p = new FixtureProcess(cleanEnv(dirs, BAD));
      const { code } = await p.exited;
      expect(code, p.output).to.equal(78);
      expect(p.stderr).to.include('❌ fixture cannot start. Invalid configuration (3 problems)');
      expect(p.stderr).to.include('Fix it, then `npm start`');
      expect(p.stderr).to.match(
        /ipc\.port \(env BYNINJA_IPC_PORT\) = "not-a-port": .*fix variable BYNINJA_IPC_PORT/,
      );
      expect(p.stderr).to.match(
        /trading\.risk\.stakePerTrad \(env BYNINJA__TRADING__RISK__STAKE_PER_TRAD\) = 5: unknown setting \(did you mean "trading\.risk\.stakePerTrade"\?\)/,
      );
      expect(p.stderr).to.match(
        /trading\.exchange\.apiKey \(env BYNINJA__TRADING__EXCHANGE__API_KEY\) = \[REDACTED\]: secrets only from the environment/,
      );
      expect(p.output).not.to.include('bad-config-token-value');
      // Nothing was started (no state, no breadcrumb): only the record of why, for status and alerts.
      expect(fs.readdirSync(dirs.dataDir)).to.deep.equal(['fixture.config-error.json']);
      const record = readConfigFailure(dirs.dataDir, 'fixture')!;
      expect(record.problems.map((q) => q.field)).to.have.length(3);
      expect(JSON.stringify(record)).not.to.include('bad-config-token-value');
    } finally {
      fs.rmSync(dirs.root, { recursive: true, force: true });
    }
  });

  it('the record of the problems masks a secret that a bad value quotes (the record may be sent to a chat)', async () => {
    const dirs = makeFixtureDirs();
    try {
      const secret = 'exchange-secret-quoted-by-mistake';
      const p = new FixtureProcess(
        cleanEnv(dirs, { EXCHANGE_SECRET: secret, BYNINJA__TRADING__EXCHANGE_API_URL: secret }),
      );
      expect((await p.exited).code, p.output).to.equal(78);
      const record = readConfigFailure(dirs.dataDir, 'fixture')!;
      expect(record.problems.map((q) => q.field.split(' ')[0])).to.deep.equal(['trading.exchangeApiUrl']);
      expect(JSON.stringify(record)).not.to.include(secret);
    } finally {
      fs.rmSync(dirs.root, { recursive: true, force: true });
    }
  });

  // PM2 7.0.4 quirk (God.handleExit): with exp_backoff_restart_delay set, an app stopped by stop_exit_codes shows
  // status "waiting restart" although no restart is scheduled. What matters: pid 0, exit 78, never restarted.
  it('under PM2 the app is not restarted: pid 0, exit code 78, 0 restarts, the problems in its err log', async () => {
    const pm2 = Pm2Harness.create('bn-cfg-');
    try {
      await pm2.startScript('badcfg', FIXTURE_SCRIPT, { env: { FIXTURE_NAME: 'badcfg', ...BAD } });
      const down = ['stopped', 'errored', 'waiting restart'];
      const info = await pm2.waitFor(
        'badcfg',
        (p) => down.includes(p.status) && p.exitCode === 78,
        20_000,
        'exited 78',
      );
      expect(info.restarts).to.equal(0);
      expect(info.exitCode).to.equal(78);
      // Still not restarted a while later (PM2's restart delay is 100 ms).
      await new Promise((r) => setTimeout(r, 1_500));
      const later = await pm2.info('badcfg');
      expect(later?.restarts).to.equal(0);
      expect(later?.pid).to.equal(0);
      expect(later?.status).to.be.oneOf(down);
      expect(pm2.readLog('badcfg.err.log')).to.include('Invalid configuration (3 problems)');
    } finally {
      await pm2.stop();
    }
  });
});
