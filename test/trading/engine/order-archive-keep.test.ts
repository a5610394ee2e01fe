import { expect } from 'chai';
import { keptHot } from '../../../src/trading/engine/state/order-archive';
import type { LocalOrder } from '../../../src/trading/engine/orders/order-state';
import { localOrder } from '../../support/local-order';

const rules = {
  recheckRule: { baseDelayMs: 60_000, maxDelayMs: 3_600_000, horizonMs: 86_400_000 },
  limitOrderTtlMs: 60_000,
};

let seq = 0;
function order(over: Partial<LocalOrder>): LocalOrder {
  seq++;
  return localOrder({
    clientOrderId: `bot-${seq}`,
    exchangeOrderId: `x-${seq}`,
    side: 'sell',
    type: 'limit',
    status: 'cancelled',
    purpose: 'exit',
    createdAt: seq * 100_000,
    updatedAt: seq * 100_000 + 60_000,
    ...over,
  });
}

describe('which final orders stay hot whatever their age (keptHot, pure)', () => {
  it("keeps an open position's missed strategy exits (the exit they stand for is placed again from them)", () => {
    const entry = order({ side: 'buy', purpose: 'entry', status: 'filled', filled: 1 });
    const missed1 = order({}); // cancelled at its time to live before it filled
    const missed2 = order({ refused: true, status: 'rejected', exchangeOrderId: undefined });
    const keep = keptHot([entry, missed1, missed2], ['BTC/USDT'], rules, 10_000_000);
    expect([entry, missed1, missed2].map(keep)).to.deep.equal([false, true, true]);
  });

  it('keeps no missed exit of a symbol without an open position, and only the chain after the latest other order', () => {
    const missedBefore = order({});
    const stopLoss = order({ purpose: 'stop-loss', status: 'filled', filled: 1, type: 'market' });
    const missedAfter = order({});
    const eth = order({ symbol: 'ETH/USDT' });
    const hot = [missedBefore, stopLoss, missedAfter, eth];
    const keep = keptHot(hot, ['BTC/USDT'], rules, 10_000_000);
    expect(hot.map(keep)).to.deep.equal([false, false, true, false]);
    // the hot state's orders in any order: the chain is judged by creation time
    expect(hot.map(keptHot([...hot].reverse(), ['BTC/USDT'], rules, 10_000_000))).to.deep.equal([
      false,
      false,
      true,
      false,
    ]);
    expect(hot.map(keptHot(hot, [], rules, 10_000_000))).to.deep.equal([false, false, false, false]);
  });

  it('leaves the working exit out of the chain: only final orders count', () => {
    const missed = order({});
    const working = order({ status: 'open', updatedAt: 0 });
    const keep = keptHot([missed, working], ['BTC/USDT'], rules, 10_000_000);
    expect(keep(missed)).to.equal(true);
  });

  it('keeps an order declared never placed while it is still looked up again, then lets it go', () => {
    const neverPlaced = order({
      purpose: 'entry',
      side: 'buy',
      status: 'rejected',
      exchangeOrderId: undefined,
      updatedAt: 1_000,
    });
    expect(keptHot([neverPlaced], [], rules, 1_000 + rules.recheckRule.horizonMs - 1)(neverPlaced)).to.equal(
      true,
    );
    expect(keptHot([neverPlaced], [], rules, 1_000 + rules.recheckRule.horizonMs)(neverPlaced)).to.equal(
      false,
    );
  });
});
