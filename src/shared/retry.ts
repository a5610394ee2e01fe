/**
 * The one retry helper and the one backoff. `retryDelayMs` is the backoff every retry or re-dial loop uses (`retry`,
 * `retryForever`, the IPC client's reconnect, the outbox, the Telegram poller…): exponential, capped by
 * `maxDelayMs`, with "equal jitter" — half of the step fixed, half random — so clients that failed together do not
 * all knock at once while the wait never drops below half the step; a `retryAfterMs` from the other side (HTTP
 * Retry-After, Telegram retry_after) wins over the computed delay, up to `maxRetryAfterMs` (default `maxDelayMs`).
 * A loop's counter of failures starts again after a success: the delay does too.
 *
 * `retry`: only `TemporaryError`s are retried (the class decides the policy, see errors.ts), anything else is
 * thrown at once. With `maxRetryAfterMs` set, a `retryAfterMs` beyond it is not waited at all: the error is thrown
 * (asking before the other side's wait is over only earns another refusal). Abortable: an aborted signal stops
 * waiting and throws the abort reason. Time comes from a `Clock`.
 */
import type { Clock } from './clock';
import { isTemporary } from './errors';

export interface RetryOptions {
  /** Attempts in total, the first one included (default 5). */
  maxAttempts?: number;
  /** Delay before the 2nd attempt; doubles each time (default 200 ms). */
  baseDelayMs?: number;
  /** Upper bound of any single computed wait, and of `retryAfterMs` unless `maxRetryAfterMs` is set (default 30 s). */
  maxDelayMs?: number;
  /**
   * Longest `retryAfterMs` waited out in full (the other side's "ask again in N s" is honoured, never cut short);
   * a longer one ends the retries with that error. Unset: `retryAfterMs` is capped at `maxDelayMs` like any wait.
   */
  maxRetryAfterMs?: number;
  /** Growth factor per attempt (default 2). */
  factor?: number;
  /** Stops the retries (and any wait) when aborted. */
  signal?: AbortSignal;
  /** The clock every wait runs on: the caller's, passed down from its composition root (no fallback). */
  clock: Clock;
  /** Random source in [0, 1) for the jitter (default Math.random); tests pin it. */
  random?: () => number;
  /** Extra veto on retrying a temporary error (e.g. a create with an UNKNOWN outcome must never be retried). */
  shouldRetry?: (err: unknown, attempt: number) => boolean;
  /** Called before each wait, for logging: the failed attempt (1-based), its error, and the wait. */
  onRetry?: (info: { attempt: number; error: unknown; delayMs: number }) => void;
}

/** The parameters of the one backoff: a loop's policy object. */
export interface BackoffPolicy {
  /** The step after the first failure. */
  baseDelayMs: number;
  /** Upper bound of any single wait, `retryAfterMs` included unless `maxRetryAfterMs` is set. */
  maxDelayMs: number;
  /** Upper bound of a wait set by `retryAfterMs` (default `maxDelayMs`). */
  maxRetryAfterMs?: number;
  /** Growth of the step per failure (default 2). */
  factor?: number;
}

/**
 * Delay before attempt `attempt + 1` after `attempt` consecutive failures (1 = the first failure): equal jitter
 * over the exponential step, never below `retryAfterMs`, never above `maxDelayMs` (a wait set by `retryAfterMs`:
 * never above `maxRetryAfterMs`, default `maxDelayMs`). Pure but for `random`, a source in [0, 1) that tests pin.
 */
export function retryDelayMs(
  attempt: number,
  opts: BackoffPolicy & { random: () => number; retryAfterMs?: number },
): number {
  // the exponent is bounded so a long outage never turns the step into Infinity (or NaN with a zero base)
  const exponent = Math.min(Math.max(0, Math.floor(attempt) - 1), 64);
  const step = Math.min(opts.maxDelayMs, opts.baseDelayMs * Math.pow(opts.factor ?? 2, exponent));
  const r = Math.min(Math.max(opts.random(), 0), 1);
  const jittered = step / 2 + r * (step / 2);
  if (opts.retryAfterMs !== undefined && opts.retryAfterMs > jittered) {
    const cap = Math.max(opts.maxDelayMs, opts.maxRetryAfterMs ?? opts.maxDelayMs);
    return Math.max(0, Math.min(cap, Math.round(opts.retryAfterMs)));
  }
  return Math.max(0, Math.min(opts.maxDelayMs, Math.round(jittered)));
}

export async function retry<T>(
  fn: (attempt: number, signal?: AbortSignal) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 5;
  const clock = options.clock;
  const delayOpts = {
    baseDelayMs: options.baseDelayMs ?? 200,
    maxDelayMs: options.maxDelayMs ?? 30_000,
    factor: options.factor ?? 2,
    random: options.random ?? Math.random,
    ...(options.maxRetryAfterMs !== undefined ? { maxRetryAfterMs: options.maxRetryAfterMs } : {}),
  };
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1)
    throw new RangeError('maxAttempts must be an integer ≥ 1');

  for (let attempt = 1; ; attempt++) {
    throwIfAborted(options.signal);
    try {
      return await fn(attempt, options.signal);
    } catch (err) {
      const retryable = isTemporary(err) && (options.shouldRetry?.(err, attempt) ?? true);
      if (!retryable || attempt >= maxAttempts || options.signal?.aborted) throw err;
      if (
        options.maxRetryAfterMs !== undefined &&
        err.retryAfterMs !== undefined &&
        err.retryAfterMs > options.maxRetryAfterMs
      )
        throw err;
      const delayMs = retryDelayMs(attempt, { ...delayOpts, retryAfterMs: err.retryAfterMs });
      options.onRetry?.({ attempt, error: err, delayMs });
      await clock.sleep(delayMs, options.signal);
    }
  }
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason ?? new Error('aborted');
}

export interface RetryForeverOptions {
  /** Delay before the 2nd attempt; doubles each time up to `maxDelayMs` (defaults 500 ms and 30 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Which failures are waited out; anything else is thrown at once (default: temporary errors). */
  retryable?: (err: unknown) => boolean;
  /** Stops the retries (and any wait) when aborted: the abort reason is thrown. */
  signal?: AbortSignal;
  /** The clock every wait runs on: the caller's, passed down from its composition root (no fallback). */
  clock: Clock;
  random?: () => number;
  /** Called before each wait (log it, alert once…). */
  onRetry?: (info: { attempt: number; error: unknown; delayMs: number }) => void;
}

/**
 * Retries until `fn` succeeds, for what must happen before anything else may (the exchange answering at start,
 * recovery's reads): the same backoff as `retry`, capped, with no attempt limit. Only `retryable` failures are
 * waited out; shutdown ends the wait through `signal`.
 */
export async function retryForever<T>(fn: () => Promise<T>, options: RetryForeverOptions): Promise<T> {
  const clock = options.clock;
  const retryable = options.retryable ?? isTemporary;
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(options.signal);
    try {
      return await fn();
    } catch (err) {
      if (!retryable(err) || options.signal?.aborted) throw err;
      const delayMs = retryDelayMs(attempt, {
        baseDelayMs: options.baseDelayMs ?? 500,
        maxDelayMs: options.maxDelayMs ?? 30_000,
        random: options.random ?? Math.random,
        retryAfterMs: isTemporary(err) ? err.retryAfterMs : undefined,
      });
      options.onRetry?.({ attempt, error: err, delayMs });
      await clock.sleep(delayMs, options.signal);
    }
  }
}
