/**
 * A finished order whose trades the exchange's trade list never brings: the pure decision (fills-from-order.ts), and
 * the engine against the paper exchange whose trade read leaves the order's trades out — the symbol held only
 * minutes, then the part not read booked from the order's answer, its stop-loss working again, and trades that show
 * up later never booked beside it.
 */
import { expect } from 'chai';
import {
  ASSUMED_TAKER_FEE,
  answerFeesOf,
  FILLS_FROM_ORDER_AFTER_MS,
  ORDER_ANSWER_TRADE_ID_PREFIX,
  feeOfRest,
  fillsFromOrder,
} from '../../../src/trading/engine/books/fills-from-order';
import { HISTORY_EDGE_MS } from '../../../src/trading/engine/orders/absent-order';
import { IN_DOUBT_REMINDER_MS } from '../../../src/trading/engine/tick/inferred-orders';
import type { LocalOrder } from '../../../src/trading/engine/orders/order-state';
import type { Fill } from '../../../src/trading/engine/books/pnl';
import type {
  CreateOrderRequest,
  ExchangeOrder,
  ExchangeTrade,
} from '../../../src/trading/exchange/exchange';
import type { PaperExchange } from '../../../src/trading/exchange/paper-exchange';
import type { Signal } from '../../../src/trading/strategy/strategy';
import { HOLD } from '../../../src/trading/strategy/strategy';
import { SafeStrategy } from '../../../src/trading/strategy/safe-strategy';
import { EngineHarness, ScriptedStrategy } from '../../support/engine-harness';
import { withOverrides } from '../../support/exchange-overrides';
import { closeAfterEach } from '../../support/close-after-each';
import { filledOrder } from '../../support/trading-stub';

const DAY = 86_400_000;

