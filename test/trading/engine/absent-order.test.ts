import { expect } from 'chai';
import {
  HISTORY_EDGE_MS,
  judgeAbsentOrder,
  noteAbsentMiss,
  type AbsentOrderFacts,
} from '../../../src/trading/engine/orders/absent-order';
import { endedByInference, stillRechecked } from '../../../src/trading/engine/orders/never-placed-recheck';
import type { LocalOrder } from '../../../src/trading/engine/orders/order-state';
import type { ExchangeOrder, ExchangeTrade } from '../../../src/trading/exchange/exchange';
import { localOrder } from '../../support/local-order';

const DAY = 86_400_000;
const NOW = 400 * DAY;
const order = (over: Partial<LocalOrder> = {}): LocalOrder =>
  localOrder({
    clientOrderId: 'bot-tst000-7',
    exchangeOrderId: 'x-7',
    type: 'limit',
    amount: 0.003,
    price: 60_000,
    status: 'open',
    createdAt: NOW - 3 * DAY,
    updatedAt: NOW - 3 * DAY,
    ...over,
  });
const trade = (id: string, amount: number, over: Partial<ExchangeTrade> = {}): ExchangeTrade => ({
  id,
  orderId: 'x-7',
  symbol: 'BTC/USDT',
  side: 'buy',
  price: 60_000,
  amount,
  cost: amount * 60_000,
  fee: { cost: 0, currency: 'USDT' },
  timestamp: NOW - 3 * DAY,
  ...over,
});
const listed = (over: Partial<ExchangeOrder> = {}): ExchangeOrder => ({
  id: 'x-7',
  clientOrderId: 'bot-tst000-7',
  symbol: 'BTC/USDT',
  side: 'buy',
  type: 'limit',
  amount: 0.003,
  price: 60_000,
  filled: 0,
  remaining: 0.003,
  status: 'open',
  ...over,
});
const facts = (over: Partial<AbsentOrderFacts> = {}): AbsentOrderFacts => ({
  openOrders: [],
  market: { amountStep: 0.00001 },
  tradeHistoryReachMs: 90 * DAY,
  now: NOW,
  ...over,
});

describe('an acknowledged order the exchange no longer shows: how it is settled (pure)', () => {
  it('applies the open-orders list when it has the order after all (the lookup lied): nothing settled', () => {
    const remote = listed({ filled: 0.001 });
    expect(
      judgeAbsentOrder(order(), facts({ openOrders: [listed({ id: 'other', clientOrderId: 'x' }), remote] })),
    ).to.deep.equal({ kind: 'listed', remote });
    // found by our clientOrderId too, even before its trades are read
    const byClientId = listed({ id: 'renamed' });
    expect(judgeAbsentOrder(order(), facts({ openOrders: [byClientId] }))).to.deep.equal({
      kind: 'listed',
      remote: byClientId,
    });
  });

  it('asks for its fills before settling', () => {
    expect(judgeAbsentOrder(order(), facts())).to.deep.equal({ kind: 'read-trades' });
  });

  it('settles an order without fills as cancelled with 0 filled', () => {
    expect(judgeAbsentOrder(order(), facts({ trades: [] }))).to.deep.equal({
      kind: 'settled',
      status: 'cancelled',
      filled: 0,
      trades: [],
    });
  });

  it("settles a partly filled one as cancelled with the sum of its own fills (another order's or side's left out)", () => {
    const own = [trade('t1', 0.001), trade('t2', 0.0005)];
    const verdict = judgeAbsentOrder(
      order({ filled: 0.001 }),
      facts({
        trades: [...own, trade('t3', 0.001, { orderId: 'x-8' }), trade('t4', 0.001, { side: 'sell' })],
      }),
    );
    expect(verdict).to.deep.include({ kind: 'settled', status: 'cancelled', trades: own });
    expect((verdict as { filled: number }).filled).to.be.closeTo(0.0015, 1e-15);
  });

  it("settles as filled when its fills reach the amount by the market's step (float noise is no shortfall)", () => {
    const trades = [trade('t1', 0.001), trade('t2', 0.001), trade('t3', 0.000999999999)];
    expect(judgeAbsentOrder(order(), facts({ trades }))).to.deep.include({
      kind: 'settled',
      status: 'filled',
    });
    // one step short is not filled
    const short = [trade('t1', 0.001), trade('t2', 0.00199)];
    expect(judgeAbsentOrder(order(), facts({ trades: short }))).to.deep.include({
      kind: 'settled',
      status: 'cancelled',
    });
  });

  it('never settles below what state already recorded filled (a trades read that missed some): not settled', () => {
    const verdict = judgeAbsentOrder(order({ filled: 0.002 }), facts({ trades: [trade('t1', 0.001)] }));
    expect(verdict.kind).to.equal('unsettled');
    expect((verdict as { lasting?: true }).lasting, 'a later read may bring them').to.equal(undefined);
    expect((verdict as { reason: string }).reason).to.match(/add up to 0.001, less than the 0.002/);
  });

  it("does not settle an order older than the exchange's trade history reaches (less a day's edge)", () => {
    const old = order({ createdAt: NOW - 90 * DAY + HISTORY_EDGE_MS });
    const verdict = judgeAbsentOrder(old, facts({ trades: [] }));
    expect(verdict).to.deep.equal({
      kind: 'unsettled',
      reason: "created 89 days ago, beyond the 90 days the exchange's trade history reaches",
      // no later read can settle it: the operator must (absent-orders.ts puts it in doubt at once)
      lasting: true,
    });
    // a moment younger: its fills are read
    expect(judgeAbsentOrder(order({ createdAt: old.createdAt + 1 }), facts()).kind).to.equal('read-trades');
    // no documented horizon: any age
    expect(judgeAbsentOrder(old, facts({ tradeHistoryReachMs: undefined })).kind).to.equal('read-trades');
    // but the open-orders list still answers for it
    expect(judgeAbsentOrder(old, facts({ openOrders: [listed()] })).kind).to.equal('listed');
  });

  it('is looked up again afterwards like an order declared never placed (its end is our inference)', () => {
    const settled = order({ status: 'cancelled', settledAbsent: true, updatedAt: NOW });
    expect(endedByInference(settled)).to.equal(true);
    expect(endedByInference(order({ status: 'cancelled' }))).to.equal(false);
    const rule = { horizonMs: DAY };
    expect(stillRechecked(settled, rule, NOW + DAY - 1)).to.equal(true);
    expect(stillRechecked(settled, rule, NOW + DAY)).to.equal(false);
  });
});

describe('noteAbsentMiss: when an acknowledged order is absent', () => {
  const rule = { minMisses: 3, windowMs: 60_000 };

  it('needs the misses in a row over the window from the FIRST miss, however long ago the send was', () => {
    let noted = noteAbsentMiss(undefined, rule, NOW);
    expect(noted).to.deep.equal({ misses: { firstAt: NOW, misses: 1 }, absent: false });
    noted = noteAbsentMiss(noted.misses, rule, NOW + 30_000);
    expect(noted.absent, 'two misses').to.equal(false);
    noted = noteAbsentMiss(noted.misses, rule, NOW + 59_999);
    expect(noted.absent, 'three misses within the window').to.equal(false);
    noted = noteAbsentMiss(noted.misses, rule, NOW + 60_000);
    expect(noted).to.deep.equal({ misses: { firstAt: NOW, misses: 4 }, absent: true });
  });

  it('over the window but fewer misses than asked: not absent', () => {
    const first = noteAbsentMiss(undefined, rule, NOW);
    expect(noteAbsentMiss(first.misses, rule, NOW + 3_600_000).absent).to.equal(false);
  });
});
