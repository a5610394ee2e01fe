/**
 * A write-off with the host clock 2 minutes ahead of Bybit's (review 25), end to end: the real engine through real
 * ccxt against the Bybit double (harness/exchanges/fake-bybit.ts). Bybit's execIds are not numbers, so a symbol's
 * fills replay in time order, and every fill carries Bybit's time: a write-off stamped on the host clock came after
 * the stop-loss and the re-entry that followed it, and the new position's entry price mixed in the old one's.
 * Real clock, as live-exchanges.suite.ts (see there why).
 */
import { expect } from 'chai';
import { systemClock } from '../../../src/shared/clock';
import { averageEntryPrice, derivePositions, type PositionBook } from '../../../src/trading/engine/books/pnl';
import { HOLD, type Signal } from '../../../src/trading/strategy/strategy';
import { bybitKit } from '../../../harness/exchanges/exchange-kits';
import type { FakeBybit } from '../../../harness/exchanges/fake-bybit';
import type { LocalExchange } from '../../../harness/exchanges/local-exchange';
import { EngineHarness, ScriptedStrategy } from '../../support/engine-harness';
import { testCcxtExchange, tickUntil as tickUntilIn } from '../../support/live-engine';

const BTC = 'BTC/USDT';
const ENTER: Signal = { action: 'enter-long', reason: 'test says buy' };

describe('a write-off on the exchange clock (Bybit, host clock 2 minutes ahead)', function () {
  this.timeout(60_000);
  let fake: LocalExchange | undefined;
  let h: EngineHarness | undefined;

  afterEach(async () => {
    await h?.close();
    await fake?.close();
    h = undefined;
    fake = undefined;
  });

  it('the re-entry after a stop-loss with a write-off keeps its own entry price', async () => {
    fake = await bybitKit.start({ candleMs: 300, balances: { USDT: 10_000 } });
    fake.clockSkewMs = -120_000;
    fake.pinPrice(BTC, 60_000);
    const strategy = new ScriptedStrategy();
    h = await EngineHarness.open({
      config: {
        trading: {
          mode: 'live',
          symbols: [BTC],
          risk: { stopLossPct: 2, takeProfitPct: 0 },
          orders: { unknownNotFoundMisses: 3, unknownNotFoundWindowMs: 1_000, createTimeoutMs: 800 },
        },
      },
      strategy,
      clock: systemClock,
      exchange: () => testCcxtExchange(bybitKit, fake!.url),
    });
    const tickUntil = (done: () => boolean): Promise<void> => tickUntilIn(h!, done);
    const position = (): number => h!.orderBook.positions()[BTC]?.amount ?? 0;
    await h.loop.recover({ kind: 'first-start' });
    h.loop.enterRunning();
    strategy.next = ENTER;
    await tickUntil(() => position() > 0);
    strategy.next = HOLD;
    // a tenth of the bought coins leaves the account by hand: two readings confirm the shortfall
    (fake as FakeBybit).wallet.credit('BTC', -position() / 10);
    // readings sent a not-found window (1 s) after the entry's fill: sooner, one may lag it (shortfall-watch.ts)
    await new Promise((r) => setTimeout(r, 1_100));
    for (let i = 0; i < 3; i++) await h.loop.tick();
    expect(h.events.filter((e) => e.type === 'position.shortfall')).to.have.length(1);
    // the stop-loss writes the missing tenth off and sells what is held; then the strategy enters again
    fake.pinPrice(BTC, 57_000);
    await tickUntil(() => h!.events.some((e) => e.type === 'position.closed'));
    const writeOff = h.orderBook.hotOrders((o) => o.purpose === 'write-off')[0];
    expect(writeOff, 'a write-off').to.not.equal(undefined);
    fake.pinPrice(BTC, 57_500);
    strategy.next = ENTER;
    const entries = () => h!.orderBook.hotOrders((o) => o.purpose === 'entry' && o.status === 'filled');
    await tickUntil(() => entries().length === 2);
    strategy.next = HOLD;
    const reentry = h.orderBook.hotOrders((o) => o.purpose === 'entry' && o.status === 'filled').at(-1)!;
    expect(reentry.fills.length).to.be.greaterThan(0);
    // the write-off is stamped on Bybit's time, before the re-entry's fills (they carry Bybit's time too)
    expect(writeOff.fills[0]!.timestamp).to.be.below(Math.min(...reentry.fills.map((f) => f.timestamp)));
    // the books as it happened: the entry, the write-off, the stop-loss, the re-entry (what the stop-loss left below
    // one amount step, if any, stays in the position at its cost)
    const stopLoss = h.orderBook.hotOrders((o) => o.purpose === 'stop-loss')[0]!;
    const entry = entries()[0]!;
    const happened = [entry, writeOff, stopLoss, reentry].reduce(
      (books, o) => derivePositions(books, o.fills, h!.orderBook.markets, h!.orderBook.fillOrder),
      {} as Record<string, PositionBook>,
    )[BTC]!;
    const book = h.orderBook.positions()[BTC]!;
    expect(book.amount).to.be.closeTo(happened.amount, 1e-12);
    expect(averageEntryPrice(book)).to.be.closeTo(averageEntryPrice(happened), 1e-6);
    expect(averageEntryPrice(book)).to.be.closeTo(57_500, 100);
  });
});
