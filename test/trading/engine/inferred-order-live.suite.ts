/**
 * An order that ended on our inference while the exchange carried it out (review 26, finding 1), through real ccxt
 * against each verified exchange's local double, the owner holding 1 BTC of their own beside the bot's position:
 * - a stop-loss sell, its create taken, its answer lost, and every read lagging past the unknown-order window:
 *   declared never placed;
 * - a stop-loss sell acknowledged, its reads (lookups, open orders, fills) lagging past the not-found window:
 *   settled as absent with nothing filled (Binance's create answer carries the fills: there it is simply filled);
 * - an entry declared never placed alike;
 * - with the account read lagging too (the doubles' `balanceLagMs`: Binance's account is "Memory => Database"): a
 *   stop-loss carried out while its lookups and the balance lag past the not-found window, one sent right after its
 *   entry (a lagging read must not measure the owner's holding), and one not carried out (released, sold once).
 * Before, the stop-loss sold again on the next ticks — from the owner's coins — and the entry bought again. Now the
 * symbol's orders wait (held-balance.ts `inferredOrderCoins`: the balance read after the verdict shows it carried
 * out) until the order is found and its fills booked. Real clock: real ccxt signs its requests, and the doubles' lag
 * runs on real time.
 */
import { expect } from 'chai';
import type { ExchangeKit, LocalExchange } from '../../../harness/exchanges/local-exchange';
import { clientOrderIdFor } from '../../../src/trading/engine/state/trading-state';
import type { Signal } from '../../../src/trading/strategy/strategy';
import { HOLD } from '../../../src/trading/strategy/strategy';
import { closeAfterEach } from '../../support/close-after-each';
import { EngineHarness, ScriptedStrategy, TEST_INSTALL_ID } from '../../support/engine-harness';
import { startLiveEngine, tickUntil } from '../../support/live-engine';

const BTC = 'BTC/USDT';
const ENTER: Signal = { action: 'enter-long', reason: 'test says buy' };
/** The owner's own BTC, held before the bot started. */
const OWNERS_BTC = 1;

