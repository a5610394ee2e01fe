/**
 * The one logger factory. Console lines are short and readable in `pm2 logs` (PM2 captures stdout/stderr into
 * its out/err files); a JSON file per service in the log dir keeps everything, rotated by size (size-rotating-file.ts,
 * so it stays bounded on disk). Every entry passes through the redactor once, at the logger level, before any sink
 * sees it — child loggers included.
 *
 * Our own, not winston (used until 2026-12): a log call is one synchronous pass — build the entry (log-entry.ts),
 * redact it, write each line — with no stream pipeline per transport. Loading winston and pushing a start's lines
 * through its formats and streams cost each daemon start about 15–20 ms of CPU (the restart benchmark's largest
 * single piece above node's own boot); the lines and files are the same.
 */
import path from 'node:path';
import { Redactor } from './redact';
import { SizeRotatingFile } from './size-rotating-file';
import { buildEntry, consoleLine, jsonLine, levelEnabled, type LogEntry, type LogLevel } from './log-entry';

export { LOG_LEVELS, type LogEntry, type LogLevel } from './log-entry';

/** Writes a log call: the text, and fields (an object) or an Error. */
export type LogMethod = (message: string | Error, meta?: unknown) => void;

export interface Logger {
  error: LogMethod;
  warn: LogMethod;
  info: LogMethod;
  debug: LogMethod;
  /** A logger whose every entry carries `fields` too (a call's own fields win). */
  child(fields: Record<string, unknown>): Logger;
}

/** Where redacted entries go (the console, the JSON file, or a test's memory). */
export interface LogSink {
  write(entry: LogEntry, timestamp: string): void;
  close?(): void;
}

export interface LoggerOptions {
  /** Service name: `trading`, `telegram`, `cli`… names the JSON file `<service>.log`. */
  service: string;
  /** Directory of the JSON log file; omit for console only. */
  logDir?: string;
  /** Minimum level (default info). */
  level?: LogLevel;
  /** Secret values to mask wherever they appear (default: only the shape-based masking). */
  redactor?: Redactor;
  /** Size at which the JSON file rotates (default 10 MiB). */
  fileMaxBytes?: number;
  /** Rotated JSON files kept, the live one included (default 5). */
  fileMaxFiles?: number;
  /** Console output (default true). */
  console?: boolean;
  /** More sinks (beside the console and the file). */
  sinks?: LogSink[];
}

/**
 * Errors and warnings go to stderr, so `pm2 logs --err` (and the err file) show just the problems. A console that
 * fails (EPIPE: PM2's daemon died and the pipe it read is gone) is given up: an unheard stream error would be an
 * uncaught exception, and the crash handler's own line a second one, killing a daemon nobody restarts any more. The
 * JSON file keeps every line.
 */
const consoleSink: LogSink = {
  write(entry, timestamp) {
    const stream = entry.level === 'error' || entry.level === 'warn' ? process.stderr : process.stdout;
    if (!consoleUsable(stream)) return;
    // A pipe whose reader is stuck (PM2's daemon stopped or hung: it reads both pipes) is written asynchronously, so
    // what it does not take waits in this process's memory, for as long as PM2 is stuck — and PM2's memory guard
    // cannot act then. Past CONSOLE_BACKLOG_BYTES a console line is dropped (the JSON file keeps every line) and the
    // first line written again says how many were.
    if (stream.writableLength > CONSOLE_BACKLOG_BYTES) {
      consoleDropped.set(stream, (consoleDropped.get(stream) ?? 0) + 1);
      return;
    }
    const dropped = consoleDropped.get(stream) ?? 0;
    if (dropped > 0) {
      consoleDropped.delete(stream);
      stream.write(
        `(${dropped} console line(s) dropped while this console was not read: see the JSON log)\n`,
      );
    }
    stream.write(`${consoleLine(entry, timestamp)}\n`);
  },
};

/** Unread console output kept in memory at most (a stuck PM2 daemon): beyond it console lines are dropped. */
const CONSOLE_BACKLOG_BYTES = 1024 * 1024;
const consoleDropped = new WeakMap<NodeJS.WriteStream, number>();

/** Each console stream watched once: true once it failed. */
const consoleFailed = new WeakMap<NodeJS.WriteStream, boolean>();

