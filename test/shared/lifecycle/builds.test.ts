import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { buildDirOf, buildOfProcess } from '../../../src/shared/lifecycle/builds';
import { formatStatus, plainMarkup } from '../../../src/ops/render';
import { buildStatusReport } from '../../../src/ops/status-report';
import { pm2View } from '../../support/pm2-view';
import { TempDirs } from '../../support/temp-dirs';

/** An install as scripts/build.js leaves it: builds with their build.json, `dist` linked to `current`. */
function install(root: string, builds: string[], current: string, inUse: Record<string, number[]>): void {
  for (const build of builds) {
    fs.mkdirSync(path.join(root, build, 'daemons'), { recursive: true });
    fs.writeFileSync(path.join(root, build, 'build.json'), '{}');
    for (const pid of inUse[build] ?? []) {
      fs.mkdirSync(path.join(root, build, '.in-use'), { recursive: true });
      fs.writeFileSync(path.join(root, build, '.in-use', String(pid)), '');
    }
  }
  fs.symlinkSync(current, path.join(root, 'dist'));
}

describe('which build each process runs (builds.ts)', () => {
  const temp = new TempDirs();
  afterEach(() => temp.cleanup());

  it('names the build a pid marked, and the current one only when it differs', () => {
    const root = temp.make();
    install(root, ['dist-old', 'dist-new'], 'dist-new', { 'dist-old': [101], 'dist-new': [202] });
    expect(buildOfProcess(root, 101)).to.deep.equal({ name: 'dist-old', current: 'dist-new' });
    expect(buildOfProcess(root, 202)).to.deep.equal({ name: 'dist-new' });
    expect(buildOfProcess(root, 303), 'no mark').to.equal(undefined);
  });

  it('says nothing for an install without builds (a plain dist/ directory)', () => {
    const root = temp.make();
    fs.mkdirSync(path.join(root, 'dist'));
    expect(buildOfProcess(root, 101)).to.equal(undefined);
    expect(buildDirOf(path.join(root, 'dist'))).to.equal(undefined);
  });

  it('finds the build a module lies in from any depth', () => {
    const root = temp.make();
    install(root, ['dist-a'], 'dist-a', {});
    fs.mkdirSync(path.join(root, 'dist-a', 'src', 'shared', 'lifecycle'), { recursive: true });
    expect(buildDirOf(path.join(root, 'dist-a', 'src', 'shared', 'lifecycle'))).to.equal(
      path.join(root, 'dist-a'),
    );
    expect(buildDirOf(path.join(root, 'dist-a', 'daemons'))).to.equal(path.join(root, 'dist-a'));
  });

  it('status names a service on an older build, with the fix; nothing for one on the current build', async () => {
    const root = temp.make();
    install(root, ['dist-old', 'dist-new'], 'dist-new', { 'dist-old': [101], 'dist-new': [202] });
    const report = await buildStatusReport({
      pm2: {
        list: async () => [pm2View({ name: 'trading', pid: 101 }), pm2View({ name: 'telegram', pid: 202 })],
      },
      trading: async () => {
        throw new Error('not asked here');
      },
      dataDir: temp.make(),
      installRoot: root,
      now: 1_700_000_000_000,
    });
    const text = formatStatus(report, plainMarkup);
    const stale = text.split('\n').filter((l) => l.includes('runs build'));
    expect(stale, text).to.deep.equal([
      '   runs build dist-old; dist/ is now dist-new (built since it started): `npm run upgrade` restarts the pair onto it one at a time (a crash would bring this one back on it alone)',
    ]);
    expect(text.indexOf('runs build')).to.be.greaterThan(text.indexOf('trading'));
    expect(text.indexOf('runs build')).to.be.lessThan(text.indexOf('telegram'));
  });
});
