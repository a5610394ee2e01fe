/**
 * The lowdb adapter of ByNinja: lowdb's own TextFile writer renames a temp file but never fsyncs, so a power
 * loss can leave an empty or half-written file. This adapter writes through writeFileDurable, wraps the data in a
 * versioned envelope, and keeps exactly one previous good generation beside the file.
 */
import { promises as fsp } from 'node:fs';
import type { Adapter } from 'lowdb';
import { CorruptStateError } from '../errors';
import type { Clock } from '../clock';
import { tempPathFor, toPersistenceError, writeFileDurable } from './durable-file';
import { readJsonFile } from './json-file';
import { PinnedDir } from './pinned-dir';

/** What a state file holds on disk. */
export interface Envelope<T> {
  /** Schema version of `data`; migrations bring older versions up to date on open. */
  version: number;
  /** ISO time of the write, for operators reading the file. */
  savedAt: string;
  data: T;
}

/** Writes `data` to `filePath` durably; injectable so tests can simulate a full or read-only disk. */
export type DurableWriter = (filePath: string, data: string) => Promise<void>;

export interface DurableJsonAdapterOptions {
  /** The state file, e.g. `<dir>/trading.json`. */
  file: string;
  /** Where the previous good generation is kept (default `<file>.prev`). */
  previousFile?: string;
  version: number;
  /** Stamps each envelope's savedAt (the store's clock). */
  clock: Clock;
  writer?: DurableWriter;
}

export function isEnvelope(value: unknown): value is Envelope<unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return Number.isInteger(v.version) && (v.version as number) >= 0 && 'data' in v && v.data !== undefined;
}

export class DurableJsonAdapter<T> implements Adapter<T> {
  readonly file: string;
  readonly previousFile: string;
  private readonly version: number;
  private readonly clock: Clock;
  private readonly writer: DurableWriter;
  /** The directory the store opened (device and inode), once pinned: every write checks it is still the one. */
  private pinned?: PinnedDir;

  constructor(opts: DurableJsonAdapterOptions) {
    this.file = opts.file;
    this.previousFile = opts.previousFile ?? `${opts.file}.prev`;
    this.version = opts.version;
    this.clock = opts.clock;
    this.writer = opts.writer ?? ((p, d) => writeFileDurable(p, d));
  }

  /**
   * Reads the current generation: null when the file does not exist, CorruptStateError when it is not an
   * envelope of this schema version (the Store handles quarantine, recovery and migration on open).
   */
  async read(): Promise<T | null> {
    const read = await readJsonFile(this.file, { parse: (value) => value });
    if (read.kind === 'missing') return null;
    if (read.kind === 'unreadable') throw toPersistenceError(read.error, this.file, 'read');
    if (read.kind === 'corrupt') {
      throw new CorruptStateError(`${this.file} is ${read.reason}`, { path: this.file });
    }
    const parsed = read.value;
    if (!isEnvelope(parsed) || parsed.version !== this.version) {
      throw new CorruptStateError(`${this.file} is not a version ${this.version} state envelope`, {
        path: this.file,
      });
    }
    return parsed.data as T;
  }

  /**
   * Makes `data` durable. The data is serialized synchronously, before the first await, so later in-memory
   * mutations never leak into this write. The current file becomes the previous generation first.
   */
  write(data: T): Promise<void> {
    let text: string;
    try {
      const envelope: Envelope<T> = {
        version: this.version,
        savedAt: new Date(this.clock.now()).toISOString(),
        data,
      };
      text = JSON.stringify(envelope, null, 2) + '\n';
    } catch (err) {
      return Promise.reject(toPersistenceError(err, this.file, 'serialize state for'));
    }
    return this.rotateAndWrite(text);
  }

  /** Remembers which directory the file lives in (once it exists, when the store opens): pinned-dir.ts. */
  pinDirectory(): void {
    this.pinned = PinnedDir.of(this.file);
  }

  private async rotateAndWrite(text: string): Promise<void> {
    this.pinned?.check(this.file);
    await this.keepCurrentAsPrevious();
    await this.writer(this.file, text);
  }

  /**
   * Points `<file>.prev` at the current file's inode: a hard link to a temp name, then an atomic rename over the
   * old `.prev`. The current file is never modified in place (only replaced by rename), so the linked inode keeps
   * the current good content, and at every instant both names hold a complete generation.
   */
  private async keepCurrentAsPrevious(): Promise<void> {
    const tmp = tempPathFor(this.previousFile);
    try {
      await fsp.link(this.file, tmp);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return; // first write, or the file was quarantined: keep the existing .prev
      if (code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS' || code === 'EPERM') {
        await this.copyCurrentToPrevious(); // file systems without hard links
        return;
      }
      throw toPersistenceError(err, this.previousFile, 'keep previous generation');
    }
    try {
      await fsp.rename(tmp, this.previousFile);
    } catch (err) {
      await fsp.unlink(tmp).catch(() => undefined);
      throw toPersistenceError(err, this.previousFile, 'keep previous generation');
    }
  }

  private async copyCurrentToPrevious(): Promise<void> {
    let bytes: Buffer;
    try {
      bytes = await fsp.readFile(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw toPersistenceError(err, this.file, 'read');
    }
    await writeFileDurable(this.previousFile, bytes);
  }
}
