/**
 * A market order is immediate-or-cancel on every verified exchange: what the book (or the exchange's price
 * protection) does not take is cancelled and the order ends with what filled — Binance `EXPIRED` ("LIMIT IOC or
 * MARKET orders that partially fill"), Bybit `PartiallyFilledCanceled` (spot only; ccxt calls it `closed`), OKX
 * `canceled` with cancelSource 14 ("IOC order was partially canceled due to incompletely filled"). The real engine
 * through real ccxt against each double (`marketBookShare`): the entry is booked as what filled, the stop-loss that
 * sold part of the position sells the rest on a later tick, never more than the position, never the owner's coins.
 */
import { expect } from 'chai';
import { clientOrderIdFor } from '../../../src/trading/engine/state/trading-state';
import type { Signal } from '../../../src/trading/strategy/strategy';
import { HOLD } from '../../../src/trading/strategy/strategy';
import { EXCHANGE_KITS } from '../../../harness/exchanges/exchange-kits';
import type { LocalExchange } from '../../../harness/exchanges/local-exchange';
import { ScriptedStrategy, TEST_INSTALL_ID, type EngineHarness } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import { startLiveEngine, tickUntil } from '../../support/live-engine';

const BTC = 'BTC/USDT';
const ENTER: Signal = { action: 'enter-long', reason: 'test says buy' };
/** How an order the exchange ended with part of it filled is kept: Binance's EXPIRED as expired, the others cancelled. */
const ENDED_SHORT = ['cancelled', 'expired'];

for (const kit of EXCHANGE_KITS) {
  describe(`a market order the book fills only in part on ${kit.profile.name} (immediate-or-cancel)`, function () {
    this.timeout(30_000);
    let fake: LocalExchange | undefined;
    let h: EngineHarness | undefined;
    let strategy: ScriptedStrategy;
    closeAfterEach(() => [h, fake]);

    const id = (n: number): string =>
      clientOrderIdFor('bot', TEST_INSTALL_ID, n, kit.profile.clientOrderId.separator);
    const position = (): number => h!.orderBook.positions()[BTC]?.amount ?? 0;
    const qty = (side: 'buy' | 'sell'): number =>
      fake!.trades(BTC).reduce((s, t) => s + (t.side === side ? t.qty : 0), 0);

    /** The owner already holds 1 BTC the bot must never sell. */
    async function live(marketBookShare: number): Promise<void> {
      fake = await kit.start({ candleMs: 300, balances: { USDT: 10_000, BTC: 1 }, marketBookShare });
      strategy = new ScriptedStrategy();
      h = await startLiveEngine(kit, fake.url, {
        strategy,
        config: {
          trading: {
            mode: 'live',
            symbols: [BTC],
            risk: { stopLossPct: 2, takeProfitPct: 0 },
            orders: { unknownNotFoundMisses: 3, unknownNotFoundWindowMs: 1_000, createTimeoutMs: 800 },
          },
        },
      });
    }

    it('books an entry the book filled 60 % of as cancelled with its fills: the position is what filled', async () => {
      await live(0.6);
      strategy.next = ENTER;
      await tickUntil(h!, () => ENDED_SHORT.includes(h!.orderBook.order(id(1))?.status ?? ''));
      strategy.next = HOLD;
      const entry = h!.orderBook.order(id(1))!;
      expect(entry).to.include({ side: 'buy', type: 'market', purpose: 'entry' });
      expect(entry.filled).to.be.closeTo(qty('buy'), 1e-12);
      expect(entry.filled).to.be.below(entry.amount * 0.61);
      // the fee was taken in the coin received: the position is what came into the account
      expect(position()).to.be.closeTo(fake!.balance('BTC') - 1, 1e-12);
      expect(position()).to.be.above(0);
      // one entry: the part the book did not take is not bought again behind the strategy's back
      for (let i = 0; i < 3; i++) await h!.loop.tick();
      expect(fake!.createRequests()).to.deep.equal([id(1)]);
    });

    it('sells the rest of a position a stop-loss sold only in part on a later tick, never the owner’s coins', async () => {
      await live(1);
      strategy.next = ENTER;
      await tickUntil(h!, () => position() > 0);
      strategy.next = HOLD;
      const held = position();
      const entry = h!.orderBook.order(id(1))!;
      // the book holds half of what the first stop-loss sells, then all again
      fake!.marketBookShare = 0.5;
      fake!.pinPrice(BTC, Number((entry.averagePrice! * 0.95).toFixed(2)));
      await tickUntil(h!, () => ENDED_SHORT.includes(h!.orderBook.order(id(2))?.status ?? ''));
      const first = h!.orderBook.order(id(2))!;
      expect(first).to.include({ side: 'sell', type: 'market', purpose: 'stop-loss' });
      expect(first.filled).to.be.above(0);
      expect(first.filled).to.be.below(first.amount * 0.51);
      fake!.marketBookShare = 1;
      await tickUntil(h!, () => h!.events.some((e) => e.type === 'position.closed'));
      const stops = fake!
        .createRequests()
        .slice(1)
        .map((c) => h!.orderBook.order(c)!);
      // sold on and on (an exit placed before the book held all again is cut in half too): each a stop-loss of what
      // was left, the last one filled
      expect(stops.length).to.be.at.least(2);
      expect(new Set(stops.map((o) => `${o.side} ${o.type} ${o.purpose}`))).to.deep.equal(
        new Set(['sell market stop-loss']),
      );
      expect(stops[stops.length - 1].status).to.equal('filled');
      // everything the bot bought is sold (less than a step left), and nothing of the owner's
      const step = h!.orderBook.markets[BTC].amountStep;
      expect(qty('sell')).to.be.at.most(held + 1e-12);
      expect(position()).to.be.below(step);
      expect(fake!.balance('BTC')).to.be.at.least(1);
      expect(h!.events.filter((e) => e.type === 'position.closed')).to.have.length(1);
    });
  });
}
