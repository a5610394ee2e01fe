/** Binance's fixture set for the documented-answers suite (answers from harness/exchanges/answers/binance.ts). */
import { expect } from 'chai';
import {
  AuthenticationError,
  ExchangeRefusedError,
  InsufficientFundsError,
  InvalidOrderError,
  NetworkError,
  OrderNotFoundError,
  PermissionDeniedError,
  RateLimitError,
  TemporaryError,
} from '../../../../src/shared/errors';
import type { CreateOrderRequest } from '../../../../src/trading/exchange/exchange';
import {
  CANCEL_ORDER,
  ERRORS,
  MY_TRADES,
  NEW_ORDER_ACK,
  NEW_ORDER_FULL,
  NEW_ORDER_RESULT,
  QUERY_ORDER,
} from '../../../../harness/exchanges/answers/binance';
import { FakeBinance } from '../../../../harness/exchanges/fake-binance';
import { answeredAs, caught, failsAs, type AnswerFixtures } from './fixtures';

const KEY = 'kEy0123456789abcdefAPIKEYvalue';
const SECRET = 'sEcReT0123456789abcdefSECRETvalue';

const sell: CreateOrderRequest = {
  symbol: 'BTC/USDT',
  side: 'sell',
  type: 'market',
  amount: 10,
  clientOrderId: '6gCrw2kRUAF9CvJDGP16IP',
};

