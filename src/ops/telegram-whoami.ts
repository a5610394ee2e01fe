/**
 * `byninja telegram whoami`: waits for the next message the bot receives and says who sent it from where — the
 * chat id (negative for a group) and the user id — the numbers TELEGRAM_CHAT_ID, TELEGRAM_ALLOWED_CHAT_IDS and
 * TELEGRAM_ALLOWED_USER_IDS want. It reads updates itself (getUpdates), which Telegram allows one reader per token
 * at a time: with the telegram service polling, Telegram answers 409 and this says to stop the service first.
 * The message it reports is marked read, so the service does not act on it later.
 *
 * Only a message sent after whoami started counts: a bot is public, and an older pending update may be anyone's
 * (its ids pasted into TELEGRAM_ALLOWED_USER_IDS would hand them /closeall). The first read asks for the last
 * pending update only (`offset: -1`, which makes Telegram forget the older ones) and skips it unless it is dated
 * from now; later reads only see newer updates. Bot API errors (5xx, 429, not JSON) are waited out with the one
 * backoff, never spun on.
 */
import type { Clock } from '../shared/clock';
import { errorMessage } from '../shared/errors';
import { retryDelayMs } from '../shared/retry';
import { callBotApi, type BotApiAnswer } from './bot-api';

export interface WhoAmI {
  chatId: string;
  chatType: string;
  chatTitle?: string;
  userId?: string;
  username?: string;
  name?: string;
  text?: string;
  /** Sent on behalf of this chat (anonymous admin, channel): no user id is known. */
  senderChatId?: string;
}

export type WhoAmIOutcome =
  | { ok: true; who: WhoAmI }
  | { ok: false; reason: 'timeout' | 'conflict' | 'refused' | 'unreachable'; message: string };

interface TelegramUpdate {
  update_id: number;
  message?: {
    text?: string;
    chat: { id: number; type: string; title?: string };
    from?: { id: number; username?: string; first_name?: string; last_name?: string };
    /**
     * Sent on behalf of a chat (an anonymous group admin, a user posting as a channel): `from` is then a fake user
     * shared by everyone who sends that way (GroupAnonymousBot…), never reported as the sender's id.
     */
    sender_chat?: { id: number; type: string; title?: string };
    /** Unix seconds (Telegram's clock). */
    date?: number;
  };
}

/** Telegram dates are whole seconds: a message sent in the second whoami started is dated before it. */
const DATE_SLACK_MS = 1_000;

