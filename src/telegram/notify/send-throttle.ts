/**
 * Telegram's flood limits as pure bookkeeping: at most one message per chat per `perChatIntervalMs`
 * (Telegram: ~1/s per chat) and at most `globalPerSecond` messages in any 1-second window (Telegram: ~30/s),
 * plus a global pause (429 retry_after, backoff after network/5xx). Time always comes in as `now`.
 */
export interface ThrottleSettings {
  perChatIntervalMs: number;
  globalPerSecond: number;
}

const GLOBAL_WINDOW_MS = 1_000;

export class SendThrottle {
  private readonly lastSentByChat = new Map<string, number>();
  private recent: number[] = [];
  private pausedUntil = 0;

  constructor(private readonly settings: ThrottleSettings) {}

  /** Earliest time a message to `chatId` may go out. */
  nextAllowedAt(chatId: string, now: number): number {
    const last = this.lastSentByChat.get(chatId);
    const perChat = last === undefined ? now : last + this.settings.perChatIntervalMs;
    this.recent = this.recent.filter((t) => t > now - GLOBAL_WINDOW_MS);
    const global =
      this.recent.length < this.settings.globalPerSecond
        ? now
        : this.recent[this.recent.length - this.settings.globalPerSecond] + GLOBAL_WINDOW_MS;
    return Math.max(now, perChat, global, this.pausedUntil);
  }

  /** A send attempt reached Telegram (accepted or not, it counts against the limits). */
  record(chatId: string, now: number): void {
    this.lastSentByChat.set(chatId, now);
    this.recent.push(now);
  }

  /** Nothing is sent before `until` (retry_after or backoff). */
  pause(until: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, until);
  }

  resume(): void {
    this.pausedUntil = 0;
  }

  get pausedUntilMs(): number {
    return this.pausedUntil;
  }
}
