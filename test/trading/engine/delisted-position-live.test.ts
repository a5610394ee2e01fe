/**
 * A position on a symbol the exchange delists (review 34x). The symbol is gone from the markets list (Binance
 * exchangeInfo no longer lists it; -1121 "Invalid symbol." for it), so the bot can never sell it; `market.halted`
 * (status delisted) is told once. The dust rule counts any amount of a symbol without a market as an open position
 * (risk.ts isOpenPosition: `!market → amount > 0`, the conservative side), so it holds a `risk.maxOpenPositions` slot:
 * on main for ever — with the limit reached no other symbol entered again, and no command released it. Now the load
 * that finds it gone tells once that the bot can no longer sell it (`position.unsellable`, saying it still holds the
 * slot and how to free it), and the operator's /writeoff takes it out of the books: the slot is free, another symbol
 * enters. Real engine, real ccxt, the Binance double (`delist`).
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

  it('does not hold a position slot for ever: told once, written off, another symbol enters again', async () => {
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
    await tickUntil(h, () => h!.eventTypes().includes('position.unsellable'));
    const told = h.events.filter((e) => e.type === 'position.unsellable');
    expect(told.map((e) => e.data.symbol)).to.deep.equal([BTC]);
    expect(told[0]!.data.reason).to.equal('delisted');
    expect(told[0]!.summary)
      .to.match(/maxOpenPositions/)
      .and.match(/\/writeoff BTC\/USDT/);
    // until written off the delisted position holds the only slot (the conservative side)
    expect(h.orderBook.openPositions().map((p) => p.symbol)).to.deep.equal([BTC]);
    const written = await h.loop.writeOff(BTC);
    expect(written.ok, written.ok ? '' : written.refusal).to.equal(true);
    strategy.next = { action: 'enter-long', reason: 'test says buy' };
    for (let i = 0; i < 40 && !h.orderBook.openPositions().some((p) => p.symbol === ETH); i++) {
      await h.loop.tick();
      await sleep(50);
    }
    expect(
      h.orderBook.openPositions().map((p) => p.symbol),
      'the delisted BTC position, written off, no longer holds the only slot: ETH enters',
    ).to.deep.equal([ETH]);
    expect(h.eventTypes().filter((t) => t === 'position.unsellable')).to.have.length(1);
  });
});
