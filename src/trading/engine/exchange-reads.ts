/**
 * The loop's reads of the exchange (tickers, candles, balance, markets): each given up after
 * `symbolReadTimeoutMs` for this tick, and one read per key at a time — a read given up at its deadline keeps
 * running in ccxt (its own timeout and retries), and while the exchange hangs each tick would otherwise add one
 * more beside it.
 */
import type { Clock } from '../../shared/clock';
import { withDeadline } from '../../shared/deadline';
import { NetworkError } from '../../shared/errors';

export class ExchangeReads {
  /** Reads still on their way, by what they read. */
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(
    private readonly timeoutMs: number,
    private readonly clock: Clock,
  ) {}

  /** The read already on its way for `key`, or a new one, within the read deadline (`where` names it). */
  read<T>(where: string, key: string, read: () => Promise<T>): Promise<T> {
    return this.withDeadline(where, this.once(key, read));
  }

  /** The read already on its way for `key`, or a new one (no deadline). */
  once<T>(key: string, read: () => Promise<T>): Promise<T> {
    const pending = this.inFlight.get(key) as Promise<T> | undefined;
    if (pending) return pending;
    const started = read();
    this.inFlight.set(key, started);
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
