/**
 * The exit breadcrumb `<dataDir>/<service>.last-exit.json` tells every boot how the previous run ended.
 * At boot the service writes `running`; a clean shutdown replaces it with `clean`, the crash handler with
 * `crash`, the watchdog with `stall`. A `running` found at the next boot means nobody got to write anything:
 * the process was killed (SIGKILL, OOM killer, power loss) → LastExit `killed`.
 *
 * A kill leaves no time of death, so a run leaves two clues beside the breadcrumb: the watchdog's worker touches
 * `<dataDir>/<service>.alive` (its mtime, one utimes call off the main thread) every ALIVE_EVERY_MS while the main
 * thread makes progress — the last time the run was known alive — and the `running` crumb carries the kernel's boot
 * id, so a run that ended with the server (power loss, reboot) is told as such: "the server restarted; down ≈ X".
 *
 * Writes are synchronous and durable (temp → fsync → rename → fsync dir): they happen on paths where the event
 * loop may be gone (crash handler, watchdog thread) and must survive the power loss they may be reporting.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as z from 'zod';
import { readJsonFileSync } from '../persistence/json-file';
import { formatSpan } from '../format-span';
import { writeJsonFileDurableLater, writeJsonFileSync } from './durable-json-sync';

/** How often a live run's `.alive` file is touched (the "last alive" time is at most this stale, plus the disk's). */
export const ALIVE_EVERY_MS = 2_000;

export type LastExitKind = 'clean' | 'crash' | 'stall' | 'killed' | 'first-start' | 'unknown';

/** How the previous run of a service ended, as its next start (and the supervisor) report it. */
export interface LastExit {
  kind: LastExitKind;
  /**
   * When the previous run ended, epoch ms. A SIGKILL leaves no time of death: for `killed` it is when the run was
   * last known alive (its `.alive` file, ≤ ALIVE_EVERY_MS before the death) or, without that, when the death was
   * noticed (the next run's start, PM2's restart); absent when unknown.
   */
  at?: number;
  /** Reason text: signal, error message, watchdog detail. */
  reason?: string;
}

export type BreadcrumbKind = 'running' | 'clean' | 'crash' | 'stall';

export interface Breadcrumb {
  kind: BreadcrumbKind;
  pid: number;
  /** When the run this breadcrumb belongs to started, epoch ms. */
  startedAt: number;
  /** When the breadcrumb was written, epoch ms. */
  at: number;
  /** Why the run ended (signal, error message, stall detail). */
  reason?: string;
  /** What the main thread was last known to be doing (watchdog). */
  activity?: string;
  /** The kernel's boot id when the run started (`running` crumbs; absent where the system has none). */
  bootId?: string;
}

/** What else tells when a killed run died: its last sign of life, and which boot of the server reads it now. */
export interface RunTraces {
  /** The mtime of the run's `.alive` file, epoch ms. */
  aliveAt?: number;
  /** The boot id of the server now. */
  bootId?: string;
}

export function breadcrumbPath(dataDir: string, service: string): string {
  return path.join(dataDir, `${service}.last-exit.json`);
}

/** The file whose mtime is the last time a run of the service was known alive. */
export function alivePath(dataDir: string, service: string): string {
  return path.join(dataDir, `${service}.alive`);
}

let bootIdRead: { id: string | undefined } | undefined;

/** This boot of the server (Linux: /proc/sys/kernel/random/boot_id, read once); undefined elsewhere. */
export function currentBootId(): string | undefined {
  if (!bootIdRead) {
    try {
      bootIdRead = { id: fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined };
    } catch {
      bootIdRead = { id: undefined };
    }
  }
  return bootIdRead.id;
}

/** The traces a service's last run left beside its breadcrumb, and the boot id now. */
export function readRunTraces(dataDir: string, service: string): RunTraces {
  let aliveAt: number | undefined;
  try {
    aliveAt = Math.floor(fs.statSync(alivePath(dataDir, service)).mtimeMs);
  } catch {
    aliveAt = undefined; // never touched (an older version, or a run shorter than one beat)
  }
  const bootId = currentBootId();
  return { ...(aliveAt !== undefined ? { aliveAt } : {}), ...(bootId ? { bootId } : {}) };
}

/** Synchronous durable replace of the breadcrumb. Throws on I/O errors (callers decide if that matters). */
export function writeBreadcrumbSync(file: string, crumb: Breadcrumb): void {
  writeJsonFileSync(file, crumb);
}

/**
 * The breadcrumb replaced now (synchronously: a crash or a kill from here on finds it) and made durable in the
 * thread pool; the promise settles once it is (writeJsonFileDurableLater). For the `running` crumb of a start, whose
 * two fsyncs need not hold up the start before `ready`. Throws on a failed write or rename.
 */
