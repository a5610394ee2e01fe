/**
 * Append-only history (closed trades, fills, events) as JSON Lines, kept out of the hot state file so a commit
 * never gets slower as history grows: an append writes only the new lines (O_APPEND) and fdatasyncs, whatever
 * the file size. A crash mid-append can leave a torn last line; it is ignored and truncated away on open.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { PersistenceError } from '../errors';
import { silentLogger, type Logger } from '../logging/logger';
import { fsyncDirectory, removeStaleTempFiles, toPersistenceError, writeFileDurable } from './durable-file';

export interface JournalOptions {
  logger?: Logger;
}

export interface JournalOpenReport {
  /** Bytes of a torn last line (crash mid-append) cut off on open. */
  truncatedBytes: number;
  /** Complete lines that are not valid JSON (should never happen); kept on disk, skipped when reading. */
  skippedLines: number;
}

const NEWLINE = 0x0a;
const READ_CHUNK = 64 * 1024;

export class Journal<T> {
  readonly file: string;
  readonly openReport: JournalOpenReport;
  private handle: fsp.FileHandle | undefined;
  /** Bytes of complete lines: everything up to and including the last newline. */
  private size: number;
  private entryCount: number;
  /** Every operation chains here so appends, reads and compaction never interleave; never rejects. */
  private tailOp: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;
  private readonly logger: Logger;

  private constructor(file: string, size: number, count: number, report: JournalOpenReport, logger: Logger) {
    this.file = file;
    this.size = size;
    this.entryCount = count;
    this.openReport = report;
    this.logger = logger;
  }

  static async open<T>(dir: string, name: string, opts: JournalOptions = {}): Promise<Journal<T>> {
    const logger = (opts.logger ?? silentLogger()).child({ module: 'persistence', journal: name });
    const file = path.join(dir, `${name}.jsonl`);
    try {
      await fsp.mkdir(dir, { recursive: true });
    } catch (err) {
      throw toPersistenceError(err, dir, 'create directory');
    }
    await removeStaleTempFiles(file);
    const scan = await scanFile(file);
    const report: JournalOpenReport = {
      truncatedBytes: scan.fileSize - scan.validSize,
      skippedLines: scan.badLines,
    };
    if (!scan.exists) {
      await createEmpty(file);
    } else if (report.truncatedBytes > 0) {
      logger.warn(
        `Journal ${file}: ignoring a torn last line of ${report.truncatedBytes} bytes (crash mid-append)`,
      );
      try {
        await fsp.truncate(file, scan.validSize);
      } catch (err) {
        throw toPersistenceError(err, file, 'truncate torn line of');
      }
    }
    if (scan.badLines > 0) logger.error(`Journal ${file}: ${scan.badLines} unparseable line(s) skipped`);
    const journal = new Journal<T>(file, scan.validSize, scan.lines - scan.badLines, report, logger);
    await journal.ensureHandle();
    return journal;
  }

  /** Number of entries in the journal. */
  count(): number {
    return this.entryCount;
  }

  /** Appends entries; durable (fdatasync) when it resolves. Rejects with PersistenceError, journal unchanged. */
  append(entries: T[]): Promise<void> {
    let bytes: Buffer;
    try {
      bytes = Buffer.from(entries.map((e) => serializeLine(e)).join(''), 'utf8');
    } catch (err) {
      return Promise.reject(err);
    }
    return this.enqueue(async () => {
      if (bytes.length === 0) return;
      const handle = await this.ensureHandle();
      try {
        let written = 0;
        while (written < bytes.length) {
          const { bytesWritten } = await handle.write(bytes, written, bytes.length - written);
          written += bytesWritten;
        }
        await handle.datasync();
      } catch (err) {
        // Cut off whatever part of this batch reached the file, so the journal stays whole lines only.
        await handle.truncate(this.size).catch(() => undefined);
        const error = toPersistenceError(err, this.file, 'append to');
        this.logger.error(error.message, { code: error.code });
        throw error;
      }
      this.size += bytes.length;
      this.entryCount += entries.length;
    });
  }

  /** Every entry, oldest first (reads the whole file: for reports and tools, not the hot path). */
  readAll(): Promise<T[]> {
    return this.enqueue(async () => {
      const text = (await this.readRange(0, this.size)).toString('utf8');
      return parseLines<T>(text.split('\n'));
    });
  }

  /** The last `n` entries, oldest first; reads only the end of the file. */
  tail(n: number): Promise<T[]> {
    return this.enqueue(() => this.readTail(n));
  }

