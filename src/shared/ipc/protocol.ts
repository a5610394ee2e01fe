/**
 * The contract of the internal TCP layer, shared by trading (server), telegram and the CLI (clients).
 * Transport: newline-delimited JSON, each line one JSON-RPC 2.0 message. The first request on a connection
 * must be `hello`; everything else before a good hello is refused and the connection closed.
 *
 * Bump PROTOCOL_VERSION on any incompatible change: a client with another version is refused at hello.
 */

import type { OrderSide, OrderSpec, OrderStatus, OrderType, TradingMode } from '../domain/order';
import type { LastExit } from '../lifecycle/last-exit';

// Re-exported for the clients, which know these words only as the contract carries them.
export type { LastExit, OrderSide, OrderSpec, OrderStatus, OrderType, TradingMode };

/** 2: `orders` answers open orders only; every order comes page by page from `ordersPage`. */
export const PROTOCOL_VERSION = 2;

/** JSON-RPC error codes used by ByNinja (the -32000…-32099 range is for implementations). */
export const RpcErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  Unauthorized: -32001,
  VersionMismatch: -32002,
  FrameTooLarge: -32003,
  TooManyClients: -32004,
  NotReady: -32005,
  /** The handler refused for a domain reason (paused, persist failure…); message says why. */
  Refused: -32006,
} as const;

export type LoopState = 'starting' | 'waiting-exchange' | 'recovering' | 'running' | 'paused' | 'stopping';

export interface OrderView extends OrderSpec {
  clientOrderId: string;
  exchangeOrderId?: string;
  filled: number;
  averagePrice?: number;
  status: OrderStatus;
  /** Why the order exists: entry, exit, stop-loss, take-profit, close-all, adopted. */
  purpose: string;
  createdAt: number;
  updatedAt: number;
}

/**
 * An order that ended on the bot's inference (declared never placed, or settled as absent) and is still in question:
 * looked up again, and holding its symbol while the account's balance may show it carried out. /settle lists them.
 */
export interface InDoubtOrderView extends OrderView {
  /** When the bot ended it (its verdict); an `unknown` one: when it went in doubt. */
  endedAt: number;
  /**
   * How it ended: declared never placed, or settled as absent from its fills; `unknown`: it has not — its create had
   * no answer, its lookups miss and the exchange's other reads cannot rule it out; `absent`: it has not — the exchange
   * acknowledged it, no longer shows it (or no longer lists its symbol), and its reads cannot settle it;
   * `fills-missing`: it ended, but its missing fills can be neither read nor priced from its answer.
   */
  ended: 'never-placed' | 'settled-absent' | 'unknown' | 'absent' | 'fills-missing';
  /**
   * When it went in doubt (the `order.in_doubt` alert): a balance reading showed it carried out after all, or (an
   * `unknown` one) the exchange's reads could not decide it; absent: not in doubt.
   */
  inDoubtAt?: number;
  /** Why its symbol is held now; absent: it holds nothing (the balance shows it was not carried out). */
  holding?: string;
  /**
   * Only `filled <amount> <average price>` settles it: the exchange answered it as more filled than its fills booked
   * (a finished order whose fills are missing; an absent one whose last answer said more), so `none` is refused.
   */
  filledOnly?: true;
}

/** What /settle tells trading: the operator's reading of the exchange's order history for an order in question. */
export interface SettleOrderParams {
  clientOrderId: string;
  outcome: 'not-carried-out' | 'carried-out';
  /** With `carried-out`: the whole executed amount the history shows (base currency). */
  executed?: number;
  /** With `carried-out`: its average price. */
  averagePrice?: number;
  /** With `carried-out`, optional: the fee the history shows, in the symbol's base or quote coin (else booked 0). */
  fee?: { cost: number; currency: string };
}

/** What /writeoff did: the holding taken out of the bot's books (operator-write-off.ts). */
export interface WriteOffResult {
  symbol: string;
  /** The amount written off (base). */
  amount: number;
  reason: 'below-minimum' | 'delisted';
  /** The realized PnL it booked (a loss of its cost: written off at price 0). */
  realizedPnl: number;
  clientOrderId: string;
}

