/**
 * What ByNinja must know about an exchange before it may trade on it live: how our clientOrderId is sent and
 * found again, which calls need a symbol, what its order answers leave out, how long it may not know an order
 * it took, and the ccxt options that make its defaults fit a spot bot. Live mode runs only on an exchange that
 * has a profile (see profiles/index.ts); dry-run reads public data of any ccxt exchange.
 *
 * Every fact here comes from the exchange's public API documentation; each profile file cites it.
 */
import type { ApiKeyLimits, BalanceEntry, FeePaid, FillOrder } from '../exchange';
import type { EarlyReadsProfile } from '../early-reads';
import type { RateLimitResets } from '../rate-limit-gate';

export interface ClientOrderIdRule {
  /** The exchange's own parameter name (ccxt maps its unified `clientOrderId` param to it). */
  param: string;
  maxLength: number;
  /** Allowed characters and length, as the exchange documents them. */
  pattern: RegExp;
  /** What joins `<botId>`, `<installId>` and `<seq>`: `-`, or `Z` where only letters and digits are allowed. */
  separator: '-' | 'Z';
}

/**
 * How the next page of a list is asked (the cursor the exchange documents), read from the rows ccxt returns: ccxt
 * keeps each row's raw answer in `info` (and puts Bybit's `nextPageCursor` on the first row's).
 */
export type PageCursor =
  /** The answer names the next page (Bybit `nextPageCursor`, sent back as `cursor`); empty or absent: the last page. */
  | { kind: 'token'; param: string; field: string }
  /**
   * Newest first: the next page holds the rows older than the oldest row's id (OKX `after` = ordId or billId). A
   * page shorter than the page size is the last.
   */
  | { kind: 'older-than'; param: string; field: string }
  /**
   * Oldest first from an id (the first page from `first`): the next page starts past the newest row's id (Binance
   * myTrades `fromId`, "trades >= that fromId"). A page shorter than the page size is the last.
   */
  | { kind: 'from-id'; param: string; field: string; first: string };

export interface ListPaging {
  /** The exchange's documented maximum per page (asked on every page: its defaults are smaller). */
  perPage: number;
  cursor: PageCursor;
  /**
   * A list the exchange answers only within a time window (Bybit execution/list: at most 7 days, the past 7 by
   * default): rows older than that are read window after window (paged-list.ts `timeWindows`).
   */
  window?: TimeWindow;
}

export interface TimeWindow {
  /** The longest span end − start the exchange takes, in ms. */
  maxSpanMs: number;
  startParam: string;
  endParam: string;
}

