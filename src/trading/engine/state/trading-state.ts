/**
 * The trading daemon's hot state: everything recovery needs, kept small so each durable commit stays cheap.
 * It lives in `<dataDir>/trading-state.json` (a Store). Closed orders with their fills move to the
 * `trading-history` journal once they are final and no longer recent; their fills are folded into
 * `checkpoint`, so positions stay exactly "checkpoint + fills of the orders still here".
 */
import type { AnnouncedUnsellable } from '../decide/unsellable';
import { randomBytes } from 'node:crypto';
import { CorruptStateError } from '../../../shared/errors';
import type { Migrations } from '../../../shared/persistence/migrate';
import type { TradingEventType } from '../../../shared/ipc/protocol';
import type { LocalOrder } from '../orders/order-state';
import type { PositionBook } from '../books/pnl';
import type { StateIdentity } from './state-identity';
import { initialRiskState, type RiskState } from '../decide/risk';
import {
  describeSchemaIssues,
  historyEntryParser,
  misfiledKeys,
  tradingStateParser,
} from './trading-state-schema';

export const STATE_STORE_NAME = 'trading-state';
export const HISTORY_JOURNAL_NAME = 'trading-history';
/**
 * The file's schema version. Stepped (with a migration) for every value added to one of its closed lists — an
 * order's purpose or status, a pause cause's source… (persisted-closed-lists.test.ts fails until it is): an older
 * build refuses a newer version whole (Store: NewerStateError, exit 78), where a value it does not know made it set
 * the file aside as corrupt and trade on the previous generation, or stop BLOCKED. History lines follow it too.
 */
export const STATE_VERSION = 5;

export type PauseSource = 'operator' | 'risk' | 'operational' | 'persist';

/** One reason entries are paused (pause-causes.ts: when each holds). */
export interface PauseCause {
  reason: string;
  by: PauseSource;
  at: number;
  /**
   * The order that caused an operational pause, when one did (an order the exchange no longer shows that could not be
   * settled yet): that cause holds until the order is settled.
   */
  clientOrderId?: string;
  /**
   * What kind of operational cause, when one needs telling apart (hidden-state.ts `state-hidden`: the operator's
   * /resume of it confirms a new install). Absent on the others.
   */
  code?: string;
}

/**
 * A pause: its first cause (the head), and the causes that joined while it held (absent in files written before
 * they could; such a pause has one cause). It lifts by itself only once none of them holds.
 */
export interface PauseState extends PauseCause {
  joined?: PauseCause[];
}

export interface TradingState {
  /**
   * Random id of this state's life (6 × [a-z0-9]), part of every clientOrderId (`<botId>-<installId>-<seq>`): a
   * data dir lost and started afresh gets a new one, so its ids can never collide with the old ones on the
   * exchange, even though its sequence starts again at 1.
   */
  installId: string;
  /**
   * The account this state belongs to (mode, exchange, sandbox, account fingerprint), recorded at its first start;
   * absent in states written before it existed. A start for another account is refused (state-identity.ts).
   */
  identity?: StateIdentity;
  /** Last clientOrderId sequence number handed out; never reused, even for an intent that failed to persist. */
  seq: number;
  /** Orders by clientOrderId: every non-final order plus the most recent final ones. */
  orders: Record<string, LocalOrder>;
  /** Positions folded from the fills of orders already moved to the history journal. */
  checkpoint: Record<string, PositionBook>;
  risk: RiskState;
  /** Entries paused (exits still run), and why. */
  pause: PauseState | null;
  /**
   * When the operator's /resume confirmed this new state as a fresh install although the exchange had orders of
   * another install of this bot (hidden-state.ts): its starts no longer pause for them. Absent otherwise.
   */
  newInstallConfirmedAt?: number;
  /**
   * Events committed together with the order change they report and not yet in the event log (transactional
   * outbox): a crash between the commit and the publish loses no event, the next start publishes it.
   */
  outbox: PendingEvent[];
  /**
   * The traded symbols the operator was told are not trading (market-halts.ts), and whether a stop-loss/take-profit
   * held by the halt was announced: kept across restarts, so a crash loop during a halt does not announce it again,
   * and a resume that happened while trading was down is still announced. Absent in files written before it.
   */
  announcedHalts: Record<string, AnnouncedHalt>;
  /**
   * The traded symbols whose prices the operator was told are stale (`market.stale`, stale-tickers.ts): kept across
   * restarts like the halts, so a crash loop while an exchange serves old prices says it once. Absent in files
   * written before it.
   */
  announcedStale: Record<string, AnnouncedStale>;
  /**
   * The positions the operator was told the account holds less of (`position.shortfall`, shortfall-watch.ts), by
   * symbol, until a balance reading shows the position whole: kept across restarts, so a crash loop during a
   * shortfall does not alert it again at each start (state version 3).
   */
  announcedShortfalls: Record<string, AnnouncedShortfall>;
  /**
   * Positions the operator was told the bot can no longer sell (`position.unsellable`: below the exchange's new
   * minimum, or delisted), by symbol (exchange-watch/unsellable-watch.ts): kept across restarts, so a start does not
   * tell them again; forgotten once sellable again in another amount, written off or gone. Absent in files written before it.
   */
  announcedUnsellable: Record<string, AnnouncedUnsellable>;
  /**
   * What the owner held of each coin beside the bot's positions (the account's total less them), as last measured on
   * a reading where the coin had no order in flight (inferred-orders.ts): each order carries it (LocalOrder
   * `ownerHeld`). Kept across restarts: an order working through a restart keeps its coin busy at every reading,
   * and the next order would otherwise go out without it. Absent in files written before it.
   */
  ownerHoldings: Record<string, number>;
  /**
   * The end (open time plus period, the exchange's clock) of the newest closed candle the strategy was asked on, by
   * symbol (symbol-tick.ts): it is asked again only on a candle ending later. Kept across restarts, so a start does
   * not take the candle a signal was already acted on for a new one (sma-crossover would signal the same cross
   * again: a second entry after a stop-loss closed the first). Its end, not its open time: after the operator
   * changes the timeframe, a longer candle that opened before the old one ended is new all the same (review 28: its
   * exit was never seen). Written with the order that acts on it (the intent's commit carries every change before
   * it), otherwise within the store's debounce. Absent in files written before it.
   */
  seenCandleEnds: Record<string, number>;
  /**
   * What files written before `seenCandleEnds` kept: the newest seen candle's open time, by symbol; read as its end
   * (that candle's period taken as the configured timeframe's) while no end is kept. Still written beside the end for
   * one release, so a downgrade does not act on a candle again.
   */
  seenCandles: Record<string, number>;
}

