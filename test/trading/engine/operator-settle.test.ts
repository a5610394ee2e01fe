/**
 * The operator's word on an order that ended on our inference (operator-settle.ts `settleByOperator`, pure): what is
 * refused, and what a settled order books.
 */
import { expect } from 'chai';
import { endedByInference, stillRechecked } from '../../../src/trading/engine/orders/never-placed-recheck';
import {
  OPERATOR_TRADE_ID_PREFIX,
  settleByOperator,
  type SettleContext,
  type SettleRequest,
} from '../../../src/trading/engine/operator/operator-settle';
import type { LocalOrder } from '../../../src/trading/engine/orders/order-state';
import { derivePositions, emptyBook, type Fill } from '../../../src/trading/engine/books/pnl';
import { localOrder } from '../../support/local-order';

const BTC = 'BTC/USDT';
const NOW = 5_000_000;
const ctx: SettleContext = {
  now: NOW,
  place: { at: NOW + 7, afterTradeId: '41' },
  takerFee: 0.001,
  buyFeeCoin: 'base',
};

function fill(tradeId: string, side: 'buy' | 'sell', amount: number, price: number, at: number): Fill {
  return {
    orderId: 'x' + tradeId,
    clientOrderId: 'c' + tradeId,
    tradeId,
    symbol: BTC,
    side,
    price,
    amount,
    feeCost: 0,
    feeCurrency: 'USDT',
    timestamp: at,
  };
}

/** A stop-loss sell of 0.5 declared never placed at NOW − 1 h, in doubt. */
function inDoubt(patch: Partial<LocalOrder> = {}): LocalOrder {
  return localOrder({
    clientOrderId: 'bot-sl',
    symbol: BTC,
    side: 'sell',
    amount: 0.5,
    status: 'rejected',
    purpose: 'stop-loss',
    createdAt: NOW - 3_600_000,
    updatedAt: NOW - 3_600_000,
    sentAt: NOW - 3_600_000,
    ownerHeld: 1,
    inDoubtAt: NOW - 3_000_000,
    ...patch,
  });
}

const carried = (executed: number, averagePrice: number): SettleRequest => ({
  clientOrderId: 'bot-sl',
  outcome: 'carried-out',
  executed,
  averagePrice,
});

