/**
 * The ccxt adapter's mapping of Binance's documented answers (harness/exchanges/answers/binance.ts), through real ccxt
 * over HTTP: each answer is served verbatim by the local Binance for exactly one request.
 */
import { expect } from 'chai';
import {
  AuthenticationError,
  ExchangeRefusedError,
  InsufficientFundsError,
  InvalidOrderError,
  NetworkError,
  OrderNotFoundError,
  RateLimitError,
  TemporaryError,
} from '../../../src/shared/errors';
import { CcxtExchange } from '../../../src/trading/exchange/ccxt-exchange';
import type { CreateOrderRequest } from '../../../src/trading/exchange/exchange';
import {
  CANCEL_ORDER,
  ERRORS,
  MY_TRADES,
  NEW_ORDER_ACK,
  NEW_ORDER_FULL,
  NEW_ORDER_RESULT,
  QUERY_ORDER,
} from '../../../harness/exchanges/answers/binance';
import { FakeBinance } from '../../../harness/exchanges/fake-binance';

const KEY = 'kEy0123456789abcdefAPIKEYvalue';
const SECRET = 'sEcReT0123456789abcdefSECRETvalue';

async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  expect.fail('expected the call to fail');
}

describe("Binance's documented answers through the ccxt adapter", function () {
  this.timeout(20_000);
  let fake: FakeBinance;
  let ex: CcxtExchange;

  const sell: CreateOrderRequest = {
    symbol: 'BTC/USDT',
    side: 'sell',
    type: 'market',
    amount: 10,
    clientOrderId: '6gCrw2kRUAF9CvJDGP16IP',
  };

  before(async () => {
    fake = await FakeBinance.start({
      apiKey: KEY,
      secret: SECRET,
      symbols: ['BTC/USDT', 'LTC/BTC', 'BNB/BTC'],
      balances: { USDT: 1_000_000, BTC: 100 },
    });
    ex = await CcxtExchange.create({
      exchangeId: 'binance',
      apiKey: KEY,
      secret: SECRET,
      apiUrl: fake.url,
      timeoutMs: 2_000,
      readRetry: { maxAttempts: 1 },
    });
    await ex.loadMarkets();
    await ex.fetchTicker('BTC/USDT'); // the min-notional check of a market order reads a recent price
  });

  after(async () => {
    await ex.close();
    await fake.close();
  });

  const answer = (route: string, body: unknown, status = 200): void =>
    fake.faults.next(route, { kind: 'status', status, body });

  describe('new order', () => {
    it('FULL: a sell is a sell, times are the exchange’s, and fills without side or time are left for the trade list', async () => {
      answer('createOrder', NEW_ORDER_FULL);
      const order = await ex.createOrder(sell);
      expect(order).to.include({
        id: '28',
        clientOrderId: '6gCrw2kRUAF9CvJDGP16IP',
        side: 'sell',
        type: 'market',
        status: 'closed',
        amount: 10,
        filled: 10,
        timestamp: 1507725176595,
      });
      // Binance's fills have no side and no time: never booked from here (a sell booked as a buy doubled the
      // position instead of closing it)
      expect(order.trades).to.equal(undefined);
    });

    it('RESULT: the order without fills', async () => {
      answer('createOrder', NEW_ORDER_RESULT);
      const order = await ex.createOrder(sell);
      expect(order).to.include({ side: 'sell', status: 'closed', filled: 10, timestamp: 1507725176595 });
      expect(order.trades).to.equal(undefined);
    });

    it('ACK: only ids and time — the side is the one we sent, the status is looked up later', async () => {
      answer('createOrder', NEW_ORDER_ACK);
      const order = await ex.createOrder(sell);
      expect(order).to.include({
        id: '28',
        clientOrderId: '6gCrw2kRUAF9CvJDGP16IP',
        side: 'sell',
        status: 'open',
        filled: 0,
        timestamp: 1507725176595,
      });
    });
  });

  describe('lookups', () => {
    it('query order: a resting limit buy, by clientOrderId', async () => {
      answer('fetchOrder', QUERY_ORDER);
      const order = await ex.fetchOrderByClientId('myOrder1', 'LTC/BTC');
      expect(order).to.include({
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
      });
    });

    it('account trade list: side from isBuyer, the exchange’s time, a fee in BNB as charged', async () => {
      answer('myTrades', MY_TRADES);
      const trades = await ex.fetchOrderTrades('100234', 'BNB/BTC');
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
    });

    it('a listed trade without isBuyer or time is left out, never guessed', async () => {
      const { isBuyer: _side, ...noSide } = MY_TRADES[0];
      const { time: _time, ...noTime } = { ...MY_TRADES[0], id: 28458 };
      answer('myTrades', [noSide, noTime]);
      expect(await ex.fetchOrderTrades('100234', 'BNB/BTC')).to.deep.equal([]);
    });

    it('cancel: the order’s own clientOrderId (origClientOrderId), not the cancel’s', async () => {
      answer('cancelOrder', CANCEL_ORDER);
      const order = await ex.cancelOrder('4', 'LTC/BTC');
      expect(order).to.include({ id: '4', clientOrderId: 'myOrder1', status: 'canceled', side: 'buy' });
    });

    it('-2013 "Order does not exist." is OrderNotFoundError', async () => {
      answer('fetchOrder', ERRORS.noSuchOrder, 400);
      expect(await caught(ex.fetchOrderByClientId('nope', 'BTC/USDT'))).to.be.instanceOf(OrderNotFoundError);
    });

    it('-2011 "Unknown order sent." on cancel is OrderNotFoundError', async () => {
      answer('cancelOrder', ERRORS.unknownOrderSent, 400);
      expect(await caught(ex.cancelOrder('4', 'BTC/USDT'))).to.be.instanceOf(OrderNotFoundError);
    });
  });

  it('-2015 on a first signed request is AuthenticationError (a person must fix the key)', async () => {
    const fresh = await CcxtExchange.create({
      exchangeId: 'binance',
      apiKey: KEY,
      secret: SECRET,
      apiUrl: fake.url,
      readRetry: { maxAttempts: 1 },
    });
    try {
      answer('account', ERRORS.badKey, 401);
      expect(await caught(fresh.fetchBalance())).to.be.instanceOf(AuthenticationError);
    } finally {
      await fresh.close();
    }
  });

  describe('a failed create: refused (the order does not exist) or unknown (it may)', () => {
    const cases: Array<{
      what: string;
      status: number;
      body: unknown;
      expected: new (...args: never[]) => Error;
      outcome: 'refused' | 'unknown' | 'exists';
    }> = [
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
        // ccxt reads -2015 after an earlier signed request succeeded as Binance's temporary ban (DDoSProtection)
        what: '-2015 once authenticated',
        status: 401,
        body: ERRORS.badKey,
        expected: RateLimitError,
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
    ];
    for (const c of cases) {
      it(`${c.what} → ${c.outcome}`, async () => {
        answer('createOrder', c.body, c.status);
        const err = await caught(ex.createOrder(sell));
        expect(err, err.message).to.be.instanceOf(c.expected);
        if (c.outcome === 'unknown') expect(err).to.be.instanceOf(NetworkError);
        else expect(err).to.not.be.instanceOf(NetworkError);
        expect((err as InvalidOrderError).context.duplicate === true).to.equal(c.outcome === 'exists');
      });
    }
  });
});