/** A shortfall the operator was told about (`position.shortfall`): what it was when told. */
export interface AnnouncedShortfall {
  position: number;
  held: number;
  missing: number;
  /** When it was announced. */
  at: number;
}

/** A halt the operator was told about (`market.halted`), and its held exit (`exit.held`), if one was. */
export interface AnnouncedStale {
  /** When the stale price was first seen (host clock). */
  since: number;
  /** Why, as told: "price 6 min old (closeTime), over the 5 min limit". */
  reason: string;
}

export interface AnnouncedHalt {
  status: 'halted' | 'delisted';
  /** When the halt was first seen. */
  since: number;
  /** When a stop-loss/take-profit first would have fired during the halt (announced then); absent: not yet. */
  exitHeldAt?: number;
}

/** An event waiting in the state's outbox; `key` is unique and travels in the event's data as `eventKey`. */
export interface PendingEvent {
  key: string;
  type: TradingEventType;
  summary: string;
  data: Record<string, unknown>;
}

/** An entry of the history journal. */
export interface HistoryEntry {
  kind: 'order';
  archivedAt: number;
  order: LocalOrder;
  /**
   * The state's `seq` when this entry was archived: every clientOrderId handed out before then is at or below it,
   * so the last entry alone bounds the whole history (recovery reads one line, not the journal).
   */
  seq?: number;
}

export function defaultTradingState(): TradingState {
  return {
    installId: newInstallId(),
    seq: 0,
    orders: {},
    checkpoint: {},
    risk: initialRiskState(),
    pause: null,
    outbox: [],
    announcedHalts: {},
    announcedStale: {},
    announcedShortfalls: {},
    announcedUnsellable: {},
    ownerHoldings: {},
    seenCandleEnds: {},
    seenCandles: {},
  };
}

/** Nothing was ever traded from this state: no order sent, nothing held. */
export function isEmptyState(state: TradingState): boolean {
  return (
    state.seq === 0 && Object.keys(state.orders).length === 0 && Object.keys(state.checkpoint).length === 0
  );
}

export function newInstallId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(6)].map((b) => alphabet[b % alphabet.length]).join('');
}

/**
 * Key n migrates version n to n+1. 1 → 2: an install id (ids sent before it kept the `<botId>-<seq>` form, which
 * `seqOf` still reads, so their sequence still bounds the new ids). 2 → 3: no shortfall announced yet (a
 * shortfall alerted by the older build is alerted once more, at its next confirmation).
 */