export interface PositionView {
  symbol: string;
  amount: number;
  averageEntryPrice: number;
  lastPrice?: number;
  unrealizedPnl: number;
  realizedPnl: number;
  feesPaid: number;
  /**
   * A fill of the open position has its fee valued at an estimate (fee-valuation.ts: a third-coin fee at a stale or
   * last-read price, or unvalued): `feesPaid` and the cost per unit are estimates too. Absent otherwise.
   */
  feesEstimated?: true;
  /**
   * The first fill of the position; 0 when not known: what an earlier round trip left (below the minimum order value
   * then, or below a market order's own minimum) that became a position again — its value rose above the minimum,
   * or the exchange's rules changed.
   */
  openedAt: number;
}

export interface BalanceView {
  currencies: Record<string, { free: number; used: number; total: number }>;
  /** Equity in the quote currency (cash + positions at last price). */
  equity: number;
  quoteCurrency: string;
}

/** The API key's own limits as the exchange last told them (never the key). */
export interface ApiKeyStatus {
  /** When they were last read (host ms); absent before the first answer. */
  readAt?: number;
  spotTrade?: boolean;
  withdraw?: boolean;
  ipBound?: boolean;
  /** The key's (or its spot trading permission's) end, epoch ms, and the exchange's name for it. */
  expiresAt?: number;
  expiryField?: string;
  /** The last read failed: its error (free of secrets). */
  readError?: string;
}

/**
 * The equity the risk limits judge when `trading.risk.capital` is set: the bot's own, its capital plus its PnL
 * (bot-equity.ts), not the account's. Absent where the setting is unset: they judge the account's `equity`.
 */
export interface RiskEquityView {
  equity: number;
  capital: number;
}

export interface TradingStatus {
  botId: string;
  mode: TradingMode;
  exchange: string;
  loopState: LoopState;
  paused: boolean;
  pausedReason?: string;
  /** Orders that ended on the bot's inference and hold their symbol now (/settle lists them); absent: none. */
  ordersHolding?: number;
  equity: number;
  /** The bot's own equity, judged by the risk limits instead of `equity` (trading.risk.capital set). */
  riskEquity?: RiskEquityView;
  quoteCurrency: string;
  pnlToday: number;
  pnlTotal: number;
  openPositions: number;
  openOrders: number;
  /** ms since the last completed tick, or null before the first. */
  lastTickAgeMs: number | null;
  exchangeReachable: boolean;
  /** Since when the exchange is unreachable, epoch ms. */
  exchangeUnreachableSince?: number;
  /** What the exchange's latest failure said, while it is unreachable (or refuses our key). */
  exchangeError?: string;
  /**
   * The exchange's latest failure was a refusal of our API key: it answers, so it is not "unreachable"; the operator
   * checks EXCHANGE_API_KEY / SECRET (/ PASSWORD), the key's IP allow-list and its permissions.
   */
  exchangeKeyRefused?: boolean;
  /**
   * With `exchangeKeyRefused`: the refusal is about the account, its region or the symbol, not the key (a compliance
   * ban, a region the exchange does not serve, the Innovation Zone…): `exchangeError` says which and what to do.
   */
  exchangeAccountRefused?: boolean;
  /** The API key's own limits as last read (live only, key-watch.ts). */
  apiKey?: ApiKeyStatus;
  /**
   * Traded symbols whose prices the exchange serves stale (`market.stale`): no entry placed on them; since when (host
   * ms) and why. Absent: none.
   */
  staleSymbols?: Array<{ symbol: string; since: number; reason: string }>;
  lastExit: LastExit;
  startedAt: number;
  pid: number;
  version: string;
  /** Highest event seq published so far. */
  lastEventSeq: number;
}

export interface ReconcileDifference {
  kind:
    | 'order-missing-on-exchange'
    | 'order-unknown-locally'
    | 'order-status-differs'
    | 'order-filled-differs'
    | 'balance-differs';
  clientOrderId?: string;
  symbol?: string;
  local?: unknown;
  exchange?: unknown;
  detail: string;
}

