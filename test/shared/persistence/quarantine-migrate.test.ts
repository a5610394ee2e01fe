import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { CorruptStateError } from '../../../src/shared/errors';
import { migrateData, missingMigration } from '../../../src/shared/persistence/migrate';
import { quarantineFile } from '../../../src/shared/persistence/quarantine';
import { TempDirs } from '../../support/temp-dirs';

describe('quarantineFile', () => {
  const temp = new TempDirs();
  afterEach(() => temp.cleanup());

  it('renames the file aside with an ISO timestamp and never overwrites an earlier quarantined copy', async () => {
    const dir = temp.make();
    const file = path.join(dir, 'state.json');
    const at = new Date('2026-01-02T03:04:05.006Z');
    fs.writeFileSync(file, 'first');
    const a = await quarantineFile(file, at);
    fs.writeFileSync(file, 'second');
    const b = await quarantineFile(file, at);
    expect(path.basename(a)).to.equal('state.json.corrupt-2026-01-02T03:04:05.006Z');
    expect(path.basename(b)).to.equal('state.json.corrupt-2026-01-02T03:04:05.006Z-1');
    expect(fs.readFileSync(a, 'utf8')).to.equal('first');
    expect(fs.readFileSync(b, 'utf8')).to.equal('second');
    expect(fs.existsSync(file)).to.equal(false);
  });
});

describe('migrateData', () => {
  it('applies steps n→n+1 in order', () => {
    const out = migrateData(
      { a: 1 },
      1,
      3,
      { 1: (d: object) => ({ ...d, b: 2 }), 2: (d: object) => ({ ...d, c: 3 }) },
      'f',
    );
    expect(out).to.deep.equal({ a: 1, b: 2, c: 3 });
  });

  it('returns the data unchanged when already current', () => {
    const data = { a: 1 };
    expect(migrateData(data, 2, 2, {}, 'f')).to.equal(data);
  });

  it('refuses a gap in the table before running any step', () => {
    let ran = false;
    const steps = { 1: (d: unknown) => ((ran = true), d) };
    expect(missingMigration(steps, 1, 3)).to.equal(2);
    expect(() => migrateData({}, 1, 3, steps, 'state.json')).to.throw(
      CorruptStateError,
      'no migration from version 2 to 3',
    );
    expect(ran).to.equal(false);
  });
});
