/**
 * Append-only history (closed trades, fills, events) as JSON Lines, kept out of the hot state file so a commit
 * never gets slower as history grows: an append writes only the new lines (O_APPEND) and is durable when the
 * write returns (O_DSYNC: the kernel syncs the data and the new size before `write` returns, what a write and an
 * fdatasync would do, in one trip to the thread pool instead of two), whatever the file size. A crash mid-append can leave a torn last line; it is ignored and truncated away on open.
 * Opening only looks for that torn tail and counts newlines (no JSON parsing), so it costs a read of the file at
 * memory speed, not a parse of every entry; a complete line that is not JSON (disk corruption, never a crash)
 * is skipped, and logged, when read.
 */
import fs, { constants as fsConstants, promises as fsp } from 'node:fs';
import path from 'node:path';
import { errorMessage, PersistenceError } from '../errors';
import { silentLogger, type Logger } from '../logging/logger';
import {
  fsyncDirectory,
  removeStaleTempFilesSync,
  toPersistenceError,
  writeFileDurable,
} from './durable-file';
import { PinnedDir } from './pinned-dir';

export interface JournalOptions<T = unknown> {
  logger?: Logger;
  /**
   * The full schema of one entry: returns the typed entry or throws. A line that fails it is skipped and logged
   * like a line that is not JSON (one damaged line must not hide the rest of the journal); default: any JSON.
   */
  validate?: (entry: unknown) => T;
  /**
   * Count the entries on open (default true): one pass over the whole file. False reads only the file's end (to
   * find a torn last line) — for a journal that only grows and never needs `count()` (the order history: 100,000
   * orders are ~45 MiB, every start read them all to count them); `count()` then throws, `isEmpty()` answers.
   */
  countEntries?: boolean;
}

/** One page of entries read from a byte offset (see `readPage`). */
export interface JournalPage<T> {
  entries: T[];
  /** Byte offset of the next page, or null when this page reached the end of the journal. */
  next: number | null;
}

export interface JournalOpenReport {
  /** Bytes of a torn last line (crash mid-append) cut off on open. */
  truncatedBytes: number;
}

const NEWLINE = 0x0a;
/**
 * The longest line a page widens to hold. An entry is a few KiB; a longer "line" is damage (a torn write, a
 * file overwritten): it is skipped, never read whole into memory.
 */
const MAX_LINE_BYTES = 1024 * 1024;
const READ_CHUNK = 64 * 1024;
const SCAN_CHUNK = 1024 * 1024;
/**
 * How appends open the file: O_DSYNC where the platform has it (Linux, macOS), so each write is durable when it
 * returns; elsewhere (Windows) a plain append handle, and every append calls fdatasync itself.
 */
const DSYNC = fsConstants.O_DSYNC as number | undefined;
const APPEND_FLAGS =
  DSYNC === undefined ? 'a' : fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT | DSYNC;

export class Journal<T> {
  readonly file: string;
  readonly openReport: JournalOpenReport;
  private handle: fsp.FileHandle | undefined;
  /** Bytes of complete lines: everything up to and including the last newline. */
  private size: number;
  /** Complete lines; undefined when opened without counting them (countEntries false). */
  private entryCount: number | undefined;
  /** Every operation chains here so appends, reads and compaction never interleave; never rejects. */
  private tailOp: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;
  private readonly logger: Logger;
  private readonly validate: ((entry: unknown) => T) | undefined;
  /** The directory opened (pinned-dir.ts): compaction replaces the file by path only while it is still that one. */
  private readonly pinned: PinnedDir;

  private constructor(
    file: string,
    size: number,
    count: number | undefined,
    report: JournalOpenReport,
    logger: Logger,
    validate: ((entry: unknown) => T) | undefined,
  ) {
    this.file = file;
    this.size = size;
    this.entryCount = count;
    this.openReport = report;
    this.logger = logger;
    this.validate = validate;
    this.pinned = PinnedDir.of(file);
  }