export async function waitForWhoAmI(opts: {
  token: string;
  apiRoot: string;
  timeoutMs: number;
  fetch?: typeof fetch;
  clock: Clock;
  /** Jitter source of the backoff (tests pin it). */
  random?: () => number;
}): Promise<WhoAmIOutcome> {
  const target = { apiRoot: opts.apiRoot, token: opts.token, fetch: opts.fetch };
  const now = (): number => opts.clock.now();
  const startedAt = now();
  const deadline = startedAt + opts.timeoutMs;
  // -1: the last pending update only, the older ones forgotten (first read); then the next unseen id
  let offset = -1;
  let failures = 0;
  while (now() < deadline) {
    const first = offset === -1;
    const pollSec = first ? 0 : Math.max(1, Math.min(25, Math.floor((deadline - now()) / 1000)));
    let answer: BotApiAnswer<TelegramUpdate[]>;
    try {
      answer = await callBotApi<TelegramUpdate[]>(
        target,
        'getUpdates',
        { timeout: pollSec, allowed_updates: ['message'], offset },
        (pollSec + 10) * 1000,
      );
    } catch (err) {
      return {
        ok: false,
        reason: 'unreachable',
        message: `Telegram Bot API unreachable: ${errorMessage(err)}`,
      };
    }
    const status = answer.status;
    // getUpdates' 409 says which conflict it is: a webhook left on the token is no other reader
    if (status === 409 && /webhook/i.test(answer.description ?? ''))
      return {
        ok: false,
        reason: 'conflict',
        message:
          'a webhook is set on this bot token (Telegram refuses getUpdates while one is): the telegram service deletes it when it starts (`npx byninja start telegram`), or delete it with the Bot API method deleteWebhook; then run whoami again',
      };
    if (status === 409)
      return {
        ok: false,
        reason: 'conflict',
        message:
          "the telegram service is reading this bot's messages (Telegram allows one reader): `npx byninja stop telegram`, run whoami, then `npx byninja start telegram`",
      };
    if (status === 401 || status === 404)
      return {
        ok: false,
        reason: 'refused',
        message: 'Telegram refuses TELEGRAM_BOT_TOKEN (401): take the current token from BotFather',
      };
    if (!answer.ok || !Array.isArray(answer.result)) {
      // 429 / 5xx / an answer that is not the Bot API's: wait, never spin (Telegram asks for retry_after on 429)
      failures += 1;
      const wait = retryDelayMs(failures, {
        baseDelayMs: 1_000,
        maxDelayMs: 10_000,
        random: opts.random ?? Math.random,
      });
      await opts.clock.sleep(Math.max(0, Math.min(wait, deadline - now())));
      continue;
    }
    failures = 0;
    if (first) offset = 0;
    for (const update of answer.result) {
      offset = Math.max(offset, update.update_id + 1);
      const m = update.message;
      if (!m) continue;
      // sent before whoami started: maybe anyone's, never reported
      if (first && (m.date === undefined || m.date * 1000 < startedAt - DATE_SLACK_MS)) continue;
      // mark it read: the service must not run the message it was sent for this
      await callBotApi(target, 'getUpdates', { offset, timeout: 0 }, 10_000).catch(() => undefined);
      // on behalf of a chat, `from` is a fake user every anonymous admin (or channel) shares: listed, it would let
      // any of them, in any group, command (review tgcmd45)
      const from = m.sender_chat ? undefined : m.from;
      const name = [from?.first_name, from?.last_name].filter(Boolean).join(' ');
      return {
        ok: true,
        who: {
          chatId: String(m.chat.id),
          chatType: m.chat.type,
          ...(m.chat.title ? { chatTitle: m.chat.title } : {}),
          ...(from ? { userId: String(from.id) } : {}),
          ...(from?.username ? { username: from.username } : {}),
          ...(name ? { name } : {}),
          ...(m.sender_chat ? { senderChatId: String(m.sender_chat.id) } : {}),
          ...(m.text ? { text: m.text.slice(0, 60) } : {}),
        },
      };
    }
  }
  return {
    ok: false,
    reason: 'timeout',
    message: 'no message reached the bot in time: send it one (any text), then run whoami again',
  };
}

/** What to put in .env for what whoami saw. */
export function describeWhoAmI(who: WhoAmI): string {
  const group = who.chatType !== 'private';
  const lines = [
    `chat ${who.chatId} (${who.chatType}${who.chatTitle ? `: ${who.chatTitle}` : ''})`,
    ...(who.userId
      ? [`user ${who.userId}${who.username ? ` (@${who.username})` : ''}${who.name ? ` — ${who.name}` : ''}`]
      : []),
    ...(who.senderChatId
      ? [
          `sent on behalf of the chat ${who.senderChatId} (as an anonymous admin or as a channel): it does not say who`,
          'you are. For your user id (needed for /closeall, /restart, /pause, /resume...), run whoami again and send',
          '/whoami as yourself (in the group: turn "Remain anonymous" off in your admin rights, or send it to the bot',
          'in a private chat).',
        ]
      : []),
    '',
    'In .env:',
    `  TELEGRAM_CHAT_ID=${who.chatId}            # where alerts go`,
  ];
  if (group) {
    lines.push(
      `  TELEGRAM_ALLOWED_CHAT_IDS=${who.chatId}   # every member may use the read-only commands`,
      ...(who.userId
        ? [`  TELEGRAM_ALLOWED_USER_IDS=${who.userId}   # you: also /closeall, /restart, /pause, /resume`]
        : []),
    );
  } else {
    if (who.userId || !who.senderChatId)
      lines.push(
        `  TELEGRAM_ALLOWED_USER_IDS=${who.userId ?? who.chatId}   # you may command, dangerous commands too`,
      );
  }
  lines.push('then `npm restart`.');
  return lines.join('\n');
}
