/**
 * A store whose directory is replaced under the running service (review 33b): the data dir on a disk mounted after
 * the service started (a network or USB mount late at boot). The service opened an empty state in the bare mount
 * point; once the disk is mounted, the same path leads to the real data dir, and a write by path replaced the real
 * state file with the empty one's. Swapping two real directories does to path lookups what the mount does. Without
 * the directory pin (pinned-dir.ts) the commit below resolves and the real file holds the other state, and a
 * journal's compaction (the event log's) replaces the real journal with the fresh one's tail.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { systemClock } from '../../../src/shared/clock';
import { PersistenceError } from '../../../src/shared/errors';
import { Journal, Store } from '../../../src/shared/persistence';
import { TempDirs } from '../../support/temp-dirs';

interface State {
  owner: string;
}

const openStore = (dir: string): Promise<Store<State>> =>
  Store.open<State>({
    clock: systemClock,
    dir,
    name: 'state',
    version: 1,
    defaults: () => ({ owner: 'none' }),
  });

const ownerIn = (file: string): string =>
  (JSON.parse(fs.readFileSync(file, 'utf8')) as { data: State }).data.owner;

describe('Store whose directory is replaced while it is open (a disk mounted over the data dir)', () => {
  const temp = new TempDirs();
  afterEach(() => temp.cleanup());

  it('refuses to write into the other directory: the file there is untouched, the store unhealthy', async () => {
    const root = temp.make();
    const dataDir = path.join(root, 'data');
    // the real data dir, written by an earlier run
    const real = await openStore(dataDir);
    await real.commit((d) => void (d.owner = 'real'));
    await real.close();
    const hidden = path.join(root, 'disk');
    fs.renameSync(dataDir, hidden);

    // the boot: the disk is not mounted yet, the service starts in the bare mount point
    const fresh = await openStore(dataDir);
    await fresh.commit((d) => void (d.owner = 'fresh'));
    // the disk comes up over the path
    fs.renameSync(dataDir, path.join(root, 'bare'));
    fs.renameSync(hidden, dataDir);

    let error: unknown;
    await fresh.commit((d) => void (d.owner = 'fresh, later')).catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(PersistenceError);
    expect((error as PersistenceError).code).to.equal('EDIRCHANGED');
    expect((error as Error).message).to.match(/restart the service/);
    expect(fresh.healthy).to.equal(false);
    expect(ownerIn(path.join(dataDir, 'state.json'))).to.equal('real');
    expect(ownerIn(path.join(dataDir, 'state.json.prev'))).to.not.equal('fresh');
    await fresh.close().catch(() => undefined);
    expect(ownerIn(path.join(dataDir, 'state.json')), 'after close (its last flush)').to.equal('real');
  });

  it('writes as before while the directory stays the same', async () => {
    const dir = temp.make();
    const store = await openStore(dir);
    await store.commit((d) => void (d.owner = 'a'));
    await store.commit((d) => void (d.owner = 'b'));
    expect(store.healthy).to.equal(true);
    expect(ownerIn(path.join(dir, 'state.json'))).to.equal('b');
    await store.close();
  });
});

describe('Journal whose directory is replaced while it is open (a disk mounted over the data dir)', () => {
  const temp = new TempDirs();
  afterEach(() => temp.cleanup());

  it('refuses to compact into the other directory: the journal there keeps every line', async () => {
    const root = temp.make();
    const dataDir = path.join(root, 'data');
    const real = await Journal.open<{ n: number }>(dataDir, 'events');
    for (let n = 1; n <= 5; n++) await real.append([{ n }]);
    await real.close();
    const hidden = path.join(root, 'disk');
    fs.renameSync(dataDir, hidden);

    const fresh = await Journal.open<{ n: number }>(dataDir, 'events');
    await fresh.append([{ n: 100 }]);
    fs.renameSync(dataDir, path.join(root, 'bare'));
    fs.renameSync(hidden, dataDir);

    let error: unknown;
    await fresh.compact(1).catch((err: unknown) => (error = err));
    expect((error as PersistenceError).code).to.equal('EDIRCHANGED');
    const lines = fs.readFileSync(path.join(dataDir, 'events.jsonl'), 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { n: number }).n)).to.deep.equal([1, 2, 3, 4, 5]);
    await fresh.close();
  });

  it('compacts as before while the directory stays the same', async () => {
    const dir = temp.make();
    const journal = await Journal.open<{ n: number }>(dir, 'events');
    for (let n = 1; n <= 3; n++) await journal.append([{ n }]);
    await journal.compact(1);
    expect(fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8')).to.equal('{"n":3}\n');
    await journal.close();
  });
});
