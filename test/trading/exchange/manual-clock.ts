import type { Clock } from '../../../src/shared/clock';

/** A clock tests move by hand; sleep advances it instead of waiting. */
export class ManualClock implements Clock {
  /** Every sleep asked for, in order (a retry's waits). */
  readonly sleeps: number[] = [];

  constructor(public time: number) {}

  now(): number {
    return this.time;
  }

  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.time += ms;
  }

  advance(ms: number): void {
    this.time += ms;
  }
}
