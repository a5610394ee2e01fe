/**
 * Where the telegram service's alerts go right now, and the Telegram-side problem in progress if any — kept by the
 * telegram service in `<dataDir>/telegram.delivery.json` (rewritten on every change, which is rare) so that
 * `byninja status` can show it; /status reads the live value. The service never exits for such a problem: it
 * keeps supervising, writes alerts to its log and retries the Bot API with backoff.
 */
import path from 'node:path';
import { writeJsonFileSync } from '../shared/lifecycle/durable-json-sync';
import { readJsonFileSync } from '../shared/persistence/json-file';

export type TelegramProblemKind =
  /** 401: the token is invalid or revoked. */
  | 'unauthorized'
  /** 409: another process polls with this token (commands do not reach us; sending still works). */
  | 'conflict'
  /** Network errors or 5xx: alerts wait in the outbox. */
  | 'unreachable'
  /** 403, or a 400 that refuses the whole chat ("chat not found", "have no rights to send a message"...). */
  | 'chat-refused';

export interface TelegramDelivery {
  pid: number;
  /** `telegram`: alerts are sent to the chat; `log`: alerts are written to the service's log only. */
  alerts: 'telegram' | 'log';
  /** Why alerts go to the log by configuration (no token / no chat id), when they do. */
  logOnlyReason?: 'no-token' | 'no-chat-id';
  problem?: { kind: TelegramProblemKind; since: number; detail: string };
  /**
   * Groups Telegram upgraded to a supergroup (new id) that ByNinja follows, with the settings that still name the
   * old id (TELEGRAM_CHAT_ID, TELEGRAM_ALLOWED_CHAT_IDS) — the operator should change them.
   */
  movedChats?: MovedChat[];
}

/** A group Telegram moved (upgraded to a supergroup) that ByNinja follows. */
export interface MovedChat {
  /** The old (basic group) id. */
  from: string;
  /** The supergroup's id. */
  to: string;
  /** Settings that still name `from`: TELEGRAM_CHAT_ID, TELEGRAM_ALLOWED_CHAT_IDS; empty when none does. */
  settings: string[];
}

export function deliveryPath(dataDir: string): string {
  return path.join(dataDir, 'telegram.delivery.json');
}

export function writeDelivery(dataDir: string, delivery: TelegramDelivery): void {
  writeJsonFileSync(deliveryPath(dataDir), delivery);
}

const KINDS: ReadonlySet<string> = new Set(['unauthorized', 'conflict', 'unreachable', 'chat-refused']);

const CHAT_ID = /^-?\d+$/;

function readMovedChats(raw: unknown): MovedChat[] {
  if (!Array.isArray(raw)) return [];
  const out: MovedChat[] = [];
  for (const m of raw.slice(0, 20) as unknown[]) {
    const v = m as { from?: unknown; to?: unknown; settings?: unknown } | null;
    if (!v || typeof v.from !== 'string' || typeof v.to !== 'string') continue;
    if (!CHAT_ID.test(v.from) || !CHAT_ID.test(v.to) || !Array.isArray(v.settings)) continue;
    const settings = (v.settings as unknown[]).filter(
      (s): s is string => s === 'TELEGRAM_CHAT_ID' || s === 'TELEGRAM_ALLOWED_CHAT_IDS',
    );
    out.push({ from: v.from, to: v.to, settings });
  }
  return out;
}

/** The record of the telegram process `pid` (a record of an earlier run says nothing about this one). */
export function readDelivery(dataDir: string, pid: number): TelegramDelivery | undefined {
  const read = readJsonFileSync(deliveryPath(dataDir), { parse: (value) => value, maxBytes: 16 * 1024 });
  if (read.kind !== 'valid') return undefined;
  const d = read.value as Partial<TelegramDelivery> | null;
  if (!d || typeof d !== 'object' || d.pid !== pid) return undefined;
  if (d.alerts !== 'telegram' && d.alerts !== 'log') return undefined;
  const out: TelegramDelivery = { pid, alerts: d.alerts };
  if (d.logOnlyReason === 'no-token' || d.logOnlyReason === 'no-chat-id') out.logOnlyReason = d.logOnlyReason;
  const p = d.problem;
  if (
    p &&
    typeof p === 'object' &&
    KINDS.has(p.kind) &&
    typeof p.since === 'number' &&
    typeof p.detail === 'string'
  ) {
    out.problem = { kind: p.kind, since: p.since, detail: p.detail.slice(0, 500) };
  }
  const moved = readMovedChats(d.movedChats);
  if (moved.length) out.movedChats = moved;
  return out;
}
