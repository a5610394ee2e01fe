/**
 * The one long-polling loop of the bot (telegraf's own `launch()` retries every failure after a fixed 5 s, ends on
 * 409 and cannot use our poll timeout). Policy by error class (telegram-errors.ts):
 *  - 401 (AuthenticationError): fatal — `onFatal` (the daemon logs and exits 78); the loop ends.
 *  - 409 (TelegramConflictError): another poller uses the token — logged as an error, backs off (5 s → 60 s), retries.
 *  - 429 (RateLimitError): waits `retry_after`.
 *  - 5xx / network: exponential backoff with jitter (1 s → 60 s), reset after a good poll.
 * Updates are acknowledged (offset) as soon as they are received and handled concurrently, so a slow command
 * (a restart waiting for PM2) never holds up polling; a command is never executed twice.
 */
import { performance } from 'node:perf_hooks';
import type { Telegram } from 'telegraf';
import type { Update } from 'telegraf/types';
import { systemClock, type Clock } from '../../shared/clock';
import { AuthenticationError, RateLimitError, errorMessage } from '../../shared/errors';
import type { Logger } from '../../shared/logging/logger';
import { retryDelayMs } from '../../shared/retry';
import { TelegramConflictError, toTelegramError } from './telegram-errors';

export interface UpdatePollerOptions {
  telegram: Telegram;
  handle(update: Update): Promise<void>;
  logger: Logger;
  /** Long-poll timeout sent to getUpdates (config telegram.pollingTimeoutSec). */
  timeoutSec: number;
  /** Called once on 401; the loop has stopped. */
  onFatal(err: AuthenticationError): void;
  clock?: Clock;
  /** Backoff after 5xx/network errors: base and cap (default 1 s, 60 s). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Backoff while another poller holds the token (default 5 s, 60 s). */
  conflictBaseMs?: number;
  conflictMaxMs?: number;
  /** Least time between two polls when the server answers an empty poll at once (a proxy ignoring timeout); default 250 ms. */
  minPollIntervalMs?: number;
  /** How long stop() waits for running handlers (default 5 s). */
  drainTimeoutMs?: number;
}

const ALLOWED_UPDATES = ['message', 'callback_query'] as const;

export class UpdatePoller {
  private readonly abort = new AbortController();
  private readonly clock: Clock;
  private readonly inFlight = new Set<Promise<void>>();
  private loopDone?: Promise<void>;
  private offset = 0;
  private failures = 0;
  private conflicts = 0;

  constructor(private readonly opts: UpdatePollerOptions) {
    this.clock = opts.clock ?? systemClock;
  }

  get running(): boolean {
    return this.loopDone !== undefined && !this.abort.signal.aborted;
  }

  /** Starts the loop (once: a poller is never restarted; exactly one getUpdates runs at a time). */
  start(): void {
    if (this.loopDone) throw new Error('UpdatePoller already started');
    this.loopDone = this.loop();
  }

  /** Stops polling, lets running handlers finish (bounded), confirms the offset to the server. Idempotent. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loopDone;
    const drain = Promise.allSettled([...this.inFlight]);
    const timeout = new Promise((r) => setTimeout(r, this.opts.drainTimeoutMs ?? 5_000).unref());
    await Promise.race([drain, timeout]);
    if (this.offset > 0) {
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
        updates = await this.opts.telegram.callApi(
          'getUpdates',
          { timeout: this.opts.timeoutSec, offset: this.offset, allowed_updates: [...ALLOWED_UPDATES] },
          { signal: signal as never },
        );
      } catch (err) {
        if (signal.aborted) return;
        if (!(await this.onPollError(err))) return;
        continue;
      }
      if (this.failures > 0 || this.conflicts > 0)
        this.opts.logger.info('Telegram polling recovered', {
          failures: this.failures,
          conflicts: this.conflicts,
        });
      this.failures = 0;
      this.conflicts = 0;
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

  /** Applies the error policy; false ends the loop. */
  private async onPollError(raw: unknown): Promise<boolean> {
    const err = toTelegramError(raw, 'getUpdates');
    const log = this.opts.logger;
    if (err instanceof AuthenticationError) {
      log.error(`${err.message}. Telegram bot stopped: fix TELEGRAM_BOT_TOKEN and restart.`, { code: 401 });
      this.abort.abort();
      this.opts.onFatal(err);
      return false;
    }
    if (err instanceof TelegramConflictError) {
      this.conflicts += 1;
      const wait = retryDelayMs(this.conflicts, {
        baseDelayMs: this.opts.conflictBaseMs ?? 5_000,
        maxDelayMs: this.opts.conflictMaxMs ?? 60_000,
        factor: 2,
        random: Math.random,
      });
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
      return true;
    }
    this.failures += 1;
    const retryAfterMs = err instanceof RateLimitError ? err.retryAfterMs : undefined;
    const wait =
      retryAfterMs ??
      retryDelayMs(this.failures, {
        baseDelayMs: this.opts.backoffBaseMs ?? 1_000,
        maxDelayMs: this.opts.backoffMaxMs ?? 60_000,
        factor: 2,
        random: Math.random,
      });
    if (this.failures === 1 || this.failures % 10 === 0)
      log.warn('Telegram polling failed, retrying', {
        error: err.message,
        failures: this.failures,
        retryInMs: wait,
      });
    await this.sleep(wait);
    return true;
  }

  private async sleep(ms: number): Promise<void> {
    await this.clock.sleep(ms, this.abort.signal).catch(() => undefined);
  }
}
