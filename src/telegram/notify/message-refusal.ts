/**
 * A message Telegram refused itself — its HTML ("can't parse entities"), its length, its encoding: a 400 about the
 * message, not the chat, the token nor the network — and what it is sent as then: plain text, the same words, once
 * (review 44g: such an alert was dropped, a reply failed as a whole). The outbox (outbox.ts sendPlain) and the bot's
 * replies (bot.ts send) both.
 */
import { AuthenticationError, PermissionDeniedError, isOperational } from '../../shared/errors';
import { TelegramChatMigratedError } from './chat-moves';
import { htmlToPlain } from './log-sender';
import { MAX_MESSAGE_CHARS } from './outbox-queue';

/**
 * Telegram refused this message itself (a 400 about its HTML, length or encoding), not the chat, the token nor the
 * network: a refusal for good that a chat move (migrate_to_chat_id) does not explain.
 */
export function refusedAsMessage(err: unknown): boolean {
  return (
    isOperational(err) &&
    !(err instanceof AuthenticationError) &&
    !(err instanceof PermissionDeniedError) &&
    !(err instanceof TelegramChatMigratedError)
  );
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * The words of a message Telegram refused as HTML (its tags, its length or its encoding: a 400 about the message), as
 * plain text it takes (htmlToPlain: a stray `<` — what makes HTML unparseable — is a word of the text, kept), a half
 * emoji (a lone surrogate: not UTF-8) replaced, at most `max` characters (an emoji never cut in half).
 */
export function plainTextOf(html: string, max: number = MAX_MESSAGE_CHARS): string {
  let text = htmlToPlain(html).replace(LONE_SURROGATE, '\ufffd');
  if (text.length > max) text = text.slice(0, max - 1).replace(/[\ud800-\udbff]$/, '') + '…';
  return text.trim() === '' ? '(no text)' : text;
}
