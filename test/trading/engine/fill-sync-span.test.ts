/**
 * Pure: when the fill sync reads a final order's trades once more without a time span (a span from a creation
 * recorded off the exchange's clock missed them).
 */
import { expect } from 'chai';
import {
  holdsAnything,
  readAgainWithoutSpan,
  SPANLESS_TRADES_REACH_MS,
} from '../../../src/trading/engine/fill-sync';
import { emptyBook } from '../../../src/trading/engine/pnl';
import type { ExchangeTrade } from '../../../src/trading/exchange/exchange';
import { filledOrder } from '../../support/trading-stub';

describe('fill sync: an order read again without a span', () => {
  const AT = 1_000_000_000;
  const order = filledOrder('e1', 'BTC/USDT', 'buy', 0.002, 60_000, AT);
  const trade = (amount: number, orderId = order.exchangeOrderId!): ExchangeTrade => ({
    id: `t${amount}`,
    orderId,
    symbol: 'BTC/USDT',
    side: 'buy',
    price: 60_000,
    amount,
    cost: amount * 60_000,
    fee: { cost: 0, currency: 'BTC' },
    timestamp: AT,
  });

  it('a final order whose trades read add up to less than it filled, younger than 7 days', () => {
    expect(readAgainWithoutSpan(order, [], AT + 1_000)).to.equal(true);
    expect(readAgainWithoutSpan(order, [trade(0.001)], AT + 1_000)).to.equal(true);
    expect(readAgainWithoutSpan(order, [trade(0.002, 'other')], AT + 1_000)).to.equal(true);
  });

  it('not when the trades cover it, the order is not final, or older than such a read reaches', () => {
    expect(readAgainWithoutSpan(order, [trade(0.001), trade(0.001 - 1e-13)], AT + 1_000)).to.equal(false);
    expect(readAgainWithoutSpan({ ...order, status: 'partially_filled' }, [], AT + 1_000)).to.equal(false);
    expect(readAgainWithoutSpan(order, [], AT + SPANLESS_TRADES_REACH_MS)).to.equal(false);
  });
});

describe('the state holds something to protect (holdsAnything: a start with a config problem goes on for it)', () => {
  const AT = 1_000_000_000;
  const buy = filledOrder('b1', 'BTC/USDT', 'buy', 0.002, 60_000, AT);
  const sell = filledOrder('s1', 'BTC/USDT', 'sell', 0.002, 61_000, AT + 1);

  it('an open position (in the fills or the checkpoint), or an order that still needs the exchange', () => {
    expect(holdsAnything({ orders: { b1: buy }, checkpoint: {} }, 'trade-id')).to.equal(true);
    const book = { ...emptyBook('ETH/USDT'), amount: 0.5, costBasis: 1_000, openedAt: AT };
    expect(holdsAnything({ orders: {}, checkpoint: { 'ETH/USDT': book } }, 'trade-id')).to.equal(true);
    const working = { ...buy, status: 'open' as const, filled: 0, fills: [] };
    expect(holdsAnything({ orders: { b1: working }, checkpoint: {} }, 'trade-id')).to.equal(true);
  });

  it('not a round trip closed, nor nothing at all', () => {
    expect(holdsAnything({ orders: { b1: buy, s1: sell }, checkpoint: {} }, 'trade-id')).to.equal(false);
    expect(holdsAnything({ orders: {}, checkpoint: {} }, 'trade-id')).to.equal(false);
  });
});
