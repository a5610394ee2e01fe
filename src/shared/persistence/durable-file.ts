/**
 * Crash-safe whole-file replacement: the file on disk is always either the complete old content or the complete
 * new content, even after power loss. Steps: write a uniquely named temp file in the same directory → fsync it →
 * rename it over the target (atomic on POSIX) → fsync the directory so the rename itself is durable.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp, readdirSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { PersistenceError } from '../errors';
import { isProcessAlive } from './process-identity';

/** The few file-system calls the durable writer makes; injectable so tests can simulate ENOSPC/EACCES. */
export interface DurableFs {
  open: typeof fsp.open;
  rename: typeof fsp.rename;
  unlink: typeof fsp.unlink;
}

export interface WriteDurableOptions {
  /** File-system facade (default: node:fs/promises). */
  fs?: DurableFs;
  /** Mode of a newly created file (default 0o600: state is private to the bot's user). */
  mode?: number;
}

const realFs: DurableFs = { open: fsp.open, rename: fsp.rename, unlink: fsp.unlink };

const FS_ERROR_TEXT: Record<string, string> = {
  ENOSPC: 'disk full',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
};

/** Translates a file-system error into a PersistenceError carrying the errno code and the path. */
export function toPersistenceError(err: unknown, filePath: string, op: string): PersistenceError {
  if (err instanceof PersistenceError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const what = (code && FS_ERROR_TEXT[code]) ?? 'file-system error';
  return new PersistenceError(
    `Could not ${op} ${filePath}: ${what}${code ? ` (${code})` : ''}`,
    { path: filePath, op, code },
    { cause: err, code },
  );
}

/** Temp names embed the writer's pid so a later start can tell abandoned temp files from live ones. */
export function tempPathFor(filePath: string): string {
  const dir = path.dirname(filePath);
  const base = path.basename(filePath);
  return path.join(dir, `.${base}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
}

/**
 * Removes temp files left by writers that died mid-write (their pid is no longer alive). Temp files of a live
 * process are left alone. Returns the removed paths. Synchronous: called when a store, journal or lock opens,
 * where a directory listing and (rarely) an unlink cost less than the thread-pool round trips of async calls.
 */
export function removeStaleTempFilesSync(filePath: string): string[] {
  const dir = path.dirname(filePath);
  const prefix = `.${path.basename(filePath)}.tmp-`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (pid === process.pid || (Number.isInteger(pid) && pid > 0 && isProcessAlive(pid))) continue;
    try {
      unlinkSync(path.join(dir, name));
      removed.push(name);
    } catch {
      // Another starter removed it first, or it is not ours to remove: harmless.
    }
  }
  return removed;
}

/** fsync of a directory makes a rename/create/unlink in it durable. */
export async function fsyncDirectory(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Some platforms/file systems cannot fsync a directory; the rename is then as durable as it can be.
    if (code === 'EINVAL' || code === 'ENOTSUP' || code === 'EISDIR') return;
    throw toPersistenceError(err, dir, 'fsync directory');
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * Replaces `filePath` with `data` durably. On failure it throws a PersistenceError (`.code` = errno), removes
 * its temp file and leaves the previous file untouched.
 */
export async function writeFileDurable(
  filePath: string,
  data: string | Uint8Array,
  options: WriteDurableOptions = {},
): Promise<void> {
  const fs = options.fs ?? realFs;
  const tmp = tempPathFor(filePath);
  let created = false;
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fs.open(tmp, 'wx', options.mode ?? 0o600);
    created = true;
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(tmp, filePath);
    created = false;
  } catch (err) {
    await handle?.close().catch(() => undefined);
    if (created) await fs.unlink(tmp).catch(() => undefined);
    throw toPersistenceError(err, filePath, 'write');
  }
  await fsyncDirectory(path.dirname(filePath));
}
