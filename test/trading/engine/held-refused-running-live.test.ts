/**
 * The running loop takes back an order held refused that the exchange has: a create the exchange took while its
 * answer said refused (each double's documented "insufficient balance": Binance -2010 with HTTP 400, Bybit retCode
 * 170131, OKX sCode 51008, both with HTTP 200). Before, only the next start (or /reconcile) looked: the buy filled
 * with no position and no stop-loss behind it until then. Now the loop's recheck looks it up (order-recheck.ts) and
 * takes it back from the answer: status, fills, position, one `order.taken_back` alert. Real engine, real ccxt,
 * each verified exchange's local double.
 */
import { expect } from 'chai';
import { clientOrderIdFor } from '../../../src/trading/engine/state/trading-state';
import type { Signal } from '../../../src/trading/strategy/strategy';
import { HOLD } from '../../../src/trading/strategy/strategy';
import { EXCHANGE_KITS } from '../../../harness/exchanges/exchange-kits';
import type { LocalExchange } from '../../../harness/exchanges/local-exchange';
import { EngineHarness, ScriptedStrategy, TEST_INSTALL_ID } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import { withOverrides } from '../../support/exchange-overrides';
import { startLiveEngine, tickUntil } from '../../support/live-engine';

const BTC = 'BTC/USDT';
const ENTER: Signal = { action: 'enter-long', reason: 'test says buy' };

for (const kit of EXCHANGE_KITS) {
  describe(`the running loop and an order held refused that ${kit.profile.name} took (real ccxt, local double)`, function () {
    this.timeout(30_000);
    let fake: LocalExchange | undefined;
    let h: EngineHarness | undefined;
    closeAfterEach(() => [h, fake]);
    const id1 = clientOrderIdFor('bot', TEST_INSTALL_ID, 1, kit.profile.clientOrderId.separator);
    let lookups: string[] = [];
    let strategy: ScriptedStrategy;

    /** A running live engine at a still 60 000; the owner holds 1 BTC. */
    async function live(orders: Record<string, unknown> = {}): Promise<void> {
      lookups = [];
      fake = await kit.start({ candleMs: 300, balances: { USDT: 10_000, BTC: 1 } });
      fake.pinPrice(BTC, 60_000);
      strategy = new ScriptedStrategy();
      h = await startLiveEngine(kit, fake.url, {
        config: {
          trading: {
            mode: 'live',
            symbols: [BTC],
            risk: { stopLossPct: 2, takeProfitPct: 0 },
            orders: {
              unknownNotFoundMisses: 3,
              unknownNotFoundWindowMs: 1_000,
              createTimeoutMs: 800,
              ...orders,
            },
          },
        },
        strategy,
        wrapAdapter: (adapter) =>
          withOverrides(adapter, {
            fetchOrderByClientId: (clientOrderId, symbol, since) => {
              lookups.push(clientOrderId);
              return adapter.fetchOrderByClientId(clientOrderId, symbol, since);
            },
          }),
      });
    }

    /** One entry whose create the double answers `fault`'s refusal. */
    async function enterRefused(kind: 'taken-then-refuse' | 'refuse'): Promise<void> {
      fake!.fault('createOrder', { kind, reason: 'insufficient-balance' });
      strategy.next = ENTER;
      await h!.loop.tick();
      strategy.next = HOLD;
      expect(h!.orderBook.order(id1)).to.include({ status: 'rejected', refused: true });
    }

    const position = (): number => h!.orderBook.positions()[BTC]?.amount ?? 0;

    it('takes back, while running, a filled entry held refused: its fill the position, one alert, looked up no more', async () => {
      await live();
      await enterRefused('taken-then-refuse');
      // the exchange took it and filled it; the bot knows nothing of it yet
      expect(fake!.balance('BTC')).to.be.greaterThan(1);
      expect(position()).to.equal(0);
      await tickUntil(h!, () => position() > 0);
      expect(h!.orderBook.order(id1)).to.include({ status: 'filled' });
      expect(h!.orderBook.order(id1)!.refused).to.equal(undefined);
      expect(position()).to.be.closeTo(fake!.balance('BTC') - 1, 1e-12);
      const taken = h!.events.filter((e) => e.type === 'order.taken_back');
      expect(taken.map((e) => e.data.clientOrderId)).to.deep.equal([id1]);
      expect(taken[0].summary).to.match(/was recorded refused \(.*\), but the exchange has it \(closed/);
      // taken back: no longer looked up, never placed again
      const seen = lookups.length;
      for (let i = 0; i < 5; i++) await h!.loop.tick();
      expect(lookups).to.have.length(seen);
      expect(fake!.createRequests()).to.deep.equal([id1]);
    });

    it('a refusal the exchange meant (it has no such order) is looked up and left refused: no position, no alert', async () => {
      await live();
      await enterRefused('refuse');
      await tickUntil(h!, () => lookups.includes(id1));
      for (let i = 0; i < 3; i++) await h!.loop.tick();
      expect(h!.orderBook.order(id1)).to.include({ status: 'rejected', refused: true });
      expect(position()).to.equal(0);
      expect(h!.events.filter((e) => e.type === 'order.taken_back')).to.deep.equal([]);
      expect(fake!.orderClientIds()).to.deep.equal([]);
    });
  });
}
