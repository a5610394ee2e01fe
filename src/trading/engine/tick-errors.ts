/**
 * What the loop does with an error from a tick's work, by its class (shared/errors.ts) — pure:
 * - retry: the exchange failed or refused a read (temporary, or a code ccxt does not know): logged once, retried
 *   next tick, alerted when it lasts (`exchange.unreachable`); a refused create never gets here (it is rejected);
 * - skip-symbol: the strategy threw; the symbol is skipped this tick;
 * - hold-orders: state could not be saved; no new orders until a commit works (the state gateway's policy);
 * - pause-entries: operational (a person must act: key refused, funds) or an order the exchange no longer shows and
 *   that could not be settled from its fills (absent-order.ts); entries pause with `trading.paused`, exits keep
 *   running (a pause lifts by itself only once none of its causes holds, pause-causes.ts: an order's once it is
 *   settled, a person's never);
 * - fatal: anything else is a bug: thrown out of the loop, the process exits 1 and PM2 restarts it.
 */
import {
  ExchangeRefusedError,
  OperationalError,
  OrderNotFoundError,
  PersistenceError,
  StrategyError,
  isTemporary,
} from '../../shared/errors';

export type TickErrorHandling = 'retry' | 'skip-symbol' | 'hold-orders' | 'pause-entries' | 'fatal';

export function tickErrorHandling(err: unknown): TickErrorHandling {
  if (isTemporary(err) || err instanceof ExchangeRefusedError) return 'retry';
  if (err instanceof StrategyError) return 'skip-symbol';
  if (err instanceof PersistenceError) return 'hold-orders';
  if (err instanceof OperationalError || err instanceof OrderNotFoundError) return 'pause-entries';
  return 'fatal';
}

/**
 * What a start step waits out instead of exiting: the exchange or the network failing (temporary), refusing a
 * read, or refusing our key (operational: a person fixes it while trading waits and says so).
 */
export function waitableAtStart(err: unknown): boolean {
  return isTemporary(err) || err instanceof ExchangeRefusedError || err instanceof OperationalError;
}
