/**
 * Review 31m, finding 1b (MEDIUM, same cause as settle-fee-covered-live.test.ts): the answer's fees an order keeps
 * (order-state.ts `answerFees`) stay those of an EARLIER answer when a later one says more filled but no fee — and
 * Binance's order read never says one (GET /api/v3/order has no fills or commission; only the create's FULL answer
 * carries `fills[]` with each `commission`, which ccxt's binance parseOrder turns into the order's `fees`). A limit
 * buy that takes part of the book at once (FULL answer: PARTIALLY_FILLED with its fills), then fills the rest while
 * resting, read by GET /api/v3/order as FILLED: its answer fees are still the first part's. Should its trade list
 * fall short (fills-from-order.ts), the rest is booked with that fee LESS what the booked fills paid — 0 — and the
 * position is gross by the rest's fee: the exit sells it from the owner's coins.
 *
 * Fixed: an order keeps its answer's fees with the executed amount they were said for (`answerFeesFilled`); the part
 * beyond it is estimated at the taker rate (fills-from-order.ts `feeOfRest`).
 *
 * The decision as fill-sync.ts takes it: the answers applied as order-answers.ts applies them (applyExchangeOrder),
 * the rest from `fillsFromOrder`, its fee from `feeOfRest` with the order's `answerFees`.
 */
import { expect } from 'chai';
import {
  answerFeesOf,
  feeOfRest,
  fillsFromOrder,
  FILLS_FROM_ORDER_AFTER_MS,
} from '../../../src/trading/engine/books/fills-from-order';
import { applyExchangeOrder, type LocalOrder } from '../../../src/trading/engine/orders/order-state';
import type { Fill } from '../../../src/trading/engine/books/pnl';
import type { ExchangeOrder } from '../../../src/trading/exchange/exchange';

describe('the fee of the rest of a buy whose last answer with fees was an earlier, smaller one', () => {
  const AT = 1_800_000_000_000;
  const spec = {
    symbol: 'BTC/USDT',
    side: 'buy' as const,
    type: 'limit' as const,
    amount: 0.01,
    price: 50_000,
  };

  it("books the rest's fee in the coin received, never 0", () => {
    let order: LocalOrder = {
      ...spec,
      clientOrderId: 'bot-tst000-1',
      filled: 0,
      status: 'intent',
      purpose: 'entry',
      reason: 'review 31m',
      createdAt: AT,
      updatedAt: AT,
      sentAt: AT,
      fills: [],
    };
    // the create's FULL answer: 0.004 taken from the book at once, its commission 0.000004 BTC (ccxt: `fees`)
    const created: ExchangeOrder = {
      ...spec,
      id: '42',
      clientOrderId: 'bot-tst000-1',
      filled: 0.004,
      remaining: 0.006,
      average: 50_000,
      status: 'open',
      timestamp: AT,
      fees: [{ cost: 0.000004, currency: 'BTC' }],
    };
    order = applyExchangeOrder(order, created, AT);
    const first: Fill = {
      orderId: '42',
      clientOrderId: 'bot-tst000-1',
      tradeId: '1001',
      symbol: 'BTC/USDT',
      side: 'buy',
      price: 50_000,
      amount: 0.004,
      feeCost: 0.000004,
      feeCurrency: 'BTC',
      timestamp: AT,
    };
    order = { ...order, fills: [first] };
    // GET /api/v3/order later: FILLED, no fills, no commission (ccxt: no `fees`)
    const read: ExchangeOrder = { ...created, filled: 0.01, remaining: 0, status: 'closed', fees: undefined };
    order = applyExchangeOrder(order, read, AT + 60_000);
    expect(order.status).to.equal('filled');
    // the trade list brings only the first trade, minutes on
    const decision = fillsFromOrder(order, AT + 60_000 + FILLS_FROM_ORDER_AFTER_MS);
    expect(decision.kind).to.equal('book');
    const rest = decision as { kind: 'book'; amount: number; price: number };
    const fee = feeOfRest(order, rest.amount, rest.price, answerFeesOf(order), 0.001, 'base');
    expect(fee.currency).to.equal('BTC');
    expect(
      fee.cost,
      `the rest (${rest.amount} BTC) booked with fee ${fee.cost} ${fee.currency} (from the answer of 0.004 filled)`,
    ).to.be.at.least(rest.amount * 0.001 - 1e-15);
  });
});
