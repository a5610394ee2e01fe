/**
 * The supervisor's persisted state (`<dataDir>/telegram-supervisor.json`): what PM2 looked like when telegram
 * last saw it (to find restarts missed while the bus or telegram was away), outages in progress, crash times
 * for the crash-loop policy, and the cursor of the trading event stream (last event durably in the outbox).
 */
import * as z from 'zod';
import type { WatchState } from './alert-policy';
import { emptyCrashLoopState, type CrashLoopState } from './crash-loop-policy';

export interface ProcessSnapshot {
  restarts: number;
  status: string;
  /** Start of the current/last run (PM2 pm_uptime), epoch ms. */
  startedAt?: number;
  exitCode?: number;
  seenAt: number;
}

export interface SupervisorState {
  services: Record<string, ProcessSnapshot>;
  watch: WatchState;
  crashLoop: CrashLoopState;
  /** Highest trading event seq whose notification is durably in the outbox (or that needed none). */
  eventCursor: number;
  /** UTC day (YYYY-MM-DD) of the last daily summary sent: one per day, across restarts. */
  dailySummaryDay?: string;
}

export const SUPERVISOR_STORE_NAME = 'telegram-supervisor';
/**
 * Stepped for every value added to one of the file's closed lists (persisted-closed-lists.test.ts): an older
 * telegram refuses a newer version whole (exit 78, the file untouched) — read as corrupt it started empty, its event
 * cursor at 0, and sent the kept trading events again.
 */
export const SUPERVISOR_STORE_VERSION = 1;

export function emptySupervisorState(): SupervisorState {
  return { services: {}, watch: {}, crashLoop: emptyCrashLoopState(), eventCursor: 0 };
}

const epochMs = z.number().int().min(0);

/**
 * The full schema of `telegram-supervisor.json`; a file that fails it is quarantined by the Store and the
 * previous generation is used. Sections missing in older files get their empty value.
 */
export const supervisorStateSchema = z.looseObject({
  services: z
    .record(
      z.string(),
      z.looseObject({
        restarts: z.number().int().min(0),
        status: z.string(),
        startedAt: epochMs.optional(),
        exitCode: z.number().int().optional(),
        seenAt: epochMs,
      }),
    )
    .default({}),
  watch: z
    .record(
      z.string(),
      z.looseObject({
        operatorAction: z.boolean().optional(),
        stoppedByOperator: z.boolean().optional(),
        down: z
          .looseObject({
            cause: z.enum(['crash', 'hang', 'overlimit', 'restart', 'operator', 'start']),
            since: epochMs,
            exitCode: z.number().int().optional(),
          })
          .optional(),
        overlimitAt: epochMs.optional(),
      }),
    )
    .default({}),
  crashLoop: z
    .looseObject({
      crashes: z.record(z.string(), z.array(epochMs)).default({}),
      inLoop: z.record(z.string(), z.boolean()).default({}),
    })
    .default(() => ({ crashes: {}, inLoop: {} })),
  eventCursor: z.number().int().min(0).default(0),
  dailySummaryDay: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .optional(),
});

export function validateSupervisorState(data: unknown): SupervisorState {
  const parsed = supervisorStateSchema.safeParse(data);
  if (!parsed.success)
    throw new Error(`supervisor state is invalid: ${z.prettifyError(parsed.error).replace(/\n/g, ' ')}`);
  return parsed.data as SupervisorState;
}

/** The part of Store<SupervisorState> the supervisor uses. */
export interface SupervisorStore {
  readonly data: SupervisorState;
  change(mutate: (d: SupervisorState) => void): void;
  commit(mutate?: (d: SupervisorState) => void): Promise<void>;
}
