import { expect } from 'chai';
import fc from 'fast-check';
import {
  applyFill,
  averageEntryPrice,
  emptyBook,
  derivePositions,
  inReplayOrder,
  realizedOnDay,
  sequenceAfter,
  unrealizedPnl,
  type Fill,
} from '../../../src/trading/engine/books/pnl';
import { isOpenPosition } from '../../../src/trading/engine/decide/risk';
import type { Market } from '../../../src/trading/exchange/exchange';

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
    const books = derivePositions(
      {},
      [fill('sell', 1, 110, { ...noFee, tradeId: '10' }), fill('buy', 1, 100, { ...noFee, tradeId: '9' })],
      {},
      'trade-id',
    );
    // buy (trade 9) then sell (trade 10): flat, 10 realized — as text "10" sorted first and the sell found nothing
    expect(books['BTC/USDT'].amount).to.equal(0);
    expect(books['BTC/USDT'].realizedPnl).to.be.closeTo(10, 1e-9);
  });

  it('includes fees in the cost basis and in realized PnL', () => {
    const books = derivePositions({}, [fill('buy', 1, 100), fill('sell', 1, 110)], {}, 'trade-id');
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
    const books = derivePositions(
      {},
      [fill('buy', 1, 100, noFee), fill('buy', 3, 120, noFee), fill('sell', 2, 130, noFee)],
      {},
      'trade-id',
    );
    const b = books['BTC/USDT'];
    expect(averageEntryPrice(b)).to.be.closeTo(115, 1e-9);
    expect(b.amount).to.equal(2);
    expect(b.realizedPnl).to.be.closeTo(2 * (130 - 115), 1e-9);
    expect(unrealizedPnl(b, 125)).to.be.closeTo(2 * (125 - 115), 1e-9);
  });

  it('counts a fill delivered twice once (dedup by order id and trade id)', () => {
    const buy = fill('buy', 1, 100);
    const books = derivePositions(
      {},
      [buy, { ...buy }, fill('buy', 1, 100, { orderId: buy.orderId, tradeId: 'other' })],
      {},
      'trade-id',
    );
    expect(books['BTC/USDT'].amount).to.equal(2);
  });

  it('reduces the amount held by a fee paid in the base currency', () => {
    const books = derivePositions(
      {},
      [fill('buy', 1, 100, { feeCost: 0.001, feeCurrency: 'BTC' })],
      {},
      'trade-id',
    );
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
          const whole = derivePositions({}, fills, {}, 'trade-id')['BTC/USDT'];
          const resumed = derivePositions(
            derivePositions({}, fills.slice(0, k), {}, 'trade-id'),
            fills.slice(k),
            {},
            'trade-id',
          )['BTC/USDT'];
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
    const books = derivePositions(
      {},
      [
        fill('buy', 1, 100, { feeCost: 0.01, feeCurrency: 'BNB', feeQuote: 0.075 }),
        fill('sell', 1, 110, { feeCost: 0.011, feeCurrency: 'BNB', feeQuote: 0.0825 }),
      ],
      {},
      'trade-id',
    );
    const b = books['BTC/USDT'];
    expect(b.amount).to.equal(0);
    expect(b.feesPaid).to.be.closeTo(0.1575, 1e-12);
    expect(b.realizedPnl).to.be.closeTo(10 - 0.1575, 1e-12);
  });

  it('counts an unvalued third-currency fee as 0 and never changes the amount held', () => {
    const b = derivePositions(
      {},
      [fill('buy', 1, 100, { feeCost: 0.01, feeCurrency: 'XYZ', feeQuote: null })],
      {},
      'trade-id',
    )['BTC/USDT'];
    expect(b.amount).to.equal(1);
    expect(b.costBasis).to.equal(100);
  });

  it('ends the round trip when what is left is worth less than the minimum order value at the fill price', () => {
    const withNotional = { 'BTC/USDT': { amountStep: 0.00001, minAmount: 0.00001, minNotional: 5 } };
    // a 0.00166 buy, then a sell of all but 0.00004 (2.40 USDT at 60,000): the trip is over
    const fills = [fill('buy', 0.00166, 60_000), fill('sell', 0.00162, 60_000)];
    expect(derivePositions({}, fills, withNotional, 'trade-id')['BTC/USDT'].openedAt).to.equal(null);
    expect(derivePositions({}, fills, lots, 'trade-id')['BTC/USDT'].openedAt).to.not.equal(null);
    // a first small slice of a limit entry is no position yet either
    expect(
      derivePositions({}, [fill('buy', 0.00004, 60_000)], withNotional, 'trade-id')['BTC/USDT'].openedAt,
    ).to.equal(null);
  });

  it('keeps the round trip open where the minimum order value skips market orders, as the engine does', () => {
    // Binance NOTIONAL applyMinToMarket false: 0.04 SOL at 100 (4 USDT, minimum 5) is sold by a market order, so
    // the engine keeps it a position (stop-loss armed, counted in maxOpenPositions): the books keep its trip open
    const sol: Market = {
      symbol: 'SOL/USDT',
      base: 'SOL',
      quote: 'USDT',
      amountStep: 0.001,
      priceStep: 0.01,
      minAmount: 0.001,
      minNotional: 5,
      minNotionalOnMarket: false,
    };
    const buy = fill('buy', 0.04, 100, { symbol: 'SOL/USDT', feeCost: 0 });
    const book = derivePositions({}, [buy], { 'SOL/USDT': sol }, 'trade-id')['SOL/USDT'];
    expect(isOpenPosition(book.amount, sol, 100)).to.equal(true);
    expect(book.openedAt).to.equal(buy.timestamp);
    // where the minimum applies to market orders, both say dust
    const applies = { ...sol, minNotionalOnMarket: undefined };
    expect(isOpenPosition(book.amount, applies, 100)).to.equal(false);
    expect(derivePositions({}, [buy], { 'SOL/USDT': applies }, 'trade-id')['SOL/USDT'].openedAt).to.equal(
      null,
    );
  });

  it('ends a round trip exactly where the engine stops seeing a position (one rule, any amount and price)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20_000 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.constantFrom(true, false, undefined),
        (units, cents, onMarket) => {
          const market: Market = {
            symbol: 'SOL/USDT',
            base: 'SOL',
            quote: 'USDT',
            amountStep: 0.001,
            priceStep: 0.01,
            minAmount: 0.005,
            minNotional: 5,
            ...(onMarket === undefined ? {} : { minNotionalOnMarket: onMarket }),
          };
          const price = cents / 100;
          const buy = fill('buy', units / 1000, price, { symbol: 'SOL/USDT', feeCost: 0 });
          const book = derivePositions({}, [buy], { 'SOL/USDT': market }, 'trade-id')['SOL/USDT'];
          expect(book.openedAt !== null).to.equal(isOpenPosition(book.amount, market, price));
        },
      ),
    );
  });

  it('ends the round trip when only dust below one amount step is left, so the next one has its own PnL', () => {
    // buy fees in the base coin always leave dust: 0.00158 bought, 0.00157842 held, 0.00157 sellable
    const fees = (amount: number) => ({ feeCost: amount * 0.001, feeCurrency: 'BTC' });
    const trip1 = [
      fill('buy', 0.00158, 60_000, fees(0.00158)),
      fill('sell', 0.00157, 58_000, { feeCost: 0.09, feeCurrency: 'USDT' }),
    ];
    const afterTrip1 = derivePositions({}, trip1, lots, 'trade-id')['BTC/USDT'];
    expect(afterTrip1.amount).to.be.closeTo(0.00000842, 1e-12);
    expect(afterTrip1.openedAt).to.equal(null);
    const trip2 = [
      fill('buy', 0.00158, 60_000, fees(0.00158)),
      fill('sell', 0.00158, 62_000, { feeCost: 0.1, feeCurrency: 'USDT' }),
    ];
    const after = derivePositions({}, [...trip1, ...trip2], lots, 'trade-id')['BTC/USDT'];
    expect(after.tripRealizedPnl).to.be.above(0);
    expect(after.tripRealizedPnl).to.be.closeTo(after.realizedPnl - afterTrip1.realizedPnl, 1e-9);
    // without lots the dust keeps the trip open and its PnL runs on (the bug this fixes)
    const cumulative = derivePositions({}, [...trip1, ...trip2], {}, 'trade-id')['BTC/USDT'];
    expect(cumulative.tripRealizedPnl).to.be.closeTo(cumulative.realizedPnl, 1e-9);
  });
});

