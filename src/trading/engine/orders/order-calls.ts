/**
 * The order manager's exchange calls: each one tracked until it settles (a stop waits for them: `waitIdle`), and its
 * lookups (the order, its trades, a fee's market or price) and cancels given up after the lookup deadline, one
 * request per order at a time (exchange-reads.ts) — one hung call never holds its symbol's lane for all of ccxt's
 * timeout and retries.
 */
import type { Clock } from '../../../shared/clock';
import { withDeadline } from '../../../shared/deadline';
import { ExchangeReads } from '../exchange-watch/exchange-reads';

export class OrderCalls {
  /** Exchange calls that have not settled (shutdown waits for them). */
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Order lookups and cancels, each within the lookup deadline and one per order at a time. */
  private readonly reads: ExchangeReads;

  constructor(
    lookupTimeoutMs: number,
    private readonly clock: Clock,
  ) {
    this.reads = new ExchangeReads(lookupTimeoutMs, clock);
  }

  get count(): number {
    return this.inFlight.size;
  }

  /** The call, tracked until it settles. */
  track<T>(promise: Promise<T>): Promise<T> {
    this.inFlight.add(promise);
    const done = (): void => {
      this.inFlight.delete(promise);
    };
    promise.then(done, done);
    return promise;
  }

  /**
   * One lookup of an order (`what`: the order, or its trades; or of a fee's market or price, keyed by its symbol),
   * tracked and given up after the lookup deadline: a NetworkError then, and state unchanged — nothing commits from
   * a lookup given up. One request per order at a time: a lookup still on its way is joined (its late answer goes to
   * the next caller, applied once like any answer), except `fresh` (after a cancel): refused at once while it is out.
   */
  lookup<T>(what: string, clientOrderId: string, call: () => Promise<T>, fresh = false): Promise<T> {
    const where = `look up ${clientOrderId}`;
    const key = `${what}:${clientOrderId}`;
    const send = (): Promise<T> => this.track(call());
    return fresh ? this.reads.readAfter(where, key, send) : this.reads.read(where, key, send);
  }

  /**
   * A cancel within the lookup deadline, one per order at a time: a cancel still on its way is joined, never sent
   * again beside it.
   */
  cancel<T>(clientOrderId: string, call: () => Promise<T>): Promise<T> {
    return this.reads.read(`cancel ${clientOrderId}`, `cancel:${clientOrderId}`, () => this.track(call()));
  }

  /** When the lookup of `key` on its way was sent, or now (ExchangeReads.sentAt). */
  sentAt(key: string): number {
    return this.reads.sentAt(key);
  }

  /** Resolves true once no call is in flight, false after `timeoutMs` (on the clock). */
  async waitIdle(timeoutMs: number): Promise<boolean> {
    const idle = async (): Promise<void> => {
      // calls started while waiting (a late create answer being applied) are waited for too
      while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    };
    return withDeadline(idle(), timeoutMs, () => new Error('still in flight'), this.clock).then(
      () => true,
      () => false,
    );
  }
}