  /** Rewrites the journal durably keeping only the last `keepLast` entries. On failure the journal is unchanged. */
  compact(keepLast: number): Promise<void> {
    return this.enqueue(async () => {
      const kept = await this.readTail(keepLast);
      const bytes = Buffer.from(kept.map((e) => serializeLine(e)).join(''), 'utf8');
      await writeFileDurable(this.file, bytes);
      // The old handle points at the replaced inode: appends must go to the new file.
      const old = this.handle;
      this.handle = undefined;
      await old?.close().catch(() => undefined);
      this.size = bytes.length;
      this.entryCount = kept.length;
      await this.ensureHandle();
    });
  }

  /** Waits for pending operations and closes the file. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.enqueue(async () => {
      await this.handle?.close();
      this.handle = undefined;
    });
    return this.closing;
  }

  private enqueue<R>(op: () => Promise<R>): Promise<R> {
    if (this.closing) {
      return Promise.reject(
        new PersistenceError(`Journal ${this.file} is closed`, { path: this.file }, { code: 'ECLOSED' }),
      );
    }
    const result = this.tailOp.then(op);
    this.tailOp = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  private async ensureHandle(): Promise<fsp.FileHandle> {
    if (!this.handle) {
      try {
        this.handle = await fsp.open(this.file, 'a', 0o600);
      } catch (err) {
        throw toPersistenceError(err, this.file, 'open');
      }
    }
    return this.handle;
  }

  private async readTail(n: number): Promise<T[]> {
    if (n <= 0 || this.size === 0) return [];
    // Walk back from the end in chunks until n+1 newlines (or the file start) are in the buffer.
    let start = this.size;
    // Chunks are collected newest-first and joined once: concatenating per chunk would be quadratic.
    const chunks: Buffer[] = [];
    let newlines = 0;
    while (start > 0 && newlines <= n) {
      const from = Math.max(0, start - READ_CHUNK);
      const chunk = await this.readRange(from, start - from);
      for (const byte of chunk) if (byte === NEWLINE) newlines++;
      chunks.push(chunk);
      start = from;
    }
    const lines = Buffer.concat(chunks.reverse()).toString('utf8').split('\n');
    if (start > 0) lines.shift(); // partial first line of the window
    const entries = parseLines<T>(lines);
    return entries.slice(Math.max(0, entries.length - n));
  }

  private async readRange(position: number, length: number): Promise<Buffer> {
    const buf = Buffer.alloc(length);
    let handle: fsp.FileHandle | undefined;
    try {
      handle = await fsp.open(this.file, 'r');
      let read = 0;
      while (read < length) {
        const { bytesRead } = await handle.read(buf, read, length - read, position + read);
        if (bytesRead === 0) break;
        read += bytesRead;
      }
      return buf.subarray(0, read);
    } catch (err) {
      throw toPersistenceError(err, this.file, 'read');
    } finally {
      await handle?.close().catch(() => undefined);
    }
  }
}

function serializeLine(entry: unknown): string {
  const json = JSON.stringify(entry);
  if (json === undefined) throw new TypeError('Journal entries must be JSON-serializable values');
  return json + '\n';
}

function parseLines<T>(lines: string[]): T[] {
  const out: T[] = [];
  for (const line of lines) {
    if (line === '') continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // Reported once on open (skippedLines); never fatal for history.
    }
  }
  return out;
}

async function createEmpty(file: string): Promise<void> {
  try {
    const handle = await fsp.open(file, 'a', 0o600);
    await handle.sync();
    await handle.close();
  } catch (err) {
    throw toPersistenceError(err, file, 'create');
  }
  await fsyncDirectory(path.dirname(file));
}

/** One pass over the file: counts complete lines, unparseable lines, and where the last complete line ends. */
async function scanFile(
  file: string,
): Promise<{ exists: boolean; fileSize: number; validSize: number; lines: number; badLines: number }> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return { exists: false, fileSize: 0, validSize: 0, lines: 0, badLines: 0 };
    }
    throw toPersistenceError(err, file, 'open');
  }
  try {
    let position = 0;
    let pending = Buffer.alloc(0); // bytes after the last newline seen so far
    let lines = 0;
    let badLines = 0;
    const chunk = Buffer.alloc(READ_CHUNK);
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      let data = Buffer.concat([pending, chunk.subarray(0, bytesRead)]);
      let nl: number;
      while ((nl = data.indexOf(NEWLINE)) !== -1) {
        const line = data.subarray(0, nl).toString('utf8');
        data = data.subarray(nl + 1);
        if (line === '') continue;
        lines++;
        try {
          JSON.parse(line);
        } catch {
          badLines++;
        }
      }
      pending = Buffer.from(data);
    }
    return { exists: true, fileSize: position, validSize: position - pending.length, lines, badLines };
  } catch (err) {
    throw toPersistenceError(err, file, 'read');
  } finally {
    await handle.close().catch(() => undefined);
  }
}
