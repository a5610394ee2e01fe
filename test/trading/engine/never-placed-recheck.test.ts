import { expect } from 'chai';
import {
  declaredNeverPlaced,
  nextRecheckAt,
  stillRechecked,
} from '../../../src/trading/engine/orders/never-placed-recheck';
import type { LocalOrder } from '../../../src/trading/engine/orders/order-state';
import { localOrder } from '../../support/local-order';

const rule = { baseDelayMs: 60_000, maxDelayMs: 3_600_000, horizonMs: 86_400_000 };
const rejected = (over: Partial<LocalOrder> = {}): LocalOrder =>
  localOrder({ side: 'sell', status: 'rejected', purpose: 'exit', updatedAt: 1_000, ...over });

describe('orders declared never placed: which are looked up again, and when (pure)', () => {
  it('rechecks only our own inference: never a refusal the exchange sent, nor an order it acknowledged', () => {
    expect(declaredNeverPlaced(rejected())).to.equal(true);
    expect(declaredNeverPlaced(rejected({ refused: true }))).to.equal(false);
    // an intent that could not be saved was never sent: the exchange cannot have it
    expect(declaredNeverPlaced(rejected({ neverSent: true }))).to.equal(false);
    expect(declaredNeverPlaced(rejected({ exchangeOrderId: 'x-1' }))).to.equal(false);
    expect(declaredNeverPlaced(rejected({ status: 'cancelled' }))).to.equal(false);
  });

  it('looks up for a day after the verdict, then no more', () => {
    expect(stillRechecked(rejected(), rule, 1_000 + rule.horizonMs - 1)).to.equal(true);
    expect(stillRechecked(rejected(), rule, 1_000 + rule.horizonMs)).to.equal(false);
  });

  it('widens the wait between lookups from the not-found window, doubling, up to an hour', () => {
    const waits = [0, 1, 2, 3, 5, 6, 7, 20].map((n) => nextRecheckAt(0, n, rule));
    expect(waits).to.deep.equal([
      60_000, 120_000, 240_000, 480_000, 1_920_000, 3_600_000, 3_600_000, 3_600_000,
    ]);
    // about 30 lookups per order over the day: well inside any exchange's rate limit
    let at = 0;
    let lookups = 0;
    while ((at = nextRecheckAt(at, lookups, rule)) < rule.horizonMs) lookups++;
    expect(lookups).to.be.within(25, 35);
  });
});