export interface ExchangeProfile {
  /** ccxt exchange id. */
  id: string;
  /** Human name for messages. */
  name: string;
  clientOrderId: ClientOrderIdRule;
  /**
   * How the exchange finds an order again by our clientOrderId (documentation; the adapter passes the unified
   * `clientOrderId` param to ccxt's fetchOrder, which sends the exchange's own parameter).
   */
  lookupByClientId: string;
  /** Calls the exchange only answers for one symbol at a time. */
  needsSymbol: {
    fetchOrder: boolean;
    fetchOrderTrades: boolean;
    fetchRecentOrders: boolean;
    /** fetchOpenOrders works without a symbol but costs more (Binance: weight 80 instead of 6). */
    fetchOpenOrders: boolean;
  };
  /**
   * Whether the trades inside an order answer carry everything a fill needs (trade id, side, exchange time,
   * fee). When they do not (Binance FULL `fills`: no side, no time) the adapter drops them and the engine reads
   * the exchange's trade list instead: a field is never guessed.
   */
  orderAnswerTradesComplete: boolean;
  /**
   * How long after a create the exchange may still answer "no such order" for an order it took, on top of the
   * engine's own window: the request's validity window (Binance recvWindow; OKX expTime, see createDeadline),
   * which the adapter also sends.
   */
  recvWindowMs: number;
  /**
   * How a cancel names an order by our clientOrderId (ccxt passes it through): ccxt's unified `clientOrderId` where
   * its cancelOrder maps it (Binance origClientOrderId, OKX clOrdId), else the exchange's own parameter (Bybit
   * orderLinkId).
   */
  cancelByClientIdParam: string;
  /**
   * The exchange answers a cancel from its matching engine, as documented (Binance DELETE /api/v3/order: "Data
   * Source: Matching Engine"), not from the lagging store its order reads answer from: its "unknown order" means
   * the order does not rest there. Bybit and OKX document no source for theirs: false.
   */
  cancelFromEngine: boolean;
  /** A suspended symbol vanishes from the markets list (ExchangeTraits `unlistsSuspended`). */
  unlistsSuspended?: boolean;
  /**
   * How far back the exchange's trade list (the one an order's fills are read from) reaches, as documented (OKX
   * fills-history: 3 months; Bybit execution list: 2 years). An order the exchange no longer shows is settled from
   * its fills only when it is younger (absent-order.ts). Absent: the exchange documents no horizon.
   */
  tradeHistoryReachMs?: number;
  /**
   * The most candles one read answers, as documented (Binance klines and Bybit kline: 1000; OKX candles: 300): ccxt
   * asks for no more, silently. The strategy needs its candles within one read (strategy/candle-needs.ts).
   */
  maxCandles: number;
  /**
   * A request header that makes the exchange drop a create it would process later than that time (OKX `expTime` on
   * Place order). The adapter sends it on every create (`path`: ccxt's name of the create endpoint), set to the
   * signing time plus `recvWindowMs`, so that window bounds how late a create can still be taken.
   */
  createDeadline?: { header: string; path: string };
  /** Request budget, as documented (for humans and the docs; ccxt's rate limiter enforces it). */
  rateLimit: string;
  /**
   * How long a rate-limit refusal lasts where its answer carries no Retry-After, as documented: by HTTP status (an
   * IP ban) and by the exchange's own code (read from `answerCodes.field`). The exchange-wide gate
   * (rate-limit-gate.ts) holds every request that long; absent, or for anything else, the one backoff decides.
   */
  rateLimitResets?: RateLimitResets;
  /**
   * Where the exchange documents one request-weight budget per window for every endpoint (Binance: REQUEST_WEIGHT
   * 6000 per minute per IP) and ccxt's per-endpoint costs are those weights scaled (`costPerWeight`): ccxt's
   * limiter is set from it (`ccxtThrottle`) so that `burst` weight may go out at once (start-up's parallel reads)
   * and the rest of the window is spread evenly — never more than `limit` in any window, even with the heaviest
   * request (`heaviestRequest` weight) admitted on the last token. Absent: ccxt's own limiter as it ships (one
   * request's cost at a time, `rateLimit` ms per cost unit), which is right for budgets counted per second and per
   * endpoint (Bybit, OKX).
   */
  requestWeight?: {
    limit: number;
    windowMs: number;
    costPerWeight: number;
    burst: number;
    heaviestRequest: number;
  };
  /**
   * Where the exchange documents its limits per endpoint over a short window (`windowMs`: Bybit per UID per second,
   * OKX per 2 s) and ccxt's per-endpoint costs are those counts scaled to its `rateLimit`: the adapter paces each
   * endpoint on its own (endpoint-limiter.ts) — ccxt's count for it in any `windowMs + marginMs`, each request
   * counted until a window after its answer (the exchange counts it on arrival, before that; the margin: Bybit's
   * "do not run at the very edge") — in place of ccxt's limiter, one queue for every endpoint, which spaced a
   * start's reads ~100 ms apart. `overall`:
   * where the exchange also counts every request together (Bybit: 600 per 5 s per IP), one each, over its window
   * plus the same share of margin (`marginMs / windowMs`: Bybit 5.5 s).
   */
  endpointWindows?: {
    windowMs: number;
    marginMs: number;
    overall?: { requests: number; windowMs: number };
  };
  /**
   * How the exchange orders a symbol's trades, as it documents it (the profile file cites where): `trade-id` only
   * where its trade ids are documented to grow as the symbol's trades happen; `time` where its documentation promises
   * no order of the ids (the books then replay by the exchange's trade time, pnl.ts inReplayOrder).
   */
  fillOrder: FillOrder;
  /** How fees come back. */
  fees: string;
  /**
   * The balances a spot sell may take, read from the raw answer of ccxt's fetchBalance (`info`) where ccxt's reading
   * counts more than the coin held (OKX above Spot mode: `availEq`, equity; profiles/okx-balance.ts) — pure; undefined
   * when the answer is not the documented one (ccxt's reading then). Absent: ccxt's free, used and total.
   */
  balanceRead?: (answer: unknown) => Record<string, BalanceEntry> | undefined;
  /**
   * The account's own id, from the raw answer (`info`) of `accountCall` (or of ccxt's fetchBalance), where the
   * exchange gives one: trading's state is bound to it, so a new API key for the same account keeps its state (a key
   * expires, or is replaced after a leak). Every verified exchange has one; absent (or not in the answer): the state
   * is bound to a hash of the API key, and a new key is refused like another account's.
   */
  accountUid?: (balance: { info?: unknown }) => string | undefined;
  /**
   * The order's fees, one per coin, from its raw answer (`info`) where ccxt reads fewer coins than the answer gives
   * (Bybit `cumFeeDetail`: ccxt 4.5.84 keeps its first coin only); undefined: ccxt's `fees` (else its `fee`).
   */
  orderFees?: (info: unknown) => FeePaid[] | undefined;
  /**
   * ccxt's implicit method for the raw answer `accountUid` reads (Binance `privateGetAccount`: GET /api/v3/account;
   * Bybit `privateGetV5UserQueryApi`: GET /v5/user/query-api; OKX `privateGetAccountConfig`: GET
   * /api/v5/account/config), called directly: ccxt's fetchBalance would first wait for its market load, one more
   * round trip at start. Absent: fetchBalance.
   */
  accountCall?: string;
  /**
   * The API key's own limits (Exchange.apiKeyLimits): ccxt's implicit method for the exchange's key read and what its
   * raw answer says (pure; undefined when the answer is not the documented one). Read at a live start and once a day
   * (key-watch.ts).
   */
  keyLimits?: {
    call: string;
    read: (answer: unknown) => ApiKeyLimits | undefined;
  };
  /**
   * Set where the exchange has neither an all-orders call (ccxt fetchOrders) nor a single-order call that sees every
   * order (Bybit: /v5/order/realtime forgets closed orders after a restart of its service): an order is looked for
   * in its open-orders list, then in its order history, each filtered by the exchange's own id parameter.
   */
  orderLists?: true;
  /**
   * How the exchange pages the lists the bot must read whole (docs/exchanges.md, "Lists read whole"): every page is
   * asked at the exchange's documented maximum and the cursor is followed to the last page (paged-list.ts). A list
   * without an entry comes in one answer (Binance openOrders: every open order of a symbol, or of all symbols).
   */
  lists: {
    /** Open orders (reconcile, recovery, adoption): read whole. */
    open?: ListPaging;
    /** Finished orders, newest first (recovery's recent orders: `recentPages` pages of them). */
    finished?: ListPaging;
    /** One order's trades (fills): read whole. */
    trades?: ListPaging;
    /**
     * A symbol's trades by time (Exchange.fetchSymbolTrades: the trades since an unknown order's send) where the
     * exchange bounds the span a read covers (Binance myTrades: 24 h; Bybit execution/list: 7 days): read window by
     * window from the send to now, each window with both its start and end. Absent: one read from the start covers up
     * to now (OKX fills-history `begin`, newest first).
     */
    tradesByTime?: TimeWindow;
    /**
     * Pages of finished orders that make "recent orders" (recovery raises its id sequence past ours and takes in
     * orders state lacks): the most recent `recentPages × perPage`; reaching it is logged, not an error.
     */
    recentPages: number;
  };
  /**
   * The exchange's own error codes whose meaning for a create ccxt's error classes do not carry: the field of the
   * answer that holds the code, the codes of a duplicate clientOrderId (the order EXISTS), and the codes of a
   * server-side failure or timeout after which the create may have been carried out (outcome unknown, whatever the
   * HTTP status and ccxt class: Bybit answers them with HTTP 200).
   */
  answerCodes?: { field: string; duplicate: string[]; outcomeUnknown: string[] };
  /**
   * The exchange's own codes (in the field `answerCodes.field` or `rateLimitResets.codeField` names) that refuse the
   * API key itself — unknown or deleted key, wrong secret or passphrase, a request IP off the key's allow-list, a
   * permission the key lacks — whatever class ccxt gives them (ccxt's binance reads -2015 after a signed call once
   * succeeded as an IP ban). Such a refusal is named as the key's (EXCHANGE_API_KEY / SECRET / PASSWORD, the
   * allow-list, the permissions), never waited out as an outage or a rate limit. Any HTTP 401 is one as well.
   */
  keyRefusalCodes?: readonly string[];
  /**
   * The exchange's own codes of a create refused for the symbol's trading rules — its amount step or minimum, price
   * tick, minimum order value — which the exchange changes at an announced time, between two of the bot's daily
   * markets reads: an order sized on the markets read before is refused until they are read again, so such a
   * refusal makes them due for a reload (market-refresh.ts). Absent: refusals never reload the markets.
   */
  marketRuleCodes?: readonly string[];
  /**
   * The exchange's own codes of a create refused because the order is too large for the book: filled, it would move
   * the price too far from the market (Bybit 170197 / 170198). Nothing states the threshold, and the book may take a
   * smaller order at once: an urgent exit so refused is sold in smaller pieces (ExchangeTraits `depthRefusal`,
   * symbol-decision.ts `depthRefusedPiece`). Absent: no refusal is read so.
   */
  depthRefusalCodes?: readonly string[];
  /**
   * The exchange's own codes that ccxt classes as a refusal of the API key (AuthenticationError, PermissionDenied)
   * though they are about the account, its region or the symbol — not the key — each with its true reason in words
   * (the exchange's, and what the operator can do). The effect stays a key refusal's (a person must act: entries
   * paused until /resume, exits keep running; no outage, no rate limit); the words are these, so the operator is not
   * sent to replace a good key (accountRefusedText).
   */
  accountRefusals?: Readonly<Record<string, string>>;
  /**
   * The exchange's own codes (in the field `answerCodes.field` names) of a request refused for its timestamp that
   * ccxt does not class InvalidNonce (Bybit -1 "request expired", its trade service's): they measure the clock offset
   * as InvalidNonce does (clock-skew.ts), keeping the class ccxt gives them. Absent: InvalidNonce only.
   */
  clockRefusalCodes?: readonly string[];
  /**
   * scheme://host of the REST API ccxt reads markets and the account from (not in sandbox mode): connections to it
   * are opened while ccxt loads (spare-connections.ts). A test checks it against the URL ccxt really asks.
   */
  restOrigin?: string;
  /**
   * The start's reads sent before ccxt is loaded, on connections opened to `restOrigin` (or the API URL): the
   * requests as ccxt sends them, and how a private one is signed (early-reads.ts). A test checks that ccxt's own
   * requests for them match, none sent twice. Absent: the start's reads leave once ccxt is loaded.
   */
  earlyReads?: EarlyReadsProfile;
  /** ccxt options (deep-merged under the operator's own ccxtOptions). */
  ccxtOptions: Record<string, unknown>;
  /**
   * Where the exchange documents a markets list asked for by symbol in one request (Binance exchangeInfo `symbols`):
   * the market id of a unified symbol when no market has told it yet, and the fetchMarkets params that ask for only
   * those ids. The exchange refuses the whole request when one of them does not exist (Binance -1121, ccxt's
   * BadSymbol): the adapter then loads the whole list, so a delisted symbol is missing from it as before. Absent:
   * every load reads the whole list.
   */
  marketsBySymbol?: {
    marketId: (symbol: string) => string;
    params: (marketIds: readonly string[]) => Record<string, string>;
  };
  /**
   * What the exchange calls the third credential when it has one (OKX: the API key's passphrase): live mode then
   * needs EXCHANGE_PASSWORD. Absent: key and secret only.
   */
  password?: string;
  /**
   * ccxt capabilities turned off (`has`), for calls ccxt would make that spot trading does not need: ccxt decides
   * some of them from `has` alone, with no option to skip them (OKX fetchCurrencies on every loadMarkets).
   */
  ccxtHas?: Record<string, false>;
  /**
   * Exchange error codes → ccxt error class names, over ccxt's own table, where the documentation says more than
   * ccxt's mapping (a duplicate clientOrderId read as a plain refusal; an "outcome unknown" code left unmapped).
   */
  ccxtErrorCodes?: Record<string, string>;
  /**
   * HTTP statuses → ccxt error class names, over the exchange's own `httpExceptions` table (ccxt's base one reads
   * Binance's 403, its WAF limit, as ExchangeNotAvailable), for answers whose body ccxt cannot read a code from.
   */
  ccxtHttpExceptions?: Record<string, string>;
  /**
   * Where an error answer carries the exchange's code and message (dotted paths, tried in order): the error then
   * reads `<id> <code>: <message>` instead of the whole body, whose echoes of the request (ids, times) would make
   * the same refusal look new every time. Absent: ccxt's message as it is.
   */
  errorBody?: ReadonlyArray<{ code: string; message: string }>;
  /**
   * Where a candle row says itself whether it is finished (OKX `confirm`, index 8: "0" still forming): the adapter
   * leaves such a candle out, whatever the clocks say. Absent: the exchange does not say (Binance, Bybit); the engine
   * then decides on the exchange's clock (symbol-tick.ts closedCandles).
   */
  formingCandle?: { index: number; value: string };
  /**
   * The time the exchange's ticker answer documents for its data (ccxt's `timestamp`): Binance 24hr `closeTime`, OKX
   * `ts`. A ticker without it is not trusted for an entry (ticker-age.ts). Absent: the ticker carries no time of its
   * data (Bybit v5 spot: the response's `time` is the server's, and ccxt leaves the ticker's timestamp undefined).
   */
  tickerTime?: string;
  /**
   * Whether an order answer (ccxt's `info`, the exchange's own fields) says the exchange ended it by self-trade
   * prevention, and in what words: the operator is told the cause and the fix (the account's own order on the other
   * side), not a bare "expired". Absent: not read.
   */
  selfTradeEnd?: (info: Record<string, unknown>) => string | undefined;
}