describe('fills booked from a finished order its trade list never brings', function () {
  describe('the decision (pure)', () => {
    const AT = 1_000_000_000_000;
    const order = (over: Partial<LocalOrder> = {}): LocalOrder => ({
      ...filledOrder('e1', 'BTC/USDT', 'buy', 0.002, 60_000, AT),
      fills: [],
      updatedAt: AT,
      ...over,
    });
    const fill = (amount: number, price: number): Fill => ({
      orderId: 'e1',
      clientOrderId: 'bot-1',
      tradeId: `t${amount}`,
      symbol: 'BTC/USDT',
      side: 'buy',
      price,
      amount,
      feeCost: 0,
      feeCurrency: 'BTC',
      timestamp: AT,
    });

    it("waits minutes without a new fill, then books the rest at the price that makes the answer's average", () => {
      const o = order({ averagePrice: 60_100, fills: [fill(0.001, 60_000)] });
      expect(fillsFromOrder(o, AT + FILLS_FROM_ORDER_AFTER_MS - 1).kind).to.equal('none');
      const d = fillsFromOrder(o, AT + FILLS_FROM_ORDER_AFTER_MS);
      expect(d.kind).to.equal('book');
      if (d.kind !== 'book') return;
      expect(d.amount).to.be.closeTo(0.001, 1e-15);
      // 0.002 × 60 100 = 120.2; 0.001 × 60 000 booked = 60 → the rest at 60 200
      expect(d.price).to.be.closeTo(60_200, 1e-6);
      expect(d.why).to.match(/add up to 0\.001 of the 0\.002 it filled, still short after 10 minutes/);
    });

    it("books at once an order created beyond the trade list's reach (within a day of its edge)", () => {
      const reach = 90 * DAY;
      const o = order({ averagePrice: 60_000 });
      const now = AT + reach - HISTORY_EDGE_MS;
      const d = fillsFromOrder({ ...o, updatedAt: now }, now, reach);
      expect(d).to.deep.include({ kind: 'book', amount: 0.002, price: 60_000 });
      expect(fillsFromOrder({ ...o, updatedAt: now - 1 }, now - 1, reach).kind).to.equal('none');
      // no documented reach (Binance): only the wait
      expect(fillsFromOrder({ ...o, updatedAt: now }, now).kind).to.equal('none');
    });

    it('nothing for an order not finished or whose fills are complete; a limit order without average at its price', () => {
      const late = AT + FILLS_FROM_ORDER_AFTER_MS;
      expect(fillsFromOrder(order({ status: 'partially_filled', averagePrice: 1 }), late).kind).to.equal(
        'none',
      );
      expect(fillsFromOrder(order({ fills: [fill(0.002, 60_000)] }), late).kind).to.equal('none');
      const limit = order({ type: 'limit', price: 59_000, averagePrice: undefined });
      expect(fillsFromOrder(limit, late)).to.deep.include({ kind: 'book', price: 59_000 });
      const market = order({ type: 'market', averagePrice: undefined });
      expect(fillsFromOrder(market, late).kind).to.equal('unpriced');
    });

    it('books the rest at the average when the booked fills cannot be made up by it', () => {
      const o = order({ averagePrice: 50_000, fills: [fill(0.0019, 60_000)] });
      const d = fillsFromOrder(o, AT + FILLS_FROM_ORDER_AFTER_MS);
      expect(d).to.deep.include({ kind: 'book', price: 50_000 });
    });
  });

  describe('the fee of the rest (pure, feeOfRest): never 0 on a buy, whose fee the coin received pays', () => {
    const buy = { symbol: 'BTC/USDT', side: 'buy' as const, fills: [] as Fill[] };
    const sell = { ...buy, side: 'sell' as const };
    const paid = (feeCost: number): Fill => ({
      orderId: 'e1',
      clientOrderId: 'bot-1',
      tradeId: 't1',
      symbol: 'BTC/USDT',
      side: 'buy',
      price: 50_000,
      amount: 0.001,
      feeCost,
      feeCurrency: 'BTC',
      timestamp: 1,
    });

    it("the answer's fee in the coin received, less what the booked fills paid in it", () => {
      const booked = [paid(0.000001)];
      const known = {
        fees: [
          { cost: 3, currency: 'USDT' },
          { cost: 0.000002, currency: 'BTC' },
        ],
        covers: 0.002,
      };
      expect(feeOfRest({ ...buy, fills: booked }, 0.001, 50_000, known, 0.001, 'base')).to.deep.equal({
        cost: 0.000001,
        currency: 'BTC',
        estimated: false,
      });
      // a sell's fee is the quote's
      expect(feeOfRest(sell, 0.001, 50_000, known, 0.001, 'base')).to.deep.include({
        cost: 3,
        currency: 'USDT',
      });
      // booked fills that paid more than the answer says (a lagging answer): never below 0
      const over = [paid(0.00001)];
      expect(feeOfRest({ ...buy, fills: over }, 0.001, 50_000, known, 0.001, 'base').cost).to.equal(0);
    });

    const bnb = (cost: number, covers: number) => ({ fees: [{ cost, currency: 'BNB' }], covers });

    it("a fee paid in a third coin (Binance's BNB) is kept in it: the fill's valuation prices it", () => {
      expect(feeOfRest(buy, 0.001, 50_000, bnb(0.0001, 0.001), 0.001, 'base')).to.deep.equal({
        cost: 0.0001,
        currency: 'BNB',
        estimated: false,
      });
    });

    it('an answer said before the rest was executed: its fee covers only its part, the rest beyond it estimated', () => {
      // the create's FULL answer said 0.000001 BTC for the 0.001 it filled at once; the order read (no fee) later
      // said 0.003 filled: 0.001 booked with its fee, the rest 0.002 → none of the answer's fee left, 0.002 estimated
      const first = { fees: [{ cost: 0.000001, currency: 'BTC' }], covers: 0.001 };
      const rest = feeOfRest({ ...buy, fills: [paid(0.000001)] }, 0.002, 50_000, first, 0.001, 'base');
      expect(rest.currency).to.equal('BTC');
      expect(rest.cost).to.be.closeTo(0.000002, 1e-15);
      expect(rest.estimated).to.equal(true);
      // nothing booked: the answer's part of the rest from it, the part beyond estimated on top
      const whole = feeOfRest(buy, 0.003, 50_000, first, 0.001, 'base');
      expect(whole.cost).to.be.closeTo(0.000001 + 0.000002, 1e-15);
      // a working order's answer: OKX says fee 0 with nothing filled — it covers nothing
      const working = { fees: [{ cost: 0, currency: 'BTC' }], covers: 0 };
      expect(feeOfRest(buy, 0.002, 50_000, working, 0.001, 'base')).to.deep.equal({
        cost: 0.000002,
        currency: 'BTC',
        estimated: true,
      });
      // a third coin said for the first part: the uncovered part estimated in the coin bought (never booked short)
      expect(feeOfRest(buy, 0.002, 50_000, bnb(0.0001, 0.001), 0.001, 'base')).to.deep.include({
        currency: 'BTC',
        estimated: true,
      });
      // fees kept before their executed amount was (state of stop 30): covering nothing, estimated on top
      expect(answerFeesOf({ answerFees: [{ cost: 1, currency: 'BTC' }] })).to.deep.equal({
        fees: [{ cost: 1, currency: 'BTC' }],
        covers: 0,
      });
    });

    it("no answer says it: estimated at the market's taker rate, in the coin the exchange charges", () => {
      expect(feeOfRest(buy, 0.002, 50_000, undefined, 0.001, 'base')).to.deep.equal({
        cost: 0.000002,
        currency: 'BTC',
        estimated: true,
      });
      expect(feeOfRest(buy, 0.002, 50_000, { fees: [], covers: 0.002 }, 0.001, 'quote')).to.deep.equal({
        cost: 0.1,
        currency: 'USDT',
        estimated: true,
      });
      expect(feeOfRest(sell, 0.002, 50_000, undefined, 0.001, 'base')).to.deep.include({ currency: 'USDT' });
      // a market ccxt knows no rate for: the assumed rate, above the exchanges' standard one
      expect(feeOfRest(buy, 1, 50_000, undefined, undefined, 'base').cost).to.equal(ASSUMED_TAKER_FEE);
    });
  });

  describe("the engine (paper exchange, its trade read leaving the entry's trades out)", function () {
    this.timeout(20_000);
    const ENTER: Signal = { action: 'enter-long', reason: 'test says buy' };
    const EXIT: Signal = { action: 'exit-long', reason: 'test says sell' };
    let h: EngineHarness | undefined;
    closeAfterEach(() => [h]);

    it('holds the symbol minutes, then books the fill from the answer: alerted once, exits work, later trades not booked twice', async () => {
      let hideTrades = true;
      let paperRef: PaperExchange | undefined;
      const strategy = new ScriptedStrategy();
      h = await EngineHarness.open({
        config: { trading: { risk: { stopLossPct: 0, takeProfitPct: 0 } } },
        strategy: new SafeStrategy(strategy),
        wrapExchange: (paper) => {
          paperRef = paper;
          // the order's answers say it filled, with no trades; its trade read leaves them out while hidden
          const withoutTrades = (o: ExchangeOrder): ExchangeOrder =>
            hideTrades ? { ...o, trades: undefined } : o;
          return withOverrides(paper, {
            createOrder: (async (req: CreateOrderRequest) =>
              withoutTrades(await paperRef!.createOrder(req))) as never,
            fetchOrder: (async (id: string, symbol: string) =>
              withoutTrades(await paperRef!.fetchOrder(id, symbol))) as never,
            fetchOrderTrades: (async (orderId: string, symbol: string) => {
              const trades: ExchangeTrade[] = await paperRef!.fetchOrderTrades(orderId, symbol);
              return hideTrades ? [] : trades;
            }) as never,
          });
        },
      });
      await h.loop.recover({ kind: 'first-start' });
      h.loop.enterRunning();
      strategy.next = ENTER;
      await h.loop.tick();
      const entry = h.orderBook.order('bot-tst000-1')!;
      expect(entry.status).to.equal('filled');
      expect(entry.fills).to.have.length(0);
      strategy.next = HOLD;
      await h.fakeClock().advance(FILLS_FROM_ORDER_AFTER_MS - 60_000, 60_000);
      await h.loop.tick();
      expect(h.orderBook.order('bot-tst000-1')!.fills, 'still waited for').to.have.length(0);
      expect(h.orderBook.openPositions()).to.have.length(0);

      await h.fakeClock().advance(60_000, 60_000);
      await h.loop.tick();
      const booked = h.orderBook.order('bot-tst000-1')!;
      expect(booked.fills).to.have.length(1);
      expect(booked.fills[0].tradeId).to.equal(`${ORDER_ANSWER_TRADE_ID_PREFIX}bot-tst000-1`);
      expect(booked.fills[0].amount).to.be.closeTo(entry.filled, 1e-12);
      expect(booked.fills[0].price).to.be.closeTo(entry.averagePrice!, 1e-6);
      expect(h.orderBook.positions()['BTC/USDT'].amount).to.be.closeTo(entry.filled, 1e-12);
      const alerts = h.events.filter((e) => e.type === 'order.fills_from_answer');
      expect(alerts).to.have.length(1);
      // paper's answer says the order's fee (as OKX's and Bybit's do): booked on the fill
      expect(alerts[0].summary).to.match(
        /booked at .* from the order's answer .* fee .* USDT as the answer says it/,
      );
      expect(booked.fills[0].feeCurrency).to.equal('USDT');
      expect(booked.fills[0].feeCost).to.be.closeTo(
        h.orderBook.order('bot-tst000-1')!.answerFees![0]!.cost,
        1e-12,
      );
      expect(booked.fills[0].feeCost).to.be.greaterThan(0);

      // the trades show up: never booked beside the fill from the answer (its fills complete, it is not read)
      hideTrades = false;
      for (let i = 0; i < 3; i++) await h.loop.tick();
      expect(h.orderBook.order('bot-tst000-1')!.fills).to.have.length(1);
      // read all the same (its filled amount risen: taken back, settled final), they replace it, never count beside it
      await h.orders.fills.sync('bot-tst000-1');
      const replaced = h.orderBook.order('bot-tst000-1')!;
      expect(replaced.fills.map((f) => f.tradeId)).to.not.include(
        `${ORDER_ANSWER_TRADE_ID_PREFIX}bot-tst000-1`,
      );
      expect(replaced.fills.reduce((s, f) => s + f.amount, 0)).to.be.closeTo(entry.filled, 1e-12);
      expect(h.orderBook.positions()['BTC/USDT'].amount).to.be.closeTo(entry.filled, 1e-12);

      // the symbol trades again: the exit sells the position (what the answer said it filled)
      strategy.next = EXIT;
      await h.nextCandle();
      await h.loop.tick();
      const exit = h.orderBook.hotOrders((o) => o.purpose === 'exit');
      expect(exit).to.have.length(1);
      expect(exit[0].amount).to.be.closeTo(entry.filled, 1e-12);
      expect(h.events.filter((e) => e.type === 'order.fills_from_answer')).to.have.length(1);
    });

    it('a market order answered without an average: in doubt once (alert, /settle lists it), the operator books it', async () => {
      let paperRef: PaperExchange | undefined;
      const strategy = new ScriptedStrategy();
      // its answers say it filled, with neither trades nor an average; its trade read never brings them
      const bare = (o: ExchangeOrder): ExchangeOrder => ({ ...o, trades: undefined, average: undefined });
      h = await EngineHarness.open({
        config: { trading: { risk: { stopLossPct: 0, takeProfitPct: 0 } } },
        strategy: new SafeStrategy(strategy),
        wrapExchange: (paper) => {
          paperRef = paper;
          return withOverrides(paper, {
            createOrder: (async (req: CreateOrderRequest) => bare(await paperRef!.createOrder(req))) as never,
            fetchOrder: (async (id: string, symbol: string) =>
              bare(await paperRef!.fetchOrder(id, symbol))) as never,
            fetchOrderTrades: (async () => []) as never,
          });
        },
      });
      await h.loop.recover({ kind: 'first-start' });
      h.loop.enterRunning();
      strategy.next = ENTER;
      await h.loop.tick();
      strategy.next = HOLD;
      const ID = 'bot-tst000-1';
      expect(h.orderBook.order(ID)).to.include({ status: 'filled', averagePrice: undefined });
      for (let i = 0; i < 3; i++) {
        await h.fakeClock().advance(FILLS_FROM_ORDER_AFTER_MS / 2, 60_000);
        await h.loop.tick();
      }
      expect(h.orderBook.order(ID)!.inDoubtAt).to.be.a('number');
      const told = h.events.filter((e) => e.type === 'order.in_doubt');
      expect(told).to.have.length(1);
      expect(told[0].summary).to.include('no average price to book them at');
      expect(h.loop.inDoubtOrders().map((o) => [o.clientOrderId, o.ended])).to.deep.equal([
        [ID, 'fills-missing'],
      ]);
      const filled = h.orderBook.order(ID)!.filled;
      // it suggests only what /settle accepts for it: `none` is refused (its answer says it filled)
      const onlyFilled = `/settle ${ID} filled <amount> <average price> (the whole executed amount, at least the ${filled}`;
      expect(told[0].summary).to.include(onlyFilled).and.not.include(`/settle ${ID} none`);
      expect(h.loop.inDoubtOrders()[0].filledOnly, '/settle lists it as settled by "filled" only').to.equal(
        true,
      );
      // and so does its daily reminder
      await h.fakeClock().advance(IN_DOUBT_REMINDER_MS, 3_600_000);
      await h.loop.tick();
      const reminded = h.events.filter((e) => e.type === 'order.in_doubt' && e.data.reminder === true);
      expect(reminded).to.have.length(1);
      expect(reminded[0].summary).to.include(onlyFilled).and.not.include(`/settle ${ID} none`);
      const none = await h.loop.settleOrder({ clientOrderId: ID, outcome: 'not-carried-out' });
      expect(!none.ok && none.refusal).to.match(/more than the 0 its fills booked/);
      const d = await h.loop.settleOrder({
        clientOrderId: ID,
        outcome: 'carried-out',
        executed: filled,
        averagePrice: 61_000,
      });
      expect(d.ok, !d.ok ? d.refusal : '').to.equal(true);
      const settled = h.orderBook.order(ID)!;
      expect(settled).to.include({ status: 'filled', inDoubtAt: undefined });
      expect(settled.fills.reduce((s, f) => s + f.amount, 0)).to.be.closeTo(filled, 1e-12);
      expect(h.orderBook.positions()['BTC/USDT'].amount).to.be.closeTo(filled, 1e-12);
      expect(h.orderBook.pendingOrders('BTC/USDT'), 'its symbol free').to.deep.equal([]);
      expect(h.loop.inDoubtOrders()).to.deep.equal([]);
      // not looked up again: the exchange's answer is the one it had (its trades still unreadable)
      for (let i = 0; i < 3; i++) {
        await h.fakeClock().advance(3_600_000, 60_000);
        await h.loop.tick();
      }
      expect(h.eventTypes()).to.not.include('order.taken_back');
      expect(h.orderBook.order(ID)!.fills.reduce((s, f) => s + f.amount, 0)).to.be.closeTo(filled, 1e-12);
    });
  });
});