describe('the operator settles an order that ended on our inference (settleByOperator)', () => {
  it('refuses an order not in the state, one the exchange ended, and one already settled', () => {
    const none: SettleRequest = { clientOrderId: 'bot-sl', outcome: 'not-carried-out' };
    const missing = settleByOperator(undefined, none, ctx);
    expect(missing.ok).to.equal(false);
    expect(!missing.ok && missing.refusal).to.include('/settle lists');
    // cancelled by the exchange's own answer: nothing of ours to settle
    const byExchange = settleByOperator(inDoubt({ status: 'cancelled', exchangeOrderId: '9' }), none, ctx);
    expect(!byExchange.ok && byExchange.refusal).to.include("exchange's own answer stands");
    // refused by the exchange (its word, not our inference)
    expect(settleByOperator(inDoubt({ refused: true }), none, ctx).ok).to.equal(false);
    const twice = settleByOperator(
      inDoubt({ operatorSettled: { at: 1, outcome: 'not-carried-out' } }),
      none,
      ctx,
    );
    expect(!twice.ok && twice.refusal).to.include('already settled');
  });

  it('not carried out: status and fills kept, in doubt no more, no longer looked up or held', () => {
    const before = inDoubt();
    const d = settleByOperator(before, { clientOrderId: 'bot-sl', outcome: 'not-carried-out' }, ctx);
    expect(d.ok).to.equal(true);
    const after = d.ok ? d.order : before;
    expect(after.status).to.equal('rejected');
    expect(after.fills).to.deep.equal([]);
    expect(after.inDoubtAt).to.equal(undefined);
    expect(after.operatorSettled).to.deep.equal({ at: NOW, outcome: 'not-carried-out' });
    expect(endedByInference(after)).to.equal(false);
    // still looked up for a day after the settle (the exchange's answer wins), then no more
    expect(stillRechecked(after, { horizonMs: 86_400_000 }, NOW + 1_000)).to.equal(true);
    expect(stillRechecked(after, { horizonMs: 86_400_000 }, NOW + 86_400_000)).to.equal(false);
    expect(
      stillRechecked(before, { horizonMs: 86_400_000 }, NOW + 30 * 86_400_000),
      'in doubt: looked up on',
    ).to.equal(true);
  });

  it('an unknown order: refused while it is still looked up; in doubt, settled none it ends never placed, looked up for a day', () => {
    const none: SettleRequest = { clientOrderId: 'bot-sl', outcome: 'not-carried-out' };
    const lookedUp = inDoubt({ status: 'unknown', inDoubtAt: undefined });
    const early = settleByOperator(lookedUp, none, ctx);
    expect(!early.ok && early.refusal).to.include('still being looked up');
    const d = settleByOperator(inDoubt({ status: 'unknown', error: 'trades not all read' }), none, ctx);
    expect(d.ok).to.equal(true);
    const after = d.ok ? d.order : lookedUp;
    expect(after).to.include({ status: 'rejected', inDoubtAt: undefined });
    expect(after.error).to.include('settled by the operator');
    expect(endedByInference(after), 'the operator settled it').to.equal(false);
    expect(stillRechecked(after, { horizonMs: 86_400_000 }, NOW + 1_000)).to.equal(true);
    // carried out: booked like any other in question
    const filled = settleByOperator(inDoubt({ status: 'unknown' }), carried(0.5, 60_000), ctx);
    expect(filled.ok && filled.order).to.include({ status: 'filled', filled: 0.5, averagePrice: 60_000 });
  });

  it('an acknowledged order no longer shown: refused unless in doubt; settled none it ends cancelled with its fills booked', () => {
    const none: SettleRequest = { clientOrderId: 'bot-sl', outcome: 'not-carried-out' };
    const partly = {
      status: 'partially_filled' as const,
      exchangeOrderId: 'x9',
      filled: 0.2,
      fills: [fill('40', 'sell', 0.2, 61_000, NOW - 3_500_000)],
    };
    const working = settleByOperator(inDoubt({ ...partly, inDoubtAt: undefined }), none, ctx);
    expect(!working.ok && working.refusal).to.include('its own answers settle it');
    const d = settleByOperator(inDoubt(partly), none, ctx);
    expect(d.ok && d.order).to.include({ status: 'cancelled', filled: 0.2, inDoubtAt: undefined });
    expect(d.ok && d.order.fills).to.have.length(1);
    expect(
      d.ok && stillRechecked(d.order, { horizonMs: 86_400_000 }, NOW + 1_000),
      'looked up for a day',
    ).to.equal(true);
    // carried out in full: the rest booked beyond the fill the exchange gave
    const all = settleByOperator(inDoubt(partly), carried(0.5, 60_400), ctx);
    expect(all.ok && all.order).to.include({ status: 'filled', filled: 0.5, averagePrice: 60_400 });
    expect(all.ok && all.order.fills.map((f) => f.amount)).to.deep.equal([0.2, 0.3]);
  });

  it('refuses an order no longer in question: ended over a day ago, never shown carried out (a wrong id pasted)', () => {
    // judged not carried out three days ago
    const old = inDoubt({
      inDoubtAt: undefined,
      notCarriedOutAt: NOW - 2 * 86_400_000,
      updatedAt: NOW - 3 * 86_400_000,
    });
    const d = settleByOperator(old, carried(0.5, 1), ctx);
    expect(!d.ok && d.refusal).to.include('no longer in question');
    expect(settleByOperator({ ...old, inDoubtAt: NOW - 86_400_000 }, carried(0.5, 1), ctx).ok).to.equal(true);
  });

  it('not carried out takes no figures', () => {
    const d = settleByOperator(
      inDoubt(),
      { clientOrderId: 'bot-sl', outcome: 'not-carried-out', executed: 0.5, averagePrice: 1 },
      ctx,
    );
    expect(d.ok).to.equal(false);
  });

  it('carried out in full: one fill of the executed amount at the average, placed after the last fill; filled', () => {
    const d = settleByOperator(inDoubt(), carried(0.5, 47_500), ctx);
    if (!d.ok) throw new Error(d.refusal);
    expect(d.order.status).to.equal('filled');
    expect(d.order.filled).to.equal(0.5);
    expect(d.order.averagePrice).to.equal(47_500);
    expect(d.order.fills).to.deep.equal([
      {
        orderId: '',
        clientOrderId: 'bot-sl',
        tradeId: `${OPERATOR_TRADE_ID_PREFIX}bot-sl`,
        symbol: BTC,
        side: 'sell',
        price: 47_500,
        amount: 0.5,
        // no fee given, none in the order's answer: estimated at the market's taker rate (0.1 %), a sell's in the quote
        feeCost: 23.75,
        feeCurrency: 'USDT',
        timestamp: NOW + 7,
        afterTradeId: '41',
      },
    ]);
    expect(endedByInference(d.order)).to.equal(false);
  });

  it("carried out in part beyond booked fills: the rest priced so the whole average is the operator's; cancelled", () => {
    // settled as absent with 0.1 booked at 48,000; the history shows 0.3 executed at an average 47,000
    const booked = [fill('40', 'sell', 0.1, 48_000, NOW - 3_500_000)];
    const order = inDoubt({
      status: 'cancelled',
      exchangeOrderId: '77',
      settledAbsent: true,
      filled: 0.1,
      fills: booked,
    });
    const d = settleByOperator(order, carried(0.3, 47_000), ctx);
    if (!d.ok) throw new Error(d.refusal);
    expect(d.order.status).to.equal('cancelled');
    expect(d.order.filled).to.be.closeTo(0.3, 1e-12);
    const extra = d.order.fills[1]!;
    expect(extra.amount).to.be.closeTo(0.2, 1e-12);
    expect(extra.orderId).to.equal('77');
    // 0.1 × 48,000 + 0.2 × p = 0.3 × 47,000 → p = 46,500
    expect(extra.price).to.be.closeTo(46_500, 1e-6);
    // the position it books: bought 0.5 at 50,000, sold 0.3 for 14,100 → 0.2 left, realized −900 less the fee
    // estimated on the 0.2 booked (0.2 × 46,500 × 0.1 % = 9.3)
    const buy = fill('39', 'buy', 0.5, 50_000, NOW - 4_000_000);
    const book = derivePositions({}, [buy, ...d.order.fills], {}, 'trade-id')[BTC] ?? emptyBook(BTC);
    expect(book.amount).to.be.closeTo(0.2, 1e-12);
    expect(book.realizedPnl).to.be.closeTo(-909.3, 1e-6);
  });

  it("books the operator's fee on the fill: a buy's fee in the coin leaves the position what the account holds", () => {
    const buy = inDoubt({ side: 'buy', purpose: 'entry' });
    const d = settleByOperator(buy, { ...carried(0.5, 50_000), fee: { cost: 0.0005, currency: 'BTC' } }, ctx);
    if (!d.ok) throw new Error(d.refusal);
    expect(d.order.fills[0]).to.include({ feeCost: 0.0005, feeCurrency: 'BTC' });
    const book = derivePositions({}, d.order.fills, {}, 'trade-id')[BTC]!;
    expect(book.amount).to.be.closeTo(0.4995, 1e-12);
    // a fee in a third coin (BNB) is not booked this way; nor is a fee on nothing executed beyond the booked fills
    const bnb = settleByOperator(buy, { ...carried(0.5, 50_000), fee: { cost: 0.01, currency: 'BNB' } }, ctx);
    expect(!bnb.ok && bnb.refusal).to.include('in BTC or USDT only');
    const none = settleByOperator(
      buy,
      { clientOrderId: 'bot-sl', outcome: 'not-carried-out', fee: { cost: 1, currency: 'USDT' } },
      ctx,
    );
    expect(!none.ok && none.refusal).to.include('no amount, price or fee');
  });

  it('refuses figures that do not fit the order: more than its amount, less than what is booked, zero, no price', () => {
    const booked = inDoubt({
      settledAbsent: true,
      status: 'cancelled',
      filled: 0.1,
      fills: [fill('40', 'sell', 0.1, 1, 1)],
    });
    for (const [order, req, says] of [
      [inDoubt(), carried(0.6, 1), "more than the order's"],
      [booked, carried(0.05, 1), 'less than the 0.1 already booked'],
      [inDoubt(), carried(0, 1), 'above 0'],
      [inDoubt(), { clientOrderId: 'bot-sl', outcome: 'carried-out', executed: 0.5 }, 'average price'],
      [inDoubt(), carried(0.5, Number.NaN), 'average price'],
    ] as const) {
      const d = settleByOperator(order, req, ctx);
      expect(d.ok, says).to.equal(false);
      expect(!d.ok && d.refusal).to.include(says);
    }
  });
});
