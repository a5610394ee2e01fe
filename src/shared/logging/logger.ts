/**
 * The one logger factory. Console lines are short and readable in `pm2 logs` (PM2 captures stdout/stderr into
 * its out/err files); a JSON file per service in the log dir keeps everything, rotated by size (winston
 * see size-rotating-file.ts, so it stays bounded on disk). Every entry passes through the redactor once, at the logger
 * level, before any transport sees it — child loggers included.
 */
import path from 'node:path';
import winston from 'winston';
import { Redactor } from './redact';
import { SizeRotatingFileTransport } from './size-rotating-file';

export type Logger = winston.Logger;

export interface LoggerOptions {
  /** Service name: `trading`, `telegram`, `cli`… names the JSON file `<service>.log`. */
  service: string;
  /** Directory of the JSON log file; omit for console only. */
  logDir?: string;
  /** Minimum level (default info). */
  level?: string;
  /** Secret values to mask wherever they appear (default: only the shape-based masking). */
  redactor?: Redactor;
  /** Size at which the JSON file rotates (default 10 MiB). */
  fileMaxBytes?: number;
  /** Rotated JSON files kept, the live one included (default 5). */
  fileMaxFiles?: number;
  /** Console output (default true). */
  console?: boolean;
}

const consoleLine = winston.format.printf((info) => {
  const {
    level,
    message,
    timestamp,
    module: mod,
    service: _service,
    stack,
    ...meta
  } = info as Record<string, unknown>;
  const metaText = Object.keys(meta).length ? ' ' + JSON.stringify(meta) : '';
  const where = mod ? ` [${String(mod)}]` : '';
  const trace = typeof stack === 'string' ? `\n${indentContinuation(stack)}` : '';
  const text = typeof message === 'string' ? escapeLineBreaks(message) : JSON.stringify(message);
  return `${String(timestamp)} ${String(level)}${where} ${text}${metaText}${trace}`;
});

/**
 * CR and LF in a console message are written as `\r` / `\n`: text from outside (a pause reason, a chat message)
 * must not be able to start what reads as a log line of its own (log forging) in PM2's out/err files.
 */
export function escapeLineBreaks(text: string): string {
  return text.replace(/\r/g, '\\r').replace(/\n/g, '\\n');
}

/**
 * A stack trace stays multi-line (readable), but each line after the first is indented and CRs are escaped, so
 * no line of it can pass for a log line (those start with a timestamp in column 0).
 */
function indentContinuation(stack: string): string {
  return stack
    .replace(/\r/g, '\\r')
    .split('\n')
    .map((line, i) => (i === 0 || /^\s/.test(line) ? line : `    ${line}`))
    .join('\n');
}

export function createLogger(options: LoggerOptions): Logger {
  const redactor = options.redactor ?? new Redactor();
  const transports: winston.transport[] = [];
  if (options.console !== false) {
    transports.push(
      new winston.transports.Console({
        // Errors and warnings go to stderr, so `pm2 logs --err` (and the err file) show just the problems.
        stderrLevels: ['error', 'warn'],
        format: winston.format.combine(winston.format.timestamp(), consoleLine),
      }),
    );
  }
  if (options.logDir) {
    transports.push(
      new SizeRotatingFileTransport({
        filename: path.join(options.logDir, `${options.service}.log`),
        maxBytes: options.fileMaxBytes ?? 10 * 1024 * 1024,
        maxFiles: options.fileMaxFiles ?? 5,
        format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
      }),
    );
  }
  return winston.createLogger({
    level: options.level ?? 'info',
    defaultMeta: { service: options.service },
    // errors() first: an Error logged as the message becomes message + stack, which the redactor then masks.
    format: winston.format.combine(
      winston.format.errors({ stack: true, cause: true }),
      winston.format((info) => redactor.redactInfo(info))(),
    ),
    transports,
  });
}

/**
 * Ends the logger and waits (at most `timeoutMs`) until every transport has finished, so nothing is pending at
 * `process.exit`. The file transport writes synchronously and console output to files and pipes is synchronous
 * on Linux, so this is short; it exists so a future asynchronous transport cannot silently lose the last lines.
 */
export function closeLogger(logger: Logger, timeoutMs = 1_000): Promise<void> {
  return new Promise((resolve) => {
    // Not unref'd: the exit must wait for the transports (bounded by the timeout).
    const timer = setTimeout(resolve, timeoutMs);
    logger.once('finish', () => {
      clearTimeout(timer);
      resolve();
    });
    logger.end();
  });
}

/** A logger that writes nothing, for unit tests. */
export function silentLogger(): Logger {
  return winston.createLogger({
    silent: true,
    transports: [new winston.transports.Console({ silent: true })],
  });
}
