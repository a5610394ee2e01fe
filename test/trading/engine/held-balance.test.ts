import { expect } from 'chai';
import fc from 'fast-check';
import type { BalanceEntry, Market } from '../../../src/trading/exchange/exchange';
import {
  changedNearRead,
  confirmedShortfalls,
  exitable,
  feesPaidInCoin,
  inferredOrderCoins,
  lockedBySells,
  ownerHolding,
  shortfallsOf,
  writeOffFills,
  writeOffPlace,
} from '../../../src/trading/engine/decide/held-balance';
import type { LocalOrder } from '../../../src/trading/engine/orders/order-state';
import {
  applyFill,
  averageEntryPrice,
  derivePositions,
  emptyBook,
  type Fill,
  type PositionBook,
} from '../../../src/trading/engine/books/pnl';
import { localOrder } from '../../support/local-order';

const NOW = 1_800_000_000_000;
const BNB = 'BNB/USDT';
const BNB_MARKET: Market = {
  symbol: BNB,
  base: 'BNB',
  quote: 'USDT',
  amountStep: 0.01,
  priceStep: 0.01,
  minAmount: 0.01,
  minNotional: 5,
};
const markets = { [BNB]: BNB_MARKET };

const coin = (free: number, used = 0): BalanceEntry => ({ free, used, total: free + used });

function book(amount: number, entry: number, symbol = BNB): PositionBook {
  return { ...emptyBook(symbol), amount, costBasis: amount * entry, openedAt: NOW - 60_000 };
}

function fill(over: Partial<Fill>): Fill {
  return {
    orderId: '1',
    clientOrderId: 'bot-tst000-1',
    tradeId: '1',
    symbol: 'BTC/USDT',
    side: 'buy',
    price: 60_000,
    amount: 0.02,
    feeCost: 0.0075,
    feeCurrency: 'BNB',
    feeQuote: 0.75,
    timestamp: NOW - 1_000,
    ...over,
  };
}

describe('exitable: an exit never asks for more than the account can sell', () => {
  it('is the free balance when the account holds less than the position', () => {
    expect(exitable(20, coin(19.95), 0)).to.equal(19.95);
  });

  it("is the position when the account holds more: the owner's coins are never sold", () => {
    expect(exitable(20, coin(35), 0)).to.equal(20);
    expect(exitable(20, coin(15, 20), 20)).to.equal(20);
  });

  it("counts what the bot's own sells lock, which the exit cancels first", () => {
    expect(exitable(20, coin(5, 15), 15)).to.equal(20);
    // another's lock (the owner's own order) is not the bot's to free
    expect(exitable(20, coin(5, 15), 0)).to.equal(5);
  });

  it('is the position before any balance read, and never negative', () => {
    expect(exitable(20, undefined, 0)).to.equal(20);
    expect(exitable(20, coin(0), -3)).to.equal(0);
  });

  it('is always between 0 and the position, and at most free + own locked', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        (position, free, locked) => {
          const x = exitable(position, coin(free, locked), locked);
          return x >= 0 && x <= position && x <= free + locked;
        },
      ),
    );
  });
});

describe('lockedBySells: what our own working sells hold of the coin', () => {
  const o = (over: Partial<LocalOrder>): LocalOrder =>
    localOrder({ side: 'sell', status: 'open', amount: 2, filled: 0.5, ...over });
  it('sums the unfilled rest of working sells only', () => {
    expect(
      lockedBySells([
        o({}),
        o({ side: 'buy' }),
        o({ status: 'filled', filled: 2 }),
        o({ status: 'cancelled' }),
      ]),
    ).to.equal(1.5);
  });
});

describe("changedNearRead: a reading that may not show an order's last change yet", () => {
  const o = (over: Partial<LocalOrder>): LocalOrder =>
    localOrder({ status: 'cancelled', updatedAt: 10_000, ...over });
  it('within the window before the read was sent, or after it: yes; a window before or more: no', () => {
    expect(changedNearRead(o({}), 10_500, 1_000)).to.equal(true);
    expect(changedNearRead(o({}), 9_000, 1_000)).to.equal(true);
    expect(changedNearRead(o({}), 11_000, 1_000)).to.equal(false);
    expect(changedNearRead(o({}), 70_000, 60_000)).to.equal(false);
  });
  it("a write-off (the bot's own book entry, never in a reading): no", () => {
    expect(changedNearRead(o({ purpose: 'write-off' }), 10_500, 1_000)).to.equal(false);
  });
});

