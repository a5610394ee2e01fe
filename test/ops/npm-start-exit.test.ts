/**
 * What an operator's shell sees: `npm start` / `npm restart` exit non-zero, naming each service that did not come
 * up and why (they used to return 0 while both services exited 78), and `npx byninja` answers at once from the
 * checkout (the package's own bin is linked by the build; npx used to look for it on the registry). @slow
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InstallCopy } from '../support/install-copy';
import { Pm2Harness, REPO_ROOT } from '../../harness/pm2';
import { freePort } from '../../harness/ports';

describe('npm start / npm restart exit codes, npx byninja @slow', function () {
  this.timeout(180_000);
  let install: InstallCopy;
  let harness: Pm2Harness;

  before(() => {
    install = InstallCopy.create('bn-exit-');
    harness = Pm2Harness.create('bn-exit-');
  });
  after(async () => {
    await harness?.stop();
    install?.remove();
  });

  it('both services stopping on a configuration error: exit 1 with each reason, for start and restart', async () => {
    const env = harness.env({
      BYNINJA_IPC_PORT: String(await freePort()),
      // one problem in each service's own section: each fails alone, with exit 78
      TELEGRAM_CHAT_ID: 'not-a-number',
      BYNINJA__TRADING__TICK_INTERVAL_MS: '1',
    });
    // what `npm start` runs once the build is there (its build step is the build test's)
    const start = await install.cli(['start'], env);
    expect(start.code, start.stdout + start.stderr).to.equal(1);
    expect(start.stdout)
      .to.include('❌ telegram: stopped: configuration error — fix telegram.chatId')
      .and.include('❌ trading: stopped: configuration error — fix trading.tickIntervalMs');
    const restart = await install.npm(['restart'], env);
    expect(restart.code, restart.stdout + restart.stderr).not.to.equal(0);
    expect(restart.stdout).to.include('❌ telegram: stopped: configuration error — fix telegram.chatId');
    expect(restart.stdout).to.include('stopped here: trading not restarted');
  });

  it('npx byninja in the checkout runs its own CLI without asking the registry', async () => {
    const link = path.join(REPO_ROOT, 'node_modules', '.bin', 'byninja');
    expect(fs.realpathSync(link)).to.equal(fs.realpathSync(path.join(REPO_ROOT, 'bin', 'byninja.js')));
    // npm's own cache in a temp dir, as on a checkout where npx never ran. npx runs a bin the checkout's package.json
    // declares by first installing the checkout into `<cache>/_npx/<hash>` (~20–28 s of CPU: it loads the whole tree;
    // minutes under load: this step timed out at 150 s); package.json declares none, so npx runs the link the build
    // made in node_modules/.bin at once and puts nothing in its cache
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-npx-cache-'));
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        'npx',
        ['--no-install', 'byninja', '--version'],
        {
          cwd: REPO_ROOT,
          env: { ...process.env, npm_config_offline: 'true', npm_config_cache: cache },
          timeout: 150_000,
        },
        (err, stdout, stderr) =>
          resolve({ code: err ? Number(err.code ?? -1) : 0, stdout: String(stdout), stderr: String(stderr) }),
      ),
    );
    const installed = fs.existsSync(path.join(cache, '_npx'));
    fs.rmSync(cache, { recursive: true, force: true });
    expect(run.code, run.stderr).to.equal(0);
    expect(installed, 'npx installed the checkout into its cache').to.equal(false);
    expect(run.stdout).to.match(/^byninja \d+\.\d+\.\d+/);
  });

  it("npx in the checkout never installs a package it lacks (the checkout's .npmrc: yes=false), whatever the user's npm config", async () => {
    // Without the build's link, `npx byninja` would look for a package called byninja on the registry and run it next
    // to .env. The checkout's .npmrc makes npx refuse instead; the user's and the global npm config are left out here
    // (empty files) because this machine's own config may say the same
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-npmrc-'));
    const user = path.join(empty, 'user-npmrc');
    const global = path.join(empty, 'global-npmrc');
    fs.writeFileSync(user, '');
    fs.writeFileSync(global, '');
    const yes = await new Promise<string>((resolve, reject) =>
      execFile(
        'npm',
        ['config', 'get', 'yes'],
        {
          cwd: REPO_ROOT,
          env: {
            ...process.env,
            npm_config_userconfig: user,
            npm_config_globalconfig: global,
            npm_config_yes: undefined,
          },
          timeout: 60_000,
        },
        (err, stdout) => (err ? reject(err) : resolve(String(stdout).trim())),
      ),
    ).finally(() => fs.rmSync(empty, { recursive: true, force: true }));
    expect(yes).to.equal('false');
  });
});
