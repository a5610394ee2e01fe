/**
 * A symbol the exchange delists while an order of it rests (real ccxt, the Binance double): the symbol is gone from
 * ccxt's markets, so ccxt refuses every read of the order itself (BadSymbol) before any request. That is no failure
 * of the exchange (review 29b: refreshing such orders every tick raised exchange.unreachable for ever): the order
 * goes in doubt, told once, and the operator settles it from the exchange's history without the bot asking the
 * exchange (it cannot answer for a symbol it no longer lists).
 */
import { expect } from 'chai';
import { binanceKit } from '../../../harness/exchanges/exchange-kits';
import type { LocalExchange } from '../../../harness/exchanges/local-exchange';
import { clientOrderIdFor } from '../../../src/trading/engine/state/trading-state';
import { TEST_INSTALL_ID, ScriptedStrategy, type EngineHarness } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import { startLiveEngine } from '../../support/live-engine';

const BTC = 'BTC/USDT';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('a delisted symbol with a resting order (real ccxt, Binance double)', function () {
  this.timeout(30_000);
  let fake: LocalExchange | undefined;
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h, fake]);

  /**
   * A live engine on the Binance double trading `symbols` (`trading` on top), a limit buy of BTC resting at half the
   * market, then BTC delisted: the engine (also kept in `h` for closing) and the order's clientOrderId.
   */
  async function restingBuyThenDelisted(
    symbols: string[],
    trading: Record<string, unknown> = {},
  ): Promise<{ h: EngineHarness; id: string }> {
    const kit = binanceKit;
    fake = await kit.start({ candleMs: 300, balances: { USDT: 10_000, BTC: 0 } });
    h = await startLiveEngine(kit, fake.url, {
      config: {
        trading: {
          mode: 'live',
          symbols,
          risk: { stopLossPct: 0, takeProfitPct: 0 },
          marketsRefreshMs: 500,
          haltedMarketsRefreshMs: 100,
          ...trading,
        },
      },
      strategy: new ScriptedStrategy(),
    });
    const price = (await h.exchange.fetchTicker(BTC)).last;
    await h.manager.place({
      symbol: BTC,
      side: 'buy',
      type: 'limit',
      price: Math.round(price * 0.5),
      amount: 0.001,
      purpose: 'entry',
    });
    const id = clientOrderIdFor('bot', TEST_INSTALL_ID, 1, kit.profile.clientOrderId.separator);
    expect(h.orderBook.order(id)!.status).to.equal('open');
    fake.delist(BTC);
    return { h, id };
  }

  it('keeps the exchange reachable; the order in doubt, told once, settled by the operator', async () => {
    let id: string;
    ({ h, id } = await restingBuyThenDelisted([BTC], { unreachableAlertMs: 300 }));
    for (let i = 0; i < 30 && !h.eventTypes().includes('market.halted'); i++) {
      await h.loop.tick();
      await sleep(50);
    }
    expect(h.eventTypes()).to.include('market.halted');
    for (let i = 0; i < 15; i++) {
      await h.loop.tick();
      await sleep(50);
    }
    expect(h.eventTypes(), 'a false exchange.unreachable').to.not.include('exchange.unreachable');
    expect(h.loop.snapshot()).to.include({ exchangeReachable: true });
    const told = h.events.filter((e) => e.type === 'order.in_doubt');
    expect(told).to.have.length(1);
    expect(told[0].summary).to.include('the exchange no longer lists BTC/USDT');
    expect(h.loop.inDoubtOrders().map((o) => [o.clientOrderId, o.ended])).to.deep.equal([[id, 'absent']]);
    const d = await h.loop.settleOrder({ clientOrderId: id, outcome: 'not-carried-out' });
    expect(d.ok, !d.ok ? d.refusal : '').to.equal(true);
    expect(h.orderBook.order(id)).to.include({ status: 'cancelled', filled: 0 });
    expect(h.orderBook.pendingOrders(BTC)).to.deep.equal([]);
    for (let i = 0; i < 5; i++) {
      await h.loop.tick();
      await sleep(50);
    }
    expect(h.eventTypes()).to.not.include('exchange.unreachable');
  });

  it('a restart right after the delisting, the order still resting in the state, recovers and runs', async () => {
    ({ h } = await restingBuyThenDelisted([BTC, 'ETH/USDT']));
    // the bot dies before any tick saw the delisting: the next start finds the symbol gone, the order open in state
    h = await h.restart({ connectLater: true });
    await h.loop.connect();
    await h.loop.recover({ kind: 'crash', reason: 'test' });
    h.loop.enterRunning();
    for (let i = 0; i < 5; i++) {
      await h.loop.tick();
      await sleep(50);
    }
    expect(h.eventTypes()).to.include('market.halted');
    expect(h.eventTypes()).to.not.include('exchange.unreachable');
    expect(h.loop.snapshot()).to.include({ exchangeReachable: true });
  });
});
