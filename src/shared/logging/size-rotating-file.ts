/**
 * The log file: one line per entry appended to `<file>`, rotated by size into `<file>.1 … <file>.<n>`.
 *
 * Each entry is one synchronous append, so nothing is buffered in memory: the line logged just before a crash or
 * a `process.exit` is on disk, and rotation cannot drop entries (winston's File transport, used before, lost the
 * lines written around a rotation). Log volume is small (a few lines per tick), so the synchronous write costs
 * microseconds.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pruneGenerations, shiftGenerations } from './rotate-files';

export interface SizeRotatingFileOptions {
  filename: string;
  /** Size at which the live file is rotated (default 10 MiB). */
  maxBytes?: number;
  /** Files kept, the live one included (default 5). */
  maxFiles?: number;
}

export class SizeRotatingFile {
  readonly filename: string;
  private readonly maxBytes: number;
  private readonly keep: number;
  private fd: number | null = null;
  private size = 0;
  private failing = false;

  constructor(opts: SizeRotatingFileOptions) {
    this.filename = opts.filename;
    this.maxBytes = opts.maxBytes ?? 10 * 1024 * 1024;
    this.keep = Math.max(0, (opts.maxFiles ?? 5) - 1);
    fs.mkdirSync(path.dirname(this.filename), { recursive: true, mode: 0o700 });
  }

  /** Appends one line (a newline is added). Never throws: a log write must never take the service down. */
  writeLine(text: string): void {
    try {
      this.append(`${text}\n`);
      this.failing = false;
    } catch (err) {
      // disk full, permissions: say it once on stderr
      if (!this.failing)
        process.stderr.write(`log file ${this.filename} not writable: ${(err as Error).message}\n`);
      this.failing = true;
      this.closeFd();
    }
  }

  close(): void {
    this.closeFd();
  }

  private append(line: string): void {
    const bytes = Buffer.byteLength(line);
    if (this.fd === null) this.open();
    if (this.size > 0 && this.size + bytes > this.maxBytes) this.rotate();
    const written = fs.writeSync(this.fd as number, line);
    if (written < bytes) {
      // a short write (the disk filled mid-line): cut the torn line back, so the next line starts on its own
      fs.ftruncateSync(this.fd as number, this.size);
      throw new Error(`short write (${written} of ${bytes} bytes): disk full?`);
    }
    this.size += bytes;
  }

  private open(): void {
    // 0600: the log holds orders, equity and chat ids (a file made by an older build is tightened too)
    this.fd = fs.openSync(this.filename, 'a', 0o600);
    fs.fchmodSync(this.fd, 0o600);
    this.size = fs.fstatSync(this.fd).size;
  }

  private rotate(): void {
    this.closeFd();
    if (this.keep > 0) {
      shiftGenerations(this.filename, this.keep);
      pruneGenerations(this.filename, this.keep);
      fs.renameSync(this.filename, `${this.filename}.1`);
    } else {
      fs.truncateSync(this.filename, 0);
    }
    this.open();
  }

  private closeFd(): void {
    if (this.fd === null) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed
    }
    this.fd = null;
  }
}
