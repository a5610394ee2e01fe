import { expect } from 'chai';
import { statusChangeEvents } from '../../../src/trading/engine/orders/order-events';
import { applyExchangeOrder, type LocalOrder } from '../../../src/trading/engine/orders/order-state';
import { binanceProfile } from '../../../src/trading/exchange/profiles/binance';
import { bybitProfile } from '../../../src/trading/exchange/profiles/bybit';
import { okxProfile } from '../../../src/trading/exchange/profiles/okx';
import { intent } from '../../support/engine-harness';

describe('an order ended by self-trade prevention, as each exchange says it', () => {
  it("reads Binance's EXPIRED_IN_MATCH with its mode, and nothing else as one", () => {
    const read = binanceProfile.selfTradeEnd!;
    expect(read({ status: 'EXPIRED_IN_MATCH', selfTradePreventionMode: 'EXPIRE_BOTH' })).to.equal(
      'EXPIRED_IN_MATCH, selfTradePreventionMode EXPIRE_BOTH',
    );
    expect(read({ status: 'EXPIRED', selfTradePreventionMode: 'EXPIRE_MAKER' })).to.equal(undefined);
    expect(read({ status: 'CANCELED' })).to.equal(undefined);
  });

  it("reads Bybit's cancelType CancelBySmp with its smpType, and not the owner's own cancel", () => {
    const read = bybitProfile.selfTradeEnd!;
    expect(read({ orderStatus: 'Cancelled', cancelType: 'CancelBySmp', smpType: 'CancelTaker' })).to.equal(
      'cancelType CancelBySmp, smpType CancelTaker',
    );
    expect(read({ orderStatus: 'Cancelled', cancelType: 'CancelByUser', smpType: 'None' })).to.equal(
      undefined,
    );
  });

  it("reads OKX's self-trade prevention cancelSource, and not the owner's own cancel", () => {
    const read = okxProfile.selfTradeEnd!;
    expect(
      read({ state: 'canceled', cancelSource: '32', cancelSourceReason: 'Self trade prevention' }),
    ).to.equal('cancelSource 32 (Self trade prevention)');
    expect(
      read({ state: 'canceled', cancelSource: '1', cancelSourceReason: 'Order canceled by user' }),
    ).to.equal(undefined);
    expect(read({ state: 'filled', cancelSource: '', cancelSourceReason: '' })).to.equal(undefined);
  });

  it('tells a stop-loss expired by it once, as its cause and the fix — never as a bare "expired"', () => {
    const open: LocalOrder = { ...intent('bot-1'), side: 'sell', purpose: 'stop-loss', status: 'open' };
    const after = applyExchangeOrder(
      open,
      {
        id: '9',
        clientOrderId: 'bot-1',
        symbol: 'BTC/USDT',
        side: 'sell',
        type: 'market',
        amount: open.amount,
        filled: 0,
        remaining: open.amount,
        status: 'expired',
        selfTrade: 'EXPIRED_IN_MATCH, selfTradePreventionMode EXPIRE_TAKER',
      },
      5,
    );
    const events = statusChangeEvents(open, after);
    expect(events.map((e) => e.type)).to.deep.equal(['order.self_trade']);
    expect(events[0].summary).to.include("Order expired by the exchange's self-trade prevention");
    expect(events[0].summary).to.include("Cancel the account's own buy order on BTC/USDT");
    expect(events[0].summary).to.include('tried again after its refusal backoff');
    expect(events[0].data).to.include({
      selfTrade: 'EXPIRED_IN_MATCH, selfTradePreventionMode EXPIRE_TAKER',
    });
    // an order expired for another reason is the plain event
    expect(statusChangeEvents(open, { ...after, selfTrade: undefined }).map((e) => e.type)).to.deep.equal([
      'order.cancelled',
    ]);
  });
});
