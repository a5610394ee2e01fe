import { expect } from 'chai';
import type { Signal } from '../../../src/trading/strategy/strategy';
import { EXCHANGE_KITS } from '../../../harness/exchanges/exchange-kits';
import type { LocalExchange } from '../../../harness/exchanges/local-exchange';
import { ScriptedStrategy, type EngineHarness } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import { openLiveEngine, tickUntil } from '../../support/live-engine';

const ENTER: Signal = { action: 'enter-long', reason: 'test says buy' };
const SYMBOLS = ['BTC/USDT', 'ETH/USDT', 'SOL/USDT'];

/**
 * risk.maxOpenPositions through real ccxt: every symbol's lane reads its candles from the exchange side by side
 * (real HTTP), so all of them decide while no entry is placed yet; the gate asked after the read holds the limit.
 */
for (const kit of EXCHANGE_KITS) {
  describe(`entry gate within one tick, live ${kit.profile.name}`, function () {
    this.timeout(30_000);
    let fake: LocalExchange | undefined;
    let h: EngineHarness | undefined;
    closeAfterEach(() => [h, fake]);

    it('sends no more entries than maxOpenPositions when every symbol signals on the same candle', async () => {
      fake = await kit.start({ candleMs: 300, balances: { USDT: 10_000 }, symbols: SYMBOLS });
      const strategy = new ScriptedStrategy();
      h = await openLiveEngine(kit, fake.url, {
        config: {
          trading: {
            mode: 'live',
            symbols: SYMBOLS,
            risk: { stopLossPct: 0, takeProfitPct: 0, maxOpenPositions: 1 },
          },
        },
        strategy,
      });
      await h.loop.recover({ kind: 'first-start' });
      h.loop.enterRunning();
      strategy.next = ENTER;
      await tickUntil(h, () => h!.orderBook.hotOrders((o) => o.purpose === 'entry').length > 0);
      await tickUntil(h, () => h!.orderBook.pendingOrders().length === 0);
      // a few more candles: every symbol keeps signalling, the one position holds the only slot
      await tickUntil(h, () => h!.orderBook.openPositions().length > 0);
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, 300));
        await h.loop.tick();
      }
      const entries = h.orderBook.hotOrders((o) => o.purpose === 'entry').map((o) => o.symbol);
      expect(entries, 'entries sent').to.have.length(1);
      expect(fake.createRequests(), 'creates the exchange received').to.have.length(1);
    });
  });
}
