/**
 * Telegram's flood limits as pure bookkeeping. Per chat, a token bucket: `perChatBurst` tokens, one back per
 * `perChatIntervalMs`, one spent per message — so never more than one per interval on average (Telegram allows ~1/s
 * per chat and "short bursts that go over this limit"). Ordinary messages also keep one interval apart, so steady
 * traffic leaves the bucket full; only an alert (priority high or critical) uses the burst, and a crash alert does
 * not wait behind the trading event sent just before it. Globally: at most `globalPerSecond` messages in any
 * 1-second window (Telegram: ~30/s), plus a pause (429 retry_after, backoff after network/5xx). Time always comes
 * in as `now`.
 */
export interface ThrottleSettings {
  perChatIntervalMs: number;
  globalPerSecond: number;
  /** Messages an alert may send to a chat back to back (default 3; 1 = strictly one per interval). */
  perChatBurst?: number;
}

const GLOBAL_WINDOW_MS = 1_000;
const DEFAULT_PER_CHAT_BURST = 3;

/** A chat's bucket as times (whole ms, no float drift): it holds `burst - (fullAt - now) / interval` tokens. */
interface ChatBucket {
  fullAt: number;
  lastSentAt: number;
}

export class SendThrottle {
  private readonly chats = new Map<string, ChatBucket>();
  private recent: number[] = [];
  private pausedUntil = 0;
  private readonly burst: number;

  constructor(private readonly settings: ThrottleSettings) {
    this.burst = Math.max(1, settings.perChatBurst ?? DEFAULT_PER_CHAT_BURST);
  }

  /** Earliest time a message to `chatId` may go out; `alert`: it may use the chat's burst. */
  nextAllowedAt(chatId: string, now: number, alert = false): number {
    const interval = this.settings.perChatIntervalMs;
    const chat = this.chats.get(chatId);
    let perChat = now;
    if (chat) {
      // one token left once the bucket is at most burst - 1 intervals from full
      const tokenAt = chat.fullAt - (this.burst - 1) * interval;
      perChat = alert ? tokenAt : Math.max(tokenAt, chat.lastSentAt + interval);
    }
    this.recent = this.recent.filter((t) => t > now - GLOBAL_WINDOW_MS);
    const global =
      this.recent.length < this.settings.globalPerSecond
        ? now
        : this.recent[this.recent.length - this.settings.globalPerSecond] + GLOBAL_WINDOW_MS;
    return Math.max(now, perChat, global, this.pausedUntil);
  }

  /** A send attempt reached Telegram (accepted or not, it counts against the limits). */
  record(chatId: string, now: number): void {
    const fullAt = Math.max(this.chats.get(chatId)?.fullAt ?? now, now);
    this.chats.set(chatId, { fullAt: fullAt + this.settings.perChatIntervalMs, lastSentAt: now });
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