describe('shortfallsOf: the part of a position the account does not hold', () => {
  it('finds a position larger than the coin held, by one amount step or more', () => {
    expect(shortfallsOf([book(20, 100)], { BNB: coin(19.95) }, markets, new Set())).to.deep.equal([
      { symbol: BNB, position: 20, held: 19.95, missing: 20 - 19.95 },
    ]);
    // the whole coin gone: held 0
    expect(shortfallsOf([book(20, 100)], {}, markets, new Set())[0]).to.include({ held: 0, missing: 20 });
  });

  it('ignores rounding and dust below one amount step', () => {
    expect(shortfallsOf([book(20, 100)], { BNB: coin(19.995) }, markets, new Set())).to.deep.equal([]);
  });

  it('ignores a symbol with an order in flight: the balance may already count a fill the position does not', () => {
    expect(shortfallsOf([book(20, 100)], { BNB: coin(10) }, markets, new Set([BNB]))).to.deep.equal([]);
  });

  it('counts coins locked in orders as held, and shares a coin between positions in it', () => {
    expect(shortfallsOf([book(20, 100)], { BNB: coin(5, 15) }, markets, new Set())).to.deep.equal([]);
    const other = book(5, 0.002, 'BNB/BTC');
    const found = shortfallsOf([book(20, 100), other], { BNB: coin(22) }, markets, new Set());
    expect(found).to.deep.equal([{ symbol: 'BNB/BTC', position: 5, held: 2, missing: 3 }]);
  });
});

describe('confirmedShortfalls: two readings in a row, the same position', () => {
  const s = (position: number, held: number) => ({ symbol: BNB, position, held, missing: position - held });
  it('confirms only what the previous reading showed for the same position', () => {
    expect(confirmedShortfalls([], [s(20, 19)])).to.deep.equal([]);
    expect(confirmedShortfalls([s(20, 19)], [s(20, 18.5)])).to.deep.equal([s(20, 18.5)]);
    // a fill of the bot's came in between: not the same position, not confirmed
    expect(confirmedShortfalls([s(20, 19)], [s(25, 19)])).to.deep.equal([]);
  });
});

