/**
 * A state file that does not parse or validate is renamed aside, never deleted or overwritten, so an operator
 * (or a later fix) can still recover what it holds.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fsyncDirectory, toPersistenceError } from './durable-file';

/**
 * Renames `filePath` to `<filePath>.corrupt-<ISO timestamp>` (with a counter if that name is taken) and makes the
 * rename durable. Returns the new path.
 */
export async function quarantineFile(filePath: string, now: Date): Promise<string> {
  const stamp = now.toISOString();
  for (let attempt = 0; attempt < 100; attempt++) {
    const target = `${filePath}.corrupt-${stamp}${attempt === 0 ? '' : `-${attempt}`}`;
    try {
      // link + unlink instead of rename: link fails when the target exists, so an older quarantined copy
      // with the same timestamp is never overwritten.
      await fsp.link(filePath, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      if (isLinkUnsupported(err)) {
        await renameNoReplace(filePath, target);
        await fsyncDirectory(path.dirname(filePath));
        return target;
      }
      throw toPersistenceError(err, filePath, 'quarantine');
    }
    try {
      await fsp.unlink(filePath);
    } catch (err) {
      throw toPersistenceError(err, filePath, 'quarantine');
    }
    await fsyncDirectory(path.dirname(filePath));
    return target;
  }
  throw toPersistenceError(new Error('too many quarantined copies'), filePath, 'quarantine');
}

function isLinkUnsupported(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS' || code === 'EPERM';
}

async function renameNoReplace(from: string, to: string): Promise<void> {
  try {
    await fsp.access(to);
    throw toPersistenceError(new Error(`${to} already exists`), from, 'quarantine');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  try {
    await fsp.rename(from, to);
  } catch (err) {
    throw toPersistenceError(err, from, 'quarantine');
  }
}
