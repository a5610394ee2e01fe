import { expect } from 'chai';
import fc from 'fast-check';
import { silentLogger } from '../../../src/shared/logging/logger';
import type { Market } from '../../../src/trading/exchange/exchange';
import { positionsOf } from '../../../src/trading/engine/books/fill-sync';
import { OrderBook } from '../../../src/trading/engine/orders/order-book';
import { needsExchange, type LocalOrder } from '../../../src/trading/engine/orders/order-state';
import { CountedStore } from '../../../src/trading/engine/state/counted-store';
import { EventOutbox } from '../../../src/trading/engine/state/event-outbox';
import { archiveFinalOrders, type HistoryLog } from '../../../src/trading/engine/state/order-archive';
import type { OrderStatus } from '../../../src/shared/domain/order';
import { StateGateway, type StateStore } from '../../../src/trading/engine/state/state-gateway';
import { ORDER_STATUSES } from '../../../src/trading/engine/state/trading-state-schema';
import {
  defaultTradingState,
  type HistoryEntry,
  type TradingState,
} from '../../../src/trading/engine/state/trading-state';
import { FakeClock } from '../../support/fake-clock';
import { localOrder } from '../../support/local-order';
import { MemoryStore } from '../../support/memory-store';

const SYMBOLS = ['BTC/USDT', 'ETH/USDT', 'SOL/USDT'];

/** What hotOrders answered before it kept a list: the hot orders that pass `test`, oldest first. */
function freshHot(data: TradingState, test?: (o: LocalOrder) => boolean): LocalOrder[] {
  const orders = Object.values(data.orders);
  return (test ? orders.filter(test) : orders).sort((a, b) => a.createdAt - b.createdAt);
}

/** What pendingOrders answered before: every hot order that needs the exchange, oldest first. */
function freshPending(data: TradingState, symbol?: string): LocalOrder[] {
  return freshHot(data, (o) => (!symbol || o.symbol === symbol) && needsExchange(o));
}

/** The tests the engine's callers pass to hotOrders, in kind: none, a symbol's, a status's. */
const TESTS: Record<string, ((o: LocalOrder) => boolean) | undefined> = {
  all: undefined,
  btc: (o) => o.symbol === 'BTC/USDT',
  working: (o) => o.status === 'open' || o.status === 'partially_filled',
};

/**
 * Markets whose minimum order value (1,000) makes every position of these tests (1 coin at 100) dust: with them a
 * buy's position has no round trip open (`openedAt` null), without them it has.
 */
const DUST_MARKETS: Record<string, Market> = Object.fromEntries(
  SYMBOLS.map((symbol) => {
    const [base, quote] = symbol.split('/');
    return [
      symbol,
      { symbol, base, quote, amountStep: 0.001, priceStep: 0.01, minAmount: 0.001, minNotional: 1_000 },
    ];
  }),
);

/** `got` holds the very objects of `want`, in its order (not equal copies). */
function expectSame(got: LocalOrder[], want: LocalOrder[]): void {
  expect(got.length).to.equal(want.length);
  got.forEach((o, i) => expect(o).to.equal(want[i]));
}

/** Both reads against a fresh listing of `data`; the caller then scribbles on the arrays it got (they are its own). */
function expectFresh(
  orderBook: OrderBook,
  data: TradingState,
  symbol: string | undefined,
  test: string,
): void {
  const pending = orderBook.pendingOrders(symbol);
  const hot = orderBook.hotOrders(TESTS[test]);
  expectSame(pending, freshPending(data, symbol));
  expectSame(hot, freshHot(data, TESTS[test]));
  for (const got of [pending, hot]) got.reverse().push(localOrder({ clientOrderId: 'not-in-state' }));
  const symbols = orderBook.pendingSymbols();
  expect(symbols).to.deep.equal([...new Set(freshPending(data).map((o) => o.symbol))]);
  symbols.reverse().push('not-in-state');
  const positions = orderBook.positions();
  expect(positions).to.deep.equal(positionsOf(data, orderBook.markets, orderBook.fillOrder));
  for (const key of Object.keys(positions)) delete positions[key];
}

function memoryHistory(): HistoryLog {
  const entries: HistoryEntry[] = [];
  return {
    append: async (more) => {
      entries.push(...more);
    },
    readAll: async () => [...entries],
    tail: async (n) => entries.slice(-n),
    isEmpty: () => entries.length === 0,
  };
}

/**
 * The order side's state as wireOrders builds it: the store counted once, seen by the gateway and the outbox. Under
 * it, a wrapper as the tests' failing disk (order-manager.test.ts): while `diskFull`, a commit's mutation is applied
 * by the wrapper itself and the commit rejected, the store never called.
 */
