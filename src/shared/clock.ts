/**
 * Time as a dependency: pure logic takes `now` as an argument, I/O code takes a Clock so tests can drive it.
 * The composition roots (the daemons' main.ts, the CLI) pass `systemClock`; tests pass a fake whose time moves by hand.
 */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /**
   * Calls `fn` once, `ms` from now, unless the returned function cancels it first (cancelling late or twice does
   * nothing). The callback form of `sleep`, for deadlines and re-dials armed by I/O classes. Like setTimeout, a
   * pending timer keeps the process alive (whoever arms one cancels it when it closes), unless armed with
   * `{ unref: true }`.
   */
  timer(ms: number, fn: () => void, options?: TimerOptions): CancelTimer;
}

export type CancelTimer = () => void;

export interface TimerOptions {
  /**
   * The timer alone does not keep the process alive (default false): for timers nobody waits for — a periodic
   * housekeeping check, a grace before destroying a socket — so a process whose work is done can still end.
   * A fake clock has no process to keep alive and ignores it.
   */
  unref?: boolean;
}

/** The UTC day (`YYYY-MM-DD`) of an epoch-ms time: the day of daily limits, figures and summaries. */
export function utcDay(time: number): string {
  return new Date(time).toISOString().slice(0, 10);
}

/**
 * Another party's clock seen from this host: its now is the host's now less `offsetMs()` (host − other, e.g. ccxt's
 * measured `timeDifference`, 0 until measured). Only `now` moves; waits and timers are durations, the same on both.
 * The engine compares the exchange's timestamps (candles, fills) with this, never with the host clock.
 */
export function offsetClock(host: Clock, offsetMs: () => number): Clock {
  return {
    now: () => host.now() - offsetMs(),
    sleep: (ms, signal) => host.sleep(ms, signal),
    timer: (ms, fn, options) => host.timer(ms, fn, options),
  };
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal?.reason ?? new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
  timer: (ms, fn, options) => {
    const timer = setTimeout(fn, ms);
    if (options?.unref) timer.unref();
    return () => clearTimeout(timer);
  },
};
