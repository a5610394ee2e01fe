/**
 * The sender of log-only mode (no TELEGRAM_BOT_TOKEN, or no TELEGRAM_CHAT_ID): every notification becomes one
 * log line, so `pm2 logs telegram` and logs/telegram.log still show every alert. Never fails.
 */
import type { Logger } from '../../shared/logging/logger';
import type { MessageSender } from './notification';

/** Telegram HTML → plain text for a log line. */
export function htmlToPlain(html: string): string {
  return html
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
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
