/**
 * The trading daemon's hot state: everything recovery needs, kept small so each durable commit stays cheap.
 * It lives in `<dataDir>/trading-state.json` (a Store). Closed orders with their fills move to the
 * `trading-history` journal once they are final and no longer recent; their fills are folded into
 * `checkpoint`, so positions stay exactly "checkpoint + fills of the orders still here".
 */
import { randomBytes } from 'node:crypto';
import { CorruptStateError } from '../../shared/errors';
import type { Migrations } from '../../shared/persistence/migrate';
import type { OrderStatus, TradingEventType } from '../../shared/ipc/protocol';
import type { LocalOrder } from './order-state';
import type { PositionBook } from './pnl';
import { initialRiskState, type RiskState } from './risk';

export const STATE_STORE_NAME = 'trading-state';
export const HISTORY_JOURNAL_NAME = 'trading-history';
export const STATE_VERSION = 2;

export type PauseSource = 'operator' | 'risk' | 'operational' | 'persist';

export interface PauseState {
  reason: string;
  by: PauseSource;
  at: number;
}

export interface TradingState {
  /**
   * Random id of this state's life (6 × [a-z0-9]), part of every clientOrderId (`<botId>-<installId>-<seq>`): a
   * data dir lost and started afresh gets a new one, so its ids can never collide with the old ones on the
   * exchange, even though its sequence starts again at 1.
   */
  installId: string;
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
  return {
    installId: newInstallId(),
    seq: 0,
    orders: {},
    checkpoint: {},
    risk: initialRiskState(),
    pause: null,
    outbox: [],
  };
}

export function newInstallId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(6)].map((b) => alphabet[b % alphabet.length]).join('');
}

/**
 * Key n migrates version n to n+1. 1 → 2: an install id (ids sent before it kept the `<botId>-<seq>` form, which
 * `seqOf` still reads, so their sequence still bounds the new ids).
 */
export const TRADING_STATE_MIGRATIONS: Migrations = {
  1: (old: Record<string, unknown>) => ({ ...old, installId: newInstallId() }),
};

const STATUSES: ReadonlySet<OrderStatus> = new Set<OrderStatus>([
  'intent',
  'unknown',
  'open',
  'partially_filled',
  'filled',
  'cancelled',
  'rejected',
  'expired',
]);

/** Structural check of a loaded state file; a file that fails it is quarantined by the Store. */
export function validateTradingState(data: unknown): TradingState {
  const fail = (what: string): never => {
    throw new CorruptStateError(`trading state is invalid: ${what}`, { store: STATE_STORE_NAME });
  };
  if (typeof data !== 'object' || data === null) fail('not an object');
  const d = data as Record<string, unknown>;
  if (typeof d.installId !== 'string' || !INSTALL_ID.test(d.installId)) fail('installId is not 6 × [a-z0-9]');
  if (!Number.isInteger(d.seq) || (d.seq as number) < 0) fail('seq is not a non-negative integer');
  if (typeof d.orders !== 'object' || d.orders === null) fail('orders is not an object');
  for (const [id, o] of Object.entries(d.orders as Record<string, unknown>)) {
    const order = o as Partial<LocalOrder> | null;
    if (!order || order.clientOrderId !== id) fail(`order ${id} has no matching clientOrderId`);
    if (!STATUSES.has(order!.status as OrderStatus)) fail(`order ${id} has an unknown status`);
    if (
      typeof order!.symbol !== 'string' ||
      typeof order!.amount !== 'number' ||
      !Array.isArray(order!.fills)
    ) {
      fail(`order ${id} is incomplete`);
    }
  }
  if (typeof d.checkpoint !== 'object' || d.checkpoint === null) fail('checkpoint is not an object');
  if (typeof d.risk !== 'object' || d.risk === null) fail('risk is not an object');
  if (d.pause !== null && typeof d.pause !== 'object') fail('pause is not an object or null');
  // absent in files written before the outbox existed
  if (d.outbox !== undefined && !Array.isArray(d.outbox)) fail('outbox is not an array');
  return {
    ...defaultTradingState(),
    ...d,
    risk: { ...initialRiskState(), ...(d.risk as RiskState) },
  } as TradingState;
}

const INSTALL_ID = /^[a-z0-9]{6}$/;

/** The clientOrderId of one of our orders. */
export function clientOrderIdFor(botId: string, installId: string, seq: number): string {
  return `${botId}-${installId}-${seq}`;
}

/**
 * What one of our clientOrderIds says: `<botId>-<installId>-<seq>`, or `<botId>-<seq>` as sent before install
 * ids existed (installId null). Null for an id that is not ours (another bot id, or not of these forms).
 */
export function parseClientOrderId(
  clientOrderId: string | undefined,
  botId: string,
): { installId: string | null; seq: number } | null {
  if (!clientOrderId?.startsWith(`${botId}-`)) return null;
  const match = /^(?:([a-z0-9]{6})-)?(\d{1,15})$/.exec(clientOrderId.slice(botId.length + 1));
  return match ? { installId: match[1] ?? null, seq: Number(match[2]) } : null;
}

/**
 * Sequence number of a clientOrderId of THIS install (or of the legacy form, which this state's sequence also
 * bounds), or null: an id of another install (a lost data dir) is ours but cannot collide with our new ids.
 */
export function seqOf(clientOrderId: string | undefined, botId: string, installId?: string): number | null {
  const parsed = parseClientOrderId(clientOrderId, botId);
  if (!parsed) return null;
  if (parsed.installId !== null && installId !== undefined && parsed.installId !== installId) return null;
  return parsed.seq;
}
