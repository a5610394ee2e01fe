import { expect } from 'chai';
import type { OrderBook } from '../../../src/trading/engine/orders/order-book';
import type { InferredOrderWatch } from '../../../src/trading/engine/tick/inferred-orders';
import { isFinal, type LocalOrder } from '../../../src/trading/engine/orders/order-state';
import { placementBlock } from '../../../src/trading/engine/decide/placement-gate';
import { readPlacementFacts } from '../../../src/trading/engine/decide/placement-facts';
import type { PauseState } from '../../../src/trading/engine/state/trading-state';
import { FakeClock } from '../../support/fake-clock';
import { intent, orderId, testConfig } from '../../support/engine-harness';
import { BTC_MARKET } from '../../support/risk-fixtures';

interface Book {
  orders?: LocalOrder[];
  openPositions?: string[];
  pause?: PauseState | null;
  refusal?: string | null;
}

/** The order manager's refusal and the order book's reads the facts are made of, over a fixed book. */
function sources(book: Book): { manager: { placementRefusal: string | null }; orderBook: OrderBook } {
  const orders = book.orders ?? [];
  const fake = {
    markets: { 'BTC/USDT': BTC_MARKET, 'ETH/USDT': { ...BTC_MARKET, symbol: 'ETH/USDT', halted: true } },
    pendingOrders: (symbol?: string) =>
      orders.filter((o) => (!symbol || o.symbol === symbol) && !isFinal(o.status)),
    hotOrders: (test?: (o: LocalOrder) => boolean) => (test ? orders.filter(test) : orders),
    openPositions: () => (book.openPositions ?? []).map((symbol) => ({ symbol })),
  };
  return { manager: { placementRefusal: book.refusal ?? null }, orderBook: fake as unknown as OrderBook };
}

const config = testConfig({
  trading: { symbols: ['BTC/USDT', 'ETH/USDT'], risk: { maxOpenPositions: 2 } },
}).trading;
const noInferred: Pick<InferredOrderWatch, 'inferredOrderHold'> = { inferredOrderHold: () => null };

function facts(book: Book, symbol = 'BTC/USDT', inferred = noInferred) {
  return readPlacementFacts(
    {
      ...sources(book),
      state: { pause: book.pause ?? null },
      config,
      clock: new FakeClock(),
      inferred,
      exchange: { traits: {} },
    },
    symbol,
  );
}

