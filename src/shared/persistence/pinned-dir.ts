/**
 * The directory a persisted file was opened in, pinned by device and inode. A data dir on a mount that came up after
 * the service started (a network or USB disk at boot) puts another directory under the same path: the service
 * started on an empty state in the bare mount point, and a later write by path would replace the real file there
 * (review 33b). Writers that replace a file by path (the stores' adapter, a journal's compaction) check the pin first
 * and refuse with code `EDIRCHANGED` — the caller then treats it as an unwritable disk. A synchronous stat: it costs
 * microseconds, where an async one would be a thread-pool round trip on every write.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { PersistenceError } from '../errors';
import { toPersistenceError } from './durable-file';

export class PinnedDir {
  private constructor(
    readonly dir: string,
    private readonly dev: number,
    private readonly ino: number,
  ) {}

  /** Pins the directory `file` lives in (it must exist). */
  static of(file: string): PinnedDir {
    const dir = path.dirname(file);
    try {
      const { dev, ino } = statSync(dir);
      return new PinnedDir(dir, dev, ino);
    } catch (err) {
      throw toPersistenceError(err, dir, 'open directory');
    }
  }

  /** Throws `EDIRCHANGED` unless the path still leads to the pinned directory; `file` names what was to be written. */
  check(file: string): void {
    let now: { dev: number; ino: number } | undefined;
    try {
      now = statSync(this.dir);
    } catch {
      now = undefined;
    }
    if (now?.dev === this.dev && now.ino === this.ino) return;
    throw new PersistenceError(
      `Could not write ${file}: ${this.dir} is no longer the directory this service opened at its start (a disk ` +
        'mounted over it since, or it was moved or removed); nothing was written there — restart the service to ' +
        'use what that directory holds now',
      { path: file, op: 'write' },
      { code: 'EDIRCHANGED' },
    );
  }
}
