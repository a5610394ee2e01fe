/**
 * Review 31f, field case 6 (an ecosystem/config error): ecosystem.config.js creates the data and log dirs (0700)
 * before PM2 opens anything, from BYNINJA_DATA_DIR / BYNINJA_LOG_DIR (environment or .env). When that path cannot be a
 * directory (under a regular file: a typo, a path pasted into the wrong variable), the file throws the raw fs error
 * while PM2 parses it: `npm start` prints Node's stack trace (twice, once per service) and
 * "PM2 start failed: ENOTDIR: not a directory, mkdir '…'" — never the setting to fix, as every other configuration
 * error does (docs/operations.md: "for a configuration error, which field to fix"). Real CLI, real PM2 (temp home).
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { Pm2Harness, REPO_ROOT } from '../../harness/pm2';
import { freePort } from '../../harness/ports';
import { runCli, type CliRun } from '../support/cli';

for (const variable of ['BYNINJA_LOG_DIR', 'BYNINJA_DATA_DIR'] as const) {
  describe(`byninja start with ${variable} under a regular file (real PM2) @slow`, function () {
    this.timeout(90_000);
    let harness: Pm2Harness;
    let run: CliRun;

    before(async () => {
      harness = Pm2Harness.create('bn-r31d-');
      const file = path.join(harness.root, 'not-a-dir');
      fs.writeFileSync(file, 'a file\n');
      run = await runCli(['start'], {
        env: harness.env({ BYNINJA_IPC_PORT: String(await freePort()), [variable]: path.join(file, 'sub') }),
        cwd: REPO_ROOT,
        timeoutMs: 60_000,
      });
    });

    after(async () => {
      await harness?.stop();
    });

    it('fails with exit 1 and starts nothing (sound)', async () => {
      expect(run.code, run.stdout + run.stderr).to.equal(1);
      expect(await harness.list()).to.deep.equal([]);
    });

    it(`names ${variable} and the fix, without a stack trace`, () => {
      const output = run.stdout + run.stderr;
      expect(output, output).to.include(variable);
      expect(output, output).not.to.match(/^\s+at .+:\d+:\d+\)?$/m);
    });
  });
}
