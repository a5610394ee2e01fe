import { expect } from 'chai';
import { inFillOrder } from '../../../src/trading/engine/state/order-archive';
import type { LocalOrder } from '../../../src/trading/engine/orders/order-state';
import { derivePositions, type Fill } from '../../../src/trading/engine/books/pnl';
import { localOrder } from '../../support/local-order';

function order(
  id: string,
  symbol: string,
  fills: Array<[number, 'buy' | 'sell', number, number]>,
): LocalOrder {
  const f: Fill[] = fills.map(([timestamp, side, amount, price], i) => ({
    orderId: `x-${id}`,
    clientOrderId: id,
    tradeId: `${id}-t${i}`,
    symbol,
    side,
    price,
    amount,
    feeCost: 0,
    feeCurrency: 'USDT',
    timestamp,
  }));
  return localOrder({
    clientOrderId: id,
    symbol,
    side: fills[0]?.[1] ?? 'buy',
    type: 'limit',
    amount: fills.reduce((s, x) => s + x[2], 0) || 1,
    filled: fills.reduce((s, x) => s + x[2], 0),
    status: 'filled',
    fills: f,
  });
}

describe('archive keeps fills in time order (inFillOrder)', () => {
  it('holds back an order with a fill later than a fill of the same symbol that stays hot', () => {
    const a = order('a', 'BTC/USDT', [
      [1, 'buy', 1, 100],
      [5, 'sell', 1, 130],
    ]);
    const b = order('b', 'BTC/USDT', [[3, 'buy', 1, 90]]); // stays hot (kept or still open)
    const c = order('c', 'ETH/USDT', [[9, 'buy', 1, 10]]); // other symbol: no constraint
    const d = order('d', 'BTC/USDT', [[2, 'buy', 1, 95]]); // before b's fill, but after a's first one
    // a is held (its fill at 5 is after b's at 3), and so d (its fill at 2 is after a's at 1)
    expect(inFillOrder([a, c, d], [a, b, c, d], 'trade-id').map((o) => o.clientOrderId)).to.deep.equal(['c']);
    const e = order('e', 'BTC/USDT', [[0, 'buy', 1, 80]]); // before every fill that stays hot
    expect(inFillOrder([a, e], [a, b, e], 'trade-id').map((o) => o.clientOrderId)).to.deep.equal(['e']);
    // once b goes too, a may follow
    expect(inFillOrder([a, b], [a, b], 'trade-id').map((o) => o.clientOrderId)).to.deep.equal(['a', 'b']);
  });

  it('holds back an order whose fill has the same millisecond as a fill that stays hot', () => {
    // a sell and the buy it closes filled in one millisecond: their order is the trade ids', which a checkpoint
    // cannot keep — archiving the sell alone would apply it before the buy
    const sell = order('s', 'BTC/USDT', [[7, 'sell', 1, 110]]);
    const buy = order('b', 'BTC/USDT', [[7, 'buy', 1, 100]]);
    expect(inFillOrder([sell], [sell, buy], 'trade-id')).to.deep.equal([]);
    expect(inFillOrder([sell, buy], [sell, buy], 'trade-id').map((o) => o.clientOrderId)).to.deep.equal([
      's',
      'b',
    ]);
  });

  it('holds back an order numbered after a fill that stays hot, even when it is stamped before it', () => {
    // the exchange's clock went back: the sell (trade 2) is stamped before the buy it closes (trade 1)
    const buy = order('b', 'BTC/USDT', [[9, 'buy', 1, 100]]);
    const sell = order('s', 'BTC/USDT', [[4, 'sell', 1, 110]]);
    buy.fills[0]!.tradeId = '1';
    sell.fills[0]!.tradeId = '2';
    expect(inFillOrder([sell], [sell, buy], 'trade-id')).to.deep.equal([]);
    const both = inFillOrder([sell, buy], [sell, buy], 'trade-id');
    const checkpoint = derivePositions(
      {},
      both.flatMap((o) => o.fills),
      {},
      'trade-id',
    );
    expect(checkpoint['BTC/USDT']).to.include({ amount: 0, realizedPnl: 10 });
  });

  it('archiving what it allows never changes positions or realized PnL', () => {
    const hot = [
      order('a', 'BTC/USDT', [
        [1, 'buy', 2, 100],
        [6, 'sell', 1, 150],
      ]),
      order('b', 'BTC/USDT', [[4, 'buy', 1, 50]]),
      order('c', 'BTC/USDT', [[8, 'sell', 2, 120]]),
    ];
    const all = derivePositions(
      {},
      hot.flatMap((o) => o.fills),
      {},
      'trade-id',
    )['BTC/USDT'];
    for (const keep of [['b'], ['c'], ['b', 'c'], []]) {
      const candidates = hot.filter((o) => !keep.includes(o.clientOrderId));
      const archived = inFillOrder(candidates, hot, 'trade-id');
      const checkpoint = derivePositions(
        {},
        archived.flatMap((o) => o.fills),
        {},
        'trade-id',
      );
      const rest = hot.filter((o) => !archived.includes(o)).flatMap((o) => o.fills);
      const after = derivePositions(checkpoint, rest, {}, 'trade-id')['BTC/USDT'];
      expect(after.amount, `keep ${keep.join(',')}`).to.be.closeTo(all.amount, 1e-12);
      expect(after.realizedPnl, `keep ${keep.join(',')}`).to.be.closeTo(all.realizedPnl, 1e-9);
    }
  });

  it('folds the fees paid in a coin and the positions in that coin in time order, whatever is archived when', () => {
    // a BNB position, BTC trades paying their fees in BNB, and a write-off of the BNB they took
    const bnbFee = (o: LocalOrder, feeCost: number): LocalOrder => ({
      ...o,
      fills: o.fills.map((f) => ({ ...f, feeCost, feeCurrency: 'BNB', feeQuote: feeCost * 100 })),
    });
    const writeOff: LocalOrder = {
      ...order('write-off-BNBUSDT-9', 'BNB/USDT', [[9, 'sell', 0.03, 100]]),
      purpose: 'write-off',
    };
    writeOff.fills[0] = { ...writeOff.fills[0]!, tradeId: 'fees-paid-in-coin' };
    const hot = [
      order('buy', 'BNB/USDT', [[2, 'buy', 20, 100]]),
      bnbFee(order('b1', 'BTC/USDT', [[1, 'buy', 0.01, 60_000]]), 0.01), // before the BNB position opened
      bnbFee(order('b2', 'BTC/USDT', [[3, 'buy', 0.01, 60_000]]), 0.015),
      bnbFee(order('b3', 'BTC/USDT', [[5, 'sell', 0.02, 61_000]]), 0.015),
      writeOff,
      bnbFee(order('b4', 'BTC/USDT', [[11, 'buy', 0.01, 60_000]]), 0.02),
    ];
    const all = derivePositions(
      {},
      hot.flatMap((o) => o.fills),
      {},
      'trade-id',
    )['BNB/USDT']!;
    expect(all.feesInCoin).to.deep.equal({ amount: 0.02, quoteValue: 2 });
    // a BTC order is held back while an earlier BNB fill stays hot, and the write-off while an earlier BNB fee does
    expect(inFillOrder([hot[1]!, hot[2]!], hot, 'trade-id').map((o) => o.clientOrderId)).to.deep.equal([
      'b1',
    ]);
    expect(inFillOrder([writeOff], hot, 'trade-id')).to.deep.equal([]);
    for (const keep of [['buy'], ['b2'], ['b3'], ['buy', 'b4'], ['b1'], []]) {
      const candidates = hot.filter((o) => !keep.includes(o.clientOrderId));
      const archived = inFillOrder(candidates, hot, 'trade-id');
      const checkpoint = derivePositions(
        {},
        archived.flatMap((o) => o.fills),
        {},
        'trade-id',
      );
      const rest = hot.filter((o) => !archived.includes(o)).flatMap((o) => o.fills);
      const after = derivePositions(checkpoint, rest, {}, 'trade-id')['BNB/USDT']!;
      expect(after.feesInCoin, `keep ${keep.join(',')}`).to.deep.equal(all.feesInCoin);
      expect(after.realizedPnl, `keep ${keep.join(',')}`).to.be.closeTo(all.realizedPnl, 1e-9);
    }
  });
});
