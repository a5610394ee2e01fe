/**
 * Ticks and the operator's actions take turns, one after the other, and each symbol's work holds its lane
 * (symbol-lanes.ts) beyond its turn when it outlasts it. Three ways to take a turn:
 * - `inTurn`: after the tick or action before it (a tick: it never waits for a busy lane, it skips it);
 * - `serialize`: once every lane is free too (reconcile compares state between ticks, never across a symbol's work
 *   that outlasted its tick: no half-placed order in a comparison); that wait is bounded by the lane work's own
 *   deadlines (a lookup's, a create's), and ticks wait behind it meanwhile;
 * - `afterBusyWork`: waits for the lanes at most `busyWaitMs` (the lookup deadline: a lookup is given up by then, so
 *   that work is mostly done), then runs anyway — close-all and the operator's settle leave a symbol still busy alone.
 */
import type { Clock } from '../../shared/clock';
import { withDeadline } from '../../shared/deadline';
import { SymbolLanes } from './symbol-lanes';

export class LoopTurns {
  /** The work on each symbol's orders while it runs; a tick skips a busy symbol. */
  readonly lanes = new SymbolLanes();
  /** Ticks and operator actions, one after the other. */
  private lane: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly clock: Clock,
    private readonly busyWaitMs: number,
  ) {}

  /** Runs `fn` after the tick or operator action before it. */
  inTurn<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lane.then(fn, fn);
    this.lane = run.catch(() => undefined);
    return run;
  }

  /** Runs `fn` in turn once every symbol's lane is free. */
  serialize<T>(fn: () => Promise<T>): Promise<T> {
    return this.inTurn(() => this.lanes.idle().then(fn));
  }

  /**
   * Waits for lane work at most `busyWaitMs` (a tick for its symbols' work and the recheck: work still running then
   * keeps its lane, and the next ticks skip it); never rejects.
   */
  async waitAtMost(work: Promise<unknown>): Promise<void> {
    await withDeadline(work, this.busyWaitMs, () => new Error('still working'), this.clock).catch(
      () => undefined,
    );
  }

  /** Runs `fn` in turn once every lane is free or `busyWaitMs` has passed, whichever comes first. */
  afterBusyWork<T>(fn: () => Promise<T>): Promise<T> {
    return this.inTurn(async () => {
      await this.waitAtMost(this.lanes.idle());
      return fn();
    });
  }
}
