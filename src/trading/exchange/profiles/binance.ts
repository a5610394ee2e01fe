/**
 * Binance spot. Source: Binance Spot REST API documentation (rest-api.md, errors.md, enums.md, filters.md of
 * github.com/binance/binance-spot-api-docs).
 *
 * - POST /api/v3/order `newClientOrderId`: "A unique id among open orders" — Binance refuses a duplicate only
 *   while the first order is OPEN, so a second create of a filled order's id is a second order: never resend.
 *   Allowed: `^[\.A-Z\:/a-z0-9_-]{1,36}$`.
 * - MARKET and LIMIT answer `newOrderRespType=FULL` by default: `fills` entries have price, qty, commission,
 *   commissionAsset and tradeId but no side and no time → the trade list (GET /api/v3/myTrades?orderId=, weight
 *   5) is read for fills.
 * - GET /api/v3/order by `origClientOrderId` (weight 4, symbol required) may answer -2013 "Order does not exist."
 *   for an order the matching engine took (data source Memory → Database); -2026 for an order cancelled or expired
 *   without a fill over 90 days ago ("has been archived").
 * - HTTP 5xx, -1006 and -1007 ("Send status unknown; execution status unknown"): the create may have happened.
 * - 429 (and 418 once banned) with Retry-After: the request was refused. HTTP 403 "is used when the WAF Limit (Web
 *   Application Firewall) has been violated" (rest-api.md, "HTTP Return Codes"): refused too, no wait documented.
 * - Signed requests carry `recvWindow` (default 5000 ms, at most 60000).
 * - GET /api/v3/allOrders (weight 20, symbol required; without `orderId` the most recent, up to `limit`: default
 *   500, at most 1000). GET /api/v3/openOrders: every open order of the symbol (or of all symbols) in one answer,
 *   no `limit`.
 * - GET /api/v3/myTrades (weight 5 with `orderId`): `limit` default 500, at most 1000; without `fromId` "most
 *   recent trades are returned" — an order with more trades than the limit loses its oldest. "symbol + orderId +
 *   fromId" is a supported combination, `fromId` "will get id >= that fromId", oldest first: read from id 0. A
 *   symbol's trade ids grow as its trades happen (its trades page forward in time by them): fills replay in
 *   trade-id order (`fillOrder`).
 * - Fees: `commission` in `commissionAsset` — the quote, the base, or BNB when "pay fees with BNB" is on.
 * - GET /api/v3/account (what ccxt's fetchBalance reads) carries the account's `uid`.
 * - The key's own limits (wallet docs, "Get API Key Permission (USER_DATA)": GET /sapi/v1/account/apiRestrictions,
 *   signed, weight(IP) 1, on the spot API host): `enableSpotAndMarginTrading` ("Spot and margin trading"),
 *   `enableWithdrawals` ("You must apply the IP Access Restriction filter in order to enable withdrawals"),
 *   `ipRestrict`, and `tradingAuthorityExpirationTime` ("Expiration time for spot and margin trading permission",
 *   epoch ms; absent when the permission does not expire). A request the key may not make is refused -2015 "Invalid
 *   API-key, IP, or permissions for action." (HTTP 401).
 * - GET /api/v3/exchangeInfo (weight 20) takes `symbols` (a JSON array: `["BTCUSDT","BNBBTC"]`) or `symbol`: "If any
 *   symbol provided in either symbol or symbols do not exist, the endpoint will throw an error" (-1121 "Invalid
 *   symbol."). A spot market's id is its base and quote joined (ccxt: `BTC/USDT` ↔ `BTCUSDT`).
 */
import { createHmac } from 'node:crypto';
import type { EarlyRead } from '../early-reads';
import type { ExchangeProfile } from './exchange-profile';

/** recvWindow of every signed request (rest-api.md: default 5000 ms, at most 60000). */
const RECV_WINDOW_MS = 5_000;

