/**
 * Telegraf's errors translated, in one place, into ByNinja's error classes — the class decides the policy:
 *
 * | Bot API answer              | class                    | policy                                          |
 * |-----------------------------|--------------------------|-------------------------------------------------|
 * | 401 Unauthorized            | AuthenticationError      | bad token: reported, long backoff, never exits  |
 * | 409 Conflict (webhook set)  | TelegramWebhookSetError  | delete the webhook, back off, retry             |
 * | 409 Conflict (other)        | TelegramConflictError    | another poller: log, back off, retry            |
 * | 429 Too Many Requests       | RateLimitError           | wait `retry_after`                              |
 * | 5xx                         | TemporaryError           | retry with backoff                              |
 * | network (FetchError, reset) | NetworkError             | retry with backoff                              |
 * | 403 Forbidden               | PermissionDeniedError    | bot blocked/kicked: alerts to the log, backoff  |
 * | 400 refusing the whole chat | TelegramChatRefusedError | as a 403 (it is a PermissionDeniedError)        |
 * | 400 migrate_to_chat_id      | TelegramChatMigratedError| group upgraded: send to the new id (outbox)     |
 * | 400 and other 4xx           | OperationalError         | the request itself is wrong: give up            |
 *
 * A 400 refuses the whole chat when no message could go there until someone changes the chat or the bot's rights
 * in it — the Bot API documents no list, so these are Telegram's own descriptions as bots meet them (see
 * CHAT_REFUSALS); a 400 about this message (too long, bad HTML, a photo where photos are not allowed) is not one.
 *
 * Messages and context never carry the bot token: telegraf puts it in every request URL, and a network error's
 * message quotes that URL.
 */
import {
  AuthenticationError,
  NetworkError,
  OperationalError,
  PermissionDeniedError,
  RateLimitError,
  TemporaryError,
  errorMessage,
  type ByNinjaError,
} from '../../shared/errors';
import { TelegramChatMigratedError } from '../notify/chat-moves';

/** 409: another process polls with the same token (or a webhook is set). Temporary: it may go away. */
export class TelegramConflictError extends TemporaryError {}

/**
 * 409 whose description names a webhook ("Conflict: can't use getUpdates method while webhook is active; use
 * deleteWebhook to delete the webhook first"): an outgoing webhook left on the token (a former deployment, another
 * framework) — no other poller. The cure is deleteWebhook, which the poller calls.
 */
export class TelegramWebhookSetError extends TelegramConflictError {}

interface TelegrafErrorShape {
  response?: {
    error_code?: number;
    description?: string;
    parameters?: { retry_after?: number; migrate_to_chat_id?: number };
  };
  on?: { method?: string };
  name?: string;
  message?: string;
  code?: unknown;
}

/**
 * A 400 that refuses every message to the chat, not this one: like a 403 (health says the chat refuses, alerts go
 * to the log, Telegram is tried again with backoff). Descriptions as Telegram words them:
 *  - "Bad Request: chat not found" — wrong id, or the bot was never in that chat;
 *  - "Bad Request: have no rights to send a message" — the bot is muted/restricted in the group;
 *  - "Bad Request: not enough rights to send text messages to the chat" — the group's permissions forbid members'
 *    text, or a channel where the bot is no admin with "Post messages";
 *  - "Bad Request: need administrator rights in the channel chat" — a channel where the bot is not an admin;
 *  - "Bad Request: CHAT_WRITE_FORBIDDEN", "Bad Request: CHAT_RESTRICTED" — MTProto's names, passed through;
 *  - "Bad Request: group chat was deactivated" — the group is gone (an upgrade answers migrate_to_chat_id instead);
 *  - "Bad Request: TOPIC_CLOSED" — a forum supergroup whose General topic an admin closed (review 44g).
 */
export const CHAT_REFUSALS: readonly RegExp[] = [
  /chat not found/i,
  /have no rights to send a message/i,
  /not enough rights to send text messages/i,
  /need administrator rights in the channel chat/i,
  /CHAT_WRITE_FORBIDDEN/i,
  /CHAT_RESTRICTED/i,
  /group chat was deactivated/i,
  // a forum supergroup whose General topic is closed: every send without message_thread_id is refused until it reopens
  /TOPIC_CLOSED/i,
];

/** Pure: does this 400's description refuse every message to the chat? */
export function refusesWholeChat(description: string): boolean {
  return CHAT_REFUSALS.some((re) => re.test(description));
}

/** A 400 refusing every message to the chat (CHAT_REFUSALS): handled as the 403 it amounts to. */
export class TelegramChatRefusedError extends PermissionDeniedError {}

/** Masks bot tokens in any text (URLs `/bot<id>:<secret>/`, or a bare token). */
export function redactBotToken(text: string): string {
  return text.replace(
    /(bot|user)?\d{5,}:[A-Za-z0-9_-]{10,}/g,
    (_m, prefix: string | undefined) => `${prefix ?? ''}[REDACTED]`,
  );
}

export function toTelegramError(err: unknown, method?: string): ByNinjaError {
  const e = (err ?? {}) as TelegrafErrorShape;
  const where = method ?? e.on?.method;
  const code = e.response?.error_code;
  if (typeof code === 'number') {
    const description = redactBotToken(e.response?.description ?? '');
    const context = { method: where, code, description };
    const text = `Telegram ${where ?? 'call'} failed: ${code} ${description}`.trim();
    if (code === 401)
      return new AuthenticationError(
        `${text} — the bot token (TELEGRAM_BOT_TOKEN) is invalid or revoked`,
        context,
      );
    // Worded after Telegram's own description: a webhook set is not "another instance" (getUpdates' 409 says which).
    if (code === 409 && /webhook/i.test(description))
      return new TelegramWebhookSetError(
        `${text} — an outgoing webhook is set on this bot token (a former deployment or another tool set it)`,
        context,
      );
    if (code === 409)
      return new TelegramConflictError(`${text} — another bot instance is polling with this token`, context);
    if (code === 429) {
      const retryAfterSec = e.response?.parameters?.retry_after ?? 1;
      return new RateLimitError(text, { ...context, retryAfterSec }, { retryAfterMs: retryAfterSec * 1000 });
    }
    if (code >= 500) return new TemporaryError(text, context);
    if (code === 403) return new PermissionDeniedError(text, context);
    const migrateTo = e.response?.parameters?.migrate_to_chat_id;
    if (code === 400 && typeof migrateTo === 'number' && Number.isSafeInteger(migrateTo))
      return new TelegramChatMigratedError(
        `${text} — the group is now the supergroup ${migrateTo}`,
        String(migrateTo),
        context,
      );
    if (code === 400 && refusesWholeChat(description)) return new TelegramChatRefusedError(text, context);
    return new OperationalError(text, context);
  }
  // No Bot API answer at all: connection refused/reset, DNS, timeout (node-fetch's FetchError, AbortError).
  const message = redactBotToken(errorMessage(err));
  return new NetworkError(`Telegram ${where ?? 'call'} failed: ${message}`, {
    method: where,
    ...(typeof e.code === 'string' ? { errno: e.code } : {}),
  });
}
