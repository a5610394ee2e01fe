/**
 * V8's memory settings applied at run time (src/shared/lifecycle/heap-settings.ts). Each case runs in a fresh node
 * (V8 flags are per process), started as PM2 starts the daemons: no V8 flag on the command line. V8's
 * cachedDataVersionTag is the number a code cache is checked against (V8's version, its flag hash, the CPU): the
 * same as a plain node's means node's own code cache and our bundles' caches are accepted.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { startedWithOwnSettings } from '../../../src/shared/lifecycle/heap-settings';
import { REPO_ROOT } from '../../../harness/pm2';

const SETTINGS = path.join(REPO_ROOT, 'dist/src/shared/lifecycle/heap-settings.js');

/** Runs `script` in a fresh node with `args` before it; returns what it printed as JSON. */
function inFreshNode<T>(script: string, args: string[] = []): T {
  const run = spawnSync(process.execPath, [...args, '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  expect(run.status, run.stderr).to.equal(0);
  return JSON.parse(run.stdout) as T;
}

const TAGS = `
  const v8 = require('v8');
  const settings = require(${JSON.stringify(SETTINGS)});
  const start = v8.cachedDataVersionTag();
  settings.applyHeapSettings();
  const applied = v8.cachedDataVersionTag();
  const whileWriting = settings.withStartFlags(() => v8.cachedDataVersionTag());
  const after = v8.cachedDataVersionTag();
  settings.applyHeapSettings(); // a second call changes nothing
  console.log(JSON.stringify({ start, applied, whileWriting, after, again: v8.cachedDataVersionTag() }));`;

describe('V8 memory settings applied after the start', function () {
  this.timeout(30_000);

  it('change V8 flags only once applied, and a code cache is made under the flags a start has', () => {
    const plain = inFreshNode<number>(`console.log(require('v8').cachedDataVersionTag())`);
    const tags = inFreshNode<Record<string, number>>(TAGS);
    expect(tags.start, 'nothing changed before the settings are applied').to.equal(plain);
    expect(tags.applied, 'the settings are V8 flags (they move the flag hash)').to.not.equal(plain);
    expect(tags.whileWriting, "a cache written now matches the next start's flags").to.equal(plain);
    expect(tags.after).to.equal(tags.applied);
    expect(tags.again).to.equal(tags.applied);
  });

  it('stop the young generation growing under sustained allocation with survivors', () => {
    // without the settings V8 doubles the young generation here (to 16 MiB semi-spaces): RSS steps in the soak
    const churn = (apply: boolean): [number, number] =>
      inFreshNode<[number, number]>(`
        const v8 = require('v8');
        ${apply ? `require(${JSON.stringify(SETTINGS)}).applyHeapSettings();` : ''}
        const size = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
        let kept = [];
        const churn = (n) => { for (let i = 0; i < n; i++) { kept.push({ i }); if (kept.length > 100000) kept = []; } };
        churn(100000); // a first scavenge: V8 commits the second semi-space with it
        const first = size();
        churn(3000000);
        console.log(JSON.stringify([first, size()]));`);
    const [first, last] = churn(true);
    expect(last, 'young generation bytes after sustained allocation').to.be.at.most(first);
    const [plainFirst, plainLast] = churn(false);
    expect(plainLast, 'the same churn without the settings (the case can fail)').to.be.above(plainFirst);
  });

  it("leave a process started with either flag of its own as it is (an operator's node_args, an older PM2 dump)", () => {
    const args = ['--min-semi-space-size=2', '--max-semi-space-size=2', '--compact-on-every-full-gc'];
    const tags = inFreshNode<Record<string, number>>(TAGS, args);
    expect(tags.applied).to.equal(tags.start);
    expect(tags.whileWriting).to.equal(tags.start);
    expect(tags.after).to.equal(tags.start);
  });

  it('recognise the flags in node_args and NODE_OPTIONS, in either spelling', () => {
    expect(startedWithOwnSettings(['--compact-on-every-full-gc'])).to.equal(true);
    expect(startedWithOwnSettings(['--no-compact_on_every_full_gc'])).to.equal(true);
    expect(startedWithOwnSettings(['--semi-space-growth-factor=4'])).to.equal(true);
    expect(startedWithOwnSettings(['--max-old-space-size=512 --semi_space_growth_factor=2'])).to.equal(true);
    expect(startedWithOwnSettings(['--max-semi-space-size=2', '--enable-source-maps', ''])).to.equal(false);
    expect(startedWithOwnSettings([])).to.equal(false);
  });
});
