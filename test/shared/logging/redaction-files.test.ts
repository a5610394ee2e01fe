/**
 * End to end: a service under PM2 logs its secrets every way a careless line could (message, meta, errors,
 * stacks, causes, URLs) and then crashes with a secret in the error message. Afterwards no file in the log dir —
 * JSON logs and PM2's out/err files alike — nor the exit breadcrumb holds any secret value.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURE_SCRIPT, readFixtureState } from '../../fixtures/service/run-fixture';
import { eventually, Pm2Harness } from '../../../harness/pm2';

const SECRETS = {
  EXCHANGE_API_KEY: 'apikey-7f3a9c1e5b2d4f60',
  EXCHANGE_SECRET: 'exsecret-Zq8wX2vB6nM4kL1p',
  EXCHANGE_PASSWORD: 'passphrase-Hk29sLq0',
  TELEGRAM_BOT_TOKEN: '8123456789:AAFakeTokenForRedactionTest-xyz123',
  BYNINJA_IPC_TOKEN: 'ipctoken-c0ffee00deadbeef42',
};

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe('secrets never reach the log files @slow', function () {
  this.timeout(60_000);
  let pm2: Pm2Harness;
  before(() => {
    pm2 = Pm2Harness.create('bn-redact-');
  });
  after(async () => {
    await pm2.stop();
  });

  it('greps every file in the log dir (JSON and PM2 out/err) and the breadcrumb for every secret value: none', async () => {
    await pm2.startScript('leaky', FIXTURE_SCRIPT, {
      env: {
        FIXTURE_NAME: 'leaky',
        FIXTURE_LOG_SECRETS: '1',
        FIXTURE_CRASH: 'uncaught-exception',
        FIXTURE_CRASH_AFTER_MS: '400',
        TELEGRAM_CHAT_ID: '42',
        ...SECRETS,
      },
    });
    // First run logs the secrets and crashes with the bot token in the error; PM2 restarts it; it logs them again.
    await pm2.waitFor('leaky', (p) => p.restarts >= 1 && p.status === 'online', 30_000, 'restarted');
    await eventually(
      () => (pm2.readLog('leaky.log').match(/secrets logged/g) ?? []).length >= 2,
      15_000,
      'second run logged its secrets',
    );
    expect(readFixtureState(pm2.dataDir, 'leaky')?.lastExits).to.deep.equal(['first-start', 'crash']);

    const files = [...filesUnder(pm2.logDir), path.join(pm2.dataDir, 'leaky.last-exit.json')];
    expect(files.map((f) => path.basename(f))).to.include.members([
      'leaky.log',
      'leaky.out.log',
      'leaky.err.log',
    ]);
    for (const file of files) {
      const text = fs.readFileSync(file, 'utf8');
      for (const [name, value] of Object.entries(SECRETS)) {
        expect(text.includes(value), `${name} found in ${file}`).to.equal(false);
      }
      // The secret-free parts of the token (the bot id) must not survive either.
      expect(text.includes('AAFakeTokenForRedactionTest'), `bot token body in ${file}`).to.equal(false);
    }
    // The lines were written (masked), so this test would see a leak.
    const all = files.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
    expect(all).to.include('message with the api key [REDACTED] and the secret [REDACTED]');
    expect(all).to.include('https://api.telegram.org/bot[REDACTED]/getUpdates');
    expect(all).to.match(
      /Fatal uncaughtException: Error: fixture: deliberate uncaught exception token=\[REDACTED\]/,
    );
    expect(fs.readFileSync(path.join(pm2.dataDir, 'leaky.last-exit.json'), 'utf8')).to.satisfy(
      (t: string) => t.length > 0,
    );
  });
});
