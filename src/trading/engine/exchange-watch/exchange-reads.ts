/**
 * Reads of the exchange given a deadline: the loop's (tickers, candles, balance, markets; close-all's) and the order
 * manager's order lookups (the order, its trades) and cancels (a cancel's answer is never applied: the lookup after
 * it is), each given up after `symbolReadTimeoutMs`, and one read per key at a time —
 * a read given up at its deadline keeps running in ccxt (its own timeout and retries), and while the exchange hangs
 * each tick would otherwise add one more beside it. The next read of that key joins it: its late answer goes to
 * whoever asks next within their own deadline (never to the caller that gave up, which committed nothing), so an
 * endpoint slower than the deadline still answers. Its answer speaks for when it was sent (`sentAt`).
 */
import type { Clock } from '../../../shared/clock';
import { withDeadline } from '../../../shared/deadline';
import { NetworkError } from '../../../shared/errors';

export class ExchangeReads {
  /** Reads still on their way, by what they read, and when each was sent. */
  private readonly inFlight = new Map<string, { read: Promise<unknown>; sentAt: number }>();

  constructor(
    private readonly timeoutMs: number,
    private readonly clock: Clock,
  ) {}

  /** The read already on its way for `key`, or a new one, within the read deadline (`where` names it). */
  read<T>(where: string, key: string, read: () => Promise<T>): Promise<T> {
    return this.withDeadline(where, this.once(key, read));
  }

  /**
   * A read that must be sent after something the caller did (an order's state after its cancel), within the read
   * deadline: while a read of `key` sent earlier is still on its way it is refused at once (a temporary error: asked
   * again later) — never joined, that answer may predate what was done; nor is a second request sent beside it.
   */
  readAfter<T>(where: string, key: string, read: () => Promise<T>): Promise<T> {
    if (this.inFlight.has(key)) {
      const ms = this.timeoutMs;
      return Promise.reject(
        new NetworkError(`${where}: an earlier request is still on its way (no answer within ${ms} ms)`, {
          where,
          timeoutMs: ms,
        }),
      );
    }
    return this.read(where, key, read);
  }

  /**
   * When the read of `key` on its way was sent, or now when none is: the time its answer speaks for (a "not found"
   * proves an order absent as of then, not as of when it came back).
   */
  sentAt(key: string): number {
    return this.inFlight.get(key)?.sentAt ?? this.clock.now();
  }

  /** The read already on its way for `key`, or a new one (no deadline). */
  once<T>(key: string, read: () => Promise<T>): Promise<T> {
    const pending = this.inFlight.get(key)?.read as Promise<T> | undefined;
    if (pending) return pending;
    const sentAt = this.clock.now();
    const started = read();
    this.inFlight.set(key, { read: started, sentAt });
    const done = (): void => {
      this.inFlight.delete(key);
    };
    started.then(done, done);
    return started;
  }

  /** A read of one symbol (or the account) given up after the read deadline for this tick. */
  withDeadline<T>(where: string, read: Promise<T>): Promise<T> {
    const ms = this.timeoutMs;
    return withDeadline(
      read,
      ms,
      () =>
        new NetworkError(`${where}: no answer from the exchange within ${ms} ms`, { where, timeoutMs: ms }),
      this.clock,
    );
  }
}
