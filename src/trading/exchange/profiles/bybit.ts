/**
 * Bybit spot, API v5 (unified trading account). Source: Bybit V5 API documentation (github.com/bybit-exchange/docs:
 * docs/v5/guide.mdx, intro.mdx, error.mdx, enum.mdx, rate-limit/rate-limit.mdx, order/create-order.mdx,
 * order/open-order.mdx, order/order-list.mdx, order/execution.mdx, order/cancel-order.mdx, market/instrument.mdx,
 * account/wallet-balance.mdx).
 *
 * - V5 covers unified trading accounts only (intro.mdx, "Current API Coverage"): the account type is not probed.
 * - POST /v5/order/create `orderLinkId`: "A max of 36 characters. Combinations of numbers, letters (upper and lower
 *   cases), dashes, and underscores are supported", "always unique" — a second create with the id of any earlier
 *   order, filled or not, is refused (170141 "Duplicate clientOrderId"; 110072 "OrderLinkedID is duplicate").
 * - The create answer carries only `orderId` and `orderLinkId` — "This request is asynchronous": no status, no
 *   fills; the cancel answer likewise. Fills come from GET /v5/execution/list (`execId`, `side`, `execTime`,
 *   `execFee`, `feeCurrency`), at most 100 per page, the last 7 days by default.
 * - Execution order (order/execution.mdx): the list is "sorted by `execTime` in descending order"; `execId` is
 *   documented only as "Execution ID" — spot ids are digits (ccxt's unified private-trade example "2210000000101610464",
 *   market/recent-trade's "2100000000007764263"), linear ones UUIDs — and nothing says they grow with time. `seq`
 *   ("Cross sequence, used to associate each fill and each position update", the same for executions at the same
 *   time, "classic account Spot trade does not have this field") is no trade order either. So fills replay by
 *   execTime (`fillOrder` time), and those of one execTime by execId, as the documentation recommends ("Response
 *   items will have sorting issues when 'execTime' is the same, it is recommended to sort according to
 *   execId+OrderId+leavesQty").
 * - Spot market `qty` is the QUOTE amount for a Buy unless `marketUnit=baseCoin` ("Spot: Market Buy order by value
 *   by default"): ccxt sends `marketUnit=baseCoin` with the base amount on a unified account.
 * - GET /v5/order/realtime by `orderId` or `orderLinkId` finds open orders and the last 500 closed ones — but
 *   "after a server release or restart, filled, cancelled, and rejected orders ... should only be queried through
 *   order history" (GET /v5/order/history, which "may delay"; cancelled and rejected orders only for 24 hours).
 *   Both take at most 50 rows per page (`limit`, default 20), newest first; the answer's `nextPageCursor` (empty on
 *   the last page) is sent back as `cursor` for the next one. GET /v5/execution/list likewise, 100 rows at most
 *   (default 50). `PartiallyFilledCanceled` ("only spot has this order status") is an order
 *   cancelled after part of it filled (a market order is an IOC order that may end so).
 * - Errors come as HTTP 200 with `retCode`/`retMsg`: 170213 "Order does not exist.", 170131 "Balance
 *   insufficient", 170140 "Order value exceeded lower limit", 170136/170137 quantity below the minimum / too many
 *   decimals, 10006 "Too many visits!" (rate limit: per UID and second, 20/s for creates; headers
 *   X-Bapi-Limit-Status/-Reset-Timestamp, no Retry-After), 10003/10004 invalid key/sign, 10002 timestamp outside
 *   the window, 10016 "Server error.", 10000 "Server Timeout", 170007 "Timeout waiting for response from backend
 *   server.", 170146 "Order creation timeout", 170032 "Network error. Please try again later" (ccxt: a plain
 *   ExchangeError), 170035 "Submitted to the system for processing!" (ccxt: BadRequest, yet the order may be in the
 *   book). HTTP 403 "access too frequent": IP ban for 10 minutes. A cancel of an order no longer open: 170213, 170139
 *   "Order has been filled.", 170142 "Order has been cancelled", 170143 "Cannot be found on order book", 170190
 *   "Cancel order has been finished" (110008/110010 on the unified codes); 170147 "Order cancellation timeout"
 *   (outcome unknown); 170191 "Can not cancel order, please try again later".
 * - Signed requests: X-BAPI-SIGN = HMAC-SHA256(timestamp + key + recvWindow + query or JSON body);
 *   server_time - recv_window <= timestamp < server_time + 1000; X-BAPI-RECV-WINDOW default 5000 ms.
 * - The key's own limits (user/apikey-info.mdx, GET /v5/user/query-api, "Any permission can access this endpoint"):
 *   `readOnly` ("0: Read and Write. 1: Read only"), `permissions.Spot` (`SpotTrade`), `permissions.Wallet`
 *   (`Withdraw`), `ips` (`["*"]`: not bound), `expiredAt`/`deadlineDay` ("The expiry day of the api key. Only for
 *   those api key with no IP bound or the password has been changed"). After it the key is gone: error.mdx 10003
 *   "API key is invalid." (ccxt: AuthenticationError; ccxt also maps an older API's 33004 "apikey already expired"
 *   there); a key without the spot permission is refused 10005 "Permission denied, please check your API key
 *   permissions." (ccxt: PermissionDenied).
 * - Fees (enum.mdx, "Spot Fee Currency Instruction"): a positive fee is taken from the coin received — the base on a
 *   Buy, the quote on a Sell; a negative (maker rebate) fee is paid in the other one. No third-currency fees.
 */
