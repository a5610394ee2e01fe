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
  readonly asked: { newest: number; newCandles: number }[] = [];
  evaluate(candles: readonly Candle[], ctx: StrategyContext): Signal {
    const newest = candles.slice(-Math.max(1, ctx.newCandles)).map((c) => c[0]);
    this.asked.push({ newest: newest[newest.length - 1], newCandles: ctx.newCandles });
    this.crossAt ??= newest[newest.length - 1];
    if (!ctx.inPosition && newest.includes(this.crossAt))
      return { action: 'enter-long', reason: 'fast SMA crossed above slow' };
    return HOLD;
  }
}

describe('the candle a signal was acted on, across a restart (symbol-tick.ts, state seenCandles)', function () {
  this.timeout(20_000);
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h]);

  it('does not enter again on the candle it entered on after a stop-loss and a restart; a new candle is asked', async () => {
    const strategy = new CrossOnce();
    h = await EngineHarness.open({
      config: { trading: { risk: { stopLossPct: 0, takeProfitPct: 0 } } },
      strategy,
    });
    await h.loop.recover({ kind: 'first-start' });
    h.loop.enterRunning();
    await h.loop.tick();
    const entries = (): number => h!.manager.hotOrders((o) => o.purpose === 'entry').length;
    expect(entries(), 'entry on the cross').to.equal(1);
    const crossCandle = strategy.crossAt!;
    expect(h.manager.state.data.seenCandles['BTC/USDT'], 'kept with the entry').to.equal(crossCandle);
    // the position is stopped out before the next candle closes (a stop-loss sells at market)
    const market = h.manager.markets['BTC/USDT'];
    const amount = floorToStep(h.manager.positions()['BTC/USDT'].amount, market.amountStep);
    await h.manager.place({ symbol: 'BTC/USDT', side: 'sell', type: 'market', amount, purpose: 'stop-loss' });
    expect(h.manager.openPositions()).to.have.length(0);
    await h.loop.tick();
    expect(entries(), 'no second entry on the same cross while running').to.equal(1);
    // a restart (crash, deploy, watchdog) before the next candle closes
    h = await h.restart();
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
});
