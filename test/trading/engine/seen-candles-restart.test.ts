import { expect } from 'chai';
import type { Candle } from '../../../src/trading/exchange/exchange';
import { floorToStep } from '../../../src/trading/exchange/precision';
import {
  HOLD,
  type Signal,
  type Strategy,
  type StrategyContext,
} from '../../../src/trading/strategy/strategy';
import { EngineHarness } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';

/**
 * sma-crossover's contract, on one candle: a cross on candle X counts when X is among the `newCandles` newest
 * candles, and enters when not in position (SmaCrossoverStrategy.evaluate). The cross is on the first candle it
 * sees. Records what it was asked on: the newest candle and how many were new.
 */
class CrossOnce implements Strategy {
  readonly name = 'cross-once';
  readonly minCandles = 2;
  crossAt: number | undefined;
  /** When set: the cross is this many candles back from the newest closed one, at the next evaluation. */
  crossBack: number | undefined;
  readonly asked: { newest: number; newCandles: number }[] = [];
  evaluate(candles: readonly Candle[], ctx: StrategyContext): Signal {
    const newest = candles.slice(-Math.max(1, ctx.newCandles)).map((c) => c[0]);
    this.asked.push({ newest: newest[newest.length - 1], newCandles: ctx.newCandles });
    if (this.crossBack !== undefined) this.crossAt ??= candles[candles.length - 1 - this.crossBack][0];
    this.crossAt ??= newest[newest.length - 1];
    if (!ctx.inPosition && newest.includes(this.crossAt))
      return { action: 'enter-long', reason: 'fast SMA crossed above slow' };
    return HOLD;
  }
}

describe('the candle a signal was acted on, across a restart (symbol-tick.ts, state seenCandleEnds)', function () {
  this.timeout(20_000);
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h]);

  const entries = (): number => h!.orderBook.hotOrders((o) => o.purpose === 'entry').length;

  /** An entry on the cross, then the position stopped out before the next candle closes (a market stop-loss). */
  async function enteredThenStoppedOut(): Promise<{ strategy: CrossOnce; crossCandle: number }> {
    const strategy = new CrossOnce();
    h = await EngineHarness.open({
      config: { trading: { risk: { stopLossPct: 0, takeProfitPct: 0 } } },
      strategy,
    });
    await h.loop.recover({ kind: 'first-start' });
    h.loop.enterRunning();
    await h.loop.tick();
    expect(entries(), 'entry on the cross').to.equal(1);
    const crossCandle = strategy.crossAt!;
    const candleMs = h.config.trading.paper.candleMs;
    expect(h.orders.state.data.seenCandleEnds['BTC/USDT'], 'its end kept with the entry').to.equal(
      crossCandle + candleMs,
    );
    const market = h.orderBook.markets['BTC/USDT'];
    const amount = floorToStep(h.orderBook.positions()['BTC/USDT'].amount, market.amountStep);
    await h.manager.place({ symbol: 'BTC/USDT', side: 'sell', type: 'market', amount, purpose: 'stop-loss' });
    expect(h.orderBook.openPositions()).to.have.length(0);
    return { strategy, crossCandle };
  }

  it('does not enter again on the candle it entered on after a stop-loss and a restart; a new candle is asked', async () => {
    const { strategy, crossCandle } = await enteredThenStoppedOut();
    await h!.loop.tick();
    expect(entries(), 'no second entry on the same cross while running').to.equal(1);
    // a restart (crash, deploy, watchdog) before the next candle closes
    h = await h!.restart();
    await h.loop.recover({ kind: 'crash' });
    h.loop.enterRunning();
    await h.loop.tick();
    expect(entries(), 'no second entry on the same cross after a restart').to.equal(1);
    expect(strategy.asked, 'the strategy is not asked on the candle it saw').to.have.length(1);
    // the next candle closes: the strategy is asked on it, and only it is new
    await h.nextCandle();
    await h.loop.tick();
    expect(strategy.asked.slice(1)).to.have.length(1);
    expect(strategy.asked[1].newest).to.be.greaterThan(crossCandle);
    expect(strategy.asked[1].newCandles).to.equal(1);
  });

  it('a file from before the ends were kept (the open time in seenCandles): the candle is not acted on again after the upgrade', async () => {
    const { strategy, crossCandle } = await enteredThenStoppedOut();
    // the state as the version before wrote it: the open time of the candle seen, no end
    await h!.files.store.commit((d) => {
      d.seenCandles = { 'BTC/USDT': crossCandle };
      d.seenCandleEnds = {};
    });
    h = await h!.restart();
    await h.loop.recover({ kind: 'crash' });
    h.loop.enterRunning();
    await h.loop.tick();
    expect(entries(), 'no second entry on the same cross after the upgrade').to.equal(1);
    expect(strategy.asked, 'not asked on the candle it saw').to.have.length(1);
    await h.nextCandle();
    await h.loop.tick();
    expect(strategy.asked.at(-1)!.newCandles, 'the next candle is new').to.equal(1);
    const newest = strategy.asked.at(-1)!.newest;
    expect(h.orders.state.data.seenCandleEnds['BTC/USDT']).to.equal(newest + h.config.trading.paper.candleMs);
    expect(h.orders.state.data.seenCandles['BTC/USDT'], 'the old form kept beside it (a downgrade)').to.equal(
      newest,
    );
  });

  it('after an outage, enters on no cross among the older new candles (a stale signal), only on a fresh one', async () => {
    // review of fix27: 60 candles down, the cross 50 candles back and its relation still holding: entering now buys
    // the move late. Entries look at one tick's worth of new candles (+1); exits at the whole gap.
    const strategy = new CrossOnce();
    strategy.crossAt = -1; // no cross before the outage
    h = await EngineHarness.open({
      config: { trading: { risk: { stopLossPct: 0, takeProfitPct: 0 } } },
      strategy,
    });
    await h.loop.recover({ kind: 'first-start' });
    h.loop.enterRunning();
    await h.loop.tick();
    h = await h.restart();
    const candleMs = h.config.trading.paper.candleMs;
    await h.fakeClock().advance(60 * candleMs, candleMs);
    strategy.crossAt = undefined;
    strategy.crossBack = 50;
    await h.loop.recover({ kind: 'crash' });
    h.loop.enterRunning();
    await h.loop.tick();
    expect(strategy.asked.at(-1)!.newCandles, 'one tick of candles and one more').to.be.at.most(2);
    expect(entries(), 'no entry on a cross 50 candles old').to.equal(0);
    // a fresh cross on the next candle enters
    strategy.crossAt = undefined;
    strategy.crossBack = 0;
    await h.nextCandle();
    await h.loop.tick();
    expect(entries(), 'entry on a fresh cross').to.equal(1);
  });
});
