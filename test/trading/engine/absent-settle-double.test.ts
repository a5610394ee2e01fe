/**
 * Review 29b: /settle of an acknowledged order no longer shown (in doubt) whose booked fills are short of
 * the filled amount its last answer gave (the very reason it could not be settled: "its fills read add up to less").
 * The operator's fill is what executed beyond the fills BOOKED (it was beyond `filled`: the order was left with fills
 * missing, and the trades read afterwards were booked beside the operator's fill — fills above what executed, a
 * later exit selling coins that are not the bot's); and a fill booked from the order's answer is replaced by the
 * trades it stood for, never counted beside them (fills-from-order.test.ts).
 */
import { expect } from 'chai';
import type { LocalOrder } from '../../../src/trading/engine/orders/order-state';
import type { ExchangeTrade } from '../../../src/trading/exchange/exchange';
import type { PaperExchange } from '../../../src/trading/exchange/paper-exchange';
import { SafeStrategy } from '../../../src/trading/strategy/safe-strategy';
import { EngineHarness, ScriptedStrategy } from '../../support/engine-harness';
import { withOverrides } from '../../support/exchange-overrides';
import { hiddenOrderReads } from '../../support/hidden-order';
import { closeAfterEach } from '../../support/close-after-each';

const ID = 'bot-tst000-1';
const BTC = 'BTC/USDT';
const HOUR = 3_600_000;

describe('/settle filled of an absent order whose booked fills are short of its filled', function () {
  this.timeout(60_000);
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h]);

  let paperRef: PaperExchange | undefined;
  const hidden = { on: false };
  const short = { on: false, shown: new Set<string>() };
  /** A partly filled entry whose later trades the list stops bringing, then no longer shown: in doubt after a day. */
  async function absentWithFillsShort(): Promise<{ h: EngineHarness; inDoubt: LocalOrder }> {
    hidden.on = false;
    short.on = false;
    short.shown.clear();
    const h = await EngineHarness.open({
      config: {
        trading: { risk: { stopLossPct: 0, takeProfitPct: 0 }, paper: { partialFillNotional: 1_000 } },
      },
      strategy: new SafeStrategy(new ScriptedStrategy()),
      wrapExchange: (paper) => {
        paperRef = paper;
        return withOverrides(paper, {
          ...hiddenOrderReads(paper, ID, hidden, { dropAnswerTrades: true }),
          fetchOrderTrades: (async (orderId: string, symbol: string) => {
            const trades: ExchangeTrade[] = await paperRef!.fetchOrderTrades(orderId, symbol);
            if (!short.on) {
              for (const t of trades) short.shown.add(t.id);
              return trades;
            }
            return trades.filter((t) => short.shown.has(t.id));
          }) as never,
        });
      },
    });
    await h.loop.recover({ kind: 'first-start' });
    h.loop.enterRunning();
    const price = (await h.paper.fetchTicker(BTC)).last;
    // marketable, worth ~3 slices: the first fills at once, the rest in later periods
    await h.manager.place({
      symbol: BTC,
      side: 'buy',
      type: 'limit',
      price: Math.round(price * 1.05),
      amount: 0.05,
      purpose: 'entry',
    });
    const first = h.orderBook.order(ID)!;
    expect(first.status).to.equal('partially_filled');
    const bookedAtFirst = first.fills.reduce((s, f) => s + f.amount, 0);
    expect(bookedAtFirst).to.be.greaterThan(0);
    // the trade list stops bringing the order's new trades; the next answer says more filled
    short.on = true;
    for (let i = 0; i < 3 && h.orderBook.order(ID)!.filled <= bookedAtFirst + 1e-12; i++) {
      await h.nextCandle();
      await h.loop.tick();
    }
    const before = h.orderBook.order(ID)!;
    expect(before.filled).to.be.greaterThan(bookedAtFirst + 1e-12);
    // the exchange no longer shows it: its fills read short, not settled for a day → in doubt
    hidden.on = true;
    for (let i = 0; i < 30 && h.orderBook.order(ID)!.inDoubtAt === undefined; i++) {
      await h.fakeClock().advance(HOUR, 10 * 60_000);
      await h.loop.tick();
    }
    const inDoubt = h.orderBook.order(ID)!;
    expect(inDoubt.inDoubtAt).to.be.a('number');
    return { h, inDoubt };
  }

  it("books the order's fills exactly once: their sum is what the operator says it executed", async () => {
    const { h: opened, inDoubt } = await absentWithFillsShort();
    h = opened;
    // the operator reads the exchange's history: all of it executed (the paper account says at what)
    const truth = await paperRef!.fetchOrder(inDoubt.exchangeOrderId!, BTC);
    const d = await h.loop.settleOrder({
      clientOrderId: ID,
      outcome: 'carried-out',
      executed: truth.filled,
      averagePrice: truth.average!,
    });
    expect(d.ok, !d.ok ? d.refusal : '').to.equal(true);
    // the trade list brings the order's trades again
    short.on = false;
    for (let i = 0; i < 3; i++) {
      await h.fakeClock().advance(60_000, 60_000);
      await h.loop.tick();
    }
    const after = h.orderBook.order(ID)!;
    const sum = after.fills.reduce((s, f) => s + f.amount, 0);
    expect(sum, "the order's fills add up to what it executed").to.be.closeTo(truth.filled, 1e-9);
    expect(h.orderBook.positions()[BTC].amount).to.be.closeTo(truth.filled, 1e-9);
  });

  it('refuses "none" for it: its last answer said more filled than its fills booked', async () => {
    const { h: opened, inDoubt } = await absentWithFillsShort();
    h = opened;
    const d = await h.loop.settleOrder({ clientOrderId: ID, outcome: 'not-carried-out' });
    expect(!d.ok && d.refusal).to.match(
      /answered order .* as [\d.]+ filled, more than the [\d.]+ its fills booked/,
    );
    expect(h.orderBook.order(ID)!.inDoubtAt).to.equal(inDoubt.inDoubtAt);
  });
});
