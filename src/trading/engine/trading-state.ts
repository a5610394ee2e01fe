/**
 * The trading daemon's hot state: everything recovery needs, kept small so each durable commit stays cheap.
 * It lives in `<dataDir>/trading-state.json` (a Store). Closed orders with their fills move to the
 * `trading-history` journal once they are final and no longer recent; their fills are folded into
 * `checkpoint`, so positions stay exactly "checkpoint + fills of the orders still here".
 */
import { CorruptStateError } from '../../shared/errors';
import type { TradingEventType } from '../../shared/ipc/protocol';
import type { LocalOrder } from './order-state';
import type { PositionBook } from './pnl';
import { initialRiskState, type RiskState } from './risk';
import { describeSchemaIssues, historyEntrySchema, tradingStateSchema } from './trading-state-schema';

export const STATE_STORE_NAME = 'trading-state';
export const HISTORY_JOURNAL_NAME = 'trading-history';
export const STATE_VERSION = 1;

export type PauseSource = 'operator' | 'risk' | 'operational' | 'persist';

export interface PauseState {
  reason: string;
  by: PauseSource;
  at: number;
}

export interface TradingState {
  /** Last clientOrderId sequence number handed out; never reused, even for an intent that failed to persist. */
  seq: number;
  /** Orders by clientOrderId: every non-final order plus the most recent final ones. */
  orders: Record<string, LocalOrder>;
  /** Positions folded from the fills of orders already moved to the history journal. */
  checkpoint: Record<string, PositionBook>;
  risk: RiskState;
  /** Entries paused (exits still run), and why. */
  pause: PauseState | null;
  /**
   * Events committed together with the order change they report and not yet in the event log (transactional
   * outbox): a crash between the commit and the publish loses no event, the next start publishes it.
   */
  outbox: PendingEvent[];
}

/** An event waiting in the state's outbox; `key` is unique and travels in the event's data as `eventKey`. */
export interface PendingEvent {
  key: string;
  type: TradingEventType;
  summary: string;
  data: Record<string, unknown>;
}

/** An entry of the history journal. */
export interface HistoryEntry {
  kind: 'order';
  archivedAt: number;
  order: LocalOrder;
  /**
   * The state's `seq` when this entry was archived: every clientOrderId handed out before then is at or below it,
   * so the last entry alone bounds the whole history (recovery reads one line, not the journal).
   */
  seq?: number;
}

export function defaultTradingState(): TradingState {
  return { seq: 0, orders: {}, checkpoint: {}, risk: initialRiskState(), pause: null, outbox: [] };
}

/**
 * Full check of a loaded state file against its schema (trading-state-schema.ts); a file that fails it is
 * quarantined by the Store and the previous generation is used.
 */
export function validateTradingState(data: unknown): TradingState {
  const parsed = tradingStateSchema.safeParse(data);
  if (!parsed.success) {
    throw new CorruptStateError(`trading state is invalid: ${describeSchemaIssues(parsed.error)}`, {
      store: STATE_STORE_NAME,
    });
  }
  return parsed.data as unknown as TradingState;
}

/** Full check of one history journal line; a line that fails it is skipped and logged by the Journal. */
export function validateHistoryEntry(data: unknown): HistoryEntry {
  const parsed = historyEntrySchema.safeParse(data);
  if (!parsed.success)
    throw new CorruptStateError(`history entry is invalid: ${describeSchemaIssues(parsed.error)}`);
  return parsed.data as unknown as HistoryEntry;
}

/** Sequence number of one of our clientOrderIds (`<botId>-<seq>`), or null for anything else. */
export function seqOf(clientOrderId: string | undefined, botId: string): number | null {
  if (!clientOrderId?.startsWith(`${botId}-`)) return null;
  const rest = clientOrderId.slice(botId.length + 1);
  return /^\d+$/.test(rest) ? Number(rest) : null;
}