function consoleUsable(stream: NodeJS.WriteStream): boolean {
  if (!consoleFailed.has(stream)) {
    consoleFailed.set(stream, false);
    stream.on('error', () => consoleFailed.set(stream, true));
  }
  return !consoleFailed.get(stream) && !stream.destroyed;
}

function fileSink(file: SizeRotatingFile): LogSink {
  return {
    write: (entry, timestamp) => file.writeLine(jsonLine(entry, timestamp)),
    close: () => file.close(),
  };
}

/** What a logger and all its children share. */
class LogCore {
  constructor(
    readonly service: string | undefined,
    readonly threshold: LogLevel,
    readonly redactor: Redactor | undefined,
    readonly sinks: readonly LogSink[],
  ) {}

  write(level: LogLevel, message: string | Error, meta: unknown, bound: Record<string, unknown>): void {
    if (this.sinks.length === 0 || !levelEnabled(level, this.threshold)) return;
    const fields =
      meta === undefined || meta === null
        ? undefined
        : typeof meta === 'object'
          ? (meta as Record<string, unknown>)
          : { detail: meta };
    let safe: LogEntry;
    try {
      const entry = buildEntry(level, message, fields, bound, this.service);
      safe = this.redactor ? this.redactor.redactEntry(entry) : entry;
    } catch (err) {
      // a field that throws when read (a getter): the line without the fields, never an exception in the caller
      const entry: LogEntry = {
        ...(this.service ? { service: this.service } : {}),
        level,
        message: readable(() => (message instanceof Error ? message.message : String(message))),
        unreadable: readable(() => (err instanceof Error ? err.message : String(err))),
      };
      safe = this.redactor ? this.redactor.redactEntry(entry) : entry;
    }
    const timestamp = new Date().toISOString();
    for (const sink of this.sinks) {
      try {
        sink.write(safe, timestamp);
      } catch {
        // a sink that fails (a closed pipe) never takes the caller down; the other sinks still get the line
      }
    }
  }

  close(): void {
    for (const sink of this.sinks) sink.close?.();
  }
}

/** `read()`, or a placeholder when even that throws (an Error whose message is a throwing getter). */
function readable(read: () => string): string {
  try {
    return read();
  } catch {
    return '(unreadable)';
  }
}

class CoreLogger implements Logger {
  constructor(
    readonly core: LogCore,
    private readonly bound: Record<string, unknown>,
  ) {}

  error: LogMethod = (message, meta) => this.core.write('error', message, meta, this.bound);
  warn: LogMethod = (message, meta) => this.core.write('warn', message, meta, this.bound);
  info: LogMethod = (message, meta) => this.core.write('info', message, meta, this.bound);
  debug: LogMethod = (message, meta) => this.core.write('debug', message, meta, this.bound);

  child(fields: Record<string, unknown>): Logger {
    return new CoreLogger(this.core, { ...this.bound, ...fields });
  }
}

export function createLogger(options: LoggerOptions): Logger {
  const sinks: LogSink[] = [];
  if (options.console !== false) sinks.push(consoleSink);
  if (options.logDir) {
    sinks.push(
      fileSink(
        new SizeRotatingFile({
          filename: path.join(options.logDir, `${options.service}.log`),
          maxBytes: options.fileMaxBytes ?? 10 * 1024 * 1024,
          maxFiles: options.fileMaxFiles ?? 5,
        }),
      ),
    );
  }
  sinks.push(...(options.sinks ?? []));
  const core = new LogCore(
    options.service,
    options.level ?? 'info',
    options.redactor ?? new Redactor(),
    sinks,
  );
  return new CoreLogger(core, {});
}

/**
 * Closes the logger's file. Every line is written synchronously (console output to files and pipes is synchronous
 * on Linux), so nothing is pending; a line logged after this reopens the file.
 */
export function closeLogger(logger: Logger): Promise<void> {
  if (logger instanceof CoreLogger) logger.core.close();
  return Promise.resolve();
}

/** A logger that writes nothing, for unit tests. */
export function silentLogger(): Logger {
  return new CoreLogger(new LogCore(undefined, 'debug', undefined, []), {});
}
