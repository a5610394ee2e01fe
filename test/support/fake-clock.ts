/**
 * The one fake Clock of the tests (the full interface: now, sleep, timer). Time moves only when the test moves
 * it: `advance()` steps it forward and fires the timers and sleeps that came due, letting promise chains (and
 * real file writes) run between steps; `time = t` jumps without firing anything.
 *
 * `sleep` either waits for `advance()` like a timer (default: the test decides when a wait ends) or, with
 * `{ sleep: 'advances' }`, moves time by itself and ends at once (a retry's waits, a simulated latency: code that
 * only sleeps and has nothing else to wait for). Either way every sleep asked for is recorded in `sleeps`.
 */
import type { CancelTimer, Clock } from '../../src/shared/clock';

export interface FakeClockOptions {
  sleep?: 'waits' | 'advances';
}

interface PendingTimer {
  until: number;
  fire: () => void;
}

export const FAKE_CLOCK_START = 1_700_000_000_000;

export class FakeClock implements Clock {
  /** Every sleep asked for, in order. */
  readonly sleeps: number[] = [];
  private pending: PendingTimer[] = [];
  private readonly sleepAdvances: boolean;

  constructor(
    private t = FAKE_CLOCK_START,
    options: FakeClockOptions = {},
  ) {
    this.sleepAdvances = options.sleep === 'advances';
  }

  now(): number {
    return this.t;
  }

  /** The current time; setting it jumps there without firing timers (the next `advance` fires what is due). */
  get time(): number {
    return this.t;
  }

  set time(t: number) {
    this.t = t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const aborted = (): Error => (signal?.reason as Error | undefined) ?? new Error('aborted');
      if (signal?.aborted) return reject(aborted());
      this.sleeps.push(ms);
      if (this.sleepAdvances) {
        this.t += ms;
        return resolve();
      }
      const cancel = this.timer(ms, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      const onAbort = (): void => {
        cancel();
        reject(aborted());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  timer(ms: number, fn: () => void): CancelTimer {
    const timer: PendingTimer = { until: this.t + ms, fire: fn };
    this.pending.push(timer);
    return () => {
      this.pending = this.pending.filter((s) => s !== timer);
    };
  }

  /** Timers and waiting sleeps not yet fired. */
  get pendingTimers(): number {
    return this.pending.length;
  }

  /** Moves time forward in steps of `stepMs`, firing what came due and letting promise chains run between steps. */
  async advance(ms: number, stepMs = 10): Promise<void> {
    const end = this.t + ms;
    do {
      this.t = Math.min(end, this.t + stepMs);
      const due = this.pending.filter((s) => s.until <= this.t);
      this.pending = this.pending.filter((s) => s.until > this.t);
      for (const s of due) s.fire();
      await flush();
    } while (this.t < end);
  }
}

/** Lets pending promise callbacks and I/O completions run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}
