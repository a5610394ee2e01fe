/**
 * The supervisor's persisted state (`<dataDir>/telegram-supervisor.json`): what PM2 looked like when telegram
 * last saw it (to find restarts missed while the bus or telegram was away), outages in progress, crash times
 * for the crash-loop policy, and the cursor of the trading event stream (last event durably in the outbox).
 */
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
}

export const SUPERVISOR_STORE_NAME = 'telegram-supervisor';
export const SUPERVISOR_STORE_VERSION = 1;

export function emptySupervisorState(): SupervisorState {
  return { services: {}, watch: {}, crashLoop: emptyCrashLoopState(), eventCursor: 0 };
}

export function validateSupervisorState(data: unknown): SupervisorState {
  const d = data as Partial<SupervisorState> | null;
  if (!d || typeof d !== 'object') throw new Error('supervisor state must be an object');
  if (d.eventCursor !== undefined && (typeof d.eventCursor !== 'number' || d.eventCursor < 0)) {
    throw new Error('eventCursor must be a non-negative number');
  }
  const base = emptySupervisorState();
  return {
    services: d.services && typeof d.services === 'object' ? d.services : base.services,
    watch: d.watch && typeof d.watch === 'object' ? d.watch : base.watch,
    crashLoop:
      d.crashLoop && typeof d.crashLoop === 'object'
        ? { crashes: d.crashLoop.crashes ?? {}, inLoop: d.crashLoop.inLoop ?? {} }
        : base.crashLoop,
    eventCursor: d.eventCursor ?? 0,
  };
}

/** The part of Store<SupervisorState> the supervisor uses. */
export interface SupervisorStore {
  readonly data: SupervisorState;
  change(mutate: (d: SupervisorState) => void): void;
  commit(mutate?: (d: SupervisorState) => void): Promise<void>;
}
