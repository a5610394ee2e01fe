import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { CorruptStateError, NewerStateError, PersistenceError } from '../../../src/shared/errors';
import { Store, type StoreOptions } from '../../../src/shared/persistence';
import { writeFileDurable } from '../../../src/shared/persistence/durable-file';
import { captureLogger } from '../../support/capture-logger';
import { TempDirs } from '../../support/temp-dirs';
import { systemClock } from '../../../src/shared/clock';

interface State {
  orders: string[];
  seq: number;
}

function validateState(data: unknown): State {
  const d = data as State;
  if (!Array.isArray(d?.orders) || typeof d.seq !== 'number') throw new Error('orders[] and seq required');
  return d;
}

function envelope(version: number, data: unknown): string {
  return JSON.stringify({ version, savedAt: new Date(0).toISOString(), data });
}

function readEnvelope(file: string): { version: number; savedAt: string; data: State } {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as { version: number; savedAt: string; data: State };
}

function errno(code: string): NodeJS.ErrnoException {
  const err = new Error(`${code}: simulated`) as NodeJS.ErrnoException;
  err.code = code;
  return err;
}

const failWith = (code: string) => (file: string) =>
  Promise.reject(new PersistenceError(`cannot write ${file}`, { path: file }, { code, cause: errno(code) }));

