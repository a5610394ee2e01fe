/**
 * A message Telegram refused itself — its HTML ("can't parse entities"), its length, its encoding: a 400 about the
 * message, not the chat, the token nor the network — and what it is sent as then: plain text, the same words, once
 * (review 44g: such an alert was dropped, a reply failed as a whole). The outbox (outbox.ts sendPlain) and the bot's
 * replies (bot.ts send) both.
 */
import { AuthenticationError, PermissionDeniedError, isOperational } from '../../shared/errors';
import { TelegramChatMigratedError } from './chat-moves';
import { TELEGRAM_TAG } from '../../shared/logging/redact';
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

/** The tags of Telegram's HTML, the same as the redactor's (a `<` that starts none is a word of the text). */
const TAG = new RegExp(TELEGRAM_TAG, 'gi');
/** An entity of the HTML: named, or a character's number (decimal or hex). */
const ENTITY = /&(lt|gt|quot|amp|#\d+|#x[0-9a-f]+);/gi;
const NAMED: Record<string, string> = { lt: '<', gt: '>', quot: '"', amp: '&' };
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * The words of a message Telegram refused as HTML (its tags, its length or its encoding: a 400 about the message), as
 * plain text it takes: Telegram's tags out (a stray `<` — what makes HTML unparseable — is a word of the text, kept),
 * each entity read once, a half emoji (a lone surrogate: not UTF-8) replaced, at most `max` characters (an emoji never
 * cut in half).
 */
export function plainTextOf(html: string, max: number = MAX_MESSAGE_CHARS): string {
  let text = html
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(TAG, '')
    .replace(ENTITY, (entity, name: string) => {
      const lower = name.toLowerCase();
      if (lower in NAMED) return NAMED[lower]!;
      const code = lower.startsWith('#x') ? parseInt(lower.slice(2), 16) : Number(lower.slice(1));
      // no NUL, nothing past Unicode, no lone surrogate: kept as written
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff)
        ? String.fromCodePoint(code)
        : entity;
    })
    .replace(LONE_SURROGATE, '\ufffd');
  if (text.length > max) text = text.slice(0, max - 1).replace(/[\ud800-\udbff]$/, '') + '…';
  return text.trim() === '' ? '(no text)' : text;
}
