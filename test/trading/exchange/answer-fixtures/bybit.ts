/**
 * Bybit's fixture set for the documented-answers suite (answers from harness/exchanges/answers/bybit.ts; the rest
 * is the local Bybit itself, harness/exchanges/fake-bybit.ts).
 */
import { expect } from 'chai';
import {
  AuthenticationError,
  InsufficientFundsError,
  InvalidOrderError,
  NetworkError,
  OrderNotFoundError,
  RateLimitError,
  TemporaryError,
} from '../../../../src/shared/errors';
import type { CreateOrderRequest } from '../../../../src/trading/exchange/exchange';
import {
  CANCEL_ORDER,
  CREATE_ORDER,
  EXECUTION,
  EXECUTIONS,
  SPOT_EXECUTION,
  HISTORY,
  REALTIME,
  REALTIME_ORDER,
  RET,
  retAnswer,
} from '../../../../harness/exchanges/answers/bybit';
import { FakeBybit } from '../../../../harness/exchanges/fake-bybit';
import { answeredAs, caught, failsAs, type AnswerFixtures, type AnswerSuite } from './fixtures';

const KEY = 'kEy0123456789abcdefAPIKEYvalue';
const SECRET = 'sEcReT0123456789abcdefSECRETvalue';
/** The documented endpoints a spot bot needs; anything else (account probes, coin info) is a call too many. */
const SPOT_PATHS = new Set([
  '/v5/market/instruments-info',
  '/v5/market/tickers',
  '/v5/market/kline',
  '/v5/market/time',
  '/v5/order/create',
  '/v5/order/cancel',
  '/v5/order/realtime',
  '/v5/order/history',
  '/v5/execution/list',
  '/v5/account/wallet-balance',
]);

/** A realtime/history answer listing these orders, in the documented envelope. */
function listed(envelope: typeof REALTIME | typeof HISTORY, list: unknown[]): unknown {
  return { ...envelope, result: { ...envelope.result, list } };
}

let seq = 0;
const order = (fields: Partial<CreateOrderRequest> = {}): CreateOrderRequest => ({
  symbol: 'BTC/USDT',
  side: 'sell',
  type: 'market',
  amount: 0.01,
  clientOrderId: `bb-${++seq}`,
  ...fields,
});

const creates = (s: AnswerSuite<FakeBybit>) => s.fake.requests.filter((r) => r.route === 'createOrder');

