import { expect } from 'chai';
import fc from 'fast-check';
import { IllegalTransitionError } from '../../../src/shared/errors';
import type { OrderStatus } from '../../../src/shared/domain/order';
import type { ExchangeOrder, ExchangeOrderStatus } from '../../../src/trading/exchange/exchange';
import {
  addFills,
  applyExchangeOrder,
  canTransition,
  fillsComplete,
  isFinal,
  settleFinal,
  statusFromExchange,
  transition,
  type LocalOrder,
  judgeNotFound,
  withinNotFoundWindow,
} from '../../../src/trading/engine/orders/order-state';
import { localOrder } from '../../support/local-order';

const intent = (): LocalOrder => localOrder({ createdAt: 1, updatedAt: 1 });
const remote = (status: ExchangeOrderStatus, filled: number): ExchangeOrder => ({
  id: 'x1',
  clientOrderId: 'bot-1',
  symbol: 'BTC/USDT',
  side: 'buy',
  type: 'market',
  amount: 1,
  filled,
  remaining: 1 - filled,
  status,
  timestamp: 2,
});
const ALL: OrderStatus[] = [
  'intent',
  'unknown',
  'open',
  'partially_filled',
  'filled',
  'cancelled',
  'rejected',
  'expired',
];

describe('order state machine', () => {
  it('maps exchange statuses to local ones', () => {
    expect(statusFromExchange({ status: 'open' }, 0)).to.equal('open');
    expect(statusFromExchange({ status: 'open' }, 0.5)).to.equal('partially_filled');
    expect(statusFromExchange({ status: 'closed' }, 1)).to.equal('filled');
    expect(statusFromExchange({ status: 'canceled' }, 0)).to.equal('cancelled');
    expect(statusFromExchange({ status: 'rejected' }, 0)).to.equal('rejected');
    expect(statusFromExchange({ status: 'expired' }, 0.5)).to.equal('expired');
  });

  it('takes a rejection of an acknowledged order (Bybit rejects after its ack): rejected, or cancelled with its fills', () => {
    const open = applyExchangeOrder(transition(intent(), 'unknown', 2), remote('open', 0), 3);
    expect(applyExchangeOrder(open, remote('rejected', 0), 4)).to.include({ status: 'rejected', filled: 0 });
    const part = applyExchangeOrder(open, remote('open', 0.25), 4);
    expect(applyExchangeOrder(part, remote('rejected', 0.25), 5)).to.include({
      status: 'cancelled',
      filled: 0.25,
    });
    // a rejection read from a replica that has not seen the fills yet: the fills seen are kept
    expect(applyExchangeOrder(part, remote('rejected', 0), 5)).to.include({
      status: 'cancelled',
      filled: 0.25,
    });
  });

  it('keeps a partly filled order partly filled when a lagging read says open with nothing filled', () => {
    const part = applyExchangeOrder({ ...intent(), status: 'open' }, remote('open', 0.25), 4);
    expect(applyExchangeOrder(part, remote('open', 0), 5)).to.include({
      status: 'partially_filled',
      filled: 0.25,
    });
  });

  it('keeps the average price of what filled when a lagging read says less filled, at another average (review 44i)', () => {
    const part = applyExchangeOrder(
      { ...intent(), status: 'open' },
      { ...remote('open', 0.5), average: 101 },
      4,
    );
    // a replica behind: 0.25 filled at 100 (the first of the two trades)
    const lagging = applyExchangeOrder(part, { ...remote('open', 0.25), average: 100 }, 5);
    expect(lagging).to.include({ filled: 0.5, averagePrice: 101 });
    // the next read, as far as state or further: its average
    expect(applyExchangeOrder(lagging, { ...remote('closed', 1), average: 102 }, 6)).to.include({
      filled: 1,
      averagePrice: 102,
    });
  });

  it('allows the normal life intent → unknown → open → partially_filled → filled', () => {
    let o = transition(intent(), 'unknown', 2);
    o = applyExchangeOrder(o, remote('open', 0), 3);
    expect(o.status).to.equal('open');
    expect(o.exchangeOrderId).to.equal('x1');
    o = applyExchangeOrder(o, remote('open', 0.4), 4);
    expect(o.status).to.equal('partially_filled');
    o = applyExchangeOrder(o, remote('closed', 1), 5);
    expect(o).to.include({ status: 'filled', filled: 1, updatedAt: 5 });
  });

  it('an order in doubt before it ended is no longer once the exchange answers otherwise (unknown → any, open → other)', () => {
    const doubted = { inDoubtAt: 7, inDoubtToldAt: 7 };
    const unknown = { ...transition(intent(), 'unknown', 2), ...doubted };
    expect(transition({ ...intent(), ...doubted }, 'unknown', 3).inDoubtAt, 'intent → unknown').to.equal(7);
    expect(applyExchangeOrder(unknown, remote('open', 0), 3).inDoubtAt).to.equal(undefined);
    const open = {
      ...applyExchangeOrder(transition(intent(), 'unknown', 2), remote('open', 0), 3),
      ...doubted,
    };
    expect(transition(open, 'open', 4).inDoubtAt, 'the same status: nothing said').to.equal(7);
    expect(applyExchangeOrder(open, remote('open', 0.4), 4).inDoubtAt).to.equal(undefined);
    expect(transition(open, 'cancelled', 4).inDoubtAt).to.equal(undefined);
  });

  it('refuses to leave a final status', () => {
    for (const final of ALL.filter(isFinal)) {
      for (const to of ALL.filter((s) => s !== final)) {
        expect(canTransition(final, to), `${final} → ${to}`).to.equal(false);
        expect(() => transition({ ...intent(), status: final }, to, 9)).to.throw(IllegalTransitionError);
      }
    }
  });

  it('refuses going back to intent/unknown, and rejected once the order has fills', () => {
    expect(canTransition('open', 'unknown')).to.equal(false);
    expect(canTransition('open', 'intent')).to.equal(false);
    expect(canTransition('unknown', 'intent')).to.equal(false);
    expect(canTransition('open', 'rejected')).to.equal(true);
    expect(canTransition('partially_filled', 'rejected')).to.equal(false);
    expect(canTransition('partially_filled', 'open')).to.equal(false);
  });

  it('never lowers the filled amount, never leaves a final status, and takes anything the exchange says of an order not final (property)', () => {
    const update = fc.record({
      status: fc.constantFrom<ExchangeOrderStatus>('open', 'closed', 'canceled', 'rejected', 'expired'),
      filled: fc.double({ min: 0, max: 1, noNaN: true }),
    });
    fc.assert(
      fc.property(fc.array(update, { maxLength: 12 }), (updates) => {
        let o = intent();
        for (const u of updates) {
          const before = o;
          try {
            o = applyExchangeOrder(o, remote(u.status, u.filled), 10);
          } catch (err) {
            if (!(err instanceof IllegalTransitionError)) throw err;
            // only a final order refuses what the exchange reports: an order not final always moves
            if (!isFinal(before.status)) return false;
            continue;
          }
          if (o.filled < before.filled) return false;
          if (isFinal(before.status) && o.status !== before.status) return false;
        }
        return true;
      }),
    );
  });

  it('a final order never loses a fill the exchange reports, a rejected one never keeps fills, and only a rejected one moves (property)', () => {
    const update = fc.record({
      status: fc.constantFrom<ExchangeOrderStatus>('open', 'closed', 'canceled', 'rejected', 'expired'),
      filled: fc.double({ min: 0, max: 1, noNaN: true }),
    });
    fc.assert(
      fc.property(
        fc.constantFrom<OrderStatus>('filled', 'cancelled', 'rejected', 'expired'),
        fc.array(update, { maxLength: 8 }),
        (start, updates) => {
          let o: LocalOrder = { ...intent(), status: start, filled: start === 'rejected' ? 0 : 0.5 };
          for (const u of updates) {
            const before = o;
            const settled = settleFinal(o, remote(u.status, u.filled), 10);
            o = settled.order;
            if (o.filled !== Math.max(before.filled, u.filled)) return false;
            if (!isFinal(o.status) || (o.status === 'rejected' && o.filled > 0)) return false;
            if (o.status !== before.status && before.status !== 'rejected') return false;
            // a conflict exactly when the exchange names a status the order does not end in
            if (
              !!settled.conflict !==
              (statusFromExchange(remote(u.status, u.filled), o.filled) !== o.status)
            )
              return false;
          }
          return true;
        },
      ),
    );
  });

  it('adds only fills with new trade ids and knows when all fills are in', () => {
    const f = {
      orderId: 'x1',
      clientOrderId: 'bot-1',
      symbol: 'BTC/USDT',
      side: 'buy' as const,
      price: 1,
      feeCost: 0,
      feeCurrency: 'USDT',
      timestamp: 1,
    };
    let o: LocalOrder = { ...intent(), status: 'filled', filled: 1 };
    expect(fillsComplete(o)).to.equal(false);
    const first = addFills(o, [{ ...f, tradeId: 'a', amount: 0.4 }]);
    o = first.order;
    const again = addFills(o, [
      { ...f, tradeId: 'a', amount: 0.4 },
      { ...f, tradeId: 'b', amount: 0.6 },
    ]);
    expect(again.added.map((x) => x.tradeId)).to.deep.equal(['b']);
    expect(fillsComplete(again.order)).to.equal(true);
  });
});