/** Every trading event type; telegram maps each to a notification setting. */
export type TradingEventType =
  | 'order.placed'
  | 'order.filled'
  | 'order.partially_filled'
  | 'order.cancelled'
  | 'order.rejected'
  /** The exchange reports a change the order's life does not allow (a final order it shows otherwise): kept as is. */
  | 'order.conflict'
  /** An order declared never placed (our inference from lookups) that the exchange has after all. */
  | 'order.taken_back'
  /**
   * An order the exchange acknowledged and no longer shows (not open, not found by a lookup): settled from its fills
   * (filled or cancelled with what filled), its symbol free again.
   */
  | 'order.settled_absent'
  /**
   * A finished order whose trades the exchange's trade list never brings (created beyond its reach, or still short
   * after minutes): the part not read booked as one fill from the order's own answer (filled, average, its fee or an estimate).
   */
  | 'order.fills_from_answer'
  /**
   * An order that ended on our inference (declared never placed, or settled as absent) that the account's balance
   * shows was carried out after all: its symbol places nothing until the order is found.
   */
  | 'order.in_doubt'
  /**
   * The operator settled an order that ended on our inference (/settle): not carried out, or carried out with the
   * amount and price the exchange's history shows (booked as one fill); its symbol is no longer held by it.
   */
  | 'order.operator_settled'
  /**
   * The exchange ended an order by its self-trade prevention (Binance EXPIRED_IN_MATCH, Bybit CancelBySmp, OKX
   * cancelSource): it would have traded against another order of the same account.
   */
  | 'order.self_trade'
  | 'position.opened'
  | 'position.closed'
  /** The account holds less of a position's coin than the bot's fills say (fees in BNB, a withdrawal): once. */
  | 'position.shortfall'
  /**
   * A position the bot can no longer sell: below the exchange's (new) minimum after a markets load, or its symbol
   * delisted. Told once (kept across restarts); the operator sells it by hand where possible, then /writeoff.
   */
  | 'position.unsellable'
  /** The operator wrote off a holding the bot cannot sell (/writeoff): out of the books as a loss at price 0. */
  | 'position.written_off'
  | 'risk.triggered'
  | 'exchange.unreachable'
  /** The exchange refuses our API key (unknown or deleted key, wrong secret or passphrase, IP, permission). */
  | 'exchange.key_refused'
  | 'exchange.recovered'
  | 'persist.failed'
  | 'trading.paused'
  | 'trading.resumed'
  /** A traded symbol the exchange halted (not trading, or gone from its markets): no new orders on it. */
  | 'market.halted'
  | 'market.resumed'
  /**
   * A traded symbol's ticker is older than `trading.maxTickerAgeMs` (or lacks the time the exchange documents): no
   * entry is placed on it (once, until `market.fresh`).
   */
  | 'market.stale'
  | 'market.fresh'
  /** A stop-loss/take-profit that would fire now, held by the symbol's halt (once per halt; sold when it trades). */
  | 'exit.held'
  /**
   * An entry signal not followed: the stake buys a position its stop-loss could not sell (below the exchange's
   * minimum once the buy's fee is taken and the price fell to the stop: entry-floor.ts). Once per symbol per run,
   * again after an entry on it was made.
   */
  | 'entry.stake_too_small'
  /** The exchange refused a request's timestamp: the host clock's measured offset (requests now corrected). */
  | 'clock.skew'
  /** The API key's own limits: cannot trade spot, may withdraw, its end near or past (key-watch.ts). */
  | 'api_key.limits'
  | 'recovery';

export interface TradingEvent {
  /** Monotonically increasing across restarts (persisted). */
  seq: number;
  ts: number;
  type: TradingEventType;
  /** Human-readable one-liner (already free of secrets). */
  summary: string;
  data: Record<string, unknown>;
}

/**
 * What close-all did: entries paused, every open order cancelled first (an open exit would double the close, an
 * open entry would reopen the position), then one market sell per open position. A symbol whose order could not
 * be cancelled or is still unresolved is skipped (closing it then could sell twice) and listed with the reason.
 */
