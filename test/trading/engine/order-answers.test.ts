import { expect } from 'chai';
import { lastRefusal } from '../../../src/trading/engine/orders/order-answers';
import type { LocalOrder } from '../../../src/trading/engine/orders/order-state';
import { localOrder } from '../../support/local-order';

function order(id: string, over: Partial<LocalOrder> = {}): LocalOrder {
  return localOrder({ clientOrderId: id, status: 'rejected', ...over });
}

describe("the refusal an order repeats (lastRefusal, pure): notified once, then 'repeated'", () => {
  it("is the symbol's latest order before it when that one was refused", () => {
    const refused = order('a', { refused: true, error: 'insufficient funds' });
    const now = order('b');
    expect(lastRefusal([refused, now], now)).to.equal(refused);
  });

  it('is none when the latest order of the symbol before it was not refused', () => {
    const refused = order('a', { refused: true });
    const filled = order('b', { status: 'filled', filled: 1 });
    const now = order('c');
    expect(lastRefusal([refused, filled, now], now)).to.equal(undefined);
  });

  it("looks at the order's own symbol only, and never at the order itself", () => {
    const refused = order('a', { refused: true });
    const eth = order('b', { symbol: 'ETH/USDT', status: 'filled' });
    const now = order('c', { refused: true });
    expect(lastRefusal([refused, eth, now], now)).to.equal(refused);
    expect(lastRefusal([now], now)).to.equal(undefined);
  });
});
