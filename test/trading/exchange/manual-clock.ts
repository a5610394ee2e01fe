import type { CancelTimer, Clock } from '../../../src/shared/clock';

/** A clock tests move by hand; sleep advances it instead of waiting. */
export class ManualClock implements Clock {
  /** Every sleep asked for, in order (a retry's waits). */
  readonly sleeps: number[] = [];
  private timers: Array<{ at: number; fn: () => void }> = [];

  constructor(public time: number) {}

  now(): number {
    return this.time;
  }

  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.time += ms;
  }

  /** Timers fire when advance() reaches their deadline. */
  timer(ms: number, fn: () => void): CancelTimer {
    const timer = { at: this.time + ms, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  advance(ms: number): void {
    this.time += ms;
    const due = this.timers.filter((t) => t.at <= this.time);
    this.timers = this.timers.filter((t) => t.at > this.time);
    for (const t of due) t.fn();
  }
}
