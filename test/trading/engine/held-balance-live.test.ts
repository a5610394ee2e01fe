/**
 * A position the account holds less of than the bot's fills say, end to end: the real engine through real ccxt
 * against the Binance double (harness/exchanges/fake-binance.ts), which takes the fees of every pair from the
 * account's BNB when it holds enough ("pay fees with BNB": commissionAsset BNB in the order's fills and myTrades).
 * The bot holds a BNB/USDT position and trades BTC/USDT paying BNB fees; the owner has no spare BNB, so those fees
 * come out of the bot's BNB. Real clock, as live-exchanges.suite.ts (see there why).
 */
import { expect } from 'chai';
import { reconcileWithExchange } from '../../../src/trading/engine/start/reconcile';
import { readReport } from '../../../src/trading/report/read-report';
import { HOLD, type Signal, type Strategy } from '../../../src/trading/strategy/strategy';
import { binanceKit } from '../../../harness/exchanges/exchange-kits';
import type { FakeBinance } from '../../../harness/exchanges/fake-binance';
import type { LocalExchange } from '../../../harness/exchanges/local-exchange';
import { EngineHarness, deepMerge } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import { startLiveEngine, tickUntil as tickUntilIn } from '../../support/live-engine';

const BTC = 'BTC/USDT';
const BNB = 'BNB/USDT';
const ENTER: Signal = { action: 'enter-long', reason: 'test says buy' };
const EXIT: Signal = { action: 'exit-long', reason: 'test says sell' };

/** A strategy told per symbol what to say. */
class PerSymbolStrategy implements Strategy {
  readonly name = 'per-symbol';
  readonly minCandles = 2;
  readonly next: Record<string, Signal> = {};
  evaluate(_candles: unknown, ctx: { symbol: string }): Signal {
    return this.next[ctx.symbol] ?? HOLD;
  }
}

