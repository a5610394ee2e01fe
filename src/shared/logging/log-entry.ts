/**
 * What one log call becomes, and the two ways it is written: pure functions, no I/O (logger.ts is the shell).
 *
 * The shape is the one winston gave us before (the files, `pm2 logs` and the tests read it): `message` is the
 * text; a meta object's fields sit beside it; an Error as the meta appends its message to the text and brings its
 * stack and cause; an Error as the message becomes its message, stack, cause and own fields. Fields set by the call
 * win over a child logger's (`module`), which win over nothing: `service` is the logger's.
 */

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/** Whether a line of `level` is written by a logger whose minimum level is `threshold`. */
export function levelEnabled(level: LogLevel, threshold: LogLevel): boolean {
  return RANK[level] <= RANK[threshold];
}

/** One log line before it is written (redacted before any sink sees it). */
export interface LogEntry {
  level: LogLevel;
  message: unknown;
  [field: string]: unknown;
}

/** What a log call may carry beside its text: fields, or an Error. */
export type LogMeta = Record<string, unknown> | Error;

export function buildEntry(
  level: LogLevel,
  message: string | Error,
  meta: LogMeta | undefined,
  bound: Readonly<Record<string, unknown>>,
  service: string | undefined,
): LogEntry {
  const base: Record<string, unknown> = { ...bound };
  if (service !== undefined) base.service = service;
  if (message instanceof Error) {
    // the Error is the line: its own fields (code, context…), then its text, stack and cause
    const entry: LogEntry = { ...base, ...ownFields(message), level, message: message.message };
    if (message.stack !== undefined) entry.stack = message.stack;
    if (message.cause !== undefined) entry.cause = message.cause;
    if (meta !== undefined) Object.assign(entry, metaEntry(level, entry.message as string, meta, {}));
    return entry;
  }
  if (meta === undefined || meta === null || typeof meta !== 'object') return { ...base, level, message };
  return { ...base, ...metaEntry(level, message, meta, base) };
}

function metaEntry(level: LogLevel, text: string, meta: LogMeta, base: Record<string, unknown>): LogEntry {
  const fields = meta instanceof Error ? ownFields(meta) : meta;
  const entry: LogEntry = { ...base, ...fields, level, message: text };
  const extra = (meta as { message?: unknown }).message;
  if (extra) entry.message = `${text} ${String(extra)}`;
  const { stack, cause } = meta as { stack?: unknown; cause?: unknown };
  if (stack) entry.stack = stack;
  if (cause) entry.cause = cause;
  return entry;
}

/** An Error's own enumerable fields (message, stack and cause are not enumerable on a real Error). */
function ownFields(err: Error): Record<string, unknown> {
  const { message: _m, stack: _s, cause: _c, ...fields } = { ...err } as Record<string, unknown>;
  return fields;
}

/** The fields a console line shows as its JSON tail: everything but what the line already says. */
const CONSOLE_OWN = new Set(['level', 'message', 'timestamp', 'module', 'service', 'stack']);

/**
 * `<iso time> <level> [<module>] <message> <other fields as JSON>` and, for an error with a stack, the stack on
 * the lines below, indented. Short and readable in `pm2 logs`; CR and LF cannot start a line of their own.
 */
export function consoleLine(entry: LogEntry, timestamp: string): string {
  const meta: Record<string, unknown> = {};
  let any = false;
  for (const key of Object.keys(entry)) {
    if (CONSOLE_OWN.has(key)) continue;
    meta[key] = entry[key];
    any = true;
  }
  const metaText = any ? ' ' + safeJson(meta) : '';
  const where = entry.module ? ` [${String(entry.module)}]` : '';
  const trace = typeof entry.stack === 'string' ? `\n${indentContinuation(entry.stack)}` : '';
  const text = typeof entry.message === 'string' ? escapeForConsole(entry.message) : safeJson(entry.message);
  return `${timestamp} ${entry.level}${where} ${text}${metaText}${trace}`;
}

/** One JSON object per line for the log file: the time first, then the entry's fields. */
export function jsonLine(entry: LogEntry, timestamp: string): string {
  try {
    return JSON.stringify({ timestamp, ...entry }, bigintAsString);
  } catch {
    // a field JSON cannot write (a toJSON that throws): the line is still written, without the fields (and
    // without the error's text, which the redactor never saw)
    return JSON.stringify({
      timestamp,
      level: entry.level,
      message: typeof entry.message === 'string' ? entry.message : UNSERIALIZABLE,
      unserializable: UNSERIALIZABLE,
    });
  }
}

const UNSERIALIZABLE = 'a field could not be written as JSON';

/** JSON of the console line's fields; never throws (as jsonLine). */
function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, bigintAsString) ?? 'undefined';
  } catch {
    return JSON.stringify({ unserializable: UNSERIALIZABLE });
  }
}

function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** Control characters (tab aside), DEL, NEL and the Unicode line and paragraph separators. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f\u0085\u2028\u2029]/g;

/**
 * CR and LF in console text are written as `\r` / `\n`, and every other control character (an ANSI escape that
 * moves the cursor or clears a line, say) as `\u00XX`: text from outside (a pause reason, a chat message) must not
 * be able to start, or redraw, what reads as a log line of its own (log forging) in `pm2 logs`.
 */
function escapeForConsole(text: string): string {
  return text
    .replace(/\r/g, '\\r')
    .replace(/\n/g, '\\n')
    .replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A stack trace stays multi-line (readable), but every line of it is indented and control characters are
 * escaped, so no line of it can pass for a log line (those start with a timestamp in column 0), whatever the
 * error's name and message hold.
 */
function indentContinuation(stack: string): string {
  return stack
    .split('\n')
    .map(escapeForConsole)
    .map((line) => (/^\s/.test(line) ? line : `    ${line}`))
    .join('\n');
}
