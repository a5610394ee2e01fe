/**
 * Positions the bot can no longer sell (decide/unsellable.ts, pure), told once at a markets load and remembered in
 * the state (exchange-watch/unsellable-watch.ts, on an in-memory state), and the operator's write-off of one
 * (operator/operator-write-off.ts `writeOffByOperator`, pure).
 */
import { expect } from 'chai';
import { silentLogger } from '../../../src/shared/logging/logger';
import { emptyBook, type PositionBook } from '../../../src/trading/engine/books/pnl';
import {
  unsellableChanges,
  unsellableHolding,
  unsellableSummary,
} from '../../../src/trading/engine/decide/unsellable';
import { UnsellableWatch } from '../../../src/trading/engine/exchange-watch/unsellable-watch';
import { writeOffByOperator } from '../../../src/trading/engine/operator/operator-write-off';
import type { Market } from '../../../src/trading/exchange/exchange';
import { memoryTradingState, type MemoryTradingState } from '../../support/memory-state';
import { BTC_MARKET } from '../../support/risk-fixtures';

const BTC = 'BTC/USDT';
const market = (over: Partial<Market> = {}): Market => ({ ...BTC_MARKET, ...over });
const book = (amount: number, price = 60_000): PositionBook => ({
  ...emptyBook(BTC),
  amount,
  costBasis: amount * price,
  openedAt: 1,
});

