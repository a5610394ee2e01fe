/**
 * The one long-polling loop of the bot (telegraf's own `launch()` retries every failure after a fixed 5 s, ends on
 * 409 and cannot use our poll timeout). Policy by error class (telegram-errors.ts) — the loop never ends by itself
 * and the service never exits for a Telegram-side problem (it keeps supervising; alerts fall back to the log):
 *  - 401 (AuthenticationError): the token is refused — reported (`onHealth`), retried with a long backoff
 *    (30 s → 10 min): a token revoked and restored, or a Bot API mistake, heals without a restart.
 *  - 409 (TelegramConflictError): another poller uses the token — reported, backs off (5 s → 60 s), retries.
 *    A 409 whose description names a webhook (TelegramWebhookSetError: getUpdates "will not work if an outgoing
 *    webhook is set up") is no other poller: the webhook is deleted (pending updates kept, as telegraf's launch()
 *    does; bot.ts deletes it once before the first poll too), then the same backoff and retry.
 *  - 429 (RateLimitError): waits `retry_after`.
 *  - 5xx / network: exponential backoff with jitter (1 s → 60 s). A poll not answered within its long-poll timeout
 *    and a margin (5 s) is a network failure too: given up (timed-call.ts), logged, asked again — a half-open
 *    connection would otherwise hold it for telegraf's 500 s client timeout, the bot deaf meanwhile.
 * Each of the three backoffs (the one of shared/retry.ts) counts the failures of its kind since Telegram last
 * answered otherwise: a good poll starts all three from the first step again, a 401 or a 409 the other two.
 * Updates are acknowledged (offset) as soon as they are received and handled concurrently, so a slow command
 * (a restart waiting for PM2) never holds up polling; a command is never executed twice.
 */
import { performance } from 'node:perf_hooks';
import type { Telegram } from 'telegraf';
import type { Update } from 'telegraf/types';
import type { CancelTimer, Clock } from '../../shared/clock';
import { AuthenticationError, ByNinjaError, RateLimitError, errorMessage } from '../../shared/errors';
import type { Logger } from '../../shared/logging/logger';
import { retryDelayMs } from '../../shared/retry';
import type { DeliveryOutcome } from '../notify/delivery-health';
import { TelegramConflictError, TelegramWebhookSetError, toTelegramError } from './telegram-errors';
import { timedCall } from './timed-call';

export interface UpdatePollerOptions {
  telegram: Telegram;
  handle(update: Update): Promise<void>;
  logger: Logger;
  /** Long-poll timeout sent to getUpdates (config telegram.pollingTimeoutSec). */
  timeoutSec: number;
  /** How each poll went, for the service's Telegram health (DeliveryHealth.report). */
  onHealth?(outcome: DeliveryOutcome): void;
  clock: Clock;
  /** Backoff after 5xx/network errors: base and cap (default 1 s, 60 s). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Backoff while another poller holds the token (default 5 s, 60 s). */
  conflictBaseMs?: number;
  conflictMaxMs?: number;
  /** Backoff while the token is refused (default 30 s, 10 min). */
  unauthorizedBaseMs?: number;
  unauthorizedMaxMs?: number;
  /** Least time between two polls when the server answers an empty poll at once (a proxy ignoring timeout); default 250 ms. */
  minPollIntervalMs?: number;
  /**
   * A poll not answered within its long-poll timeout and this margin is given up (a half-open connection: no
   * FIN, no RST), logged like a network failure and asked again after the backoff (default 5 s).
   */
  pollMarginMs?: number;
  /** How long stop() waits for running handlers (default 5 s). */
  drainTimeoutMs?: number;
  /** Jitter source of the backoffs, in [0, 1) (default Math.random); tests pin it. */
  random?: () => number;
}

const ALLOWED_UPDATES = ['message', 'callback_query'] as const;
/** Time a poll may take past its long-poll timeout (the network's round trip, a busy Bot API) before it is given up. */
const POLL_MARGIN_MS = 5_000;

