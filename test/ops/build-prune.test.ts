/** scripts/build.js keeps every build a live process runs from, and a few recent ones; removes the rest. */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../harness/pm2';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prune, KEEP } = require(path.join(REPO_ROOT, 'scripts', 'build.js')) as {
  prune(root: string, current: string): string[];
  KEEP: number;
};

describe('old builds (scripts/build.js prune)', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-prune-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  function build(name: string, ageMs: number, complete = true, inUseBy?: number): string {
    const dir = path.join(root, name);
    fs.mkdirSync(path.join(dir, 'daemons'), { recursive: true });
    if (complete) fs.writeFileSync(path.join(dir, 'build.json'), '{}');
    if (inUseBy !== undefined) {
      fs.mkdirSync(path.join(dir, '.in-use'));
      fs.writeFileSync(path.join(dir, '.in-use', String(inUseBy)), '');
    }
    const t = new Date(Date.now() - ageMs);
    fs.utimesSync(dir, t, t);
    return dir;
  }

  it('keeps the current build, the newest others and any build a live process marked in use', async () => {
    const live = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    try {
      build('dist-6', 0);
      build('dist-5', 1_000);
      build('dist-4', 2_000);
      build('dist-3', 3_000);
      build('dist-2', 4_000, true, live.pid);
      build('dist-1', 5_000, true, 999_999_999); // a SIGKILLed daemon's marker
      const removed = prune(root, 'dist-6');
      expect(KEEP).to.equal(2);
      expect(removed.sort()).to.deep.equal(['dist-1', 'dist-3']);
      expect(fs.readdirSync(root).sort()).to.deep.equal(['dist-2', 'dist-4', 'dist-5', 'dist-6']);
    } finally {
      live.kill('SIGKILL');
    }
  });

  it('leaves a build still being written alone; one abandoned for an hour goes', () => {
    build('dist-current', 0);
    build('dist-writing', 1_000, false);
    build('dist-abandoned', 2 * 3_600_000, false);
    expect(prune(root, 'dist-current')).to.deep.equal(['dist-abandoned']);
  });
});
