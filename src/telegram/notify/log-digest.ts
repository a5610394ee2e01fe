/**
 * What a chat missed while Telegram refused it, and the digest it gets once it takes messages again (pure: no I/O,
 * no clock). While the token is refused (401) or a chat refuses the bot (403, a 400 refusing the chat), the
 * FallbackSender writes that chat's alerts to the log; each one is also noted here, in the chat's own record, kept in
 * the outbox's store (`loggedOnly` of telegram-outbox.json) so a restart of telegram — the token fix needs one — loses
 * none of it. The first message Telegram then takes for that chat turns the record into one digest entry of the
 * outbox (in the same commit that removes the message sent), so the operator learns in Telegram what went to
 * `pm2 logs` only: how many, since when, and each one's first line, the most important and newest first.
 *
 * Bounded: one record per chat, holding a count, the first time, and at most LOG_DIGEST_ITEMS alerts (an alert of a
 * lower priority, then an older one, gives way). A record is only ever rendered into its own chat's digest — where
 * "its own" for the alert chat's alerts is the alert chat as configured now: noted while TELEGRAM_CHAT_ID named a
 * chat that refused (a typo answers 400 "chat not found"), they follow the setting once the operator fixes it.
 */
import { escapeHtml } from '../../ops/render';
import { htmlToPlain } from './log-sender';
import { PRIORITY_RANK, type Priority } from './notification';
import { MAX_MESSAGE_CHARS, type OutboxEntry } from './outbox-queue';

/** Alerts a record lists at most (the rest are counted: "and N more"). */
export const LOG_DIGEST_ITEMS = 20;
/** Characters of an alert's first line kept. */
export const LOG_DIGEST_LINE_CHARS = 200;

/** One alert (or a coalesced run of them) that went to the log only. */
export interface LoggedAlert {
  /** When it happened (its latest occurrence, epoch ms). */
  at: number;
  priority: Priority;
  /** Its first line, plain text (escaped when rendered). */
  line: string;
  /** Occurrences (a coalesced entry counts each). */
  count: number;
}

/** A chat's alerts that went to the log only since `since`. */
export interface LogOnlyRecord {
  chatId: string;
  /** The first of them (epoch ms). */
  since: number;
  /** How many went to the log (listed or not). */
  count: number;
  /** The ones listed in the digest: at most LOG_DIGEST_ITEMS, the most important and newest kept. */
  alerts: LoggedAlert[];
  /** They were the alert chat's (TELEGRAM_CHAT_ID when noted): the record goes where that setting points now. */
  alertChat?: true;
}

/** An outbox entry carrying a digest (its text is the rendered record). */
export type DigestEntry = OutboxEntry & { digest: LogOnlyRecord };

export const digestKey = (chatId: string): string => `log-digest:${chatId}`;

/**
 * The record `entry` adds to: the entry's own alert, or — a digest that went to the log itself — its whole record.
 * `alertChat`: the entry was sent to the alert chat (TELEGRAM_CHAT_ID).
 */
export function recordOf(entry: OutboxEntry, alertChat = false): LogOnlyRecord {
  const flag = alertChat ? { alertChat: true as const } : {};
  // the entry's chat, not the record's: a digest entry moves with its chat (a group upgraded) as any entry does
  if (entry.digest) return { ...entry.digest, chatId: entry.chatId, ...flag };
  const first =
    htmlToPlain(entry.text)
      .split('\n')
      .find((l) => l.trim() !== '') ?? '';
  return {
    ...flag,
    chatId: entry.chatId,
    since: entry.firstAt,
    count: entry.count,
    alerts: [
      {
        at: entry.lastAt,
        priority: entry.priority,
        line: cut(first.trim(), LOG_DIGEST_LINE_CHARS),
        count: entry.count,
      },
    ],
  };
}

/** `a` and `b` (same chat) as one record, within the bound. */
export function mergeRecords(a: LogOnlyRecord, b: LogOnlyRecord): LogOnlyRecord {
  return {
    ...(a.alertChat || b.alertChat ? { alertChat: true as const } : {}),
    chatId: a.chatId,
    since: Math.min(a.since, b.since),
    count: a.count + b.count,
    alerts: [...a.alerts, ...b.alerts]
      .sort(byImportance)
      .slice(0, LOG_DIGEST_ITEMS)
      .sort((x, y) => x.at - y.at),
  };
}

/** Notes in `records` (mutated) that `entry` went to the log only (`alertChat`: it was for the alert chat). */
export function noteLogged(records: LogOnlyRecord[], entry: OutboxEntry, alertChat = false): void {
  const added = recordOf(entry, alertChat);
  const i = records.findIndex((r) => r.chatId === added.chatId);
  if (i < 0) records.push(added);
  else records[i] = mergeRecords(records[i], added);
}

