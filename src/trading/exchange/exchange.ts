/**
 * The Exchange port: the only view of an exchange the engine has. Three adapters implement it (paper,
 * dry-run = ccxt public data + paper fills, live = ccxt), and the engine never branches on which one it has.
 *
 * Errors: adapters throw only the project's errors (shared/errors.ts). A create that fails with a
 * `NetworkError` (timeout, reset, lost response) has an UNKNOWN outcome: the caller resolves it with
 * `fetchOrderByClientId`, never by retrying the create.
 */
import { offsetClock, type Clock } from '../../shared/clock';
import type { OrderSide, OrderSpec, OrderType } from '../../shared/domain/order';

export type { OrderSide, OrderSpec, OrderType };

/**
 * A measured host clock offset: how far ahead of the exchange's (negative: behind), and the refusal that made it
 * measure (absent: a scheduled measurement, the first tick's or hourly).
 */
export interface ClockSkew {
  offsetMs: number;
  refusal?: string;
}

/** The exchange's view of an order. */
export type ExchangeOrderStatus = 'open' | 'closed' | 'canceled' | 'rejected' | 'expired';

/**
 * One fill of one of our orders, as the exchange reported it. Adapters return only complete trades: the side is
 * the exchange's (never guessed), the time is the exchange's, and a trade the exchange sent without them is left
 * out (the engine then reads the exchange's trade list).
 */
export interface ExchangeTrade {
  id: string;
  orderId: string;
  symbol: string;
  side: OrderSide;
  price: number;
  amount: number;
  cost: number;
  fee: { cost: number; currency: string };
  /** Exchange time of the trade (epoch ms). */
  timestamp: number;
}

/** The account's trades on one symbol over a span (Exchange.fetchSymbolTrades). */
export interface SymbolTrades {
  trades: ExchangeTrade[];
  /** Every trade of the span is in `trades`. */
  complete: boolean;
}

export interface ExchangeOrder extends OrderSpec {
  id: string;
  clientOrderId?: string;
  filled: number;
  remaining: number;
  average?: number;
  status: ExchangeOrderStatus;
  /** Exchange time the order was created (epoch ms); absent when the answer does not say. */
  timestamp?: number;
  /**
   * Trades of this order when the exchange returns them complete with the order (otherwise absent: use
   * fetchOrderTrades).
   */
  trades?: ExchangeTrade[];
  /**
   * The order's whole fee so far, one entry per coin, as its answer says it (OKX `fee`/`feeCcy`, Bybit
   * `cumFeeDetail`, through ccxt's `fees`); absent when the answer does not say (Binance's order read).
   */
  fees?: FeePaid[];
  /**
   * The exchange ended the order by its self-trade prevention — it would have traded against another order of the
   * same account — in the exchange's words (Binance `EXPIRED_IN_MATCH`, Bybit `cancelType` `CancelBySmp`, OKX
   * `cancelSource`); absent otherwise.
   */
  selfTrade?: string;
}

/** A fee paid: its cost in `currency`. */
export interface FeePaid {
  cost: number;
  currency: string;
}

export interface Market {
  symbol: string;
  base: string;
  quote: string;
  /** Amount step (e.g. 0.0001); amounts are floored to it. */
  amountStep: number;
  /** Price tick (e.g. 0.01). */
  priceStep: number;
  minAmount: number;
  /** Minimum order value in quote currency. */
  minNotional: number;
  /**
   * The largest single order the exchange takes, by order type, where it documents one (ccxt-exchange.ts toMarket
   * says where each comes from; docs/exchanges.md lists them). An order above it is refused every time, so sizing
   * (precision.ts largestOrderAmount) keeps every order within it. Absent, or a side of it absent: none known.
   */
  maxOrder?: Partial<Record<OrderType, OrderMaximum>>;
  /**
   * A MARKET order's own amount rules where the exchange sets them besides every order's `amountStep` and
   * `minAmount` (Binance MARKET_LOT_SIZE stepSize and minQty; 0 there is none): a market order must meet both
   * (precision.ts amountRules). Absent: a market order has every order's rules (Bybit and OKX document no others).
   */
  marketLot?: { step?: number; min?: number };
  /**
   * False where the exchange does not apply `minNotional` to MARKET orders (Binance NOTIONAL `applyMinToMarket`
   * false; MIN_NOTIONAL `applyToMarket` false). Absent: it applies to every order.
   */
  minNotionalOnMarket?: boolean;
  /** The taker fee rate ccxt knows for the market (0.001 = 0.1 %); absent when it does not. */
  takerFee?: number;
  /**
   * Listed but not trading now (ccxt `active: false`: Binance status not TRADING — e.g. BREAK —, Bybit not
   * Trading, OKX not live): its orders are still synced, nothing is placed on it. Absent: trading.
   */
  halted?: boolean;
}