export interface CloseAllResult {
  /** The market sells placed, by clientOrderId. */
  orders: string[];
  /** Open orders cancelled before closing. */
  cancelled: string[];
  skipped: Array<{ symbol: string; reason: string }>;
  /** Entries are paused after close-all (the strategy would otherwise re-enter); /resume to trade again. */
  paused: boolean;
}

/** The client name the CLI says hello with: a one-shot connection (connect, one request, close). */
export const ONE_SHOT_CLIENT = 'cli';

/** The `recovery` event's data: how the last run ended and what startup recovery found and changed. */
export interface RecoverySummary {
  lastExit: LastExit;
  /** Orders the state holds (working ones and recent finished ones). */
  restoredOrders: number;
  /** Of those, the ones still working (not final). Absent in summaries of older builds. */
  openOrders?: number;
  restoredPositions: number;
  /** Orders whose state changed while trading was down (filled, cancelled…). */
  changedWhileDown: Array<{ clientOrderId: string; from: OrderStatus; to: OrderStatus }>;
  /** UNKNOWN creates resolved at start: found on the exchange or confirmed absent. */
  resolvedUnknown: Array<{ clientOrderId: string; found: boolean }>;
  /**
   * UNKNOWN creates the exchange does not show yet and that are too recent to be declared never placed: they stay
   * unknown (their symbol places nothing) and the loop keeps looking them up.
   */
  stillUnknown?: string[];
  /** The clientOrderId sequence was raised past ids of ours found among the exchange's recent orders. */
  seqRaisedFromExchange?: number;
  adopted: string[];
  cancelledUnknown: string[];
  newFills: number;
  durationMs: number;
  /**
   * A new state, and the exchange had orders of this bot from another install: the state is missing or hidden
   * (trading/engine/start/hidden-state.ts), entries paused. Absent otherwise.
   */
  hiddenState?: { installIds: string[]; orders: number; open: number; newestAt?: number };
}

/** Realized results of one period: closed round trips, their PnL and every fee paid in it (quote currency). */
export interface PnlPeriod {
  realized: number;
  /** Round trips closed (a trip ends when what is left can no longer be sold). */
  trades: number;
  wins: number;
  fees: number;
  /** Of `fees`, what fills marked `feeEstimated` paid (valued at a stale or last-read price, or unvalued); absent: none. */
  feesEstimated?: number;
}

export interface TripView {
  symbol: string;
  pnl: number;
  openedAt: number;
  closedAt: number;
}

/** UTC days a report gives one by one (`PnlReport.days`), today included: what a late daily summary can send. */
export const REPORT_DAYS = 8;

/** `report`: what the history journal and the hot state say about results (byninja report, /pnl). */
export interface PnlReport {
  /**
   * The EXCHANGE's time the report was built at (fills are dated on its clock): "today" and `days` are its UTC
   * days. A reader decides which day it is from this, never from its own host clock.
   */
  generatedAt: number;
  quoteCurrency: string;
  /** UTC day / last 7 days / last 30 days / everything the journal and state hold. */
  periods: { today: PnlPeriod; days7: PnlPeriod; days30: PnlPeriod; all: PnlPeriod };
  /**
   * Each of the last REPORT_DAYS UTC days (today last), for a daily summary that could not go out on its day. Absent from a
   * trading of an older build (telegram then sends only today's).
   */
  days?: Array<PnlPeriod & { day: string }>;
  /** Wins / trades, all time; null before the first closed trade. */
  winRate: number | null;
  bySymbol: Array<PnlPeriod & { symbol: string }>;
  best: TripView | null;
  worst: TripView | null;
  /** Largest fall of realized equity from a peak: amount in the quote currency and percent of that peak. */
  maxDrawdown: { amount: number; pct: number | null };
  equity: number;
  /** The bot's own equity, judged by the risk limits instead of `equity` (trading.risk.capital set). */
  riskEquity?: RiskEquityView;
  unrealized: number;
  openPositions: number;
  /**
   * Equity over time, realized: [time, equity] after each realized change (at most a few hundred points), the
   * last one now with the unrealized PnL. It starts from today's equity less everything realized and unrealized
   * since, so deposits and withdrawals in between shift it.
   */
  curve: Array<[number, number]>;
}

