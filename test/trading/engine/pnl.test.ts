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
  it('applies fills of one millisecond in trade-id order, numerically ("9" before "10")', () => {
    const noFee = { feeCost: 0, timestamp: T0 };
    const books = derivePositions({}, [
      fill('sell', 1, 110, { ...noFee, tradeId: '10' }),
      fill('buy', 1, 100, { ...noFee, tradeId: '9' }),
    ]);
    // buy (trade 9) then sell (trade 10): flat, 10 realized — as text "10" sorted first and the sell found nothing
    expect(books['BTC/USDT'].amount).to.equal(0);
    expect(books['BTC/USDT'].realizedPnl).to.be.closeTo(10, 1e-9);
  });

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

describe('PnL: fees in a third currency and round trips that end at dust', () => {
  const lots = { 'BTC/USDT': { amountStep: 0.00001, minAmount: 0.00001 } };

  it('counts a BNB fee at its quote value at fill time, as cost on a buy and less proceeds on a sell', () => {
    const books = derivePositions({}, [
      fill('buy', 1, 100, { feeCost: 0.01, feeCurrency: 'BNB', feeQuote: 0.075 }),
      fill('sell', 1, 110, { feeCost: 0.011, feeCurrency: 'BNB', feeQuote: 0.0825 }),
    ]);
    const b = books['BTC/USDT'];
    expect(b.amount).to.equal(0);
    expect(b.feesPaid).to.be.closeTo(0.1575, 1e-12);
    expect(b.realizedPnl).to.be.closeTo(10 - 0.1575, 1e-12);
  });

  it('counts an unvalued third-currency fee as 0 and never changes the amount held', () => {
    const b = derivePositions({}, [
      fill('buy', 1, 100, { feeCost: 0.01, feeCurrency: 'XYZ', feeQuote: null }),
    ])['BTC/USDT'];
    expect(b.amount).to.equal(1);
    expect(b.costBasis).to.equal(100);
  });

  it('ends the round trip when what is left is worth less than the minimum order value at the fill price', () => {
    const withNotional = { 'BTC/USDT': { amountStep: 0.00001, minAmount: 0.00001, minNotional: 5 } };
    // a 0.00166 buy, then a sell of all but 0.00004 (2.40 USDT at 60,000): the trip is over
    const fills = [fill('buy', 0.00166, 60_000), fill('sell', 0.00162, 60_000)];
    expect(derivePositions({}, fills, withNotional)['BTC/USDT'].openedAt).to.equal(null);
    expect(derivePositions({}, fills, lots)['BTC/USDT'].openedAt).to.not.equal(null);
    // a first small slice of a limit entry is no position yet either
    expect(derivePositions({}, [fill('buy', 0.00004, 60_000)], withNotional)['BTC/USDT'].openedAt).to.equal(
      null,
    );
  });

  it('ends the round trip when only dust below one amount step is left, so the next one has its own PnL', () => {
    // buy fees in the base coin always leave dust: 0.00158 bought, 0.00157842 held, 0.00157 sellable
    const fees = (amount: number) => ({ feeCost: amount * 0.001, feeCurrency: 'BTC' });
    const trip1 = [
      fill('buy', 0.00158, 60_000, fees(0.00158)),
      fill('sell', 0.00157, 58_000, { feeCost: 0.09, feeCurrency: 'USDT' }),
    ];
    const afterTrip1 = derivePositions({}, trip1, lots)['BTC/USDT'];
    expect(afterTrip1.amount).to.be.closeTo(0.00000842, 1e-12);
    expect(afterTrip1.openedAt).to.equal(null);
    const trip2 = [
      fill('buy', 0.00158, 60_000, fees(0.00158)),
      fill('sell', 0.00158, 62_000, { feeCost: 0.1, feeCurrency: 'USDT' }),
    ];
    const after = derivePositions({}, [...trip1, ...trip2], lots)['BTC/USDT'];
    expect(after.tripRealizedPnl).to.be.above(0);
    expect(after.tripRealizedPnl).to.be.closeTo(after.realizedPnl - afterTrip1.realizedPnl, 1e-9);
    // without lots the dust keeps the trip open and its PnL runs on (the bug this fixes)
    const cumulative = derivePositions({}, [...trip1, ...trip2])['BTC/USDT'];
    expect(cumulative.tripRealizedPnl).to.be.closeTo(cumulative.realizedPnl, 1e-9);
  });
});
