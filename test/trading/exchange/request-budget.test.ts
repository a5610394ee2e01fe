import { expect } from 'chai';
import fc from 'fast-check';
import { ccxtThrottle } from '../../../src/trading/exchange/ccxt-exchange';
import { binanceProfile } from '../../../src/trading/exchange/profiles/binance';
import { bybitProfile } from '../../../src/trading/exchange/profiles/bybit';
import { okxProfile } from '../../../src/trading/exchange/profiles/okx';

type Budget = NonNullable<typeof binanceProfile.requestWeight>;

/**
 * The most ccxt's leaky bucket (capacity, refill 1 cost unit per rateLimit ms, a request admitted while the bucket
 * is not in debt) lets through in one window, in the exchange's weight: the bucket's content, the refill over the
 * window, and the one request that may overdraw it.
 */
function mostAdmittedInWindow(budget: Budget): number {
  const t = ccxtThrottle(budget);
  const costUnits =
    t.tokenBucket.capacity + budget.windowMs / t.rateLimit + budget.heaviestRequest * budget.costPerWeight;
  return costUnits / budget.costPerWeight;
}

describe("ccxt's limiter set from an exchange's documented request weight", () => {
  it("Binance: start-up's burst goes out at once and no minute ever exceeds 6,000 weight", () => {
    const budget = binanceProfile.requestWeight!;
    expect(budget.limit).to.equal(6_000);
    const t = ccxtThrottle(budget);
    // a start with 5 symbols (markets 20, account 20, 5 × allOrders 20, openOrders of all symbols 80, balance 20)
    const start = 20 + 20 + 5 * 20 + 80 + 20;
    expect(t.tokenBucket.tokens * (1 / budget.costPerWeight)).to.be.at.least(start);
    expect(mostAdmittedInWindow(budget)).to.be.at.most(budget.limit + 1e-9);
  });

  it('never admits more than the limit in a window, whatever the budget', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 100_000 }),
        fc.double({ min: 0.01, max: 0.9, noNaN: true }),
        fc.double({ min: 0.01, max: 0.09, noNaN: true }),
        fc.constantFrom(0.2, 1, 0.5),
        fc.integer({ min: 1_000, max: 120_000 }),
        (limit, burstShare, heaviestShare, costPerWeight, windowMs) => {
          const budget = {
            limit,
            windowMs,
            costPerWeight,
            burst: limit * burstShare,
            heaviestRequest: limit * heaviestShare,
          };
          expect(mostAdmittedInWindow(budget)).to.be.at.most(limit * (1 + 1e-9));
        },
      ),
    );
  });

  it('refuses a budget whose burst and heaviest request leave nothing to spread over the window', () => {
    expect(() =>
      ccxtThrottle({ limit: 100, windowMs: 60_000, costPerWeight: 1, burst: 90, heaviestRequest: 10 }),
    ).to.throw(/no room/);
  });

  it('Bybit and OKX are paced per endpoint instead: their limits are per endpoint over 1 s and 2 s', () => {
    expect(bybitProfile.requestWeight).to.equal(undefined);
    expect(okxProfile.requestWeight).to.equal(undefined);
    expect(bybitProfile.endpointWindows).to.deep.include({ windowMs: 1_000 });
    expect(bybitProfile.endpointWindows?.overall).to.deep.equal({ requests: 600, windowMs: 5_000 });
    expect(okxProfile.endpointWindows).to.deep.include({ windowMs: 2_000 });
  });
});
