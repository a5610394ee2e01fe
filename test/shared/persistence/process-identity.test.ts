import { expect } from 'chai';
import { spawn } from 'node:child_process';
import {
  currentProcessIdentity,
  isSameProcessAlive,
  parseStartTime,
  processStartTime,
} from '../../../src/shared/persistence/process-identity';

describe('process identity', () => {
  before(function () {
    if (processStartTime(process.pid) === undefined) this.skip(); // needs /proc (Linux)
  });

  it('reads a stable start time for a running process and none for an exited one', async () => {
    const own = processStartTime(process.pid);
    expect(own).to.match(/^\d+$/);
    expect(processStartTime(process.pid)).to.equal(own);
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((resolve) => child.once('exit', resolve));
    expect(processStartTime(child.pid!)).to.equal(undefined);
  });

  it('counts fields after the last parenthesis, so a process name with spaces and ")" does not shift field 22', () => {
    // /proc/<pid>/stat of a process named "a) b" — field 22 (starttime) is 777.
    const fields = ['S', ...Array.from({ length: 18 }, (_, i) => String(i + 4)), '777', '0'];
    expect(parseStartTime(`123 (a) b) ${fields.join(' ')}`)).to.equal('777');
    expect(parseStartTime(`123 (node) ${fields.join(' ')}`)).to.equal('777');
    expect(parseStartTime('garbage')).to.equal(undefined);
  });

  it('tells this live process from a holder with the same pid but another start time, and from a dead pid', () => {
    expect(isSameProcessAlive(currentProcessIdentity())).to.equal(true);
    expect(isSameProcessAlive({ pid: process.pid, startedAt: '1' })).to.equal(false);
    expect(isSameProcessAlive({ pid: 0 })).to.equal(false);
    expect(isSameProcessAlive({ pid: -1 })).to.equal(false);
  });
});
