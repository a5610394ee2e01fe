import { expect } from 'chai';
import fc from 'fast-check';
import {
  averageEntryPrice,
  derivePositions,
  realizedOnDay,
  unrealizedPnl,
  type Fill,
} from '../../../src/trading/engine/pnl';

const T0 = Date.UTC(2026, 0, 1, 10);
let n = 0;
function fill(side: 'buy' | 'sell', amount: number, price: number, over: Partial<Fill> = {}): Fill {
  n++;
  return {
    orderId: `o${n}`,
    clientOrderId: `bot-${n}`,
    tradeId: `t${n}`,
    symbol: 'BTC/USDT',
    side,
    price,
    amount,
    feeCost: amount * price * 0.001,
    feeCurrency: 'USDT',
    timestamp: T0 + n,
    ...over,
  };
}

describe('PnL from fills', () => {
  it('includes fees in the cost basis and in realized PnL', () => {
    const books = derivePositions({}, [fill('buy', 1, 100), fill('sell', 1, 110)]);
    const b = books['BTC/USDT'];
    expect(b.amount).to.equal(0);
    // 110 - 0.11 (sell fee) - (100 + 0.1 buy fee)
    expect(b.realizedPnl).to.be.closeTo(9.79, 1e-9);
    expect(b.tripRealizedPnl).to.be.closeTo(9.79, 1e-9);
    expect(b.feesPaid).to.be.closeTo(0.21, 1e-9);
    expect(b.openedAt).to.equal(null);
    expect(realizedOnDay(books, '2026-01-01')).to.be.closeTo(9.79, 1e-9);
  });

  it('averages the entry over partial buys and realizes partial sells at that average', () => {
    const noFee = { feeCost: 0 };
    const books = derivePositions({}, [
      fill('buy', 1, 100, noFee),
      fill('buy', 3, 120, noFee),
      fill('sell', 2, 130, noFee),
    ]);
    const b = books['BTC/USDT'];
    expect(averageEntryPrice(b)).to.be.closeTo(115, 1e-9);
    expect(b.amount).to.equal(2);
    expect(b.realizedPnl).to.be.closeTo(2 * (130 - 115), 1e-9);
    expect(unrealizedPnl(b, 125)).to.be.closeTo(2 * (125 - 115), 1e-9);
  });

  it('counts a fill delivered twice once (dedup by order id and trade id)', () => {
    const buy = fill('buy', 1, 100);
    const books = derivePositions({}, [
      buy,
      { ...buy },
      fill('buy', 1, 100, { orderId: buy.orderId, tradeId: 'other' }),
    ]);
    expect(books['BTC/USDT'].amount).to.equal(2);
  });

  it('reduces the amount held by a fee paid in the base currency', () => {
    const books = derivePositions({}, [fill('buy', 1, 100, { feeCost: 0.001, feeCurrency: 'BTC' })]);
    expect(books['BTC/USDT'].amount).to.be.closeTo(0.999, 1e-12);
    expect(books['BTC/USDT'].feesPaid).to.be.closeTo(0.1, 1e-9);
  });

  it('continues from a checkpoint exactly as from the full fill list (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 50, max: 150 })), {
          maxLength: 30,
        }),
        fc.nat(30),
        (specs, cut) => {
          let held = 0;
          const fills: Fill[] = [];
          for (const [buy, amount, price] of specs) {
            if (!buy && held < amount) continue;
            held += buy ? amount : -amount;
            fills.push(fill(buy ? 'buy' : 'sell', amount, price));
          }
          const k = Math.min(cut, fills.length);
          const whole = derivePositions({}, fills)['BTC/USDT'];
          const resumed = derivePositions(derivePositions({}, fills.slice(0, k)), fills.slice(k))['BTC/USDT'];
          if (!whole) return resumed === undefined;
          return (
            Math.abs(whole.amount - resumed.amount) < 1e-9 &&
            Math.abs(whole.realizedPnl - resumed.realizedPnl) < 1e-6 &&
            whole.amount === held
          );
        },
      ),
    );
  });
});