describe('Store', () => {
  const temp = new TempDirs();
  let dir: string;
  let file: string;
  const opened: Array<Store<State>> = [];

  const open = async (extra: Partial<StoreOptions<State>> = {}): Promise<Store<State>> => {
    const store = await Store.open<State>({
      clock: systemClock,
      dir,
      name: 'trading',
      version: 1,
      defaults: () => ({ orders: [], seq: 0 }),
      validate: validateState,
      ...extra,
    });
    opened.push(store);
    return store;
  };

  beforeEach(() => {
    dir = temp.make();
    file = path.join(dir, 'trading.json');
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close().catch(() => undefined);
    temp.cleanup();
  });

  describe('open', () => {
    it('starts from defaults when no file exists, reports created and writes the envelope at once', async () => {
      const store = await open();
      expect(store.openReport).to.deep.equal({
        created: true,
        recoveredFromPrevious: false,
        quarantined: [],
        startedEmpty: false,
      });
      expect(store.data).to.deep.equal({ orders: [], seq: 0 });
      const env = readEnvelope(file);
      expect(env.version).to.equal(1);
      expect(Number.isNaN(Date.parse(env.savedAt))).to.equal(false);
      expect(env.data).to.deep.equal({ orders: [], seq: 0 });
    });

    it('loads a valid file without rewriting it', async () => {
      fs.writeFileSync(file, envelope(1, { orders: ['a'], seq: 4 }));
      const before = fs.statSync(file).mtimeMs;
      const store = await open();
      expect(store.data).to.deep.equal({ orders: ['a'], seq: 4 });
      expect(store.openReport.created).to.equal(false);
      expect(fs.statSync(file).mtimeMs).to.equal(before);
    });

    it('quarantines a main file that is not JSON, logs its name, and recovers from the previous generation', async () => {
      fs.writeFileSync(file, '{"version":1,"savedAt":"x","data":{"orders":[');
      fs.writeFileSync(`${file}.prev`, envelope(1, { orders: ['prev'], seq: 7 }));
      const { logger, lines } = captureLogger();
      const store = await open({ logger });
      expect(store.data).to.deep.equal({ orders: ['prev'], seq: 7 });
      expect(store.openReport.recoveredFromPrevious).to.equal(true);
      expect(store.openReport.quarantined).to.have.length(1);
      const aside = store.openReport.quarantined[0];
      expect(path.basename(aside)).to.match(
        /^trading\.json\.corrupt-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
      );
      expect(fs.readFileSync(aside, 'utf8')).to.equal('{"version":1,"savedAt":"x","data":{"orders":[');
      const errors = lines.filter((l) => l.level === 'error');
      expect(errors.some((l) => l.message.includes(file) && l.message.includes(aside))).to.equal(true);
      // The recovered state is written back as the current file.
      expect(readEnvelope(file).data).to.deep.equal({ orders: ['prev'], seq: 7 });
    });

    it('treats a file that fails validation or has no envelope as corrupt', async () => {
      for (const bad of [
        envelope(1, { orders: 'nope' }),
        JSON.stringify({ orders: [], seq: 1 }),
        'null',
        '[]',
      ]) {
        fs.rmSync(dir, { recursive: true, force: true });
        fs.mkdirSync(dir);
        fs.writeFileSync(file, bad);
        fs.writeFileSync(`${file}.prev`, envelope(1, { orders: [], seq: 2 }));
        const store = await open();
        expect(store.openReport.recoveredFromPrevious, bad).to.equal(true);
        expect(store.data.seq).to.equal(2);
        expect(fs.readFileSync(store.openReport.quarantined[0], 'utf8')).to.equal(bad);
        await store.close();
      }
    });

    it('recovers from the previous generation when the main file is missing', async () => {
      fs.writeFileSync(`${file}.prev`, envelope(1, { orders: ['p'], seq: 3 }));
      const store = await open();
      expect(store.openReport).to.include({ created: false, recoveredFromPrevious: true });
      expect(store.data.seq).to.equal(3);
    });

    it('throws CorruptStateError when both generations are corrupt, quarantining both and never starting empty', async () => {
      fs.writeFileSync(file, 'garbage');
      fs.writeFileSync(`${file}.prev`, '{"version":1');
      const err = await open().catch((e: unknown) => e);
      expect(err).to.be.instanceOf(CorruptStateError);
      expect((err as Error).message).to.contain(file);
      const names = fs.readdirSync(dir).sort();
      expect(names).to.have.length(3);
      expect(names[0]).to.equal('trading.blocked.json');
      expect(names[1]).to.match(/^trading\.json\.corrupt-/);
      expect(names[2]).to.match(/^trading\.json\.prev\.corrupt-/);
      expect(fs.readFileSync(path.join(dir, names[1]), 'utf8')).to.equal('garbage');
      expect(fs.readFileSync(path.join(dir, names[2]), 'utf8')).to.equal('{"version":1');
      expect((err as CorruptStateError).context.quarantined).to.have.length(2);
    });

    it('after both generations failed, a plain reopen is still refused (blocked marker) until the marker is cleared', async () => {
      fs.writeFileSync(file, 'garbage');
      fs.writeFileSync(`${file}.prev`, 'garbage too');
      expect(await open().catch((e: unknown) => e)).to.be.instanceOf(CorruptStateError);
      // both generations are gone now: without the marker this open would silently start from defaults
      const again = await open().catch((e: unknown) => e);
      expect(again).to.be.instanceOf(CorruptStateError);
      expect((again as Error).message)
        .to.include('BLOCKED')
        .and.include('byninja state reset');
      expect(fs.existsSync(file)).to.equal(false);
      fs.rmSync(path.join(dir, 'trading.blocked.json'));
      const store = await open();
      expect(store.openReport.created).to.equal(true);
      await store.close();
    });

    it('rejectLoaded (recovery choked on loaded state): sets the file aside, writes nothing back, keeps .prev for the next start; a second rejection blocks', async () => {
      const first = await open();
      await first.commit((d) => d.orders.push('a'));
      await first.commit((d) => d.orders.push('b'));
      first.change((d) => d.orders.push('never written'));
      expect(await first.rejectLoaded('TypeError: x is not a function')).to.equal('previous');
      expect(fs.existsSync(file)).to.equal(false);
      expect(fs.existsSync(`${file}.prev`)).to.equal(true);

      const second = await open();
      expect(second.openReport.recoveredFromPrevious).to.equal(true);
      expect(second.data.orders).to.deep.equal(['a']);
      expect(await second.rejectLoaded('TypeError again')).to.equal('blocked');
      const third = await open().catch((e: unknown) => e);
      expect(third).to.be.instanceOf(CorruptStateError);
      expect((third as Error).message)
        .to.include('BLOCKED')
        .and.include('TypeError again');
    });

    it("with onCorrupt 'start-empty' quarantines both, starts from defaults and says so in openReport and the log", async () => {
      fs.writeFileSync(file, 'garbage');
      const { logger, lines } = captureLogger();
      const store = await open({ onCorrupt: 'start-empty', logger });
      expect(store.openReport.startedEmpty).to.equal(true);
      expect(store.openReport.recoveredFromPrevious).to.equal(false);
      expect(store.openReport.quarantined).to.have.length(1);
      expect(store.data).to.deep.equal({ orders: [], seq: 0 });
      expect(
        lines.some((l) => l.level === 'error' && l.message.includes('STARTING FROM EMPTY STATE')),
      ).to.equal(true);
      expect(fs.readFileSync(store.openReport.quarantined[0], 'utf8')).to.equal('garbage');
    });

    it('runs migrations n→n+1 in order, validates the result and writes it back', async () => {
      fs.writeFileSync(file, envelope(1, { openOrders: ['x'] }));
      const calls: number[] = [];
      const store = await open({
        version: 3,
        migrations: {
          1: (old: { openOrders: string[] }) => {
            calls.push(1);
            return { orders: old.openOrders };
          },
          2: (old: { orders: string[] }) => {
            calls.push(2);
            return { ...old, seq: old.orders.length };
          },
        },
      });
      expect(calls).to.deep.equal([1, 2]);
      expect(store.openReport.migratedFrom).to.equal(1);
      expect(store.data).to.deep.equal({ orders: ['x'], seq: 1 });
      const env = readEnvelope(file);
      expect(env.version).to.equal(3);
      expect(env.data).to.deep.equal({ orders: ['x'], seq: 1 });
      // The pre-migration file stays as the previous generation.
      expect(readEnvelope(`${file}.prev`).version).to.equal(1);
    });

    it('refuses a file written by a newer version and leaves it untouched', async () => {
      const text = envelope(5, { orders: [], seq: 1 });
      fs.writeFileSync(file, text);
      const err = await open({ version: 2 }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(NewerStateError);
      expect(err, 'exit 78 like a corrupt file').to.be.instanceOf(CorruptStateError);
      expect((err as Error).message)
        .to.contain('written by a newer build')
        .and.contain('upgrade again');
      expect(fs.readFileSync(file, 'utf8')).to.equal(text);
      expect(fs.readdirSync(dir)).to.deep.equal(['trading.json']);
    });

    it('refuses a newer previous generation before it sets a corrupt current file aside', async () => {
      // a newer build's current file torn (or cut short), its previous generation whole: nothing may be set aside
      // on the word of a build too old to read either, and no blocked marker written
      const previous = envelope(5, { orders: [], seq: 1 });
      fs.writeFileSync(file, '{"version": 5, "sav');
      fs.writeFileSync(`${file}.prev`, previous);
      const err = await open({ version: 2 }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(NewerStateError);
      expect(fs.readFileSync(file, 'utf8')).to.equal('{"version": 5, "sav');
      expect(fs.readFileSync(`${file}.prev`, 'utf8')).to.equal(previous);
      expect(fs.readdirSync(dir).sort()).to.deep.equal(['trading.json', 'trading.json.prev']);
    });

    it('refuses a newer file even when a bad file starts empty (onCorrupt start-empty)', async () => {
      // telegram's stores: starting empty on a newer file lost its event cursor and sent the kept events again
      const text = envelope(5, { orders: [], seq: 1 });
      fs.writeFileSync(file, text);
      const err = await open({ version: 2, onCorrupt: 'start-empty' }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(NewerStateError);
      expect(fs.readFileSync(file, 'utf8')).to.equal(text);
      expect(fs.readdirSync(dir)).to.deep.equal(['trading.json']);
    });

    it('refuses a file whose migration step is missing without quarantining it', async () => {
      fs.writeFileSync(file, envelope(1, { orders: [], seq: 1 }));
      const err = await open({ version: 3, migrations: { 1: (d: unknown) => d } }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(CorruptStateError);
      expect((err as Error).message).to.contain('no migration from version 2 to 3');
      expect(fs.readdirSync(dir)).to.deep.equal(['trading.json']);
    });

    it('removes temp files left by a writer that died', async () => {
      fs.writeFileSync(file, envelope(1, { orders: [], seq: 1 }));
      fs.writeFileSync(path.join(dir, '.trading.json.tmp-999999999-aaaa'), '{"half');
      fs.writeFileSync(path.join(dir, '.trading.json.prev.tmp-999999999-bbbb'), '');
      await open();
      expect(fs.readdirSync(dir)).to.deep.equal(['trading.json']);
    });
  });

  describe('writes', () => {
    it('moves its version once each mutation ended (one that threw too), undefined inside it, never at a bare commit or flush', async () => {
      const store = await open();
      const versions: Array<number | undefined> = [store.version];
      await store.commit();
      await store.flush();
      versions.push(store.version);
      store.change((d) => {
        versions.push(store.version);
        d.orders.push('a');
      });
      versions.push(store.version);
      await store.commit((d) => {
        versions.push(store.version);
        d.seq += 1;
      });
      versions.push(store.version);
      const thrown = await store
        .commit((d) => {
          d.orders.push('half');
          throw new Error('refused halfway');
        })
        .catch((err: unknown) => err);
      expect(thrown).to.be.instanceOf(Error);
      expect(store.data.orders).to.deep.equal(['a', 'half']);
      versions.push(store.version);
      const v0 = versions[0]!;
      expect(versions).to.deep.equal([v0, v0, undefined, v0 + 1, undefined, v0 + 2, v0 + 3]);
    });

    it('commit is durable when it resolves: a fresh open sees it', async () => {
      const store = await open();
      await store.commit((d) => {
        d.orders.push('bot-1');
        d.seq = 1;
      });
      await store.close();
      const again = await open();
      expect(again.data).to.deep.equal({ orders: ['bot-1'], seq: 1 });
    });

    it('keeps exactly one previous good generation in <name>.json.prev', async () => {
      const store = await open();
      for (let i = 1; i <= 3; i++) await store.commit((d) => void (d.seq = i));
      expect(readEnvelope(file).data.seq).to.equal(3);
      expect(readEnvelope(`${file}.prev`).data.seq).to.equal(2);
      expect(fs.readdirSync(dir).sort()).to.deep.equal(['trading.json', 'trading.json.prev']);
    });

    it('change() is written by itself within the debounce window', async () => {
      const store = await open({ debounceMs: 20 });
      store.change((d) => void (d.seq = 42));
      expect(readEnvelope(file).data.seq).to.equal(0);
      for (let i = 0; i < 100 && readEnvelope(file).data.seq !== 42; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(readEnvelope(file).data.seq).to.equal(42);
    });

    it('commit() coalesces with a pending debounced change into one write', async () => {
      const writes: string[] = [];
      const store = await open({
        debounceMs: 10_000,
        writer: async (p, d) => {
          writes.push(d);
          await writeFileDurable(p, d);
        },
      });
      writes.length = 0;
      store.change((d) => d.orders.push('debounced'));
      await store.commit((d) => void (d.seq = 9));
      expect(writes).to.have.length(1);
      expect(readEnvelope(file).data).to.deep.equal({ orders: ['debounced'], seq: 9 });
      await new Promise((r) => setTimeout(r, 30));
      expect(writes).to.have.length(1);
    });

    it('never runs two writes at once and ends with the last state on disk', async () => {
      let active = 0;
      let maxActive = 0;
      let count = 0;
      const store = await open({
        debounceMs: 1,
        writer: async (p, d) => {
          active++;
          maxActive = Math.max(maxActive, active);
          count++;
          await new Promise((r) => setTimeout(r, 2));
          await writeFileDurable(p, d);
          active--;
        },
      });
      const commits: Array<Promise<void>> = [];
      for (let i = 1; i <= 40; i++) {
        if (i % 2) store.change((d) => d.orders.push(`c${i}`));
        else commits.push(store.commit((d) => void (d.seq = i)));
      }
      await Promise.all(commits);
      await store.flush();
      expect(maxActive).to.equal(1);
      expect(count).to.be.lessThan(40); // concurrent requests coalesce
      expect(readEnvelope(file).data.seq).to.equal(40);
      expect(readEnvelope(file).data.orders).to.have.length(20);
    });

    it('a commit made while a write is in flight resolves only after a write that includes it', async () => {
      let release: () => void = () => undefined;
      let entered: () => void = () => undefined;
      const firstWriteEntered = new Promise<void>((r) => (entered = r));
      let first = false; // open's own write of the defaults must not block
      const store = await open({
        writer: async (p, d) => {
          if (first) {
            first = false;
            entered();
            await new Promise<void>((r) => (release = r));
          }
          await writeFileDurable(p, d);
        },
      });
      first = true;
      const a = store.commit((d) => void (d.seq = 1));
      await firstWriteEntered;
      const b = store.commit((d) => void (d.seq = 2));
      expect(readEnvelope(file).data.seq).to.equal(0);
      release();
      await a;
      await b;
      expect(readEnvelope(file).data.seq).to.equal(2);
    });

    it('a read right after commit() sees its change, while its write (or an earlier one) is still in flight', async () => {
      // what the engine relies on (docs/architecture.md, "Store.commit changes memory first"): the next seq and the
      // position slots are read in the same synchronous step as another symbol's intent commit
      let release: () => void = () => undefined;
      let hold = false; // open's own write of the defaults must not block
      const store = await open({
        writer: async (p, d) => {
          if (hold) await new Promise<void>((r) => (release = r));
          await writeFileDurable(p, d);
        },
      });
      hold = true;
      const a = store.commit((d) => {
        d.seq += 1;
        d.orders.push(`o${d.seq}`);
      });
      const b = store.commit((d) => {
        d.seq += 1;
        d.orders.push(`o${d.seq}`);
      });
      expect(store.data).to.deep.equal({ seq: 2, orders: ['o1', 'o2'] });
      expect(readEnvelope(file).data.seq).to.equal(0);
      hold = false;
      release();
      await Promise.all([a, b]);
      expect(readEnvelope(file).data).to.deep.equal({ seq: 2, orders: ['o1', 'o2'] });
    });

    it('flush() writes a pending change now and close() flushes, is idempotent, and refuses later changes', async () => {
      const store = await open({ debounceMs: 60_000 });
      store.change((d) => void (d.seq = 5));
      await store.flush();
      expect(readEnvelope(file).data.seq).to.equal(5);
      store.change((d) => void (d.seq = 6));
      const c1 = store.close();
      expect(store.close()).to.equal(c1);
      await c1;
      expect(readEnvelope(file).data.seq).to.equal(6);
      expect(() => store.change((d) => void (d.seq = 7))).to.throw(PersistenceError);
      const err = await store.commit().catch((e: unknown) => e);
      expect(err).to.be.instanceOf(PersistenceError);
    });
  });

  describe('write failures', () => {
    for (const code of ['ENOSPC', 'EACCES']) {
      it(`commit rejects with PersistenceError on ${code}, the old file stays intact, healthy goes false then true`, async () => {
        let failing: string | undefined;
        const { logger, lines } = captureLogger();
        const store = await open({
          logger,
          writer: (p, d) => (failing ? failWith(failing)(p) : writeFileDurable(p, d)),
        });
        await store.commit((d) => void (d.seq = 1));
        const good = fs.readFileSync(file, 'utf8');

        failing = code;
        const err = await store.commit((d) => void (d.seq = 2)).catch((e: unknown) => e);
        expect(err).to.be.instanceOf(PersistenceError);
        expect((err as PersistenceError).code).to.equal(code);
        expect(store.healthy).to.equal(false);
        expect(fs.readFileSync(file, 'utf8')).to.equal(good);
        expect(lines.some((l) => l.level === 'error' && l.message.includes(file))).to.equal(true);

        failing = undefined;
        await store.commit((d) => void (d.seq = 3));
        expect(store.healthy).to.equal(true);
        expect(readEnvelope(file).data.seq).to.equal(3);
      });
    }

    it('a failed write is retried: flush() after the disk recovers persists the change', async () => {
      let failing = true;
      const store = await open({
        writer: (p, d) => (failing ? failWith('ENOSPC')(p) : writeFileDurable(p, d)),
      }).catch((e: unknown) => e);
      // Creating the file already needs a write: open itself reports the full disk.
      expect(store).to.be.instanceOf(PersistenceError);
      failing = false;
      const ok = await open({
        debounceMs: 5,
        writer: (p, d) => (failing ? failWith('ENOSPC')(p) : writeFileDurable(p, d)),
      });
      failing = true;
      ok.change((d) => void (d.seq = 11));
      for (let i = 0; i < 100 && ok.healthy; i++) await new Promise((r) => setTimeout(r, 5));
      expect(ok.healthy).to.equal(false);
      failing = false;
      await ok.flush();
      expect(ok.healthy).to.equal(true);
      expect(readEnvelope(file).data.seq).to.equal(11);
    });
  });
});