describe('feesPaidInCoin and writeOffFills: the missing part leaves the position once, at its entry cost', () => {
  /** A BNB/USDT position of 20 BNB bought at 100, a minute before NOW. */
  const bnbBuy = (): Fill =>
    fill({
      symbol: BNB,
      side: 'buy',
      price: 100,
      amount: 20,
      feeCost: 0,
      feeCurrency: 'USDT',
      feeQuote: undefined,
      timestamp: NOW - 60_000,
      tradeId: 'b1',
      orderId: 'b',
    });

  it("sums the bot's fees in the coin on other pairs since the position opened", () => {
    const books = derivePositions(
      {},
      [
        fill({ tradeId: '0', timestamp: NOW - 120_000 }), // before the position opened
        bnbBuy(),
        fill({}),
        fill({ tradeId: '2', side: 'sell' }),
        fill({ tradeId: '4', symbol: BNB, feeCost: 0.02, feeQuote: undefined }), // its own pair: in the position
        fill({ tradeId: '5', feeCurrency: 'USDT', feeCost: 1, feeQuote: undefined }),
        // a BNB fee on another BNB pair is a fee in its base: out of that position, not this one's
        fill({
          tradeId: '6',
          symbol: 'BNB/BTC',
          price: 0.002,
          amount: 1,
          feeCost: 0.001,
          feeQuote: undefined,
        }),
      ],
      {},
      'trade-id',
    );
    const fees = feesPaidInCoin(books[BNB]!);
    expect(fees.amount).to.be.closeTo(0.015, 1e-12);
    expect(fees.quoteValue).to.be.closeTo(1.5, 1e-12);
  });

  it('counts a fee replayed while the position is open even when its time is before the opening fill (times go back)', () => {
    // BTC's trade 201 is later than 200 by its id, earlier by its time: replayed in id order, it comes after the
    // BNB buy (200 takes the earlier time slot, before the buy); its time alone would have dropped it
    const books = derivePositions(
      {},
      [
        fill({ tradeId: '200', timestamp: NOW - 55_000 }),
        bnbBuy(),
        fill({ tradeId: '201', timestamp: NOW - 65_000, feeCost: 0.005, feeQuote: 0.5 }),
      ],
      {},
      'trade-id',
    );
    expect(feesPaidInCoin(books[BNB]!)).to.deep.equal({ amount: 0.005, quoteValue: 0.5 });
  });

  it('a write-off goes after the hot fees it spends: none counts again, even with the host clock behind', () => {
    // the host is 30 s behind the exchange: the BTC fill (BNB fee) is stamped 1 s ago in exchange time, 29 s ahead
    const hot = [bnbBuy(), fill({})];
    const hostNow = NOW - 30_000;
    const place = writeOffPlace(BNB, hot, hostNow, 'trade-id');
    expect(place.at).to.equal(NOW - 1_000 + 1);
    expect(
      writeOffPlace(BNB, [bnbBuy()], hostNow, 'trade-id').at,
      'no fee to follow: its own fills and now',
    ).to.equal(hostNow);
    const books = derivePositions({}, hot, {}, 'trade-id');
    const spent = writeOffFills(
      books[BNB]!,
      0.0075,
      feesPaidInCoin(books[BNB]!),
      'write-off-BNBUSDT-1',
      place.at,
    );
    const after = derivePositions({}, [...hot, ...spent], {}, 'trade-id');
    expect(feesPaidInCoin(after[BNB]!)).to.deep.equal({ amount: 0, quoteValue: 0 });
    expect(after[BNB]!.amount).to.be.closeTo(20 - 0.0075, 1e-12);
  });

  it('counts the fees of orders folded into the checkpoint (archived) the same as hot ones, once', () => {
    const fills = [
      bnbBuy(),
      fill({ tradeId: '1', timestamp: NOW - 50_000 }),
      fill({ tradeId: '2', timestamp: NOW - 40_000, side: 'sell' }),
      fill({ tradeId: '3', timestamp: NOW - 30_000 }),
    ];
    const whole = derivePositions({}, fills, {}, 'trade-id');
    // archived in time order at every point: the checkpoint holds the first `n` fills, the hot state the rest
    for (let n = 0; n <= fills.length; n++) {
      const books = derivePositions(
        derivePositions({}, fills.slice(0, n), {}, 'trade-id'),
        fills.slice(n),
        {},
        'trade-id',
      );
      expect(books[BNB]!.feesInCoin, `archived ${n}`).to.deep.equal(whole[BNB]!.feesInCoin);
    }
    expect(feesPaidInCoin(whole[BNB]!)).to.deep.equal({ amount: 0.0225, quoteValue: 2.25 });
  });

  it('a fee explains one write-off: a later shortfall of the same position counts only the fees paid since', () => {
    let books = derivePositions(
      {},
      [bnbBuy(), fill({}), fill({ tradeId: '2', side: 'sell' })],
      {},
      'trade-id',
    );
    const first = writeOffFills(books[BNB]!, 0.015, feesPaidInCoin(books[BNB]!), 'write-off-BNBUSDT-1', NOW);
    books = derivePositions(books, first, {}, 'trade-id');
    expect(feesPaidInCoin(books[BNB]!)).to.deep.equal({ amount: 0, quoteValue: 0 });
    // then the owner withdraws 1 BNB and one more BTC fee is paid: only that fee explains the next shortfall
    books = derivePositions(books, [fill({ tradeId: '3', timestamp: NOW + 1_000 })], {}, 'trade-id');
    const second = writeOffFills(
      books[BNB]!,
      1.0075,
      feesPaidInCoin(books[BNB]!),
      'write-off-BNBUSDT-2',
      NOW + 2_000,
    );
    expect(second.map((f) => [f.tradeId, f.amount])).to.deep.equal([
      ['fees-paid-in-coin', 0.0075],
      ['missing', 1],
    ]);
  });

  it('a new round trip starts without the fees of the last one', () => {
    const books = derivePositions(
      {},
      [
        bnbBuy(),
        fill({ timestamp: NOW - 50_000 }),
        fill({
          tradeId: 's',
          orderId: 's',
          symbol: BNB,
          side: 'sell',
          price: 101,
          amount: 20,
          feeCost: 0,
          feeCurrency: 'USDT',
          feeQuote: undefined,
          timestamp: NOW - 20_000,
        }),
        { ...bnbBuy(), tradeId: 'b2', orderId: 'b2', timestamp: NOW - 10_000 },
      ],
      {},
      'trade-id',
    );
    expect(books[BNB]!.amount).to.equal(20);
    expect(feesPaidInCoin(books[BNB]!)).to.deep.equal({ amount: 0, quoteValue: 0 });
  });

  it('writes the fee part off at its value when paid and the rest at 0: a loss of the entry cost in all', () => {
    const position = book(20, 100.1);
    const fees = { amount: 0.015, quoteValue: 0.015 * 99 };
    const fills = writeOffFills(position, 0.05, fees, 'write-off-1', NOW);
    expect(fills.map((f) => [f.tradeId, f.price, f.amount])).to.deep.equal([
      ['fees-paid-in-coin', 99, 0.015],
      ['missing', 0, 0.05 - 0.015],
    ]);
    let after = position;
    for (const f of fills) after = applyFill(after, f);
    expect(after.amount).to.be.closeTo(19.95, 1e-9);
    // this pair realizes the fee part at what it was worth when paid (its cost counts on the pair that paid it)
    // and the unexplained rest at its whole entry cost
    expect(after.realizedPnl).to.be.closeTo(0.015 * (99 - 100.1) - 0.035 * 100.1, 1e-9);
    expect(after.costBasis).to.be.closeTo(19.95 * 100.1, 1e-9);
  });

  it('writes it all off at 0 when no fee of the bot explains it', () => {
    const fills = writeOffFills(book(20, 100), 1, { amount: 0, quoteValue: 0 }, 'w', NOW);
    expect(fills).to.have.length(1);
    expect(fills[0]).to.include({ side: 'sell', price: 0, amount: 1, tradeId: 'missing', timestamp: NOW });
  });
});

