/**
 * The one in-memory stand-in for a durable Store (the `data` / `change` / `commit` part the outbox and the
 * supervisor use), for pure-logic tests that are not about files. Commits succeed at once; `commits` counts them.
 */
export class MemoryStore<T> {
  commits = 0;

  constructor(public data: T) {}

  change(mutate: (d: T) => void): void {
    mutate(this.data);
  }

  commit(mutate?: (d: T) => void): Promise<void> {
    mutate?.(this.data);
    this.commits += 1;
    return Promise.resolve();
  }
}
