/**
 * The outbox's transport to Telegram: one sendMessage per call through telegraf's `Telegram` client, HTML parse
 * mode, no link previews, `disable_notification` for silent messages. Failures come out as ByNinja errors
 * (telegram-errors.ts) so the outbox can tell "retry later" (TemporaryError, 429 with retryAfterMs) from
 * "give up" (OperationalError).
 */
import { Telegram } from 'telegraf';
import type { MessageSender } from '../notify/notification';
import { toTelegramError } from './telegram-errors';

export interface TelegramSenderOptions {
  token: string;
  /** Bot API root (TELEGRAM_API_ROOT); default Telegram's. */
  apiRoot?: string;
}

export class TelegramSender implements MessageSender {
  private readonly telegram: Telegram;

  constructor(opts: TelegramSenderOptions | { telegram: Telegram }) {
    this.telegram =
      'telegram' in opts
        ? opts.telegram
        : new Telegram(opts.token, opts.apiRoot ? { apiRoot: opts.apiRoot } : {});
  }

  /** A PNG with an HTML caption (≤ 1024 characters). */
  async sendPhoto(chatId: string, png: Buffer, caption: string): Promise<void> {
    try {
      await this.telegram.sendPhoto(
        chatId,
        { source: png, filename: 'equity.png' },
        { caption: caption.slice(0, 1024), parse_mode: 'HTML' },
      );
    } catch (err) {
      throw toTelegramError(err, 'sendPhoto');
    }
  }

  async send(chatId: string, html: string, opts: { silent?: boolean; plain?: boolean }): Promise<void> {
    try {
      await this.telegram.sendMessage(chatId, html, {
        ...(opts.plain ? {} : { parse_mode: 'HTML' as const }),
        link_preview_options: { is_disabled: true },
        ...(opts.silent ? { disable_notification: true } : {}),
      });
    } catch (err) {
      throw toTelegramError(err, 'sendMessage');
    }
  }
}