export class UpdatePoller {
  private readonly abort = new AbortController();
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly inFlight = new Set<Promise<void>>();
  private loopDone?: Promise<void>;
  private offset = 0;
  private failures = 0;
  private conflicts = 0;
  private refusals = 0;
  private halted = false;

  constructor(private readonly opts: UpdatePollerOptions) {
    this.clock = opts.clock;
    this.random = opts.random ?? Math.random;
  }

  get running(): boolean {
    return this.loopDone !== undefined && !this.abort.signal.aborted;
  }

  /** Starts the loop (once: a poller is never restarted; exactly one getUpdates runs at a time). */
  start(): void {
    if (this.loopDone) throw new Error('UpdatePoller already started');
    this.loopDone = this.loop();
  }

  /**
   * Stops polling at once, without waiting (a fatal error): the poll in flight is abandoned, no update is handed on
   * and none acknowledged any more — what was not acknowledged comes again at the next start. Idempotent.
   */
  halt(): void {
    this.halted = true;
    this.abort.abort();
  }

  /** Stops polling, lets running handlers finish (bounded), confirms the offset to the server. Idempotent. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loopDone;
    const drain = Promise.allSettled([...this.inFlight]);
    let cancelTimeout: CancelTimer | undefined;
    const timeout = new Promise<void>(
      (r) => (cancelTimeout = this.clock.timer(this.opts.drainTimeoutMs ?? 5_000, r)),
    );
    await Promise.race([drain, timeout]);
    cancelTimeout?.();
    if (this.offset > 0 && !this.halted) {
      // Tell the server what was received, so the next start does not get those updates again.
      await this.opts.telegram
        .callApi(
          'getUpdates',
          { offset: this.offset, limit: 1, timeout: 0 },
          { signal: AbortSignal.timeout(2_000) as never },
        )
        .catch(() => undefined);
    }
  }

  private async loop(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      // Monotonic: a wall-clock jump (NTP) must not turn the pause between polls into a long sleep.
      const startedAt = performance.now();
      let updates: Update[];
      try {
        // the server answers within its long-poll timeout: a poll past it and the margin is given up and asked again
        updates = await timedCall(
          'getUpdates',
          this.opts.timeoutSec * 1000 + (this.opts.pollMarginMs ?? POLL_MARGIN_MS),
          this.clock,
          (poll) =>
            this.opts.telegram.callApi(
              'getUpdates',
              { timeout: this.opts.timeoutSec, offset: this.offset, allowed_updates: [...ALLOWED_UPDATES] },
              { signal: poll as never },
            ),
          signal,
        );
      } catch (err) {
        if (signal.aborted) return;
        await this.onPollError(err);
        continue;
      }
      // halted or stopped while the answer came: its updates are not ours to hand on any more
      if (signal.aborted) return;
      if (this.failures > 0 || this.conflicts > 0 || this.refusals > 0)
        this.opts.logger.info('Telegram polling recovered', {
          failures: this.failures,
          conflicts: this.conflicts,
          refusals: this.refusals,
        });
      this.failures = 0;
      this.conflicts = 0;
      this.refusals = 0;
      this.opts.onHealth?.({ kind: 'token-ok', polled: true });
      for (const update of updates) {
        this.offset = Math.max(this.offset, update.update_id + 1);
        this.dispatch(update);
      }
      const elapsed = performance.now() - startedAt;
      const minGap = this.opts.minPollIntervalMs ?? 250;
      if (updates.length === 0 && elapsed < minGap) await this.sleep(minGap - elapsed);
    }
  }

  private dispatch(update: Update): void {
    const p = this.opts
      .handle(update)
      .catch((err: unknown) => {
        this.opts.logger.error('Telegram update handler failed', {
          updateId: update.update_id,
          error: errorMessage(err),
        });
      })
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /** Applies the error policy: reports, waits the backoff its class calls for. */
  private async onPollError(raw: unknown): Promise<void> {
    // timedCall's failures are translated already
    const err = raw instanceof ByNinjaError ? raw : toTelegramError(raw, 'getUpdates');
    const log = this.opts.logger;
    if (err instanceof AuthenticationError) {
      // an answer: a network outage (and a conflict) is over, their backoff starts from the first step again
      this.failures = 0;
      this.conflicts = 0;
      this.refusals += 1;
      this.opts.onHealth?.({ kind: 'unauthorized', detail: err.message });
      const wait = retryDelayMs(this.refusals, {
        baseDelayMs: this.opts.unauthorizedBaseMs ?? 30_000,
        maxDelayMs: this.opts.unauthorizedMaxMs ?? 600_000,
        factor: 2,
        random: this.random,
      });
      if (this.refusals === 1 || this.refusals % 10 === 0)
        log.error(`${err.message}: commands cannot be received; fix TELEGRAM_BOT_TOKEN in .env`, {
          code: 401,
          refusals: this.refusals,
          retryInMs: wait,
        });
      await this.sleep(wait);
      return;
    }
    if (err instanceof TelegramConflictError) {
      // an answer, and the token is accepted: the network and token backoffs start from the first step again
      this.failures = 0;
      this.refusals = 0;
      this.conflicts += 1;
      this.opts.onHealth?.({ kind: 'conflict', detail: err.message });
      const wait = retryDelayMs(this.conflicts, {
        baseDelayMs: this.opts.conflictBaseMs ?? 5_000,
        maxDelayMs: this.opts.conflictMaxMs ?? 60_000,
        factor: 2,
        random: this.random,
      });
      if (err instanceof TelegramWebhookSetError) {
        await this.deleteWebhook(err.message, wait);
        await this.sleep(wait);
        return;
      }
      // Every conflict is worth a line only at first and then every 10th: it usually lasts until a human acts.
      if (this.conflicts === 1 || this.conflicts % 10 === 0) {
        log.error(
          'Another process is polling Telegram with this bot token (409 Conflict): only one bot instance may run',
          {
            conflicts: this.conflicts,
            retryInMs: wait,
          },
        );
      }
      await this.sleep(wait);
      return;
    }
    this.failures += 1;
    if (!(err instanceof RateLimitError)) this.opts.onHealth?.({ kind: 'unreachable', detail: err.message });
    const retryAfterMs = err instanceof RateLimitError ? err.retryAfterMs : undefined;
    const wait =
      retryAfterMs ??
      retryDelayMs(this.failures, {
        baseDelayMs: this.opts.backoffBaseMs ?? 1_000,
        maxDelayMs: this.opts.backoffMaxMs ?? 60_000,
        factor: 2,
        random: this.random,
      });
    if (this.failures === 1 || this.failures % 10 === 0)
      log.warn('Telegram polling failed, retrying', {
        error: err.message,
        failures: this.failures,
        retryInMs: wait,
      });
    await this.sleep(wait);
  }

  /**
   * The cure of a webhook's 409: deleteWebhook, pending updates kept (drop_pending_updates false: commands sent
   * meanwhile are still answered). Logged at first and every 10th: a webhook set again and again means another
   * deployment of the bot still runs with this token.
   */
  private async deleteWebhook(conflict: string, retryInMs: number): Promise<void> {
    const log = this.opts.logger;
    const loud = this.conflicts === 1 || this.conflicts % 10 === 0;
    try {
      await this.opts.telegram.deleteWebhook({ drop_pending_updates: false });
      if (loud)
        log.warn(
          `${conflict}: deleted it (pending updates kept) and polling again. If it comes back, another deployment of this bot sets it: stop that one`,
          { conflicts: this.conflicts, retryInMs },
        );
    } catch (raw) {
      if (loud)
        log.error(`${conflict}: deleting it failed, retrying`, {
          error: toTelegramError(raw, 'deleteWebhook').message,
          conflicts: this.conflicts,
          retryInMs,
        });
    }
  }

  private async sleep(ms: number): Promise<void> {
    await this.clock.sleep(ms, this.abort.signal).catch(() => undefined);
  }
}
