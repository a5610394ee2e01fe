/**
 * The exit breadcrumb `<dataDir>/<service>.last-exit.json` tells every boot how the previous run ended.
 * At boot the service writes `running`; a clean shutdown replaces it with `clean`, the crash handler with
 * `crash`, the watchdog with `stall`. A `running` found at the next boot means nobody got to write anything:
 * the process was killed (SIGKILL, OOM killer, power loss) → LastExit `killed`.
 *
 * Writes are synchronous and durable (temp → fsync → rename → fsync dir): they happen on paths where the event
 * loop may be gone (crash handler, watchdog thread) and must survive the power loss they may be reporting.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as z from 'zod';
import { readJsonFileSync } from '../persistence/json-file';
import { writeJsonFileDurableLater, writeJsonFileSync } from './durable-json-sync';

export type LastExitKind = 'clean' | 'crash' | 'stall' | 'killed' | 'first-start' | 'unknown';

/** How the previous run of a service ended, as its next start (and the supervisor) report it. */
export interface LastExit {
  kind: LastExitKind;
  /**
   * When the previous run ended, epoch ms. A SIGKILL leaves no time of death: for `killed` it is when the death was
   * noticed (the next run's start, PM2's restart), within PM2's restart delay of it; absent when unknown.
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
}

export function breadcrumbPath(dataDir: string, service: string): string {
  return path.join(dataDir, `${service}.last-exit.json`);
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
});

/**
 * How the previous run ended, from what it left behind. Pure interpretation of the breadcrumb.
 * A killed run left no time of death: `deathNoticedAt` — when the next run started, or when PM2 restarted it — is
 * the closest known bound (PM2 restarts within its backoff delay), so "… ago" counts from about the death, never
 * from the dead run's start. Without it a killed run has no `at`.
 */
export function interpretBreadcrumb(
  crumb: Breadcrumb | 'missing' | 'unreadable',
  deathNoticedAt?: number,
): LastExit {
  if (crumb === 'missing') return { kind: 'first-start' };
  if (crumb === 'unreadable') return { kind: 'unknown', reason: 'the exit breadcrumb is unreadable' };
  switch (crumb.kind) {
    case 'running':
      return {
        kind: 'killed',
        ...(deathNoticedAt !== undefined ? { at: deathNoticedAt } : {}),
        reason:
          `pid ${crumb.pid} (started ${new Date(crumb.startedAt).toISOString()}) left no exit marker: ` +
          'killed by SIGKILL, the OOM killer or a power loss',
      };
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

/** Reads how the previous run ended, at the start of the next run (`startedAt`: when a kill was noticed). */
export function readLastExit(dataDir: string, service: string, startedAt?: number): LastExit {
  return interpretBreadcrumb(readBreadcrumb(breadcrumbPath(dataDir, service)), startedAt);
}

/** One line for the boot log: "last exit: crash — TypeError: x (2026-…)". */
export function describeLastExit(lastExit: LastExit): string {
  // a killed run has no time of death of its own (its `at` is when the death was noticed: now)
  const when = lastExit.at && lastExit.kind !== 'killed' ? ` at ${new Date(lastExit.at).toISOString()}` : '';
  return `last exit: ${lastExit.kind}${when}${lastExit.reason ? ` — ${lastExit.reason}` : ''}`;
}
