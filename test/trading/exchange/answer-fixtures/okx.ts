/**
 * OKX's fixture set for the documented-answers suite (answers from harness/exchanges/answers/okx.ts), then what the
 * local OKX itself does as documented (signature, passphrase, timestamp window, clOrdId uniqueness, tgtCcy) against
 * the adapter.
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
} from '../../../../src/shared/errors';
import type { CreateOrderRequest } from '../../../../src/trading/exchange/exchange';
import { okxProfile } from '../../../../src/trading/exchange/profiles/okx';
import {
  CANCEL_ORDER,
  ERRORS,
  FILLS_HISTORY,
  ORDER_DETAILS,
  ORDER_HISTORY,
  ORDER_LIST,
  PLACE_ORDER,
  orderFailure,
} from '../../../../harness/exchanges/answers/okx';
import { FakeOkx } from '../../../../harness/exchanges/fake-okx';
import { answeredAs, caught, failsAs, type AnswerCase, type AnswerFixtures } from './fixtures';
import { BTC_MARKET } from '../../../support/risk-fixtures';

const KEY = 'okxKeY0123456789abcdefAPIKEYvalue';
const SECRET = 'okxSeCrEt0123456789abcdefSECRETvalue';
const PASSPHRASE = 'okxPassPhrase0123';

const sell: CreateOrderRequest = {
  symbol: 'BTC/USDT',
  side: 'sell',
  type: 'market',
  amount: 0.01,
  clientOrderId: 'oktswap6',
};

/** A connection whose request window (expTime) is `ms`. */
const withRecvWindow = (ms: number) => ({ profile: { ...okxProfile, recvWindowMs: ms } });

const signedRequestCases: AnswerCase<FakeOkx>[] = (
  [
    ['50111 invalid key', ERRORS.badKey],
    ['50113 invalid signature', ERRORS.badSignature],
    ['50105 wrong passphrase', ERRORS.badPassphrase],
  ] as const
).map(([what, e]) =>
  failsAs(
    `${what} is AuthenticationError (a person must fix the key)`,
    [['balance', e.body, e.status]],
    (ex) => ex.fetchBalance(),
    AuthenticationError,
  ),
);

