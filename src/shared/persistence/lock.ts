/**
 * One writer per store. The lock file `<dir>/<name>.lock` names its holder (pid, process start time, host).
 * A second live instance is refused with LockHeldError (exit 75). A holder that died (SIGKILL, OOM, power loss)
 * or whose pid now belongs to another process is taken over at once: there is no stale-lock timeout to wait for.
 *
 * Every lock file is created complete (written to a temp file, then hard-linked into place, which fails if a lock
 * exists), so a reader never sees a half-written lock. Taking over a stale lock is serialized by takeover markers
 * `<name>.lock.takeover-<generation>-<level>` created exclusively: exactly one live process may replace a given
 * stale generation; if that process dies mid-takeover, the next one moves to the next level.
 *
 * Liveness is judged on this machine (pid + start time), so the data directory must be local: the host is
 * recorded for the operator, not compared, because a container restart may change the hostname.
 *
 * Lock files are never fsynced: a lock only means something while its holder lives, and after a power loss every
 * holder is dead, so any lock found then is stale whatever it holds (an empty or torn file parses as no holder and
 * is taken over like a dead one). Skipping the fsyncs takes ~15 of them off every restart (three locks).
 *
 * Acquiring uses synchronous file calls: taking over the lock a SIGKILLed holder left is ~20 small file operations
 * in a row (temp file, link, read, marker, rename, clean-up), and each async one is a thread-pool round trip, ~0.2 ms
 * of a restart's critical path where the call itself takes ~10–30 µs: two such locks before `ready` were ~10 ms of
 * every restart (docs/benchmarks.md). A start has nothing else to run meanwhile; only the wait for a live taker
 * (the clock's sleep) and `release` stay asynchronous.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Clock } from '../clock';
import { LockHeldError } from '../errors';
import { removeStaleTempFilesSync, tempPathFor, toPersistenceError } from './durable-file';
import { currentProcessIdentity, isSameProcessAlive } from './process-identity';

/** What a lock file holds. */
export interface LockRecord {
  pid: number;
  /** Process start time (clock ticks since boot, /proc/<pid>/stat field 22) when known: detects pid reuse. */
  startedAt?: string;
  host: string;
  acquiredAt: string;
  /** Random per acquisition: tells two generations of the lock apart. */
  nonce: string;
}

export interface StoreLockOptions {
  /** The caller's clock: the lock's `acquiredAt` and the takeover wait (and its polls) run on it. */
  clock: Clock;
  /** How long to wait while another live process is in the middle of taking over a stale lock (default 2000). */
  takeoverWaitMs?: number;
}

/** Most takeovers a single stale generation may see (each level means a taker died mid-takeover). */
const MAX_TAKEOVER_LEVELS = 64;

type TakeoverResult = 'won' | 'lost' | { busyBy: LockRecord };

export class StoreLock {
  readonly path: string;
  readonly record: LockRecord;
  /** The dead (or pid-reused) holder this acquisition replaced, for the caller to log. */
  readonly takenOverFrom?: Partial<LockRecord>;
  private releasing: Promise<void> | undefined;

  private constructor(lockPath: string, record: LockRecord, takenOverFrom?: Partial<LockRecord>) {
    this.path = lockPath;
    this.record = record;
    this.takenOverFrom = takenOverFrom;
  }

  static async acquire(dir: string, name: string, opts: StoreLockOptions): Promise<StoreLock> {
    const { clock } = opts;
    const lockPath = path.join(dir, `${name}.lock`);
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw toPersistenceError(err, dir, 'create directory');
    }
    removeStaleTempFilesSync(lockPath);
    const record: LockRecord = {
      ...currentProcessIdentity(),
      host: os.hostname(),
      acquiredAt: new Date(clock.now()).toISOString(),
      nonce: randomBytes(12).toString('hex'),
    };
    const text = JSON.stringify(record) + '\n';
    const waitUntil = clock.now() + (opts.takeoverWaitMs ?? 2000);

    for (;;) {
      if (createExclusive(lockPath, text, lockPath)) {
        removeTakeoverMarkers(lockPath);
        return new StoreLock(lockPath, record);
      }
      const raw = readRaw(lockPath);
      if (raw === undefined) continue; // released in between: try to create it again
      const holder = parseRecord(raw);
      if (holder && isSameProcessAlive(holder)) throw heldError(lockPath, holder);

      const result = takeOverStaleLock(lockPath, raw, text);
      if (result === 'won') {
        removeTakeoverMarkers(lockPath);
        return new StoreLock(lockPath, record, holder ?? {});
      }
      if (result !== 'lost') {
        if (clock.now() > waitUntil)
          throw heldError(lockPath, result.busyBy, 'is taking over the stale lock');
        await clock.sleep(10);
      }
    }
  }

  /** Removes the lock file if it is still ours. Idempotent. */
  release(): Promise<void> {
    this.releasing ??= this.removeIfOurs();
    return this.releasing;
  }

  private async removeIfOurs(): Promise<void> {
    const raw = await readRawAsync(this.path);
    if (raw === undefined || parseRecord(raw)?.nonce !== this.record.nonce) return;
    try {
      await fs.promises.unlink(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw toPersistenceError(err, this.path, 'release lock');
    }
  }
}

