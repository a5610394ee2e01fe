/**
 * Review 31f, field case 3 (rebuilds under the running daemons): docs/operations.md installs new code with
 * `git pull && npm ci && npm run upgrade` while the pair runs. `npm ci` first deletes node_modules, and PM2 starts
 * every app — trading's self-contained bundle included — through its own `node_modules/pm2/lib/ProcessContainerFork.js`
 * (pm2 lib/God/ForkMode.js); telegram's bundle also requires telegraf and pm2 from node_modules. A crash (or a memory
 * restart) while `npm ci` runs therefore cannot come back: each restart dies at once, for as long as the install
 * takes (a network download), and within 75 s of the last `pm2 restart` (min_uptime × max_restarts) PM2 gives up
 * after 15 of them ("errored": never retried). Trading is then down, unwatched, in the middle of a routine upgrade.
 *
 * A copy of the checkout whose node_modules is its own (pm2 copied, the rest linked), started through its
 * ecosystem file with its own pm2 under a temp PM2_HOME; `npm ci`'s first step is taken as it does it (node_modules
 * gone), then trading is SIGKILLed. @slow
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Pm2Harness, REPO_ROOT, eventually } from '../../harness/pm2';
import { freePort } from '../../harness/ports';
import { InstallCopy } from '../support/install-copy';

const execFileAsync = promisify(execFile);

interface App {
  name: string;
  pid: number;
  status: string;
  restarts: number;
}

describe('a crash of trading while `npm ci` reinstalls node_modules under the running pair @slow', function () {
  this.timeout(120_000);
  let install: InstallCopy;
  let harness: Pm2Harness;
  let env: NodeJS.ProcessEnv;
  let modules: string;
  let aside: string;

  /** The copy's own pm2 CLI while it is there, else the checkout's (same version, same PM2_HOME). */
  const pm2 = async (args: string[]): Promise<string> => {
    const own = path.join(modules, 'pm2', 'bin', 'pm2');
    const cli = fs.existsSync(own) ? own : path.join(REPO_ROOT, 'node_modules', 'pm2', 'bin', 'pm2');
    return (await execFileAsync(process.execPath, [cli, ...args], { env, cwd: install.root })).stdout;
  };
  const apps = async (): Promise<App[]> => {
    const out = await pm2(['jlist']);
    return (
      JSON.parse(out.slice(out.indexOf('['))) as Array<{
        name: string;
        pid: number;
        pm2_env: { status: string; restart_time: number };
      }>
    ).map((p) => ({ name: p.name, pid: p.pid, status: p.pm2_env.status, restarts: p.pm2_env.restart_time }));
  };
  const trading = async (): Promise<App> => (await apps()).find((a) => a.name === 'trading')!;

  before(async () => {
    install = InstallCopy.create('bn-r31c-');
    harness = Pm2Harness.create('bn-r31ch-');
    // node_modules of its own: the PM2 daemon runs from the copy's pm2, whose dependencies resolve next to it
    modules = path.join(install.root, 'node_modules');
    aside = `${modules}.npm-ci`;
    fs.rmSync(modules);
    fs.mkdirSync(modules);
    const shared = path.join(REPO_ROOT, 'node_modules');
    for (const entry of fs.readdirSync(shared)) {
      if (entry === 'pm2')
        fs.cpSync(path.join(shared, entry), path.join(modules, entry), { recursive: true });
      else fs.symlinkSync(path.join(shared, entry), path.join(modules, entry));
    }
    env = harness.env({
      BYNINJA_IPC_PORT: String(await freePort()),
      BYNINJA__TRADING__PAPER__CANDLE_MS: '200',
      BYNINJA__TRADING__TICK_INTERVAL_MS: '200',
    });
    await pm2(['start', 'ecosystem.config.js']);
    await eventually(
      async () => (await apps()).every((a) => a.status === 'online' && a.pid > 0),
      30_000,
      'the pair online',
    );
  });

  after(async () => {
    if (fs.existsSync(aside) && !fs.existsSync(modules)) fs.renameSync(aside, modules);
    await pm2(['kill']).catch(() => undefined);
    await harness?.stop();
    install?.remove();
  });

  it('comes back while node_modules is being reinstalled (PM2 must not depend on the tree npm ci replaces)', async () => {
    const before = await trading();
    // npm ci, first step: node_modules removed (the new one is downloaded and written next)
    fs.renameSync(modules, aside);
    process.kill(before.pid, 'SIGKILL');
    let last: App | undefined;
    try {
      await eventually(
        async () => {
          last = await trading();
          return last.status === 'online' && last.pid > 0 && last.pid !== before.pid;
        },
        20_000,
        'trading back online',
        250,
      );
    } catch (err) {
      const log = harness.readLog('trading.err.log').split('\n').slice(-8).join('\n');
      throw new Error(`${(err as Error).message}; last ${JSON.stringify(last)}; trading.err.log:\n${log}`, {
        cause: err,
      });
    }
    expect(last!.status).to.equal('online');
  });
});