function books(): {
  memory: MemoryStore<TradingState>;
  disk: { full: boolean };
  state: StateGateway;
  orderBook: OrderBook;
} {
  const memory = new MemoryStore(defaultTradingState());
  const disk = { full: false };
  const failing: StateStore = {
    get data() {
      return memory.data;
    },
    get version() {
      return memory.version;
    },
    change: (m) => memory.change(m),
    commit: (m) => {
      if (!disk.full) return memory.commit(m);
      m?.(memory.data);
      return Promise.reject(new Error('no space left on device'));
    },
    flush: () => memory.flush(),
  };
  const store = new CountedStore(failing);
  const logger = silentLogger();
  const outbox = new EventOutbox({ store, publisher: { publish: async () => undefined }, logger });
  const state = new StateGateway(store, outbox, logger, new FakeClock());
  const orderBook = new OrderBook({
    state,
    history: memoryHistory(),
    markets: {},
    botId: 'bot',
    traits: { fillOrder: 'time', buyFeeCoin: 'base' },
  });
  return { memory, disk, state, orderBook };
}

/** An order's status and how much of it the fills booked so far cover (complete or not: needsExchange). */
const shape = fc.record({
  status: fc.constantFrom(...ORDER_STATUSES),
  filled: fc.constantFrom(0, 1),
  booked: fc.boolean(),
});

function shaped(
  o: LocalOrder,
  s: { status: OrderStatus; filled: number; booked: boolean },
  at: number,
): LocalOrder {
  const fills =
    s.filled > 0 && s.booked
      ? [
          {
            orderId: `x-${o.clientOrderId}`,
            clientOrderId: o.clientOrderId,
            tradeId: `t-${o.clientOrderId}-${at}`,
            symbol: o.symbol,
            side: o.side,
            price: 100,
            amount: s.filled,
            feeCost: 0,
            feeCurrency: 'USDT',
            timestamp: at,
          },
        ]
      : [];
  return { ...o, status: s.status, filled: s.filled, fills, updatedAt: at };
}

/** One thing that happens to the state, or a read of the pending orders. */
const step = fc.oneof(
  // a new order committed (createdAt from a small range: equal times keep their insertion order)
  fc.record({
    kind: fc.constant('place' as const),
    symbol: fc.constantFrom(...SYMBOLS),
    side: fc.constantFrom('buy' as const, 'sell' as const),
    createdAt: fc.integer({ min: 0, max: 5 }),
    shape,
  }),
  // the markets loaded again (their lots decide whether what a position holds is dust), as a new record each load
  fc.record({ kind: fc.constant('markets' as const), dust: fc.boolean() }),
  // an order's answer committed as a new object (commitOrder)
  fc.record({ kind: fc.constant('answer' as const), pick: fc.nat(), shape }),
  // recovery's and the tick's way too: the order changed in place inside a commit
  fc.record({ kind: fc.constant('inPlace' as const), pick: fc.nat(), shape }),
  // a change written within the debounce (the same in memory at once)
  fc.record({ kind: fc.constant('change' as const), pick: fc.nat(), shape }),
  // a commit made on the store itself, past the order side's count (the daemon's identity binding does this)
  fc.record({ kind: fc.constant('direct' as const), pick: fc.nat(), shape }),
  // a commit the disk refuses: in memory all the same (the store keeps retrying its write)
  fc.record({ kind: fc.constant('diskFull' as const), pick: fc.nat(), shape }),
  // a commit whose mutation throws halfway: what it changed before the throw stays in memory
  fc.record({ kind: fc.constant('throws' as const), pick: fc.nat(), shape }),
  // the state's orders record put in place of another one
  fc.record({ kind: fc.constant('replace' as const) }),
  // the archive: final orders beyond the most recent kept move to the journal
  fc.record({ kind: fc.constant('archive' as const), kept: fc.integer({ min: 0, max: 2 }) }),
  // reads of the pending and the hot orders; their caller then changes the arrays it got
  fc.record({
    kind: fc.constant('read' as const),
    symbol: fc.option(fc.constantFrom(...SYMBOLS, 'XRP/USDT'), { nil: undefined }),
    test: fc.constantFrom(...Object.keys(TESTS)),
  }),
  // the same reads made inside a commit, after it changed an order in place
  fc.record({
    kind: fc.constant('readInside' as const),
    pick: fc.nat(),
    shape,
    symbol: fc.option(fc.constantFrom(...SYMBOLS), { nil: undefined }),
    test: fc.constantFrom(...Object.keys(TESTS)),
  }),
);

