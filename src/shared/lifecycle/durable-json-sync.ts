/**
 * The synchronous durable write of the lifecycle records (breadcrumb, configuration failure, delivery status).
 * Its own module, free of schemas: the watchdog worker thread bundles it, and every KiB that worker compiles at
 * boot competes with the service's own start on a small machine (with zod it was a 141 KiB bundle).
 */
import type * as Crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * A temp name beside `file` that no other writer picks (random, not a time). node:crypto is loaded here, at the first
 * write, not when the module is: the watchdog worker imports this module for a stall breadcrumb it may never write,
 * and crypto with its ~15 internal modules was ~6 ms of that thread's boot (~40 ms in all: under the daemons' V8
 * flags node compiles its own modules without their built-in code cache), on the core the service's start needs.
 */
function tempNameFor(file: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { randomBytes } = require('node:crypto') as typeof Crypto;
  return `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
}

/**
 * Synchronous durable replace of a small JSON file (temp → fsync → rename → fsync dir), 0600: for the lifecycle
 * records a process writes on its way out. Throws on I/O errors.
 */
export function writeJsonFileSync(file: string, value: unknown): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = tempNameFor(file);
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

/**
 * The same replace made visible now and durable a little later: temp → rename synchronously (a crash, a kill or the
 * watchdog from here on finds it, as with writeJsonFileSync), then the file's and the directory's fsyncs in the
 * thread pool while the caller goes on; the promise settles once both are done, rejecting when the file's fsync
 * fails (a directory that refuses fsync is ignored, as above). For a record written on the way in, where two fsyncs
 * (1–5 ms each on this kind of disk) need not block the main thread but must be done before the caller says it is
 * up. What a power loss inside that window can leave: the old file or the new one, as before, or on a file system
 * that does not order a rename after the data it replaces (ext4 does: auto_da_alloc), an empty one — which the
 * reader reports as unreadable, never as another record. Throws, like writeJsonFileSync, when the write or the
 * rename fails.
 */
export function writeJsonFileDurableLater(file: string, value: unknown): Promise<void> {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = tempNameFor(file);
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, JSON.stringify(value) + '\n');
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  // the descriptor written through is the renamed file's: its fsync needs no second open
  return new Promise<void>((resolve, reject) => {
    fs.fsync(fd, (syncErr) => {
      fs.close(fd, () => {
        if (syncErr) return reject(syncErr);
        fs.open(dir, 'r', (openErr, dirFd) => {
          if (openErr) return resolve();
          fs.fsync(dirFd, () => fs.close(dirFd, () => resolve()));
        });
      });
    });
  });
}