describe('replay order when exchange times go back (inReplayOrder)', () => {
  const noFee = { feeCost: 0 };
  const ids = (fills: Fill[]): string[] => fills.map((f) => f.tradeId);

  it("applies a symbol's numbered fills by trade id: a sell stamped before its buy still closes it", () => {
    const buy = fill('buy', 1, 100, { ...noFee, tradeId: '501', timestamp: T0 + 60_000 });
    const sell = fill('sell', 1, 110, { ...noFee, tradeId: '502', timestamp: T0 });
    expect(ids(inReplayOrder([sell, buy], 'trade-id'))).to.deep.equal(['501', '502']);
    const book = derivePositions({}, [sell, buy], {}, 'trade-id')['BTC/USDT'];
    expect(book.amount).to.equal(0);
    expect(book.realizedPnl).to.be.closeTo(10, 1e-9);
  });

  it('places a write-off right after the fill it followed, before a later fill stamped earlier', () => {
    const buy = fill('buy', 5, 100, { ...noFee, tradeId: '7', timestamp: T0 + 10 });
    const writeOff = fill('sell', 2, 0, {
      ...noFee,
      tradeId: 'missing',
      afterTradeId: '7',
      timestamp: T0 + 11,
    });
    const sell = fill('sell', 3, 90, { ...noFee, tradeId: '8', timestamp: T0 });
    expect(ids(inReplayOrder([sell, writeOff, buy], 'trade-id'))).to.deep.equal(['7', 'missing', '8']);
    const book = derivePositions({}, [sell, writeOff, buy], {}, 'trade-id')['BTC/USDT'];
    expect(book.amount).to.equal(0);
    // 2 written off at 0 (−200), 3 sold at 90 (−30)
    expect(book.realizedPnl).to.be.closeTo(-230, 1e-9);
    expect(sequenceAfter([buy, sell], 'trade-id')).to.equal('8');
    expect(sequenceAfter([buy, writeOff], 'trade-id')).to.equal('7');
    // none hot: the fills are in the checkpoint, which keeps no trade ids: time order, never before them all
    expect(sequenceAfter([], 'trade-id')).to.equal(undefined);
  });

  it('keeps time order for a symbol whose trade ids are not numbers, and symbols interleave by time', () => {
    const a = fill('buy', 1, 100, { tradeId: 'b-uuid', timestamp: T0 + 2 });
    const b = fill('sell', 1, 100, { tradeId: 'a-uuid', timestamp: T0 + 1 });
    expect(ids(inReplayOrder([a, b], 'trade-id'))).to.deep.equal(['a-uuid', 'b-uuid']);
    expect(sequenceAfter([a], 'trade-id')).to.equal(undefined);
    const eth = fill('buy', 1, 10, { symbol: 'ETH/USDT', tradeId: '3', timestamp: T0 + 5 });
    const btc1 = fill('buy', 1, 100, { tradeId: '10', timestamp: T0 + 9 });
    const btc2 = fill('sell', 1, 100, { tradeId: '11', timestamp: T0 + 1 });
    // BTC keeps the places its fills take in time order (1st and 3rd), in trade-id order
    expect(ids(inReplayOrder([btc1, btc2, eth], 'trade-id'))).to.deep.equal(['10', '3', '11']);
  });

  it('replays by time where the exchange promises no id order (Bybit execIds: digits, in no documented order)', () => {
    // real-format spot execIds whose numeric order contradicts their execTime: the buy happened first
    const buy = fill('buy', 1, 100, { ...noFee, tradeId: '2210000000101610464', timestamp: T0 });
    const sell = fill('sell', 1, 110, { ...noFee, tradeId: '2210000000097330907', timestamp: T0 + 1_000 });
    expect(ids(inReplayOrder([sell, buy], 'time'))).to.deep.equal([buy.tradeId, sell.tradeId]);
    const book = derivePositions({}, [sell, buy], {}, 'time')['BTC/USDT'];
    expect(book.amount).to.equal(0);
    expect(book.realizedPnl).to.be.closeTo(10, 1e-9);
    expect(book.openedAt).to.equal(null);
    // no write-off is placed by such ids either: it goes by time
    expect(sequenceAfter([buy, sell], 'time')).to.equal(undefined);
    // fills of one execTime: by execId, as Bybit's documentation recommends
    const first = fill('buy', 1, 100, { ...noFee, tradeId: '2210000000000000009', timestamp: T0 });
    const second = fill('sell', 1, 100, { ...noFee, tradeId: '2210000000000000010', timestamp: T0 });
    expect(ids(inReplayOrder([second, first], 'time'))).to.deep.equal([first.tradeId, second.tradeId]);
  });

  it('any arrival order gives the books of the fills folded in trade-id order (property)', () => {
    // numbered 1..4 as they happened, stamped out of order
    const base = [
      fill('buy', 2, 100, { tradeId: '1', timestamp: T0 + 50 }),
      fill('sell', 1, 120, { tradeId: '2', timestamp: T0 + 10 }),
      fill('buy', 1, 90, { tradeId: '3', timestamp: T0 + 30 }),
      fill('sell', 2, 95, { tradeId: '4', timestamp: T0 }),
    ];
    const expected = base.reduce((book, f) => applyFill(book, f), emptyBook('BTC/USDT'));
    expect(expected.amount).to.be.closeTo(0, 1e-12);
    fc.assert(
      fc.property(
        fc.shuffledSubarray(base, { minLength: base.length, maxLength: base.length }),
        (shuffled) => {
          const book = derivePositions({}, shuffled, {}, 'trade-id')['BTC/USDT'];
          expect(book.realizedPnl).to.be.closeTo(expected.realizedPnl, 1e-9);
          expect(book.amount).to.be.closeTo(expected.amount, 1e-12);
        },
      ),
    );
  });
});
