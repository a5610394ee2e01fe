/**
 * Who may command the bot. Deny by default — empty lists accept no command at all.
 *  - TELEGRAM_ALLOWED_CHAT_IDS: chats. A positive id is a user (a private chat's id is its user's id); a negative
 *    one is a group, and listing a group lets every member of it command.
 *  - TELEGRAM_ALLOWED_USER_IDS: users by their own id, in any chat the bot is in (a group included): they may
 *    also press anyone's confirmation button.
 *  - telegram.dangerousCommandsUsersOnly (default true): the commands that change trading or restart services
 *    (/closeall, /restart, /pause, /resume) need the SENDER's user id listed (positively in either list); a
 *    listed group alone is not enough. Strangers get no answer (an answer would confirm the bot exists and
 * cost us rate limit); their attempts are logged, at most once per chat per `logIntervalMs` with a count of the
 * rest, so a flood cannot flood the log.
 *
 * A group Telegram upgraded to a supergroup (new id) commands as the listed group it was (`formerIds`, from the
 * service's ChatMoves: only Telegram's own word makes that link); nothing else widens the lists.
 */
import type { Logger } from '../../shared/logging/logger';
import { RefusalLog } from '../../shared/logging/refusal-log';

export interface AuthSubject {
  chatId?: number | string;
  userId?: number | string;
  username?: string;
  /** What they sent (first characters only are logged). */
  text?: string;
}

/** Pure check: the chat or the user is on the list. */
export function isAuthorized(allowed: ReadonlySet<string>, subject: AuthSubject): boolean {
  if (allowed.size === 0) return false;
  return (
    (subject.chatId !== undefined && allowed.has(String(subject.chatId))) ||
    (subject.userId !== undefined && allowed.has(String(subject.userId)))
  );
}

export interface CommandAuthOptions {
  /** Minimum time between two log lines about the same stranger chat; default 60 s. */
  logIntervalMs?: number;
  /** Strangers remembered for rate limiting; the oldest is forgotten beyond it. Default 1000. */
  maxTracked?: number;
  /** The ids a chat had before Telegram moved it (ChatMoves.formerIds); default none. */
  formerIds?: (chatId: string) => readonly string[];
}

/** Positive ids are users (and their private chats); group and channel ids are negative. */
export function isUserId(id: string): boolean {
  return /^\d+$/.test(id);
}

export interface AuthLists {
  allowedChatIds: readonly string[];
  allowedUserIds?: readonly string[];
  /** Dangerous commands need a listed user id (default true). */
  dangerousCommandsUsersOnly?: boolean;
}

export class CommandAuth {
  private readonly allowed: ReadonlySet<string>;
  /** TELEGRAM_ALLOWED_CHAT_IDS only: a moved chat is let in through its former id listed here. */
  private readonly chats: ReadonlySet<string>;
  /** Users trusted by their own id: allowedUserIds plus the positive ids of allowedChatIds. */
  private readonly users: ReadonlySet<string>;
  /** TELEGRAM_ALLOWED_USER_IDS only: may press anyone's confirmation. */
  private readonly namedUsers: ReadonlySet<string>;
  private readonly dangerousUsersOnly: boolean;
  private readonly denied: RefusalLog;

  constructor(
    lists: AuthLists | readonly string[],
    private readonly logger: Logger,
    private readonly opts: CommandAuthOptions = {},
  ) {
    const l: AuthLists = isStringList(lists) ? { allowedChatIds: lists } : lists;
    const clean = (ids: readonly string[] = []): string[] =>
      ids.map((id) => id.trim()).filter((id) => id !== '');
    this.namedUsers = new Set(clean(l.allowedUserIds));
    this.users = new Set([...this.namedUsers, ...clean(l.allowedChatIds).filter(isUserId)]);
    this.chats = new Set(clean(l.allowedChatIds));
    this.allowed = new Set([...this.chats, ...this.namedUsers]);
    this.dangerousUsersOnly = l.dangerousCommandsUsersOnly ?? true;
    this.denied = new RefusalLog(opts.logIntervalMs ?? 60_000, opts.maxTracked ?? 1000);
  }

  /** False when no chat is allowed: the bot then accepts no command (warned at start). */
  get anyoneAllowed(): boolean {
    return this.allowed.size > 0;
  }

  get allowedCount(): number {
    return this.allowed.size;
  }

  isAllowed(subject: AuthSubject): boolean {
    if (isAuthorized(this.allowed, subject)) return true;
    if (subject.chatId === undefined || !this.opts.formerIds) return false;
    return this.opts.formerIds(String(subject.chatId)).some((id) => this.chats.has(id));
  }

  /** May this sender run a dangerous command (or confirm one)? */
  mayRunDangerous(subject: AuthSubject): boolean {
    if (!this.isAllowed(subject)) return false;
    if (!this.dangerousUsersOnly) return true;
    return subject.userId !== undefined && this.users.has(String(subject.userId));
  }

  /** A user listed by id in TELEGRAM_ALLOWED_USER_IDS: may press another user's confirmation. */
  isNamedUser(userId: string | undefined): boolean {
    return userId !== undefined && this.namedUsers.has(userId);
  }

  /** Logs a refused attempt, rate-limited per chat and over all chats (RefusalLog). Returns true when a line was written. */
  recordDenied(subject: AuthSubject, now: number): boolean {
    const key = String(subject.chatId ?? subject.userId ?? '?');
    const { log, suppressed, suppressedOthers } = this.denied.record(key, now);
    if (!log) return false;
    this.logger.warn('Unauthorized Telegram user ignored', {
      chatId: subject.chatId,
      userId: subject.userId,
      username: subject.username,
      text: subject.text?.slice(0, 40),
      ...(suppressed ? { suppressedSinceLastLog: suppressed } : {}),
      ...(suppressedOthers ? { suppressedOtherChats: suppressedOthers } : {}),
    });
    return true;
  }
}

function isStringList(v: AuthLists | readonly string[]): v is readonly string[] {
  return Array.isArray(v);
}