export const okxAnswers: AnswerFixtures<FakeOkx> = {
  title: 'OKX',
  start: () =>
    FakeOkx.start({
      apiKey: KEY,
      secret: SECRET,
      passphrase: PASSPHRASE,
      balances: { USDT: 1_000_000, BTC: 100 },
    }),
  connection: { exchangeId: 'okx', apiKey: KEY, secret: SECRET, password: PASSPHRASE, profile: okxProfile },
  tickers: ['BTC/USDT'],
  answer: (fake, route, body, status) => fake.faults.next(route, { kind: 'status', status, body }),
  failingOrder: () => sell,
  cases: {
    '': [
      {
        name: 'loads markets with one public request (spot instruments): no futures lists, no private currencies call',
        run: async (s) => {
          const fresh = await s.connect();
          try {
            const before = s.fake.requests.length;
            const markets = await fresh.loadMarkets();
            expect(s.fake.requests.slice(before).map((r) => r.route)).to.deep.equal(['instruments']);
            // lotSz, tickSz and minSz; OKX has no minimum order value. The largest orders: maxLmtSz (base) and
            // maxLmtAmt (USD) a limit one, maxMktSz (USDT) and maxMktAmt (USD) a market one's value
            expect(markets['BTC/USDT']).to.deep.equal({
              ...BTC_MARKET,
              minNotional: 0,
              // ccxt's okx trading fees
              takerFee: 0.0015,
              maxOrder: { limit: { amount: 9_999_999_999, value: 1_000_000 }, market: { value: 1_000_000 } },
            });
          } finally {
            await fresh.close();
          }
        },
      },
      {
        name: 'a refusal reads "okx <code>: <message>", without the request echoes that would make it look new each time',
        run: async (s) => {
          s.answer('createOrder', ERRORS.minimumAmount.body);
          const first = await caught(s.ex.createOrder({ ...sell, clientOrderId: 'okxmsg1' }));
          s.answer('createOrder', { ...ERRORS.minimumAmount.body, inTime: '1', outTime: '2' });
          const second = await caught(s.ex.createOrder({ ...sell, clientOrderId: 'okxmsg2' }));
          expect(first.message).to.equal(
            'okx 51020: Your order should meet or exceed the minimum order amount.',
          );
          expect(second.message).to.equal(first.message);
        },
      },
    ],
    'new order': [
      answeredAs(
        'place order: ids only — the side is the one we sent, no fills, the status is looked up later',
        [['createOrder', PLACE_ORDER]],
        (ex) => ex.createOrder(sell),
        {
          id: '312269865356374016',
          clientOrderId: 'oktswap6',
          side: 'sell',
          type: 'market',
          status: 'open',
          filled: 0,
        },
        (order) => {
          expect(order.trades).to.equal(undefined);
          // `ts` is when OKX finished the request, not the order's time: never the local clock either
          expect(order.timestamp).to.equal(undefined);
        },
      ),
      {
        name: 'a market buy sends its base amount (tgtCcy=base_ccy, cash): OKX fills exactly what the bot asked',
        run: async (s) => {
          await s.ex.createOrder({ ...sell, side: 'buy', amount: 0.01, clientOrderId: 'okxbase1' });
          expect(s.fake.createBodies().at(-1)).to.include({
            instId: 'BTC-USDT',
            tdMode: 'cash',
            side: 'buy',
            ordType: 'market',
            sz: '0.01',
            tgtCcy: 'base_ccy',
            clOrdId: 'okxbase1',
          });
          // by OKX's default (quote_ccy) the same request would have bought 0.01 USDT worth
          expect(s.fake.ordersByClientId('okxbase1')[0]).to.include({ accFillSz: 0.01, state: 'filled' });
        },
      },
    ],
    'request window (expTime)': [
      {
        name: 'every create carries expTime = signing time + 5 s, the window the unknown-order rule adds',
        run: async (s) => {
          const sentFrom = Date.now();
          await s.ex.createOrder({ ...sell, clientOrderId: 'okxexp1' });
          const sentBy = Date.now();
          const create = s.fake.requests.filter((r) => r.route === 'createOrder').at(-1)!;
          expect(okxProfile.recvWindowMs).to.equal(5_000);
          // on OKX's clock: ccxt's nonce is the host's time less the measured difference
          const offset = s.ex.clockOffsetMs();
          expect(Number(create.expTime)).to.be.within(sentFrom - offset + 5_000, sentBy - offset + 5_000);
          // reads carry none: only Place order takes it
          expect(
            s.fake.requests.filter((r) => r.route !== 'createOrder' && r.expTime !== undefined),
          ).to.deep.equal([]);
        },
      },
      {
        name: 'a create OKX would process after its expTime is not processed: refused (50037) as for its timestamp, no order',
        run: async (s) => {
          const short = await s.connect(withRecvWindow(300));
          try {
            await short.loadMarkets();
            const before = s.fake.orders.length;
            s.fake.faults.next('createOrder', { kind: 'delay', ms: 600 });
            const err = await caught(short.createOrder({ ...sell, clientOrderId: 'okxlate1' }));
            expect(err).to.be.instanceOf(TemporaryError);
            expect(err).to.not.be.instanceOf(NetworkError);
            expect(err.message).to.equal('okx 50037: Order expired.');
            expect(s.fake.orders.length).to.equal(before);
          } finally {
            await short.close();
          }
        },
      },
    ],
    lookups: [
      answeredAs(
        'order details by clOrdId: a market buy sized in the quote counts what filled, never the 100 USDT it spent',
        [['fetchOrder', ORDER_DETAILS]],
        (ex) => ex.fetchOrderByClientId('oktswap6', 'BTC/USDT'),
        {
          id: '680800019749904384',
          symbol: 'BTC/USDT',
          side: 'buy',
          type: 'market',
          status: 'closed',
          amount: 0.00192834,
          filled: 0.00192834,
          average: 51858,
          timestamp: 1708587373361,
        },
        (_, s) =>
          expect(s.fake.requests.at(-1)?.params).to.include({ instId: 'BTC-USDT', clOrdId: 'oktswap6' }),
      ),
      answeredAs(
        'order list: a resting post-only buy is an open limit order',
        [['ordersPending', ORDER_LIST]],
        async (ex) => (await ex.fetchOpenOrders('BTC/USDT'))[0],
        {
          id: '1752588852617379840',
          side: 'buy',
          type: 'limit',
          status: 'open',
          price: 13013.5,
          amount: 0.001,
          filled: 0,
          timestamp: 1724733617998,
        },
      ),
      {
        name: 'recent orders (no list of all orders on OKX): the pending list and the 7-day history together',
        run: async (s) => {
          s.answer('ordersPending', ORDER_LIST);
          s.answer('ordersHistory', ORDER_HISTORY);
          const orders = await s.ex.fetchRecentOrders('BTC/USDT');
          expect(orders.map((o) => [o.id, o.status])).to.have.deep.members([
            ['1752588852617379840', 'open'],
            ['680800019749904384', 'closed'],
          ]);
        },
      },
      {
        name: 'an order finished 8 days ago: gone from orders-history ("the last 7 days"), still found by its clOrdId',
        run: async (s) => {
          await s.ex.createOrder({ ...sell, clientOrderId: 'okxold8d' });
          const [order] = s.fake.ordersByClientId('okxold8d');
          expect(order.state).to.equal('filled');
          // placed and filled 8 days ago (a restart after a long outage)
          order.cTime -= 8 * 86_400_000;
          order.uTime -= 8 * 86_400_000;
          const recent = await s.ex.fetchRecentOrders('BTC/USDT');
          expect(recent.map((o) => o.clientOrderId)).to.not.include('okxold8d');
          // GET / Order details documents no such horizon: the order the state names is read there, whole
          const found = await s.ex.fetchOrderByClientId('okxold8d', 'BTC/USDT');
          expect(found).to.include({ id: order.ordId, status: 'closed', filled: 0.01 });
        },
      },
      {
        name: 'recent orders: the filled and the cancelled history asked together, both once the pending list answered',
        run: async (s) => {
          // the first history request held: the other one must not wait for its answer
          s.fake.faults.next('ordersHistory', { kind: 'delay', ms: 400 });
          await s.ex.fetchRecentOrders('BTC/USDT');
          const pending = s.fake.requests.filter((r) => r.route === 'ordersPending').at(-1)!;
          const history = s.fake.requests.filter((r) => r.route === 'ordersHistory').slice(-2);
          expect(history.map((r) => r.params.state).sort()).to.deep.equal(['canceled', 'filled']);
          // each after the pending list: an order that ended between the two reads is in the history
          for (const r of history) expect(r.at).to.be.at.least(pending.answeredAt!);
          const [first, second] = [...history].sort((a, b) => a.at - b.at);
          expect(second.at, 'the second history list asked before the first one answered').to.be.below(
            first.answeredAt!,
          );
        },
      },
      {
        name: "fills history: the side, the exchange's time, the fee as charged in the coin bought",
        run: async (s) => {
          s.answer('fillsHistory', FILLS_HISTORY);
          const trades = await s.ex.fetchOrderTrades('680800019749904384', 'BTC/USDT');
          expect(trades).to.have.length(1);
          expect(trades[0]).to.deep.include({
            id: '744876980',
            orderId: '680800019749904384',
            symbol: 'BTC/USDT',
            side: 'buy',
            price: 51858,
            amount: 0.00192834,
            // "The trading fee deduction is negative"
            fee: { cost: 0.00000192834, currency: 'BTC' },
            timestamp: 1708587373362,
          });
          expect(trades[0].cost).to.be.closeTo(51858 * 0.00192834, 1e-9);
          expect(s.fake.requests.at(-1)?.params).to.include({
            ordId: '680800019749904384',
            instType: 'SPOT',
          });
        },
      },
      {
        name: 'a listed fill without side or time is left out, never guessed',
        run: async (s) => {
          const { side: _side, ...noSide } = FILLS_HISTORY.data[0];
          const { ts: _ts, ...noTime } = { ...FILLS_HISTORY.data[0], tradeId: '744876981' };
          s.answer('fillsHistory', { ...FILLS_HISTORY, data: [noSide, noTime] });
          expect(await s.ex.fetchOrderTrades('680800019749904384', 'BTC/USDT')).to.deep.equal([]);
        },
      },
      {
        name: 'cancel: OKX only acknowledges the request, so the order is read after it (its side and fills kept)',
        run: async (s) => {
          s.answer('cancelOrder', CANCEL_ORDER);
          s.answer('fetchOrder', {
            ...ORDER_LIST,
            data: [{ ...ORDER_LIST.data[0], ordId: '12345689', state: 'canceled' }],
          });
          const before = s.fake.requests.length;
          const order = await s.ex.cancelOrder('12345689', 'BTC/USDT');
          expect(order).to.include({
            id: '12345689',
            side: 'buy',
            type: 'limit',
            status: 'canceled',
            filled: 0,
          });
          expect(s.fake.requests.slice(before).map((r) => r.route)).to.deep.equal([
            'cancelOrder',
            'fetchOrder',
          ]);
        },
      },
      {
        name: "50061 (the account's order rate limit) holds new orders only: reads and cancels still go out",
        run: async (s) => {
          const own = await s.connect();
          try {
            await own.loadMarkets();
            await own.fetchTicker('BTC/USDT');
            s.answer('createOrder', ERRORS.orderRateLimit.body, ERRORS.orderRateLimit.status);
            expect(await caught(own.createOrder({ ...sell, clientOrderId: 'okxrate1' }))).to.be.instanceOf(
              RateLimitError,
            );
            const before = s.fake.requests.length;
            await own.fetchBalance();
            // the next create is held at the gate (refused unsent, never placed), not sent
            const held = await caught(own.createOrder({ ...sell, clientOrderId: 'okxrate2' }));
            expect(held).to.be.instanceOf(RateLimitError);
            expect(s.fake.requests.slice(before).map((r) => r.route)).to.deep.equal(['balance']);
            expect(s.fake.ordersByClientId('okxrate2')).to.have.length(0);
          } finally {
            await own.close();
          }
        },
      },
      failsAs(
        '51603 "Order does not exist." is OrderNotFoundError',
        [['fetchOrder', ERRORS.noSuchOrder.body]],
        (ex) => ex.fetchOrderByClientId('nope', 'BTC/USDT'),
        OrderNotFoundError,
      ),
      failsAs(
        '51400 on cancel ("filled, canceled or does not exist") is OrderNotFoundError',
        [['cancelOrder', ERRORS.cancelFailed.body]],
        (ex) => ex.cancelOrder('4', 'BTC/USDT'),
        OrderNotFoundError,
      ),
    ],
    'signed requests': [
      ...signedRequestCases,
      {
        name: 'a wrong passphrase or secret is refused by the local OKX itself (50105, 50113)',
        run: async (s) => {
          for (const overrides of [{ password: 'wrongPassphrase' }, { secret: 'wrong-secret-0123456789' }]) {
            const wrong = await s.connect(overrides);
            try {
              expect(await caught(wrong.fetchBalance())).to.be.instanceOf(AuthenticationError);
            } finally {
              await wrong.close();
            }
          }
          expect(s.fake.requests.filter((r) => r.route === 'balance').length).to.be.greaterThan(0);
        },
      },
      {
        name: 'a host clock 10 s behind (inside the 30 s window): the create past its expTime is refused (50037), never taken; the offset measured, the next create taken',
        run: async (s) => {
          s.fake.clockSkewMs = 10_000;
          const before = s.fake.orders.length;
          const timeReads = (): number => s.fake.requests.filter((r) => r.route === 'time').length;
          const timeReadsBefore = timeReads();
          const skewed = await s.connect();
          try {
            await skewed.fetchBalance(); // a signed read 10 s behind is taken: nothing measured yet
            expect(timeReads()).to.equal(timeReadsBefore);
            const err = await caught(skewed.createOrder({ ...sell, clientOrderId: 'okxbehind1' }));
            expect(err).to.be.instanceOf(TemporaryError);
            expect(err).to.not.be.instanceOf(NetworkError);
            expect(err.message).to.equal('okx 50037: Order expired.');
            expect(s.fake.orders.length).to.equal(before);
            expect(timeReads()).to.equal(timeReadsBefore + 1);
            await skewed.createOrder({ ...sell, clientOrderId: 'okxbehind2' });
            expect(s.fake.orders.map((o) => o.clOrdId).slice(before)).to.deep.equal(['okxbehind2']);
          } finally {
            await skewed.close();
          }
        },
      },
      {
        name: 'a host clock more than 30 s off is refused (50102 "Timestamp request expired."), never taken',
        run: async (s) => {
          s.fake.clockSkewMs = 31_000;
          const before = s.fake.orders.length;
          // an adapter of its own: the refusal measures the offset and signs its later requests on it (clock-skew.ts)
          const skewed = await s.connect();
          try {
            const err = await caught(skewed.createOrder({ ...sell, clientOrderId: 'okxskew1' }));
            expect(err).to.be.instanceOf(TemporaryError);
            expect(err).to.not.be.instanceOf(NetworkError);
            expect(err.message).to.equal('okx 50102: Timestamp request expired.');
            expect(s.fake.orders.length).to.equal(before);
          } finally {
            await skewed.close();
          }
        },
      },
    ],
    'clOrdId, as documented: unique among pending orders only': [
      {
        name: 'a second create with the clOrdId of a pending order is 51016: the order exists (looked up, not refused)',
        run: async (s) => {
          const resting = {
            ...sell,
            side: 'buy' as const,
            type: 'limit' as const,
            price: 1_000,
            amount: 0.01,
          };
          await s.ex.createOrder({ ...resting, clientOrderId: 'okxdup1' });
          const err = await caught(s.ex.createOrder({ ...resting, clientOrderId: 'okxdup1' }));
          expect(err).to.be.instanceOf(InvalidOrderError);
          expect((err as InvalidOrderError).context.duplicate).to.equal(true);
          expect(s.fake.ordersByClientId('okxdup1')).to.have.length(1);
        },
      },
      {
        name: "a filled order's clOrdId is taken again as a NEW order: so a create is never resent",
        run: async (s) => {
          await s.ex.createOrder({ ...sell, clientOrderId: 'okxagain1' });
          await s.ex.createOrder({ ...sell, clientOrderId: 'okxagain1' });
          expect(s.fake.ordersByClientId('okxagain1')).to.have.length(2);
        },
      },
    ],
  },
  failedCreates: [
    {
      what: '51020 below the minimum amount',
      ...ERRORS.minimumAmount,
      expected: InvalidOrderError,
      outcome: 'refused',
    },
    {
      what: '51121 not a multiple of the lot size',
      ...ERRORS.lotSize,
      expected: InvalidOrderError,
      outcome: 'refused',
    },
    {
      what: '51008 insufficient balance',
      ...ERRORS.insufficientBalance,
      expected: InsufficientFundsError,
      outcome: 'refused',
    },
    {
      what: '51000 parameter error',
      status: 200,
      body: {
        ...ERRORS.lotSize.body,
        data: [{ ...(ERRORS.lotSize.body.data[0] as object), sCode: '51000', sMsg: 'Parameter sz error' }],
      },
      expected: ExchangeRefusedError,
      outcome: 'refused',
    },
    // a price off a tickSz OKX changed since the markets were read: "Parameter px error" (HTTP 400 in the error table)
    {
      what: '51000 parameter px error (a changed tick size) makes the markets due',
      ...ERRORS.priceParameter,
      expected: ExchangeRefusedError,
      outcome: 'refused',
      marketRules: true,
    },
    // "The precision of the number of trades or the price exceeds the limit.": refused (ccxt: unmapped, a plain
    // ExchangeError read as outcome unknown), and a rule of the instrument that changed: the markets are due
    {
      what: '51150 precision of the amount or price exceeds the limit',
      ...ERRORS.precision,
      expected: InvalidOrderError,
      outcome: 'refused',
      marketRules: true,
    },
    {
      what: '51121 lot size makes the markets due',
      ...ERRORS.lotSize,
      expected: InvalidOrderError,
      outcome: 'refused',
      marketRules: true,
    },
    // the account's order rate limit (all its order requests): a refusal for rate, not an order that may exist
    {
      what: "50061 the account's order rate limit reached",
      ...ERRORS.orderRateLimit,
      expected: RateLimitError,
      outcome: 'refused',
    },
    {
      what: '50037 order expired (past its expTime)',
      ...ERRORS.orderExpired,
      // a timestamp refusal (clock-skew.ts measures the offset): refused, never placed
      expected: TemporaryError,
      outcome: 'refused',
    },
    {
      what: '50036 expTime earlier than the system time',
      ...ERRORS.expTimeInPast,
      // a timestamp refusal (clock-skew.ts measures the offset): refused, never placed
      expected: TemporaryError,
      outcome: 'refused',
    },
    {
      what: '50011 rate limit reached (HTTP 200)',
      ...ERRORS.rateLimitReached,
      expected: RateLimitError,
      outcome: 'refused',
    },
    {
      what: '50011 Too Many Requests (HTTP 429)',
      ...ERRORS.tooManyRequests,
      expected: RateLimitError,
      outcome: 'refused',
    },
    {
      what: '50102 timestamp expired',
      ...ERRORS.timestampExpired,
      expected: TemporaryError,
      outcome: 'refused',
    },
    {
      what: '50113 invalid signature',
      ...ERRORS.badSignature,
      expected: AuthenticationError,
      outcome: 'refused',
    },
    {
      what: '51016 client order ID already exists',
      ...ERRORS.duplicate,
      expected: InvalidOrderError,
      outcome: 'exists',
    },
    {
      what: '50004 endpoint timeout (HTTP 400)',
      ...ERRORS.endpointTimeout,
      expected: NetworkError,
      outcome: 'unknown',
    },
    {
      what: '51149 order timed out (HTTP 500)',
      ...ERRORS.orderTimedOut,
      expected: NetworkError,
      outcome: 'unknown',
    },
    // the code says "does not mean that the request was successful or failed", whatever the HTTP status
    {
      what: '51149 order timed out in an HTTP 200 answer',
      status: 200,
      body: ERRORS.orderTimedOut.body,
      expected: NetworkError,
      outcome: 'unknown',
    },
    // an sCode ccxt does not know (its bare ExchangeError) in an HTTP 200 answer: never read as a refusal
    {
      what: '51054 request timed out, in an HTTP 200 answer (unknown to ccxt)',
      status: 200,
      body: orderFailure('51054', 'Request timed out. Please try again later.'),
      expected: NetworkError,
      outcome: 'unknown',
    },
    // not documented as refused: looked up
    {
      what: '50013 systems are busy (HTTP 429)',
      ...ERRORS.systemsBusy,
      expected: NetworkError,
      outcome: 'unknown',
    },
    {
      what: '50001 service unavailable (503)',
      ...ERRORS.serviceUnavailable,
      expected: NetworkError,
      outcome: 'unknown',
    },
    { what: '50026 system error (500)', ...ERRORS.systemError, expected: NetworkError, outcome: 'unknown' },
    { what: '502 without a body', status: 502, body: '', expected: NetworkError, outcome: 'unknown' },
    // a 5xx is unknown whatever its body says
    {
      what: '500 carrying a refusal',
      status: 500,
      body: ERRORS.minimumAmount.body,
      expected: NetworkError,
      outcome: 'unknown',
    },
  ],
};