/** The suite for one exchange: each has its own test file (inferred-order-live-<id>.test.ts). */
export function inferredOrderSuite(kit: ExchangeKit): void {
  const id = (n: number): string =>
    clientOrderIdFor('bot', TEST_INSTALL_ID, n, kit.profile.clientOrderId.separator);

  describe(`a sell ended on our inference that the exchange carried out (real ccxt, local ${kit.id})`, function () {
    this.timeout(90_000);
    let fake: LocalExchange | undefined;
    let h: EngineHarness | undefined;
    closeAfterEach(() => [h, fake]);

    /** The live engine on BTC (not-found window `windowMs`), the owner holding `ownersBtc` of their own. */
    async function opened(
      ownersBtc: number,
      stopLossPct: number,
      windowMs = 1_000,
    ): Promise<{ engine: EngineHarness; strategy: ScriptedStrategy; local: LocalExchange }> {
      const assets = kit.thirdCurrency ? { [kit.thirdCurrency.asset]: 10 } : {};
      const local = await kit.start({ candleMs: 300, balances: { USDT: 10_000, BTC: ownersBtc, ...assets } });
      const strategy = new ScriptedStrategy();
      fake = local;
      const engine = await startLiveEngine(kit, local.url, {
        config: {
          trading: {
            mode: 'live',
            symbols: [BTC],
            risk: { stopLossPct, takeProfitPct: 0 },
            orders: { unknownNotFoundMisses: 3, unknownNotFoundWindowMs: windowMs, createTimeoutMs: 800 },
          },
        },
        strategy,
      });
      h = engine;
      return { engine, strategy, local };
    }

    /** A position bought, then its price dropped: the stop-loss (2 %) fires. */
    async function boughtThenDropped(
      ownersBtc = OWNERS_BTC,
      windowMs = 1_000,
      heldMs = 0,
    ): Promise<{ engine: EngineHarness; fake: LocalExchange }> {
      const { engine, strategy, local } = await opened(ownersBtc, 2, windowMs);
      strategy.next = ENTER;
      await tickUntil(engine, () => (engine.orderBook.positions()[BTC]?.amount ?? 0) > 0, 60);
      strategy.next = HOLD;
      // the position held this long before its price drops
      await new Promise((r) => setTimeout(r, heldMs));
      // a tick with the position settled: the owner's own BTC is measured beside it
      await engine.loop.tick();
      const entry = engine.orderBook.order(id(1))!;
      local.pinPrice(BTC, Number((entry.averagePrice! * 0.95).toFixed(2)));
      return { engine, fake: local };
    }

    const traded = (side: 'buy' | 'sell'): number =>
      fake!.trades(BTC).reduce((sum, t) => sum + (t.side === side ? t.qty : 0), 0);

    /**
     * Ticks on until the stop-loss is booked sold; nothing sold beyond the bot's own coins meanwhile; `sent` every
     * stop-loss sent (the last one sold).
     */
    async function soldOnceOnly(engine: EngineHarness, sent = [id(2)]): Promise<void> {
      const sold = sent[sent.length - 1]!;
      const bought = traded('buy');
      await tickUntil(engine, () => !engine.orderBook.openPositions().some((p) => p.symbol === BTC), 200);
      expect(traded('sell'), "sold no more than the bot bought: the owner's coins untouched").to.be.at.most(
        bought + 1e-12,
      );
      // the owner's own BTC, and the dust the fees left of the position
      expect(fake!.balance('BTC')).to.be.closeTo(
        OWNERS_BTC + (engine.orderBook.positions()[BTC]?.amount ?? 0),
        1e-9,
      );
      const sells = engine.orderBook.hotOrders((o) => o.side === 'sell' && o.purpose === 'stop-loss');
      expect(
        sells.map((o) => o.clientOrderId),
        'the stop-loss sent once, or again only after the first was not carried out',
      ).to.deep.equal(sent);
      expect(engine.orderBook.order(sold)!.filled, 'its fills booked once').to.be.closeTo(
        traded('sell'),
        1e-9,
      );
    }

    it('declared never placed (its create taken, its answer lost, its reads lagging): no second sell until it is found', async () => {
      const { engine } = await boughtThenDropped();
      fake!.lookupLagMs = 3_000;
      fake!.fault('createOrder', { kind: 'taken-then-unknown' });
      await tickUntil(engine, () => engine.orderBook.order(id(2))?.status === 'rejected', 100);
      // the verdict: on the next ticks the stop-loss still fires, and the balance shows the coins gone
      for (let i = 0; i < 4; i++) await engine.loop.tick();
      expect(engine.orderBook.order(id(3)), 'no second sell while the first is in question').to.equal(
        undefined,
      );
      await soldOnceOnly(engine);
      expect(engine.eventTypes()).to.include('order.taken_back');
    });

    it('never found: held past its in-doubt alert; the operator books what the history shows, and nothing is sold twice', async () => {
      const { engine } = await boughtThenDropped();
      // the exchange's reads never show it while the test runs (beyond the 24 h recheck, the case of review 26b #1)
      fake!.lookupLagMs = 10 * 60_000;
      fake!.fault('createOrder', { kind: 'taken-then-unknown' });
      await tickUntil(engine, () => engine.eventTypes().includes('order.in_doubt'), 100);
      for (let i = 0; i < 3; i++) await engine.loop.tick();
      expect(engine.orderBook.order(id(3)), 'no second sell while it is in doubt').to.equal(undefined);
      const listed = engine.loop.inDoubtOrders();
      expect(listed.map((o) => [o.clientOrderId, o.ended])).to.deep.equal([[id(2), 'never-placed']]);
      expect(listed[0]!.holding).to.include('/settle');
      // the operator reads the exchange's order history: what it sold, at what average
      const sold = fake!.trades(BTC).filter((t) => t.side === 'sell');
      const executed = sold.reduce((sum, t) => sum + t.qty, 0);
      const averagePrice = sold.reduce((sum, t) => sum + t.quoteQty, 0) / executed;
      const settled = await engine.loop.settleOrder({
        clientOrderId: id(2),
        outcome: 'carried-out',
        executed,
        averagePrice,
      });
      expect(settled.ok).to.equal(true);
      expect(
        engine.orderBook.openPositions().some((p) => p.symbol === BTC),
        'the position is closed',
      ).to.equal(false);
      expect(engine.eventTypes()).to.include('order.operator_settled');
      expect(engine.loop.inDoubtOrders()).to.deep.equal([]);
      // the exchange shows the order after all (the recheck of a settled order, forced here rather than waited
      // for on its schedule): its answer replaces the operator's booked fill, nothing booked twice or sold again
      fake!.lookupLagMs = 0;
      await engine.orders.rechecks.recheck('all');
      for (let i = 0; i < 4; i++) await engine.loop.tick();
      expect(traded('sell')).to.be.closeTo(executed, 1e-12);
      expect(engine.orderBook.order(id(3))).to.equal(undefined);
      const found = engine.orderBook.order(id(2))!;
      expect(found.filled).to.be.closeTo(executed, 1e-12);
      expect(found.operatorSettled).to.equal(undefined);
      expect(
        found.fills.some((f) => f.tradeId.startsWith('operator-')),
        "the exchange's fills now",
      ).to.equal(false);
      expect(fake!.balance('BTC'), "the owner's own BTC untouched").to.be.closeTo(
        OWNERS_BTC + (engine.orderBook.positions()[BTC]?.amount ?? 0),
        1e-9,
      );
      // realized: the round trip, its fees the exchange's
      const book = engine.orderBook.positions()[BTC];
      expect(book.realizedPnl).to.be.closeTo(fake!.balance('USDT') - 10_000 + book.costBasis, 0.01);
    });

    it('settled as absent (acknowledged, its reads lagging past the window): no second sell until it is found', async () => {
      const { engine } = await boughtThenDropped();
      fake!.lookupLagMs = 6_000;
      await tickUntil(
        engine,
        () => engine.orderBook.order(id(2))?.settledAbsent === true || traded('sell') > 0,
        100,
      );
      for (let i = 0; i < 4; i++) await engine.loop.tick();
      expect(engine.orderBook.order(id(3)), 'no second sell while the first is in question').to.equal(
        undefined,
      );
      await soldOnceOnly(engine);
    });

    it('declared never placed while its lookups AND the balance lag past the not-found window: the hold waits, no second sell until it is found', async () => {
      // Binance's account read is "Memory => Database" like its order reads: a balance read can lag a fill too.
      // Window 2 s: the verdict comes 2.5–3 s after the send (the window + the 500 ms request window); readings in
      // the second after it show the account of before the sale (4 s lag), and "not carried out" on them would free
      // the stop-loss to sell the owner's coins. Only a reading sent a window after the verdict counts (≥ 4.5 s after
      // the send: the sale shows by then).
      // the position bought 5 s before the sale: a read lagging 4 s shows the bought coins, not yet the sale
      const { engine } = await boughtThenDropped(OWNERS_BTC, 2_000, 5_000);
      fake!.lookupLagMs = 8_000;
      fake!.balanceLagMs = 4_000;
      fake!.fault('createOrder', { kind: 'taken-then-unknown' });
      await tickUntil(
        engine,
        () => engine.orderBook.order(id(2))?.status === 'rejected',
        150,
        () => {
          const o = engine.orderBook.order(id(2));
          return {
            status: o?.status,
            lookupMisses: o?.lookupMisses,
            filled: o?.filled,
            events: engine.eventTypes(),
          };
        },
      );
      for (let i = 0; i < 15; i++) {
        await engine.loop.tick();
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(engine.orderBook.order(id(3)), 'no second sell while the first is in question').to.equal(
        undefined,
      );
      await soldOnceOnly(engine);
      expect(engine.eventTypes()).to.include('order.taken_back');
    });

    it("a stop-loss right after its entry, the balance lagging both: the owner's holding is never measured on a read that may not show the entry yet", async () => {
      // a read lagging the entry's fill shows the account without the bought coins: the owner's holding measured on it
      // is short by them, and the sale of the position then reads as "coins still there" (not carried out): the
      // stop-loss sold again, from the owner's coins. A coin whose order changed less than a not-found window before
      // the read is not measured on it (the holding of before the entry stands). That rule assumes what the window is
      // for: no read lags longer than it (60 s by default). The window here (2.5 s) is above the balance's lag (2 s);
      // with a 1 s window the test passed only while the stop-loss came within a second of the entry, and failed under
      // load (a read sent 1–2 s after the entry was measured, lagging before it: 0.99822 of the owner's 1 BTC)
      const { engine } = await boughtThenDropped(OWNERS_BTC, 2_500);
      fake!.lookupLagMs = 6_000;
      fake!.balanceLagMs = 2_000;
      fake!.fault('createOrder', { kind: 'taken-then-unknown' });
      await tickUntil(engine, () => engine.orderBook.order(id(2))?.status === 'rejected', 100);
      expect(engine.orderBook.order(id(2))!.ownerHeld).to.be.closeTo(OWNERS_BTC, 1e-9);
      for (let i = 0; i < 15; i++) {
        await engine.loop.tick();
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(engine.orderBook.order(id(3)), 'no second sell while the first is in question').to.equal(
        undefined,
      );
      await soldOnceOnly(engine);
    });

    it('not carried out (its create refused unseen), the balance lagging past the window: released once a reading sent a window after the verdict shows the coins, then sold once', async () => {
      const { engine } = await boughtThenDropped();
      fake!.balanceLagMs = 2_000;
      fake!.fault('createOrder', { kind: 'server-error' });
      await tickUntil(engine, () => engine.orderBook.order(id(2))?.status === 'rejected', 100);
      expect(traded('sell'), 'the first stop-loss was not carried out').to.equal(0);
      // held until a reading a window after the verdict shows the coins still there; then the stop-loss sells
      await tickUntil(engine, () => engine.orderBook.order(id(3)) !== undefined, 200);
      await soldOnceOnly(engine, [id(2), id(3)]);
    });

    it('an entry declared never placed that the exchange carried out: the next enter signal buys nothing until it is found', async () => {
      const { engine, strategy, local } = await opened(OWNERS_BTC, 0);
      // a settled reading first: the owner's own BTC is measured
      await engine.loop.tick();
      local.lookupLagMs = 3_000;
      local.fault('createOrder', { kind: 'taken-then-unknown' });
      strategy.next = ENTER;
      await tickUntil(engine, () => engine.orderBook.order(id(1))?.status === 'rejected', 100);
      // the strategy still says buy; the balance shows the first buy's coins arrived
      for (let i = 0; i < 4; i++) await engine.loop.tick();
      expect(engine.orderBook.order(id(2)), 'no second entry while the first is in question').to.equal(
        undefined,
      );
      await tickUntil(engine, () => engine.eventTypes().includes('order.taken_back'), 200);
      strategy.next = HOLD;
      expect(engine.orderBook.order(id(1))!.status).to.equal('filled');
      expect(engine.orderBook.positions()[BTC].amount).to.be.greaterThan(0);
      expect(local.createRequests(), 'one buy').to.have.length(1);
    });

    it("settled as absent with the owner holding none: no write-off in between, the realized PnL is the round trip's", async () => {
      // review 26, finding 2: the coins the lagging sell sold were written off at price 0 as a shortfall, then the
      // sell was taken back and replayed after the write-off, its proceeds dropped: realized −99 for −5.7 lost
      const { engine } = await boughtThenDropped(0);
      fake!.lookupLagMs = 6_000;
      await tickUntil(engine, () => !engine.orderBook.openPositions().some((p) => p.symbol === BTC), 300);
      expect(engine.orderBook.hotOrders((o) => o.purpose === 'write-off')).to.deep.equal([]);
      const book = engine.orderBook.positions()[BTC];
      // the quote the round trip cost, less the cost of the dust its fees left (still held, not realized)
      expect(book.realizedPnl).to.be.closeTo(fake!.balance('USDT') - 10_000 + book.costBasis, 0.01);
    });

    it('an unknown stop-loss its reads cannot decide (the owner selling by hand meanwhile): in doubt, held, settled by the operator, sold once', async () => {
      const { engine } = await boughtThenDropped();
      // the stop-loss's create is cut before the exchange takes it: its outcome unknown, its lookups miss
      fake!.fault('createOrder', { kind: 'reset' });
      await tickUntil(engine, () => engine.orderBook.order(id(2))?.status === 'unknown', 20);
      // meanwhile the owner sells 0.01 BTC of their own six times from the exchange's web site: trades of orders the
      // bot does not know, too many to look each up — any could be the stop-loss
      for (let n = 1; n <= 6; n++) {
        await engine.exchange.createOrder({
          clientOrderId: `web${n}`,
          symbol: BTC,
          side: 'sell',
          type: 'market',
          amount: 0.01,
        });
      }
      await tickUntil(engine, () => engine.eventTypes().includes('order.in_doubt'), 100);
      const alert = engine.events.find((e) => e.type === 'order.in_doubt')!;
      expect(alert.summary).to.include(`/settle ${id(2)} none`);
      for (let i = 0; i < 3; i++) await engine.loop.tick();
      expect(engine.orderBook.order(id(2))!.status).to.equal('unknown');
      expect(engine.orderBook.order(id(3)), 'nothing else placed while it is in doubt').to.equal(undefined);
      const listed = engine.loop.inDoubtOrders();
      expect(listed.map((o) => [o.clientOrderId, o.ended])).to.deep.equal([[id(2), 'unknown']]);
      // the operator finds no such order in the exchange's history: never placed
      const settled = await engine.loop.settleOrder({ clientOrderId: id(2), outcome: 'not-carried-out' });
      expect(settled.ok).to.equal(true);
      expect(engine.orderBook.order(id(2))!.status).to.equal('rejected');
      // the stop-loss sells the bot's position, once, and none of the owner's coins
      await tickUntil(engine, () => !engine.orderBook.openPositions().some((p) => p.symbol === BTC), 200);
      const bought = traded('buy');
      const botSold = fake!
        .trades(BTC)
        .filter((t) => t.side === 'sell')
        .reduce((sum, t) => sum + t.qty, 0);
      expect(botSold - 0.06, 'the bot sold no more than it bought').to.be.at.most(bought + 1e-12);
      expect(fake!.balance('BTC'), "the owner's coins less what they sold by hand").to.be.closeTo(
        OWNERS_BTC - 0.06 + (engine.orderBook.positions()[BTC]?.amount ?? 0),
        1e-9,
      );
      const sells = engine.orderBook.hotOrders((o) => o.side === 'sell' && o.purpose === 'stop-loss');
      expect(sells.map((o) => o.clientOrderId)).to.deep.equal([id(2), id(3)]);
    });
  });
}