export const TRADING_STATE_MIGRATIONS: Migrations = {
  1: (old: Record<string, unknown>) => ({ ...old, installId: newInstallId() }),
  2: (old: Record<string, unknown>) => ({ ...old, announcedShortfalls: {} }),
  // checkpoint books gain `lastTradeId` (pnl.ts); one written before cannot know it (its fills are in the journal):
  // left absent, a write-off then follows the hot fills by time as before, and the next fold of a numbered fill sets it
  3: (old: Record<string, unknown>) => old,
  // nothing to change: version 5 marks the closed lists grown since 4 without a step (purpose `write-off`, the
  // unsellable reasons…), so the builds of version 4 that predate them refuse this build's files instead of
  // quarantining one for an order they cannot read
  4: (old: Record<string, unknown>) => old,
};

/**
 * Full check of a loaded state file against its schema (trading-state-schema.ts); a file that fails it is
 * quarantined by the Store and the previous generation is used.
 */
export function validateTradingState(data: unknown): TradingState {
  const parsed = tradingStateParser.safeParse(data);
  // a file the schema refuses is described by its misfiled keys too (the schema's issues name no key)
  const problem = parsed.success
    ? misfiledKeys(parsed.data)
    : [describeSchemaIssues(parsed.error), misfiledKeys(data)].filter((p) => p !== undefined).join('; ');
  if (problem !== undefined) {
    throw new CorruptStateError(`trading state is invalid: ${problem}`, { store: STATE_STORE_NAME });
  }
  return parsed.data as unknown as TradingState;
}

/** Full check of one history journal line; a line that fails it is skipped and logged by the Journal. */
export function validateHistoryEntry(data: unknown): HistoryEntry {
  const parsed = historyEntryParser.safeParse(data);
  if (!parsed.success)
    throw new CorruptStateError(`history entry is invalid: ${describeSchemaIssues(parsed.error)}`);
  return parsed.data as unknown as HistoryEntry;
}

/**
 * How the three parts are joined: `-` (Binance, Bybit), or `Z` where the exchange allows letters and digits only
 * (OKX `clOrdId`): `<botId>Z<installId>Z<seq>`. Either way a bot's ids never read as another's whose bot id starts
 * with it ("bot" and "bot2"): the install id is lowercase and the seq digits, so the separator can only be the one
 * right after the bot id. The ids OKX got before the `Z` (`<botId><installId><seq>`) are still read, and there
 * "bot2"'s old ids read as "bot"'s: only its own install id makes such an id this bot's (`seqOf`, adoption).
 */
export type ClientOrderIdSeparator = '-' | 'Z';

/** The clientOrderId of one of our orders. */
export function clientOrderIdFor(
  botId: string,
  installId: string,
  seq: number,
  separator: ClientOrderIdSeparator = '-',
): string {
  return `${botId}${separator}${installId}${separator}${seq}`;
}

/**
 * What one of our clientOrderIds says: `<botId>-<installId>-<seq>`, `<botId>Z<installId>Z<seq>`, or as sent before:
 * `<botId>-<seq>` (before install ids existed: installId null) and `<botId><installId><seq>` (OKX before the `Z`;
 * `legacy`). Null for an id that is not ours (another bot id, or not of these forms).
 */
export function parseClientOrderId(
  clientOrderId: string | undefined,
  botId: string,
): { installId: string | null; seq: number; legacy?: true } | null {
  if (!clientOrderId?.startsWith(botId)) return null;
  const rest = clientOrderId.slice(botId.length);
  const match = rest.startsWith('-')
    ? /^-(?:([a-z0-9]{6})-)?(\d{1,15})$/.exec(rest)
    : /^Z([a-z0-9]{6})Z(\d{1,15})$/.exec(rest);
  if (match) return { installId: match[1] ?? null, seq: Number(match[2]) };
  const old = /^([a-z0-9]{6})(\d{1,15})$/.exec(rest);
  return old ? { installId: old[1]!, seq: Number(old[2]), legacy: true } : null;
}

/**
 * Whether an order with this clientOrderId is this bot's, of this install or an earlier one (a lost data dir): an
 * OKX id of the form before the `Z` only with this install's id, since another bot whose id starts with ours wrote
 * the same form.
 */
export function isOwnClientOrderId(
  clientOrderId: string | undefined,
  botId: string,
  installId: string,
): boolean {
  const parsed = parseClientOrderId(clientOrderId, botId);
  return parsed !== null && (!parsed.legacy || parsed.installId === installId);
}

/**
 * Sequence number of a clientOrderId of THIS install (or of the legacy form, which this state's sequence also
 * bounds), or null: an id of another install (a lost data dir) is ours but cannot collide with our new ids.
 */
export function seqOf(clientOrderId: string | undefined, botId: string, installId?: string): number | null {
  const parsed = parseClientOrderId(clientOrderId, botId);
  if (!parsed) return null;
  if (parsed.installId !== null && installId !== undefined && parsed.installId !== installId) return null;
  return parsed.seq;
}
