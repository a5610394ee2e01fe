/**
 * The outbox's sender when a bot token is configured: Telegram first, the log when Telegram cannot take alerts for
 * a reason no retry of this message fixes — the token is refused (401) or the alert chat refuses the bot (403, or
 * a 400 that refuses the whole chat: "chat not found", "have no rights to send a message"... — the sender's
 * PermissionDeniedError, see bot/telegram-errors.ts). Such an alert is written to the log (delivered: the operator
 * finds it in `pm2 logs`), the problem is reported to DeliveryHealth, and Telegram is tried again for a later alert after a backoff (the one
 * policy of shared/retry.ts), so delivery to the chat resumes by itself once it works. Such a send answers `'logged'`:
 * the outbox notes the alert in the chat's log-only record, and the chat gets a digest of them once it takes a message
 * again (log-digest.ts).
 *
 * A refused token stops every chat; a chat refusing the bot stops only itself: each chat has its own backoff, so a
 * chat that refuses (the operator's private chat that blocked the bot, a group it was removed from) never sends
 * another chat's alerts to the log. Only the alert chat's outcomes (`isAlertChat`) say whether alerts reach Telegram
 * (DeliveryHealth); another chat's refusal is logged, its success proves the token.
 *
 * Temporary failures (network, 5xx, 429) are thrown on to the outbox, which keeps the alert and retries it: an
 * outage delays alerts, never loses them.
 */
import type { Clock } from '../../shared/clock';
import { AuthenticationError, PermissionDeniedError, errorMessage, isTemporary } from '../../shared/errors';
import type { Logger } from '../../shared/logging/logger';
import { retryDelayMs } from '../../shared/retry';
import type { DeliveryHealth } from './delivery-health';
import type { MessageSender, SendOutcome } from './notification';

export interface FallbackSenderOptions {
  telegram: MessageSender;
  log: MessageSender;
  health: DeliveryHealth;
  clock: Clock;
  /** Backoff between tries of Telegram while it refuses: first delay (default 30 s), cap (default 10 min). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  random?: () => number;
  /** Is this the alert chat (TELEGRAM_CHAT_ID, or where Telegram moved it)? Default: every chat is. */
  isAlertChat?: (chatId: string) => boolean;
  /** Where another chat's refusal is said (default: nowhere). */
  logger?: Logger;
}

/** A refusal being waited out: how many in a row, and when Telegram is tried again. */
interface Backoff {
  refusals: number;
  nextTryAt: number;
}

export class FallbackSender implements MessageSender {
  private readonly clock: Clock;
  /** The token refused (401): every chat waits. */
  private token: Backoff = { refusals: 0, nextTryAt: 0 };
  /** Chats refusing the bot (403, a 400 refusing the chat): each waits alone. */
  private readonly chats = new Map<string, Backoff>();

  constructor(private readonly opts: FallbackSenderOptions) {
    this.clock = opts.clock;
  }

  async send(
    chatId: string,
    html: string,
    opts: { silent?: boolean; plain?: boolean },
  ): Promise<SendOutcome> {
    const { health } = this.opts;
    const alertChat = this.opts.isAlertChat?.(chatId) ?? true;
    const now = this.clock.now();
    // the token's wait ends early once another Bot API user (getMe, a poll) found the token good again
    const tokenRefused = health.state.problem?.kind === 'unauthorized' && now < this.token.nextTryAt;
    if (tokenRefused || now < (this.chats.get(chatId)?.nextTryAt ?? 0)) return this.toLog(chatId, html, opts);
    try {
      await this.opts.telegram.send(chatId, html, opts);
    } catch (err) {
      const refusal = refusalOf(err);
      if (refusal) {
        if (refusal.kind === 'unauthorized') {
          this.token = this.backedOff(this.token);
          health.report(refusal);
        } else {
          this.chats.set(chatId, this.backedOff(this.chats.get(chatId)));
          if (alertChat) health.report(refusal);
          else
            this.opts.logger?.warn(`Telegram chat ${chatId} refuses the bot: its messages go to the log`, {
              chatId,
              error: refusal.detail,
            });
        }
        return this.toLog(chatId, html, opts);
      }
      if (isTemporary(err)) health.report({ kind: 'unreachable', detail: errorMessage(err) });
      throw err;
    }
    this.token = { refusals: 0, nextTryAt: 0 };
    this.chats.delete(chatId);
    // another chat taking a message proves the token, not the alert chat
    health.report(alertChat ? { kind: 'sent' } : { kind: 'token-ok', polled: false });
    return 'sent';
  }

  /**
   * A message to `chatId` went through beside this sender (a command's reply): the chat's wait ends, its next alert is
   * tried on Telegram at once. A refused token's wait is not this chat's to end.
   */
  chatTakesMessages(chatId: string): void {
    this.chats.delete(chatId);
  }

  private async toLog(chatId: string, html: string, opts: { silent?: boolean }): Promise<SendOutcome> {
    await this.opts.log.send(chatId, html, opts);
    return 'logged';
  }

  private backedOff(last: Backoff | undefined): Backoff {
    const refusals = (last?.refusals ?? 0) + 1;
    return {
      refusals,
      nextTryAt:
        this.clock.now() +
        retryDelayMs(refusals, {
          baseDelayMs: this.opts.retryBaseMs ?? 30_000,
          maxDelayMs: this.opts.retryMaxMs ?? 600_000,
          factor: 2,
          random: this.opts.random ?? Math.random,
        }),
    };
  }
}

/**
 * 401 / 403 / a 400 refusing the whole chat: nothing this message can fix. The class decides — the Bot API's answers
 * are classified in one place, bot/telegram-errors.ts (a 400 refusing the chat is a PermissionDeniedError there).
 */
function refusalOf(err: unknown): { kind: 'unauthorized' | 'chat-refused'; detail: string } | undefined {
  if (err instanceof AuthenticationError) return { kind: 'unauthorized', detail: errorMessage(err) };
  if (err instanceof PermissionDeniedError) return { kind: 'chat-refused', detail: errorMessage(err) };
  return undefined;
}