describe('a holding the bot can no longer sell (pure)', () => {
  it('a position above the minimums is sellable; one below a raised minimum amount is not', () => {
    expect(unsellableHolding(BTC, 0.033, market(), 60_000)).to.equal(null);
    expect(unsellableHolding(BTC, 0.033, market({ minAmount: 0.05 }), 58_000)).to.deep.equal({
      symbol: BTC,
      amount: 0.033,
      reason: 'below-minimum',
      price: 58_000,
      minAmount: 0.05,
      minNotional: 5,
    });
  });

  it('one worth less than a raised minimum order value is not sellable either', () => {
    const h = unsellableHolding(BTC, 0.0015, market({ minNotional: 100 }), 60_000);
    expect(h?.reason).to.equal('below-minimum');
    expect(unsellableHolding(BTC, 0.002, market({ minNotional: 100 }), 60_000)).to.equal(null);
  });

  it("what is below a market order's own step or minimum is sellable by a limit; only below that is it told", () => {
    const lotted = market({ marketLot: { step: 0.01, min: 0.02 } });
    // 0.0033 BTC (~200 USDT): no market order sells it, a limit order does
    expect(unsellableHolding(BTC, 0.0033, lotted, 60_000)).to.equal(null);
    // below one market step and no order sells it: the dust a market exit leaves, never told
    expect(unsellableHolding(BTC, 0.00005, lotted, 60_000)).to.equal(null);
    // a market step's worth that no order sells (the minimum value raised above it): told, with the least an order
    // sells (a limit's)
    const raised = market({ marketLot: { step: 0.01, min: 0.02 }, minNotional: 2_000 });
    expect(unsellableHolding(BTC, 0.02, raised, 60_000)).to.deep.equal({
      symbol: BTC,
      amount: 0.02,
      reason: 'below-minimum',
      price: 60_000,
      // a limit sell of it is priced 2 % under the last price: its value is judged there
      sellPrice: 58_800,
      minAmount: BTC_MARKET.minAmount,
      minNotional: 2_000,
    });
  });

  it("the alert of a holding a limit cannot sell says its value at the limit's price, not only at the last price", () => {
    // 0.02 BTC at 60,000 is 1,200 USDT, above a 1,190 minimum; a limit sell of it, at 58,800, is 1,176: below it
    const lotted = market({ marketLot: { step: 0.01, min: 0.03 }, minNotional: 1_190 });
    const h = unsellableHolding(BTC, 0.02, lotted, 60_000)!;
    expect(h).to.include({ reason: 'below-minimum', price: 60_000, sellPrice: 58_800 });
    expect(unsellableSummary(h, 'binance', 'USDT'))
      .to.include(
        'worth ~1200.00 USDT at 60000 (~1176.00 USDT at 58800, the price a sell of it is offered at)',
      )
      .and.include('minimum value 1190 USDT');
    // without a market order's own rules there is no such price
    expect(unsellableHolding(BTC, 0.0015, market({ minNotional: 100 }), 60_000)).not.to.have.property(
      'sellPrice',
    );
  });

  it('the dust an exit leaves (below one amount step) is never told, whatever the minimums', () => {
    expect(unsellableHolding(BTC, 0.000007, market(), 60_000)).to.equal(null);
    expect(unsellableHolding(BTC, 0.000007, market({ minAmount: 0.05 }), 60_000)).to.equal(null);
    expect(unsellableHolding(BTC, 0, market({ minAmount: 0.05 }), 60_000)).to.equal(null);
  });

  it('any amount of a delisted symbol (no market) is unsellable', () => {
    expect(unsellableHolding(BTC, 0.01, undefined, 60_000)).to.deep.equal({
      symbol: BTC,
      amount: 0.01,
      reason: 'delisted',
      price: 60_000,
    });
    expect(unsellableHolding(BTC, 0.01, undefined, undefined)).to.deep.equal({
      symbol: BTC,
      amount: 0.01,
      reason: 'delisted',
    });
  });

  it('tells a new one, keeps a told one, forgets one sellable again in another amount, and leaves a symbol with an order alone', () => {
    const h = unsellableHolding(BTC, 0.033, market({ minAmount: 0.05 }), 58_000)!;
    const held = { [BTC]: 0.033 };
    expect(unsellableChanges({}, [h], new Set(), held)).to.deep.equal({ fresh: [h], cleared: [] });
    const told = { [BTC]: { reason: 'below-minimum' as const, amount: 0.033, at: 1 } };
    expect(unsellableChanges(told, [h], new Set(), held)).to.deep.equal({ fresh: [], cleared: [] });
    // sellable again, the same amount held (a price about a minimum value): kept, not told again when it turns back
    expect(unsellableChanges(told, [], new Set(), held)).to.deep.equal({ fresh: [], cleared: [] });
    // sold, more bought, or gone: forgotten
    expect(unsellableChanges(told, [], new Set(), { [BTC]: 0.000007 })).to.deep.equal({
      fresh: [],
      cleared: [BTC],
    });
    expect(unsellableChanges(told, [], new Set(), { [BTC]: 0.066 })).to.deep.equal({
      fresh: [],
      cleared: [BTC],
    });
    expect(unsellableChanges(told, [], new Set(), {})).to.deep.equal({ fresh: [], cleared: [BTC] });
    expect(unsellableChanges(told, [], new Set([BTC]), {})).to.deep.equal({ fresh: [], cleared: [] });
    expect(unsellableChanges({}, [h], new Set([BTC]), held)).to.deep.equal({ fresh: [], cleared: [] });
    // below the minimum, then delisted: a new reason is told again
    const gone = { ...h, reason: 'delisted' as const };
    expect(unsellableChanges(told, [gone], new Set(), held).fresh).to.deep.equal([gone]);
  });

  it('the alert says what, its value, why, that the bot no longer manages it, and what to do', () => {
    const low = unsellableSummary(
      unsellableHolding(BTC, 0.033, market({ minAmount: 0.05 }), 58_000)!,
      'binance',
      'USDT',
    );
    expect(low).to.include('0.033').and.include('1914.00 USDT').and.include('minimum amount 0.05');
    expect(low).to.include('no longer manages it').and.include('by hand').and.include('/writeoff BTC/USDT');
    const gone = unsellableSummary(unsellableHolding(BTC, 0.01, undefined, 60_000)!, 'binance', 'USDT');
    // Bybit drops a suspended spot symbol from its list as it drops a delisted one: the alert says it may come back
    const maybe = unsellableSummary(unsellableHolding(BTC, 0.01, undefined, 60_000)!, 'bybit', 'USDT', true);
    expect(maybe).to.include('or suspended for a while').and.include("Check bybit's announcements first");
    expect(gone).not.to.include('suspended');
    expect(gone).to.include('no longer listed on binance').and.include('risk.maxOpenPositions');
    expect(gone).to.include('/writeoff BTC/USDT');
  });
});

