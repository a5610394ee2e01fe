/**
 * OKX spot, API v5. Source: the OKX API v5 documentation (www.okx.com/docs-v5/en/): "REST Authentication",
 * "Rate Limits", "General Info", Trade: "POST / Place order", "POST / Cancel order", "GET / Order details",
 * "GET / Order List", "GET / Order history (last 7 days)", "GET / Transaction details (last 3 months)"; Public data:
 * "Get instruments", "Get system time"; Market data: "GET / Ticker", "GET / Candlesticks"; Trading account:
 * "Get balance"; "Error Code" → REST API → Public (codes 50000–53999 with their HTTP status).
 *
 * - Private requests carry OK-ACCESS-KEY, OK-ACCESS-PASSPHRASE (the API key's passphrase: EXCHANGE_PASSWORD),
 *   OK-ACCESS-TIMESTAMP and OK-ACCESS-SIGN = base64(HMAC-SHA256(secret, timestamp + METHOD + requestPath + body)).
 *   "The server rejects requests where [the timestamp] differs from server time by more than 30 seconds (error
 *   50102)": without more, a create delayed in transit could still be taken 30 s after it was signed.
 * - Transaction timeouts: Place order takes an `expTime` header, "the request will not be processed if the current
 *   system time of the server is after the expTime" (50036 / 50037 "Order expired."). The adapter sends it with
 *   every create (ccxt does not), at signing time + 5 s: OKX drops a create that arrives later, so the unknown-order
 *   rule adds 5 s (recvWindowMs), as for Binance's recvWindow, instead of the 30 s timestamp window.
 * - POST /api/v5/trade/order `clOrdId`: "A combination of case-sensitive alphanumerics, all numbers, or all
 *   letters of up to 32 characters" → `Z` joins our ids (`<botId>Z<installId>Z<seq>`, trading-state.ts: never
 *   read as the ids of a bot whose id starts with ours; a bot id of at most 14 characters, checked at start). It "must be unique among all currently pending
 *   (live or partially_filled) orders"; once an order is filled or canceled "the same clOrdId may be reused for a
 *   new order" → never resend. A duplicate of a pending order: sCode 51016 "Client order ID already exists." —
 *   the order EXISTS (ccxt reads 51016 as a plain InvalidOrder: mapped to DuplicateOrderId below).
 * - The answer to a create (and to a cancel) is ids only: `ordId`, `clOrdId`, `ts`, `sCode`, `sMsg`, `subCode` —
 *   no side, no fill. "Cancel order returns with sCode equal to 0 ... only means that your cancellation request
 *   has been accepted": the order is read afterwards.
 * - Errors mostly come with HTTP 200: `code` (and, per order, `sCode` in `data[]` with `code` "1"). Not found:
 *   51603 "Order does not exist." (GET order), 51400 (cancel: "filled, canceled or does not exist"). Refused:
 *   51008 insufficient balance, 51020 "Your order should meet or exceed the minimum order amount.", 51121 lot
 *   size, 51000 "Parameter {param0} error", 50011 rate limit (HTTP 200 "Rate limit reached…" or HTTP 429 "Too Many
 *   Requests"), 50102 timestamp expired, 50105 passphrase, 50111 key, 50113 signature (HTTP 401).
 * - Outcome unknown: 50004 (HTTP 400) and 51149 (HTTP 500) "does not mean that the request was successful or
 *   failed, please check the request result"; 50001 (503), 50026 (500), 51054 (500). 50013 "Systems are busy"
 *   (HTTP 429) does not say whether the order was taken: ccxt reads it as ExchangeNotAvailable, so a create is
 *   looked up, never assumed refused.
 * - The key's own limits (Trading account, "Get account configuration", GET /api/v5/account/config, 5 requests per
 *   2 s): `perm`, "The permission of the current requesting API key" (`read_only`, `trade`, `withdraw`,
 *   comma-separated), `ip`, "IP addresses that linked with current API key … an empty string "" if there is no IP
 *   bonded". No expiry field: "API keys that are not linked to an IP address and have `trade` or `withdraw`
 *   permissions will expire after 14 days of inactivity" ("Only when the user calls an API that requires API key
 *   authentication will it be considered as the API key is used") — a bot stopped for 14 days loses its key.
 * - SPOT market orders: `sz` is in the quote for a buy "by default" (`tgtCcy` quote_ccy); `tgtCcy=base_ccy`
 *   makes it the base amount, which is what the bot sizes. With `banAmend` false (the default) OKX shrinks a SPOT
 *   market order larger than the balance instead of refusing it: the bot books what filled.
 * - GET /api/v5/trade/order needs `instId`, takes `clOrdId`; "If the clOrdId is associated with multiple orders,
 *   only the latest one will be returned". Orders: GET orders-pending (open) and orders-history ("completed orders
 *   placed in the last 7 days"; canceled orders without fills only 2 hours); no combined list. Both newest first,
 *   `limit` "maximum is 100; the default is 100", `after` "return records earlier than the requested ordId".
 * - Fills: GET /api/v5/trade/fills-history (3 months; `ordId`, `instId`): tradeId, side, fillPx, fillSz, fee
 *   (negative when charged), feeCcy, ts. Spot fees are taken from what is received (base on a buy, quote on a
 *   sell) unless "spot fees in quote currency" is on; there is no third fee currency. Newest first, `limit` at
 *   most 100 (default 100), `after` "return records earlier than the requested billId".
 * - Trade ids: GET /api/v5/market/history-trades pages an instrument's trades by `tradeId` (`type` 1, the
 *   default): `after` "return records earlier than the requested tradeId", `before` "records newer than the
 *   requested tradeId" — an instrument's trade ids grow as its trades happen, and a fill's `tradeId` is its trade's
 *   id: fills replay in trade-id order (`fillOrder`). (`billId`, the fills list's cursor, is the account's bill
 *   number, across instruments; nothing relies on it.)
 * - Instruments: lotSz (amount step), minSz (minimum amount), tickSz; no minimum order value.
 * - Trading account "Get balance" (GET /api/v5/account/balance), per currency: `cashBal` "Cash balance", `availBal`
 *   "Available balance of currency", `frozenBal`, `eq` "Equity of currency", and `availEq` "Available equity of
 *   currency" only in Futures mode / Multi-currency margin / Portfolio margin (acctLv 2–4, "" in Spot mode) — ccxt
 *   takes availEq for free where set: the bot reads the coin held instead (okx-balance.ts).
 * - Trading account "Get account configuration" (GET /api/v5/account/config, permission Read, 5 requests per 2 s):
 *   `data[0].uid` "Account ID of current request" (a sub-account's own uid; `mainUid` its main account's) — the
 *   same for every key of the account, so a new key keeps the state (state-identity.ts).
 * - No documented lag between a create and its lookup.
 */