describe('readPlacementFacts: what the placement gate answers on, read in one place', () => {
  it('a state that cannot be saved is the refusal, never a pause: the gate refuses every order on it', () => {
    const f = facts({ refusal: 'state cannot be saved (ENOSPC)' });
    expect(f.pause).to.equal(null);
    expect(placementBlock(f, 'entry')?.rule).to.equal('refused');
    expect(placementBlock(f, 'stop-loss')?.rule).to.equal('refused');
  });

  it("an order refused unsent holds entries and strategy exits its wait; a stop-loss only its own protective exit's", () => {
    const unsent = (n: number, purpose: LocalOrder['purpose'], at: number): LocalOrder =>
      intent(orderId(n), {
        purpose,
        side: purpose === 'entry' ? 'buy' : 'sell',
        status: 'rejected',
        refused: true,
        neverSent: true,
        retryAfterMs: 1_000,
        createdAt: at,
        updatedAt: at,
      });
    const entryHeldBack = facts({ orders: [unsent(1, 'entry', 100)] });
    expect(entryHeldBack).to.deep.include({
      unsentUntil: 1_100,
      protectiveUnsentUntil: null,
      cooldownUntil: null,
    });
    const stopHeldBack = facts({ orders: [unsent(1, 'entry', 100), unsent(2, 'stop-loss', 200)] });
    expect(stopHeldBack).to.deep.include({
      unsentUntil: 1_200,
      protectiveUnsentUntil: 1_200,
      protectiveCooldownUntil: null,
    });
  });

  it("a stop-loss's limit cancelled unsold is a miss of the symbol's, a market one is not", () => {
    const stop = (type: 'limit' | 'market') =>
      intent(orderId(1), { purpose: 'stop-loss', side: 'sell', type, status: 'cancelled', createdAt: 100 });
    expect(facts({ orders: [stop('limit')] }).urgentLimitMissed).to.equal(true);
    expect(facts({ orders: [stop('market')] }).urgentLimitMissed).to.equal(false);
    expect(facts({ orders: [stop('limit')] }, 'ETH/USDT').urgentLimitMissed).to.equal(false);
  });

  it('the stored pause holds entries, exits pass', () => {
    const f = facts({ pause: { by: 'operator', reason: 'maintenance', at: 0 } });
    expect(placementBlock(f, 'entry')?.rule).to.equal('paused');
    expect(placementBlock(f, 'exit')).to.equal(null);
  });

  it('listed, halted and traded as the markets and the config say', () => {
    expect(facts({}, 'ETH/USDT')).to.deep.include({ listed: true, halted: true, traded: true });
    expect(facts({}, 'SOL/USDT')).to.deep.include({ listed: false, halted: false, traded: false });
  });

  it('counts open positions and entries in flight on other symbols as position slots, never its own', () => {
    const orders = [
      intent(orderId(1), { symbol: 'ETH/USDT', status: 'open' }),
      intent(orderId(2), { symbol: 'BTC/USDT', status: 'open' }),
      intent(orderId(3), { symbol: 'SOL/USDT', status: 'open', side: 'sell', purpose: 'exit' }),
    ];
    const f = facts({ orders, openPositions: ['BTC/USDT', 'XRP/USDT'] });
    // XRP (position) + ETH (entry in flight); BTC is the symbol asked about, SOL's order is an exit
    expect(f.positionsHeld).to.equal(2);
    expect(placementBlock({ ...f, pending: [] }, 'entry')?.rule).to.equal('position-limit');
  });

  it("judges each other symbol's inferred-order hold once, however many entries it has (not once per order)", () => {
    const orders = [
      ...Array.from({ length: 50 }, (_, i) =>
        intent(orderId(10 + i), { symbol: 'ETH/USDT', status: 'rejected' }),
      ),
      ...Array.from({ length: 50 }, (_, i) =>
        intent(orderId(100 + i), { symbol: 'SOL/USDT', status: 'rejected' }),
      ),
    ];
    const asked: string[] = [];
    const inferred = {
      inferredOrderHold: (symbol: string) => {
        asked.push(symbol);
        // the last of SOL's entries is still in question
        return symbol === 'SOL/USDT' ? { orders: [orderId(149)], reason: 'in question' } : null;
      },
    };
    expect(facts({ orders }, 'BTC/USDT', inferred).positionsHeld).to.equal(1);
    expect(asked.sort()).to.deep.equal(['BTC/USDT', 'ETH/USDT', 'SOL/USDT']);
    // a symbol already held (an open position) needs no judgement
    asked.length = 0;
    expect(facts({ orders, openPositions: ['ETH/USDT'] }, 'BTC/USDT', inferred).positionsHeld).to.equal(2);
    expect(asked.sort()).to.deep.equal(['BTC/USDT', 'SOL/USDT']);
  });

  it('an entry ended on our inference and still in question holds its symbol a slot', () => {
    const ended = intent(orderId(4), { symbol: 'ETH/USDT', status: 'rejected' });
    const inferred = {
      inferredOrderHold: (symbol: string) =>
        symbol === 'ETH/USDT' ? { orders: [ended.clientOrderId], reason: 'in question' } : null,
    };
    expect(facts({ orders: [ended] }, 'BTC/USDT', inferred).positionsHeld).to.equal(1);
    expect(facts({ orders: [ended] }, 'BTC/USDT').positionsHeld).to.equal(0);
  });
});
