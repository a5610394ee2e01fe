/**
 * The one in-memory stand-in for a durable Store (the `data` / `change` / `commit` part the outbox and the
 * supervisor use), for pure-logic tests that are not about files. Commits succeed at once; `commits` counts them;
 * `version` moves at each mutation applied, as Store's does.
 */
export class MemoryStore<T> {
  commits = 0;
  version = 0;

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

  private apply(mutate: (d: T) => void): void {
    try {
      mutate(this.data);
    } finally {
      this.version += 1;
    }
  }
}
