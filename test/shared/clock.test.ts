import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

describe('systemClock', () => {
  const clockModule = JSON.stringify(path.resolve(__dirname, '../../src/shared/clock.js'));
  /** Runs `code` in a real node process with `clock` = systemClock; its exit status (null if it had to be killed). */
  const run = (code: string): number | null =>
    spawnSync(process.execPath, ['-e', `const clock = require(${clockModule}).systemClock; ${code}`], {
      timeout: 30_000,
    }).status;

  it('a timer armed with { unref: true } does not keep the process alive', function () {
    this.timeout(40_000);
    expect(run('clock.timer(3_600_000, () => process.exit(3), { unref: true });')).to.equal(0);
  });

  it('a timer armed without it does (the default)', function () {
    this.timeout(40_000);
    expect(run('clock.timer(50, () => process.exit(3));')).to.equal(3);
  });
});
