/**
 * What a state holds open (open-holdings.ts): a start whose configuration only stops the strategy goes on for it;
 * archive refuses it (with market rules, dust left out: test/cli/state-archive.test.ts).
 */
import { expect } from 'chai';
import { holdsAnything, openHoldings } from '../../../src/trading/engine/books/open-holdings';
import { emptyBook } from '../../../src/trading/engine/books/pnl';
import { filledOrder } from '../../support/trading-stub';

describe('the state holds something to protect (openHoldings without market rules: a start with a config problem goes on for it)', () => {
  const AT = 1_000_000_000;
  const buy = filledOrder('b1', 'BTC/USDT', 'buy', 0.002, 60_000, AT);
  const sell = filledOrder('s1', 'BTC/USDT', 'sell', 0.002, 61_000, AT + 1);

  it('an open position (in the fills or the checkpoint), or an order that still needs the exchange', () => {
    expect(holdsAnything(openHoldings({ orders: { b1: buy }, checkpoint: {} }, {}, 'trade-id'))).to.equal(
      true,
    );
    const book = { ...emptyBook('ETH/USDT'), amount: 0.5, costBasis: 1_000, openedAt: AT };
    expect(
      holdsAnything(openHoldings({ orders: {}, checkpoint: { 'ETH/USDT': book } }, {}, 'trade-id')),
    ).to.equal(true);
    const working = { ...buy, status: 'open' as const, filled: 0, fills: [] };
    expect(holdsAnything(openHoldings({ orders: { b1: working }, checkpoint: {} }, {}, 'trade-id'))).to.equal(
      true,
    );
  });

  it('not a round trip closed, nor nothing at all', () => {
    expect(
      holdsAnything(openHoldings({ orders: { b1: buy, s1: sell }, checkpoint: {} }, {}, 'trade-id')),
    ).to.equal(false);
    expect(holdsAnything(openHoldings({ orders: {}, checkpoint: {} }, {}, 'trade-id'))).to.equal(false);
  });
});
