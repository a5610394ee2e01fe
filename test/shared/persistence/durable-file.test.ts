import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { PersistenceError } from '../../../src/shared/errors';
import {
  removeStaleTempFilesSync,
  writeFileDurable,
  type DurableFs,
} from '../../../src/shared/persistence/durable-file';
import { TempDirs } from '../../support/temp-dirs';

function errno(code: string): NodeJS.ErrnoException {
  const err = new Error(`${code}: simulated`) as NodeJS.ErrnoException;
  err.code = code;
  return err;
}

/** Real fs, except that writing file contents fails with `code` after the temp file was created. */
function failingWriteFs(code: string): DurableFs {
  return {
    open: (async (...args: Parameters<typeof fsp.open>) => {
      const handle = await fsp.open(...args);
      return new Proxy(handle, {
        get(target, prop, receiver) {
          if (prop === 'writeFile') return () => Promise.reject(errno(code));
          const value = Reflect.get(target, prop, receiver) as unknown;
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
    }) as typeof fsp.open,
    rename: fsp.rename,
    unlink: fsp.unlink,
  };
}

describe('writeFileDurable', () => {
  const temp = new TempDirs();
  afterEach(() => temp.cleanup());

  it('creates a file and replaces it whole, leaving no temp file behind', async () => {
    const dir = temp.make();
    const file = path.join(dir, 'state.json');
    await writeFileDurable(file, 'first');
    await writeFileDurable(file, new TextEncoder().encode('second'));
    expect(fs.readFileSync(file, 'utf8')).to.equal('second');
    expect(fs.readdirSync(dir)).to.deep.equal(['state.json']);
  });

  for (const code of ['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS']) {
    it(`maps ${code} to PersistenceError with the code and path, keeps the old file and removes the temp`, async () => {
      const dir = temp.make();
      const file = path.join(dir, 'state.json');
      fs.writeFileSync(file, 'old content');
      const err = await writeFileDurable(file, 'new content', { fs: failingWriteFs(code) }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(PersistenceError);
      expect((err as PersistenceError).code).to.equal(code);
      expect((err as PersistenceError).context.path).to.equal(file);
      expect((err as PersistenceError).message).to.contain(file);
      expect(fs.readFileSync(file, 'utf8')).to.equal('old content');
      expect(fs.readdirSync(dir)).to.deep.equal(['state.json']);
    });
  }

  it('removes the temp file when the rename fails and keeps the old file', async () => {
    const dir = temp.make();
    const file = path.join(dir, 'state.json');
    fs.writeFileSync(file, 'old');
    const facade: DurableFs = {
      open: fsp.open,
      unlink: fsp.unlink,
      rename: () => Promise.reject(errno('EROFS')),
    };
    const err = await writeFileDurable(file, 'new', { fs: facade }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(PersistenceError);
    expect((err as PersistenceError).code).to.equal('EROFS');
    expect(fs.readFileSync(file, 'utf8')).to.equal('old');
    expect(fs.readdirSync(dir)).to.deep.equal(['state.json']);
  });

  it('fails with a PersistenceError (ENOTDIR) when the directory path is a file', async () => {
    const dir = temp.make();
    fs.writeFileSync(path.join(dir, 'not-a-dir'), '');
    const err = await writeFileDurable(path.join(dir, 'not-a-dir', 'state.json'), 'x').catch(
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(PersistenceError);
    expect((err as PersistenceError).code).to.equal('ENOTDIR');
  });

  it('removes temp files of dead writers but not those of live processes', async () => {
    const dir = temp.make();
    const file = path.join(dir, 'state.json');
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      const dead = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
      await new Promise((resolve) => dead.once('exit', resolve));
      const deadTemp = `.state.json.tmp-${dead.pid}-abc`;
      const liveTemp = `.state.json.tmp-${child.pid}-def`;
      const ownTemp = `.state.json.tmp-${process.pid}-123`;
      for (const name of [deadTemp, liveTemp, ownTemp, 'other.json'])
        fs.writeFileSync(path.join(dir, name), '{');
      const removed = removeStaleTempFilesSync(file);
      expect(removed).to.deep.equal([deadTemp]);
      expect(fs.readdirSync(dir).sort()).to.deep.equal([ownTemp, liveTemp, 'other.json'].sort());
    } finally {
      child.kill('SIGKILL');
    }
  });
});
