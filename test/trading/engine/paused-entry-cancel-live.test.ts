import { setTimeout as sleep } from 'node:timers/promises';
/**
 * A limit entry resting on the exchange when entries pause (the operator's /pause, the kill switch) is cancelled on
 * its symbol's next tick, not left to buy until its time to live (review risk45), through real ccxt against the local
 * exchanges: what it filled before stays a position, kept by its stop-loss, and the cancel is sent once, not every
 * tick.
 */
import { expect } from 'chai';
import type { Signal } from '../../../src/trading/strategy/strategy';
import { HOLD } from '../../../src/trading/strategy/strategy';
import type { Exchange } from '../../../src/trading/exchange/exchange';
import { EXCHANGE_KITS } from '../../../harness/exchanges/exchange-kits';
import type { LocalExchange } from '../../../harness/exchanges/local-exchange';
import { ScriptedStrategy, type EngineHarness } from '../../support/engine-harness';
import { callsTo, recordCalls, type RecordedCall } from '../../support/exchange-overrides';
import { closeAfterEach } from '../../support/close-after-each';
import { startLiveEngine, tickUntil } from '../../support/live-engine';

const BTC = 'BTC/USDT';
const ENTER: Signal = { action: 'enter-long', reason: 'test says buy' };

for (const kit of EXCHANGE_KITS) {
  describe(`a resting limit entry once entries pause, live ${kit.profile.name}`, function () {
    this.timeout(60_000);
    let fake: LocalExchange | undefined;
    let h: EngineHarness | undefined;
    closeAfterEach(() => [h, fake]);

    /**
     * The live engine in limit mode (time to live 10 minutes: never reached here), its limit entry resting and one
     * slice of four filled: a position and a working order. `risk` is merged into the test's.
     */
    async function partlyFilledEntry(risk: Record<string, unknown> = {}) {
      fake = await kit.start({
        candleMs: 300,
        balances: { USDT: 10_000 },
        limitFillSlices: 4,
        matchIntervalMs: 60_000,
      });
      fake.pinPrice(BTC, 60_000);
      const strategy = new ScriptedStrategy();
      let cancels: () => RecordedCall[] = () => [];
      h = await startLiveEngine(kit, fake.url, {
        config: {
          trading: {
            mode: 'live',
            symbols: [BTC],
            risk: { stakePerTrade: 400, stopLossPct: 2, takeProfitPct: 0, ...risk },
            orders: { type: 'limit', limitOrderTtlMs: 600_000 },
          },
        },
        strategy,
        wrapAdapter: (exchange: Exchange) => {
          const { exchange: proxy, calls } = recordCalls(exchange);
          cancels = () => callsTo(calls, 'cancelOrder');
          return proxy;
        },
      });
      const engine = h;
      strategy.next = ENTER;
      await tickUntil(engine, () => engine.orderBook.hotOrders((o) => o.purpose === 'entry').length > 0);
      strategy.next = HOLD;
      const placed = engine.orderBook.hotOrders((o) => o.purpose === 'entry')[0];
      await tickUntil(engine, () => engine.orderBook.order(placed.clientOrderId)!.status === 'open');
      // the price crosses the entry: one slice fills (the next one only a minute later), then it moves back up
      fake.pinPrice(BTC, placed.price! - 10);
      await tickUntil(
        engine,
        () => engine.orderBook.order(placed.clientOrderId)!.status === 'partially_filled',
      );
      fake.pinPrice(BTC, placed.price! + 10);
      const entry = engine.orderBook.order(placed.clientOrderId)!;
      expect(entry.filled).to.be.greaterThan(0).and.lessThan(entry.amount);
      expect(cancels(), 'no cancel before the pause').to.deep.equal([]);
      return { engine, entry, cancels };
    }

    /** After the pause: the entry cancelled once, its fill a position; a drop then sells it by its stop-loss. */
    async function cancelledKeptAndProtected(
      engine: EngineHarness,
      entry: { clientOrderId: string; filled: number; price?: number },
      cancels: () => RecordedCall[],
    ): Promise<void> {
      const status = () => engine.orderBook.order(entry.clientOrderId)!.status;
      // a few ticks: the limit's time to live is 10 minutes away, only the pause can cancel it
      await tickUntil(
        engine,
        () => status() === 'cancelled',
        20,
        () => engine.orderBook.order(entry.clientOrderId),
      );
      const cancelled = engine.orderBook.order(entry.clientOrderId)!;
      expect(cancelled.filled, 'what it filled before the cancel').to.be.greaterThan(0);
      const held = engine.orderBook.positions()[BTC]?.amount ?? 0;
      // (less the fee taken in the coin bought)
      expect(held, 'the fill stays a position').to.be.within(cancelled.filled * 0.99, cancelled.filled);
      // ticks go on: the cancelled entry is never cancelled again
      for (let i = 0; i < 5; i++) {
        await engine.loop.tick();
        await sleep(50);
      }
      expect(cancels(), 'one cancel sent').to.have.length(1);
      // the position is still protected while paused: its stop-loss sells it
      fake!.pinPrice(BTC, Number((entry.price! * 0.95).toFixed(2)));
      const stopLoss = () => engine.orderBook.hotOrders((o) => o.purpose === 'stop-loss');
      await tickUntil(
        engine,
        () => stopLoss().some((o) => o.status === 'filled'),
        80,
        () => ({ orders: engine.orderBook.hotOrders(), position: engine.orderBook.positions()[BTC] }),
      );
      expect(stopLoss()[0].amount, 'the stop-loss sells the position').to.be.closeTo(held, held * 0.01);
    }

    it('cancels it on the next tick after /pause; its partial fill stays a position with its stop-loss', async () => {
      const { engine, entry, cancels } = await partlyFilledEntry();
      await engine.loop.pauseEntries('operator says stop', 'operator');
      await cancelledKeptAndProtected(engine, entry, cancels);
    });

    it('cancels it once the kill switch fires; its partial fill stays a position with its stop-loss', async () => {
      // the bot's equity 1,000 USDT: a 1 % fall of the ~100 USDT filled is 0.1 % of it, past a 0.05 % drawdown
      const { engine, entry, cancels } = await partlyFilledEntry({ capital: 1_000, maxDrawdownPct: 0.05 });
      fake!.pinPrice(BTC, Number((entry.price! * 0.99).toFixed(2)));
      await tickUntil(
        engine,
        () => engine.loop.pause?.by === 'risk',
        40,
        () => engine.loop.pause,
      );
      await cancelledKeptAndProtected(engine, entry, cancels);
    });
  });
}
