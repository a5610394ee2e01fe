/** A manual Clock for tests: time moves only through advance(); sleeps and timers fire when their deadline passes. */
import type { CancelTimer, Clock } from '../../../src/shared/clock';

interface Sleeper {
  until: number;
  fire: () => void;
}

export class FakeClock implements Clock {
  private sleepers: Sleeper[] = [];

  constructor(private t = 1_700_000_000_000) {}

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(new Error('aborted'));
      const cancel = this.timer(ms, resolve);
      signal?.addEventListener(
        'abort',
        () => {
          cancel();
          reject(new Error('aborted'));
        },
        { once: true },
      );
    });
  }

  timer(ms: number, fn: () => void): CancelTimer {
    const sleeper: Sleeper = { until: this.t + ms, fire: fn };
    this.sleepers.push(sleeper);
    return () => {
      this.sleepers = this.sleepers.filter((s) => s !== sleeper);
    };
  }

  /** Timers and sleeps not yet fired. */
  get pendingTimers(): number {
    return this.sleepers.length;
  }

  /** Moves time forward in steps, letting promise chains run between steps. */
  async advance(ms: number, stepMs = 10): Promise<void> {
    const end = this.t + ms;
    while (this.t < end) {
      this.t = Math.min(end, this.t + stepMs);
      const due = this.sleepers.filter((s) => s.until <= this.t);
      this.sleepers = this.sleepers.filter((s) => s.until > this.t);
      for (const s of due) s.fire();
      await flush();
    }
  }
}

export async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}
