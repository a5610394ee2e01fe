/**
 * What the live tests need of a local exchange built from an exchange's public API documentation, whatever the
 * exchange: one suite (test/trading/engine/live-exchanges.suite.ts) proves every verified exchange with the same
 * tests. Each local exchange speaks its own exchange's REST API to real ccxt and turns the semantic faults below
 * into that exchange's documented answers (Binance -1013 "Filter failure: NOTIONAL", Bybit retCode 170140…).
 */
import type { ExchangeProfile } from '../../src/trading/exchange/profiles';
import type { Market } from '../../src/trading/exchange/exchange';

/** The requests a fault can be aimed at, by what they do. */
export type LocalRoute =
  | 'createOrder'
  | 'fetchOrder'
  | 'cancelOrder'
  | 'openOrders'
  | 'recentOrders'
  | 'trades'
  | 'balance'
  | 'ticker'
  | 'candles'
  | 'markets'
  /** The exchange's server time (public). */
  | 'time';

export type LocalFault =
  /** The exchange refuses the request, with its documented answer for this reason. Nothing is done. */
  | {
      kind: 'refuse';
      reason: 'notional' | 'lot-size' | 'insufficient-balance' | 'rate-limit' | 'duplicate' | 'auth';
    }
  /** An HTTP 5xx (or the exchange's "system busy"), and the request was NOT carried out. */
  | { kind: 'server-error' }
  /** The request WAS carried out (an order taken), then the exchange's "status unknown" 5xx answer. */
  | { kind: 'taken-then-unknown' }
  /**
   * The create WAS carried out (the order taken), then the exchange's documented refusal for this reason: an answer
   * read as a refusal while the exchange has the order (a refusal it contradicts, a mapping gone wrong).
   */
  | { kind: 'taken-then-refuse'; reason: 'insufficient-balance' }
  /** The request was carried out and its answer never arrives. */
  | { kind: 'taken-then-hang' }
  /** The request was carried out, then the connection is cut: the answer is lost. */
  | { kind: 'lose-response' }
  /** The connection is cut before anything is done. */
  | { kind: 'reset' }
  /** Never answer, do nothing. */
  | { kind: 'timeout' }
  /** Answer normally after a delay. */
  | { kind: 'delay'; ms: number }
  /**
   * The exchange answers that it has no such order, with its documented answer (a lagging read: Binance -2013,
   * Bybit an empty list, OKX 51603), whatever it holds. Nothing is done.
   */
  | { kind: 'not-found' };

export interface LocalTrade {
  symbol: string;
  side: 'buy' | 'sell';
  qty: number;
  price: number;
  /** Quote amount of the trade. */
  quoteQty: number;
  fee: number;
  feeAsset: string;
  /** The exchange's time of the trade. */
  time: number;
}

export interface LocalExchangeOptions {
  /** Starting balances, e.g. `{ USDT: 10_000, BTC: 1 }` (coins the owner held before the bot). */
  balances: Record<string, number>;
  /** Markets listed (ccxt symbols); default BTC/USDT and ETH/USDT. */
  symbols?: string[];
  /** Simulated time per candle. */
  candleMs?: number;
  /** Reads do not know an order (or its trades) younger than this. */
  lookupLagMs?: number;
  /**
   * The account read answers the balances as they stood this long ago (default 0, as they are): the account is
   * served like the order reads (Binance GET /api/v3/account: "Memory => Database"), so it can lag an order's fill.
   */
  balanceLagMs?: number;
  /** A resting limit order fills in this many slices, at most one per `matchIntervalMs`. */
  limitFillSlices?: number;
  /** A marketable order fills in this many trades (a market order sweeping that many makers). */
  marketFillParts?: number;
  /** The share of a market order the book holds: the rest of it is cancelled (immediate-or-cancel). */
  marketBookShare?: number;
  matchIntervalMs?: number;
  /** Fees paid in a third currency where the exchange offers it (Binance: BNB). */
  thirdCurrencyFees?: boolean;
  /** A maker's fee rate (default the taker's 0.1 %); negative: a maker rebate where the exchange documents one. */
  makerFeeRate?: number;
  /** Port to listen on (default: any free one), e.g. one the bot was told about before the exchange came up. */
  port?: number;
  /**
   * The largest limit and market order the exchange lists and enforces, each in the unit its docs give: Binance
   * LOT_SIZE maxQty (every order, base) / MARKET_LOT_SIZE maxQty (base); Bybit maxLimitOrderQty / maxMarketOrderQty
   * (base); OKX maxLmtSz (base) / maxMktSz (USDT). Default: the exchange's documented example.
   */
  maxOrder?: { limit?: number; market?: number };
}

