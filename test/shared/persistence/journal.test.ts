import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { PersistenceError } from '../../../src/shared/errors';
import { Journal } from '../../../src/shared/persistence';
import { captureLogger } from '../../support/capture-logger';
import { TempDirs } from '../../support/temp-dirs';

interface Fill {
  id: number;
  note?: string;
}

describe('Journal', () => {
  const temp = new TempDirs();
  const journals: Array<Journal<Fill>> = [];
  let dir: string;
  let file: string;

  const open = async (): Promise<Journal<Fill>> => {
    const j = await Journal.open<Fill>(dir, 'fills');
    journals.push(j);
    return j;
  };
  const ids = (entries: Fill[]): number[] => entries.map((e) => e.id);

  beforeEach(() => {
    dir = temp.make();
    file = path.join(dir, 'fills.jsonl');
  });
  afterEach(async () => {
    for (const j of journals.splice(0)) await j.close().catch(() => undefined);
    temp.cleanup();
  });

  it('appends entries as JSON lines and reads them back in order', async () => {
    const j = await open();
    expect(fs.existsSync(file)).to.equal(true);
    await j.append([{ id: 1 }, { id: 2 }]);
    await j.append([{ id: 3, note: 'line\nbreak' }]);
    expect(j.count()).to.equal(3);
    expect(await j.readAll()).to.deep.equal([{ id: 1 }, { id: 2 }, { id: 3, note: 'line\nbreak' }]);
    expect(fs.readFileSync(file, 'utf8').split('\n')).to.have.length(4);
  });

  it('appends through a descriptor opened O_DSYNC (Linux): each write is on disk when it returns', async function () {
    if (process.platform !== 'linux') this.skip();
    const j = await open();
    await j.append([{ id: 1 }]);
    // the journal's own descriptor: the one of this process that points at the file, and its open flags (octal)
    const fds = fs.readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`) === fs.realpathSync(file);
      } catch {
        return false;
      }
    });
    expect(fds, 'open descriptors of the journal').to.have.length(1);
    const flags = /^flags:\s+([0-7]+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fds[0]}`, 'utf8'))![1];
    expect(Number.parseInt(flags, 8) & fs.constants.O_DSYNC, 'O_DSYNC').to.equal(fs.constants.O_DSYNC);
    expect(Number.parseInt(flags, 8) & fs.constants.O_APPEND, 'O_APPEND').to.equal(fs.constants.O_APPEND);
  });

  it('continues after reopen with the count of what is on disk', async () => {
    const j = await open();
    await j.append([{ id: 1 }, { id: 2 }]);
    await j.close();
    const again = await open();
    expect(again.count()).to.equal(2);
    await again.append([{ id: 3 }]);
    expect(ids(await again.readAll())).to.deep.equal([1, 2, 3]);
  });

  it('ignores a torn last line from a crash mid-append and cuts it off on open', async () => {
    fs.writeFileSync(file, '{"id":1}\n{"id":2}\n{"id":3,"no');
    const j = await open();
    expect(j.openReport.truncatedBytes).to.equal('{"id":3,"no'.length);
    expect(j.count()).to.equal(2);
    expect(ids(await j.readAll())).to.deep.equal([1, 2]);
    expect(fs.readFileSync(file, 'utf8')).to.equal('{"id":1}\n{"id":2}\n');
    await j.append([{ id: 3 }]);
    expect(ids(await j.readAll())).to.deep.equal([1, 2, 3]);
    expect(ids(await j.tail(1))).to.deep.equal([3]);
  });

  it('skips a complete line that is not JSON when reading, without losing the others', async () => {
    fs.writeFileSync(file, '{"id":1}\n\u0000\u0000garbage\n{"id":2}\n');
    const j = await open();
    expect(j.openReport.truncatedBytes).to.equal(0);
    expect(j.count()).to.equal(3); // complete lines: open does not parse them
    expect(ids(await j.readAll())).to.deep.equal([1, 2]);
    expect(ids(await j.tail(1))).to.deep.equal([2]);
  });

  it('counts entries across scan chunks and ignores empty lines', async () => {
    const line = JSON.stringify({ id: 0, note: 'y'.repeat(900) }) + '\n';
    fs.writeFileSync(file, '\n' + line.repeat(3000) + '\n{"torn":');
    const j = await open();
    expect(j.count()).to.equal(3000);
    expect(j.openReport.truncatedBytes).to.equal('{"torn":'.length);
    expect(fs.statSync(file).size).to.equal(1 + line.length * 3000 + 1);
  });

  it('opened without counting (countEntries false), it reads back only to the last newline: the same torn-line repair, isEmpty, no count', async () => {
    const line = JSON.stringify({ id: 0, note: 'y'.repeat(900) }) + '\n';
    // a torn tail longer than one read chunk (64 KiB): the last newline is further back
    const torn = '{"torn":"' + 'z'.repeat(70_000);
    fs.writeFileSync(file, line.repeat(3000) + '{"id":7}\n' + torn);
    const j = await Journal.open<Fill>(dir, 'fills', { countEntries: false });
    journals.push(j);
    expect(j.openReport.truncatedBytes).to.equal(torn.length);
    expect(fs.statSync(file).size).to.equal(line.length * 3000 + '{"id":7}\n'.length);
    expect(j.isEmpty()).to.equal(false);
    expect(() => j.count()).to.throw(/without counting/);
    expect(ids(await j.tail(1))).to.deep.equal([7]);
    await j.append([{ id: 8 }]);
    expect(ids(await j.tail(2))).to.deep.equal([7, 8]);

    fs.writeFileSync(path.join(dir, 'empty.jsonl'), '{"torn":');
    const empty = await Journal.open<Fill>(dir, 'empty', { countEntries: false });
    journals.push(empty);
    expect(empty.isEmpty()).to.equal(true);
    expect(empty.openReport.truncatedBytes).to.equal('{"torn":'.length);
    expect(await empty.readAll()).to.deep.equal([]);
  });

  it('tail(n) returns the last n entries, also across read-chunk boundaries', async () => {
    const j = await open();
    const big = 'x'.repeat(5000); // 200 entries × 5 KB spans many 64 KB chunks
    await j.append(Array.from({ length: 200 }, (_, i) => ({ id: i, note: big })));
    expect(ids(await j.tail(3))).to.deep.equal([197, 198, 199]);
    expect(ids(await j.tail(50))).to.deep.equal(Array.from({ length: 50 }, (_, i) => 150 + i));
    expect(await j.tail(500)).to.have.length(200);
    expect(await j.tail(0)).to.deep.equal([]);
  });

  it('tail(n) checks only the lines it needs from the end: the last n valid entries, damaged ones skipped', async () => {
    const lines = Array.from({ length: 300 }, (_, i) => JSON.stringify({ id: i }));
    lines[297] = '{"id":"not a number"}';
    lines[298] = '\u0000garbage';
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const checked: unknown[] = [];
    const { logger } = captureLogger();
    const j = await Journal.open<Fill>(dir, 'fills', {
      logger,
      validate: (value) => {
        checked.push(value);
        if (typeof (value as Fill).id !== 'number') throw new Error('id is not a number');
        return value as Fill;
      },
    });
    journals.push(j);
    expect(ids(await j.tail(3))).to.deep.equal([295, 296, 299]);
    // the whole 64 KiB read chunk holds all 300 lines: the lines before the three entries are never parsed
    expect(checked).to.have.length(4);
  });

  it('compact(n) durably keeps only the last n, and later appends go to the compacted file', async () => {
    const j = await open();
    await j.append(Array.from({ length: 10 }, (_, i) => ({ id: i })));
    await j.compact(3);
    expect(j.count()).to.equal(3);
    expect(ids(await j.readAll())).to.deep.equal([7, 8, 9]);
    await j.append([{ id: 10 }]);
    expect(fs.readFileSync(file, 'utf8')).to.equal('{"id":7}\n{"id":8}\n{"id":9}\n{"id":10}\n');
    await j.close();
    const again = await open();
    expect(again.count()).to.equal(4);
  });

  it('compact(n) copies the kept lines byte for byte, without parsing or re-serialising them', async () => {
    fs.mkdirSync(dir, { recursive: true });
    // spacing JSON.stringify would never write, and a damaged line among those kept
    fs.writeFileSync(file, '{"id": 1}\n{"id": 2}\nnot json\n{"id": 4}\n');
    const j = await open();
    await j.compact(3);
    expect(fs.readFileSync(file, 'utf8')).to.equal('{"id": 2}\nnot json\n{"id": 4}\n');
    expect(j.count()).to.equal(3);
    expect(ids(await j.readAll())).to.deep.equal([2, 4]);
    await j.compact(10);
    expect(fs.readFileSync(file, 'utf8')).to.equal('{"id": 2}\nnot json\n{"id": 4}\n');
  });

  it('appendJson writes lines serialised by the caller, each on its own line', async () => {
    const j = await open();
    await j.appendJson([JSON.stringify({ id: 1 }), JSON.stringify({ id: 2 })]);
    await j.appendJson([]);
    expect(j.count()).to.equal(2);
    expect(fs.readFileSync(file, 'utf8')).to.equal('{"id":1}\n{"id":2}\n');
  });

  it('concurrent appends never interleave and all land whole', async () => {
    const j = await open();
    await Promise.all(Array.from({ length: 50 }, (_, i) => j.append([{ id: i * 2 }, { id: i * 2 + 1 }])));
    expect(j.count()).to.equal(100);
    expect(ids(await j.readAll()).sort((a, b) => a - b)).to.deep.equal(
      Array.from({ length: 100 }, (_, i) => i),
    );
  });

  it('rejects entries that are not JSON values without touching the file', async () => {
    const j = await open();
    await j.append([{ id: 1 }]);
    const err = await j.append([undefined as unknown as Fill]).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(TypeError);
    expect(j.count()).to.equal(1);
  });

  it('close is idempotent and later appends reject with PersistenceError', async () => {
    const j = await open();
    const c = j.close();
    expect(j.close()).to.equal(c);
    await c;
    const err = await j.append([{ id: 1 }]).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(PersistenceError);
  });

  it('pages past a damaged line of megabytes without reading it whole: the entries around it still come', async () => {
    const huge = 'x'.repeat(3 * 1024 * 1024 + 17); // one "line" of 3 MiB: a torn or overwritten file
    fs.writeFileSync(file, `{"id":1}\n${huge}\n{"id":2}\n`);
    const { logger, lines } = captureLogger();
    const j = await Journal.open<Fill>(dir, 'fills', { logger });
    journals.push(j);
    const seen: number[] = [];
    let largestPageBytes = 0;
    for (let offset: number | null = 0; offset !== null;) {
      const page = await j.readPage(offset, 64);
      largestPageBytes = Math.max(largestPageBytes, JSON.stringify(page.entries).length);
      seen.push(...ids(page.entries));
      offset = page.next;
    }
    expect(seen).to.deep.equal([1, 2]);
    expect(largestPageBytes).to.be.below(1024);
    // skipped at the 1 MiB cap (before: the window doubled until the whole 3 MiB line was in memory)
    expect(lines.some((l) => l.message.includes('bytes skipped (damaged)'))).to.equal(true);
  });
});
