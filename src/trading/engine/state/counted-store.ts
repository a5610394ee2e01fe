/**
 * The trading state's store, counting the changes applied through it: `version` moves each time a `change` or a
 * `commit` applies its mutation — when the mutation runs, whatever wraps the store (a test's failing store applies
 * it itself) — and when the store under it counts one of its own (Store `version`: a commit made on the store
 * directly, as the daemon's identity binding). A read derived from `data` (the order book's pending orders) stays
 * valid while `version` has not moved.
 */
import type { TradingState } from './trading-state';
import type { StateStore } from './state-gateway';

export class CountedStore implements StateStore {
  private changes = 0;

  constructor(private readonly inner: StateStore) {}

  /** Moves whenever the state may have changed: each mutation applied (even one that threw halfway) moves it. */
  get version(): number {
    // both counts only grow, so their sum moves when either does
    return this.changes + (this.inner.version ?? 0);
  }

  get data(): TradingState {
    return this.inner.data;
  }

  change(mutate: (d: TradingState) => void): void {
    this.inner.change(this.counted(mutate));
  }

  commit(mutate?: (d: TradingState) => void): Promise<void> {
    return this.inner.commit(mutate && this.counted(mutate));
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  private counted(mutate: (d: TradingState) => void): (d: TradingState) => void {
    return (d) => {
      try {
        mutate(d);
      } finally {
        this.changes += 1;
      }
    };
  }
}