import type { ExchangeProfile } from './exchange-profile';
import { okxSpotBalance } from './okx-balance';

export const okxProfile: ExchangeProfile = {
  id: 'okx',
  name: 'OKX (spot)',
  clientOrderId: {
    param: 'clOrdId',
    maxLength: 32,
    pattern: /^[A-Za-z0-9]{1,32}$/,
    separator: 'Z',
  },
  lookupByClientId: 'GET /api/v5/trade/order?instId=…&clOrdId=…',
  needsSymbol: {
    fetchOrder: true,
    fetchOrderTrades: false,
    fetchRecentOrders: false,
    fetchOpenOrders: false,
  },
  orderAnswerTradesComplete: false,
  // newest first, `limit` at most 100 (the default); `after` = the oldest row's ordId (orders) or billId (fills)
  // asks the next, older page
  lists: {
    open: { perPage: 100, cursor: { kind: 'older-than', param: 'after', field: 'ordId' } },
    finished: { perPage: 100, cursor: { kind: 'older-than', param: 'after', field: 'ordId' } },
    trades: { perPage: 100, cursor: { kind: 'older-than', param: 'after', field: 'billId' } },
    // the 500 most recent finished orders of the last 7 days
    recentPages: 5,
  },
  // GET /api/v5/market/candles: the newest row is the one forming, `confirm` "0" ("1": completed)
  formingCandle: { index: 8, value: '0' },
  // the expTime the adapter sends with every create (createDeadline): the 30 s timestamp window otherwise
  recvWindowMs: 5_000,
  // POST /api/v5/trade/cancel-order: "Either ordId or clOrdId is required" (ccxt maps the unified clientOrderId to
  // clOrdId); its docs give no data source for the answer
  cancelByClientIdParam: 'clientOrderId',
  cancelFromEngine: false,
  // GET /api/v5/trade/fills-history, where an order's fills are read: "the last 3 months" (90 days at the least)
  tradeHistoryReachMs: 90 * 86_400_000,
  // GET /api/v5/market/candles: "limit … The maximum is 300. The default is 100."
  maxCandles: 300,
  createDeadline: { header: 'expTime', path: 'trade/order' },
  rateLimit:
    'per endpoint per 2 s: place/cancel/get order 60 (per instrument), fills-history 10, orders-history 40, balance 10; 50011 over it',
  // each endpoint's own "Rate Limit: N requests per 2 seconds" (by User ID, or IP for public data; order endpoints
  // also per Instrument ID): each endpoint paced on its own to ccxt's costs (endpoint-limiter.ts)
  endpointWindows: { windowMs: 2_000, marginMs: 200 },
  // 50011 is per endpoint (per instrument for order endpoints): only that endpoint waits; 50013 "Systems are busy"
  // (not a limit of ours) holds every request. OKX documents no IP ban: a kept wait is bounded by the gate's backoff
  // 50061 "You've reached the maximum order rate limit for this account." (HTTP 200; ccxt: a plain ExchangeError, read
  // as a create of unknown outcome): the account's order requests, so new orders wait, never the reads and cancels
  rateLimitResets: { codeField: 'code', scopeByCode: { '50011': 'endpoint', '50061': 'orders' } },
  // an instrument's trades page by tradeId: "earlier than" / "newer than the requested tradeId"
  fillOrder: 'trade-id',
  fees: 'per fill: fee (negative = charged) in feeCcy — the base on a buy, the quote on a sell',
  // error codes (all HTTP 401): 50111 "Invalid OK-ACCESS-KEY", 50113 "Invalid signature" (the secret), 50105
  // "Request header OK-ACCESS-PASSPHRASE incorrect", 50110 "Your IP … is not included in your API key's IP whitelist",
  // 50100 "API frozen, please contact customer service." (HTTP 400; ccxt reads it as a plain ExchangeError)
  keyRefusalCodes: ['50111', '50113', '50105', '50110', '50100'],
  // "Error Code" (REST API, Trade): 51020 "Your order should meet or exceed the minimum order amount.", 51120 "Order
  // quantity is less than {0}, please try again", 51121 "Order quantity must be a multiple of the lot size.": the
  // instrument's minSz / lotSz; 51201 "The value of a market order can't exceed {0}.", 51202 "Market order amount
  // exceeds the maximum amount.", 51203 "Order amount exceeds the limit {0}.": its maxMktAmt / maxMktSz / maxLmtSz /
  // maxLmtAmt, which change between two daily markets reads as the other rules do; 51150 "The precision of the number
  // of trades or the price exceeds the limit." and 51000 "Parameter {param0} error" (a px off the tickSz: "Parameter
  // px error"): a tickSz or lotSz changed since the markets were read
  marketRuleCodes: ['51000', '51020', '51120', '51121', '51150', '51201', '51202', '51203'],
  // "Error Code" (REST API, Public) codes ccxt reads as AuthenticationError / PermissionDenied that are about the account
  // or its region, not the key
  accountRefusals: {
    '50008': 'OKX does not know the account ("User doesn\'t exist.")',
    '50027':
      'the account is restricted from trading ("This account is restricted from trading. Please contact customer support for assistance.")',
    '51732':
      'the account\'s identity verification is below what this needs ("Required user KYC level not met"): complete it on OKX',
    '51733': 'the account is under OKX\'s risk control ("User is under risk control"): ask OKX support',
    '51734': 'OKX does not serve the account\'s KYC country here ("User KYC Country is not supported")',
    '51773': 'OKX does not offer this in the account\'s region ("Feature not available in your region")',
    '59113':
      'margin trading is not available in the account\'s region ("According to local laws and regulations, margin trading service is not available in your region."): complete KYC2 if the citizenship differs',
  },
  password: 'API key passphrase (OK-ACCESS-PASSPHRASE)',
  // GET /api/v5/account/balance: the coin held (cashBal, availBal), never ccxt's availEq/eq above Spot mode, which count
  // equity the account does not hold as coin (okx-balance.ts)
  balanceRead: okxSpotBalance,
  // which account: GET /api/v5/account/config's data[0].uid, not a hash of the key
  accountCall: 'privateGetAccountConfig',
  accountUid: (answer) => {
    const data = (answer.info as { data?: Array<{ uid?: unknown }> } | undefined)?.data;
    const uid = Array.isArray(data) ? data[0]?.uid : undefined;
    return typeof uid === 'string' && uid !== '' ? uid : undefined;
  },
  keyLimits: {
    call: 'privateGetAccountConfig',
    read: (answer) => {
      const data = (answer as { data?: unknown } | undefined)?.data;
      const config = Array.isArray(data) ? (data[0] as Record<string, unknown> | undefined) : undefined;
      if (!config || typeof config.perm !== 'string') return undefined;
      const perm = config.perm.split(',').map((p) => p.trim());
      return {
        spotTrade: perm.includes('trade'),
        withdraw: perm.includes('withdraw'),
        ipBound: typeof config.ip === 'string' ? config.ip.trim() !== '' : undefined,
      };
    },
  },
  // GET /api/v5/market/ticker: `ts`, "ticker data generation time" (ccxt's timestamp)
  tickerTime: 'ts',
  // an order self-trade prevention cancelled: state canceled with cancelSource 32 ("Self trade prevention"; its
  // cancelSourceReason says so in words, matched too)
  selfTradeEnd: (info) =>
    info.cancelSource === '32' || /self[- ]trade/i.test(String(info.cancelSourceReason ?? ''))
      ? `cancelSource ${String(info.cancelSource)} (${String(info.cancelSourceReason ?? 'self trade prevention')})`
      : undefined,
  restOrigin: 'https://www.okx.com',
  ccxtOptions: {
    // spot only: no futures/swap/options instrument calls on loadMarkets
    fetchMarkets: { types: ['spot'] },
    // the documented single-order endpoint (ccxt's default sends one order to batch-orders)
    createOrder: 'privatePostTradeOrder',
    // ccxt's own default too, said explicitly: `sz` of a market buy is the base amount, as the bot sizes it
    // (OKX's default for a buy is the quote)
    tgtCcy: 'base_ccy',
  },
  // GET /api/v5/asset/currencies is a private funding call loadMarkets makes whenever keys are set: not needed to
  // trade spot (markets come from the instruments), one more request and one more failure on every load
  ccxtHas: { fetchCurrencies: false },
  // per order: `sCode`/`sMsg` in data[0] (with `code` "1"); otherwise `code`/`msg`
  errorBody: [
    { code: 'data.0.sCode', message: 'data.0.sMsg' },
    { code: 'code', message: 'msg' },
  ],
  ccxtErrorCodes: {
    // "Client order ID already exists.": the order exists (ccxt: InvalidOrder)
    '51016': 'DuplicateOrderId',
    // "Order timed out … does not mean that the request was successful or failed" (ccxt: unmapped)
    '51149': 'RequestTimeout',
    // "The precision of the number of trades or the price exceeds the limit." (HTTP 200): the order was refused (ccxt:
    // unmapped, a plain ExchangeError in an HTTP 200 answer, which createFailure reads as outcome unknown)
    '51150': 'InvalidOrder',
    // "You've reached the maximum order rate limit for this account." (General class, HTTP 200): refused for rate
    // (ccxt: ExchangeError)
    '50061': 'RateLimitExceeded',
    // the create's expTime passed before OKX took it up ("the request will not be processed"): refused, never placed.
    // A host clock behind OKX's by 5–30 s is never refused for its timestamp (50102 is beyond 30 s), so this is how
    // the offset gets measured (clock-skew.ts) and the next create sent on OKX's time (ccxt: unmapped, every create
    // refused for ever). 50036: expTime earlier than the server's time; 50037 "Order expired."
    '50036': 'InvalidNonce',
    '50037': 'InvalidNonce',
    // a cancel's "Cancellation failed as you do not have any pending orders" (ccxt: ExchangeError, thrown before the
    // cancel's read-back): the order is no longer pending, as 51400–51402 say (ccxt: OrderNotFound) — read it back
    '51405': 'OrderNotFound',
  },
};
