/**
 * A data or log dir setting that cannot be a directory (found in the field): ecosystem.config.js creates the data
 * and log dirs (0700) before PM2 opens anything, from BYNINJA_DATA_DIR / BYNINJA_LOG_DIR (environment or .env).
 * When that path cannot be a directory (under a regular file: a typo, a path pasted into the wrong variable), the
 * file threw the raw fs error while PM2 parsed it: `npm start` printed Node's stack trace (once per service) and
 * "PM2 start failed: ENOTDIR: not a directory, mkdir '…'", never the setting to fix. Now the error names the
 * setting, where its value came from and the fix, without a stack (docs/operations.md: "for a configuration error,
 * which field to fix"). Real CLI, real PM2 (temp home). @slow
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
      harness = Pm2Harness.create('bn-dir-setting-');
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
      expect(output, output).to.match(
        new RegExp(`PM2 start failed: ${variable}: .*not-a-dir/sub \\(the environment\\)`),
      );
      expect(output, output).to.include(`Set ${variable} in .env or the environment to a directory`);
      expect(output, output).not.to.match(/^\s+at .+:\d+:\d+\)?$/m);
    });
  });
}
