/**
 * A maker rebate (a negative maker fee) booked as the exchange pays it, end to end: the real engine through real ccxt
 * against the Bybit and OKX doubles, whose makers earn a rebate as each exchange documents it. Bybit ("Spot Fee
 * Currency Instruction", enum.mdx): with a makerFeeRate not positive, a maker Buy's fee is in the quote and a maker
 * Sell's in the base; "Negative fee value means rebates" (account/transaction-log.mdx). OKX (GET / Transaction
 * details): "the rebate is positive" in `fee`, in `feeCcy` ("Trading fee or rebate currency"); its order's `rebateCcy`
 * is the base for a maker sell. So a rebate adds to what the account holds: the bot's position must be what the
 * account got — never less (dust left unsold) nor more (an exit selling the owner's coins) — and the rebate counts in
 * PnL. Real clock, as live-exchanges.suite.ts (see there why).
 */
import { expect } from 'chai';
import type { Signal } from '../../../src/trading/strategy/strategy';
import { HOLD } from '../../../src/trading/strategy/strategy';
import { bybitKit, okxKit } from '../../../harness/exchanges/exchange-kits';
import type { ExchangeKit, LocalExchange } from '../../../harness/exchanges/local-exchange';
import { EngineHarness, ScriptedStrategy } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import { startLiveEngine, tickUntil as tickUntilIn } from '../../support/live-engine';

const BTC = 'BTC/USDT';
const ENTER: Signal = { action: 'enter-long', reason: 'test says buy' };
const EXIT: Signal = { action: 'exit-long', reason: 'test says sell' };
/** A maker earns 0.05 % back; a taker pays the default 0.1 %. */
const MAKER_REBATE_RATE = -0.0005;

for (const kit of [bybitKit, okxKit] as ExchangeKit[]) {
  describe(`maker rebates on ${kit.profile.name}: the position is what the account holds`, function () {
    this.timeout(60_000);
    let fake: LocalExchange | undefined;
    let h: EngineHarness | undefined;
    const strategy = new ScriptedStrategy();

    closeAfterEach(() => [h, fake]);

    const tickUntil = (done: () => boolean, max?: number): Promise<void> => tickUntilIn(h!, done, max);
    const book = () => h!.orderBook.positions()[BTC];
    const trades = (side: 'buy' | 'sell') => fake!.trades(BTC).filter((t) => t.side === side);

    it('books a maker buy and a maker sell with their rebates: the position, then its dust, is what the account holds', async () => {
      // the owner holds no BTC: every BTC on the account is the bot's
      fake = await kit.start({
        candleMs: 300,
        balances: { USDT: 10_000 },
        symbols: [BTC],
        makerFeeRate: MAKER_REBATE_RATE,
      });
      fake.pinPrice(BTC, 60_000);
      h = await startLiveEngine(kit, fake.url, {
        config: {
          trading: {
            mode: 'live',
            symbols: [BTC],
            risk: { stopLossPct: 50, takeProfitPct: 0, stakePerTrade: 2_000 },
            orders: {
              type: 'limit',
              unknownNotFoundMisses: 3,
              unknownNotFoundWindowMs: 1_000,
              createTimeoutMs: 800,
            },
          },
        },
        strategy,
      });
      // the limit buy rests at 60,000 under the ask, then fills as a maker when the price comes down to it
      strategy.next = ENTER;
      await tickUntil(() => h!.orderBook.pendingOrders().length > 0);
      strategy.next = HOLD;
      fake.pinPrice(BTC, 59_990);
      await tickUntil(() => (book()?.amount ?? 0) > 0 && h!.orderBook.pendingOrders().length === 0);
      const [buy] = trades('buy');
      expect(buy.fee).to.be.below(0);
      expect(buy.feeAsset).to.equal('USDT');
      // the whole amount bought is held (the rebate came in the quote), and its cost is less the rebate
      expect(book().amount).to.be.closeTo(fake.balance('BTC'), 1e-12);
      expect(book().amount).to.be.closeTo(buy.qty, 1e-12);
      expect(book().costBasis).to.be.closeTo(buy.qty * buy.price + buy.fee, 1e-9);
      expect(10_000 - fake.balance('USDT')).to.be.closeTo(book().costBasis, 1e-6);

      // the limit exit rests at 59,990 over the bid, then fills as a maker when the price goes up to it
      const sellOrder = () => Object.values(h!.files.store.data.orders).find((o) => o.side === 'sell');
      strategy.next = EXIT;
      await tickUntil(() => sellOrder() !== undefined);
      strategy.next = HOLD;
      expect(sellOrder()).to.include({ type: 'limit', status: 'open' });
      fake.pinPrice(BTC, 60_010);
      await tickUntilIn(
        h,
        () => trades('sell').length > 0 && h!.orderBook.pendingOrders().length === 0,
        80,
        () => ({ orders: Object.values(h!.files.store.data.orders), events: h!.events.slice(-5) }),
      );
      for (let i = 0; i < 3; i++) await h.loop.tick();
      const [sell] = trades('sell');
      expect(sell.fee).to.be.below(0);
      expect(sell.feeAsset).to.equal('BTC');
      // what is left is the rebate paid in BTC: the account holds it and so does the position, as dust
      expect(fake.balance('BTC')).to.be.closeTo(-sell.fee, 1e-12);
      expect(book().amount).to.be.closeTo(fake.balance('BTC'), 1e-12);
      // every USDT the round trip made or spent is in the books: what it realized, less the cost of the rebate still
      // held in BTC (sold from the position at its average cost)
      expect(fake.balance('USDT') - 10_000).to.be.closeTo(book().realizedPnl - book().costBasis, 1e-6);
      // both rebates are gains: more than the prices alone made
      expect(book().realizedPnl).to.be.above(sell.qty * sell.price - buy.qty * buy.price);
    });
  });
}
