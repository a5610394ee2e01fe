import { expect } from 'chai';
import {
  positionChangeEvents,
  statusChangeEvents,
  takenBackEvent,
} from '../../../src/trading/engine/orders/order-events';
import type { LocalOrder } from '../../../src/trading/engine/orders/order-state';
import { emptyBook } from '../../../src/trading/engine/books/pnl';
import { intent } from '../../support/engine-harness';
import { BTC_MARKET } from '../../support/risk-fixtures';

const base = intent('bot-1');

describe('order events (pure, computed before the commit that records them)', () => {
  it('an order placed and filled at once reports placed then filled, with a readable price', () => {
    const after: LocalOrder = { ...base, status: 'filled', filled: 0.001, averagePrice: 62035.53999999999 };
    const events = statusChangeEvents(base, after);
    expect(events.map((e) => e.type)).to.deep.equal(['order.placed', 'order.filled']);
    expect(events[1].summary).to.equal('Order filled: buy 0.001 BTC/USDT (entry, bot-1) at 62035.54');
    expect(events[1].data).to.include({ clientOrderId: 'bot-1', status: 'filled', from: 'intent' });
  });

  it('an order taken back says the position it leaves: grown by its fill, the replacement maybe held too', () => {
    const declared: LocalOrder = { ...base, status: 'rejected' };
    const remote = { id: '77', clientOrderId: 'bot-1', symbol: 'BTC/USDT', status: 'closed', filled: 0.001 };
    const ev = takenBackEvent(declared, remote as never, 0.001);
    expect(ev.summary).to.contain('The BTC/USDT position grows by its fill 0.001 to about 0.002 (was 0.001)');
    expect(ev.summary).to.contain('the bot now holds both');
    expect(ev.data).to.include({ positionBefore: 0.001, positionAfter: 0.002, filled: 0.001 });
    // nothing filled: nothing to say of the position
    expect(takenBackEvent(declared, { ...remote, filled: 0 } as never, 0).summary).to.not.contain('position');
  });

  it('reports nothing when the status and the filled amount did not change', () => {
    const open: LocalOrder = { ...base, status: 'open' };
    expect(statusChangeEvents(open, { ...open, updatedAt: 5 })).to.deep.equal([]);
  });

  it('a position that goes flat reports closed with its trip PnL', () => {
    const before = { ...emptyBook('BTC/USDT'), amount: 1, costBasis: 100 };
    const after = { ...emptyBook('BTC/USDT'), amount: 0, tripRealizedPnl: 12.5, feesPaid: 0.2 };
    const [closed] = positionChangeEvents('BTC/USDT', undefined, before, after, 60_000);
    expect(closed).to.deep.include({
      type: 'position.closed',
      summary: 'Position closed: BTC/USDT, PnL +12.50',
    });
    expect(positionChangeEvents('BTC/USDT', undefined, after, after, 60_000)).to.deep.equal([]);
  });

  it('reports no position for dust worth less than the minimum order value at the fill price', () => {
    const dust = { ...emptyBook('BTC/USDT'), amount: 0.00003, costBasis: 1.8 };
    expect(positionChangeEvents('BTC/USDT', BTC_MARKET, undefined, dust, 60_000)).to.deep.equal([]);
    const real = { ...dust, amount: 0.00169, costBasis: 101.4 };
    expect(positionChangeEvents('BTC/USDT', BTC_MARKET, dust, real, 60_000).map((e) => e.type)).to.deep.equal(
      ['position.opened'],
    );
    expect(positionChangeEvents('BTC/USDT', BTC_MARKET, real, dust, 60_000).map((e) => e.type)).to.deep.equal(
      ['position.closed'],
    );
  });
});