describe('writeOffPlace: a write-off of a position whose fills are all archived (review 25)', () => {
  // Binance numbers trades: a symbol's fills replay in trade-id order. The position's entry was folded into the
  // checkpoint (more than 20 final orders since), so no fill of the symbol is hot: the write-off follows the
  // checkpoint's last trade id, never the time it was stamped with (a host clock 2 minutes ahead stamped it after
  // the exit and the re-entry that followed it).
  const ETH = 'ETH/USDT';
  const EX = 1_800_000_000_000; // the exchange's time when the stop-loss fires
  const ethMarket = { [ETH]: { amountStep: 0.0001, minAmount: 0.0001, minNotional: 5 } };
  const eth = (over: Partial<Fill>): Fill => fill({ symbol: ETH, feeCost: 0, feeCurrency: 'USDT', ...over });

  it('keeps the last trade id in the checkpoint, so the re-entry after the stop-loss keeps its own entry price', () => {
    const entry = eth({
      orderId: '900',
      tradeId: '4000',
      price: 2000,
      amount: 1,
      timestamp: EX - 5 * 86_400_000,
    });
    const checkpoint = derivePositions({}, [entry], ethMarket, 'trade-id');
    expect(checkpoint[ETH]!.lastTradeId).to.equal('4000');
    // the account holds 0.9: 0.1 written off, stamped 2 minutes late (the host's clock), after no hot fill
    const place = writeOffPlace(ETH, [], EX + 120_000, 'trade-id', checkpoint[ETH]!.lastTradeId);
    expect(place.afterTradeId).to.equal('4000');
    const writeOff = writeOffFills(
      checkpoint[ETH]!,
      0.1,
      { amount: 0, quoteValue: 0 },
      'write-off-1',
      place.at,
    ).map((f) => ({ ...f, afterTradeId: place.afterTradeId }));
    const exit = eth({
      orderId: '901',
      tradeId: '5001',
      side: 'sell',
      price: 1800,
      amount: 0.9,
      timestamp: EX + 1_000,
    });
    const reentry = eth({
      orderId: '902',
      tradeId: '5002',
      price: 1810,
      amount: 0.5,
      timestamp: EX + 30_000,
    });
    const after = derivePositions(checkpoint, [reentry, exit, ...writeOff], ethMarket, 'trade-id')[ETH]!;
    expect(after.amount).to.be.closeTo(0.5, 1e-9);
    expect(averageEntryPrice(after)).to.be.closeTo(1810, 1e-6);
    expect(after.lastTradeId).to.equal('5002');
  });

  it('follows the later of the hot fills and the checkpoint; none numbered (Bybit): time order, stamped on the exchange clock', () => {
    expect(writeOffPlace(ETH, [eth({ tradeId: '7' })], EX, 'trade-id', '4000').afterTradeId).to.equal('4000');
    expect(writeOffPlace(ETH, [eth({ tradeId: '4001' })], EX, 'trade-id', '4000').afterTradeId).to.equal(
      '4001',
    );
    expect(
      writeOffPlace(ETH, [eth({ tradeId: 'a1b2-uuid' })], EX, 'trade-id', undefined).afterTradeId,
    ).to.equal(undefined);
    expect(writeOffPlace(ETH, [], EX, 'trade-id', undefined)).to.deep.equal({
      at: EX,
      afterTradeId: undefined,
    });
    // Bybit's fills replay by time (its execIds, numbers, promise no order): no id is kept, none is followed, and
    // the exchange's time alone orders the write-off
    expect(
      derivePositions({}, [eth({ tradeId: '2210000000101610464' })], {}, 'time')[ETH]!.lastTradeId,
    ).to.equal(undefined);
    expect(writeOffPlace(ETH, [eth({ tradeId: '4001' })], EX, 'time', '4000').afterTradeId).to.equal(
      undefined,
    );
  });
});

