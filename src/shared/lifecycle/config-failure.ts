/**
 * Why a service stopped with exit 78, kept for whoever looks next. PM2 keeps only the exit code (and shows such an
 * app as "waiting restart" forever: pm2 sets that status before its stop_exit_codes check), so just before it exits
 * the service writes `<dataDir>/<service>.config-error.json`: each problem with its field, value (masked when
 * secret) and fix — or the state file it cannot trust. The telegram supervisor reads it when PM2 reports the exit,
 * `byninja status` and /status read it while the service stays down, so all of them can say "fix <field>, then
 * `npm start`". The service removes it once it starts again with a valid configuration.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, CorruptStateError, errorMessage, NewerStateError, type ConfigProblem } from '../errors';
import { readJsonFileSync } from '../persistence/json-file';
import { writeJsonFileSync } from './durable-json-sync';

export interface ConfigFailure {
  pid: number;
  /** When the service gave up, epoch ms. */
  at: number;
  problems: ConfigProblem[];
}

/** A record bigger than this is not ours (or is damaged): ignored. */
const MAX_RECORD_BYTES = 64 * 1024;
const MAX_PROBLEMS = 50;

export function configFailurePath(dataDir: string, service: string): string {
  return path.join(dataDir, `${service}.config-error.json`);
}

/** The problems to record for an error that stops a service with exit 78. */
export function problemsOf(err: unknown): ConfigProblem[] {
  if (err instanceof ConfigError) return err.problems;
  if (err instanceof CorruptStateError) {
    const file = typeof err.context.path === 'string' ? err.context.path : 'a state file';
    // a newer build's file is not damaged: this build is too old for it (store.ts NewerStateError)
    const value =
      err instanceof NewerStateError ? `(schema version ${String(err.context.fileVersion)})` : '(unreadable)';
    return [{ field: file, value, message: errorMessage(err) }];
  }
  return [{ field: '(unknown)', value: '', message: errorMessage(err) }];
}

/** Durable write; throws on I/O errors (the caller still exits 78 and the console has the same text). */
export function writeConfigFailure(dataDir: string, service: string, failure: ConfigFailure): void {
  writeJsonFileSync(configFailurePath(dataDir, service), {
    ...failure,
    problems: failure.problems.slice(0, MAX_PROBLEMS),
  });
}

export function clearConfigFailure(dataDir: string, service: string): void {
  // unlink, not rmSync(force): every start calls this, nearly always with no record there, and rmSync's first call
  // loads node's rimraf module (~0.3 ms of the start against ~0.06, median of 6 fresh processes each)
  try {
    fs.unlinkSync(configFailurePath(dataDir, service));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** The record, when there is a valid one. `notBefore` (epoch ms) ignores a record older than the run it is about. */
export function readConfigFailure(
  dataDir: string,
  service: string,
  notBefore?: number,
): ConfigFailure | undefined {
  const read = readJsonFileSync(configFailurePath(dataDir, service), {
    parse: (value) => {
      const failure = configFailureOf(value);
      if (!failure) throw new Error('not a configuration failure record');
      return failure;
    },
    maxBytes: MAX_RECORD_BYTES,
  });
  if (read.kind !== 'valid' || (notBefore !== undefined && read.value.at < notBefore)) return undefined;
  return read.value;
}

function configFailureOf(raw: unknown): ConfigFailure | undefined {
  const r = raw as Partial<ConfigFailure> | null;
  if (!r || typeof r !== 'object' || Array.isArray(r)) return undefined;
  if (!Number.isInteger(r.pid) || typeof r.at !== 'number' || !Number.isFinite(r.at)) return undefined;
  if (!Array.isArray(r.problems) || r.problems.length > MAX_PROBLEMS) return undefined;
  const problems: ConfigProblem[] = [];
  for (const p of r.problems as unknown[]) {
    const q = p as Partial<ConfigProblem> | null;
    if (!q || typeof q.field !== 'string' || typeof q.value !== 'string' || typeof q.message !== 'string')
      return undefined;
    problems.push({ field: q.field, value: q.value, message: q.message });
  }
  return { pid: r.pid!, at: r.at, problems };
}

/** "trading.symbols (env X)" → the field name an operator edits, without where it came from. */
export function fieldsToFix(failure: ConfigFailure): string[] {
  return [...new Set(failure.problems.map((p) => p.field.replace(/\s*\(.*\)$/, '')))];
}
