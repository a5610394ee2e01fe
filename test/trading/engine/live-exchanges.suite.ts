/**
 * The live path end to end, in process, the same tests for every verified exchange: the real engine
 * (OrderManager + TradingLoop over real files) trading through real ccxt against the exchange's local double built
 * from its documentation (harness/exchanges/exchange-kits.ts), with the answers that hurt: fills without side or time,
 * an order taken whose answer never arrives, lookups that miss for a while, "status unknown" 5xx, refusals,
 * partial fills, fees in the coin and in a third currency, and an owner who already holds coins.
 *
 * These engines run on the REAL clock (the one suite of harness users that does): real ccxt signs every request
 * with its own Date.now() and the exchange double checks it against its recvWindow, ccxt's rate limiter and
 * timeouts, and the double's lookup lag, match interval and delayed answers all run on real time in a real HTTP
 * server. What these tests prove is the engine among those real concurrent parts, so they tick and wait for real.
 * One test file per exchange runs it (live-exchanges-binance/bybit/okx.test.ts).
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RecoverySummary } from '../../../src/shared/ipc/protocol';
import { reconcileWithExchange } from '../../../src/trading/engine/start/reconcile';
import { clientOrderIdFor } from '../../../src/trading/engine/state/trading-state';
import { floorToStep, largestOrderAmount } from '../../../src/trading/exchange/precision';
import type { Signal } from '../../../src/trading/strategy/strategy';
import { HOLD } from '../../../src/trading/strategy/strategy';
import { FakeBinance } from '../../../harness/exchanges/fake-binance';
import type { FakeBybit } from '../../../harness/exchanges/fake-bybit';
import type {
  ExchangeKit,
  LocalExchange,
  LocalExchangeOptions,
} from '../../../harness/exchanges/local-exchange';
import { freePort } from '../../../harness/ports';
import { EngineHarness, ScriptedStrategy, TEST_INSTALL_ID, deepMerge } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import {
  formingCandlesSeen as formingCandlesSeenBy,
  openLiveEngine,
  tickUntil as tickUntilIn,
} from '../../support/live-engine';

const BTC = 'BTC/USDT';
const ENTER: Signal = { action: 'enter-long', reason: 'test says buy' };
const EXIT: Signal = { action: 'exit-long', reason: 'test says sell' };
const MARKET_ENTRY = { symbol: BTC, side: 'buy', type: 'market', purpose: 'entry' } as const;
/** The suite for one exchange: each has its own test file (live-exchanges-<id>.test.ts), so mocha's two workers share them. */
export function liveSuite(kit: ExchangeKit): void {
  /** The n-th clientOrderId the engine sends on this exchange (no separator where only letters and digits go). */
  const id = (n: number): string =>
    clientOrderIdFor('bot', TEST_INSTALL_ID, n, kit.profile.clientOrderId.separator);
  describe(`live trading on ${kit.profile.name}: the engine through real ccxt against the documented API`, function () {
    this.timeout(30_000);
    let fake: LocalExchange | undefined;
    let h: EngineHarness | undefined;
    let strategy: ScriptedStrategy;

    closeAfterEach(() => [h, fake]);

    /** A fresh live engine; the owner already holds 1 BTC (and 10 of the fee currency) that the bot must never sell. */
    const balances = (): Record<string, number> => ({
      USDT: 10_000,
      BTC: 1,
      ...(kit.thirdCurrency ? { [kit.thirdCurrency.asset]: 10 } : {}),
    });

    /** The engine on real files, through real ccxt to `url` (the local exchange, up or not yet). */
    async function engine(
      url: string,
      opts: { config?: Record<string, unknown>; connectLater?: boolean } = {},
    ): Promise<EngineHarness> {
      strategy = new ScriptedStrategy();
      const base = {
        trading: {
          mode: 'live',
          symbols: [BTC],
          risk: { stopLossPct: 2, takeProfitPct: 0 },
          orders: { unknownNotFoundMisses: 3, unknownNotFoundWindowMs: 1_000, createTimeoutMs: 800 },
        },
      };
      return openLiveEngine(kit, url, {
        config: deepMerge(base, opts.config ?? {}),
        strategy,
        connectLater: opts.connectLater,
      });
    }

    /** A fresh live engine; the owner already holds 1 BTC (and 10 of the fee currency) that the bot must never sell. */
    async function live(
      opts: { fake?: Partial<LocalExchangeOptions>; config?: Record<string, unknown> } = {},
    ): Promise<EngineHarness> {
      fake = await kit.start({ candleMs: 300, balances: balances(), ...opts.fake });
      h = await engine(fake.url, opts);
      await h.loop.recover({ kind: 'first-start' });
      h.loop.enterRunning();
      return h;
    }

    const tickUntil = (done: () => boolean, max = 60): Promise<void> => tickUntilIn(h!, done, max);

    const position = (symbol = BTC): number => h!.orderBook.positions()[symbol]?.amount ?? 0;
    const sells = (): number => fake!.trades(BTC).filter((t) => t.side === 'sell').length;
    const boughtQty = (): number => fake!.trades(BTC).reduce((s, t) => s + (t.side === 'buy' ? t.qty : 0), 0);
    const soldQty = (): number => fake!.trades(BTC).reduce((s, t) => s + (t.side === 'sell' ? t.qty : 0), 0);

    async function enterThenStopOut(): Promise<void> {
      strategy.next = ENTER;
      await tickUntil(() => position() > 0);
      strategy.next = HOLD;
      const entry = h!.orderBook.order(id(1))!;
      fake!.pinPrice(BTC, Number((entry.averagePrice! * 0.95).toFixed(2)));
      await tickUntil(() => h!.events.some((e) => e.type === 'position.closed'));
      fake!.unpin(BTC);
    }

    it("books a stop-loss sell as a sell: the position closes once and the owner's coins are never sold", async () => {
      await live();
      await enterThenStopOut();
      // a few more ticks at a price that would keep firing the stop-loss if the sell had been booked as a buy
      fake!.pinPrice(BTC, 1_000);
      for (let i = 0; i < 5; i++) await h!.loop.tick();
      expect(sells()).to.equal(1);
      expect(soldQty()).to.be.at.most(boughtQty());
      // the fee was taken in BTC on the buy (the asset received): the bot sold whole steps of what it got
      expect(fake!.balance('BTC')).to.be.at.least(1);
      expect(position()).to.be.closeTo(fake!.balance('BTC') - 1, 1e-12);
      const fills = h!.orderBook.order(id(2))!.fills;
      expect(fills.map((f) => f.side)).to.deep.equal(['sell']);
      // the exchange's trade time, not the local clock
      expect(fills[0].timestamp).to.equal(fake!.trades(BTC)[1].time);
      const closed = h!.events.filter((e) => e.type === 'position.closed');
      expect(closed).to.have.length(1);
      expect(closed[0].data.realizedPnl as number).to.be.below(0);
    });

    it('keeps an order whose answer never came unknown while lookups miss, places nothing else, then applies it', async () => {
      // the exchange does not show the order for 2.5 s; the rule waits 6 s plus the request window — far more than
      // the lag even when a loaded host sends the create a second late
      await live({
        fake: { lookupLagMs: 2_500 },
        config: { trading: { orders: { unknownNotFoundWindowMs: 6_000 } } },
      });
      // a still price: on a loaded host the lag lasts many ticks, and a 2 % fall meanwhile makes the stop-loss sell
      // the position in the tick the order is found — an order of its own (seen twice in CI as a second create)
      fake!.pinPrice(BTC, 60_000);
      fake!.fault('createOrder', { kind: 'taken-then-hang' });
      strategy.next = ENTER;
      await h!.loop.tick();
      expect(h!.orderBook.order(id(1))!.status).to.equal('unknown');
      // Binance answers -2013 for the order it took: several misses, yet it stays unknown and blocks the symbol
      await tickUntil(() => (h!.orderBook.order(id(1))!.lookupMisses ?? 0) >= 3);
      expect(h!.orderBook.order(id(1))!.status).to.equal('unknown');
      await tickUntil(() => h!.orderBook.order(id(1))!.status === 'filled');
      expect(fake!.createRequests()).to.deep.equal([id(1)]);
      expect(fake!.orderClientIds()).to.deep.equal([id(1)]);
      expect(position()).to.be.closeTo(fake!.balance('BTC') - 1, 1e-12);
    });

    it('"execution status unknown" with the order taken: unknown, found by lookup, never sent twice', async () => {
      await live();
      fake!.pinPrice(BTC, 60_000); // a still price: a stop-loss sell would be a second create of its own
      fake!.fault('createOrder', { kind: 'taken-then-unknown' });
      strategy.next = ENTER;
      await tickUntil(() => h!.orderBook.order(id(1))?.status === 'filled');
      strategy.next = HOLD;
      for (let i = 0; i < 3; i++) await h!.loop.tick();
      expect(fake!.createRequests()).to.deep.equal([id(1)]);
      expect(position()).to.be.greaterThan(0);
    });

    /**
     * An entry the exchange took ("status unknown" answer) whose reads lag 3 s, beyond the 1 s window (+0.5 s
     * recvWindow) of the unknown-order rule: the engine declares it never placed.
     */
    async function takenThenDeclaredNeverPlaced(): Promise<void> {
      await live({ fake: { lookupLagMs: 3_000 } });
      // a still price: these runs take seconds of ticks, and a 2 % stop-loss sell would be an order of its own
      fake!.pinPrice(BTC, 60_000);
      fake!.fault('createOrder', { kind: 'taken-then-unknown' });
      strategy.next = ENTER;
      await h!.loop.tick();
      strategy.next = HOLD;
      await tickUntil(() => h!.orderBook.order(id(1))!.status === 'rejected', 100);
    }

    it("takes back, while running, an order declared never placed that shows up later: the position is the exchange's", async () => {
      await takenThenDeclaredNeverPlaced();
      expect(fake!.orderClientIds()).to.deep.equal([id(1)]);
      await tickUntil(() => h!.orderBook.order(id(1))!.status === 'filled', 200);
      expect(h!.orderBook.order(id(1))).to.include({ purpose: 'entry', side: 'buy' });
      expect(position()).to.be.greaterThan(0);
      expect(position()).to.be.closeTo(fake!.balance('BTC') - 1, 1e-12);
      const taken = h!.events.filter((e) => e.type === 'order.taken_back');
      expect(taken.map((e) => e.data.clientOrderId)).to.deep.equal([id(1)]);
      // the alert says the position it leaves, so the operator can act on a doubled one
      expect(taken[0].summary).to.match(
        /The BTC\/USDT position grows by its fill [\d.]+ to about [\d.]+ \(was 0\)/,
      );
      expect(fake!.createRequests()).to.deep.equal([id(1)]);
    });

    it('counts an order declared never placed once when a restart comes between the verdict and its taking back', async () => {
      await takenThenDeclaredNeverPlaced();
      // restart while the exchange still does not show it: recovery looks it up, the loop keeps looking
      h = await h!.restart();
      await h.loop.recover({ kind: 'clean' });
      h.loop.enterRunning();
      await tickUntil(() => h!.orderBook.order(id(1))!.status === 'filled', 200);
      const held = position();
      const fills = h!.orderBook.order(id(1))!.fills.length;
      expect(held).to.be.closeTo(fake!.balance('BTC') - 1, 1e-12);
      // and once more after it was taken back: nothing changes, nothing is counted twice
      h = await h!.restart();
      const summary = await h.loop.recover({ kind: 'clean' });
      expect(summary.changedWhileDown).to.deep.equal([]);
      expect(summary.newFills).to.equal(0);
      h.loop.enterRunning();
      for (let i = 0; i < 3; i++) await h.loop.tick();
      expect(position()).to.equal(held);
      expect(h.orderBook.order(id(1))!.fills).to.have.length(fills);
      expect(fake!.createRequests()).to.deep.equal([id(1)]);
    });

    it('declares a 5xx create the exchange never took "never placed" only after 3 misses over the window', async () => {
      await live();
      fake!.fault('createOrder', { kind: 'server-error' });
      strategy.next = ENTER;
      const sentAt = Date.now();
      await h!.loop.tick();
      strategy.next = HOLD;
      await tickUntil(() => h!.orderBook.order(id(1))!.status === 'rejected', 100);
      const order = h!.orderBook.order(id(1))!;
      expect(order.lookupMisses).to.be.at.least(3);
      // not before the window (1000 ms) plus Binance's recvWindow (500 ms here) from the send
      expect(order.updatedAt - sentAt).to.be.at.least(1_500);
      expect(h!.events.find((e) => e.type === 'order.rejected')?.data).to.include({ neverPlaced: true });
      expect(fake!.orderClientIds()).to.deep.equal([]);
    });

    it('a refusal (min notional) is a final rejection: no crash, a cooldown, notified once', async () => {
      await live({ config: { trading: { orders: { rejectCooldownMs: 300 } } } });
      fake!.fault('createOrder', { kind: 'refuse', reason: 'notional' });
      fake!.fault('createOrder', { kind: 'refuse', reason: 'notional' });
      strategy.next = ENTER;
      await h!.loop.tick();
      expect(h!.orderBook.order(id(1))).to.include({ status: 'rejected', refused: true });
      // the next entry waits out the cooldown (proven by the times: a tick may outlast 300 ms where rate limits bite)
      await tickUntil(() => h!.orderBook.order(id(2)) !== undefined);
      expect(h!.orderBook.order(id(2))).to.include({ status: 'rejected', refused: true });
      const second = h!.orderBook.order(id(2))!;
      expect(second.createdAt - h!.orderBook.order(id(1))!.updatedAt, 'cooldown').to.be.at.least(300);
      const rejected = h!.events.filter((e) => e.type === 'order.rejected');
      expect(rejected.map((e) => e.data.repeated)).to.deep.equal([false, true]);
      expect(rejected[0].data.ccxtError).to.be.a('string');
      expect(h!.loop.loopState).to.equal('running');
      // the cooldown doubles for a second refusal in a row: the next order waits longer
      await tickUntil(() => h!.orderBook.order(id(3))?.status === 'filled');
      const third = h!.orderBook.order(id(3))!;
      expect(third.createdAt - h!.orderBook.order(id(2))!.updatedAt).to.be.at.least(600);
    });

    it('cancels a partly filled limit entry when the stop-loss fires, then sells the filled part', async () => {
      await live({
        fake: { limitFillSlices: 4, matchIntervalMs: 60_000 },
        config: { trading: { orders: { type: 'limit' } } },
      });
      // a steady price: the limit entry rests at it (bid 59994, ask 60006)
      fake!.pinPrice(BTC, 60_000);
      strategy.next = ENTER;
      await h!.loop.tick();
      strategy.next = HOLD;
      const entry = h!.orderBook.order(id(1))!;
      expect(entry).to.include({ status: 'open', type: 'limit', price: 60_000 });
      // the price crosses the limit: one slice of four fills
      fake!.pinPrice(BTC, entry.price! - 10);
      await tickUntil(() => h!.orderBook.order(id(1))!.status === 'partially_filled');
      const filled = h!.orderBook.order(id(1))!.filled;
      expect(filled).to.be.closeTo(entry.amount / 4, 0.00001);
      // the stop-loss fires on the filled part: the working entry is cancelled first, then the position exits
      fake!.pinPrice(BTC, Number((entry.price! * 0.95).toFixed(2)));
      await tickUntil(() => h!.orderBook.order(id(2))?.status === 'filled');
      expect(h!.orderBook.order(id(1))!.status).to.equal('cancelled');
      expect(h!.orderBook.order(id(2))).to.include({
        side: 'sell',
        type: 'market',
        purpose: 'stop-loss',
      });
      expect(soldQty()).to.be.at.most(boughtQty());
      expect(fake!.balance('BTC')).to.be.at.least(1);
    });

    it('fires no kill switch when a resting buy fills between two ticks (the balance has it before the position)', async () => {
      // the 100 USDT stake is 1 % of the account: read before its fill is synced, equity dips by 1 %
      await live({ config: { trading: { orders: { type: 'limit' }, risk: { maxDrawdownPct: 0.5 } } } });
      fake!.pinPrice(BTC, 60_000);
      strategy.next = ENTER;
      await h!.loop.tick();
      strategy.next = HOLD;
      expect(h!.orderBook.order(id(1))).to.include({ status: 'open', type: 'limit' });
      await h!.loop.tick();
      expect(h!.files.store.data.risk.equityPeak).to.be.closeTo(10_000, 1);
      // the price crosses the limit: the next request of the bot (the account's balance read) fills it
      fake!.pinPrice(BTC, 59_990);
      await h!.loop.tick();
      expect(h!.orderBook.order(id(1))!.status).to.equal('filled');
      expect(position()).to.be.greaterThan(0);
      expect(h!.files.store.data.risk.killSwitch).to.equal(null);
      expect(h!.events.map((e) => e.type)).not.to.include('risk.triggered');
    });

    it('fires the kill switch on a real drawdown with a buy in flight (the settled reading confirms it)', async () => {
      await live({ config: { trading: { risk: { maxDrawdownPct: 0.5, stopLossPct: 0 } } } });
      fake!.pinPrice(BTC, 60_000);
      strategy.next = ENTER;
      await tickUntil(() => position() > 0);
      strategy.next = HOLD;
      // a resting buy far below the market: in flight, never filled
      await h!.manager.place({
        symbol: BTC,
        side: 'buy',
        type: 'limit',
        amount: 0.001,
        price: 10_000,
        purpose: 'entry',
      });
      await h!.loop.tick();
      expect(h!.files.store.data.risk.killSwitch).to.equal(null);
      // the position (1 % of the account) loses 60 %: equity falls 0.6 %, beyond the 0.5 % limit
      fake!.pinPrice(BTC, 24_000);
      await tickUntil(() => h!.files.store.data.risk.killSwitch !== null, 5);
      expect(h!.files.store.data.risk.killSwitch?.kind).to.equal('max-drawdown');
      // entries paused: the resting buy no longer waits for its time to live to buy, it is cancelled on the exchange
      // (the order's end read back from it: order-cancel.ts)
      await tickUntil(() => h!.orderBook.order(id(2))?.status === 'cancelled', 5);
    });

    it('takes an order the exchange rejects after acknowledging it: rejected and alerted, the symbol trades again after the cooldown', async function () {
      if (kit.id !== 'bybit') this.skip(); // only Bybit's create is an acknowledgement ("use websocket to confirm")
      await live({
        fake: { limitFillSlices: 4, matchIntervalMs: 60_000 },
        config: { trading: { orders: { type: 'limit', rejectCooldownMs: 300 } } },
      });
      fake!.pinPrice(BTC, 60_000);
      strategy.next = ENTER;
      await h!.loop.tick();
      strategy.next = HOLD;
      expect(h!.orderBook.order(id(1))).to.include({ status: 'open' });
      (fake as FakeBybit).rejectAfterAck(id(1));
      await tickUntil(() => h!.orderBook.order(id(1))!.status === 'rejected');
      expect(
        h!.events.filter((e) => e.type === 'order.rejected').map((e) => e.data.clientOrderId),
      ).to.deep.equal([id(1)]);
      expect(h!.orderBook.order(id(1))).to.include({ refused: true });
      // a refusal like a refused create: the next entry waits out the cooldown, then is placed
      strategy.next = ENTER;
      await tickUntil(() => h!.orderBook.order(id(2)) !== undefined);
      expect(h!.orderBook.order(id(2))!.purpose).to.equal('entry');
      const wait = h!.orderBook.order(id(2))!.createdAt - h!.orderBook.order(id(1))!.updatedAt;
      expect(wait, 'cooldown').to.be.at.least(300);
    });

    it('keeps the fills of an order the exchange rejects after part of it filled (cancelled with its fills)', async function () {
      if (kit.id !== 'bybit') this.skip();
      await live({
        fake: { limitFillSlices: 4, matchIntervalMs: 60_000 },
        config: { trading: { orders: { type: 'limit' } } },
      });
      fake!.pinPrice(BTC, 60_000);
      strategy.next = ENTER;
      await h!.loop.tick();
      strategy.next = HOLD;
      const entry = h!.orderBook.order(id(1))!;
      fake!.pinPrice(BTC, entry.price! - 10);
      await tickUntil(() => h!.orderBook.order(id(1))!.filled > 0);
      fake!.pinPrice(BTC, 60_000);
      (fake as FakeBybit).rejectAfterAck(id(1));
      await tickUntil(() => h!.orderBook.order(id(1))!.status === 'cancelled');
      const done = h!.orderBook.order(id(1))!;
      expect(done.filled).to.be.closeTo(entry.amount / 4, 0.00001);
      expect(done.fills.reduce((s, f) => s + f.amount, 0)).to.be.closeTo(done.filled, 1e-9);
      // every execution the exchange kept is in the book (the position is net of the fee taken in BTC)
      expect(done.filled).to.be.closeTo(boughtQty(), 1e-9);
      expect(position()).to.be.greaterThan(0);
    });

    it('keeps the fills of a rejected order that a later read shows (a lagging read said nothing filled): cancelled with them', async function () {
      if (kit.id !== 'bybit') this.skip();
      await live({
        fake: { limitFillSlices: 4, matchIntervalMs: 60_000 },
        config: { trading: { orders: { type: 'limit' } } },
      });
      fake!.pinPrice(BTC, 60_000);
      strategy.next = ENTER;
      await h!.loop.tick();
      strategy.next = HOLD;
      const bybit = fake as FakeBybit;
      bybit.rejectAfterAck(id(1));
      await tickUntil(() => h!.orderBook.order(id(1))!.status === 'rejected');
      expect(h!.orderBook.order(id(1))!.filled).to.equal(0);
      // the reads catch up: a quarter had filled before the rejection
      const entry = h!.orderBook.order(id(1))!;
      bybit.revealFillBeforeReject(id(1), entry.amount / 4);
      await h!.orders.answers.apply(id(1), await h!.exchange.fetchOrder(entry.exchangeOrderId!, BTC));
      const done = h!.orderBook.order(id(1))!;
      expect(done.status).to.equal('cancelled');
      expect(done.filled).to.be.closeTo(entry.amount / 4, 1e-9);
      expect(done.fills.reduce((s, f) => s + f.amount, 0)).to.be.closeTo(done.filled, 1e-9);
      expect(done.filled).to.be.closeTo(boughtQty(), 1e-9);
      expect(position()).to.be.greaterThan(0);
      expect(h!.events.map((e) => e.type)).not.to.include('order.conflict');
    });

    it('cancels a limit order of any non-final status once its time to live has passed', async () => {
      await live({
        fake: { limitFillSlices: 4, matchIntervalMs: 60_000 },
        config: { trading: { orders: { type: 'limit', limitOrderTtlMs: 600 } } },
      });
      fake!.pinPrice(BTC, 60_000);
      strategy.next = ENTER;
      await h!.loop.tick();
      strategy.next = HOLD;
      expect(h!.orderBook.order(id(1))).to.include({ status: 'open' });
      fake!.pinPrice(BTC, h!.orderBook.order(id(1))!.price! - 10);
      // one slice fills (where a tick outlasts the time to live — OKX's rate limits — the same tick may already
      // cancel it: the order need not be seen partially filled between two ticks)
      await tickUntil(() => h!.orderBook.order(id(1))!.filled > 0);
      expect(h!.events.some((e) => e.type === 'order.partially_filled')).to.equal(true);
      // back above the limit: nothing more fills, and no stop-loss fires
      fake!.pinPrice(BTC, 60_000);
      await tickUntil(() => h!.orderBook.order(id(1))!.status === 'cancelled');
      expect(h!.events.some((e) => e.type === 'risk.triggered')).to.equal(false);
      expect(position()).to.be.greaterThan(0);
    });

    it('takes the dust a cancelled limit entry left (below the minimum order value) for no position: it enters again', async function () {
      await live({
        fake: { limitFillSlices: 40, matchIntervalMs: 60_000 },
        config: {
          trading: { orders: { type: 'limit', limitOrderTtlMs: 600 }, risk: { maxOpenPositions: 1 } },
        },
      });
      // OKX lists no minimum order value for spot (only minSz): any whole step can be sold there
      if (!(h!.orderBook.markets[BTC].minNotional > 0)) this.skip();
      fake!.pinPrice(BTC, 60_000);
      strategy.next = ENTER;
      await h!.loop.tick();
      strategy.next = HOLD;
      fake!.pinPrice(BTC, h!.orderBook.order(id(1))!.price! - 10);
      // one slice of forty fills (0.00004 BTC, 2.40 USDT: below the minimum order value of 5), then the rest is
      // cancelled at its time limit
      await tickUntil(() => h!.orderBook.order(id(1))!.filled > 0);
      fake!.pinPrice(BTC, 60_000);
      await tickUntil(() => h!.orderBook.order(id(1))!.status === 'cancelled');
      expect(position()).to.be.greaterThan(0);
      expect(position() * 60_000).to.be.below(5);
      expect(h!.orderBook.openPositions()).to.deep.equal([]);
      expect(h!.events.some((e) => e.type === 'position.opened')).to.equal(false);
      // the dust neither holds the symbol "in position" nor fills the one position allowed: the next entry goes out
      strategy.next = ENTER;
      await tickUntil(() => h!.orderBook.order(id(2)) !== undefined);
      expect(h!.orderBook.order(id(2))).to.include({ side: 'buy', purpose: 'entry' });
    });

    it('backs off a stop-loss the exchange keeps refusing alike: one alert, longer and longer waits, then it sells', async () => {
      await live({ config: { trading: { orders: { protectiveRefusalBackoffMs: 200 } } } });
      strategy.next = ENTER;
      await tickUntil(() => position() > 0);
      strategy.next = HOLD;
      for (let i = 0; i < 3; i++) fake!.fault('createOrder', { kind: 'refuse', reason: 'lot-size' });
      fake!.pinPrice(BTC, Number((h!.orderBook.order(id(1))!.averagePrice! * 0.95).toFixed(2)));
      await tickUntil(() => h!.events.some((e) => e.type === 'position.closed'), 120);
      const stops = [2, 3, 4, 5].map((n) => h!.orderBook.order(id(n))!);
      expect(stops.map((o) => `${o.purpose} ${o.status}`)).to.deep.equal([
        'stop-loss rejected',
        'stop-loss rejected',
        'stop-loss rejected',
        'stop-loss filled',
      ]);
      // 200 ms, then 400, then 800: not a new refused order every tick
      for (let i = 1; i < stops.length; i++) {
        expect(stops[i].createdAt - stops[i - 1].updatedAt, `wait before try ${i + 1}`).to.be.at.least(
          200 * 2 ** (i - 1),
        );
      }
      const rejected = h!.events.filter((e) => e.type === 'order.rejected');
      expect(rejected.map((e) => e.data.repeated)).to.deep.equal([false, true, true]);
      // one stop-loss, one alert: not one per try (review 28)
      expect(h!.events.filter((e) => e.type === 'risk.triggered')).to.have.length(1);
    });

    /**
     * The largest market order, in the unit the exchange states it (`maxOrder.market`): `baseAmount` BTC, at 60,000
     * in USDT where the exchange states it in the quote (OKX maxMktSz).
     */
    const marketMax = (baseAmount: number): number =>
      kit.marketMaximumIn === 'quote' ? baseAmount * 60_000 : baseAmount;

    /**
     * A live engine on an exchange with these largest orders (`maxOrder`, the exchange's own units), and a position
     * bought with a limit entry (a market entry would be capped too), filled, at a still price of 60,000.
     */
    async function limitEntryUnder(maxOrder: { limit?: number; market?: number }): Promise<void> {
      await live({ fake: { maxOrder }, config: { trading: { orders: { type: 'limit' } } } });
      fake!.pinPrice(BTC, 60_000);
      strategy.next = ENTER;
      await h!.loop.tick();
      strategy.next = HOLD;
      fake!.pinPrice(BTC, h!.orderBook.order(id(1))!.price! - 10);
      await tickUntil(() => h!.orderBook.order(id(1))!.status === 'filled');
      fake!.pinPrice(BTC, 60_000);
    }

    /** The orders of a purpose, in the order they were placed (ids 1…n). */
    const ordersOf = (purpose: string): NonNullable<ReturnType<EngineHarness['orderBook']['order']>>[] => {
      const all = [];
      for (let n = 1; h!.orderBook.order(id(n)); n++) all.push(h!.orderBook.order(id(n))!);
      return all.filter((o) => o.purpose === purpose);
    };

    it('sells a stop-loss above the largest market order completely, in orders within it over ticks', async () => {
      await limitEntryUnder({ market: marketMax(0.001) });
      const held = position();
      expect(held).to.be.above(0.001);
      const largest = largestOrderAmount(h!.orderBook.markets[BTC], 'market', 57_000);
      fake!.pinPrice(BTC, 57_000);
      await tickUntil(() => h!.events.some((e) => e.type === 'position.closed'));
      const stops = ordersOf('stop-loss');
      expect(stops.length).to.be.at.least(2);
      for (const o of stops) {
        expect(o).to.include({ type: 'market', status: 'filled' });
        expect(o.amount).to.be.at.most(largest);
      }
      // sold whole (all of it on the amount step; the fee taken in the coin leaves less than a step): no dust left,
      // nothing refused, the owner's coin untouched
      const step = h!.orderBook.markets[BTC].amountStep;
      expect(stops.reduce((s, o) => s + o.filled, 0)).to.be.closeTo(floorToStep(held, step), 1e-9);
      expect(position()).to.be.below(step);
      expect(h!.events.filter((e) => e.type === 'order.rejected')).to.deep.equal([]);
      expect(fake!.balance('BTC')).to.be.at.least(1);
    });

    it('close-all sells a position above the largest market order in as many orders within it as needed, never leaving dust', async () => {
      // 0.0016 BTC per market order (Binance, Bybit): selling that first would leave 0.00005 BTC (3 USDT, below
      // Binance's minimum of 5), unsellable; 96 USDT on OKX
      await limitEntryUnder({ market: marketMax(0.0016) });
      await h!.loop.tick();
      const held = position();
      expect(held).to.be.above(0.0016);
      const largest = largestOrderAmount(h!.orderBook.markets[BTC], 'market', 60_000);
      const result = await h!.loop.closeAll();
      expect(result.skipped).to.deep.equal([]);
      const orders = result.orders.map((o) => h!.orderBook.order(o)!);
      expect(orders.length).to.equal(2);
      for (const o of orders) expect(o.amount).to.be.at.most(largest);
      // the last order is worth at least the minimum (where there is one): nothing sellable is left
      expect(orders[1].amount * 60_000).to.be.at.least(h!.orderBook.markets[BTC].minNotional);
      expect(orders.map((o) => o.status)).to.deep.equal(['filled', 'filled']);
      expect(h!.orderBook.openPositions()).to.deep.equal([]);
      expect(position()).to.be.below(0.00001);
      expect(h!.events.filter((e) => e.type === 'order.rejected')).to.deep.equal([]);
    });

    it('a LIMIT exit is bound by the largest limit order, not by the largest market order', async () => {
      await limitEntryUnder({ market: marketMax(0.001) });
      strategy.next = EXIT;
      await tickUntil(() => h!.orderBook.order(id(2)) !== undefined);
      const exit = h!.orderBook.order(id(2))!;
      expect(exit).to.include({ purpose: 'exit', type: 'limit' });
      expect(exit.amount).to.be.above(0.001);
      expect(exit.amount).to.equal(Math.floor(position() * 1e5 + 1e-6) / 1e5);
    });

    it('places an entry sized above the largest market order at that largest order, never refused for it', async () => {
      await live({ fake: { maxOrder: { market: marketMax(0.001) } } });
      fake!.pinPrice(BTC, 60_000);
      const largest = largestOrderAmount(h!.orderBook.markets[BTC], 'market', 60_000);
      // the stake (100 USDT: 0.00166 BTC) is above it
      expect(largest).to.be.below(0.00166);
      strategy.next = ENTER;
      await tickUntil(() => h!.orderBook.order(id(1))?.status === 'filled');
      expect(h!.orderBook.order(id(1))).to.include({
        purpose: 'entry',
        type: 'market',
        amount: largest,
        filled: largest,
      });
      expect(h!.events.filter((e) => e.type === 'order.rejected')).to.deep.equal([]);
    });

    it('places a limit entry sized above the largest limit order at that largest order, never refused for it', async () => {
      await live({
        fake: { maxOrder: { limit: 0.001 } },
        config: { trading: { orders: { type: 'limit' } } },
      });
      fake!.pinPrice(BTC, 60_000);
      strategy.next = ENTER;
      await tickUntil(() => h!.orderBook.order(id(1)) !== undefined);
      strategy.next = HOLD;
      expect(h!.orderBook.order(id(1))).to.include({
        purpose: 'entry',
        type: 'limit',
        amount: 0.001,
      });
      fake!.pinPrice(BTC, h!.orderBook.order(id(1))!.price! - 10);
      await tickUntil(() => h!.orderBook.order(id(1))!.status === 'filled');
      expect(h!.events.filter((e) => e.type === 'order.rejected')).to.deep.equal([]);
    });

    it('sells a stop-loss above the largest order VALUE in pieces judged with the margin, even valued at a higher average price (Binance NOTIONAL applyMaxToMarket)', async function () {
      if (kit.id !== 'binance') this.skip();
      const binance = await FakeBinance.start({
        ...kit.credentials,
        balances: balances(),
        candleMs: 300,
        maxNotional: 60,
        applyMaxToMarket: true,
      });
      fake = binance;
      h = await engine(binance.url, { config: { trading: { orders: { type: 'limit' } } } });
      await h.loop.recover({ kind: 'first-start' });
      h.loop.enterRunning();
      binance.pinPrice(BTC, 60_000);
      strategy.next = ENTER;
      await h.loop.tick();
      strategy.next = HOLD;
      // the limit entry is sized within maxNotional at its price: 0.001 BTC (60 USDT)
      expect(h.orderBook.order(id(1))).to.include({ type: 'limit', amount: 0.001 });
      binance.pinPrice(BTC, h.orderBook.order(id(1))!.price! - 10);
      await tickUntil(() => h!.orderBook.order(id(1))!.status === 'filled');
      // a fall: the last price is 57,000, Binance values a market order at its 5-minute average, 60,000
      binance.pinPrice(BTC, 57_000);
      binance.pinAveragePrice(BTC, 60_000);
      await tickUntil(() => h!.events.some((e) => e.type === 'position.closed'));
      const stops = ordersOf('stop-loss');
      // 0.00099 BTC to sell (0.001 less the fee in BTC); 60 / (57,000 × 1.1) is 0.00095 BTC, whose rest (0.00004,
      // 2.28 USDT) would be dust below the minimum of 5: 0.0009, then the smallest sellable 0.00009
      expect(stops.map((o) => `${o.amount} ${o.status}`)).to.deep.equal(['0.0009 filled', '0.00009 filled']);
      expect(position()).to.be.below(0.00001);
      expect(h.events.filter((e) => e.type === 'order.rejected')).to.deep.equal([]);
    });

    it('counts a fee paid in a third currency at its quote value when the fill is recorded', async function () {
      const third = kit.thirdCurrency;
      if (!third) this.skip();
      await live({ fake: { thirdCurrencyFees: true } });
      // a steady price for the fee currency, so its value at the fill and when recorded is the same
      fake!.pinPrice(third!.market, 100);
      await enterThenStopOut();
      const trades = fake!.trades(BTC);
      expect(trades.map((t) => t.feeAsset)).to.deep.equal([third!.asset, third!.asset]);
      const fills = [...h!.orderBook.order(id(1))!.fills, ...h!.orderBook.order(id(2))!.fills];
      for (const f of fills) {
        expect(f.feeCurrency).to.equal(third!.asset);
        // the fee currency's market against the quote on the local exchange (100), when the fill was recorded
        expect(f.feeQuote).to.be.closeTo(f.feeCost * 100, 1e-9);
      }
      const book = h!.orderBook.positions()[BTC];
      const feesInQuote = fills.reduce((s, f) => s + f.feeQuote!, 0);
      expect(book.feesPaid).to.be.closeTo(feesInQuote, 1e-9);
      const gross = trades.reduce((s, t) => s + (t.side === 'buy' ? -1 : 1) * t.quoteQty, 0);
      expect(book.realizedPnl).to.be.closeTo(gross - feesInQuote, 1e-6);
    });

    it('looks the fee market up once, and keeps it through the markets reloaded every tick (Binance markets by symbol)', async function () {
      if (kit.id !== 'binance') this.skip();
      // markets reloaded at every tick, as while a watched symbol is halted
      await live({ fake: { thirdCurrencyFees: true }, config: { trading: { marketsRefreshMs: 1 } } });
      fake!.pinPrice('BNB/USDT', 100);
      await enterThenStopOut();
      for (let i = 0; i < 3; i++) await h!.loop.tick();
      const fills = [...h!.orderBook.order(id(1))!.fills, ...h!.orderBook.order(id(2))!.fills];
      expect(fills.length).to.be.above(1);
      for (const f of fills) expect(f.feeQuote).to.be.closeTo(f.feeCost * 100, 1e-9);
      const asked = (fake as FakeBinance).requests
        .filter((r) => r.route === 'exchangeInfo')
        .map((r) => r.params.symbols ?? null);
      // the fee market alone, once; every reload after it keeps it (before: each reload lost it, and the next fee
      // loaded it again with a reload of all of them, which the create waited for)
      const lookup = asked.indexOf('["BNBUSDT"]');
      expect(asked.filter((a) => a === '["BNBUSDT"]')).to.have.length(1);
      expect(asked.slice(lookup + 1).length).to.be.above(3);
      expect(asked.slice(lookup + 1).every((a) => a === '["BTCUSDT","BNBUSDT"]')).to.equal(true);
      // (the harness's first load reads the whole list; the engine's, the traded symbol)
      expect(asked.slice(0, lookup)).to.deep.equal([null, '["BTCUSDT"]']);
    });

    it('books a fill whose third-currency fee cannot be priced now: the fee estimated, the stop-loss not held', async function () {
      const third = kit.thirdCurrency;
      if (!third) this.skip();
      await live({ fake: { thirdCurrencyFees: true } });
      // the fee currency's price cannot be read (its ticker fails every time) for the whole round trip
      for (let i = 0; i < 200; i++) fake!.fault('ticker', { kind: 'server-error' }, third!.market);
      strategy.next = ENTER;
      // the entry's fills are booked at once: the position exists, so its stop-loss can fire
      await tickUntil(() => position() > 0);
      strategy.next = HOLD;
      const entryFills = h!.orderBook.order(id(1))!.fills;
      expect(entryFills.length).to.be.greaterThan(0);
      // no price of the fee currency was ever read: unvalued (counts 0), and said to be estimated
      for (const f of entryFills) {
        expect(f).to.include({ feeCurrency: third!.asset, feeEstimated: true });
        expect(f.feeQuote).to.equal(undefined);
      }
      fake!.pinPrice(BTC, Number((h!.orderBook.order(id(1))!.averagePrice! * 0.95).toFixed(2)));
      await tickUntil(() => h!.events.some((e) => e.type === 'position.closed'));
      expect(sells()).to.equal(1);
      expect(h!.orderBook.order(id(2))).to.include({ purpose: 'stop-loss', status: 'filled' });
      // one failed read (its attempts) then none for a minute: later fills do not wait for it again
      expect(fake!.requestCount('ticker')).to.be.greaterThan(0);
    });

    it("corrects a host clock off the exchange's: measured once, alerted once, every signed request then answered", async () => {
      fake = await kit.start({ candleMs: 300, balances: balances() });
      // NTP stopped: the host runs 31 s ahead of the exchange (OKX refuses beyond 30 s, Binance and Bybit from 1 s
      // ahead), so every signed request is refused until the offset is applied: recovery's reads, creates, lookups
      fake.clockSkewMs = -31_000;
      h = await engine(fake.url, { config: { trading: { orders: { protectiveRefusalBackoffMs: 100 } } } });
      await h.loop.recover({ kind: 'first-start' });
      h.loop.enterRunning();
      strategy.next = ENTER;
      await tickUntil(() => position() > 0);
      strategy.next = HOLD;
      fake.pinPrice(BTC, Number((h.orderBook.order(id(1))!.averagePrice! * 0.95).toFixed(2)));
      await tickUntil(() => h!.events.some((e) => e.type === 'position.closed'));
      for (let i = 0; i < 5; i++) await h.loop.tick();
      expect(sells()).to.equal(1);
      expect(soldQty()).to.be.at.most(boughtQty());
      expect(fake.orderClientIds()).to.deep.equal([id(1), id(2)]);
      // one measurement for the whole burst of refusals (and the first tick's own, scheduled), one alert
      expect(fake.requestCount('time')).to.be.within(1, 2);
      const skews = h.events.filter((e) => e.type === 'clock.skew');
      expect(skews).to.have.length(1);
      expect(skews[0].data.offsetMs as number).to.be.closeTo(31_000, 1_000);
      expect(skews[0].summary).to.match(/Host clock 3\d{4} ms ahead of/);
    });

    // The klines' newest row is the candle still forming (all three exchanges). Its open time is the exchange's: on
    // the host clock 2 minutes ahead it looked finished, the strategy decided on a few seconds of it, and the finished
    // candle was then skipped (seen already) — every candle (review 25).
    it("never hands the strategy a candle still forming, the host clock 2 minutes ahead of the exchange's", async () => {
      const candleMs = 2_000;
      fake = await kit.start({ candleMs, balances: balances() });
      fake.clockSkewMs = -120_000;
      h = await engine(fake.url);
      const forming = await formingCandlesSeen(candleMs);
      expect(forming.asked).to.be.greaterThan(0);
      expect(forming.seen).to.deep.equal([]);
    });

    if (kit.id !== 'okx') {
      // Binance's and Bybit's rows do not say which is forming: the measured offset decides. A server-time read that
      // fails left the offset at 0 (the host's clock), and the candles went on after that first attempt: with the
      // host 0.9 s ahead (inside both exchanges' 1 s timestamp tolerance, so no refusal measures it) the forming
      // candle looked finished in the last 0.9 s of each 1 s candle (review 45).
      it('never hands the strategy a candle still forming, the offset unmeasured (its server-time reads fail)', async () => {
        const candleMs = 1_000;
        fake = await kit.start({ candleMs, balances: balances() });
        fake.clockSkewMs = -900;
        for (let i = 0; i < 50; i++) fake.fault('time', { kind: 'server-error' });
        h = await engine(fake.url);
        const forming = await formingCandlesSeen(candleMs);
        expect(fake.requestCount('time')).to.be.at.least(1);
        expect(h.exchange.clockOffsetMs?.()).to.equal(0);
        expect(forming.asked).to.be.greaterThan(0);
        expect(forming.seen).to.deep.equal([]);
      });
    }

    if (kit.id === 'okx') {
      it('never hands the strategy the candle OKX marks unfinished (confirm "0"), the offset unmeasured', async () => {
        const candleMs = 2_000;
        fake = await kit.start({ candleMs, balances: balances() });
        // 20 s ahead: under OKX's 30 s timestamp window, never refused; the server-time reads fail (the start's and
        // every one tried again on the backoff)
        fake.clockSkewMs = -20_000;
        for (let i = 0; i < 50; i++) fake.fault('time', { kind: 'server-error' });
        h = await engine(fake.url, { config: { trading: { orders: { unknownNotFoundWindowMs: 35_000 } } } });
        const forming = await formingCandlesSeen(candleMs);
        expect(fake.requestCount('time')).to.be.at.least(1);
        expect(h.exchange.clockOffsetMs?.()).to.equal(0);
        expect(forming.asked).to.be.greaterThan(0);
        expect(forming.seen).to.deep.equal([]);
      });
    }

    /** The engine run for a few candles (support/live-engine.ts formingCandlesSeen) on this double's clock. */
    function formingCandlesSeen(candleMs: number): Promise<{ asked: number; seen: number[] }> {
      return formingCandlesSeenBy(h!, strategy, candleMs, () => fake!.clockSkewMs);
    }

    // Bybit answers fills (execution list) and order history only within startTime..endTime: windows in the host's
    // time missed the entry's fills for ever with the host 2 minutes ahead (no position, no stop-loss). OKX takes a
    // timestamp 30 s off but not a create past its expTime: 10 s behind, every create was refused 50037 for ever.
    for (const [skewMs, words, from] of [
      [-120_000, '2 minutes ahead of', 'start'],
      [10_000, '10 s behind', 'start'],
      [10_000, '10 s behind', 'entry'],
    ] as const) {
      it(`with the host clock ${words} the exchange's from the ${from}: the entry's fills are booked and its stop-loss sells, the offset alerted`, async () => {
        fake = await kit.start({ candleMs: 300, balances: balances() });
        if (from === 'start') fake.clockSkewMs = skewMs;
        const orders = { protectiveRefusalBackoffMs: 100, rejectCooldownMs: 100 };
        h = await engine(fake.url, { config: { trading: { orders } } });
        await h.loop.recover({ kind: 'first-start' });
        h.loop.enterRunning();
        strategy.next = ENTER;
        await tickUntil(() => position() > 0);
        strategy.next = HOLD;
        const entry = h.orderBook.hotOrders((o) => o.purpose === 'entry' && o.status === 'filled')[0];
        expect(entry.side).to.equal('buy');
        // from the entry: the stop-loss is the first create the exchange refuses for its time
        fake.clockSkewMs = skewMs;
        fake.pinPrice(BTC, Number((entry.averagePrice! * 0.95).toFixed(2)));
        await tickUntil(() => h!.events.some((e) => e.type === 'position.closed'));
        for (let i = 0; i < 3; i++) await h.loop.tick();
        expect(sells()).to.equal(1);
        expect(soldQty()).to.be.at.most(boughtQty());
        expect(position()).to.be.closeTo(fake.balance('BTC') - 1, 1e-12);
        // one buy and one sell on the exchange; a create refused for its time was never placed, nothing sent twice
        expect(fake.orderClientIds()).to.have.length(2);
        expect(new Set(fake.createRequests()).size).to.equal(fake.createRequests().length);
        const skews = h.events.filter((e) => e.type === 'clock.skew');
        expect(skews).to.have.length(1);
        expect(skews[0].data.offsetMs as number).to.be.closeTo(-skewMs, 1_000);
        const refused = h.orderBook.hotOrders((o) => o.refused === true);
        if (from === 'start') {
          // measured with the first tick's reads, before its candles and any create: no create refused for its time
          expect(refused).to.deep.equal([]);
        } else if (kit.id === 'okx' && skewMs > 0) {
          // OKX refused one create past its expTime: known refused (never placed), the alert names the clock
          expect(refused.map((o) => [o.purpose, o.status])).to.deep.equal([['stop-loss', 'rejected']]);
          expect(refused[0].error).to.match(/50037/);
          expect(skews[0].summary).to.match(/Host clock \d+ ms behind okx's.*50037/);
        }
      });
    }

    it("books the fills of an order whose recorded creation is 10 min off the exchange's (the host clock stepped before a restart)", async () => {
      await live();
      fake!.pinPrice(BTC, 60_000);
      const placed = await h!.manager.place({ ...MARKET_ENTRY, amount: 0.002 });
      await tickUntil(() => position() > 0);
      const bought = position();
      // the record was made while the host ran 10 minutes ahead; NTP stepped it back, the bot restarts with the
      // fills not yet booked: a search from the recorded creation (Bybit: startTime) starts after the fills
      const stateFile = path.join(h!.dir, 'trading-state.json');
      await h!.close(false);
      const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as {
        data: { orders: Record<string, { createdAt: number; fills: unknown[] }> };
      };
      const record = state.data.orders[placed.clientOrderId];
      record.createdAt += 600_000;
      record.fills = [];
      fs.writeFileSync(stateFile, JSON.stringify(state));
      fs.rmSync(`${stateFile}.prev`, { force: true });
      h = await h!.restart();
      expect(position()).to.equal(0);
      // the fill sync alone (no lookup of the order has told the adapter its creation yet): read without a span
      const added = await h.orders.fills.sync(placed.clientOrderId);
      expect(added.length).to.be.greaterThan(0);
      expect(position()).to.be.closeTo(bought, 1e-12);
      await h.loop.recover({ kind: 'clean' });
      expect(position()).to.be.closeTo(fake!.balance('BTC') - 1, 1e-12);
    });

    it('ends a round trip at dust: the second round trip reports its own PnL', async () => {
      await live({ config: { trading: { risk: { stopLossPct: 2, takeProfitPct: 2 } } } });
      await enterThenStopOut();
      strategy.next = ENTER;
      await tickUntil(() => h!.orderBook.order(id(3))?.status === 'filled');
      strategy.next = HOLD;
      fake!.pinPrice(BTC, Number((h!.orderBook.order(id(3))!.averagePrice! * 1.05).toFixed(2)));
      await tickUntil(() => h!.events.filter((e) => e.type === 'position.closed').length === 2);
      const closed = h!.events
        .filter((e) => e.type === 'position.closed')
        .map((e) => e.data.realizedPnl as number);
      expect(closed[0]).to.be.below(0);
      // the second trip's own PnL: a gain, not the first trip's loss added to it
      expect(closed[1]).to.be.above(0);
      const book = h!.orderBook.positions()[BTC];
      expect(book.realizedPnl).to.be.closeTo(closed[0] + closed[1], 1e-9);
    });

    it('sends clientOrderIds the exchange accepts, and a state restored from an older copy never sends an id again', async () => {
      await live();
      strategy.next = ENTER;
      await tickUntil(() => position() > 0);
      const stateFile = path.join(h!.dir, 'trading-state.json');
      const older = fs.readFileSync(stateFile);
      strategy.next = EXIT;
      await tickUntil(() => h!.orderBook.order(id(2))?.status === 'filled');
      for (const sent of fake!.createRequests()) expect(sent).to.match(kit.profile.clientOrderId.pattern);
      // the operator restores the state from a backup taken after the first order
      await h!.close(false);
      fs.writeFileSync(stateFile, older);
      fs.rmSync(`${stateFile}.prev`, { force: true });
      h = await h!.restart();
      const summary: RecoverySummary = await h.loop.recover({ kind: 'clean' });
      expect(summary.seqRaisedFromExchange).to.equal(2);
      // the sell the older copy never saw is taken in from the exchange: the position is the exchange's, so the
      // bot does not sell again what it already sold (it would have sold the owner's coins)
      expect(summary.adopted).to.deep.equal([id(2)]);
      expect(h.orderBook.order(id(2))).to.include({ status: 'filled', side: 'sell' });
      expect(position()).to.be.closeTo(fake!.balance('BTC') - 1, 1e-12);
      h.loop.enterRunning();
      strategy.next = ENTER;
      await tickUntil(() => h!.orderBook.order(id(3))?.status === 'filled');
      expect(new Set(fake!.createRequests()).size).to.equal(fake!.createRequests().length);
    });

    it("leaves alone the orders of another bot on the account whose id starts with this one's (bot2 beside bot)", async () => {
      await live({ fake: { limitFillSlices: 1 } });
      fake!.pinPrice(BTC, 60_000);
      const other = await engine(fake!.url, { config: { app: { botId: 'bot2' } } });
      try {
        await other.loop.recover({ kind: 'first-start' });
        other.loop.enterRunning();
        const resting = await other.manager.place({
          symbol: BTC,
          side: 'buy',
          type: 'limit',
          amount: 0.001,
          price: 30_000,
          purpose: 'entry',
        });
        expect(resting.clientOrderId.startsWith('bot2')).to.equal(true);
        expect(resting.status).to.equal('open');
        // bot restarts: recovery and reconcile see bot2's open order on the exchange
        await h!.close(false);
        h = await h!.restart();
        const summary: RecoverySummary = await h.loop.recover({ kind: 'clean' });
        expect(summary.adopted).to.deep.equal([]);
        expect(summary.cancelledUnknown).to.deep.equal([]);
        expect(summary.seqRaisedFromExchange).to.equal(undefined);
        expect(h.orderBook.order(resting.clientOrderId)).to.equal(undefined);
        expect(await reconcileWithExchange(h.orders, h.exchange)).to.deep.equal([]);
        await other.orders.refresher.refresh(resting.clientOrderId);
        expect(other.orderBook.order(resting.clientOrderId)!.status).to.equal('open');
      } finally {
        await other.close();
      }
    });

    it('reloads markets once marketsRefreshMs has passed', async () => {
      // 2 s: the first two ticks well within it (the first carries the server-time read, behind ccxt's throttle)
      await live({ config: { trading: { marketsRefreshMs: 2_000 } } });
      const loads = (): number => fake!.requestCount('markets');
      await h!.loop.tick();
      const before = loads();
      await h!.loop.tick();
      expect(loads()).to.equal(before);
      await sleep(2_100);
      await h!.loop.tick();
      expect(loads()).to.equal(before + 1);
    });

    it('keeps a symbol halted at a markets reload: nothing placed, still watched, reloaded soon, the held stop-loss told once, fired once it trades', async () => {
      await live({ config: { trading: { marketsRefreshMs: 1_500, haltedMarketsRefreshMs: 100 } } });
      strategy.next = ENTER;
      await tickUntil(() => position() > 0);
      strategy.next = HOLD;
      const entry = h!.orderBook.order(id(1))!;
      // held at the entry until the fall below: the market's own walk could cross the stop first (a CI run saw the
      // hold told at the walk's price, not the pinned one)
      fake!.pinPrice(BTC, entry.averagePrice!);
      // the exchange halts the pair (a BREAK) before the daily reload; then the price falls through the stop-loss
      fake!.halt(BTC);
      await tickUntil(() => h!.eventTypes().includes('market.halted'), 100);
      const stopped = Number((entry.averagePrice! * 0.95).toFixed(2));
      fake!.pinPrice(BTC, stopped);
      // Bybit's spot list holds Trading symbols only: a halted one is gone from it, as if delisted — and may return
      const gone = kit.id === 'bybit';
      if (gone) {
        expect(h!.orderBook.markets[BTC]).to.equal(undefined);
        expect(h!.events.find((e) => e.type === 'market.halted')!.summary).to.include(
          'or suspended for a while',
        );
      } else expect(h!.orderBook.markets[BTC]).to.include({ halted: true });
      const loadsAtHalt = fake!.requestCount('markets');
      const tickersAtHalt = fake!.requestCount('ticker');
      // ticks 4 a second (each reads the balance: OKX documents 10 such reads per 2 s, and more wait for the window)
      // until three reloads, within less time than marketsRefreshMs gives two
      const haltedUntil = Date.now() + 2_900;
      while (Date.now() < haltedUntil && fake!.requestCount('markets') - loadsAtHalt < 3) {
        await h!.loop.tick();
        await sleep(250);
      }
      // nothing placed while halted, yet the symbol is still watched (its price read, its orders synced)
      expect(fake!.createRequests()).to.deep.equal([id(1)]);
      // markets reloaded within minutes (here: 100 ms doubling), not once per marketsRefreshMs — on Bybit too, where
      // the symbol is gone from the list (it may be only suspended)
      expect(fake!.requestCount('markets') - loadsAtHalt).to.be.at.least(3);
      // the operator learns once that the stop-loss would fire and is held: price vs stop, the position (a symbol gone
      // from the markets has no price read: nothing to hold, the stop is judged once it is back)
      const held = h!.events.filter((e) => e.type === 'exit.held');
      if (!gone) {
        expect(fake!.requestCount('ticker')).to.be.greaterThan(tickersAtHalt);
        expect(held).to.have.length(1);
        expect(held[0].data).to.include({ symbol: BTC, rule: 'stop-loss', reason: 'halted', price: stopped });
        // the stop: 2 % under the cost per unit, fees included
        expect(held[0].data.entryPrice).to.be.closeTo(entry.averagePrice!, entry.averagePrice! * 0.01);
        expect(held[0].data.triggerPrice).to.be.closeTo(Number(held[0].data.entryPrice) * 0.98, 1e-6);
        expect(held[0].data.amount).to.equal(position());
      }
      // a crash loop during the halt: each start finds it halted, as the operator was told — nothing said again
      const seen = [...h!.eventTypes()];
      const restart = async (): Promise<void> => {
        h = await h!.restart({ connectLater: true });
        await h.loop.connect();
        await h.loop.recover({ kind: 'crash', reason: 'test' });
        h.loop.enterRunning();
      };
      for (let start = 0; start < 2; start++) {
        await restart();
        for (let i = 0; i < 3; i++) await h!.loop.tick();
        seen.push(...h!.eventTypes());
      }
      expect(fake!.createRequests()).to.deep.equal([id(1)]);
      expect(seen.filter((t) => t === 'market.halted')).to.have.length(1);
      expect(seen.filter((t) => t === 'exit.held')).to.have.length(gone ? 0 : 1);
      // trading resumes while the bot is down: the next start says so, and its first tick sells
      await h!.close(false);
      fake!.resume(BTC);
      await restart();
      expect(h!.eventTypes()).to.include('market.resumed');
      await h!.loop.tick();
      expect(h!.orderBook.order(id(2))).to.include({ purpose: 'stop-loss', side: 'sell' });
      await tickUntil(() => sells() === 1, 100);
      fake!.unpin(BTC);
      seen.push(...h!.eventTypes());
      expect(seen.filter((t) => t === 'market.halted')).to.have.length(1);
      expect(seen.filter((t) => t === 'market.resumed')).to.have.length(1);
      expect(fake!.balance('BTC')).to.be.at.least(1);
    });

    it('alerts once when a traded symbol is gone from the markets (delisted), and places nothing on it', async () => {
      await live({ config: { trading: { marketsRefreshMs: 500, haltedMarketsRefreshMs: 100 } } });
      fake!.delist(BTC);
      await tickUntil(() => h!.eventTypes().includes('market.halted'), 100);
      strategy.next = ENTER;
      for (let i = 0; i < 5; i++) await h!.loop.tick();
      expect(h!.events.filter((e) => e.type === 'market.halted').map((e) => e.data.status)).to.deep.equal([
        'delisted',
      ]);
      expect(fake!.createRequests()).to.deep.equal([]);
    });

    it('restarts while a traded symbol holding a position is gone from the markets: recovery completes, nothing placed on it', async () => {
      await live({ config: { trading: { marketsRefreshMs: 500, haltedMarketsRefreshMs: 100 } } });
      strategy.next = ENTER;
      await tickUntil(() => position() > 0);
      strategy.next = HOLD;
      fake!.delist(BTC);
      await tickUntil(() => h!.eventTypes().includes('market.halted'), 100);
      h = await h!.restart({ connectLater: true });
      await h.loop.connect();
      await h.loop.recover({ kind: 'crash', reason: 'test' });
      h.loop.enterRunning();
      for (let i = 0; i < 3; i++) await h.loop.tick();
      expect(fake!.createRequests()).to.deep.equal([id(1)]);
    });

    it('waits for an exchange that does not answer at start: one alert, then it connects, recovers and trades', async () => {
      const port = await freePort();
      // the bot knows the exchange's address before anything listens there
      h = await engine(`http://127.0.0.1:${port}`, {
        config: { trading: { unreachableAlertMs: 300 } },
        connectLater: true,
      });
      const connecting = h.loop.connect();
      // it keeps waiting, and says so once (not once per retry)
      for (let i = 0; i < 100 && !h.eventTypes().includes('exchange.unreachable'); i++) await sleep(50);
      await sleep(1_000);
      expect(h.loop.loopState).to.equal('waiting-exchange');
      expect(h.loop.snapshot()).to.include({ exchangeReachable: false });
      expect(h.loop.snapshot().exchangeError).to.be.a('string');
      fake = await kit.start({ candleMs: 300, balances: balances(), port });
      await connecting;
      await h.loop.recover({ kind: 'first-start' });
      h.loop.enterRunning();
      strategy.next = ENTER;
      await tickUntil(() => position() > 0);
      expect(h.eventTypes().filter((t) => t === 'exchange.unreachable')).to.have.length(1);
      expect(h.eventTypes().filter((t) => t === 'exchange.recovered')).to.have.length(1);
    });

    it("never lets one symbol's slow reads delay another symbol's stop-loss", async () => {
      await live({
        config: { trading: { symbols: [BTC, 'ETH/USDT'], symbolReadTimeoutMs: 1_000 } },
      });
      strategy.next = ENTER;
      await tickUntil(() => position(BTC) > 0 && position('ETH/USDT') > 0);
      strategy.next = HOLD;
      fake!.pinPrice(BTC, Number((h!.orderBook.order(id(1))!.averagePrice! * 0.95).toFixed(2)));
      // ETH's ticker answers only after 5 s, far beyond its read deadline
      fake!.fault('ticker', { kind: 'delay', ms: 5_000 }, 'ETH/USDT');
      await h!.loop.tick();
      const btcExit = h!.orderBook.hotOrders().find((o) => o.symbol === BTC && o.side === 'sell');
      expect(btcExit, 'BTC stop-loss placed in the same tick').to.not.equal(undefined);
      expect(btcExit!.purpose).to.equal('stop-loss');
      // the ETH answer has not even arrived yet
      expect(fake!.requestCount('ticker')).to.be.greaterThan(0);
      expect(
        h!.orderBook.hotOrders().filter((o) => o.symbol === 'ETH/USDT' && o.side === 'sell'),
      ).to.deep.equal([]);
    });

    describe('an order it acknowledged that the exchange no longer has (cancelled, then forgotten by its order reads)', () => {
      const LIMIT = { trading: { orders: { type: 'limit' } } };
      /** Past the not-found window from the send: the 1 s window plus the 0.5 s request window. */
      const pastNotFoundWindow = (): Promise<void> => sleep(1_700);
      /**
       * Three ticks whose lookups miss (the 3 misses asked), the last past the not-found window (1 s) from the first:
       * a miss settles nothing (one read may lag) until they are 3 in a row over the window from the first.
       */
      async function missingOverTheWindow(): Promise<void> {
        await h!.loop.tick();
        await h!.loop.tick();
        expect(h!.orderBook.order(id(1))!.settledAbsent, 'settled before 3 misses over 1 s').to.equal(
          undefined,
        );
        expect(h!.eventTypes()).to.not.include('trading.paused');
        await sleep(1_100);
        await h!.loop.tick();
      }
      const settledEvents = () => h!.events.filter((e) => e.type === 'order.settled_absent');

      /** A limit entry resting at a still price (bid 59994, ask 60006): open on the exchange. */
      async function restingEntry(fakeOpts: Partial<LocalExchangeOptions> = {}): Promise<void> {
        await live({ fake: { limitFillSlices: 1, ...fakeOpts }, config: LIMIT });
        fake!.pinPrice(BTC, 60_000);
        strategy.next = ENTER;
        await h!.loop.tick();
        strategy.next = HOLD;
        expect(h!.orderBook.order(id(1))).to.include({ status: 'open', type: 'limit', filled: 0 });
        // a tick reads it: the exchange's reads know it (an exchange forgets a cancelled order hours later, never
        // one its reads have not shown yet: that is their lag, rest-probe.ts)
        await h!.loop.tick();
        expect(h!.orderBook.order(id(1))!.seenByRead).to.equal(true);
      }

      it('settles one without fills as cancelled with 0 filled, alerted once; the symbol trades again and its stop-loss sells', async () => {
        await restingEntry();
        fake!.purge(id(1));
        await tickUntil(() => h!.orderBook.order(id(1))!.status === 'cancelled');
        expect(h!.orderBook.order(id(1))).to.include({ filled: 0, settledAbsent: true });
        expect(settledEvents()).to.have.length(1);
        expect(settledEvents()[0].summary).to.equal(
          `buy ${h!.orderBook.order(id(1))!.amount} BTC/USDT (entry, ${id(1)}) is no longer on the exchange (not ` +
            `among its open orders, not found by a lookup): settled from its fills as cancelled, filled 0 of ` +
            `${h!.orderBook.order(id(1))!.amount}`,
        );
        expect(h!.eventTypes()).to.not.include('trading.paused');
        // the symbol is free again: a new entry goes out and fills, and the stop-loss sells it
        strategy.next = ENTER;
        await tickUntil(() => h!.orderBook.order(id(2)) !== undefined);
        strategy.next = HOLD;
        fake!.pinPrice(BTC, 59_990);
        await tickUntil(() => h!.orderBook.order(id(2))!.status === 'filled');
        fake!.pinPrice(BTC, 57_000);
        await tickUntil(() => h!.orderBook.order(id(3))?.status === 'filled');
        expect(h!.orderBook.order(id(3))).to.include({ side: 'sell', purpose: 'stop-loss' });
        // what is left is dust (the buy's fee was paid in BTC), never the owner's coins
        expect(h!.orderBook.openPositions()).to.deep.equal([]);
        expect(fake!.balance('BTC')).to.be.at.least(1);
        expect(settledEvents()).to.have.length(1);
      });

      it('settles one partly filled then cancelled with its fills: the position is what filled, and the stop-loss sells it', async () => {
        await live({ fake: { limitFillSlices: 4, matchIntervalMs: 60_000 }, config: LIMIT });
        fake!.pinPrice(BTC, 60_000);
        strategy.next = ENTER;
        await h!.loop.tick();
        strategy.next = HOLD;
        const entry = h!.orderBook.order(id(1))!;
        // the price crosses the limit: one slice of four fills (the next only a minute later)
        fake!.pinPrice(BTC, entry.price! - 10);
        await tickUntil(() => h!.orderBook.order(id(1))!.status === 'partially_filled');
        fake!.pinPrice(BTC, 60_000);
        fake!.purge(id(1));
        await tickUntil(() => h!.orderBook.order(id(1))!.status === 'cancelled');
        const settled = h!.orderBook.order(id(1))!;
        const bought = boughtQty();
        expect(bought).to.be.closeTo(entry.amount / 4, 0.00001);
        expect(settled.filled).to.be.closeTo(bought, 1e-12);
        expect(settled.fills.reduce((s, f) => s + f.amount, 0)).to.be.closeTo(bought, 1e-12);
        expect(position()).to.be.closeTo(fake!.balance('BTC') - 1, 1e-12);
        expect(settledEvents()).to.have.length(1);
        expect(settledEvents()[0].data).to.include({
          clientOrderId: id(1),
          status: 'cancelled',
          side: 'buy',
        });
        expect(settledEvents()[0].summary).to.match(
          /settled from its fills as cancelled, filled [\d.]+ of [\d.]+$/,
        );
        // the stop-loss fires on what filled
        fake!.pinPrice(BTC, Number((entry.price! * 0.95).toFixed(2)));
        await tickUntil(() => h!.orderBook.order(id(2))?.status === 'filled');
        expect(h!.orderBook.order(id(2))).to.include({ side: 'sell', purpose: 'stop-loss' });
        expect(soldQty()).to.be.at.most(bought);
        expect(h!.orderBook.openPositions()).to.deep.equal([]);
        expect(fake!.balance('BTC')).to.be.at.least(1);
      });

      it('settles nothing when a lookup misses an order its open-orders list still has: the list answers', async () => {
        await restingEntry();
        await pastNotFoundWindow();
        const openReads = fake!.requestCount('openOrders');
        for (let i = 0; i < 3; i++) fake!.fault('fetchOrder', { kind: 'not-found' });
        await missingOverTheWindow();
        expect(fake!.requestCount('openOrders')).to.be.greaterThan(openReads);
        expect(h!.orderBook.order(id(1))).to.include({ status: 'open', filled: 0 });
        expect(h!.orderBook.order(id(1))!.settledAbsent).to.equal(undefined);
        expect(h!.eventTypes()).to.not.include('order.settled_absent');
        expect(h!.eventTypes()).to.not.include('trading.paused');
      });

      it('settles nothing while its fills cannot be read: entries paused saying so, tried again later, then settled and resumed', async () => {
        await restingEntry();
        fake!.purge(id(1));
        await pastNotFoundWindow();
        // both attempts of the trades read fail (5xx)
        fake!.fault('trades', { kind: 'server-error' });
        fake!.fault('trades', { kind: 'server-error' });
        await missingOverTheWindow();
        expect(h!.orderBook.order(id(1))).to.include({ status: 'open', filled: 0 });
        expect(h!.eventTypes()).to.not.include('order.settled_absent');
        const paused = h!.events.filter((e) => e.type === 'trading.paused');
        expect(paused).to.have.length(1);
        expect(paused[0].summary).to.match(
          new RegExp(
            `the exchange no longer shows order ${id(1)} .* not settled: its open orders or fills could not be read`,
          ),
        );
        expect(h!.loop.pause).to.include({ by: 'operational', clientOrderId: id(1) });
        // the next try waits for the backoff; then the fills are read, the order settled and the pause lifted
        await tickUntil(() => h!.orderBook.order(id(1))!.status === 'cancelled');
        expect(settledEvents()).to.have.length(1);
        await h!.loop.tick();
        expect(h!.loop.pause).to.equal(null);
        expect(h!.eventTypes()).to.include('trading.resumed');
      });

      it('settles after a restart one that state has open and the exchange forgot while trading was down', async () => {
        await restingEntry();
        fake!.purge(id(1));
        await pastNotFoundWindow();
        h = await h!.restart();
        await h.loop.recover({ kind: 'clean' });
        // one miss at recovery settles nothing (one read may lag); the misses in a row over the window do
        expect(h.orderBook.order(id(1))).to.include({ status: 'open', filled: 0 });
        h.loop.enterRunning();
        await tickUntil(() => h!.orderBook.order(id(1))!.status === 'cancelled');
        expect(h.orderBook.order(id(1))).to.include({ filled: 0, settledAbsent: true });
        expect(settledEvents()).to.have.length(1);
        // the symbol trades again
        strategy.next = ENTER;
        await tickUntil(() => h!.orderBook.order(id(2)) !== undefined);
        expect(fake!.createRequests()).to.deep.equal([id(1), id(2)]);
      });
    });
  });
}
