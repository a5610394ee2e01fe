/**
 * Which account a trading state belongs to (pure). The state records the mode, the exchange, the sandbox flag and
 * an account fingerprint (never a secret: the exchange's account uid where it has one, else a hash of the API key)
 * the first time it is used; a start whose configuration names another one is refused — a paper position shown
 * on a live account, or live orders looked up on another account, are never a silent merge. The fix is
 * `byninja state archive`: the old state is moved aside, kept, and the next start begins fresh.
 */
import type { ConfigProblem } from '../../shared/errors';
import type { TradingMode } from '../../shared/domain/order';

export interface StateIdentity {
  mode: TradingMode;
  exchange: string;
  sandbox: boolean;
  /** `paper` for the built-in accounts; `uid:<id>` or `key:<hash>` for a real one. */
  account: string;
}

export type IdentityCheck =
  { kind: 'same' } | { kind: 'record' } | { kind: 'refuse'; problems: ConfigProblem[] };

const ARCHIVE_FIX =
  'this data dir holds the state of another account: run `npx byninja state archive` (moves it aside, keeps it, ' +
  'starts fresh) or point BYNINJA_DATA_DIR at another directory';

export function describeIdentity(i: StateIdentity): string {
  if (i.mode === 'paper') return 'paper trading on the simulated market';
  const where = `${i.exchange}${i.sandbox ? ' (sandbox)' : ''}`;
  return i.mode === 'dry-run' ? `dry-run on ${where}` : `live on ${where}, account ${i.account}`;
}

/**
 * Compares the identity recorded in a state with the one this start would give it. A state without one (written
 * before identities existed) is taken as this start's when it is empty or when both are paper (the only mode
 * before live trading was possible); any other is refused, since nothing says whose it is.
 */
export function checkIdentity(
  recorded: StateIdentity | undefined,
  current: StateIdentity,
  stateIsEmpty: boolean,
): IdentityCheck {
  if (!recorded) {
    if (stateIsEmpty || current.mode === 'paper') return { kind: 'record' };
    return {
      kind: 'refuse',
      problems: [
        {
          field: 'trading.mode',
          value: current.mode,
          message: `the state was written before it recorded its account and may be paper trading's; ${ARCHIVE_FIX}`,
        },
      ],
    };
  }
  const problems: ConfigProblem[] = [];
  const differs = (field: string, was: string, now: string): void => {
    if (was !== now) {
      problems.push({
        field,
        value: now,
        message: `the state belongs to ${describeIdentity(recorded)} (${field} was ${was}); ${ARCHIVE_FIX}`,
      });
    }
  };
  differs('trading.mode', recorded.mode, current.mode);
  differs('trading.exchange', recorded.exchange, current.exchange);
  differs('trading.sandbox', String(recorded.sandbox), String(current.sandbox));
  if (problems.length === 0) differs('EXCHANGE_API_KEY', recorded.account, current.account);
  return problems.length > 0 ? { kind: 'refuse', problems } : { kind: 'same' };
}