describe('OrderBook hot and pending orders and positions kept between changes', () => {
  it('always answers what a fresh listing of the state and a fresh replay of its fills answer, across random commits, changes, archives, markets loads, and inside a commit', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 60, size: 'max' }), async (steps) => {
        const { memory, disk, state, orderBook } = books();
        let next = 0;
        let at = 1;
        const pick = (n: number): string | undefined => {
          const ids = Object.keys(state.data.orders);
          return ids.length === 0 ? undefined : ids[n % ids.length];
        };
        for (const s of steps) {
          at += 1;
          if (s.kind === 'place') {
            next += 1;
            const o = localOrder({
              clientOrderId: `bot-${next}`,
              symbol: s.symbol,
              side: s.side,
              createdAt: s.createdAt,
            });
            await state.commitOrder(shaped(o, s.shape, at));
          } else if (
            s.kind === 'answer' ||
            s.kind === 'inPlace' ||
            s.kind === 'change' ||
            s.kind === 'direct'
          ) {
            const id = pick(s.pick);
            if (!id) continue;
            const changed = shaped(state.data.orders[id], s.shape, at);
            const inPlace = (d: TradingState): void => void Object.assign(d.orders[id], changed);
            if (s.kind === 'answer') await state.commitOrder(changed);
            else if (s.kind === 'inPlace') await state.commit(inPlace);
            else if (s.kind === 'change') state.change(inPlace);
            else await memory.commit(inPlace);
          } else if (s.kind === 'diskFull') {
            const id = pick(s.pick);
            if (!id) continue;
            disk.full = true;
            const refused = await state.commitOrder(shaped(state.data.orders[id], s.shape, at)).then(
              () => false,
              () => true,
            );
            disk.full = false;
            expect(refused).to.equal(true);
          } else if (s.kind === 'throws') {
            const id = pick(s.pick);
            if (!id) continue;
            const changed = shaped(state.data.orders[id], s.shape, at);
            const failed = await state
              .commit((d) => {
                d.orders[id].status = changed.status;
                throw new Error('refused halfway');
              })
              .then(
                () => false,
                () => true,
              );
            expect(failed).to.equal(true);
          } else if (s.kind === 'markets') {
            // the positions read before the load too, as the engine reads them at every tick
            orderBook.positions();
            orderBook.setMarkets(s.dust ? { ...DUST_MARKETS } : {});
          } else if (s.kind === 'replace') {
            await state.commit((d) => {
              d.orders = { ...d.orders };
            });
          } else if (s.kind === 'archive') {
            await archiveFinalOrders({
              state,
              history: memoryHistory(),
              markets: () => ({}),
              fillOrder: 'time',
              now: () => at,
              recentFinalKept: s.kept,
            });
          } else if (s.kind === 'readInside') {
            const id = pick(s.pick);
            if (!id) continue;
            const changed = shaped(state.data.orders[id], s.shape, at);
            await state.commit((d) => {
              expectFresh(orderBook, d, s.symbol, s.test);
              Object.assign(d.orders[id], changed);
              expectFresh(orderBook, d, s.symbol, s.test);
            });
          } else {
            expectFresh(orderBook, state.data, s.symbol, s.test);
          }
        }
        for (const symbol of [undefined, ...SYMBOLS])
          for (const test of Object.keys(TESTS)) expectFresh(orderBook, state.data, symbol, test);
      }),
      { numRuns: 300 },
    );
  });

  it('lists the orders and replays their fills once per version of the state, however often it is asked', async () => {
    const { state, orderBook } = books();
    for (let i = 1; i <= 1000; i++) {
      const o = localOrder({
        clientOrderId: `bot-${i}`,
        symbol: SYMBOLS[i % 3],
        status: 'open',
        createdAt: i,
      });
      state.change((d) => {
        d.orders[o.clientOrderId] = o;
      });
    }
    const first = orderBook.pendingOrders();
    const positions = orderBook.positions();
    const listed = Object.values;
    let listings = 0;
    Object.values = ((o: object) => {
      listings += 1;
      return listed(o);
    }) as typeof Object.values;
    try {
      for (let i = 0; i < 15; i++) {
        expect(orderBook.pendingOrders()).to.deep.equal(first);
        expect(orderBook.hotOrders()).to.deep.equal(first);
        expect(orderBook.pendingSymbols()).to.deep.equal([SYMBOLS[1], SYMBOLS[2], SYMBOLS[0]]);
        expect(orderBook.positions()).to.deep.equal(positions);
        for (const symbol of SYMBOLS) {
          orderBook.pendingOrders(symbol);
          orderBook.hotOrders((o) => o.symbol === symbol);
        }
      }
      expect(listings).to.equal(0);
      await state.commit((d) => {
        d.orders['bot-1'].status = 'cancelled';
      });
      expect(orderBook.pendingOrders()).to.have.length(999);
      expect(listings).to.equal(1);
      orderBook.positions();
      orderBook.positions();
      expect(listings).to.equal(2);
      orderBook.setMarkets({});
      orderBook.positions();
      expect(listings).to.equal(3);
    } finally {
      Object.values = listed;
    }
  });
});