describe('unsellable positions told at a markets load, remembered in the state', () => {
  const books: Record<string, PositionBook> = {};
  const orderBook = {
    markets: {} as Record<string, Market>,
    lastPrices: {} as Record<string, number>,
    pending: [] as Array<{ symbol: string }>,
    positions: () => books,
    pendingSymbols: () => [...new Set(orderBook.pending.map((o) => o.symbol))],
  };
  const watch = (state: MemoryTradingState): UnsellableWatch =>
    new UnsellableWatch({ exchangeId: 'binance', orderBook, state, logger: silentLogger() });

  beforeEach(() => {
    books[BTC] = book(0.033);
    orderBook.markets = { [BTC]: market() };
    orderBook.lastPrices[BTC] = 58_000;
    orderBook.pending = [];
  });

  it('told once, not again at the next load, after a restart, nor after it was sellable in between; again for another amount', async () => {
    const state = memoryTradingState();
    await watch(state).loaded(1);
    expect(state.events).to.deep.equal([]);
    orderBook.markets = { [BTC]: market({ minAmount: 0.05 }) };
    await watch(state).loaded(2);
    expect(state.events.map((e) => e.type)).to.deep.equal(['position.unsellable']);
    expect(state.events[0]!.data).to.include({ symbol: BTC, amount: 0.033, reason: 'below-minimum' });
    expect(state.data.announcedUnsellable).to.deep.equal({
      [BTC]: { reason: 'below-minimum', amount: 0.033, at: 2 },
    });
    const same = watch(state);
    await same.loaded(3);
    // a restart: a new watch on the state as saved
    await watch(state).loaded(4);
    expect(state.events).to.have.length(1);
    // the minimum lowered and raised back, the same holding: told once
    orderBook.markets = { [BTC]: market() };
    await watch(state).loaded(5);
    expect(Object.keys(state.data.announcedUnsellable)).to.deep.equal([BTC]);
    orderBook.markets = { [BTC]: market({ minAmount: 0.05 }) };
    await watch(state).loaded(6);
    expect(state.events).to.have.length(1);
    // sellable, another amount held (the strategy bought more): forgotten, told anew once unsellable again
    books[BTC] = book(0.04);
    orderBook.markets = { [BTC]: market() };
    await watch(state).loaded(7);
    expect(state.data.announcedUnsellable).to.deep.equal({});
    orderBook.markets = { [BTC]: market({ minAmount: 0.05 }) };
    await watch(state).loaded(8);
    expect(state.events.map((e) => e.type)).to.deep.equal(['position.unsellable', 'position.unsellable']);
  });

  it('the dust an exit leaves is not told, nor a symbol with an order in flight', async () => {
    const state = memoryTradingState();
    books[BTC] = book(0.000007);
    orderBook.markets = { [BTC]: market({ minAmount: 0.05 }) };
    await watch(state).loaded(1);
    books[BTC] = book(0.033);
    orderBook.pending = [{ symbol: BTC }];
    await watch(state).loaded(2);
    expect(state.events).to.deep.equal([]);
  });

  it('a delisted symbol held is told once', async () => {
    const state = memoryTradingState();
    orderBook.markets = {};
    await watch(state).loaded(1);
    await watch(state).loaded(2);
    expect(state.events.map((e) => e.data.reason)).to.deep.equal(['delisted']);
  });
});

describe("the operator's write-off (pure)", () => {
  const ctx = (over: Partial<Parameters<typeof writeOffByOperator>[1]> = {}) => ({
    book: book(0.033),
    market: market({ minAmount: 0.05 }),
    price: 58_000,
    busy: false,
    now: 1_000,
    place: { at: 2_000, afterTradeId: '41' },
    ...over,
  });

  it('writes off the whole holding at price 0 as one fill of a write-off order', () => {
    const d = writeOffByOperator(BTC, ctx());
    expect(d.ok).to.equal(true);
    if (!d.ok) return;
    expect(d.order).to.include({
      symbol: BTC,
      side: 'sell',
      amount: 0.033,
      filled: 0.033,
      status: 'filled',
      purpose: 'write-off',
    });
    expect(d.order.clientOrderId).to.match(/^write-off-BTCUSDT-1000$/);
    expect(d.order.fills).to.have.length(1);
    expect(d.order.fills[0]).to.include({ price: 0, amount: 0.033, timestamp: 2_000, afterTradeId: '41' });
    expect(d.holding.reason).to.equal('below-minimum');
  });

  it('writes off a delisted symbol held', () => {
    const d = writeOffByOperator(BTC, ctx({ market: undefined }));
    expect(d.ok && d.holding.reason).to.equal('delisted');
  });

  it('never writes off a position the bot can sell, dust, nothing, or a symbol with an order in flight', () => {
    const refused = (c: ReturnType<typeof ctx>): string => {
      const d = writeOffByOperator(BTC, c);
      return d.ok ? 'written off' : d.refusal;
    };
    expect(refused(ctx({ market: market() }))).to.match(/can still sell/);
    expect(refused(ctx({ book: book(0.000007) }))).to.match(/can still sell|dust/);
    expect(refused(ctx({ book: undefined }))).to.match(/holds nothing/);
    expect(refused(ctx({ book: book(0) }))).to.match(/holds nothing/);
    expect(refused(ctx({ busy: true }))).to.match(/in flight/);
  });
});
