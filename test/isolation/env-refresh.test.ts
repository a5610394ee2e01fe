/**
 * PM2 keeps the environment of an app's first start. A configuration variable changed afterwards — here the IPC
 * port, moved from the shell into .env — must reach the daemons through the documented restart (`npm restart`),
 * or the CLI (which reads .env) and trading (PM2's old copy) disagree and the CLI cannot reach trading. A
 * BYNINJA__ variable no longer exported is forgotten too, and no secret of the restarting shell lands in PM2. @slow
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { runCli } from '../support/cli';
import { Pm2Harness, REPO_ROOT, eventually } from '../../harness/pm2';
import { freePort } from '../../harness/ports';

describe('environment changes reach the daemons through npm restart @slow', function () {
  this.timeout(120_000);
  let harness: Pm2Harness;

  before(() => {
    harness = Pm2Harness.create('bn-env-');
  });
  after(async () => {
    await harness?.stop();
  });

  function npm(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
    return new Promise((resolve) => {
      execFile('npm', args, { cwd: REPO_ROOT, env, timeout: 90_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out: stdout + stderr });
      });
    });
  }

  it('a port changed in .env is effective after `npm restart`; a variable no longer set is forgotten; no secret copied', async () => {
    const [first, second] = [String(await freePort()), String(await freePort())];
    // the first start, from a shell that exported these (PM2 keeps its own copy of them)
    await harness.startEcosystem({ BYNINJA_IPC_PORT: first, BYNINJA__TRADING__CANDLE_LIMIT: '60' });
    await eventually(
      async () =>
        (await runCli(['status'], { env: harness.env({ BYNINJA_IPC_PORT: first }), cwd: REPO_ROOT })).code ===
        0,
      30_000,
      'trading reachable on the first port',
    );

    // later: the port lives in .env, the shell exports neither variable any more
    fs.writeFileSync(path.join(harness.root, '.env'), `BYNINJA_IPC_PORT=${second}\n`);
    const shell = harness.env({ TELEGRAM_BOT_TOKEN: '123456:secret-of-the-shell' });
    const before = await runCli(['status'], { env: shell, cwd: REPO_ROOT });
    expect(before.code, 'PM2’s old copy wins until the restart').to.equal(3);

    const restarted = await npm(['restart'], shell);
    expect(restarted.code, restarted.out).to.equal(0);
    expect(restarted.out).to.include('✅ telegram ready').and.include('✅ trading ready');

    const after = await runCli(['status'], { env: shell, cwd: REPO_ROOT });
    expect(after.code, after.stdout + after.stderr).to.equal(0);
    // PM2 still holds the old value (it only ever adds to its copy), and trading ignores it
    const jlist = await harness.pm2(['jlist']);
    expect(jlist).to.include('"BYNINJA__TRADING__CANDLE_LIMIT":"60"');
    expect(harness.readLog('trading.err.log')).to.include(
      "ignored BYNINJA__TRADING__CANDLE_LIMIT: left in PM2's copy of the environment by an earlier start",
    );
    expect(jlist).not.to.include('secret-of-the-shell');
  });
});
