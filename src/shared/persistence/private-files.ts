/**
 * Our data and log files are for the service's user only: orders, equity, chat ids and tokens must not be
 * readable by other local users. Directories 0700, files 0600; an existing directory or file we own is tightened
 * to that (never loosened). Synchronous: called at start, before anything is written.
 */
import fs from 'node:fs';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Creates `dir` (and missing parents) 0700 and tightens it to 0700 when it exists with wider bits. */
export function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  tighten(dir, PRIVATE_DIR_MODE);
}

/** Tightens an existing file to 0600; a missing one is fine (it is created 0600 by whoever writes it). */
export function ensurePrivateFile(file: string): void {
  try {
    tighten(file, PRIVATE_FILE_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Permission bits of `file` that let group or others in (0 when none), or null when it does not exist. */
export function exposedBits(file: string): number | null {
  try {
    return fs.statSync(file).mode & 0o077;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function tighten(target: string, mode: number): void {
  const current = fs.statSync(target).mode & 0o777;
  if ((current & ~mode) !== 0) fs.chmodSync(target, current & mode);
}
