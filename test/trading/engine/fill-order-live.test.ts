/**
 * The order a symbol's fills are replayed in, end to end: the real engine through real ccxt against the exchange
 * doubles. Binance (harness/exchanges/fake-binance.ts, `tradeTimeShiftMs`): fills whose exchange times go back — a
 * later trade stamped before an earlier one (the matching engine's clock stepped back) — are applied in trade-id
 * order, which Binance documents as growing with its trades, never by their times alone. Bybit
 * (harness/exchanges/fake-bybit.ts, `execIdJump`): its execIds are digits in no documented order, so fills are applied
 * by execTime, never by execId. Real clock, as live-exchanges.suite.ts (see there why).
 */
import { expect } from 'chai';
import type { Signal } from '../../../src/trading/strategy/strategy';
import { binanceKit, bybitKit } from '../../../harness/exchanges/exchange-kits';
import type { FakeBinance } from '../../../harness/exchanges/fake-binance';
import type { FakeBybit } from '../../../harness/exchanges/fake-bybit';
import type { ExchangeKit, LocalExchange } from '../../../harness/exchanges/local-exchange';
import { EngineHarness, ScriptedStrategy } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import { startLiveEngine, tickUntil as tickUntilIn } from '../../support/live-engine';

const BTC = 'BTC/USDT';
const ENTER: Signal = { action: 'enter-long', reason: 'test says buy' };
const EXIT: Signal = { action: 'exit-long', reason: 'test says sell' };
/** The double each suite starts: BTC only, 10,000 USDT. */
const DOUBLE = { candleMs: 300, balances: { USDT: 10_000 }, symbols: [BTC] };

/** The live engine through real ccxt to `fake`, `kit`'s double, with BTC pinned at 60,000; recovered and running. */
function liveEngineOn(
  kit: ExchangeKit,
  fake: LocalExchange,
  strategy: ScriptedStrategy,
): Promise<EngineHarness> {
  fake.pinPrice(BTC, 60_000);
  return startLiveEngine(kit, fake.url, {
    config: {
      trading: {
        mode: 'live',
        exchange: kit.id,
        symbols: [BTC],
        risk: { stopLossPct: 50, takeProfitPct: 0, stakePerTrade: 2_000 },
        orders: { unknownNotFoundMisses: 3, unknownNotFoundWindowMs: 1_000, createTimeoutMs: 800 },
      },
    },
    strategy,
  });
}

describe('fills stamped before earlier fills (Binance trade times that go back)', function () {
  this.timeout(60_000);
  let fake: FakeBinance | undefined;
  let h: EngineHarness | undefined;
  let strategy: ScriptedStrategy;

  closeAfterEach(() => [h, fake]);

  async function live(): Promise<EngineHarness> {
    fake = (await binanceKit.start(DOUBLE)) as FakeBinance;
    strategy = new ScriptedStrategy();
    h = await liveEngineOn(binanceKit, fake, strategy);
    return h;
  }

  const tickUntil = (done: () => boolean, max?: number): Promise<void> => tickUntilIn(h!, done, max);

  const book = () => h!.orderBook.positions()[BTC];
  const sells = () => fake!.trades(BTC).filter((t) => t.side === 'sell');

  it('a sell stamped 10 minutes before its entry closes the position, with the round trip its PnL', async () => {
    await live();
    strategy.next = ENTER;
    await tickUntil(() => (book()?.amount ?? 0) > 0);
    // the exchange's clock steps back: the exit's trade is stamped before the entry's (its id is still the next)
    fake!.tradeTimeShiftMs = -600_000;
    strategy.next = EXIT;
    await tickUntil(() => sells().length === 1 && h!.orderBook.pendingOrders().length === 0);
    for (let i = 0; i < 5; i++) await h!.loop.tick();
    const [buy] = fake!.trades(BTC).filter((t) => t.side === 'buy');
    const [sell] = sells();
    expect(sell.time).to.be.below(buy.time);
    // sold once; what the bot counts is the dust the account holds (the buy's fee was taken in BTC)
    expect(sells()).to.have.length(1);
    expect(book().amount).to.be.closeTo(fake!.balance('BTC'), 1e-9);
    // realized: the sale's proceeds less its fee, less the cost of what was sold at the entry's average cost
    const held = buy.qty - buy.fee;
    const expected = sell.quoteQty - sell.fee - (buy.quoteQty / held) * sell.qty;
    expect(book().realizedPnl).to.be.closeTo(expected, 1e-6);
    expect(book().realizedPnl).to.be.below(0); // two fees, no price change
    expect(h!.events.filter((e) => e.type === 'position.closed')).to.have.length(1);
    // and a restart derives the same book from the same fills
    const before = book();
    h = await h!.restart();
    await h.loop.recover({ kind: 'clean', at: Date.now(), reason: 'test' });
    expect(book()).to.deep.equal(before);
  });
});

describe('Bybit fills whose execIds run against their times (execId promises no order)', function () {
  this.timeout(60_000);
  let fake: FakeBybit | undefined;
  let h: EngineHarness | undefined;
  let strategy: ScriptedStrategy;

  closeAfterEach(() => [h, fake]);

  async function live(): Promise<EngineHarness> {
    fake = (await bybitKit.start(DOUBLE)) as FakeBybit;
    strategy = new ScriptedStrategy();
    h = await liveEngineOn(bybitKit, fake, strategy);
    return h;
  }

  const tickUntil = (done: () => boolean, max?: number): Promise<void> => tickUntilIn(h!, done, max);

  const book = () => h!.orderBook.positions()[BTC];
  const executions = (side: 'Buy' | 'Sell') => fake!.executions.filter((e) => e.side === side);

  it("an exit whose execId is below its entry's closes the position, with the round trip its PnL", async () => {
    await live();
    strategy.next = ENTER;
    await tickUntil(() => (book()?.amount ?? 0) > 0);
    // the exit's execution gets a smaller execId than the entry's, as Bybit's real-format ids may
    fake!.execIdJump = -1_000_000n;
    strategy.next = EXIT;
    await tickUntil(() => executions('Sell').length === 1 && h!.orderBook.pendingOrders().length === 0);
    for (let i = 0; i < 5; i++) await h!.loop.tick();
    const [buy] = executions('Buy');
    const [sell] = executions('Sell');
    expect(buy.execId).to.match(/^\d{19}$/);
    expect(BigInt(sell.execId) < BigInt(buy.execId)).to.equal(true);
    expect(Number(sell.execTime)).to.be.above(Number(buy.execTime));
    expect(executions('Sell')).to.have.length(1);
    // what the bot counts is the dust the account holds (the buy's fee was taken in BTC)
    expect(book().amount).to.be.closeTo(fake!.balance('BTC'), 1e-9);
    // realized: the sale's proceeds less its fee (in USDT), less the cost of what was sold at the entry's average
    const held = Number(buy.execQty) - Number(buy.execFee);
    const expected =
      Number(sell.execValue) - Number(sell.execFee) - (Number(buy.execValue) / held) * Number(sell.execQty);
    expect(book().realizedPnl).to.be.closeTo(expected, 1e-6);
    expect(h!.events.filter((e) => e.type === 'position.closed')).to.have.length(1);
    // and a restart derives the same book from the same fills
    const before = book();
    h = await h!.restart();
    await h.loop.recover({ kind: 'clean', at: Date.now(), reason: 'test' });
    expect(book()).to.deep.equal(before);
  });
});
