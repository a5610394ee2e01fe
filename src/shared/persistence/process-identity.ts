/**
 * Who is a process: a pid alone is not enough because pids are reused (after a reboot, in a new container, or
 * simply after wrap-around), so a lock records the holder's start time too, read from /proc on Linux.
 */
import { readFileSync } from 'node:fs';

/**
 * Start time of `pid` in clock ticks since boot (/proc/<pid>/stat field 22), or undefined where /proc is not
 * available (macOS, Windows) or the process does not exist.
 */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  return parseStartTime(stat);
}

/** Field 22 (starttime) of a /proc/<pid>/stat line. */
export function parseStartTime(stat: string): string | undefined {
  // Field 2 (comm) is in parentheses and may contain spaces or ')', so count fields after the LAST ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field 22 is rest[19].
  const start = rest[19];
  return start && /^\d+$/.test(start) ? start : undefined;
}

/** True when a process with this pid exists (EPERM means it exists but belongs to another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface ProcessIdentity {
  pid: number;
  /** Start time from /proc (clock ticks since boot) when known. */
  startedAt?: string;
}

export function currentProcessIdentity(): ProcessIdentity {
  return { pid: process.pid, startedAt: processStartTime(process.pid) };
}

/**
 * True when the process that wrote `id` is still running: its pid is alive AND, where start times are known on
 * both sides, it is the same process (not a newer one that reused the pid).
 */
export function isSameProcessAlive(id: ProcessIdentity): boolean {
  if (!Number.isInteger(id.pid) || id.pid <= 0) return false;
  if (!isProcessAlive(id.pid)) return false;
  if (id.startedAt === undefined) return true;
  const now = processStartTime(id.pid);
  return now === undefined || now === id.startedAt;
}
