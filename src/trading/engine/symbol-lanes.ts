/**
 * Who is working on which symbol's orders right now: one lane per symbol. Work runs holding the lanes of the
 * symbols whose orders it may change (a symbol's tick, the account's settle of a symbol's orders, the never-placed
 * recheck); other work finds them busy and skips them, so no order is synced by two callers at once and one slow
 * symbol holds only its own lane. Reconcile waits until every lane is free; close-all waits at most the lookup
 * deadline, then leaves a symbol still busy alone (OperatorActions.closeAll).
 */
export class SymbolLanes {
  /** The running work of each held lane (never rejects). */
  private readonly held = new Map<string, Promise<void>>();

  busy(lane: string): boolean {
    return this.held.has(lane);
  }

  /**
   * Runs `fn` holding `lanes` until it settles — or, when one of them is busy, runs nothing and returns undefined.
   * The result is `fn`'s, rejection included.
   */
  run<T>(lanes: readonly string[], fn: () => Promise<T>): Promise<T> | undefined {
    if (lanes.some((lane) => this.held.has(lane))) return undefined;
    const result = fn();
    const done: Promise<void> = result
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        for (const lane of lanes) if (this.held.get(lane) === done) this.held.delete(lane);
      });
    for (const lane of lanes) this.held.set(lane, done);
    return result;
  }

  /** Resolves once no lane is held (work started meanwhile included). */
  async idle(): Promise<void> {
    while (this.held.size > 0) await Promise.all([...this.held.values()]);
  }
}

/** The never-placed recheck's own lane (no symbol has this name): one recheck at a time, none during a settle. */
export const RECHECK_LANE = 'never-placed recheck';