/** One order type's largest order: in the base (amount) and/or in the quote (value), either or both. */
export interface OrderMaximum {
  /** Largest amount, in the base. */
  amount?: number;
  /** Largest value (amount × price), in the quote. */
  value?: number;
}

export interface Ticker {
  symbol: string;
  last: number;
  bid: number;
  ask: number;
  /**
   * When the exchange dated the price (its clock, epoch ms: Binance 24hr `closeTime`, OKX `ts`); absent when the
   * answer carried no time. The engine judges the price's age on it (ticker-age.ts).
   */
  timestamp?: number;
  /**
   * The exchange's name for the time it documents on its ticker (`closeTime`, `ts`): an answer without it is not
   * trusted for an entry. Absent: the exchange's ticker carries no time of its data (Bybit v5 spot: only the
   * response's own `time`, which ccxt drops) — its age cannot be judged.
   */
  timeField?: string;
}

/** [timestamp, open, high, low, close, volume] as ccxt returns it. */
export type Candle = [number, number, number, number, number, number];

export interface BalanceEntry {
  free: number;
  used: number;
  total: number;
}

export interface CreateOrderRequest extends OrderSpec {
  /** Deterministic id `<botId>-<installId>-<seq>`, committed before the call. */
  clientOrderId: string;
}

/**
 * How an exchange orders one symbol's trades, as its documentation says (never guessed from what its ids look like):
 * `trade-id` where its trade ids are documented to grow as the symbol's trades happen (Binance myTrades `fromId`; OKX
 * trade ids, by which it pages an instrument's trades; the paper exchange, which numbers its own), `time` where
 * nothing promises that (Bybit's execId is only an "Execution ID"). The books replay fills by it (pnl.ts
 * inReplayOrder).
 */
export type FillOrder = 'trade-id' | 'time';

/** What the engine must know of the exchange behind the port. */
export interface ExchangeTraits {
  /** The order of a symbol's trades (its profile's `fillOrder`; paper: `trade-id`; no profile: `time`). */
  fillOrder: FillOrder;
  /**
   * How long after a create the exchange may still answer "no such order" for an order it took, on top of the
   * engine's unknown-order window (its request validity window, e.g. Binance recvWindow); 0 for paper.
   */
  lookupGraceMs: number;
  /**
   * Our clientOrderId must fit this (length and characters), or the exchange refuses the create; `separator`
   * joins its parts (default `-`; `Z` where only letters and digits are allowed).
   */
  clientOrderId: { maxLength: number; pattern: RegExp; separator?: '-' | 'Z' };
  /**
   * How far back the exchange's trade history reaches (its documented horizon, e.g. OKX fills-history 3 months): an
   * order it no longer shows that is older than this cannot be settled from its fills (absent-order.ts). Absent: no
   * documented horizon.
   */
  tradeHistoryReachMs?: number;
  /** The most candles one read answers (its profile's `maxCandles`); absent: no documented limit (paper). */
  maxCandles?: number;
  /**
   * The coin a buy's fee is taken in: `base` (the coin received: Binance, Bybit and OKX spot, unless Binance's BNB
   * pays it) or `quote` (paper). A sell's is taken in the quote everywhere. Decides the coin of a fee no answer says
   * (fills-from-order.ts `feeOfRest`).
   */
  buyFeeCoin: 'base' | 'quote';
  /**
   * A cancel's "no such order" means the order does not rest on the exchange (the cancel is answered by its matching
   * engine, as Binance documents and paper is), even while its reads lag: an order ended on our inference that its
   * cancel does not find cannot fill later (never-placed-recheck.ts `restRuledOut`). False where the exchange does
   * not document it.
   */
  cancelFromEngine: boolean;
  /**
   * A symbol the exchange suspends may vanish from its markets list instead of being listed as not trading (Bybit:
   * instruments-info's spot list holds Trading symbols only): one gone from the list may come back. Absent: gone
   * means delisted.
   */
  unlistsSuspended?: boolean;
  /**
   * Matches the error text the state keeps of a create the exchange refused as too large for its book (its profile's
   * `depthRefusalCodes`, in the `<exchange> <code>: <message>` the adapter writes of an error answer): an urgent exit
   * so refused is sold in smaller pieces (symbol-decision.ts `depthRefusedPiece`). Absent: none is.
   */
  depthRefusal?: RegExp;
}

