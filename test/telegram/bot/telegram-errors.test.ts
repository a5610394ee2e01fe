import { expect } from 'chai';
import { TelegramError } from 'telegraf';
import {
  AuthenticationError,
  NetworkError,
  OperationalError,
  PermissionDeniedError,
  RateLimitError,
  TemporaryError,
} from '../../../src/shared/errors';
import {
  TelegramChatRefusedError,
  TelegramConflictError,
  TelegramWebhookSetError,
  refusesWholeChat,
  toTelegramError,
} from '../../../src/telegram/bot/telegram-errors';
import { TelegramChatMigratedError } from '../../../src/telegram/notify/chat-moves';

const TOKEN = '1234567:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';

function tgError(
  code: number,
  description: string,
  parameters?: { retry_after?: number; migrate_to_chat_id?: number },
): TelegramError {
  return new TelegramError(
    { error_code: code, description, ...(parameters ? { parameters } : {}) },
    { method: 'getUpdates', payload: {} },
  );
}

describe('telegram error policy mapping', () => {
  it('400 with migrate_to_chat_id → TelegramChatMigratedError naming the supergroup (the outbox sends there)', () => {
    const err = toTelegramError(
      tgError(400, 'Bad Request: group chat was upgraded to a supergroup chat', {
        migrate_to_chat_id: -1001234567890,
      }),
      'sendMessage',
    );
    expect(err).to.be.instanceOf(TelegramChatMigratedError);
    expect((err as TelegramChatMigratedError).migrateToChatId).to.equal('-1001234567890');
    expect(err).not.to.be.instanceOf(PermissionDeniedError);
  });

  it('a 400 that refuses every message to the chat → TelegramChatRefusedError, a PermissionDeniedError (as a 403)', () => {
    for (const description of [
      'Bad Request: chat not found',
      'Bad Request: have no rights to send a message',
      'Bad Request: not enough rights to send text messages to the chat',
      'Bad Request: need administrator rights in the channel chat',
      'Bad Request: CHAT_WRITE_FORBIDDEN',
      'Bad Request: CHAT_RESTRICTED',
      'Bad Request: group chat was deactivated',
    ]) {
      expect(refusesWholeChat(description), description).to.equal(true);
      const err = toTelegramError(tgError(400, description), 'sendMessage');
      expect(err, description).to.be.instanceOf(TelegramChatRefusedError);
      expect(err, description).to.be.instanceOf(PermissionDeniedError);
    }
  });

  it('a 400 about this message (too long, bad HTML, a photo where photos are not allowed) stays a plain 400', () => {
    for (const description of [
      'Bad Request: message is too long',
      "Bad Request: can't parse entities: unsupported start tag",
      'Bad Request: not enough rights to send photos to the chat',
      'Bad Request: group chat was upgraded to a supergroup chat', // without migrate_to_chat_id: nothing to follow
    ]) {
      const err = toTelegramError(tgError(400, description), 'sendMessage');
      expect(err, description).to.be.instanceOf(OperationalError);
      expect(err, description).not.to.be.instanceOf(PermissionDeniedError);
      expect(err, description).not.to.be.instanceOf(TelegramChatMigratedError);
    }
  });

  it('401 → AuthenticationError (fatal: bad token)', () => {
    expect(toTelegramError(tgError(401, 'Unauthorized'))).to.be.instanceOf(AuthenticationError);
  });

  it('409 → TelegramConflictError, a temporary error (another poller: back off)', () => {
    const err = toTelegramError(tgError(409, 'Conflict: terminated by other getUpdates request'));
    expect(err).to.be.instanceOf(TelegramConflictError);
    expect(err).to.be.instanceOf(TemporaryError);
  });

  it('409 naming a webhook → TelegramWebhookSetError, worded after Telegram (a webhook, not another instance)', () => {
    const err = toTelegramError(
      tgError(
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
      ),
    );
    expect(err).to.be.instanceOf(TelegramWebhookSetError);
    expect(err.message).to.include('webhook is set on this bot token');
    expect(err.message).not.to.include('another bot instance');
    const other = toTelegramError(tgError(409, 'Conflict: terminated by other getUpdates request'));
    expect(other).not.to.be.instanceOf(TelegramWebhookSetError);
  });

  it('429 → RateLimitError carrying retry_after in ms', () => {
    const err = toTelegramError(tgError(429, 'Too Many Requests: retry after 7', { retry_after: 7 }));
    expect(err).to.be.instanceOf(RateLimitError);
    expect((err as RateLimitError).retryAfterMs).to.equal(7000);
  });

  it('5xx → TemporaryError, 403 → PermissionDeniedError, 400 → OperationalError', () => {
    expect(toTelegramError(tgError(502, 'Bad Gateway'))).to.be.instanceOf(TemporaryError);
    expect(toTelegramError(tgError(403, 'Forbidden: bot was blocked by the user'))).to.be.instanceOf(
      PermissionDeniedError,
    );
    const bad = toTelegramError(tgError(400, "Bad Request: can't parse entities"));
    expect(bad).to.be.instanceOf(OperationalError);
    expect(bad).not.to.be.instanceOf(TemporaryError);
  });

  it('a network failure → NetworkError, and the token in its URL never reaches the message', () => {
    const raw = Object.assign(
      new Error(`request to http://127.0.0.1:1/bot${TOKEN}/getUpdates failed, reason: connect ECONNREFUSED`),
      {
        name: 'FetchError',
        code: 'ECONNREFUSED',
      },
    );
    const err = toTelegramError(raw, 'getUpdates');
    expect(err).to.be.instanceOf(NetworkError);
    expect(err.message).not.to.include(TOKEN);
    expect(err.message).not.to.include('AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw');
    expect(JSON.stringify(err.context)).not.to.include(TOKEN);
  });
});
