/**
 * Who may command the bot: chats or users listed in TELEGRAM_ALLOWED_CHAT_IDS, nobody else. Deny by default — an
 * empty list accepts no command at all. Strangers get no answer (an answer would confirm the bot exists and
 * cost us rate limit); their attempts are logged, at most once per chat per `logIntervalMs` with a count of the
 * rest, so a flood cannot flood the log.
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
}

export class CommandAuth {
  private readonly allowed: ReadonlySet<string>;
  private readonly denied: RefusalLog;

  constructor(
    allowedIds: readonly string[],
    private readonly logger: Logger,
    opts: CommandAuthOptions = {},
  ) {
    this.allowed = new Set(allowedIds.map((id) => id.trim()).filter((id) => id !== ''));
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
    return isAuthorized(this.allowed, subject);
  }

  /** Logs a refused attempt, rate-limited per chat. Returns true when a line was written. */
  recordDenied(subject: AuthSubject, now: number): boolean {
    const key = String(subject.chatId ?? subject.userId ?? '?');
    const { log, suppressed } = this.denied.record(key, now);
    if (!log) return false;
    this.logger.warn('Unauthorized Telegram user ignored', {
      chatId: subject.chatId,
      userId: subject.userId,
      username: subject.username,
      text: subject.text?.slice(0, 40),
      ...(suppressed ? { suppressedSinceLastLog: suppressed } : {}),
    });
    return true;
  }
}