export const binanceAnswers: AnswerFixtures<FakeBinance> = {
  title: 'Binance',
  start: () =>
    FakeBinance.start({
      apiKey: KEY,
      secret: SECRET,
      symbols: ['BTC/USDT', 'LTC/BTC', 'BNB/BTC'],
      balances: { USDT: 1_000_000, BTC: 100 },
    }),
  connection: { exchangeId: 'binance', apiKey: KEY, secret: SECRET },
  tickers: ['BTC/USDT'],
  answer: (fake, route, body, status) => fake.faults.next(route, { kind: 'status', status, body }),
  failingOrder: () => sell,
  cases: {
    '': [
      {
        name: '-2015 on a first signed request is AuthenticationError (a person must fix the key)',
        run: async (s) => {
          const fresh = await s.connect();
          try {
            s.answer('account', ERRORS.badKey, 401);
            expect(await caught(fresh.fetchBalance())).to.be.instanceOf(AuthenticationError);
          } finally {
            await fresh.close();
          }
        },
      },
    ],
    'new order': [
      answeredAs(
        'FULL: a sell is a sell, times are the exchange’s, and fills without side or time are left for the trade list',
        [['createOrder', NEW_ORDER_FULL]],
        (ex) => ex.createOrder(sell),
        {
          id: '28',
          clientOrderId: '6gCrw2kRUAF9CvJDGP16IP',
          side: 'sell',
          type: 'market',
          status: 'closed',
          amount: 10,
          filled: 10,
          timestamp: 1507725176595,
        },
        // Binance's fills have no side and no time: never booked from here (a sell booked as a buy doubled the
        // position instead of closing it)
        (order) => expect(order.trades).to.equal(undefined),
      ),
      answeredAs(
        'RESULT: the order without fills',
        [['createOrder', NEW_ORDER_RESULT]],
        (ex) => ex.createOrder(sell),
        { side: 'sell', status: 'closed', filled: 10, timestamp: 1507725176595 },
        (order) => expect(order.trades).to.equal(undefined),
      ),
      answeredAs(
        'ACK: only ids and time — the side is the one we sent, the status is looked up later',
        [['createOrder', NEW_ORDER_ACK]],
        (ex) => ex.createOrder(sell),
        {
          id: '28',
          clientOrderId: '6gCrw2kRUAF9CvJDGP16IP',
          side: 'sell',
          status: 'open',
          filled: 0,
          timestamp: 1507725176595,
        },
      ),
    ],
    lookups: [
      answeredAs(
        'query order: a resting limit buy, by clientOrderId',
        [['fetchOrder', QUERY_ORDER]],
        (ex) => ex.fetchOrderByClientId('myOrder1', 'LTC/BTC'),
        {
          id: '1',
          clientOrderId: 'myOrder1',
          symbol: 'LTC/BTC',
          side: 'buy',
          type: 'limit',
          status: 'open',
          price: 0.1,
          amount: 1,
          filled: 0,
          timestamp: 1499827319559,
        },
      ),
      {
        name: 'account trade list: side from isBuyer, the exchange’s time, a fee in BNB as charged',
        run: async (s) => {
          s.answer('myTrades', MY_TRADES);
          const trades = await s.ex.fetchOrderTrades('100234', 'BNB/BTC');
          expect(trades).to.deep.equal([
            {
              id: '28457',
              orderId: '100234',
              symbol: 'BNB/BTC',
              side: 'buy',
              price: 4.000001,
              amount: 12,
              cost: 48.000012,
              fee: { cost: 10.1, currency: 'BNB' },
              timestamp: 1499865549590,
            },
          ]);
        },
      },
      {
        name: 'a listed trade without isBuyer or time is left out, never guessed',
        run: async (s) => {
          const { isBuyer: _side, ...noSide } = MY_TRADES[0];
          const { time: _time, ...noTime } = { ...MY_TRADES[0], id: 28458 };
          s.answer('myTrades', [noSide, noTime]);
          expect(await s.ex.fetchOrderTrades('100234', 'BNB/BTC')).to.deep.equal([]);
        },
      },
      answeredAs(
        'cancel: the order’s own clientOrderId (origClientOrderId), not the cancel’s',
        [['cancelOrder', CANCEL_ORDER]],
        (ex) => ex.cancelOrder('4', 'LTC/BTC'),
        { id: '4', clientOrderId: 'myOrder1', status: 'canceled', side: 'buy' },
      ),
      failsAs(
        '-2013 "Order does not exist." is OrderNotFoundError',
        [['fetchOrder', ERRORS.noSuchOrder, 400]],
        (ex) => ex.fetchOrderByClientId('nope', 'BTC/USDT'),
        OrderNotFoundError,
      ),
      failsAs(
        '-2011 "Unknown order sent." on cancel is OrderNotFoundError',
        [['cancelOrder', ERRORS.unknownOrderSent, 400]],
        (ex) => ex.cancelOrder('4', 'BTC/USDT'),
        OrderNotFoundError,
      ),
    ],
  },
  failedCreates: [
    {
      what: '-1013 Filter failure: NOTIONAL',
      status: 400,
      body: ERRORS.notional,
      expected: ExchangeRefusedError,
      outcome: 'refused',
    },
    {
      what: '-1013 Filter failure: LOT_SIZE',
      status: 400,
      body: ERRORS.lotSize,
      expected: InvalidOrderError,
      outcome: 'refused',
    },
    {
      what: '-2010 insufficient balance',
      status: 400,
      body: ERRORS.insufficientBalance,
      expected: InsufficientFundsError,
      outcome: 'refused',
    },
    {
      // ccxt reads -2015 after an earlier signed request succeeded as Binance's temporary ban (DDoSProtection); it
      // is the key's (deleted, or the IP off its allow-list): named so, a person must act — no ban waited out
      what: '-2015 once authenticated',
      status: 401,
      body: ERRORS.badKey,
      expected: PermissionDeniedError,
      outcome: 'refused',
    },
    {
      what: '429 -1003 too much weight',
      status: 429,
      body: ERRORS.tooMuchWeight,
      expected: RateLimitError,
      outcome: 'refused',
    },
    {
      what: '418 IP banned',
      status: 418,
      body: ERRORS.tooMuchWeight,
      expected: RateLimitError,
      outcome: 'refused',
    },
    {
      what: '-1021 timestamp outside recvWindow',
      status: 400,
      body: ERRORS.timestamp,
      expected: TemporaryError,
      outcome: 'refused',
    },
    {
      what: '-2010 Duplicate order sent.',
      status: 400,
      body: ERRORS.duplicate,
      expected: InvalidOrderError,
      outcome: 'exists',
    },
    {
      what: '503 -1007 execution status unknown',
      status: 503,
      body: ERRORS.executionUnknown,
      expected: NetworkError,
      outcome: 'unknown',
    },
    {
      what: '-1006 unexpected response',
      status: 500,
      body: ERRORS.unexpectedResponse,
      expected: NetworkError,
      outcome: 'unknown',
    },
    {
      what: '500 -1001 internal error',
      status: 500,
      body: ERRORS.internal,
      expected: NetworkError,
      outcome: 'unknown',
    },
    { what: '502 without a body', status: 502, body: '', expected: NetworkError, outcome: 'unknown' },
    // a 5xx is unknown whatever its body says
    {
      what: '500 carrying a filter failure',
      status: 500,
      body: ERRORS.notional,
      expected: NetworkError,
      outcome: 'unknown',
    },
  ],
};
