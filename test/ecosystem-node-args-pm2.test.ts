/**
 * An install upgraded from an ecosystem file that had node_args (before stop 35: `--min-semi-space-size=2
 * --max-semi-space-size=2 --compact-on-every-full-gc`). PM2 keeps an app's options in its process list (and in
 * dump.pm2 after `pm2 save`), and a start or restart through a newer file only overwrites the options that file
 * names: a file with no node_args key leaves the old ones in place for good (`pm2 restart <file> --update-env` is what
 * `npm restart` and `npm run upgrade` run, through src/ops/pm2-client.ts). The daemon then keeps V8 flags on its
 * command line, skips its run-time heap settings (heap-settings.ts) and pays node's rejected code cache at every
 * start. Real PM2 in a temp PM2_HOME, the shipped ecosystem.config.js. @slow
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { Pm2Harness, REPO_ROOT } from '../harness/pm2';
import { freePort } from '../harness/ports';

const OLD_NODE_ARGS = ['--min-semi-space-size=2', '--max-semi-space-size=2', '--compact-on-every-full-gc'];

describe('an app started from an older ecosystem file with node_args (real PM2) @slow', function () {
  this.timeout(90_000);
  let pm2: Pm2Harness;
  let env: Record<string, string>;

  before(async () => {
    pm2 = Pm2Harness.create('bn-r35h-');
    env = { BYNINJA_IPC_PORT: String(await freePort()) };
  });

  after(async () => {
    await pm2?.stop();
  });

  async function onlinePid(notPid?: number): Promise<number> {
    const app = await pm2.waitFor(
      'trading',
      (p) => p.status === 'online' && p.pid > 0 && p.pid !== notPid,
      60_000,
      'online',
    );
    return app.pid;
  }

  /** The node_args PM2 spawns trading with (its process list; the process renames itself, so not /proc's cmdline). */
  async function nodeArgs(): Promise<unknown> {
    const out = await pm2.pm2(['jlist']);
    const apps = JSON.parse(out.slice(out.indexOf('['))) as Array<{
      name: string;
      pm2_env: { node_args?: unknown };
    }>;
    return apps.find((a) => a.name === 'trading')?.pm2_env.node_args;
  }

  it('loses the old node_args at the next restart through the shipped file (npm restart, npm run upgrade)', async () => {
    const older = path.join(pm2.root, 'ecosystem.older.config.js');
    fs.writeFileSync(
      older,
      `const eco = require(${JSON.stringify(path.join(REPO_ROOT, 'ecosystem.config.js'))});\n` +
        `for (const app of eco.apps) app.node_args = ${JSON.stringify(OLD_NODE_ARGS)};\n` +
        `module.exports = eco;\n`,
    );
    await pm2.pm2(['start', older, '--only', 'trading'], env);
    const oldPid = await onlinePid();
    expect(await nodeArgs(), 'the older file gave PM2 its V8 flags').to.deep.equal(OLD_NODE_ARGS);

    // as `npm restart` / `npm run upgrade` restart it: through the shipped file, with --update-env
    await pm2.pm2(
      ['restart', path.join(REPO_ROOT, 'ecosystem.config.js'), '--only', 'trading', '--update-env'],
      env,
    );
    await onlinePid(oldPid);
    expect(await nodeArgs(), 'V8 flags left from the older file').to.deep.equal([]);
  });
});