import type { FeePaid } from '../exchange';
import type { ExchangeProfile } from './exchange-profile';

export const bybitProfile: ExchangeProfile = {
  id: 'bybit',
  name: 'Bybit (spot, API v5)',
  clientOrderId: {
    param: 'orderLinkId',
    maxLength: 36,
    pattern: /^[A-Za-z0-9_-]{1,36}$/,
    separator: '-',
  },
  lookupByClientId:
    'GET /v5/order/realtime?category=spot&symbol=…&orderLinkId=…, then GET /v5/order/history with the same',
  needsSymbol: { fetchOrder: true, fetchOrderTrades: false, fetchRecentOrders: true, fetchOpenOrders: false },
  orderAnswerTradesComplete: false,
  recvWindowMs: 5_000,
  // POST /v5/order/cancel: "orderId or orderLinkId is required" (ccxt passes orderLinkId through); its docs give no
  // data source for the answer
  cancelByClientIdParam: 'orderLinkId',
  cancelFromEngine: false,
  // GET /v5/market/instruments-info, status: "Symbol status filter … Spot has Trading only" — a spot symbol that does
  // not trade (suspended, e.g. during a token swap) is not in the list, as a delisted one is not
  unlistsSuspended: true,
  // GET /v5/execution/list, where an order's fills are read: "Get Trade History (2 years)"
  tradeHistoryReachMs: 2 * 365 * 86_400_000,
  // GET /v5/market/kline: "limit [1, 1000]. Default: 200"
  maxCandles: 1000,
  rateLimit:
    'per UID per second: create/cancel 20/s (spot), order and execution queries 50/s (10006 "Too many visits!"); 600 requests per 5 s per IP (403, 10-minute ban)',
  // v5 "Rate Limit Rules": "The API rate limit is based on the rolling time window per second and UID", each endpoint
  // its own (X-Bapi-Limit: "your current limit for current endpoint"); and "600 requests within a 5-second window per
  // IP" ("We do not recommend running your application at the very edge of these limits"): each endpoint paced on its
  // own to ccxt's costs (endpoint-limiter.ts), all requests together to 600 per 5.5 s (the same 10 % margin)
  endpointWindows: { windowMs: 1_000, marginMs: 100, overall: { requests: 600, windowMs: 5_000 } },
  // 10006: the per-second window (its reset time in X-Bapi-Limit-Reset-Timestamp); HTTP 403: a 10-minute IP ban
  // 10006 is per UID and per endpoint: only that endpoint waits (a create's limit never holds a cancel or a read)
  rateLimitResets: {
    byStatus: { 403: 600_000 },
    byCode: { '10006': 1_000 },
    scopeByCode: { '10006': 'endpoint' },
    longestWaitMs: 600_000,
  },
  // execId is only an "Execution ID" (no order promised); the list is "sorted by execTime"
  fillOrder: 'time',
  fees: 'per execution: execFee in the coin received (base on a buy, quote on a sell); ccxt derives the currency by that rule',
  orderLists: true,
  // every list pages by the answer's `nextPageCursor`, sent back as `cursor`: orders 50 a page at most (default 20),
  // executions 100 (default 50)
  lists: {
    open: { perPage: 50, cursor: { kind: 'token', param: 'cursor', field: 'nextPageCursor' } },
    // order/history: 7 days by default, a span of at most 7 days (a lookup of an older order searches by windows)
    finished: {
      perPage: 50,
      cursor: { kind: 'token', param: 'cursor', field: 'nextPageCursor' },
      window: { maxSpanMs: 7 * 86_400_000, startParam: 'startTime', endParam: 'endTime' },
    },
    // "startTime and endTime are not passed, return 7 days by default"; a span of at most 7 days
    trades: {
      perPage: 100,
      cursor: { kind: 'token', param: 'cursor', field: 'nextPageCursor' },
      window: { maxSpanMs: 7 * 86_400_000, startParam: 'startTime', endParam: 'endTime' },
    },
    // execution/list: "only startTime is passed, return range between startTime and startTime + 7 days": a symbol's
    // trades since a send older than 7 days are read window by window
    tradesByTime: { maxSpanMs: 7 * 86_400_000, startParam: 'startTime', endParam: 'endTime' },
    // the 500 most recent finished orders (a Bybit page is 50)
    recentPages: 10,
  },
  // error.mdx: 10003 "API key is invalid", 10004 "Error sign" (the secret), 10005 "Permission denied, please check
  // your API key permissions", 10010 "Unmatched IP, please check your API key's bound IP addresses"
  keyRefusalCodes: ['10003', '10004', '10005', '10010'],
  // error.mdx (Spot Trade): 170197 "Your order quantity to buy is too large. The filled price may deviate
  // significantly from the market price. Please try again", 170198 the same "to sell" (zh-TW: 市價單買入/賣出偏離值風控,
  // the market order's deviation risk control; no threshold given; ccxt: InvalidOrder). Not the market's rules: the
  // book's depth now, which a smaller order may fit — an urgent exit so refused goes in halves (symbol-decision.ts)
  depthRefusalCodes: ['170197', '170198'],
  // error.mdx (Spot Trade): 170132 "Order price too high.", 170133 "Order price lower than the minimum.", 170134
  // "Order price decimal too long.", 170136 "Order quantity lower than the minimum.", 170137 "Order volume decimal
  // too long", 170140 "Order value exceeded lower limit": instruments-info's priceFilter / lotSizeFilter; 170381/170382
  // "Order quantity too large." (170135 in earlier docs): above maxLimitOrderQty / maxMarketOrderQty, which "are
  // adjusted bi-monthly … Developers should not assume these values remain constant" (market/instrument.mdx)
  marketRuleCodes: ['170132', '170133', '170134', '170135', '170136', '170137', '170140', '170381', '170382'],
  // error.mdx codes ccxt reads as AuthenticationError / PermissionDenied that are not about the key: the account, its
  // region, the symbol (ccxt's own comment on 10009, "IP had been banned", is an older wording)
  accountRefusals: {
    '10009':
      'Bybit does not serve this host\'s region ("Service Restricted: Access is currently unavailable for your region"): run the bot from a region Bybit serves, or ask Bybit support',
    '10024': 'Bybit\'s compliance rules refuse the account ("Compliance rules triggered"): ask Bybit support',
    '10027': 'trading is banned on the account ("Transactions are banned."): ask Bybit support',
    '10028':
      'the account is not a unified trading account ("The API can only be accessed by unified account users."): upgrade it to UTA on Bybit',
    '10029':
      'the symbol is not on the account\'s symbol whitelist ("The requested symbol is invalid, please check symbol whitelist"): add it on Bybit, or drop it from trading.symbols',
    '100028':
      'the API refuses unified trading accounts on this call ("The API cannot be accessed by unified account users.")',
    '110067': 'the account mode refuses this order ("Unified account is not supported.")',
    '110068':
      'the account may not trade with leverage ("Leveraged trading is not allowed."): ask Bybit support',
    '110069':
      'the account is an institutional-lending one, which may not trade ("Ins lending customer is not allowed to trade.")',
    '170224':
      'the symbol is in Bybit\'s Innovation Zone, which the account has not joined ("You\'re not a user of the Innovation Zone."): join it on Bybit, or drop the symbol from trading.symbols',
    '131004': 'the account needs identity verification ("KYC needed"): complete it on Bybit',
  },
  // error.mdx (UTA): 10002 "The request time exceeds the time window range." (the gateway's check of the timestamp:
  // ccxt InvalidNonce, measured as it is) and -1 "request expired: o@0, now[] diff[]" — the trade service's, for a
  // create that passed the gateway but whose timestamp is older than recv_window when it is taken up (a host clock
  // a little behind Bybit's): ccxt reads it as a bare ExchangeError, so a create so answered is looked up (its outcome
  // unknown: nothing in the docs says more), and the offset is measured as for 10002
  clockRefusalCodes: ['-1'],
  answerCodes: {
    field: 'retCode',
    duplicate: ['170141', '110072', '12141'],
    outcomeUnknown: ['10000', '10016', '170001', '170007', '170032', '170035', '170146', '170149', '170234'],
  },
  // `retCode`/`retMsg`; the body also carries the server `time`, which made every refusal read as a new one
  errorBody: [{ code: 'retCode', message: 'retMsg' }],
  // A cancel's answers (error.mdx) that ccxt reads as a refused request (InvalidOrder), which threw before the
  // cancel's read-back and left the order working in state: the order is no longer open — read it back and settle it
  // from the answer, as Binance -2011 and OKX 51400–51402 are (order-cancel.ts) — or the cancel's outcome is unknown,
  // or it was not done now.
  ccxtErrorCodes: {
    // "Order has been filled." / "Order has been cancelled" / "Cannot be found on order book" / "Cancel order has
    // been finished"; the unified codes 110008 "The order has been completed or cancelled." / 110010 "The order has
    // been cancelled"
    '170139': 'OrderNotFound',
    '170142': 'OrderNotFound',
    '170143': 'OrderNotFound',
    '170190': 'OrderNotFound',
    '110008': 'OrderNotFound',
    '110010': 'OrderNotFound',
    // "Order cancellation timeout": the cancel may or may not have been carried out (read back; still working → tried
    // again)
    '170147': 'RequestTimeout',
    // "Can not cancel order, please try again later": not cancelled now (read back; still working → tried again)
    '170191': 'CancelPending',
    // a cancel already under way (error.mdx as published 2026-01-16): Spot Trade 170212 "Cancel order request
    // processing", UTA 110079 "The order is processing and can not be operated, please try again later" (ccxt:
    // unmapped, a plain ExchangeError thrown before the read-back) — read back; still working → tried again
    '170212': 'CancelPending',
    '110079': 'CancelPending',
    // "Order quantity too large." (above maxLimitOrderQty / maxMarketOrderQty) as the current Spot Trade table numbers
    // it (170135 in earlier versions, which ccxt knows): a refusal, never an unknown outcome holding the symbol for
    // the unknown-order window (ccxt: unmapped, a plain ExchangeError)
    '170381': 'InvalidOrder',
    '170382': 'InvalidOrder',
  },
  ccxtHas: {
    // GET /v5/asset/coin/query-info needs a key with asset permissions on every market load; spot trading does not
    fetchCurrencies: false,
  },
  // which account: GET /v5/user/query-api's result.userID (any key may read it), not a hash of the key
  accountCall: 'privateGetV5UserQueryApi',
  // order/order-list.mdx `cumFeeDetail`, "Cumulative trading fee details" by coin: with a makerFeeRate not positive one
  // order pays in two (a taker's fee in the coin received, a maker's rebate in the other); ccxt reads the first only
  orderFees: (info) => {
    const detail = (info as { cumFeeDetail?: unknown } | undefined)?.cumFeeDetail;
    if (typeof detail !== 'object' || detail === null) return undefined;
    const fees: FeePaid[] = [];
    for (const [currency, cost] of Object.entries(detail)) {
      const n = typeof cost === 'string' && cost.trim() !== '' ? Number(cost) : NaN;
      if (currency !== '' && Number.isFinite(n)) fees.push({ cost: n, currency });
    }
    return fees.length > 0 ? fees : undefined;
  },
  accountUid: (answer) => {
    const uid = (answer.info as { result?: { userID?: unknown } } | undefined)?.result?.userID;
    return (typeof uid === 'number' && uid > 0) || (typeof uid === 'string' && uid !== '' && uid !== '0')
      ? String(uid)
      : undefined;
  },
  keyLimits: {
    call: 'privateGetV5UserQueryApi',
    read: (answer) => {
      const r = (answer as { result?: unknown } | undefined)?.result as Record<string, unknown> | undefined;
      if (!r || typeof r !== 'object' || (r.readOnly !== 0 && r.readOnly !== 1)) return undefined;
      const permissions = (r.permissions ?? {}) as Record<string, unknown>;
      const has = (group: string, name: string): boolean | undefined =>
        Array.isArray(permissions[group]) ? (permissions[group] as unknown[]).includes(name) : undefined;
      const spot = has('Spot', 'SpotTrade');
      const ips = Array.isArray(r.ips) ? (r.ips as unknown[]) : undefined;
      const expiry = typeof r.expiredAt === 'string' && r.expiredAt !== '' ? Date.parse(r.expiredAt) : NaN;
      return {
        spotTrade: r.readOnly === 1 ? false : spot,
        withdraw: r.readOnly === 1 ? false : has('Wallet', 'Withdraw'),
        ipBound: ips ? ips.length > 0 && !ips.includes('*') : undefined,
        ...(Number.isFinite(expiry) ? { expiresAt: expiry, expiryField: 'Bybit expiredAt' } : {}),
      };
    },
  },
  // no tickerTime: GET /v5/market/tickers dates only its response (`time`, the server's), which ccxt's fetchTicker
  // drops; a spot ticker's age cannot be judged (ticker-age.ts)
  // an order SMP cancelled: orderStatus Cancelled with cancelType CancelBySmp (smpType: CancelMaker / CancelTaker /
  // CancelBoth, the side SMP took out)
  selfTradeEnd: (info) =>
    info.cancelType === 'CancelBySmp'
      ? `cancelType CancelBySmp, smpType ${String(info.smpType ?? '?')}`
      : undefined,
  restOrigin: 'https://api.bybit.com',
  ccxtOptions: {
    // spot only: no linear/inverse/option instrument lists on loadMarkets
    fetchMarkets: { types: ['spot'] },
    // V5 serves unified trading accounts only: no GET /v5/user/query-api + /v5/account/info probe on the first
    // signed call, and spot market orders take ccxt's unified path: `qty` in the base coin with marketUnit=baseCoin
    enableUnifiedAccount: true,
    enableUnifiedMargin: false,
    // the classic-account path would send a market buy's base amount as the quote to spend: refuse it instead
    createOrder: { createMarketBuyOrderRequiresPrice: true },
    recvWindow: 5_000,
  },
};
