/**
 * Pure: when the fill sync reads a final order's trades once more without a time span (a span from a creation
 * recorded off the exchange's clock missed them).
 */
import { expect } from 'chai';
import { readAgainWithoutSpan, SPANLESS_TRADES_REACH_MS } from '../../../src/trading/engine/books/fill-sync';
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