describe('a position larger than the account holds (Binance, fees of other pairs paid in BNB)', function () {
  this.timeout(60_000);
  let fake: LocalExchange | undefined;
  let h: EngineHarness | undefined;
  let strategy: PerSymbolStrategy;

  closeAfterEach(() => [h, fake]);

  /** The owner holds 1 BTC and 500 USDT of their own, and no BNB: every BNB on the account is the bot's. */
  async function live(
    config: Record<string, unknown> = {},
    recentFinalKept?: number,
  ): Promise<EngineHarness> {
    fake = await binanceKit.start({
      candleMs: 300,
      balances: { USDT: 10_000, BTC: 1 },
      symbols: [BTC, BNB],
      thirdCurrencyFees: true,
    });
    fake.pinPrice(BTC, 60_000);
    fake.pinPrice(BNB, 100);
    strategy = new PerSymbolStrategy();
    const base = {
      trading: {
        mode: 'live',
        symbols: [BNB, BTC],
        risk: { stopLossPct: 2, takeProfitPct: 0, stakePerTrade: 2_000 },
        orders: { unknownNotFoundMisses: 3, unknownNotFoundWindowMs: 1_000, createTimeoutMs: 800 },
      },
    };
    h = await startLiveEngine(binanceKit, fake.url, {
      config: deepMerge(base, config),
      strategy,
      recentFinalKept,
    });
    return h;
  }

  const tickUntil = (done: () => boolean, max?: number): Promise<void> => tickUntilIn(h!, done, max);

  /**
   * Three balance readings sent a not-found window (1 s here) after the last order change: a reading sent sooner may
   * lag that order's fill, and judges no shortfall of its symbol (shortfall-watch.ts).
   */
  async function readingsPastWindow(engine: EngineHarness): Promise<void> {
    await new Promise((r) => setTimeout(r, 1_100));
    for (let i = 0; i < 3; i++) await engine.loop.tick();
  }

  const position = (symbol: string): number => h!.orderBook.positions()[symbol]?.amount ?? 0;
  const events = (type: string) => h!.events.filter((e) => e.type === type);
  const sellsOf = (symbol: string) => fake!.trades(symbol).filter((t) => t.side === 'sell');

  /** Buys BNB, then a BTC round trip whose fees Binance takes from that BNB. */
  async function bnbPositionThenBtcRoundTrip(): Promise<void> {
    strategy.next[BNB] = ENTER;
    await tickUntil(() => position(BNB) > 0);
    strategy.next[BNB] = HOLD;
    strategy.next[BTC] = ENTER;
    await tickUntil(() => position(BTC) > 0);
    strategy.next[BTC] = EXIT;
    await tickUntil(() => position(BTC) === 0 && sellsOf(BTC).length === 1);
    strategy.next[BTC] = HOLD;
    const btcFees = fake!.trades(BTC).map((t) => t.feeAsset);
    expect(btcFees).to.deep.equal(['BNB', 'BNB']);
    // the account now holds less BNB than the bot's position: by the BTC fees
    const paid = fake!.trades(BTC).reduce((s, t) => s + t.fee, 0);
    expect(fake!.balance('BNB')).to.be.closeTo(position(BNB) - paid, 1e-9);
    expect(paid).to.be.above(0.01); // more than one BNB amount step
  }

  it('its stop-loss sells what the account holds and alerts once; the owner keeps their coins', async () => {
    await live();
    await bnbPositionThenBtcRoundTrip();
    // readings go on (two in a row confirm the shortfall), then the BNB price falls through the stop-loss
    await readingsPastWindow(h!);
    expect(events('position.shortfall')).to.have.length(1);
    fake!.pinPrice(BNB, 95);
    const closed = () => events('position.closed').filter((e) => e.data.symbol === BNB);
    await tickUntil(() => closed().length > 0);
    for (let i = 0; i < 5; i++) await h!.loop.tick();

    // one sell of what was held (whole amount steps), never refused for insufficient balance
    expect(sellsOf(BNB)).to.have.length(1);
    expect(events('order.rejected')).to.deep.equal([]);
    expect(fake!.balance('BNB')).to.be.below(0.01);
    // what the bot counts is what the account holds: the dust below one step
    expect(position(BNB)).to.be.closeTo(fake!.balance('BNB'), 1e-9);
    // the owner's coins: untouched (1 BTC; the BTC the bot bought was all sold by the bot)
    expect(fake!.balance('BTC')).to.be.closeTo(1, 1e-9);
    // alerted once, with what was held and what the position said
    const [alert] = events('position.shortfall');
    expect(events('position.shortfall')).to.have.length(1);
    expect(alert.data).to.include({ symbol: BNB });
    expect(alert.data.held as number).to.be.below(alert.data.position as number);
    expect(alert.summary).to.contain('fees paid in BNB on other pairs');
    // the missing part left the position as a write-off, explained by the bot's own BNB fees
    const writeOff = h!.orderBook.hotOrders().find((o) => o.purpose === 'write-off');
    expect(writeOff?.fills.map((f) => f.tradeId)).to.deep.equal(['fees-paid-in-coin']);
    expect(closed()).to.have.length(1);
  });

  it('counts the BNB fees of orders already archived once, across a restart: PnL, /pnl and the alert', async () => {
    // every final order moves to the history journal at the end of its tick: the BTC orders that paid the BNB fees
    // are archived long before the shortfall is confirmed and written off
    await live({}, 0);
    await bnbPositionThenBtcRoundTrip();
    const paid = fake!.trades(BTC).reduce((s, t) => s + t.fee, 0);
    await readingsPastWindow(h!);
    expect(h!.orderBook.hotOrders().filter((o) => o.symbol === BTC)).to.deep.equal([]);
    // the alert names the bot's own fees, archived or not (all of what was missing when it was confirmed)
    const [alert] = events('position.shortfall');
    expect(events('position.shortfall')).to.have.length(1);
    expect(alert.data.missing as number).to.be.above(0.01);
    expect(alert.data.feesPaidInBase as number).to.be.closeTo(alert.data.missing as number, 1e-9);
    // reconcile says what explains the difference
    const [differs] = await reconcileWithExchange(h!.orders, h!.exchange);
    expect(differs).to.include({ kind: 'balance-differs', symbol: BNB });
    expect(differs!.detail).to.contain("BNB of it the bot's own fees paid in BNB on other pairs");
    expect(Number(/\((\S+) BNB of it/.exec(differs!.detail)![1])).to.be.closeTo(paid, 1e-9);
    // a restart reads the fees back from the checkpoint (the orders that paid them are in the journal only)
    h = await h!.restart();
    await h.loop.recover({ kind: 'clean' });
    h.loop.enterRunning();
    for (let i = 0; i < 3; i++) await h.loop.tick();
    fake!.pinPrice(BNB, 95);
    await tickUntil(() => events('position.closed').some((e) => e.data.symbol === BNB));
    for (let i = 0; i < 3; i++) await h.loop.tick();
    expect(events('order.rejected')).to.deep.equal([]);
    // the missing BNB left as the fees they were (valued at 100 when paid), not as a loss of their entry cost
    const writeOff = (await h.orderBook.allOrders()).find((o) => o.purpose === 'write-off');
    expect(writeOff?.fills.map((f) => [f.tradeId, f.price])).to.deep.equal([['fees-paid-in-coin', 100]]);
    expect(writeOff!.filled).to.be.closeTo(paid, 1e-9);
    // each fee counted once: realized PnL less the cost still held (the dust left) is the USDT the account gained
    // (on the old write-off, short by the BNB fees' value: 0.03 BNB at 100)
    const gained = fake!.balance('USDT') - 10_000;
    const books = Object.values(h.orderBook.positions());
    const realized = books.reduce((s, b) => s + b.realizedPnl, 0);
    const held = books.reduce((s, b) => s + b.costBasis, 0);
    expect(realized - held).to.be.closeTo(gained, 1e-6);
    // and /pnl, folding the journal and the hot state, says the same
    const report = await readReport({
      history: h.files.history,
      pageBytes: 1 << 16,
      hotOrders: () => h!.orderBook.hotOrders(),
      lots: () => h!.orderBook.markets,
      fillOrder: h!.orderBook.fillOrder,
      quoteCurrency: 'USDT',
      end: () => ({ equity: 0, unrealized: 0, openPositions: 0 }),
      now: () => Date.now(),
    });
    expect(report.periods.all.realized).to.be.closeTo(realized, 1e-6);
  });

  /** A BNB position (stop-loss at 50 %), then the owner takes 3 BNB out of the account; three ticks. */
  async function bnbPositionThenOwnerTakes3(): Promise<void> {
    await live({ trading: { risk: { stopLossPct: 50 } } });
    strategy.next[BNB] = ENTER;
    await tickUntil(() => position(BNB) > 0);
    strategy.next[BNB] = HOLD;
    // the owner withdraws 3 BNB (or sells them on the website)
    (fake as FakeBinance).wallet.credit('BNB', -3);
    await readingsPastWindow(h!);
  }

  it('close-all sells what the account holds after the owner took some BNB out by hand', async () => {
    await bnbPositionThenOwnerTakes3();
    expect(events('position.shortfall')).to.have.length(1);
    expect(events('position.shortfall')[0].summary).to.contain('a withdrawal or a sale of BNB by hand');
    const result = await h!.loop.closeAll();
    expect(result.skipped).to.deep.equal([]);
    expect(fake!.balance('BNB')).to.be.below(0.01);
    expect(position(BNB)).to.be.closeTo(fake!.balance('BNB'), 1e-9);
    expect(events('order.rejected')).to.deep.equal([]);
    // the 3 BNB gone are a loss of their entry cost
    const writeOff = h!.orderBook.hotOrders().find((o) => o.purpose === 'write-off');
    expect(writeOff).to.include({ status: 'filled' });
    expect(writeOff!.filled).to.be.closeTo(3, 1e-9);
    expect(writeOff!.fills.map((f) => [f.tradeId, f.price])).to.deep.equal([['missing', 0]]);
    // no exchange order: reconcile never looks it up, and finds the state and the exchange agree
    expect(await reconcileWithExchange(h!.orders, h!.exchange)).to.deep.equal([]);
    // and a restart reads the state back (the write-off's purpose is in the schema) with the same position
    const before = position(BNB);
    h = await h!.restart();
    const summary = await h.loop.recover({ kind: 'clean' });
    expect(summary.changedWhileDown).to.deep.equal([]);
    expect(position(BNB)).to.equal(before);
  });

  it('a confirmed shortfall is alerted once however many restarts it lasts, and again when it comes back', async () => {
    await bnbPositionThenOwnerTakes3();
    // each harness sees the events published while it runs: the alerts of every run, added up
    let told = events('position.shortfall').length;
    expect(told).to.equal(1);
    // a crash loop: each start reads the balance again, confirms the same shortfall, and stays quiet
    for (let start = 0; start < 3; start++) {
      h = await h!.restart();
      await h.loop.recover({ kind: 'crash', at: Date.now(), reason: 'test' });
      h.loop.enterRunning();
      for (let i = 0; i < 3; i++) await h.loop.tick();
      told += events('position.shortfall').length;
    }
    expect(told).to.equal(1);
    // the owner puts the 3 BNB back: a reading shows the position whole, so a later shortfall is new
    (fake as FakeBinance).wallet.credit('BNB', 3);
    for (let i = 0; i < 2; i++) await h!.loop.tick();
    h = await h!.restart();
    await h.loop.recover({ kind: 'crash', at: Date.now(), reason: 'test' });
    h.loop.enterRunning();
    (fake as FakeBinance).wallet.credit('BNB', -2);
    await readingsPastWindow(h);
    const again = events('position.shortfall');
    expect(again).to.have.length(1);
    expect(again[0].data.missing as number).to.be.closeTo(2, 0.02);
  });

  it('close-all before a shortfall is confirmed sells what is held and says the position is still open', async () => {
    await live({ trading: { risk: { stopLossPct: 50 } } });
    strategy.next[BNB] = ENTER;
    await tickUntil(() => position(BNB) > 0);
    strategy.next[BNB] = HOLD;
    const bought = position(BNB);
    // the owner takes 3 BNB out and the operator closes all at once: no two readings have confirmed it yet
    (fake as FakeBinance).wallet.credit('BNB', -3);
    const result = await h!.loop.closeAll();
    expect(events('order.rejected')).to.deep.equal([]);
    expect(fake!.balance('BNB')).to.be.below(0.01);
    // never "all closed" while the bot still counts 3 BNB: skipped, with what was held and what is left
    expect(position(BNB)).to.be.closeTo(3, 0.02);
    expect(result.skipped).to.have.length(1);
    expect(result.skipped[0].symbol).to.equal(BNB);
    expect(result.skipped[0].reason).to.contain(`of the position's ${bought}`);
    expect(result.skipped[0].reason).to.contain('still open');
  });

  it('close-all in capped pieces counts the BNB fee each piece paid: the last piece is what is left, not refused', async () => {
    await live({ trading: { risk: { stopLossPct: 50 } } });
    strategy.next[BNB] = ENTER;
    await tickUntil(() => position(BNB) > 0);
    strategy.next[BNB] = HOLD;
    expect(position(BNB)).to.be.above(16);
    // then Binance's largest market order becomes 8 BNB: the position is sold in three pieces, each paying its fee
    // in BNB (the coin sold), so the last piece must be what is left after two fees, not position − 16
    (fake as FakeBinance).setMarketMaxQty(8);
    h!.orderBook.setMarkets(await h!.exchange.loadMarkets(true));
    const result = await h!.loop.closeAll();
    expect(events('order.rejected')).to.deep.equal([]);
    expect(result.skipped).to.deep.equal([]);
    expect(sellsOf(BNB).length).to.be.at.least(3);
    expect(sellsOf(BNB).every((t) => t.feeAsset === 'BNB')).to.equal(true);
    expect(fake!.balance('BNB')).to.be.below(0.01);
    expect(position(BNB)).to.be.closeTo(fake!.balance('BNB'), 1e-9);
  });
});
