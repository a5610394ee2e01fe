/**
 * The notification contract of the telegram daemon. Everything that wants to tell the operator something
 * (supervisor alerts, trading events, command side effects) builds a `Notification` and hands it to a
 * `Notifier`; the durable outbox (outbox.ts) is the one implementation. A `MessageSender` is the transport
 * behind the outbox: telegraf (bot/telegram-sender.ts) or log-only (log-sender.ts).
 */

/** critical: crash loop, overlimit, errored, hang · high: crash, link down · normal: online, events · low: chatter. */
export type Priority = 'critical' | 'high' | 'normal' | 'low';

export const PRIORITY_RANK: Record<Priority, number> = { critical: 3, high: 2, normal: 1, low: 0 };

export interface Notification {
  /**
   * Coalescing key, e.g. `crash:trading`. Unsent notifications with the same key inside
   * `outbox.coalesceWindowMs` become one message ("×5 in 2 min"). Use a unique key for anything that must
   * never be merged (e.g. `event:<seq>`).
   */
  key: string;
  priority: Priority;
  /** HTML (Telegram parse_mode HTML), everything user-supplied already escaped. */
  text: string;
  /** Deliver without sound. */
  silent?: boolean;
  /** Trading event seq: a second notification with the same seq is ignored (replays after a reconnect). */
  eventSeq?: number;
  /** Epoch ms when the thing happened. */
  createdAt: number;
  /** Target chat; default: the configured alert chat (TELEGRAM_CHAT_ID). */
  chatId?: string;
}

export type NotificationInput = Omit<Notification, 'createdAt'> & { createdAt?: number };

export interface Notifier {
  /** Resolves once the notification is durably in the outbox (not when it is sent). */
  notify(n: NotificationInput): Promise<void>;
  /** Notifications waiting to be sent. */
  depth(): number;
}

/**
 * What became of a message a sender took: `'logged'` — written to the log only, because Telegram refuses the token or
 * the chat (FallbackSender): the chat is owed a digest of it once it takes messages again (log-digest.ts). Nothing
 * (or `'sent'`): it went where the sender sends (Telegram; the log in log-only mode, where no chat is owed anything).
 */
export type SendOutcome = 'sent' | 'logged';

/**
 * Sends one message. Throws `TemporaryError` (429 with `retryAfterMs`, 5xx, network) — the outbox retries —
 * or `OperationalError` (401/403/400) — the outbox gives the message up and logs it.
 */
export interface MessageSender {
  /** `html` in parse_mode HTML; with `plain`, plain text (no parse_mode): what Telegram refused as HTML, once. */
  send(
    chatId: string,
    html: string,
    opts: { silent?: boolean; plain?: boolean },
  ): Promise<SendOutcome | void>;
}

/** Telegram HTML escaping: the one implementation lives in ops/render (shared by bot, CLI and alerts). */
export { escapeHtml } from '../../ops/render';