export const binanceProfile: ExchangeProfile = {
  id: 'binance',
  name: 'Binance (spot)',
  clientOrderId: {
    param: 'newClientOrderId',
    maxLength: 36,
    pattern: /^[.A-Z:/a-z0-9_-]{1,36}$/,
    separator: '-',
  },
  lookupByClientId: 'GET /api/v3/order?symbol=…&origClientOrderId=…',
  needsSymbol: { fetchOrder: true, fetchOrderTrades: true, fetchRecentOrders: true, fetchOpenOrders: false },
  orderAnswerTradesComplete: false,
  // openOrders comes whole; an order's trades are read from trade id 0 up, 1000 a page; recent orders: one
  // allOrders answer (the most recent 1000)
  lists: {
    trades: { perPage: 1_000, cursor: { kind: 'from-id', param: 'fromId', field: 'id', first: '0' } },
    // myTrades: "The time between startTime and endTime can't be longer than 24 hours" (-1127 beyond); `symbol +
    // startTime` is a supported combination but the docs do not say how far it reads (the 24 h after it, or up to
    // now): every window is sent with both ends, which means one thing either way (not with orderId: -1128)
    tradesByTime: { maxSpanMs: 86_400_000, startParam: 'startTime', endParam: 'endTime' },
    recentPages: 1,
  },
  recvWindowMs: RECV_WINDOW_MS,
  // DELETE /api/v3/order: ccxt's cancelOrder maps the unified clientOrderId to origClientOrderId; "Cancel an active
  // order. … Data Source: Matching Engine"
  cancelByClientIdParam: 'clientOrderId',
  cancelFromEngine: true,
  // no tradeHistoryReachMs: GET /api/v3/myTrades by orderId documents no horizon
  // GET /api/v3/klines: "limit … Default 500; max 1000."
  maxCandles: 1000,
  rateLimit:
    '6000 request weight per minute per IP (429 -1003 + Retry-After, then 418 bans); unfilled order count per account (429 -1015, no Retry-After)',
  // 418: an IP ban for requests sent after a 429, "from 2 minutes to 3 days"; its Retry-After is the ban's length
  // (the gate takes that). Without one, the shortest ban. -1015 "Too many new orders" (rest-api/limits "Unfilled
  // Order Count": per account, "a 429 error without the Retry-After header"): only new orders wait (the one
  // backoff), reads and cancels go on. The longest ban, 3 days, bounds a kept "closed until" (gate-file.ts).
  // errors-codes: -2015 "Invalid API-key, IP, or permissions for action." (HTTP 401), -2014 "API-key format
  // invalid.", -1022 "Signature for this request is not valid." (the secret): the key itself is refused
  keyRefusalCodes: ['-2015', '-2014', '-1022'],
  // errors-codes -1013 with filters.md's "Filter failure: PRICE_FILTER" / "LOT_SIZE" / "MARKET_LOT_SIZE" /
  // "NOTIONAL"…: the symbol's filters, which Binance changes at announced times (GET /api/v3/exchangeInfo lists them)
  marketRuleCodes: ['-1013'],
  rateLimitResets: {
    byStatus: { 418: 120_000 },
    // 403: "used when the WAF Limit (Web Application Firewall) has been violated" — no wait documented: the one backoff
    backoffStatuses: [403],
    codeField: 'code',
    scopeByCode: { '-1015': 'orders' },
    longestWaitMs: 3 * 86_400_000,
  },
  // weights from rest-api.md (exchangeInfo 20, account 20, allOrders 20, openOrders 6 / 80 without a symbol, order
  // 4); ccxt's binance costs are weight × 0.2 (its own comments: "Weight(IP): 20 => cost = 0.2 * 20 = 4"). A start
  // with 5 symbols reads ~240 weight (markets, account, 5 × allOrders, openOrders of all symbols, balance): inside
  // the burst; afterwards 5,420 weight a minute paced evenly (ccxt's stock pacing: 6,000, one request at a time)
  requestWeight: { limit: 6_000, windowMs: 60_000, costPerWeight: 0.2, burst: 500, heaviestRequest: 80 },
  // myTrades pages a symbol's trades forward from a trade id ("id >= that fromId", oldest first)
  fillOrder: 'trade-id',
  fees: 'per trade: commission + commissionAsset (quote, base, or BNB)',
  // read directly (ccxt's fetchBalance waits for its market load first): the account read goes with the markets'
  accountCall: 'privateGetAccount',
  accountUid: (balance) => {
    const uid = (balance.info as { uid?: unknown } | undefined)?.uid;
    return typeof uid === 'number' || typeof uid === 'string' ? String(uid) : undefined;
  },
  keyLimits: {
    call: 'sapiGetAccountApiRestrictions',
    read: (answer) => {
      if (!answer || typeof answer !== 'object') return undefined;
      const a = answer as Record<string, unknown>;
      if (typeof a.enableSpotAndMarginTrading !== 'boolean') return undefined;
      const expiry = Number(a.tradingAuthorityExpirationTime);
      return {
        spotTrade: a.enableSpotAndMarginTrading,
        withdraw: typeof a.enableWithdrawals === 'boolean' ? a.enableWithdrawals : undefined,
        ipBound: typeof a.ipRestrict === 'boolean' ? a.ipRestrict : undefined,
        ...(Number.isFinite(expiry) && expiry > 0
          ? { expiresAt: expiry, expiryField: 'Binance tradingAuthorityExpirationTime' }
          : {}),
      };
    },
  },
  // GET /api/v3/ticker/24hr: `closeTime`, the end of its rolling window (ccxt's timestamp)
  tickerTime: 'closeTime',
  // an order self-trade prevention expired (its selfTradePreventionMode, the account's default EXPIRE_MAKER unless
  // sent): status EXPIRED_IN_MATCH (ccxt: 'expired'), with the prevented match's id in the order's preventedMatchId
  selfTradeEnd: (info) =>
    info.status === 'EXPIRED_IN_MATCH'
      ? `EXPIRED_IN_MATCH, selfTradePreventionMode ${String(info.selfTradePreventionMode ?? '?')}`
      : undefined,
  restOrigin: 'https://api.binance.com',
  // the reads a restart makes at once (connect-reads.ts, recovery-reads.ts), as ccxt asks for them: the traded
  // symbols' markets, the account (the identity check), each symbol's recent orders (allOrders, limit 1000), every
  // open order, the account again (the balance). Weights from rest-api.md: 20 each, openOrders without a symbol 80.
  // SIGNED endpoints (rest-api.md, "SIGNED (TRADE and USER_DATA) Endpoint security"): `timestamp` and `recvWindow`
  // in the query, `signature` the HMAC SHA256 of the query string with the secret as key (hex), the key in the
  // X-MBX-APIKEY header
  earlyReads: {
    reads: (ids): EarlyRead[] => [
      { path: '/api/v3/exchangeInfo', params: { symbols: JSON.stringify(ids) }, signed: false, weight: 20 },
      { path: '/api/v3/account', params: {}, signed: true, weight: 20 },
      ...ids.map((symbol) => ({
        path: '/api/v3/allOrders',
        params: { symbol, limit: '1000' },
        signed: true,
        weight: 20,
      })),
      { path: '/api/v3/openOrders', params: {}, signed: true, weight: 80 },
      { path: '/api/v3/account', params: {}, signed: true, weight: 20 },
    ],
    volatileParams: ['timestamp', 'signature'],
    // "We support HMAC, RSA, and Ed25519 keys" (rest-api.md): ccxt signs with RSA or Ed25519 when the secret is a
    // PEM private key (binance.js sign: `secret.indexOf('PRIVATE KEY') > -1`); this signer knows HMAC only
    signs: (secret) => !secret.includes('PRIVATE KEY'),
    sign: (read, { apiKey, secret }, now) => {
      const params = new URLSearchParams(read.params);
      const headers: Record<string, string> = {};
      if (!read.signed) return { query: params.toString(), headers };
      params.set('recvWindow', String(RECV_WINDOW_MS));
      params.set('timestamp', String(now));
      const query = params.toString();
      const signature = createHmac('sha256', secret).update(query).digest('hex');
      headers['X-MBX-APIKEY'] = apiKey;
      return { query: `${query}&signature=${signature}`, headers };
    },
  },
  // the traded symbols' markets, a few KB, instead of ~3,400 (8 MB of JSON for ccxt to read and parse at every start)
  marketsBySymbol: {
    marketId: (symbol) => symbol.replace('/', ''),
    params: (marketIds) => ({ symbols: JSON.stringify(marketIds) }),
  },
  // errors.md -2026 ORDER_ARCHIVED, "Order was canceled or expired with no executed qty over 90 days ago and has been
  // archived.": an order lookup's answer for an order its reads no longer have, as -2013 is — ccxt reads it as a
  // refused request (InvalidOrder), which left such an order pending for good and never settled (absent-order.ts)
  ccxtErrorCodes: { '-2026': 'OrderNotFound' },
  // HTTP 403, the WAF limit violated: a refusal for rate (ccxt's base table reads it as ExchangeNotAvailable, which made
  // a create's outcome "unknown" and every read a plain failure retried at once, with no backoff of its own)
  ccxtHttpExceptions: { '403': 'DDoSProtection' },
  ccxtOptions: {
    // spot only: no futures/options exchangeInfo calls on loadMarkets
    fetchMarkets: { types: ['spot'] },
    // sapi capital/config needs keys and a second round trip; spot trading does not use it
    fetchCurrencies: false,
    fetchMargins: false,
    // recovery scans open orders of all symbols once per start and accepts the heavier weight
    warnOnFetchOpenOrdersWithoutSymbol: false,
    fetchOpenOrders: { warnWithoutSymbol: false },
    // the early reads' too (earlyReads.sign): ccxt's requests match theirs only with the same recvWindow
    recvWindow: RECV_WINDOW_MS,
    // ccxt's own default too, said explicitly: fills come from the trade list either way
    newOrderRespType: { market: 'FULL', limit: 'FULL' },
  },
};
