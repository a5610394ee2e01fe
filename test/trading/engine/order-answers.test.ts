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

  it("a stop-loss repeats only a protective exit's refusal: refused as the entry before it, it is still told", () => {
    const entry = order('a', {
      refused: true,
      error: "not sent: the exchange's request pacing would hold it",
    });
    const stop = order('b', { purpose: 'stop-loss', side: 'sell', refused: true, error: entry.error });
    expect(lastRefusal([entry, stop], stop)).to.equal(undefined);
    const again = order('c', { purpose: 'stop-loss', side: 'sell', refused: true, error: entry.error });
    expect(lastRefusal([entry, stop, again], again)).to.equal(stop);
    // and an entry after a refused stop-loss looks past it, to the entry's refusal
    const entryAgain = order('d', { refused: true, error: entry.error });
    expect(lastRefusal([entry, stop, entryAgain], entryAgain)).to.equal(entry);
  });
});
