/**
 * Fills whose exchange times go back — a later trade stamped before an earlier one (the matching engine's clock
 * stepped back) — end to end: the real engine through real ccxt against the Binance double
 * (harness/exchanges/fake-binance.ts, `tradeTimeShiftMs`). A symbol's fills are applied in the exchange's trade-id
 * order, never by their times alone. Real clock, as live-exchanges.test.ts (see there why).
 */
import { expect } from 'chai';
import { systemClock } from '../../../src/shared/clock';
import type { Signal } from '../../../src/trading/strategy/strategy';
import { binanceKit } from '../../../harness/exchanges/exchange-kits';
import type { FakeBinance } from '../../../harness/exchanges/fake-binance';
import { EngineHarness, ScriptedStrategy } from '../../support/engine-harness';
import { testCcxtExchange, tickUntil as tickUntilIn } from '../../support/live-engine';

const BTC = 'BTC/USDT';
const ENTER: Signal = { action: 'enter-long', reason: 'test says buy' };
const EXIT: Signal = { action: 'exit-long', reason: 'test says sell' };

describe('fills stamped before earlier fills (Binance trade times that go back)', function () {
  this.timeout(60_000);
  let fake: FakeBinance | undefined;
  let h: EngineHarness | undefined;
  let strategy: ScriptedStrategy;

  afterEach(async () => {
    await h?.close();
    await fake?.close();
    h = undefined;
    fake = undefined;
  });

  async function live(): Promise<EngineHarness> {
    fake = (await binanceKit.start({
      candleMs: 300,
      balances: { USDT: 10_000 },
      symbols: [BTC],
    })) as FakeBinance;
    fake.pinPrice(BTC, 60_000);
    strategy = new ScriptedStrategy();
    h = await EngineHarness.open({
      config: {
        trading: {
          mode: 'live',
          symbols: [BTC],
          risk: { stopLossPct: 50, takeProfitPct: 0, stakePerTrade: 2_000 },
          orders: { unknownNotFoundMisses: 3, unknownNotFoundWindowMs: 1_000, createTimeoutMs: 800 },
        },
      },
      strategy,
      clock: systemClock,
      exchange: () => testCcxtExchange(binanceKit, fake!.url),
    });
    await h.loop.recover({ kind: 'first-start' });
    h.loop.enterRunning();
    return h;
  }

  const tickUntil = (done: () => boolean, max?: number): Promise<void> => tickUntilIn(h!, done, max);

  const book = () => h!.manager.positions()[BTC];
  const sells = () => fake!.trades(BTC).filter((t) => t.side === 'sell');

  it('a sell stamped 10 minutes before its entry closes the position, with the round trip its PnL', async () => {
    await live();
    strategy.next = ENTER;
    await tickUntil(() => (book()?.amount ?? 0) > 0);
    // the exchange's clock steps back: the exit's trade is stamped before the entry's (its id is still the next)
    fake!.tradeTimeShiftMs = -600_000;
    strategy.next = EXIT;
    await tickUntil(() => sells().length === 1 && h!.manager.pendingOrders().length === 0);
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
