/**
 * The one LocalOrder factory of the tests: an order's full field set written once, so a test states only what its
 * behaviour is about and a new required field of LocalOrder is added here, not in every test file.
 */
import type { LocalOrder } from '../../src/trading/engine/orders/order-state';

/** A market buy entry of 1 BTC/USDT as its write-ahead intent left it at time 0 (`bot-1`), with `over` applied. */
export function localOrder(over: Partial<LocalOrder> = {}): LocalOrder {
  return {
    clientOrderId: 'bot-1',
    symbol: 'BTC/USDT',
    side: 'buy',
    type: 'market',
    amount: 1,
    filled: 0,
    status: 'intent',
    purpose: 'entry',
    createdAt: 0,
    updatedAt: 0,
    fills: [],
    ...over,
  };
}
