/**
 * The sender of log-only mode (no TELEGRAM_BOT_TOKEN, or no TELEGRAM_CHAT_ID): every notification becomes one
 * log line, so `pm2 logs telegram` and logs/telegram.log still show every alert. Never fails.
 */
import type { Logger } from '../../shared/logging/logger';
import type { MessageSender } from './notification';
import { TELEGRAM_TAG } from '../../shared/logging/redact';

/** The tags of Telegram's HTML, the same as the redactor's (a `<` that starts none is a word of the text). */
const TAG = new RegExp(TELEGRAM_TAG, 'gi');
/** An entity of the HTML: named, or a character's number (decimal or hex). */
const ENTITY = /&(lt|gt|quot|amp|#\d+|#x[0-9a-f]+);/gi;
const NAMED: Record<string, string> = { lt: '<', gt: '>', quot: '"', amp: '&' };

/**
 * The words of our Telegram HTML as plain text, the one reader of it (the log's lines, the digest, a message Telegram
 * refused as HTML: message-refusal.ts plainTextOf): Telegram's tags out — a stray `<` is a word of the text, kept —
 * and each entity read once (`&amp;#65;` is `&#65;`; a NUL, past Unicode or a lone surrogate kept as written).
 */
export function htmlToPlain(html: string): string {
  return html
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(TAG, '')
    .replace(ENTITY, (entity, name: string) => {
      const lower = name.toLowerCase();
      if (lower in NAMED) return NAMED[lower]!;
      const code = lower.startsWith('#x') ? parseInt(lower.slice(2), 16) : Number(lower.slice(1));
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff)
        ? String.fromCodePoint(code)
        : entity;
    });
}

export class LogSender implements MessageSender {
  private readonly logger: Logger;

  constructor(logger: Logger) {
    this.logger = logger.child({ module: 'notify' });
  }

  send(chatId: string, html: string, opts: { silent?: boolean; plain?: boolean }): Promise<void> {
    this.logger.info(`📣 ${htmlToPlain(html).replace(/\n/g, ' | ')}`, {
      notification: true,
      chatId,
      silent: opts.silent ?? false,
    });
    return Promise.resolve();
  }
}