/** Method → params and result. Handlers are registered by trading; clients call through this map. */
export interface RpcMethods {
  hello: {
    params: { token: string; version: number; client: string };
    result: {
      server: 'trading';
      version: number;
      pid: number;
      startedAt: number;
      /**
       * How long a client should wait for the methods that take longer than a request (the operator's actions:
       * close-all, settle, reconcile, the report), computed by trading from the settings that bound them
       * (trading/control/answer-timeouts.ts). A method not named: the client's ipc.requestTimeoutMs.
       */
      answerTimeoutsMs?: Partial<Record<RpcMethod, number>>;
    };
  };
  ping: {
    params: Record<string, never>;
    result: { now: number; pid: number; loopState: LoopState; lastTickAgeMs: number | null };
  };
  status: { params: Record<string, never>; result: TradingStatus };
  positions: { params: Record<string, never>; result: PositionView[] };
  /** Open orders (bounded by the hot state). */
  orders: { params: Record<string, never>; result: OrderView[] };
  /**
   * Every order trading knows, one page per call: the history journal in archive order, then the orders the hot
   * state still keeps. Start without a cursor, pass `nextCursor` back until it is null. A page never exceeds the
   * frame limit, whatever the history's size; pages are not one snapshot (an order archived while paging can show
   * up twice or be passed over; a report, not an audit).
   */
  ordersPage: { params: { cursor?: string }; result: { orders: OrderView[]; nextCursor: string | null } };
  balance: { params: Record<string, never>; result: BalanceView };
  pause: { params: { reason?: string }; result: { paused: boolean; reason?: string } };
  resume: { params: Record<string, never>; result: { paused: boolean } };
  closeAll: { params: Record<string, never>; result: CloseAllResult };
  /** Orders that ended on the bot's inference and are still in question (InDoubtOrderView). */
  inDoubtOrders: { params: Record<string, never>; result: InDoubtOrderView[] };
  /**
   * Settles one of them on the operator's word (refused with the reason when it is not in question or the figures
   * do not fit the order). `position`: the bot's position in its symbol afterwards.
   */
  settleOrder: { params: SettleOrderParams; result: { order: OrderView; position: number } };
  /**
   * Writes off a holding the bot can no longer sell (below the exchange's minimum, or delisted) on the operator's
   * word; refused with the reason for anything a market order can still sell.
   */
  writeOff: { params: { symbol: string }; result: WriteOffResult };
  reconcile: {
    params: Record<string, never>;
    result: { differences: ReconcileDifference[]; checkedAt: number };
  };
  /** Results from the history journal (read in pages, off the tick) and the hot state. */
  report: { params: Record<string, never>; result: PnlReport };
  /** Start the event stream: replay everything after `afterSeq`, then live events as `event` notifications. */
  subscribe: {
    params: { afterSeq: number };
    result: {
      lastSeq: number;
      replayed: number;
      /** events after afterSeq that were trimmed and are lost */
      missed: number;
      /**
       * true when afterSeq is ahead of the server's last seq (its event log was reset, e.g. a wiped data dir):
       * the server then replays everything it has, and the client must drop its dedup floor.
       */
      streamReset?: boolean;
    };
  };
}

export type RpcMethod = keyof RpcMethods;
export type RpcParams<M extends RpcMethod> = RpcMethods[M]['params'];
export type RpcResult<M extends RpcMethod> = RpcMethods[M]['result'];

/** Server → client notifications. */
export interface RpcNotifications {
  event: TradingEvent;
}

export const RPC_METHODS: readonly RpcMethod[] = [
  'hello',
  'ping',
  'status',
  'positions',
  'orders',
  'ordersPage',
  'balance',
  'pause',
  'resume',
  'closeAll',
  'inDoubtOrders',
  'settleOrder',
  'writeOff',
  'reconcile',
  'report',
  'subscribe',
];
