/**
 * The documented upgrade, run step by step as docs/running.md ("Upgrading") and docs/operations.md ("Builds and
 * upgrades") give it, against the real pair under a real PM2 in a copy of the checkout.
 *
 * What makes an order safe: `npm ci` first deletes node_modules, and PM2 starts every app — trading's
 * self-contained bundle included — through its own `node_modules/pm2/lib/ProcessContainerFork.js` (pm2
 * lib/God/ForkMode.js); telegram's bundle also requires telegraf and pm2 from node_modules. A service still running
 * while `npm ci` runs cannot come back from a crash: each restart dies at once (MODULE_NOT_FOUND) and PM2 gives up
 * ("errored") after 15 of them — trading down and unwatched in the middle of a routine upgrade. (The order documented
 * before, `git pull && npm ci && npm run upgrade`, did exactly that.) So at the `npm ci` step every running service
 * is SIGKILLed while node_modules is gone: each must either not be running (stopped: nothing for PM2 to restart) or
 * come back. Then the rest of the documented steps must bring the pair back ready.
 *
 * The copy's node_modules is its own (pm2 copied, the rest linked) so that `npm ci`'s first step can be taken as it
 * does it (node_modules gone) without touching the checkout's; `git pull` has no remote here and is skipped. @slow
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

/** The commands of the "Upgrading" block of docs/running.md, comments dropped. */
function runningMdSteps(): string[] {
  const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'running.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Upgrading'));
  const block = /```bash\n([\s\S]*?)```/.exec(section)![1]!;
  return block
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter(Boolean);
}

/** The one-line form in docs/operations.md: "To install new code: `a && b && …`". */
function operationsMdSteps(): string[] {
  const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'operations.md'), 'utf8');
  const line = /To install new code: `([^`]+)`/.exec(doc)![1]!;
  return line.split('&&').map((s) => s.trim());
}

describe('the documented upgrade (git pull, npm ci, npm run upgrade) with the pair running @slow', function () {
  this.timeout(300_000);
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

  /** `npm ci` as it touches the running pair: node_modules gone meanwhile; a crash of anything running then. */
  const npmCi = async (): Promise<void> => {
    fs.renameSync(modules, aside);
    try {
      for (const app of await apps()) {
        if (app.status === 'stopped') continue;
        process.kill(app.pid, 'SIGKILL');
        let last: App | undefined;
        try {
          await eventually(
            async () => {
              last = (await apps()).find((a) => a.name === app.name);
              return last?.status === 'online' && last.pid > 0 && last.pid !== app.pid;
            },
            20_000,
            `${app.name} back online after a crash while npm ci reinstalls node_modules`,
            250,
          );
        } catch (err) {
          const log = harness.readLog(`${app.name}.err.log`).split('\n').slice(-6).join('\n');
          throw new Error(
            `${(err as Error).message}; last ${JSON.stringify(last)}; ${app.name}.err.log:\n${log}`,
            {
              cause: err,
            },
          );
        }
      }
    } finally {
      fs.renameSync(aside, modules); // the new tree, written
    }
  };

  before(async () => {
    install = InstallCopy.create('bn-upg-');
    harness = Pm2Harness.create('bn-upgh-');
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

  it('both docs give the same steps', () => {
    expect(operationsMdSteps()).to.deep.equal(runningMdSteps());
  });

  it('no crash during npm ci is left unrestarted, and the pair is back, ready, on the new build', async () => {
    const steps = runningMdSteps();
    expect(steps).to.include('npm ci');
    const before = await apps();
    const buildBefore = install.currentBuild();
    for (const step of steps) {
      if (step === 'git pull') continue;
      if (step === 'npm ci') {
        await npmCi();
        continue;
      }
      const [cmd, ...args] = step.split(/\s+/);
      const r =
        cmd === 'npx' && args[0] === 'byninja'
          ? await install.cli(args.slice(1), env)
          : cmd === 'npx' && args[0] === 'pm2'
            ? { code: 0, stdout: await pm2(args.slice(1)), stderr: '' }
            : cmd === 'npm'
              ? await install.npm(args, env, 240_000)
              : expect.fail(`a step this test does not know how to run: ${step}`);
      expect(r.code, `${step}:\n${r.stdout}\n${r.stderr}`).to.equal(0);
    }
    const after = await apps();
    expect(after.map((a) => [a.name, a.status])).to.deep.equal([
      ['trading', 'online'],
      ['telegram', 'online'],
    ]);
    for (const a of after) expect(a.pid, a.name).to.not.equal(before.find((b) => b.name === a.name)!.pid);
    expect(install.currentBuild()).to.not.equal(buildBefore);
  });
});
