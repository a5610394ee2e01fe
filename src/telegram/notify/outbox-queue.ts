/**
 * The outbox's pure rules over its persisted state: admission (dedup by trading event seq, coalescing of
 * repeats, the size bound) and the send order (priority, then age). No I/O, no clock: `now` comes in.
 */
import { formatSpan } from '../../shared/format-span';
import type { ChatMove } from './chat-moves';
import type { LogOnlyRecord } from './log-digest';
import { PRIORITY_RANK, type Notification, type Priority } from './notification';

export interface OutboxEntry {
  id: number;
  key: string;
  priority: Priority;
  /** Text of the latest occurrence (HTML). */
  text: string;
  silent: boolean;
  chatId: string;
  /** First occurrence (epoch ms); the coalescing window is measured from it. */
  firstAt: number;
  /** Latest occurrence. */
  lastAt: number;
  /** Occurrences merged into this entry (1 = not coalesced). */
  count: number;
  eventSeq?: number;
  /** Failed send attempts so far. */
  attempts: number;
  /** A digest of what went to the log only while the chat refused (log-digest.ts): its text is this, rendered. */
  digest?: LogOnlyRecord;
}

export interface OutboxState {
  nextId: number;
  entries: OutboxEntry[];
  /** Notifications dropped because the outbox was full, not yet reported to the operator. */
  dropped: number;
  /** Recently admitted trading event seqs (bounded), for dedup of replays. */
  seenEventSeqs: number[];
  /** Chats Telegram moved (a group upgraded to a supergroup), followed until the config names the new id. */
  chatMoves: ChatMove[];
  /** Per chat, the alerts that went to the log only while Telegram refused it, owed to it as a digest (log-digest.ts). */
  loggedOnly: LogOnlyRecord[];
}

export interface QueueSettings {
  maxSize: number;
  coalesceWindowMs: number;
  /** Seqs remembered for dedup (config `outbox.rememberedEventSeqs`; default 5,000). */
  rememberedEventSeqs?: number;
}

/** Seqs remembered for dedup by default; replays come from trading's retention, so a few thousand is plenty. */
export const SEEN_SEQ_LIMIT = 5_000;
/** Telegram's hard limit is 4096 characters per message. */
export const MAX_MESSAGE_CHARS = 4_000;

export function emptyOutboxState(): OutboxState {
  return { nextId: 1, entries: [], dropped: 0, seenEventSeqs: [], chatMoves: [], loggedOnly: [] };
}

export type AdmitResult =
  | { kind: 'added'; id: number; dropped: number }
  | { kind: 'coalesced'; id: number; count: number }
  | { kind: 'duplicate-event' };

/**
 * Admits a notification into `state` (mutates it). `busyIds` are entries being sent right now: a repeat is
 * never merged into those (their send may succeed and remove them, which would lose the repeat).
 */
export function admit(
  state: OutboxState,
  n: Notification & { chatId: string },
  settings: QueueSettings,
  busyIds: ReadonlySet<number> = new Set(),
): AdmitResult {
  if (n.eventSeq !== undefined) {
    if (state.seenEventSeqs.includes(n.eventSeq)) return { kind: 'duplicate-event' };
    state.seenEventSeqs.push(n.eventSeq);
    const limit = settings.rememberedEventSeqs ?? SEEN_SEQ_LIMIT;
    if (state.seenEventSeqs.length > limit) state.seenEventSeqs.splice(0, state.seenEventSeqs.length - limit);
  }

  const mergeable = state.entries.find(
    (e) =>
      // never merge one carrying a trading event (back online + recovery): "latest shown" would drop its text
      e.eventSeq === undefined &&
      n.eventSeq === undefined &&
      e.digest === undefined &&
      e.key === n.key &&
      e.chatId === n.chatId &&
      !busyIds.has(e.id) &&
      n.createdAt - e.firstAt <= settings.coalesceWindowMs &&
      n.createdAt >= e.firstAt - settings.coalesceWindowMs,
  );
  if (mergeable) {
    mergeable.count += 1;
    if (n.createdAt >= mergeable.lastAt) {
      mergeable.text = n.text;
      mergeable.lastAt = n.createdAt;
      mergeable.silent = n.silent ?? false;
    }
    mergeable.firstAt = Math.min(mergeable.firstAt, n.createdAt);
    if (PRIORITY_RANK[n.priority] > PRIORITY_RANK[mergeable.priority]) {
      mergeable.priority = n.priority;
    }
    return { kind: 'coalesced', id: mergeable.id, count: mergeable.count };
  }

  const entry: OutboxEntry = {
    id: state.nextId++,
    key: n.key,
    priority: n.priority,
    text: n.text,
    silent: n.silent ?? false,
    chatId: n.chatId,
    firstAt: n.createdAt,
    lastAt: n.createdAt,
    count: 1,
    attempts: 0,
    ...(n.eventSeq !== undefined ? { eventSeq: n.eventSeq } : {}),
  };
  state.entries.push(entry);
  const dropped = enforceBound(state, settings.maxSize, busyIds);
  return { kind: 'added', id: entry.id, dropped };
}

/** Drops lowest-priority, oldest-first entries until the bound holds; counts them in `state.dropped`. */
export function enforceBound(
  state: OutboxState,
  maxSize: number,
  busyIds: ReadonlySet<number> = new Set(),
): number {
  let dropped = 0;
  while (state.entries.length > maxSize) {
    const victims = state.entries.filter((e) => !busyIds.has(e.id));
    if (victims.length === 0) break;
    victims.sort((a, b) => PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority] || a.id - b.id);
    const victim = victims[0];
    state.entries.splice(state.entries.indexOf(victim), 1);
    dropped += victim.count;
  }
  state.dropped += dropped;
  return dropped;
}

/** The send order: highest priority first, then oldest. */
export function sendOrder(entries: readonly OutboxEntry[]): OutboxEntry[] {
  return [...entries].sort((a, b) => PRIORITY_RANK[b.priority] - PRIORITY_RANK[a.priority] || a.id - b.id);
}

/** The text that goes to Telegram: coalescing note and the dropped-notifications note included. */
export function renderEntry(entry: OutboxEntry, droppedToReport: number): string {
  let text = entry.text;
  if (entry.count > 1) {
    text += `\n<i>×${entry.count} in ${formatSpan(entry.lastAt - entry.firstAt)} (latest shown)</i>`;
  }
  if (droppedToReport > 0) {
    text += `\n⚠️ <i>${droppedToReport} notification${droppedToReport === 1 ? '' : 's'} dropped (outbox full)</i>`;
  }
  return truncateHtml(text, MAX_MESSAGE_CHARS);
}

/** Cuts to `max` characters without leaving a broken tag or entity, then closes the tags left open. */
export function truncateHtml(html: string, max: number): string {
  if (html.length <= max) return html;
  let cut = html.slice(0, max - 40);
  // never half an emoji: a lone surrogate is not UTF-8, and Telegram refuses the text (review 44g)
  cut = cut.replace(/[\ud800-\udbff]$/, '');
  cut = cut.replace(/<[^>]*$/, '').replace(/&[a-z#0-9]*$/i, '');
  const open: string[] = [];
  for (const m of cut.matchAll(/<(\/?)([a-z]+)[^>]*>/gi)) {
    if (m[1]) open.pop();
    else open.push(m[2].toLowerCase());
  }
  return (
    cut +
    '…' +
    open
      .reverse()
      .map((t) => `</${t}>`)
      .join('')
  );
}