describe('an order ended on our inference: did the exchange carry it out? (inferredOrderCoins)', () => {
  // the owner held 1 BNB beside the bot's 0.5; the bot's sell of 0.5 (or its buy of 0.5) ended with lookups missing
  const verdictAt = NOW;
  const sell = {
    symbol: BNB,
    side: 'sell' as const,
    type: 'market' as const,
    ownerHeld: 1,
    updatedAt: verdictAt,
  };
  const buy = { ...sell, side: 'buy' as const };
  const position = [book(0.5, 300)];
  const after = (total: number) => ({ balance: { BNB: coin(total) }, sentAt: verdictAt + 2_000 });

  it("a sell: carried out when the account holds less than the owner's holding plus the position, by more than one step", () => {
    expect(inferredOrderCoins(sell, after(1), position, 0.01)).to.equal('carried-out');
    expect(inferredOrderCoins(sell, after(1.25), position, 0.01)).to.equal('carried-out');
    expect(inferredOrderCoins(sell, after(1.5), position, 0.01)).to.equal('not-carried-out');
    expect(inferredOrderCoins(sell, after(1.495), position, 0.01)).to.equal('not-carried-out');
  });

  it('a buy: carried out when the account holds more, by more than one step', () => {
    expect(inferredOrderCoins(buy, after(2), position, 0.01)).to.equal('carried-out');
    expect(inferredOrderCoins(buy, after(1.5), position, 0.01)).to.equal('not-carried-out');
    expect(inferredOrderCoins(buy, after(1.505), position, 0.01)).to.equal('not-carried-out');
    expect(inferredOrderCoins(buy, after(1.2), position, 0.01)).to.equal('not-carried-out');
  });

  it("a limit order: may rest unseen (a sell's coins only locked, a buy's not arrived) unless its cancel ruled it out", () => {
    const limitSell = { ...sell, type: 'limit' as const };
    const limitBuy = { ...buy, type: 'limit' as const };
    expect(inferredOrderCoins(limitSell, after(1.5), position, 0.01)).to.equal('may-rest');
    expect(inferredOrderCoins(limitBuy, after(1.5), position, 0.01)).to.equal('may-rest');
    // carried out is carried out, resting or not
    expect(inferredOrderCoins(limitSell, after(1), position, 0.01)).to.equal('carried-out');
    // a cancel answered by the matching engine found no such open order: the balance tells
    expect(inferredOrderCoins({ ...limitSell, restRuledOut: true }, after(1.5), position, 0.01)).to.equal(
      'not-carried-out',
    );
    expect(inferredOrderCoins({ ...limitBuy, restRuledOut: true }, after(1.5), position, 0.01)).to.equal(
      'not-carried-out',
    );
  });

  it('wait: no reading sent after the verdict (one sent before may predate the fill)', () => {
    expect(inferredOrderCoins(sell, undefined, position, 0.01)).to.equal('wait');
    expect(inferredOrderCoins(sell, { ...after(1), sentAt: verdictAt }, position, 0.01)).to.equal('wait');
  });

  it('unjudged: nothing was measured of the owner before the send', () => {
    const { ownerHeld: _, ...unmeasured } = sell;
    expect(inferredOrderCoins(unmeasured, after(1), position, 0.01)).to.equal('unjudged');
  });

  it("the owner's holding is the coin's total less every position of the bot in it (negative: a shortfall)", () => {
    const positions = [book(0.5, 300), book(0.25, 0.004, 'BNB/BTC'), book(2, 1, 'ETH/USDT')];
    expect(ownerHolding('BNB', positions, { BNB: coin(1, 0.75) })).to.be.closeTo(1, 1e-12);
    expect(ownerHolding('BNB', positions, { BNB: coin(0.5) })).to.be.closeTo(-0.25, 1e-12);
    expect(ownerHolding('SOL', positions, {})).to.equal(0);
  });

  it('an account already short of the position: a sell not carried out is not read as coins gone (review 26b)', () => {
    // fees of other pairs took 0.01 BNB of the bot's 0.5: the owner's holding measured is −0.01
    const short = { ...sell, ownerHeld: ownerHolding('BNB', position, { BNB: coin(0.49) }) };
    expect(inferredOrderCoins(short, after(0.49), position, 0.001)).to.equal('not-carried-out');
    expect(inferredOrderCoins(short, after(0), position, 0.001)).to.equal('carried-out');
  });
});
