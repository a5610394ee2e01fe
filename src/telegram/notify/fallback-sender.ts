/**
 * The outbox's sender when a bot token is configured: Telegram first, the log when Telegram cannot take alerts for
 * a reason no retry of this message fixes — the token is refused (401) or the alert chat refuses the bot (403, or
 * a 400 that refuses the whole chat: "chat not found", "have no rights to send a message"... — the sender's
 * PermissionDeniedError, see bot/telegram-errors.ts). Such an alert is written to the log (delivered: the operator
 * finds it in `pm2 logs`), the problem is reported to DeliveryHealth, and Telegram is tried again for a later alert after a backoff (the one
 * policy of shared/retry.ts), so delivery to the chat resumes by itself once it works.
 *
 * Temporary failures (network, 5xx, 429) are thrown on to the outbox, which keeps the alert and retries it: an
 * outage delays alerts, never loses them.
 */
import type { Clock } from '../../shared/clock';
import { AuthenticationError, PermissionDeniedError, errorMessage, isTemporary } from '../../shared/errors';
import { retryDelayMs } from '../../shared/retry';
import type { DeliveryHealth } from './delivery-health';
import type { MessageSender } from './notification';

export interface FallbackSenderOptions {
  telegram: MessageSender;
  log: MessageSender;
  health: DeliveryHealth;
  clock: Clock;
  /** Backoff between tries of Telegram while it refuses: first delay (default 30 s), cap (default 10 min). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  random?: () => number;
}

export class FallbackSender implements MessageSender {
  private readonly clock: Clock;
  private refusals = 0;
  private nextTryAt = 0;

  constructor(private readonly opts: FallbackSenderOptions) {
    this.clock = opts.clock;
  }

  async send(chatId: string, html: string, opts: { silent?: boolean }): Promise<void> {
    const { health } = this.opts;
    const refusing = health.state.alerts === 'log' && !health.state.logOnlyReason;
    if (refusing && this.clock.now() < this.nextTryAt) return this.opts.log.send(chatId, html, opts);
    try {
      await this.opts.telegram.send(chatId, html, opts);
    } catch (err) {
      const refusal = refusalOf(err);
      if (refusal) {
        health.report(refusal);
        this.refusals += 1;
        this.nextTryAt =
          this.clock.now() +
          retryDelayMs(this.refusals, {
            baseDelayMs: this.opts.retryBaseMs ?? 30_000,
            maxDelayMs: this.opts.retryMaxMs ?? 600_000,
            factor: 2,
            random: this.opts.random ?? Math.random,
          });
        return this.opts.log.send(chatId, html, opts);
      }
      if (isTemporary(err)) health.report({ kind: 'unreachable', detail: errorMessage(err) });
      throw err;
    }
    this.refusals = 0;
    this.nextTryAt = 0;
    health.report({ kind: 'sent' });
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