  static async open<T>(dir: string, name: string, opts: JournalOptions<T> = {}): Promise<Journal<T>> {
    const logger = (opts.logger ?? silentLogger()).child({ module: 'persistence', journal: name });
    const file = path.join(dir, `${name}.jsonl`);
    // Synchronous file calls to find the end of the last line: a restart waits for them anyway, and each async call
    // is a thread-pool round trip (docs/benchmarks.md, restart). Appends and later reads stay asynchronous.
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw toPersistenceError(err, dir, 'create directory');
    }
    removeStaleTempFilesSync(file);
    const scan = scanFile(file, opts.countEntries ?? true);
    const report: JournalOpenReport = { truncatedBytes: scan.fileSize - scan.validSize };
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
    const journal = new Journal<T>(file, scan.validSize, scan.lines, report, logger, opts.validate);
    await journal.ensureHandle();
    return journal;
  }

  /** Number of entries (complete lines) in the journal; only for a journal opened with countEntries (the default). */
  count(): number {
    if (this.entryCount === undefined)
      throw new Error(`Journal ${this.file} was opened without counting entries`);
    return this.entryCount;
  }

  /** Whether the journal holds no complete line at all. */
  isEmpty(): boolean {
    return this.size === 0;
  }

  /** Appends entries; durable (O_DSYNC or fdatasync) when it resolves. Rejects with PersistenceError, journal unchanged. */
  append(entries: T[]): Promise<void> {
    let lines: string[];
    try {
      lines = entries.map((e) => serializeJson(e));
    } catch (err) {
      return Promise.reject(err);
    }
    return this.appendJson(lines);
  }

  /**
   * `append` for entries the caller has serialised already (`JSON.stringify` of each, which never holds a raw
   * newline): a caller that needs the JSON anyway (the event log sends it on) serialises once.
   */
  appendJson(jsonLines: readonly string[]): Promise<void> {
    return this.appendJsonBlock(jsonLines.length > 0 ? jsonLines.join('\n') + '\n' : '', jsonLines.length);
  }

  /**
   * `appendJson` for lines the caller has joined already: `count` JSON lines, each ended by a newline (a caller
   * that keeps the joined text, the event log's replay window, joins once).
   */
  appendJsonBlock(block: string, count: number): Promise<void> {
    const bytes = Buffer.from(block, 'utf8');
    return this.enqueue(async () => {
      if (bytes.length === 0) return;
      const handle = await this.ensureHandle();
      try {
        let written = 0;
        while (written < bytes.length) {
          const { bytesWritten } = await handle.write(bytes, written, bytes.length - written);
          written += bytesWritten;
        }
        if (DSYNC === undefined) await handle.datasync();
      } catch (err) {
        // Cut off whatever part of this batch reached the file, so the journal stays whole lines only; and make the
        // cut durable (with O_DSYNC the part written is on disk already: a power loss must not bring it back)
        await handle
          .truncate(this.size)
          .then(() => handle.datasync())
          .catch(() => undefined);
        const error = toPersistenceError(err, this.file, 'append to');
        this.logger.error(error.message, { code: error.code });
        throw error;
      }
      this.size += bytes.length;
      if (this.entryCount !== undefined) this.entryCount += count;
    });
  }

  /** Every entry, oldest first (reads the whole file: for reports and tools, not the hot path). */
  readAll(): Promise<T[]> {
    return this.enqueue(async () => {
      const text = (await this.readRange(0, this.size)).toString('utf8');
      return this.parseLines(text.split('\n'));
    });
  }

  /**
   * Entries of whole lines starting at byte offset `from` (0, or a `next` of an earlier page), reading about
   * `maxBytes` of the file (at least one line however long): a report pages through any history in bounded
   * memory and bounded replies. An offset inside a line starts at the next line.
   */
  readPage(from: number, maxBytes: number): Promise<JournalPage<T>> {
    return this.enqueue(async () => {
      const start = Math.max(0, Math.min(Math.floor(from), this.size));
      if (start >= this.size) return { entries: [], next: null };
      let length = Math.min(Math.max(1, maxBytes), this.size - start);
      let buf = await this.readRange(start, length);
      let lastNl = buf.lastIndexOf(NEWLINE);
      // a single line longer than maxBytes: widen the window until it is whole, up to MAX_LINE_BYTES
      while (lastNl === -1 && start + length < this.size && length < MAX_LINE_BYTES) {
        length = Math.min(length * 2, MAX_LINE_BYTES, this.size - start);
        buf = await this.readRange(start, length);
        lastNl = buf.lastIndexOf(NEWLINE);
      }
      if (lastNl === -1 && start + length < this.size) return this.skipLongLine(start + length);
      let lines = buf
        .subarray(0, lastNl + 1)
        .toString('utf8')
        .split('\n');
      if (start > 0) {
        // an offset not right after a newline is inside a line: that partial line is not an entry
        const before = await this.readRange(start - 1, 1);
        if (before[0] !== NEWLINE) lines = lines.slice(1);
      }
      const end = start + lastNl + 1;
      return { entries: this.parseLines(lines), next: end >= this.size ? null : end };
    });
  }

  /** Past a line longer than MAX_LINE_BYTES, chunk by chunk (bounded memory): no entries, the next offset. */
  private async skipLongLine(from: number): Promise<JournalPage<T>> {
    for (let at = from; at < this.size; at += MAX_LINE_BYTES) {
      const chunk = await this.readRange(at, Math.min(MAX_LINE_BYTES, this.size - at));
      const nl = chunk.indexOf(NEWLINE);
      if (nl !== -1) {
        const next = at + nl + 1;
        this.logger.warn(`${this.file}: a line over ${MAX_LINE_BYTES} bytes skipped (damaged)`, {
          from,
          next,
        });
        return { entries: [], next: next >= this.size ? null : next };
      }
    }
    this.logger.warn(`${this.file}: a line over ${MAX_LINE_BYTES} bytes at its end skipped (damaged)`, {
      from,
    });
    return { entries: [], next: null };
  }

  /** The last `n` entries, oldest first; reads only the end of the file. */
  tail(n: number): Promise<T[]> {
    return this.enqueue(() => this.readTail(n));
  }

  /**
   * The last `n` lines as they are on disk (each ending with a newline), neither parsed nor checked: for a reader
   * that checks them itself when it needs them (the event log's replay window).
   */
  tailText(n: number): Promise<string> {
    return this.enqueue(async () => (await this.readTailLines(n)).toString('utf8'));
  }

  /**
   * Rewrites the journal durably keeping only its last `keepLast` lines, copied as bytes: nothing is parsed or
   * re-serialised (a damaged line among them stays damaged, and is skipped when read as before). On failure the
   * journal is unchanged.
   */
  compact(keepLast: number): Promise<void> {
    return this.enqueue(async () => {
      const bytes = await this.readTailLines(keepLast);
      this.pinned.check(this.file);
      await writeFileDurable(this.file, bytes);
      // The old handle points at the replaced inode: appends must go to the new file.
      const old = this.handle;
      this.handle = undefined;
      await old?.close().catch(() => undefined);
      this.size = bytes.length;
      if (this.entryCount !== undefined) this.entryCount = countNewlines(bytes);
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
        this.handle = await fsp.open(this.file, APPEND_FLAGS, 0o600);
      } catch (err) {
        throw toPersistenceError(err, this.file, 'open');
      }
    }
    return this.handle;
  }

  /** The bytes of the last `n` complete lines (all of them when the journal holds fewer). */
  private async readTailLines(n: number): Promise<Buffer> {
    if (n <= 0 || this.size === 0) return Buffer.alloc(0);
    let start = this.size;
    const chunks: Buffer[] = [];
    let newlines = 0;
    while (start > 0 && newlines <= n) {
      const from = Math.max(0, start - READ_CHUNK);
      const chunk = await this.readRange(from, start - from);
      newlines += countNewlines(chunk);
      chunks.push(chunk);
      start = from;
    }
    const buf = Buffer.concat(chunks.reverse());
    // the buffer ends with a newline (size counts complete lines only): the (n+1)-th newline from the end
    // closes the line before the kept ones
    let at = buf.length;
    for (let seen = 0; seen <= n; seen++) {
      at = at > 0 ? buf.lastIndexOf(NEWLINE, at - 1) : -1;
      if (at === -1) break;
    }
    return buf.subarray(at + 1);
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
      newlines += countNewlines(chunk);
      chunks.push(chunk);
      start = from;
    }
    const lines = Buffer.concat(chunks.reverse()).toString('utf8').split('\n');
    if (start > 0) lines.shift(); // partial first line of the window
    return this.parseLines(lines, n);
  }

  /**
   * Parses complete lines; one that is not JSON (disk corruption) or fails the entry schema is skipped and
   * logged, never fatal. With `newest`, only the last `newest` entries are wanted: lines are parsed from the end
   * until that many are found (a read chunk holds ~140 history lines, and each start's recovery wants 16 of them).
   */
  private parseLines(lines: string[], newest = Infinity): T[] {
    const out: T[] = [];
    let bad = 0;
    let invalid = 0;
    let firstProblem = '';
    const fromEnd = Number.isFinite(newest);
    for (let k = 0; k < lines.length && out.length < newest; k++) {
      const line = lines[fromEnd ? lines.length - 1 - k : k];
      if (line === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        bad++;
        continue;
      }
      if (!this.validate) {
        out.push(value as T);
        continue;
      }
      try {
        out.push(this.validate(value));
      } catch (err) {
        invalid++;
        firstProblem ||= errorMessage(err);
      }
    }
    if (fromEnd) out.reverse();
    if (bad > 0) this.logger.error(`Journal ${this.file}: ${bad} unparseable line(s) skipped`);
    if (invalid > 0) {
      this.logger.error(
        `Journal ${this.file}: ${invalid} line(s) not matching the entry schema skipped (first: ${firstProblem})`,
      );
    }
    return out;
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

function countNewlines(buf: Buffer): number {
  let count = 0;
  for (let i = buf.indexOf(NEWLINE); i !== -1; i = buf.indexOf(NEWLINE, i + 1)) count++;
  return count;
}

function serializeJson(entry: unknown): string {
  const json = JSON.stringify(entry);
  if (json === undefined) throw new TypeError('Journal entries must be JSON-serializable values');
  return json;
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

/**
 * Finds where the last complete line ends and, with `countLines`, counts complete lines (newlines) in one pass
 * over the file; without, reads back from the end only as far as the last newline.
 */
function scanFile(
  file: string,
  countLines: boolean,
): { exists: boolean; fileSize: number; validSize: number; lines: number | undefined } {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return { exists: false, fileSize: 0, validSize: 0, lines: 0 };
    }
    throw toPersistenceError(err, file, 'open');
  }
  try {
    if (!countLines) {
      const fileSize = fs.fstatSync(fd).size;
      return { exists: true, fileSize, validSize: endOfLastLine(fd, fileSize), lines: undefined };
    }
    let position = 0;
    let lines = 0;
    let validSize = 0; // just past the last newline seen so far
    let lineHasBytes = false; // the line being read is not empty ('\n\n' is no entry)
    const chunk = Buffer.alloc(SCAN_CHUNK);
    for (;;) {
      const bytesRead = fs.readSync(fd, chunk, 0, chunk.length, position);
      if (bytesRead === 0) break;
      let from = 0;
      let nl: number;
      while ((nl = chunk.indexOf(NEWLINE, from)) !== -1 && nl < bytesRead) {
        if (lineHasBytes || nl > from) lines++;
        lineHasBytes = false;
        from = nl + 1;
        validSize = position + from;
      }
      if (from < bytesRead) lineHasBytes = true;
      position += bytesRead;
    }
    return { exists: true, fileSize: position, validSize, lines };
  } catch (err) {
    throw toPersistenceError(err, file, 'read');
  } finally {
    try {
      fs.closeSync(fd);
    } catch {
      // read-only use: nothing to lose
    }
  }
}

/** Just past the last newline of the file's first `size` bytes (0 when it has none), read back from the end. */
function endOfLastLine(fd: number, size: number): number {
  const chunk = Buffer.alloc(READ_CHUNK);
  for (let end = size; end > 0;) {
    const from = Math.max(0, end - READ_CHUNK);
    const bytesRead = fs.readSync(fd, chunk, 0, end - from, from);
    const nl = chunk.subarray(0, bytesRead).lastIndexOf(NEWLINE);
    if (nl !== -1) return from + nl + 1;
    end = from;
  }
  return 0;
}
