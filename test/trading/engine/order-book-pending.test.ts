import { expect } from 'chai';
import fc from 'fast-check';
import type { OrderStatus } from '../../../src/shared/domain/order';
import { silentLogger } from '../../../src/shared/logging/logger';
import { OrderBook } from '../../../src/trading/engine/orders/order-book';
import { needsExchange, type LocalOrder } from '../../../src/trading/engine/orders/order-state';
import { CountedStore } from '../../../src/trading/engine/state/counted-store';
import { EventOutbox } from '../../../src/trading/engine/state/event-outbox';
import { archiveFinalOrders, type HistoryLog } from '../../../src/trading/engine/state/order-archive';
import { StateGateway } from '../../../src/trading/engine/state/state-gateway';
import {
  defaultTradingState,
  type HistoryEntry,
  type TradingState,
} from '../../../src/trading/engine/state/trading-state';
import { FakeClock } from '../../support/fake-clock';
import { localOrder } from '../../support/local-order';
import { MemoryStore } from '../../support/memory-store';

const SYMBOLS = ['BTC/USDT', 'ETH/USDT', 'SOL/USDT'];
const STATUSES: OrderStatus[] = [
  'intent',
  'unknown',
  'open',
  'partially_filled',
  'filled',
  'cancelled',
  'rejected',
  'expired',
];

/** What pendingOrders answered before it kept a list: every hot order that needs the exchange, oldest first. */
function freshPending(data: TradingState, symbol?: string): LocalOrder[] {
  return Object.values(data.orders)
    .filter((o) => (!symbol || o.symbol === symbol) && needsExchange(o))
    .sort((a, b) => a.createdAt - b.createdAt);
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

/** The order side's state as wireOrders builds it: the store counted once, seen by the gateway and the outbox. */
function books(): { memory: MemoryStore<TradingState>; state: StateGateway; orderBook: OrderBook } {
  const memory = new MemoryStore(defaultTradingState());
  const store = new CountedStore(memory);
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
  return { memory, state, orderBook };
}

/** An order's status and how much of it the fills booked so far cover (complete or not: needsExchange). */
const shape = fc.record({
  status: fc.constantFrom(...STATUSES),
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
    createdAt: fc.integer({ min: 0, max: 5 }),
    shape,
  }),
  // an order's answer committed as a new object (commitOrder)
  fc.record({ kind: fc.constant('answer' as const), pick: fc.nat(), shape }),
  // recovery's and the tick's way too: the order changed in place inside a commit
  fc.record({ kind: fc.constant('inPlace' as const), pick: fc.nat(), shape }),
  // a change written within the debounce (the same in memory at once)
  fc.record({ kind: fc.constant('change' as const), pick: fc.nat(), shape }),
  // a commit made on the store itself, past the order side's count (the daemon's identity binding does this)
  fc.record({ kind: fc.constant('direct' as const), pick: fc.nat(), shape }),
  // a commit whose mutation throws halfway: what it changed before the throw stays in memory
  fc.record({ kind: fc.constant('throws' as const), pick: fc.nat(), shape }),
  // the state's orders record put in place of another one
  fc.record({ kind: fc.constant('replace' as const) }),
  // the archive: final orders beyond the most recent kept move to the journal
  fc.record({ kind: fc.constant('archive' as const), kept: fc.integer({ min: 0, max: 2 }) }),
  // a read; its caller then changes the array it got (a caller may: it is its own)
  fc.record({
    kind: fc.constant('read' as const),
    symbol: fc.option(fc.constantFrom(...SYMBOLS, 'XRP/USDT'), { nil: undefined }),
    scribble: fc.boolean(),
  }),
);

describe('OrderBook pendingOrders kept between changes', () => {
  it('always answers what a fresh listing of the state answers, across random commits, changes and archives', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 60, size: 'max' }), async (steps) => {
        const { memory, state, orderBook } = books();
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
            const o = localOrder({ clientOrderId: `bot-${next}`, symbol: s.symbol, createdAt: s.createdAt });
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
          } else {
            const got = orderBook.pendingOrders(s.symbol);
            const want = freshPending(state.data, s.symbol);
            // the same objects in the same order, not just equal copies
            expect(got.length).to.equal(want.length);
            got.forEach((o, i) => expect(o).to.equal(want[i]));
            if (s.scribble) got.reverse().push(localOrder({ clientOrderId: 'not-in-state' }));
          }
        }
        expect(orderBook.pendingOrders()).to.deep.equal(freshPending(state.data));
        for (const symbol of SYMBOLS)
          expect(orderBook.pendingOrders(symbol)).to.deep.equal(freshPending(state.data, symbol));
      }),
      { numRuns: 300 },
    );
  });

  it('lists the orders once per version of the state, however often it is asked', async () => {
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
    const listed = Object.values;
    let listings = 0;
    Object.values = ((o: object) => {
      listings += 1;
      return listed(o);
    }) as typeof Object.values;
    try {
      for (let i = 0; i < 15; i++) {
        expect(orderBook.pendingOrders()).to.deep.equal(first);
        for (const symbol of SYMBOLS) orderBook.pendingOrders(symbol);
      }
      expect(listings).to.equal(0);
      await state.commit((d) => {
        d.orders['bot-1'].status = 'cancelled';
      });
      expect(orderBook.pendingOrders()).to.have.length(999);
      expect(listings).to.equal(1);
    } finally {
      Object.values = listed;
    }
  });
});
