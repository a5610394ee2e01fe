/**
 * Which account a trading state belongs to (pure). The state records the mode, the exchange, the sandbox flag and
 * an account fingerprint (never a secret: the exchange's account uid where it has one, else a hash of the API key)
 * the first time it is used; a start whose configuration names another one is refused — a paper position shown
 * on a live account, or live orders looked up on another account, are never a silent merge.
 *
 * A new API key of the same account (the old one expired, or was replaced after a leak) is the same account: every
 * verified exchange answers the account's id (profiles: `accountUid`), so the state carries on with its positions and
 * orders. A state recorded by an older build with the key's hash (Bybit and OKX before they had `accountUid`) is
 * this start's when this start's key has that hash: the account id is then recorded in its place (`rebind`), and
 * from then on a new key of the account is accepted. A key-hash state and another key: nothing says it is the same
 * account — refused, as another account's.
 */
import type { ConfigProblem } from '../../../shared/errors';
import type { TradingMode } from '../../../shared/domain/order';

export interface StateIdentity {
  mode: TradingMode;
  exchange: string;
  sandbox: boolean;
  /** `paper` for the built-in accounts; `uid:<id>` or `key:<hash>` for a real one. */
  account: string;
}

export type IdentityCheck =
  | { kind: 'same' }
  | { kind: 'record' }
  /** The state's key-hash account is this start's key: its account id (`current.account`) is recorded instead. */
  | { kind: 'rebind'; was: string }
  | { kind: 'refuse'; problems: ConfigProblem[] };

const ARCHIVE_FIX =
  'this data dir holds the state of another account: point BYNINJA_DATA_DIR at another directory, or run ' +
  '`npx byninja state archive` (moves it aside, keeps it, starts fresh; it refuses while the state holds open ' +
  'positions or working orders — close them first)';

export function describeIdentity(i: StateIdentity): string {
  if (i.mode === 'paper') return 'paper trading on the simulated market';
  const where = `${i.exchange}${i.sandbox ? ' (sandbox)' : ''}`;
  return i.mode === 'dry-run' ? `dry-run on ${where}` : `live on ${where}, account ${i.account}`;
}

/**
 * Compares the identity recorded in a state with the one this start would give it. A state without one (written
 * before identities existed) is taken as this start's when it is empty or when both are paper (the only mode
 * before live trading was possible); any other is refused, since nothing says whose it is. `keyAccount`: this
 * start's `key:<hash of the API key>` (live), which a state recorded with the key's hash is compared with when the
 * exchange now answers the account's id.
 */
export function checkIdentity(
  recorded: StateIdentity | undefined,
  current: StateIdentity,
  stateIsEmpty: boolean,
  keyAccount?: string,
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
  if (problems.length > 0) return { kind: 'refuse', problems };
  if (recorded.account === current.account) return { kind: 'same' };
  if (
    recorded.account.startsWith('key:') &&
    current.account.startsWith('uid:') &&
    keyAccount !== undefined &&
    recorded.account === keyAccount
  )
    return { kind: 'rebind', was: recorded.account };
  return {
    kind: 'refuse',
    problems: [
      { field: 'EXCHANGE_API_KEY', value: current.account, message: accountMessage(recorded, current) },
    ],
  };
}

/** Why the account differs, and what to do: a new key of the same account is accepted only where both ids say so. */
function accountMessage(recorded: StateIdentity, current: StateIdentity): string {
  const belongs = `the state belongs to ${describeIdentity(recorded)}`;
  if (recorded.account.startsWith('uid:') && current.account.startsWith('uid:'))
    return `${belongs}; this API key is of account ${current.account}: another account. ${ARCHIVE_FIX}`;
  if (recorded.account.startsWith('key:'))
    return (
      `${belongs} (recorded by the hash of the API key it was made with, before its account id was) and this is ` +
      'another key: if it is a new key of the same account, start once with the old key (its account id is then ' +
      `recorded, and any key of the account is accepted after that); otherwise ${ARCHIVE_FIX}`
    );
  return (
    `${belongs}; ${current.exchange} did not tell this API key's account id, so nothing says it is the same ` +
    `account: check the key (its permissions, the exchange's status) and start again; ${ARCHIVE_FIX}`
  );
}
