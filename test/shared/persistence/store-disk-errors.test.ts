import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PersistenceError } from '../../../src/shared/errors';
import { Journal, Store } from '../../../src/shared/persistence';
import { Tmpfs } from '../../../harness/tmpfs';
import { FixtureProcess, readableFixture } from '../../support/fixture-process';
import { TempDirs } from '../../support/temp-dirs';
import { systemClock } from '../../../src/shared/clock';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const NOBODY = 65534;

function readState(file: string): { n: number } {
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { data: { n: number } }).data;
}

describe('Store on a real unwritable or full disk', function () {
  this.timeout(60_000);
  const temp = new TempDirs();
  const children: FixtureProcess[] = [];
  const mounts: string[] = [];
  const cleanups: Array<() => void> = [];
  afterEach(async () => {
    for (const c of children.splice(0)) await c.stop();
    for (const cleanup of cleanups.splice(0)) cleanup();
    for (const m of mounts.splice(0)) execFileSync('umount', [m]);
    temp.cleanup();
  });

  it('@slow EACCES: commit rejects with PersistenceError, the old file is intact, healthy comes back after a good write', async function () {
    if (process.platform === 'win32') this.skip();
    const dir = temp.make();
    fs.chmodSync(dir, 0o755);
    const file = path.join(dir, 'state.json');
    const seed = await Store.open<{ n: number }>({
      clock: systemClock,
      dir,
      name: 'state',
      version: 1,
      defaults: () => ({ n: 0 }),
    });
    await seed.commit((d) => void (d.n = 1));
    await seed.close();
    const before = fs.readFileSync(file, 'utf8');
    for (const name of fs.readdirSync(dir)) fs.chmodSync(path.join(dir, name), 0o644);

    // Root ignores permission bits, so as root the writer runs as `nobody` in a root-owned directory — from a copy
    // it can read, wherever this checkout is — otherwise the directory is made read-only for our own user.
    if (!isRoot) fs.chmodSync(dir, 0o555);
    const bundle = isRoot ? readableFixture('store-writer') : undefined;
    if (bundle) cleanups.push(bundle.remove);
    const writer = new FixtureProcess(
      'store-writer',
      [dir],
      bundle ? { uid: NOBODY, gid: NOBODY, script: bundle.file } : {},
    );
    children.push(writer);
    await writer.waitForLine((l) => l.includes('"opened"'));
    writer.send('commit 2');
    const failed = JSON.parse(await writer.waitForLine((l) => l.includes('"ok":false'))) as Record<
      string,
      unknown
    >;
    expect(failed).to.deep.equal({ ok: false, error: 'PersistenceError', code: 'EACCES', healthy: false });
    expect(fs.readFileSync(file, 'utf8')).to.equal(before);
    expect(fs.readdirSync(dir).sort()).to.deep.equal(['state.json', 'state.json.prev']);

    if (isRoot) fs.chownSync(dir, NOBODY, NOBODY);
    else fs.chmodSync(dir, 0o755);
    writer.send('commit 3');
    const ok = JSON.parse(await writer.waitForLine((l) => l.includes('"ok":true'))) as Record<
      string,
      unknown
    >;
    expect(ok).to.deep.equal({ ok: true, healthy: true });
    expect(readState(file).n).to.equal(3);
  });

  /** A 64 KiB tmpfs, when this machine lets us mount one (root in a VM or privileged container). */
  function tinyDisk(ctx: Mocha.Context): string {
    const dir = temp.make();
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
    } catch {
      ctx.skip();
    }
    mounts.push(dir);
    return dir;
  }

  it('@slow ENOSPC: a commit that does not fit rejects with code ENOSPC, keeps the old file and leaves no temp file', async function () {
    const dir = tinyDisk(this);
    const file = path.join(dir, 'state.json');
    const store = await Store.open<{ n: number; blob: string }>({
      clock: systemClock,
      dir,
      name: 'state',
      version: 1,
      defaults: () => ({ n: 0, blob: '' }),
    });
    await store.commit((d) => void (d.n = 1));
    const before = fs.readFileSync(file, 'utf8');

    const err = await store.commit((d) => void (d.blob = 'x'.repeat(200 * 1024))).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(PersistenceError);
    expect((err as PersistenceError).code).to.equal('ENOSPC');
    expect(store.healthy).to.equal(false);
    expect(fs.readFileSync(file, 'utf8')).to.equal(before);
    expect(fs.readdirSync(dir).sort()).to.deep.equal(['state.json', 'state.json.prev']);

    await store.commit((d) => {
      d.blob = '';
      d.n = 2;
    });
    expect(store.healthy).to.equal(true);
    expect(readState(file).n).to.equal(2);
    await store.close();
  });

  it('@slow a commit that failed on a full or read-only disk is written by itself once the disk works again', async function () {
    const why: { reason?: string } = {};
    const disk = Tmpfs.mount(4, why);
    if (!disk) {
      this.test!.title += ` (skipped: ${why.reason})`;
      this.skip();
    }
    try {
      const file = path.join(disk.dir, 'state.json');
      const store = await Store.open<{ n: number; blob: string }>({
        clock: systemClock,
        dir: disk.dir,
        name: 'state',
        version: 1,
        defaults: () => ({ n: 0, blob: '' }),
      });
      await store.commit((d) => void (d.n = 1));
      for (const [fault, heal, n] of [
        [() => disk.fill(), () => disk.free(), 2],
        [() => disk.readOnly(true), () => disk.readOnly(false), 3],
      ] as const) {
        fault();
        // bigger than the generation a rotation frees (tmpfs would reuse that page for a small file)
        const err = await store
          .commit((d) => {
            d.n = n;
            d.blob = 'x'.repeat(n * 32 * 1024);
          })
          .catch((e: unknown) => e);
        expect(err).to.be.instanceOf(PersistenceError);
        heal();
        // nothing else is committed: the background retry alone must write it
        // (the file shows it at the rename; the store says healthy once the write finished, its fsyncs after it)
        const deadline = Date.now() + 5_000;
        while ((readState(file).n !== n || !store.healthy) && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 50));
        expect(readState(file).n).to.equal(n);
        expect(store.healthy).to.equal(true);
      }
      await store.close();
    } finally {
      disk.unmount();
    }
  });

  it('@slow ENOSPC: a journal append that does not fit rejects and leaves only whole lines', async function () {
    const dir = tinyDisk(this);
    const journal = await Journal.open<{ id: number; blob?: string }>(dir, 'fills');
    await journal.append([{ id: 1 }]);
    const err = await journal.append([{ id: 2, blob: 'y'.repeat(200 * 1024) }]).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(PersistenceError);
    expect((err as PersistenceError).code).to.equal('ENOSPC');
    expect(journal.count()).to.equal(1);
    expect(fs.readFileSync(path.join(dir, 'fills.jsonl'), 'utf8')).to.equal('{"id":1}\n');
    await journal.append([{ id: 3 }]);
    expect((await journal.readAll()).map((e) => e.id)).to.deep.equal([1, 3]);
    await journal.close();
  });
});
