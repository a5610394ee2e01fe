/**
 * KNOWN DEFECT (review 34x, not fixed): a position on a symbol the exchange delists holds a position slot for ever.
 * The symbol is gone from the markets list (Binance exchangeInfo no longer lists it; -1121 "Invalid symbol." for it),
 * so the bot can never sell it; `market.halted` (status delisted) is told once. But the dust rule counts any amount of
 * a symbol without a market as an open position (risk.ts isOpenPosition: `!market → amount > 0`), so it counts toward
 * `risk.maxOpenPositions` for as long as the bot runs: with the limit reached, no other symbol ever enters again, and
 * no operator command releases it (/settle is for orders; close-all cannot sell it). Expected: a delisted symbol's
 * position — which no order can sell — no longer holds a slot (or the operator can write it off), told once.
 * Real engine, real ccxt, the Binance double (`delist`).
 */
import { expect } from 'chai';
import { binanceKit } from '../../../harness/exchanges/exchange-kits';
import type { LocalExchange } from '../../../harness/exchanges/local-exchange';
import { ScriptedStrategy, type EngineHarness } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import { startLiveEngine, tickUntil } from '../../support/live-engine';

const BTC = 'BTC/USDT';
const ETH = 'ETH/USDT';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('a position on a symbol the exchange delists (real ccxt, Binance double)', function () {
  this.timeout(60_000);
  let fake: LocalExchange | undefined;
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h, fake]);

  it.skip('does not hold a position slot for ever: another symbol enters again', async () => {
    fake = await binanceKit.start({
      candleMs: 300,
      balances: { USDT: 10_000, BTC: 0, ETH: 0 },
      symbols: [BTC, ETH],
    });
    const strategy = new ScriptedStrategy();
    h = await startLiveEngine(binanceKit, fake.url, {
      config: {
        trading: {
          mode: 'live',
          symbols: [BTC, ETH],
          risk: { stopLossPct: 0, takeProfitPct: 0, stakePerTrade: 1_000, maxOpenPositions: 1 },
          // the daily reload, brought near: it is the one that finds BTC gone
          marketsRefreshMs: 500,
          haltedMarketsRefreshMs: 100,
        },
      },
      strategy,
    });
    await h.manager.place({ symbol: BTC, side: 'buy', type: 'market', amount: 0.01, purpose: 'entry' });
    await tickUntil(h, () => h!.orderBook.openPositions().some((p) => p.symbol === BTC));
    fake.delist(BTC);
    await tickUntil(h, () => h!.eventTypes().includes('market.halted'));
    strategy.next = { action: 'enter-long', reason: 'test says buy' };
    for (let i = 0; i < 40 && !h.orderBook.openPositions().some((p) => p.symbol === ETH); i++) {
      await h.loop.tick();
      await sleep(50);
    }
    expect(
      h.orderBook.openPositions().map((p) => p.symbol),
      'the delisted BTC position holds the only slot: ETH never enters',
    ).to.include(ETH);
  });
});
