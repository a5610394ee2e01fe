/**
 * A live start on a NEW state that the exchange says is not a first install (pure). The state store found no file
 * and started from defaults (or the state never traded: no order sent, nothing held), yet the exchange's recent or
 * open orders carry this bot's clientOrderId prefix with ANOTHER install id: the state that sent them is missing or
 * hidden — the data dir on a disk or network mount not up yet at boot, a mount point left empty, a data dir lost.
 * Trading on would buy on top of positions nobody watches (no stop-loss, maxOpenPositions blind to them), and what
 * the fresh state fills is orphaned once the real state is back. So entries pause with their own cause until the
 * operator's /resume (a deliberate fresh install on the same account is confirmed once that way:
 * `newInstallConfirmedAt`); exits and adopted orders run as always (recovery.ts adopts the open ones).
 *
 * What the reads cover is the exchange's (docs/exchanges.md, "Recent orders at start: what they cover"): an old install whose last order
 * is older than the recent-orders window, with nothing open, leaves no evidence — and then has nothing working
 * either.
 */
import type { ExchangeOrder } from '../../exchange/exchange';
import { isEmptyState, parseClientOrderId, type PauseCause, type TradingState } from '../state/trading-state';

/** The pause cause's code: what /resume confirms, and what doctor and the tests recognise. */
export const HIDDEN_STATE_CODE = 'state-hidden';

/** What the exchange showed of other installs of this bot. */
export interface HiddenStateEvidence {
  /** The other install ids seen (`-` for ids sent before install ids existed), most orders first. */
  installIds: string[];
  /** Orders of other installs seen (recent and open, each once). */
  orders: number;
  /** Of them, still open on the exchange (recovery adopts these). */
  open: number;
  /** The newest one's exchange time (epoch ms), when the exchange said. */
  newestAt?: number;
}

/**
 * Whether this start's state is new for the rule: it never traded (isEmptyState) and no operator confirmed it as a
 * fresh install over another install's orders. Read from the state as loaded, before recovery changes anything
 * (a crash before the pause is committed leaves the state new: the next start checks again).
 */
export function unconfirmedNewState(state: TradingState): boolean {
  return isEmptyState(state) && state.newInstallConfirmedAt === undefined;
}

/**
 * The evidence that this new state is not the bot's first on the account: orders of this bot (its clientOrderId
 * prefix) sent by another install. Null when there is none. An OKX id of the old form without a separator is left
 * out: another bot whose id starts with ours writes the same form (trading-state.ts).
 */
export function hiddenStateEvidence(
  botId: string,
  installId: string,
  orders: readonly ExchangeOrder[],
): HiddenStateEvidence | null {
  const seen = new Map<string, ExchangeOrder>();
  for (const order of orders) {
    const parsed = parseClientOrderId(order.clientOrderId, botId);
    if (!parsed || parsed.legacy || parsed.installId === installId) continue;
    const key = `${order.symbol}\u0000${order.id}`;
    // an order in both lists: the open one's answer is as new as the recent one's; either counts once
    if (!seen.has(key) || order.status === 'open') seen.set(key, order);
  }
  if (seen.size === 0) return null;
  const byInstall = new Map<string, number>();
  for (const order of seen.values()) {
    const install = parseClientOrderId(order.clientOrderId, botId)!.installId ?? '-';
    byInstall.set(install, (byInstall.get(install) ?? 0) + 1);
  }
  const times = [...seen.values()].flatMap((o) => (o.timestamp === undefined ? [] : [o.timestamp]));
  return {
    installIds: [...byInstall.entries()].sort((a, b) => b[1] - a[1]).map(([id]) => id),
    orders: seen.size,
    open: [...seen.values()].filter((o) => o.status === 'open').length,
    ...(times.length > 0 ? { newestAt: Math.max(...times) } : {}),
  };
}

/**
 * The pause's reason: what was seen, where the state should be, and the two ways on. No secret: install ids,
 * counts, a time and the data dir's path.
 */
export function hiddenStateReason(e: HiddenStateEvidence, installId: string, dataDir: string): string {
  const installs = e.installIds.map((id) => (id === '-' ? 'one from before install ids' : id)).join(', ');
  const newest = e.newestAt === undefined ? '' : `, newest ${new Date(e.newestAt).toISOString()}`;
  const open = e.open > 0 ? `, ${e.open} still open (adopted, watched)` : '';
  return (
    `state missing or hidden: this start's trading state has never traded (no state file, or a new one: install ` +
    `${installId}), but the exchange has ` +
    `${e.orders} order${e.orders === 1 ? '' : 's'} of this bot from install ${installs}${newest}${open}. ` +
    `BYNINJA_DATA_DIR is ${dataDir}: if it is on a disk or mount that is not up, bring it back and ` +
    '/restart trading (or `npx byninja restart trading`: the state there is used); if the old state is lost for ' +
    'good, /resume (or `npx byninja resume`) to trade on this new one'
  );
}

/** The pause cause for the evidence (operational: it holds until the operator's /resume). */
export function hiddenStateCause(reason: string, at: number): PauseCause {
  return { reason, by: 'operational', at, code: HIDDEN_STATE_CODE };
}

/**
 * The reason of a hidden-state pause in a state file's data as read from disk (doctor: no schema, no migration — a
 * file it cannot read says nothing), or null when its pause has no such cause.
 */
export function hiddenStatePauseReason(data: unknown): string | null {
  const pause = (data as { pause?: unknown } | null)?.pause;
  if (typeof pause !== 'object' || pause === null) return null;
  const { joined, ...head } = pause as PauseCause & { joined?: unknown };
  const causes: unknown[] = [head, ...(Array.isArray(joined) ? joined : [])];
  const found = causes.find(
    (c): c is PauseCause =>
      typeof c === 'object' && c !== null && (c as PauseCause).code === HIDDEN_STATE_CODE,
  );
  return typeof found?.reason === 'string' ? found.reason : null;
}