export function writeBreadcrumbDurableLater(file: string, crumb: Breadcrumb): Promise<void> {
  return writeJsonFileDurableLater(file, crumb);
}

export function readBreadcrumb(file: string): Breadcrumb | 'missing' | 'unreadable' {
  const read = readJsonFileSync(file, { parse: (value) => breadcrumbSchema.parse(value) as Breadcrumb });
  if (read.kind === 'missing') return 'missing';
  if (read.kind === 'unreadable') return 'unreadable';
  if (read.kind === 'valid') return read.value;
  // kept aside for a post-mortem (the boot overwrites the breadcrumb with `running` right after)
  try {
    fs.renameSync(file, `${file}.corrupt-${new Date().toISOString()}`);
  } catch {
    // best effort: an unreadable breadcrumb is reported as such either way
  }
  return 'unreadable';
}

/** The full schema of a breadcrumb file; one that fails it is set aside and reported as `unreadable`. */
const breadcrumbSchema = z.looseObject({
  kind: z.enum(['running', 'clean', 'crash', 'stall']),
  pid: z.number().int().min(0),
  startedAt: z.number().int().min(0),
  at: z.number().int().min(0),
  reason: z.string().optional(),
  activity: z.string().optional(),
  bootId: z.string().optional(),
});

/**
 * How the previous run ended, from what it left behind. Pure interpretation of the breadcrumb.
 * A killed run left no time of death. Its last sign of life (`traces.aliveAt`, no older than the run's start) is
 * within ALIVE_EVERY_MS before it, so "… ago" counts from about the death even when the whole server was down
 * meanwhile; without it `deathNoticedAt` — when the next run started, or when PM2 restarted it — is the closest known
 * bound (true for a PM2 restart right after a kill, not after a reboot). A boot id that differs from the crumb's
 * means the server restarted under the run (power loss, reboot): the reason says so, and for how long it was down.
 */
export function interpretBreadcrumb(
  crumb: Breadcrumb | 'missing' | 'unreadable',
  deathNoticedAt?: number,
  traces: RunTraces = {},
): LastExit {
  if (crumb === 'missing') return { kind: 'first-start' };
  if (crumb === 'unreadable') return { kind: 'unknown', reason: 'the exit breadcrumb is unreadable' };
  switch (crumb.kind) {
    case 'running': {
      const lastAlive = traces.aliveAt !== undefined ? Math.max(traces.aliveAt, crumb.startedAt) : undefined;
      const rebooted = !!crumb.bootId && !!traces.bootId && crumb.bootId !== traces.bootId;
      const at = lastAlive ?? (rebooted ? undefined : deathNoticedAt);
      const run = `pid ${crumb.pid} (started ${new Date(crumb.startedAt).toISOString()})`;
      const alive =
        lastAlive !== undefined
          ? `; last alive ${new Date(lastAlive).toISOString()}` +
            (deathNoticedAt !== undefined ? `, down ≈ ${formatSpan(deathNoticedAt - lastAlive)}` : '')
          : '';
      return {
        kind: 'killed',
        ...(at !== undefined ? { at } : {}),
        reason: rebooted
          ? `the server restarted (power loss or reboot) under ${run}${alive}`
          : `${run} left no exit marker: killed by SIGKILL, the OOM killer or a power loss${alive}`,
      };
    }
    case 'clean':
      return { kind: 'clean', at: crumb.at, reason: crumb.reason };
    case 'crash':
      return { kind: 'crash', at: crumb.at, reason: crumb.reason };
    case 'stall':
      return {
        kind: 'stall',
        at: crumb.at,
        reason: `${crumb.reason ?? 'event loop stalled'}${crumb.activity ? ` (last activity: ${crumb.activity})` : ''}`,
      };
    default:
      return {
        kind: 'unknown',
        reason: `unexpected breadcrumb kind ${JSON.stringify((crumb as Breadcrumb).kind)}`,
      };
  }
}

/**
 * Reads how the previous run ended, at the start of the next run (`startedAt`: when a kill was noticed); before this
 * run's watchdog touches the `.alive` file.
 */
export function readLastExit(dataDir: string, service: string, startedAt?: number): LastExit {
  return interpretBreadcrumb(
    readBreadcrumb(breadcrumbPath(dataDir, service)),
    startedAt,
    readRunTraces(dataDir, service),
  );
}

/** One line for the boot log: "last exit: crash — TypeError: x (2026-…)". */
export function describeLastExit(lastExit: LastExit): string {
  // a killed run has no time of death of its own (its `at` is its last sign of life, in the reason, or now)
  const when = lastExit.at && lastExit.kind !== 'killed' ? ` at ${new Date(lastExit.at).toISOString()}` : '';
  return `last exit: ${lastExit.kind}${when}${lastExit.reason ? ` — ${lastExit.reason}` : ''}`;
}
