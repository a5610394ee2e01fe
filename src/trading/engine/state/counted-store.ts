/**
 * The trading state's store as the order side holds it (the state gateway and the event outbox), counting the
 * changes applied through it: its `version` moves once each `change` or `commit` mutation ended — when the mutation
 * runs, whatever wraps the store (a test's failing store applies it itself) — and with the store's own version (a
 * commit made on the store directly, as the daemon's identity binding); undefined while a mutation runs through
 * either. A read derived from `data` (the order book's sorted orders) stays valid while `version` has not moved.
 */
import type { TradingState } from './trading-state';
import type { StateStore } from './state-gateway';

export class CountedStore implements StateStore {
  private changes = 0;
  private mutating = 0;

  constructor(private readonly inner: StateStore) {}

  get version(): number | undefined {
    const inner = this.inner.version;
    // both counts only grow, so their sum moves when either does
    return this.mutating > 0 || inner === undefined ? undefined : this.changes + inner;
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
      this.mutating += 1;
      try {
        mutate(d);
      } finally {
        this.mutating -= 1;
        this.changes += 1;
      }
    };
  }
}