/** Telegram moved chat `from` to `to` (a group upgraded): its record goes with it (a digest entry is moved as any). */
export function moveRecord(records: LogOnlyRecord[], from: string, to: string): void {
  const i = records.findIndex((r) => r.chatId === from);
  if (i < 0 || from === to) return;
  const moved = { ...records[i], chatId: to };
  records.splice(i, 1);
  const j = records.findIndex((r) => r.chatId === to);
  if (j < 0) records.push(moved);
  else records[j] = mergeRecords(records[j], moved);
}

/**
 * Moves each record to where its chat now goes (`resolve`: the chat-move book). The outbox moves a record itself when
 * it learns a move (moveRecord), but the bot learns moves too (the group's service message, a start's probe, the
 * chart's send): a record left under the old id would never be taken, since nothing is sent there any more. The
 * alert chat's records go to `alertChat` (where TELEGRAM_CHAT_ID leads now), when given: noted under a wrong id
 * (a typo refused "chat not found"), they would else wait for good under an id nothing sends to again.
 */
export function followRecords(
  records: LogOnlyRecord[],
  resolve: (chatId: string) => string,
  alertChat?: string,
): void {
  for (const r of [...records])
    moveRecord(records, r.chatId, r.alertChat && alertChat !== undefined ? alertChat : resolve(r.chatId));
}

/**
 * `chatId` took a message: its record, if any, leaves `state.loggedOnly` and becomes a digest entry — merged into a
 * digest entry already waiting for that chat, unless that one is in `busyIds` (being sent: its send may succeed and
 * remove it, which would lose what was merged). Returns the digest entry.
 */
export function takeDigest(
  state: { nextId: number; entries: OutboxEntry[]; loggedOnly: LogOnlyRecord[] },
  chatId: string,
  busyIds: ReadonlySet<number> = new Set(),
): DigestEntry | undefined {
  const i = state.loggedOnly.findIndex((r) => r.chatId === chatId);
  if (i < 0) return undefined;
  let record = state.loggedOnly[i];
  state.loggedOnly.splice(i, 1);
  const waiting = state.entries.find(
    (e): e is DigestEntry => e.digest !== undefined && e.chatId === chatId && !busyIds.has(e.id),
  );
  if (waiting) record = mergeRecords(record, waiting.digest);
  const priority = record.alerts.reduce<Priority>(
    (p, a) => (PRIORITY_RANK[a.priority] > PRIORITY_RANK[p] ? a.priority : p),
    'normal',
  );
  const fields = { priority, text: renderDigest(record), digest: record };
  if (waiting) return Object.assign(waiting, fields);
  const entry: DigestEntry = {
    id: state.nextId++,
    key: digestKey(chatId),
    silent: false,
    chatId,
    firstAt: record.since,
    lastAt: Math.max(record.since, ...record.alerts.map((a) => a.at)),
    count: 1,
    attempts: 0,
    ...fields,
  };
  state.entries.push(entry);
  return entry;
}

/**
 * Characters the digest may fill: one message less room for the note the outbox adds to whatever it sends first after
 * dropping notifications (renderEntry: "⚠️ N notifications dropped (outbox full)", ~60 characters). A digest that filled
 * the message was cut to fit it, and the note — counted as told — with its end.
 */
export const DIGEST_MAX_CHARS = MAX_MESSAGE_CHARS - 100;

/** The digest's HTML: a count and since when, then the listed alerts (most important first), within one message. */
export function renderDigest(record: LogOnlyRecord): string {
  const head =
    `📭 <b>${plural(record.count, 'alert')} went to the log only</b> while Telegram refused the bot ` +
    `(since ${shortTime(record.since)} UTC)` +
    (record.alerts.length ? ':' : '');
  const rest = (n: number): string => `\n…and ${n} more: <code>pm2 logs telegram</code>`;
  let text = head;
  let shown = 0;
  for (const a of [...record.alerts].sort(byRankThenTime)) {
    const line = `\n• ${shortTime(a.at).slice(5)} ${escapeHtml(a.line)}${a.count > 1 ? ` ×${a.count}` : ''}`;
    // room for the "and N more" line (its number has at most as many digits as the count)
    if (text.length + line.length + rest(record.count).length > DIGEST_MAX_CHARS) break;
    text += line;
    shown += a.count;
  }
  const more = record.count - shown;
  return more > 0 ? text + rest(more) : text;
}

/** Most important first: priority, then newest. */
function byImportance(a: LoggedAlert, b: LoggedAlert): number {
  return PRIORITY_RANK[b.priority] - PRIORITY_RANK[a.priority] || b.at - a.at;
}

/** The digest's order: priority, then in the order they happened. */
function byRankThenTime(a: LoggedAlert, b: LoggedAlert): number {
  return PRIORITY_RANK[b.priority] - PRIORITY_RANK[a.priority] || a.at - b.at;
}

/** At most `max` UTF-16 units, never half an emoji (a lone surrogate is not UTF-8: Telegram would refuse the text). */
function cut(text: string, max: number): string {
  const head = text.slice(0, max);
  return /[\ud800-\udbff]$/.test(head) ? head.slice(0, -1) : head;
}

function shortTime(ts: number): string {
  return new Date(ts).toISOString().slice(0, 16).replace('T', ' ');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
