/**
 * The last lines of a service's logs — PM2's out and err files (the service's JSON log when PM2's are missing) — for /logs and
 * `byninja logs`. Files are read backwards in chunks, so a 10 MB log costs a few reads. Every line goes through
 * the redactor: secrets never leave the machine in a chat message.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Redactor } from '../shared/logging/redact';
import type { Pm2ProcessView } from './pm2-client';

/** Upper bound of lines per source (a Telegram chat or a terminal has no use for more). */
export const MAX_LOG_LINES = 500;
export const DEFAULT_LOG_LINES = 30;

export type LogSourceKind = 'out' | 'err' | 'json';

export interface LogSource {
  kind: LogSourceKind;
  file: string;
  /** Oldest first. */
  lines: string[];
  missing: boolean;
}

export interface LogTail {
  service: string;
  lines: number;
  sources: LogSource[];
}

export interface LogTailOptions {
  service: string;
  /** Wanted lines per source; clamped to 1…MAX_LOG_LINES. */
  lines: number;
  logDir: string;
  /** PM2's view of the app: its out/err paths win over the ecosystem defaults `<logDir>/<service>.{out,err}.log`. */
  pm2?: Pm2ProcessView;
  redactor: Redactor;
}

const CHUNK = 64 * 1024;

/** Last `n` lines of a file (without the trailing empty line); reads from the end. */
export async function readLastLines(file: string, n: number): Promise<string[]> {
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    let position = size;
    let text = '';
    // Stop once n+1 newlines are seen: the first (partial) line is dropped below.
    while (position > 0 && countNewlines(text) <= n) {
      const length = Math.min(CHUNK, position);
      position -= length;
      const buf = Buffer.alloc(length);
      await handle.read(buf, 0, length, position);
      text = buf.toString('utf8') + text;
    }
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return lines.slice(-n);
  } finally {
    await handle.close();
  }
}

function countNewlines(text: string): number {
  let count = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) count++;
  return count;
}

/** A JSON log line made readable: `time level [module] message {rest}`; other lines unchanged. */
export function readableJsonLine(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const {
      timestamp,
      level,
      message,
      module: mod,
      service: _service,
      ...rest
    } = JSON.parse(line) as Record<string, unknown>;
    const meta = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
    return `${String(timestamp ?? '')} ${String(level ?? '')}${mod ? ` [${String(mod)}]` : ''} ${String(message ?? '')}${meta}`.trim();
  } catch {
    return line;
  }
}

export function clampLines(n: number): number {
  if (!Number.isFinite(n)) return DEFAULT_LOG_LINES;
  return Math.min(MAX_LOG_LINES, Math.max(1, Math.floor(n)));
}

/**
 * PM2's out and err files: what `pm2 logs` shows. The JSON log holds the same lines (the service writes each line
 * to both), so it is read only when PM2's out file is missing (a service run outside PM2) — never both, which
 * printed every line twice.
 */
export async function tailServiceLogs(opts: LogTailOptions): Promise<LogTail> {
  const lines = clampLines(opts.lines);
  const files: Array<[LogSourceKind, string]> = [
    ['out', opts.pm2?.outLogPath ?? path.join(opts.logDir, `${opts.service}.out.log`)],
    ['err', opts.pm2?.errLogPath ?? path.join(opts.logDir, `${opts.service}.err.log`)],
  ];
  // PM2 may send out and err to one file: show it once.
  const unique = files.filter(([, file], i) => files.findIndex(([, f]) => f === file) === i);
  const read = async ([kind, file]: [LogSourceKind, string]): Promise<LogSource> => {
    try {
      const raw = await readLastLines(file, lines);
      const shown = kind === 'json' ? raw.map(readableJsonLine) : raw;
      return { kind, file, lines: shown.map((l) => opts.redactor.redactString(l)), missing: false };
    } catch {
      return { kind, file, lines: [], missing: true };
    }
  };
  const sources = await Promise.all(unique.map(read));
  if (sources[0]!.missing) sources.push(await read(['json', path.join(opts.logDir, `${opts.service}.log`)]));
  return { service: opts.service, lines, sources };
}