function heldError(lockPath: string, holder: LockRecord, doing = 'holds it'): LockHeldError {
  return new LockHeldError(
    `Another ByNinja instance is running: pid ${holder.pid} on ${holder.host ?? 'unknown host'} ${doing} ` +
      `(${lockPath}, since ${holder.acquiredAt ?? 'unknown'}). Stop it first; only one instance may own this state.`,
    { path: lockPath, pid: holder.pid, host: holder.host },
  );
}

/**
 * Replaces the stale lock whose content is `staleRaw`, unless another live process is already replacing it.
 * 'lost' means the lock changed meanwhile: the caller looks again. Exported for the race tests only.
 */
export function takeOverStaleLock(lockPath: string, staleRaw: string, ourText: string): TakeoverResult {
  const generation = createHash('sha256').update(staleRaw).digest('hex').slice(0, 24);
  const ourMarker = JSON.stringify({
    ...currentProcessIdentity(),
    host: os.hostname(),
    acquiredAt: '',
    nonce: '',
  });
  for (let level = 1; level <= MAX_TAKEOVER_LEVELS; level++) {
    const marker = `${lockPath}.takeover-${generation}-${level}`;
    if (!createExclusive(marker, ourMarker, lockPath)) {
      const markerRaw = readRaw(marker);
      if (markerRaw === undefined) return 'lost'; // markers are removed only after the lock was replaced
      const taker = parseRecord(markerRaw);
      if (taker && isSameProcessAlive(taker)) return { busyBy: taker };
      continue; // that taker died mid-takeover: the next level is free to try
    }
    // We hold this level and every lower level's taker is dead, so nobody else can replace this generation now.
    let won = false;
    try {
      const nowRaw = readRaw(lockPath);
      if (nowRaw !== staleRaw) return 'lost';
      replaceAtomically(lockPath, ourText);
      won = true;
      return 'won';
    } finally {
      if (!won) unlinkQuietly(marker);
    }
  }
  throw toPersistenceError(new Error('too many abandoned takeover attempts'), lockPath, 'take over lock');
}

/**
 * Creates `file` with `text` only if it does not exist; the file appears complete or not at all. Temp files are
 * named after the lock so removeStaleTempFilesSync finds those of a process killed here.
 */
function createExclusive(file: string, text: string, lockPath: string): boolean {
  const tmp = writeTemp(lockPath, text);
  try {
    fs.linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw toPersistenceError(err, file, 'create lock');
  } finally {
    unlinkQuietly(tmp);
  }
  return true;
}

function replaceAtomically(file: string, text: string): void {
  const tmp = writeTemp(file, text);
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    unlinkQuietly(tmp);
    throw toPersistenceError(err, file, 'take over lock');
  }
}

function writeTemp(lockPath: string, text: string): string {
  const tmp = tempPathFor(lockPath);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', 0o600);
    fs.writeFileSync(fd, text);
    fs.closeSync(fd);
    fd = undefined;
    return tmp;
  } catch (err) {
    if (fd !== undefined) closeQuietly(fd);
    unlinkQuietly(tmp);
    throw toPersistenceError(err, lockPath, 'create lock');
  }
}

function readRaw(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    return readFailure(err, file);
  }
}

async function readRawAsync(file: string): Promise<string | undefined> {
  try {
    return await fs.promises.readFile(file, 'utf8');
  } catch (err) {
    return readFailure(err, file);
  }
}

function readFailure(err: unknown, file: string): undefined {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  throw toPersistenceError(err, file, 'read lock');
}

function unlinkQuietly(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // already gone, or not ours to remove: nothing to undo
  }
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // the write failed first: that is the error reported
  }
}

function parseRecord(raw: string): LockRecord | undefined {
  try {
    const v = JSON.parse(raw) as Partial<LockRecord>;
    if (typeof v !== 'object' || v === null || !Number.isInteger(v.pid)) return undefined;
    return v as LockRecord;
  } catch {
    return undefined;
  }
}

function removeTakeoverMarkers(lockPath: string): void {
  const dir = path.dirname(lockPath);
  const prefix = `${path.basename(lockPath)}.takeover-`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (name.startsWith(prefix)) unlinkQuietly(path.join(dir, name));
  }
}