describe('the unknown-order rule: "not found" is final only after several misses over a window', () => {
  const rule = { minMisses: 3, windowMs: 60_000, graceMs: 5_000 };
  const sentAt = 1_800_000_000_000;

  it('counts misses and declares never placed only with enough misses AND the window plus grace gone', () => {
    let order = { sentAt, createdAt: sentAt, lookupMisses: 0 };
    for (const [dt, misses, final] of [
      [1_000, 1, false],
      [2_000, 2, false],
      [3_000, 3, false], // enough misses, too early
      [64_999, 4, false], // just before window + grace
      [65_000, 5, true],
    ] as const) {
      const verdict = judgeNotFound(order, rule, sentAt + dt, false);
      expect(verdict, `at +${dt}`).to.deep.equal({ lookupMisses: misses, neverPlaced: final });
      order = { ...order, lookupMisses: verdict.lookupMisses };
    }
  });

  it('needs the misses even long after the send (a restart after hours still looks three times)', () => {
    expect(judgeNotFound({ sentAt, createdAt: sentAt }, rule, sentAt + 3_600_000, false)).to.deep.equal({
      lookupMisses: 1,
      neverPlaced: false,
    });
  });

  it('never while this process still awaits the create answer', () => {
    const verdict = judgeNotFound({ sentAt, createdAt: sentAt, lookupMisses: 10 }, rule, sentAt + 1e9, true);
    expect(verdict.neverPlaced).to.equal(false);
  });
  it('an acknowledged order may be missing from the exchange reads until the window plus grace from the send', () => {
    const order = { sentAt, createdAt: sentAt - 10_000 };
    expect(withinNotFoundWindow(order, rule, sentAt + 64_999)).to.equal(true);
    expect(withinNotFoundWindow(order, rule, sentAt + 65_000)).to.equal(false);
    // an order restored without a send time counts from its creation
    expect(withinNotFoundWindow({ createdAt: sentAt }, rule, sentAt + 1_000)).to.equal(true);
  });
});
