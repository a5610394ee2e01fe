/**
 * The one in-memory stand-in for a durable Store (the `data` / `change` / `commit` part the outbox and the
 * supervisor use), for pure-logic tests that are not about files. Commits succeed at once; `commits` counts them;
 * `version` as Store's (moves once each mutation ended, undefined while one runs).
 */
export class MemoryStore<T> {
  commits = 0;
  private changes = 0;
  private mutating = 0;

  constructor(public data: T) {}

  change(mutate: (d: T) => void): void {
    this.apply(mutate);
  }

  /** As Store's: a mutation that throws rejects the commit (what it changed before the throw stays). */
  commit(mutate?: (d: T) => void): Promise<void> {
    try {
      if (mutate) this.apply(mutate);
    } catch (err) {
      return Promise.reject(err);
    }
    this.commits += 1;
    return Promise.resolve();
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  get version(): number | undefined {
    return this.mutating > 0 ? undefined : this.changes;
  }

  private apply(mutate: (d: T) => void): void {
    this.mutating += 1;
    try {
      mutate(this.data);
    } finally {
      this.mutating -= 1;
      this.changes += 1;
    }
  }
}
