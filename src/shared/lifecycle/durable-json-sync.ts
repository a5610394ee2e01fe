/**
 * The synchronous durable write of the lifecycle records (breadcrumb, configuration failure, delivery status).
 * Its own module, free of schemas: the watchdog worker thread bundles it, and every KiB that worker compiles at
 * boot competes with the service's own start on a small machine (with zod it was a 141 KiB bundle).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Synchronous durable replace of a small JSON file (temp → fsync → rename → fsync dir), 0600: for the lifecycle
 * records a process writes on its way out. Throws on I/O errors.
 */
export function writeJsonFileSync(file: string, value: unknown): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  // a name no other writer picks, not a time
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    try {
      fs.writeSync(fd, JSON.stringify(value) + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    // a full disk must not leave temp files behind on every attempt
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  try {
    const dirFd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dirFd);
    } finally {
      fs.closeSync(dirFd);
    }
  } catch {
    // Some file systems refuse fsync on a directory; the rename itself is still atomic.
  }
}