/**
 * The API key as the exchange's key read tells it (Binance apiRestrictions, Bybit query-api, OKX account/config), and
 * as the double enforces it: an end it documents (`expiresAt`) refuses the key's requests after it with the
 * exchange's documented error. Unset fields keep each double's default (a key that trades spot, cannot withdraw).
 */
export interface LocalKeyLimits {
  spotTrade?: boolean;
  withdraw?: boolean;
  ipBound?: boolean;
  /** The key's (Binance: its spot trading permission's) end, exchange ms; null: none. */
  expiresAt?: number | null;
}

export interface LocalExchange {
  readonly url: string;
  /** Sets what the key read answers and what the double enforces of it. */
  setKeyLimits(limits: LocalKeyLimits): void;
  /** Reads do not know an order younger than this (ms); may be changed while running. */
  lookupLagMs: number;
  /** The account read answers the balances as they stood this long ago (ms); may be changed while running. */
  balanceLagMs: number;
  /**
   * The share of a market order the book holds, the rest cancelled as the exchange documents an IOC's (undefined:
   * all of it); may be changed while running.
   */
  marketBookShare: number | undefined;
  /**
   * The exchange's clock minus the host's (ms; negative: the host is ahead); may be changed while running. Signed
   * requests are checked against it as the exchange documents (Binance recvWindow, Bybit recv_window, OKX 30 s).
   */
  clockSkewMs: number;
  /** Queues one fault for the next request of `route` (of `symbol`, when given). */
  fault(route: LocalRoute, fault: LocalFault, symbol?: string): void;
  clearFaults(): void;
  /** The clientOrderId of every create request received, in order, repeats included. */
  createRequests(): string[];
  /** How many orders the exchange holds with this clientOrderId. */
  ordersWithClientId(clientOrderId: string): number;
  /** Every order the exchange holds, in the order it took them. */
  orderClientIds(): string[];
  trades(symbol?: string): LocalTrade[];
  /** Free plus locked. */
  balance(asset: string): number;
  /** Pins a symbol's price (ticker and the running candle) until `unpin`. */
  pinPrice(symbol: string, price: number): void;
  unpin(symbol: string): void;
  /** Halts trading on a symbol (its markets entry is not trading: Binance BREAK, Bybit Closed, OKX suspend). */
  halt(symbol: string): void;
  /** Trading on a halted symbol resumes. */
  resume(symbol: string): void;
  /**
   * The exchange changes a symbol's trading rules (amount step and minimum, price tick, minimum order value): its
   * markets read lists them and every new order is held to them from now on.
   */
  setMarketRules(
    symbol: string,
    rules: Partial<Pick<Market, 'amountStep' | 'minAmount' | 'priceStep' | 'minNotional'>>,
  ): void;
  /** Takes a symbol out of the exchange's markets list (delisted). */
  delist(symbol: string): void;
  /**
   * The order with this clientOrderId is cancelled if it is still open (from the exchange's web page, say), then
   * forgotten by every order read — lookups, open and finished lists, cancels answer "no such order" as the
   * exchange documents it — as the exchange does past its retention (OKX: a cancelled order without fills after 2
   * hours; Bybit's order history: cancelled orders after 24 hours; Binance: old CANCELED/EXPIRED orders without
   * fills). Its trades stay in the trade list.
   */
  purge(clientOrderId: string): void;
  /** How many requests of this kind the exchange received. */
  requestCount(route: LocalRoute): number;
  /**
   * The account's API key replaced by a new one (the old one expired, or was deleted after a leak): the account
   * answers the new key only, the old one is refused as the exchange refuses an unknown key.
   */
  rotateKey(apiKey: string, secret: string): void;
  close(): Promise<void>;
}

/** One verified exchange, as the live tests see it. */
export interface ExchangeKit {
  /** ccxt exchange id (= the profile's). */
  id: string;
  profile: ExchangeProfile;
  credentials: { apiKey: string; secret: string; password?: string };
  start(options: LocalExchangeOptions): Promise<LocalExchange>;
  /** The third currency fees are paid in with `thirdCurrencyFees`, and its market against the quote. */
  thirdCurrency?: { asset: string; market: string };
  /** The profile with a shorter request window for tests (the window is added to the unknown-order rule). */
  withRecvWindow(ms: number): ExchangeProfile;
  /** The unit the exchange states its largest market order in (`maxOrder.market`): OKX maxMktSz is in USDT. */
  marketMaximumIn: 'base' | 'quote';
}