export const bybitAnswers: AnswerFixtures<FakeBybit> = {
  title: 'Bybit',
  start: () =>
    FakeBybit.start({
      apiKey: KEY,
      secret: SECRET,
      balances: { USDT: 1_000_000, BTC: 100, ETH: 100 },
    }),
  connection: { exchangeId: 'bybit', apiKey: KEY, secret: SECRET },
  tickers: ['BTC/USDT', 'ETH/USDT'],
  answer: (fake, route, body, status) => fake.faults.next(route, { kind: 'answer', status, body }),
  failingOrder: () => order(),
  cases: {
    '': [
      failsAs(
        '10003 "API key is invalid." is AuthenticationError (a person must fix the key)',
        [['balance', retAnswer(RET.apiKeyInvalid), 401]],
        (ex) => ex.fetchBalance(),
        AuthenticationError,
      ),
      {
        name: 'a duplicate against the local Bybit: any earlier order with the id, even a filled one, refuses the create',
        run: async (s) => {
          const first = order();
          await s.ex.createOrder(first);
          const err = await caught(s.ex.createOrder(first));
          expect(err).to.be.instanceOf(InvalidOrderError);
          expect((err as InvalidOrderError).context).to.include({ duplicate: true, exchangeCode: '170141' });
          expect(s.fake.ordersByLinkId(first.clientOrderId)).to.have.length(1);
        },
      },
    ],
    'new order': [
      answeredAs(
        'ids only ("asynchronous"): side, type and amount are the ones we sent, the status open until looked up',
        [['createOrder', CREATE_ORDER]],
        (ex) => ex.createOrder(order({ clientOrderId: 'spot-test-postonly' })),
        {
          id: '1321003749386327552',
          clientOrderId: 'spot-test-postonly',
          symbol: 'BTC/USDT',
          side: 'sell',
          type: 'market',
          amount: 0.01,
          filled: 0,
          status: 'open',
          timestamp: undefined,
        },
        (placed) => expect(placed.trades).to.equal(undefined),
      ),
      {
        name: 'a market buy goes out in the base coin (marketUnit=baseCoin), never as the quote to spend',
        run: async (s) => {
          const buy = order({ side: 'buy', amount: 0.02 });
          await s.ex.createOrder(buy);
          const sent = creates(s).at(-1)!.body!;
          expect(sent).to.include({
            category: 'spot',
            side: 'Buy',
            orderType: 'Market',
            marketUnit: 'baseCoin',
          });
          expect(Number(sent.qty)).to.equal(0.02);
          expect(s.fake.ordersByLinkId(buy.clientOrderId)[0]).to.include({
            cumExecQty: '0.02',
            orderStatus: 'Filled',
          });
        },
      },
      {
        name: 'on the classic-account path ccxt would send a base amount as the quote: refused before any request',
        run: async (s) => {
          const classic = await s.connect({ ccxtOptions: { enableUnifiedAccount: false } });
          try {
            await classic.loadMarkets();
            await classic.fetchTicker('BTC/USDT');
            const before = creates(s).length;
            expect(await caught(classic.createOrder(order({ side: 'buy' })))).to.be.instanceOf(
              InvalidOrderError,
            );
            expect(creates(s).length).to.equal(before);
          } finally {
            await classic.close();
          }
        },
      },
      {
        name: 'asks only the documented spot endpoints: no account-type probe, no coin-info call',
        run: async (s) => {
          const placed = await s.ex.createOrder(order({ side: 'buy' }));
          await s.ex.fetchOrder(placed.id, 'BTC/USDT');
          await s.ex.fetchOrderTrades(placed.id, 'BTC/USDT');
          await s.ex.fetchOpenOrders();
          await s.ex.fetchRecentOrders('BTC/USDT');
          await s.ex.fetchBalance();
          expect(s.fake.requests.map((r) => r.path).filter((p) => !SPOT_PATHS.has(p))).to.deep.equal([]);
        },
      },
    ],
    lookups: [
      answeredAs(
        'realtime by orderLinkId: a resting limit buy',
        [['fetchOrder', REALTIME]],
        (ex) => ex.fetchOrderByClientId('test-000005', 'ETH/USDT'),
        {
          id: 'fd4300ae-7847-404e-b947-b46980a4d140',
          clientOrderId: 'test-000005',
          symbol: 'ETH/USDT',
          side: 'buy',
          type: 'limit',
          status: 'open',
          price: 1600,
          amount: 0.1,
          filled: 0,
          timestamp: 1684738540559,
        },
        (_, s) => expect(s.fake.requests.at(-1)!.path).to.equal('/v5/order/realtime'),
      ),
      answeredAs(
        'an order realtime no longer lists (closed, after a Bybit restart) is found in the order history',
        [
          ['fetchOrder', listed(REALTIME, [])],
          ['orderHistory', HISTORY],
        ],
        (ex) => ex.fetchOrderByClientId('YLxaWKMiHU', 'BTC/USDT'),
        {
          id: '14bad3a1-6454-43d8-bcf2-5345896cf74d',
          clientOrderId: 'YLxaWKMiHU',
          side: 'buy',
          status: 'canceled',
          filled: 0,
          timestamp: 1684476068369,
        },
      ),
      {
        name: 'the same against the local Bybit: a filled order is found again after restartService()',
        run: async (s) => {
          const sold = order();
          await s.ex.createOrder(sold);
          s.fake.restartService();
          const found = await s.ex.fetchOrderByClientId(sold.clientOrderId, 'BTC/USDT');
          expect(found).to.include({
            clientOrderId: sold.clientOrderId,
            status: 'closed',
            side: 'sell',
            filled: 0.01,
          });
          expect(s.fake.requests.slice(-2).map((r) => r.route)).to.deep.equal(['fetchOrder', 'orderHistory']);
        },
      },
      failsAs(
        'a list that is not filtered by our id never answers for it: another order listed is "not found"',
        [
          ['fetchOrder', REALTIME],
          ['orderHistory', HISTORY],
        ],
        (ex) => ex.fetchOrderByClientId('bb-not-there', 'ETH/USDT'),
        OrderNotFoundError,
      ),
      answeredAs(
        'PartiallyFilledCanceled (spot only), which ccxt calls closed, is a cancelled order with its fills',
        [
          [
            'fetchOrder',
            listed(REALTIME, [
              {
                ...REALTIME_ORDER,
                orderStatus: 'PartiallyFilledCanceled',
                cumExecQty: '0.04',
                leavesQty: '0',
              },
            ]),
          ],
        ],
        (ex) => ex.fetchOrder('fd4300ae-7847-404e-b947-b46980a4d140', 'ETH/USDT'),
        { status: 'canceled', filled: 0.04, amount: 0.1 },
      ),
      {
        name: 'execution list: side, the exchange’s time, the fee in the coin received (a buy: the base)',
        run: async (s) => {
          s.answer('executions', {
            ...EXECUTIONS,
            result: { ...EXECUTIONS.result, list: [{ ...EXECUTION, symbol: 'ETHUSDT' }] },
          });
          const trades = await s.ex.fetchOrderTrades('8c065341-7b52-4ca9-ac2c-37e31ac55c94', 'ETH/USDT');
          expect(trades).to.deep.equal([
            {
              id: 'e0cbe81d-0f18-5866-9415-cf319b5dab3b',
              orderId: '8c065341-7b52-4ca9-ac2c-37e31ac55c94',
              symbol: 'ETH/USDT',
              side: 'buy',
              price: 1190.15,
              amount: 0.1,
              cost: 119.015,
              fee: { cost: 0.071409, currency: 'ETH' },
              timestamp: 1672282722429,
            },
          ]);
          const sent = s.fake.requests.at(-1)!;
          expect(sent.path).to.equal('/v5/execution/list');
        },
      },
      {
        name: 'a spot execution: its execId (digits, beyond 2^53) is the trade id as sent',
        run: async (s) => {
          s.answer('executions', {
            ...EXECUTIONS,
            result: {
              ...EXECUTIONS.result,
              category: 'spot',
              list: [{ ...SPOT_EXECUTION, symbol: 'ETHUSDT' }],
            },
          });
          const trades = await s.ex.fetchOrderTrades('1549452573428424448', 'ETH/USDT');
          expect(trades).to.deep.equal([
            {
              id: '2210000000101610464',
              orderId: '1549452573428424448',
              symbol: 'ETH/USDT',
              side: 'buy',
              price: 102.8,
              amount: 0.01,
              cost: 1.028,
              fee: { cost: 0.0000025, currency: 'ETH' },
              timestamp: 1699445151998,
            },
          ]);
        },
      },
      {
        name: 'an execution without side or time is left out, never guessed',
        run: async (s) => {
          const { side: _side, ...noSide } = { ...EXECUTION, symbol: 'ETHUSDT' };
          const { execTime: _time, ...noTime } = { ...EXECUTION, symbol: 'ETHUSDT', execId: 'e0cbe81d-2' };
          s.answer('executions', { ...EXECUTIONS, result: { ...EXECUTIONS.result, list: [noSide, noTime] } });
          expect(
            await s.ex.fetchOrderTrades('8c065341-7b52-4ca9-ac2c-37e31ac55c94', 'ETH/USDT'),
          ).to.deep.equal([]);
        },
      },
      answeredAs(
        'cancel answers ids only ("asynchronous"): the order is taken as the exchange shows it next',
        [
          ['cancelOrder', CANCEL_ORDER],
          [
            'fetchOrder',
            listed(REALTIME, [
              {
                ...REALTIME_ORDER,
                orderId: CANCEL_ORDER.result.orderId,
                orderLinkId: CANCEL_ORDER.result.orderLinkId,
                orderStatus: 'Cancelled',
                leavesQty: '0',
              },
            ]),
          ],
        ],
        (ex) => ex.cancelOrder(CANCEL_ORDER.result.orderId, 'ETH/USDT'),
        {
          id: 'c6f055d9-7f21-4079-913d-e6523a9cfffa',
          clientOrderId: 'linear-004',
          status: 'canceled',
          side: 'buy',
        },
      ),
      failsAs(
        '170213 "Order does not exist." on cancel is OrderNotFoundError',
        [['cancelOrder', retAnswer(RET.orderNotExists)]],
        (ex) => ex.cancelOrder('1', 'BTC/USDT'),
        OrderNotFoundError,
      ),
    ],
  },
  failedCreates: [
    {
      what: '170140 order value below the minimum',
      status: 200,
      body: retAnswer(RET.orderValueTooLow),
      expected: InvalidOrderError,
      outcome: 'refused',
    },
    // above the largest order: refused every time (a create that is not placed), never an unknown outcome that holds
    // the symbol for the unknown-order window (ccxt 4.5.84 does not know the codes of the current docs)
    {
      what: '170381 "Order quantity too large." (the current docs)',
      status: 200,
      body: retAnswer(RET.quantityTooLarge),
      expected: InvalidOrderError,
      outcome: 'refused',
    },
    {
      what: '170382 "Order quantity too large." (the current docs)',
      status: 200,
      body: retAnswer(RET.quantityTooLarge2),
      expected: InvalidOrderError,
      outcome: 'refused',
    },
    {
      what: '170135 "Order quantity too large." (the earlier docs)',
      status: 200,
      body: retAnswer(RET.quantityTooLargeBefore),
      expected: InvalidOrderError,
      outcome: 'refused',
    },
    {
      what: '170136 quantity below the minimum',
      status: 200,
      body: retAnswer(RET.quantityTooLow),
      expected: InvalidOrderError,
      outcome: 'refused',
    },
    {
      what: '170131 balance insufficient',
      status: 200,
      body: retAnswer(RET.balanceInsufficient),
      expected: InsufficientFundsError,
      outcome: 'refused',
    },
    {
      what: '10006 "Too many visits!"',
      status: 200,
      body: retAnswer(RET.tooManyVisits),
      expected: RateLimitError,
      outcome: 'refused',
    },
    {
      what: '403 "access too frequent" (IP ban)',
      status: 403,
      body: 'access too frequent',
      expected: RateLimitError,
      outcome: 'refused',
    },
    {
      what: '10002 timestamp outside the window',
      status: 200,
      body: retAnswer(RET.requestExpired),
      expected: TemporaryError,
      outcome: 'refused',
    },
    {
      what: '10004 wrong signature',
      status: 200,
      body: retAnswer(RET.badSign),
      expected: AuthenticationError,
      outcome: 'refused',
    },
    {
      what: '170141 Duplicate clientOrderId',
      status: 200,
      body: retAnswer(RET.duplicateOrderLinkId),
      expected: InvalidOrderError,
      outcome: 'exists',
    },
    {
      what: '110072 OrderLinkedID is duplicate',
      status: 200,
      body: retAnswer(RET.utaDuplicateOrderLinkId),
      expected: InvalidOrderError,
      outcome: 'exists',
    },
    // HTTP 200 with a server-side failure: ccxt calls 170146 InvalidOrder and 10016 ExchangeError, yet the
    // create may have been carried out
    {
      what: '170146 "Order creation timeout"',
      status: 200,
      body: retAnswer(RET.orderCreationTimeout),
      expected: NetworkError,
      outcome: 'unknown',
    },
    // 170032 (ccxt: a plain ExchangeError) and 170035 (ccxt: BadRequest) do not say the order was refused
    {
      what: '170032 "Network error. Please try again later"',
      status: 200,
      body: retAnswer(RET.networkError),
      expected: NetworkError,
      outcome: 'unknown',
    },
    {
      what: '170035 "Submitted to the system for processing!"',
      status: 200,
      body: retAnswer(RET.submittedForProcessing),
      expected: NetworkError,
      outcome: 'unknown',
    },
    {
      what: '10016 "Server error."',
      status: 200,
      body: retAnswer(RET.serverError),
      expected: NetworkError,
      outcome: 'unknown',
    },
    {
      what: '10000 "Server Timeout"',
      status: 200,
      body: retAnswer(RET.serverTimeout),
      expected: NetworkError,
      outcome: 'unknown',
    },
    {
      what: '170007 backend timeout',
      status: 200,
      body: retAnswer(RET.backendTimeout),
      expected: NetworkError,
      outcome: 'unknown',
    },
    {
      what: '170001 "Internal error."',
      status: 200,
      body: retAnswer(RET.internalError),
      expected: NetworkError,
      outcome: 'unknown',
    },
    {
      what: '170149 "Create order failed"',
      status: 200,
      body: retAnswer(RET.createOrderFailed),
      expected: NetworkError,
      outcome: 'unknown',
    },
    { what: '502 without a body', status: 502, body: '', expected: NetworkError, outcome: 'unknown' },
    // a 5xx is unknown whatever its body says
    {
      what: '503 carrying a min-value refusal',
      status: 503,
      body: retAnswer(RET.orderValueTooLow),
      expected: NetworkError,
      outcome: 'unknown',
    },
  ],
};
