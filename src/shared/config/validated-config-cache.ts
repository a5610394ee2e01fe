/**
 * The configuration a daemon bundle validated at its last start, kept beside its V8 code cache
 * (`dist/daemons/.cache/config-<scope>.json`), so a start whose configuration did not change takes the schema's
 * answer from there and never builds the schema (schema.ts: zod's construction of its ~150 fields in cold code was
 * ~3 ms of main-thread CPU of every start; its parse ~1 ms more).
 *
 * Safety: the cache is only an optimisation and never decides what runs.
 * - It answers only for the same input, to the same code: its key hashes the daemon bundle's fingerprint (a SHA-256
 *   of the bundle, written into it at build time: scripts/bundle.ts), node's version, the sections validated and the
 *   whole input the schema would parse (the config file and environment overlay merged, as the loader hands it to
 *   zod). The schema's parse is a pure function of those, so the kept answer is the one zod would give.
 * - Only a clean answer is kept: an input with any problem (the schema's or the loader's own) is validated, and
 *   reported, at every start.
 * - The file carries a SHA-256 of its content, as the code caches do (code-cache.ts readCacheFile, writeCacheFile): a
 *   torn or altered file is a miss, and the schema decides.
 * - Outside a daemon bundle (tsc's output: tests, scripts, the CLI) there is no fingerprint and no cache.
 * - No secret is in it: secrets never enter the configuration (loader.ts), and an answer holding anything a log line
 *   would mask (a secret pasted into a field — the bot token with the Bot API root —, credentials in a URL) is never
 *   written: such a configuration is validated at every start. Written 0600 anyway (chat and user ids), to a temp
 *   file renamed into place; any failure (read-only install, full disk) is ignored.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { readCacheFile, writeCacheFile } from '../lifecycle/code-cache';
import type { Redactor } from '../logging/redact';

/** Replaced at build time in each daemon bundle by the SHA-256 of the bundle (scripts/bundle.ts). */
declare const BYNINJA_BUNDLE_FINGERPRINT: string | undefined;

export interface ConfigCache {
  /** The folder of the cache files. */
  dir: string;
  /** Identifies the code that validated (the bundle): a kept answer counts only for the same one. */
  fingerprint: string;
}

/** The cache of the daemon bundle running this code, or undefined outside one. */
export function bundleConfigCache(): ConfigCache | undefined {
  if (typeof BYNINJA_BUNDLE_FINGERPRINT !== 'string') return undefined;
  return { dir: path.join(__dirname, '.cache'), fingerprint: BYNINJA_BUNDLE_FINGERPRINT };
}

/**
 * The key of one validation: the code, the node that ran it (zod's url() parses with node's URL, its patterns run on
 * node's RegExp), the sections it validated (`scope`) and its input.
 */
export function validationKey(cache: ConfigCache, scope: string, input: unknown): string {
  return createHash('sha256')
    .update(`${cache.fingerprint}\0${process.version}\0${scope}\0`)
    .update(JSON.stringify(input))
    .digest('hex');
}

/** What the schema answered for `key`, or undefined when the cache does not hold it (intact). */
export function readValidatedConfig(cache: ConfigCache, scope: string, key: string): unknown {
  const payload = readCacheFile(cacheFile(cache, scope));
  if (payload === undefined) return undefined;
  try {
    const kept = JSON.parse(payload.toString('utf8')) as { key?: unknown; data?: unknown };
    const data = kept.key === key ? kept.data : undefined;
    return typeof data === 'object' && data !== null && !Array.isArray(data) ? data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Keeps the schema's clean answer `data` for `key` (one file per scope: the last answer only), unless `redactor` (the
 * service's, with its secrets) would mask any of it.
 */
export function writeValidatedConfig(
  cache: ConfigCache,
  scope: string,
  key: string,
  data: unknown,
  redactor: Pick<Redactor, 'redactString'>,
): void {
  const text = JSON.stringify({ key, data });
  if (redactor.redactString(text) !== text) return;
  writeCacheFile(cacheFile(cache, scope), Buffer.from(text, 'utf8'), 0o600);
}

function cacheFile(cache: ConfigCache, scope: string): string {
  return path.join(cache.dir, `config-${scope}.json`);
}
