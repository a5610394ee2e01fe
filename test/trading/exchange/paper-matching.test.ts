import { expect } from 'chai';
import fc from 'fast-check';
import { InsufficientFundsError, InvalidOrderError, OrderNotFoundError } from '../../../src/shared/errors';
import type { CreateOrderRequest, Market, Ticker } from '../../../src/trading/exchange/exchange';
import { newPaperAccount, type PaperAccount } from '../../../src/trading/exchange/paper-account';
import {
  acceptOrder,
  applyMatches,
  cancelOrder,
  matchRestingOrder,
  openOrders,
  rangeReach,
  refuseDuplicate,
  sizeOrder,
  sliceAmount,
  type MatchingRules,
} from '../../../src/trading/exchange/paper-matching';
import type { PriceRange } from '../../../src/trading/exchange/price-feed';

const MARKET: Market = {
  symbol: 'BTC/USDT',
  base: 'BTC',
  quote: 'USDT',
  amountStep: 0.0001,
  priceStep: 0.01,
  minAmount: 0.0001,
  minNotional: 5,
};
const MARKETS = { [MARKET.symbol]: MARKET };
const RULES: MatchingRules = {
  feeRate: 0.001,
  slippageBps: 10,
  partialFillNotional: 1e9,
  retainClosedOrders: 500,
};
const NOW = 1_700_000_000_000;
const BUCKET = 100;

function ticker(bid: number, ask: number): Ticker {
  return { symbol: MARKET.symbol, last: (bid + ask) / 2, bid, ask, timestamp: NOW };
}

function request(over: Partial<CreateOrderRequest> & { clientOrderId: string }): CreateOrderRequest {
  return { symbol: MARKET.symbol, side: 'buy', type: 'limit', amount: 0.1, price: 100, ...over };
}

function place(
  account: PaperAccount,
  req: CreateOrderRequest,
  quote: Ticker,
  rules: MatchingRules = RULES,
  now = NOW,
  bucket = BUCKET,
): { account: PaperAccount; orderId: string } {
  refuseDuplicate(account, req);
  return acceptOrder(account, req, sizeOrder(req, MARKET), MARKET, quote, rules, now, bucket);
}