/**
 * What the exchange says of the API key itself (Exchange.apiKeyLimits; docs/exchanges.md "The API key's own
 * limits"). Never a secret. A field the exchange's answer does not carry is undefined: nothing is guessed.
 */
export interface ApiKeyLimits {
  /** The key may place and cancel spot orders. */
  spotTrade: boolean | undefined;
  /** The key may withdraw (the bot never needs it: a leaked key could empty the account). */
  withdraw: boolean | undefined;
  /** The key is bound to IP addresses. */
  ipBound: boolean | undefined;
  /**
   * When the key, or its spot trading permission, stops working (epoch ms): Bybit `expiredAt` (a key without an IP
   * binding), Binance `tradingAuthorityExpirationTime`. Undefined: the exchange tells no end.
   */
  expiresAt?: number;
  /** The exchange's name for that end, as the owner finds it in its documentation (e.g. `Bybit expiredAt`). */
  expiryField?: string;
}

/** A key's end as the adapter names it in the errors the exchange answers after it (Exchange.knowKeyExpiry). */
export interface KeyExpiry {
  at: number;
  field: string;
}

export interface Exchange {
  /** `paper`, or the ccxt exchange id. */
  readonly id: string;
  readonly traits: ExchangeTraits;
  /**
   * Markets by symbol; loaded once, again with `reload` (the engine refreshes them daily). `symbols`: the ones needed
   * (traded or held); an exchange that can be asked for only those (its profile's `marketsBySymbol`) answers at
   * least them, except one it no longer lists (missing, as from the whole list); later calls on a symbol outside
   * them load its market first. Absent: every market.
   */
  loadMarkets(reload?: boolean, symbols?: readonly string[]): Promise<Record<string, Market>>;
  /**
   * The market of a symbol outside those `loadMarkets` was asked for (a fee currency's, to value a fee), loaded now
   * where markets are loaded by symbol; undefined when the exchange does not list it. Absent: `loadMarkets` answers
   * every market.
   */
  findMarket?(symbol: string): Promise<Market | undefined>;
  /**
   * Markets an earlier run kept (live: kept-markets.ts), usable once this resolves to send and read orders before
   * `loadMarkets` answered; never to size or place one. Absent or undefined: none (the start waits for loadMarkets).
   * Never rejects.
   */
  keptMarkets?(): Promise<Record<string, Market> | undefined>;
  /**
   * Whether the exchange refused this bot for rate lately (live: a closing of the whole rate-limit gate within the
   * last day, kept between runs: gate-file.ts): the start then sends its first reads alone, and recovery's once the
   * account answered (recovery-reads.ts). Absent: treated as refused. Never rejects.
   */
  refusedLately?(): Promise<boolean>;
  /**
   * Until when the exchange's rate limit holds every request (live: a ban the gate waits out, kept from the last
   * run or fresh; rate-limit-gate.ts), or undefined. What /health and /status say the start waits for.
   */
  rateLimitedUntil?(): number | undefined;
  /**
   * Calls `listener` each time the host clock's offset from the exchange's was measured (live: clock-skew.ts — with
   * the first tick's reads, hourly, and when the exchange refused a request's timestamp; later requests are signed on the exchange's
   * time), and at once with the last measurement made before it listened. Absent: the exchange signs nothing with
   * our clock (paper).
   */
  onClockSkew?(listener: (skew: ClockSkew) => void): void;
  /**
   * How far the host clock is ahead of the exchange's (ms; negative: behind), as last measured (live: ccxt's
   * `timeDifference`, clock-skew.ts); 0 until measured. Absent: the exchange's time is the host's (paper, dry-run).
   * The engine reads the exchange's time through `exchangeClock`.
   */
  clockOffsetMs?(): number;
  fetchTicker(symbol: string): Promise<Ticker>;
  fetchCandles(symbol: string, timeframe: string, limit: number): Promise<Candle[]>;
  /**
   * Never retried by the adapter. Throws NetworkError when the outcome is unknown. A clientOrderId the exchange
   * already has is refused with InvalidOrderError whose `context.duplicate` is true: that order EXISTS (look it
   * up with fetchOrderByClientId), unlike other InvalidOrderErrors which mean it was never placed.
   */
  createOrder(request: CreateOrderRequest): Promise<ExchangeOrder>;
  /** `since`: the order's creation (a lookup in a history answered by time window searches from there). */
  fetchOrder(id: string, symbol: string, since?: number): Promise<ExchangeOrder>;
  /**
   * Looks an order up by our clientOrderId; throws OrderNotFoundError when the exchange has none. `since`: the
   * order's creation (Bybit's history answers 7 days from now unless searched from it).
   */
  fetchOrderByClientId(clientOrderId: string, symbol: string, since?: number): Promise<ExchangeOrder>;
  /** Every open order (of one symbol, or of all), every page of them: never a first page only. */
  fetchOpenOrders(symbol?: string): Promise<ExchangeOrder[]>;
  /**
   * Every open order of one symbol and its most recent finished ones (recovery raises its clientOrderId sequence
   * past ours and takes in orders state lacks).
   */
  fetchRecentOrders(symbol: string): Promise<ExchangeOrder[]>;
  /**
   * Every trade of one order, every page of them (fails rather than return part of them); `since` (the order's
   * creation, epoch ms) bounds the search where the exchange needs it.
   */
  fetchOrderTrades(orderId: string, symbol: string, since?: number): Promise<ExchangeTrade[]>;
  /**
   * The account's trades on `symbol` from `since` (our record of a send, host time: the adapter searches from it on
   * the exchange's clock, less a margin) to now: one page of the exchange's largest size, `complete` false when it
   * is full (more may lie beyond it). A trade the exchange sent without its order id, side or time is not left out:
   * it makes the answer incomplete (nothing can be said of it).
   */
  fetchSymbolTrades(symbol: string, since: number): Promise<SymbolTrades>;
  cancelOrder(id: string, symbol: string): Promise<ExchangeOrder>;
  /**
   * Cancels the order by our clientOrderId (one whose create answer never came: its exchange id is unknown). Like
   * cancelOrder: OrderNotFoundError when the exchange has no open order by that id.
   */
  cancelOrderByClientId(clientOrderId: string, symbol: string): Promise<ExchangeOrder>;
  fetchBalance(): Promise<Record<string, BalanceEntry>>;
  /**
   * Which account this is, never a secret: `paper` for the built-in accounts, `uid:<id>` where the exchange tells
   * its account id, else `key:<hash of the API key>`. Trading's state is bound to it (state-identity.ts).
   */
  accountId(): Promise<string>;
  /**
   * The API key's own limits, one request (live: the profile's `keyLimits` call); undefined where the exchange has
   * no such read. Absent: not a live exchange (paper, dry-run).
   */
  apiKeyLimits?(): Promise<ApiKeyLimits | undefined>;
  /**
   * The key's end as last known (kept between runs, key-notice-file.ts): from then on the adapter names the
   * exchange's authentication and permission refusals as the key's expiry. Undefined: none known.
   */
  knowKeyExpiry?(expiry: KeyExpiry | undefined): void;
  close(): Promise<void>;
}

/**
 * The exchange's clock (the one the engine compares the exchange's timestamps with: candle open times, fill times,
 * an order's creation): the host clock less the measured offset; the host clock itself where the exchange has none.
 */
export function exchangeClock(host: Clock, exchange: Pick<Exchange, 'clockOffsetMs'>): Clock {
  return offsetClock(host, () => exchange.clockOffsetMs?.() ?? 0);
}
