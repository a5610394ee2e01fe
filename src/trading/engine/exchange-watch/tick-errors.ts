/**
 * What the loop does with an error from a tick's work, by its class (shared/errors.ts) — pure:
 * - retry: the exchange failed or refused a read (temporary, or a code ccxt does not know): logged once, retried
 *   next tick, alerted when it lasts (`exchange.unreachable`); a refused create never gets here (it is rejected);
 * - skip-symbol: the strategy threw; the symbol is skipped this tick;
 * - hold-orders: state could not be saved; no new orders until a commit works (the state gateway's policy);
 * - pause-entries: operational (a person must act: key refused, funds) or an order the exchange no longer shows and
 *   that could not be settled from its fills (absent-order.ts); logged once per cause (a refused key fails every
 *   tick: one line, not one a tick); entries pause with `trading.paused`, exits keep
 *   running (a pause lifts by itself only once none of its causes holds, pause-causes.ts: an order's once it is
 *   settled, a person's never);
 * - fatal: anything else is a bug: thrown out of the loop, the process exits 1 and PM2 restarts it.
 */
import {
  type ByNinjaError,
  ExchangeRefusedError,
  OperationalError,
  OrderNotFoundError,
  PersistenceError,
  StrategyError,
  errorMessage,
  isTemporary,
} from '../../../shared/errors';

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

/** A line for the once-log (log-once.ts): written once under `key` until it changes. */
export interface OnceLine {
  key: string;
  level: 'warn' | 'error';
  message: string;
  fields: Record<string, unknown>;
}

/**
 * What the loop does with an error from `where` (a symbol, 'account', 'markets', 'archive', …): the handling and what
 * it says. pause-entries names the order when the cause is one the exchange no longer shows (that cause holds until
 * the order is settled, pause-causes.ts).
 */
export type TickErrorAction =
  | { handling: 'retry' | 'skip-symbol' | 'hold-orders'; log: OnceLine }
  | {
      handling: 'pause-entries';
      reason: string;
      clientOrderId?: string;
      /** Once per cause (the error's words, wherever it came from): a refused key is one line, not one a tick. */
      log: OnceLine;
    }
  | { handling: 'fatal' };

/** What each logged-once handling says: its key's prefix (the place follows), level and words. */
const ONCE_LINES: Record<'retry' | 'skip-symbol' | 'hold-orders', Omit<OnceLine, 'fields'>> = {
  retry: { key: 'temp', level: 'warn', message: 'Exchange call failed; retrying next tick' },
  'skip-symbol': { key: 'strategy', level: 'warn', message: 'Strategy failed; symbol skipped this tick' },
  'hold-orders': {
    key: 'persist',
    level: 'error',
    message: 'State could not be saved; no new orders until it can',
  },
};

export function tickErrorAction(where: string, err: unknown): TickErrorAction {
  const error = errorMessage(err);
  const handling = tickErrorHandling(err);
  switch (handling) {
    case 'retry':
    case 'skip-symbol':
    case 'hold-orders': {
      const line = ONCE_LINES[handling];
      return { handling, log: { ...line, key: `${line.key}:${where}`, fields: { where, error } } };
    }
    case 'pause-entries': {
      const order = err instanceof OrderNotFoundError ? err.context.clientOrderId : undefined;
      return {
        handling,
        reason: `${where}: ${error}`,
        ...(typeof order === 'string' ? { clientOrderId: order } : {}),
        log: {
          key: `pause:${error}`,
          level: 'error',
          message: 'Operational error; entries paused',
          fields: { where, error, ...(err as ByNinjaError).context },
        },
      };
    }
    case 'fatal':
      return { handling };
  }
}