function range(bucket: number, low: number, high: number, bid = low, ask = high): PriceRange {
  return { bucket, lowestAsk: low, highestBid: high, bid, ask, time: NOW + bucket };
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('paper matching (pure)', () => {
  describe('what an order fills at when it arrives', () => {
    const cases: Array<{
      name: string;
      req: Partial<CreateOrderRequest>;
      quote: Ticker;
      filled: number;
      price?: number;
    }> = [
      {
        name: 'market buy: the ask plus slippage, rounded up',
        req: { type: 'market', side: 'buy' },
        quote: ticker(99, 101),
        filled: 0.1,
        price: 101.11,
      },
      {
        name: 'market sell: the bid minus slippage, rounded down',
        req: { type: 'market', side: 'sell' },
        quote: ticker(99, 101),
        filled: 0.1,
        price: 98.9,
      },
      {
        name: 'marketable limit buy: the ask, not its limit',
        req: { side: 'buy', price: 105 },
        quote: ticker(99, 101),
        filled: 0.1,
        price: 101,
      },
      {
        name: 'marketable limit sell: the bid, not its limit',
        req: { side: 'sell', price: 95 },
        quote: ticker(99, 101),
        filled: 0.1,
        price: 99,
      },
      {
        name: 'limit buy below the ask rests',
        req: { side: 'buy', price: 100 },
        quote: ticker(99, 101),
        filled: 0,
      },
      {
        name: 'limit sell above the bid rests',
        req: { side: 'sell', price: 100 },
        quote: ticker(99, 101),
        filled: 0,
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const start = newPaperAccount({ USDT: 1000, BTC: 1 });
        const { account, orderId } = place(start, request({ clientOrderId: 'c1', ...c.req }), c.quote);
        const order = account.orders[orderId];
        expect(order.filled).to.equal(c.filled);
        if (c.price !== undefined) expect(order.trades[0].price).to.equal(c.price);
        else expect(order.trades).to.deep.equal([]);
      });
    }
  });

  it('charges the fee in the quote currency: a market buy takes cost + fee, a sell credits cost − fee', () => {
    const start = newPaperAccount({ USDT: 1000, BTC: 1 });
    const rules = { ...RULES, slippageBps: 0 };
    const buy = place(
      start,
      request({ clientOrderId: 'b', type: 'market', amount: 1 }),
      ticker(99, 100),
      rules,
    );
    expect(buy.account.balances.USDT.free).to.equal(1000 - 100 - 0.1);
    expect(buy.account.balances.BTC.free).to.equal(2);
    const sell = place(
      start,
      request({ clientOrderId: 's', type: 'market', side: 'sell', amount: 1 }),
      ticker(100, 101),
      rules,
    );
    expect(sell.account.balances.USDT.free).to.equal(1000 + 100 - 0.1);
    expect(sell.account.balances.BTC.free).to.equal(0);
  });

  it('holds a resting buy’s limit value plus fee, and gives it back on cancel', () => {
    const start = newPaperAccount({ USDT: 1000 });
    const placed = place(start, request({ clientOrderId: 'c1', amount: 1, price: 100 }), ticker(101, 102));
    expect(placed.account.balances.USDT).to.deep.equal({ free: 899.9, used: 100.1 });
    const cancelled = cancelOrder(placed.account, placed.orderId, MARKET.symbol);
    expect(cancelled.balances.USDT).to.deep.equal({ free: 1000, used: 0 });
    expect(cancelled.orders[placed.orderId].status).to.equal('canceled');
    expect(thrown(() => cancelOrder(cancelled, placed.orderId, MARKET.symbol))).to.be.instanceOf(
      OrderNotFoundError,
    );
    expect(thrown(() => cancelOrder(placed.account, placed.orderId, 'ETH/USDT'))).to.be.instanceOf(
      OrderNotFoundError,
    );
  });

  describe('refusals change nothing', () => {
    const start = newPaperAccount({ USDT: 50, BTC: 0 });
    const cases: Array<{
      name: string;
      req: Partial<CreateOrderRequest>;
      error: new (...a: never[]) => Error;
    }> = [
      { name: 'a buy it cannot pay for', req: { amount: 1, price: 100 }, error: InsufficientFundsError },
      {
        name: 'a market buy it cannot pay for',
        req: { type: 'market', amount: 1 },
        error: InsufficientFundsError,
      },
      {
        name: 'a sell of coins it does not hold',
        req: { side: 'sell', type: 'market', amount: 0.1 },
        error: InsufficientFundsError,
      },
      { name: 'an amount below the minimum', req: { amount: 0.00001 }, error: InvalidOrderError },

      {
        name: 'a value below the minimum notional',
        req: { amount: 0.0001, price: 100 },
        error: InvalidOrderError,
      },
      { name: 'a limit without a price', req: { price: undefined }, error: InvalidOrderError },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const before = structuredClone(start);
        expect(
          thrown(() => place(start, request({ clientOrderId: 'x', ...c.req }), ticker(99, 101))),
        ).to.be.instanceOf(c.error);
        expect(start).to.deep.equal(before);
      });
    }

    it("a market order below the market's own minimum (MARKET_LOT_SIZE minQty); off its step it is floored to it", () => {
      const lotted: Market = { ...MARKET, marketLot: { step: 0.01, min: 0.05 } };
      const sell = (amount: number, type: 'market' | 'limit' = 'market') =>
        request({ clientOrderId: 'x', side: 'sell', type, amount });
      expect(thrown(() => sizeOrder(sell(0.0499), lotted))).to.be.instanceOf(InvalidOrderError);
      expect(sizeOrder(sell(0.0599), lotted)).to.deep.equal({ amount: 0.05 });
      // a limit order has every order's rules only
      expect(sizeOrder(sell(0.0499, 'limit'), lotted)).to.include({ amount: 0.0499 });
    });

    it('a second create with a known clientOrderId', () => {
      const { account } = place(
        newPaperAccount({ USDT: 1000 }),
        request({ clientOrderId: 'c1' }),
        ticker(101, 102),
      );
      const err = thrown(() => refuseDuplicate(account, request({ clientOrderId: 'c1' })));
      expect(err).to.be.instanceOf(InvalidOrderError);
      expect((err as InvalidOrderError).message).to.equal('duplicate clientOrderId');
    });
  });

  describe('resting orders over the periods that passed', () => {
    const rested = place(
      newPaperAccount({ USDT: 1000 }),
      request({ clientOrderId: 'c1', amount: 1, price: 100 }),
      ticker(101, 102),
    );
    const order = rested.account.orders[rested.orderId];

    it('fills at its limit in the first period whose range crossed it, and no earlier', () => {
      const ranges = [range(101, 100.5, 101), range(102, 99.5, 100.2, 99.4, 99.6)];
      const match = matchRestingOrder(order, ranges, MARKET, RULES, 103);
      expect(match.fills).to.deep.equal([
        { orderId: order.id, amount: 1, price: 99.6, time: NOW + 102, bucket: 102 },
      ]);
      expect(match.checkedBucket).to.equal(102);
    });

    it('fills at most one slice per period when it is worth more than partialFillNotional', () => {
      const rules = { ...RULES, partialFillNotional: 40 };
      const ranges = [
        range(101, 99, 99.5, 99, 100.5),
        range(102, 99, 99.5, 99, 100.5),
        range(103, 99, 99.5, 99, 100.5),
      ];
      const match = matchRestingOrder(order, ranges, MARKET, rules, 104);
      expect(match.fills.map((f) => f.amount)).to.deep.equal([0.4, 0.4, 0.2]);
      expect(match.fills.map((f) => f.bucket)).to.deep.equal([101, 102, 103]);
      const next = applyMatches(rested.account, [match], MARKETS, rules)!;
      expect(next.orders[order.id].status).to.equal('closed');
      expect(next.balances.USDT.used).to.equal(0);
      expect(next.balances.BTC.free).to.equal(1);
    });

    it('moves its matched period on without a fill, and changes nothing when there is nothing to apply', () => {
      const match = matchRestingOrder(order, [range(101, 101, 102)], MARKET, RULES, 102);
      expect(match).to.deep.equal({ orderId: order.id, fills: [], checkedBucket: 101 });
      expect(applyMatches(rested.account, [match], MARKETS, RULES)!.orders[order.id].checkedBucket).to.equal(
        101,
      );
      const idle = matchRestingOrder(order, [], MARKET, RULES, BUCKET + 1);
      expect(applyMatches(rested.account, [idle], MARKETS, RULES)).to.equal(undefined);
    });
  });

  describe("periods that did not reach an order's price are not walked", () => {
    const WALK_ALL = { lowestAsk: -Infinity, highestBid: Infinity };

    it('the reach of a range list is that of its completed periods, the running one left out', () => {
      const ranges = [range(101, 99, 101), range(102, 98.5, 100.5), range(103, 90, 110)];
      expect(rangeReach(ranges, 103)).to.deep.equal({ lowestAsk: 98.5, highestBid: 101 });
      expect(rangeReach([], 103)).to.deep.equal({ lowestAsk: Infinity, highestBid: -Infinity });
    });

    it('matches every order as a walk over each period does (buys and sells, partly filled, a running period)', () => {
      // prices on a coarse grid: an order's limit often equals a period's lowest ask or highest bid (which crosses it)
      const priceArb = fc.integer({ min: 376, max: 424 }).map((n) => n / 4);
      const rangeArb = fc
        .record({ a: fc.integer({ min: 380, max: 420 }), b: fc.integer({ min: 380, max: 420 }) })
        .map(({ a, b }) => [Math.min(a, b) / 4, Math.max(a, b) / 4]);
      fc.assert(
        fc.property(
          fc.constantFrom('buy' as const, 'sell' as const),
          priceArb,
          fc.integer({ min: 0, max: 3 }),
          fc.array(rangeArb, { maxLength: 8 }),
          fc.integer({ min: 0, max: 8 }),
          fc.boolean(),
          (side, price, lastFillBack, lows, running, partial) => {
            const placed = place(
              newPaperAccount({ USDT: 100_000, BTC: 100 }),
              request({ clientOrderId: 'c1', side, amount: 1, price }),
              ticker(90, 110),
            );
            const resting = placed.account.orders[placed.orderId];
            const order = { ...resting, lastFillBucket: BUCKET - lastFillBack, filled: partial ? 0.25 : 0 };
            const ranges = lows.map(([low, high], i) => range(BUCKET + 1 + i, low, high, low, high));
            const current = BUCKET + 1 + Math.min(running, lows.length);
            const rules = { ...RULES, partialFillNotional: partial ? 40 : RULES.partialFillNotional };
            expect(matchRestingOrder(order, ranges, MARKET, rules, current)).to.deep.equal(
              matchRestingOrder(order, ranges, MARKET, rules, current, WALK_ALL),
            );
          },
        ),
        { numRuns: 500 },
      );
    });
  });

  describe('fills that do not depend on when the account is looked at', () => {
    /** A completed period of the path: its range and closing quote (as the feed lists it). */
    const periodArb = fc
      .record({
        a: fc.integer({ min: 9_500, max: 10_500 }),
        b: fc.integer({ min: 9_500, max: 10_500 }),
        close: fc.double({ min: 0, max: 1, noNaN: true }),
        // where in the period a look lands, and the quote then (somewhere in its range)
        lookAt: fc.double({ min: 0, max: 0.999, noNaN: true }),
        quoteAt: fc.double({ min: 0, max: 1, noNaN: true }),
      })
      .map(({ a, b, close, lookAt, quoteAt }) => {
        const low = Math.min(a, b) / 100;
        const high = Math.max(a, b) / 100;
        return { low, high, close: low + (high - low) * close, lookAt, quote: low + (high - low) * quoteAt };
      });
    const orderArb = fc.record({
      side: fc.constantFrom('buy' as const, 'sell' as const),
      amount: fc.integer({ min: 600, max: 20_000 }).map((n) => n / 10_000), // worth at least the minimum (5)
      price: fc.integer({ min: 9_600, max: 10_400 }).map((n) => n / 100),
    });
    type Period = { low: number; high: number; close: number; lookAt: number; quote: number };
    const SPAN = 1_000; // ms per period in this test: a period's range ends at (bucket + 1) · SPAN

    /**
     * Places the orders in period BUCKET at a quote above (below) every buy (sell) limit, then looks in the periods
     * of `looks` (and once after the last period): each look is shown the completed periods it has not matched and,
     * as a feed that knows the live quote would, the running period's quote at that moment. Returns every fill.
     */
    function fillsFor(
      orders: Array<{ side: 'buy' | 'sell'; amount: number; price: number }>,
      path: Period[],
      looks: ReadonlySet<number>,
      rules: MatchingRules,
    ): Array<[string, number, number, number, number]> {
      let account = newPaperAccount({ USDT: 100_000, BTC: 100 });
      for (const [i, o] of orders.entries()) {
        const req = request({ clientOrderId: `c${i}`, side: o.side, amount: o.amount, price: o.price });
        account = place(account, req, ticker(95, 105), rules, NOW, BUCKET).account;
      }
      const completed = (b: number): PriceRange => {
        const p = path[b - BUCKET - 1];
        return {
          bucket: b,
          lowestAsk: p.low,
          highestBid: p.high,
          bid: p.close,
          ask: p.close,
          time: (b + 1) * SPAN,
        };
      };
      const lookBuckets = [...looks].filter((b) => b <= path.length).map((b) => BUCKET + 1 + b);
      for (const current of [...lookBuckets, BUCKET + path.length + 1]) {
        const p = path[current - BUCKET - 1];
        const running: PriceRange[] = p
          ? [
              {
                bucket: current,
                lowestAsk: p.quote,
                highestBid: p.quote,
                bid: p.quote,
                ask: p.quote,
                time: (current + p.lookAt) * SPAN,
              },
            ]
          : [];
        const matches = openOrders(account).map((o) => {
          const ranges: PriceRange[] = [];
          for (let b = o.checkedBucket + 1; b < current; b += 1) ranges.push(completed(b));
          return matchRestingOrder(o, [...ranges, ...running], MARKET, rules, current);
        });
        account = applyMatches(account, matches, MARKETS, rules) ?? account;
      }
      return Object.values(account.orders).flatMap((o) =>
        o.trades.map((t): [string, number, number, number, number] => [
          o.clientOrderId,
          t.price,
          t.amount,
          t.timestamp,
          t.fee.cost,
        ]),
      );
    }

    it('one price path, any look schedule (a look anywhere in a period, shown the quote of that moment) → the same fills: price, amount, time, fee', () => {
      fc.assert(
        fc.property(
          fc.array(orderArb, { minLength: 1, maxLength: 5 }),
          fc.array(periodArb, { minLength: 1, maxLength: 25 }),
          fc.uniqueArray(fc.nat({ max: 25 })),
          fc.constantFrom(40, 200, 1e9),
          (orders, path, looks, partialFillNotional) => {
            const rules = { ...RULES, partialFillNotional };
            const once = fillsFor(orders, path, new Set(), rules);
            const everyPeriod = fillsFor(orders, path, new Set(path.map((_, i) => i)), rules);
            expect(everyPeriod, 'looked at in every period').to.deep.equal(once);
            expect(fillsFor(orders, path, new Set(looks), rules), 'looked at in some').to.deep.equal(once);
          },
        ),
        { numRuns: 300 },
      );
    });
  });

  /** `n` market orders m0…m(n-1), each filled (closed) at once. */
  function withMarketOrders(account: PaperAccount, n: number, rules: typeof RULES): PaperAccount {
    for (let i = 0; i < n; i += 1) {
      account = place(
        account,
        request({ clientOrderId: `m${i}`, type: 'market' }),
        ticker(99, 101),
        rules,
      ).account;
    }
    return account;
  }

  it('keeps only the newest closed orders, never an open one', () => {
    let account = newPaperAccount({ USDT: 10_000 });
    const rules = { ...RULES, retainClosedOrders: 2 };
    const resting = place(account, request({ clientOrderId: 'open', price: 90 }), ticker(99, 101), rules);
    account = resting.account;
    account = withMarketOrders(account, 4, rules);
    expect(Object.values(account.orders).map((o) => o.clientOrderId)).to.have.members(['open', 'm2', 'm3']);
    expect(Object.keys(account.byClientId)).to.have.members(['open', 'm2', 'm3']);
  });

  it('an old resting order that fills after newer ones closed is kept: pruned by when they closed, not by id', () => {
    let account = newPaperAccount({ USDT: 10_000 });
    const rules = { ...RULES, retainClosedOrders: 2 };
    const resting = place(account, request({ clientOrderId: 'old', price: 100 }), ticker(101, 102), rules);
    account = resting.account;
    account = withMarketOrders(account, 3, rules);
    const old = account.orders[resting.orderId];
    const match = matchRestingOrder(old, [range(101, 99.5, 100.2, 99.4, 99.6)], MARKET, rules, 102);
    const next = applyMatches(account, [match], MARKETS, rules)!;
    // before: deleted in the step that filled it (the lowest id), its lookup "order does not exist"
    expect(next.orders[resting.orderId]?.status).to.equal('closed');
    expect(next.byClientId.old).to.equal(resting.orderId);
    expect(Object.values(next.orders).filter((o) => o.status !== 'open')).to.have.length(2);
  });

  it('sizes a slice: all of it up to partialFillNotional, else the cap’s amount floored, never below one step', () => {
    expect(sliceAmount(1, 100, MARKET, 1000)).to.equal(1);
    expect(sliceAmount(1, 100, MARKET, 33)).to.equal(0.33);
    expect(sliceAmount(1, 1e6, MARKET, 1)).to.equal(MARKET.amountStep);
  });

  describe('properties over random order flows', () => {
    type Op =
      | { kind: 'order'; side: 'buy' | 'sell'; type: 'market' | 'limit'; amount: number; offset: number }
      | { kind: 'cancel'; pick: number }
      | { kind: 'period'; low: number; high: number };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        kind: fc.constant('order' as const),
        side: fc.constantFrom('buy' as const, 'sell' as const),
        type: fc.constantFrom('market' as const, 'limit' as const),
        amount: fc.integer({ min: 1, max: 30_000 }).map((n) => n / 10_000),
        offset: fc.integer({ min: -500, max: 500 }).map((n) => n / 100),
      }),
      fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }),
      fc.record({
        kind: fc.constant('period' as const),
        low: fc.integer({ min: 9_000, max: 10_100 }).map((n) => n / 100),
        high: fc.integer({ min: 9_900, max: 11_000 }).map((n) => n / 100),
      }),
    );
    const rulesArb = fc.record({
      feeRate: fc.constantFrom(0, 0.001, 0.0075),
      slippageBps: fc.constantFrom(0, 5, 50),
      partialFillNotional: fc.constantFrom(20, 100, 1e9),
      // retention drops trades from the file (tested above), which the balance check below reads
      retainClosedOrders: fc.constant(500),
    });

    /** Runs the ops; after each, checks the invariants and that the input account was left as it was. */
    function run(rules: MatchingRules, ops: Op[]): void {
      let account = newPaperAccount({ USDT: 1000, BTC: 2 });
      let bucket = BUCKET;
      let mid = 100;
      let base = 2;
      let quote = 1000;
      const tradesSeen = new Set<string>();
      const account_ = (next: PaperAccount): void => {
        // every new trade moves the balances by exactly its amount, cost and fee
        for (const o of Object.values(next.orders)) {
          for (const t of o.trades) {
            if (tradesSeen.has(t.id)) continue;
            tradesSeen.add(t.id);
            base += t.side === 'buy' ? t.amount : -t.amount;
            quote += t.side === 'buy' ? -(t.cost + t.fee.cost) : t.cost - t.fee.cost;
          }
        }
        account = next;
      };
      for (const op of ops) {
        const previous = account;
        const before = structuredClone(account);
        const quoteNow = ticker(mid - 0.5, mid + 0.5);
        if (op.kind === 'order') {
          const req = request({
            clientOrderId: `c${bucket}-${Object.keys(account.byClientId).length}`,
            side: op.side,
            type: op.type,
            amount: op.amount,
            price: op.type === 'limit' ? mid + op.offset : undefined,
          });
          try {
            account_(place(account, req, quoteNow, rules, NOW + bucket, bucket).account);
          } catch (err) {
            if (!(err instanceof InsufficientFundsError || err instanceof InvalidOrderError)) throw err;
          }
        } else if (op.kind === 'cancel') {
          const open = openOrders(account);
          if (open.length > 0) account_(cancelOrder(account, open[op.pick % open.length].id, MARKET.symbol));
        } else {
          bucket += 1;
          const low = Math.min(op.low, op.high);
          const high = Math.max(op.low, op.high);
          mid = (low + high) / 2;
          const r = range(bucket, low, high, mid - 0.5, mid + 0.5);
          const matches = openOrders(account)
            .filter((o) => o.type === 'limit')
            .map((o) =>
              matchRestingOrder(
                o,
                [r].filter((x) => x.bucket > o.checkedBucket),
                MARKET,
                rules,
                bucket + 1,
              ),
            );
          const next = applyMatches(account, matches, MARKETS, rules);
          if (next) account_(next);
        }
        expect(previous, 'the input account is never changed').to.deep.equal(before);
        invariants(account, rules);
        expect(account.balances.BTC.free + account.balances.BTC.used).to.be.closeTo(Math.max(0, base), 1e-6);
        expect(account.balances.USDT.free + account.balances.USDT.used).to.be.closeTo(
          Math.max(0, quote),
          1e-6,
        );
      }
    }

    function invariants(account: PaperAccount, rules: MatchingRules): void {
      const held: Record<string, number> = {};
      for (const o of Object.values(account.orders)) {
        expect(o.filled).to.be.at.most(o.amount + 1e-12);
        expect(o.reserved.amount).to.be.at.least(0);
        if (o.status !== 'open') expect(o.reserved.amount, 'a final order holds nothing').to.equal(0);
        if (o.status === 'closed') expect(o.filled).to.be.closeTo(o.amount, 1e-12);
        held[o.reserved.currency] = (held[o.reserved.currency] ?? 0) + o.reserved.amount;
        expect(account.byClientId[o.clientOrderId]).to.equal(o.id);
      }
      for (const [currency, b] of Object.entries(account.balances)) {
        expect(b.free, `${currency} free`).to.be.at.least(0);
        expect(b.used, `${currency} used = what open orders hold`).to.be.closeTo(held[currency] ?? 0, 1e-6);
      }
      expect(Object.values(account.orders).filter((o) => o.status !== 'open').length).to.be.at.most(
        rules.retainClosedOrders,
      );
    }

    it('balances never go negative, held funds are what open orders hold, every fill moves them exactly, inputs stay unchanged', () => {
      fc.assert(
        fc.property(rulesArb, fc.array(opArb, { maxLength: 40 }), (rules, ops) => run(rules, ops)),
        { numRuns: 200 },
      );
    });

    it('an input account is never changed, even by the transition that refused', () => {
      const start = newPaperAccount({ USDT: 1000 });
      const frozen = structuredClone(start);
      const placed = place(start, request({ clientOrderId: 'c1', amount: 1, price: 100 }), ticker(101, 102));
      const afterPlace = structuredClone(placed.account);
      const match = matchRestingOrder(
        placed.account.orders[placed.orderId],
        [range(101, 99, 100)],
        MARKET,
        RULES,
        102,
      );
      applyMatches(placed.account, [match], MARKETS, RULES);
      cancelOrder(placed.account, placed.orderId, MARKET.symbol);
      expect(start).to.deep.equal(frozen);
      expect(placed.account).to.deep.equal(afterPlace);
    });
  });
});
