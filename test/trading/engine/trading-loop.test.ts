import { expect } from 'chai';
import {
  AuthenticationError,
  InsufficientFundsError,
  InvalidOrderError,
  NetworkError,
  OperationalError,
  OrderNotFoundError,
  RateLimitError,
} from '../../../src/shared/errors';
import type { Candle, Exchange } from '../../../src/trading/exchange/exchange';
import type { PaperExchange } from '../../../src/trading/exchange/paper-exchange';
import { pauseSummary } from '../../../src/trading/engine/operator/pause-causes';
import { applyFill, emptyBook, type Fill } from '../../../src/trading/engine/books/pnl';
import {
  candleEnd,
  candlesSince,
  candlePeriod,
  closedCandles,
  newCandleCount,
} from '../../../src/trading/engine/tick/symbol-tick';
import { HOLD, type Signal } from '../../../src/trading/strategy/strategy';
import { SafeStrategy } from '../../../src/trading/strategy/safe-strategy';
import { FAKE_CLOCK_START, FakeClock, flush } from '../../support/fake-clock';
import { EngineHarness, MARKET_BUY, ScriptedStrategy } from '../../support/engine-harness';
import { withOverrides, type ExchangeOverrides } from '../../support/exchange-overrides';
import { closeAfterEach } from '../../support/close-after-each';
import { captureLogger } from '../../support/capture-logger';

const ENTER: Signal = { action: 'enter-long', reason: 'test says buy' };
const EXIT: Signal = { action: 'exit-long', reason: 'test says sell' };
const NO_SLTP = { trading: { risk: { stopLossPct: 0, takeProfitPct: 0 } } };
/** A 20 000 USDT paper account with a 10 % drawdown kill switch: a 5 000 USDT fill is a quarter of it. */
const TEN_PCT_DRAWDOWN_ON_20K = {
  trading: {
    risk: { ...NO_SLTP.trading.risk, maxDrawdownPct: 10 },
    paper: { candleMs: 100, startingBalances: { USDT: 20_000 } },
  },
};

/** A limit order `priceFactor` × the market: the paper exchange fills it in 5 000 USDT slices, one per candle. */
async function placeSliced(h: EngineHarness, side: 'buy' | 'sell', priceFactor: number): Promise<string> {
  const price = (await h.paper.fetchTicker('BTC/USDT')).last;
  const order = await h.manager.place({
    symbol: 'BTC/USDT',
    side,
    type: 'limit',
    amount: 0.2,
    price: Math.round(price * priceFactor),
    purpose: side === 'buy' ? 'entry' : 'exit',
  });
  return order.clientOrderId;
}

/**
 * Moves time until the period after the one an order was placed in has completed: a resting order fills only from
 * completed periods (its fill then does not depend on when the bot looks), so that is when its next slice is in.
 */
async function pastNextPeriod(h: EngineHarness): Promise<void> {
  await h.nextCandle();
  await h.nextCandle();
}

describe('TradingLoop against the paper exchange (integration)', function () {
  this.timeout(20_000);
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h]);

  async function started(
    opts: Parameters<typeof EngineHarness.open>[0] = {},
  ): Promise<{ h: EngineHarness; strategy: ScriptedStrategy }> {
    const strategy = new ScriptedStrategy();
    h = await EngineHarness.open({ config: NO_SLTP, strategy: new SafeStrategy(strategy), ...opts });
    await h.loop.recover({ kind: 'first-start' });
    h.loop.enterRunning();
    return { h, strategy };
  }

  /** The paper exchange whose ticker's last price is `price()` when it says one (the market's otherwise). */
  function pinnedTicker(
    paper: PaperExchange,
    price: () => number | undefined,
    more: ExchangeOverrides = {},
  ): Exchange {
    return withOverrides(paper, {
      fetchTicker: (async (symbol: string) => {
        const real = await paper.fetchTicker(symbol);
        const last = price();
        return last === undefined ? real : { ...real, last };
      }) as never,
      ...more,
    });
  }

  /** The 20k account of TEN_PCT_DRAWDOWN_ON_20K whose order lookups or balance reads fail while `fail` says so. */
  function startedFailing(fail: {
    lookup?: () => boolean;
    balance?: () => boolean;
  }): ReturnType<typeof started> {
    let paperRef: PaperExchange | undefined;
    return started({
      config: TEN_PCT_DRAWDOWN_ON_20K,
      wrapExchange: (paper) => {
        paperRef = paper;
        return withOverrides(paper, {
          fetchOrder: ((id: string, symbol: string) =>
            fail.lookup?.()
              ? Promise.reject(new NetworkError('lookup timed out', {}))
              : paperRef!.fetchOrder(id, symbol)) as never,
          fetchBalance: (() =>
            fail.balance?.()
              ? Promise.reject(new NetworkError('balance timed out', {}))
              : paperRef!.fetchBalance()) as never,
        });
      },
    });
  }

  it('refuses to place an order before recovery has finished', async () => {
    h = await EngineHarness.open();
    try {
      await h.manager.place(MARKET_BUY);
      expect.fail('should refuse');
    } catch (err) {
      expect(err).to.be.instanceOf(OperationalError);
      expect((err as Error).message).to.match(/recovery has not finished/);
    }
    expect(Object.keys(h.paperFile().orders)).to.have.length(0);
  });

  it('enters on a signal and exits on the next, and positions follow the fills', async () => {
    const { h, strategy } = await started();
    strategy.next = ENTER;
    await h.loop.tick();
    expect(h.orderBook.order('bot-tst000-1')).to.include({
      status: 'filled',
      side: 'buy',
      purpose: 'entry',
    });
    const amount = h.orderBook.openPositions()[0].amount;
    expect(amount).to.equal(h.paperFile().balances.BTC.free);
    // the 100 USDT stake, floored to the amount step (slippage may add a few cents)
    const spent = h.orderBook.order('bot-tst000-1')!.fills.reduce((s, f) => s + f.amount * f.price, 0);
    expect(spent).to.be.within(95, 100.1);
    strategy.next = EXIT;
    await h.nextCandle(); // a new candle closes
    await h.loop.tick();
    expect(h.orderBook.order('bot-tst000-2')).to.include({
      status: 'filled',
      side: 'sell',
      purpose: 'exit',
    });
    expect(h.orderBook.openPositions()).to.have.length(0);
    expect(h.eventTypes()).to.include.members(['position.opened', 'position.closed']);
    const closed = h.events.find((e) => e.type === 'position.closed')!;
    expect(closed.data.realizedPnl).to.be.a('number');
  });

  it('close-all pauses entries, cancels open orders first, then sells each position once', async () => {
    const { h, strategy } = await started();
    strategy.next = ENTER;
    await h.loop.tick();
    strategy.next = HOLD;
    const held = h.orderBook.openPositions()[0].amount;
    const price = (await h.paper.fetchTicker('BTC/USDT')).last;
    // an exit limit far above the market is working on the same position: selling at market as well would sell
    // the position twice if both filled
    const limit = await h.manager.place({
      symbol: 'BTC/USDT',
      side: 'sell',
      type: 'limit',
      price: Math.round(price * 3),
      amount: held,
      purpose: 'exit',
    });
    expect(limit.status).to.equal('open');

    const result = await h.loop.closeAll();
    expect(result).to.deep.include({ cancelled: [limit.clientOrderId], skipped: [], paused: true });
    expect(result.orders).to.have.length(1);
    expect(h.orderBook.order(limit.clientOrderId)!.status).to.equal('cancelled');
    expect(h.orderBook.order(result.orders[0])).to.include({
      purpose: 'close-all',
      amount: held,
      status: 'filled',
    });
    expect(h.orderBook.openPositions()).to.have.length(0);
    expect(h.paperFile().balances.BTC?.free ?? 0).to.equal(0);
    expect(h.loop.pause).to.deep.include({ reason: 'close-all', by: 'operator' });
    // the next entry signal does not reopen it
    strategy.next = ENTER;
    await h.nextCandle();
    await h.loop.tick();
    expect(h.orderBook.openPositions()).to.have.length(0);
  });

  it('a second close-all asked while the first still works (the operator told "no answer yet") sells nothing more', async () => {
    const { h, strategy } = await started();
    strategy.next = ENTER;
    await h.loop.tick();
    strategy.next = HOLD;
    const held = h.orderBook.openPositions()[0].amount;
    // both asked before either answers: /closeall pressed again after a reply that did not say the outcome yet
    const [first, second] = await Promise.all([h.loop.closeAll(), h.loop.closeAll()]);
    expect(first.orders).to.have.length(1);
    expect(second).to.deep.include({ orders: [], cancelled: [], skipped: [], paused: true });
    const sells = (await h.orderBook.allOrders()).filter((o) => o.side === 'sell');
    expect(sells, 'one market sell in all').to.have.length(1);
    expect(h.orderBook.order(first.orders[0])).to.include({ amount: held, status: 'filled' });
    expect(h.paperFile().balances.BTC?.free ?? 0).to.equal(0);
  });

  it('decides nothing more for a symbol in the tick that settled one of its orders as absent (an inference)', async () => {
    let hidden = false;
    let paperRef: PaperExchange | undefined;
    const ours = (o: { clientOrderId?: string }): boolean => o.clientOrderId === 'bot-tst000-1';
    const { h, strategy } = await started({
      wrapExchange: (paper) => {
        paperRef = paper;
        // every order read forgets the first order while hidden (its trades stay: none)
        return withOverrides(paper, {
          fetchOrder: (async (id: string, symbol: string) => {
            const order = await paperRef!.fetchOrder(id, symbol);
            if (hidden && ours(order)) throw new OrderNotFoundError('the exchange has no such order', {});
            return order;
          }) as never,
          fetchOpenOrders: (async (symbol?: string) =>
            (await paperRef!.fetchOpenOrders(symbol)).filter((o) => !(hidden && ours(o)))) as never,
        });
      },
    });
    const price = (await h.paper.fetchTicker('BTC/USDT')).last;
    h.manager.startAccepting();
    await h.manager.place({
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'limit',
      price: Math.round(price * 0.5),
      amount: 0.001,
      purpose: 'entry',
    });
    hidden = true;
    await h.paper.cancelOrder(h.orderBook.order('bot-tst000-1')!.exchangeOrderId!, 'BTC/USDT');
    strategy.next = ENTER;
    // past the not-found window from the send; a first miss, then the next over the window from it
    await h.fakeClock().advance(150, 150);
    await h.loop.tick();
    expect(h.orderBook.order('bot-tst000-1')!.status).to.equal('open');
    expect(h.orderBook.hotOrders()).to.have.length(1);
    await h.fakeClock().advance(150, 150);
    await h.loop.tick();
    expect(h.orderBook.order('bot-tst000-1')).to.include({
      status: 'cancelled',
      settledAbsent: true,
    });
    expect(h.orderBook.hotOrders(), 'no entry in the tick that settled it').to.have.length(1);
    await h.loop.tick();
    expect(h.orderBook.hotOrders((o) => o.purpose === 'entry')).to.have.length(2);
  });

  it('reconcile gives up a read that hangs at the read deadline: an error, and the next tick is not held', async () => {
    let hang = false;
    let paperRef: PaperExchange | undefined;
    let listReads = 0;
    const { h } = await started({
      wrapExchange: (paper) => {
        paperRef = paper;
        return withOverrides(paper, {
          fetchOpenOrders: ((symbol?: string) => {
            listReads++;
            return hang ? new Promise(() => {}) : paperRef!.fetchOpenOrders(symbol);
          }) as never,
        });
      },
    });
    await h.loop.tick();
    expect(await h.loop.reconcile()).to.deep.equal([]);
    hang = true;
    const before = listReads;
    let outcome: unknown;
    void h.loop.reconcile().then(
      (r) => (outcome = r),
      (err: unknown) => (outcome = err),
    );
    for (let i = 0; i < 300 && listReads === before; i++) await new Promise((r) => setTimeout(r, 5));
    expect(listReads, "reconcile's open-orders read sent").to.equal(before + 1);
    await h.fakeClock().advance(h.config.trading.symbolReadTimeoutMs, 500);
    for (let i = 0; i < 300 && outcome === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    expect(outcome).to.be.instanceOf(NetworkError);
    expect((outcome as Error).message).to.match(/reconcile: open orders: no answer from the exchange within/);
    // the tick after it runs (a reconcile still holding its turn would hold it: the test would time out)
    let ticked = false;
    void h.loop.tick().then(() => (ticked = true));
    for (let i = 0; i < 300 && !ticked; i++) await new Promise((r) => setTimeout(r, 10));
    expect(ticked, 'the next tick ran').to.equal(true);
  });

  it('reconcile holds the ticks at most its budget of read deadlines in all, then sends no read more', async () => {
    let slow = false;
    let paperRef: PaperExchange | undefined;
    let lookups = 0;
    const { h, strategy } = await started({
      config: { ...NO_SLTP, trading: { ...NO_SLTP.trading, orders: { type: 'limit' } } },
      wrapExchange: (paper) => {
        paperRef = paper;
        return withOverrides(paper, {
          // each lookup answers just inside the read deadline
          fetchOrder: ((id: string, symbol: string) => {
            if (!slow) return paperRef!.fetchOrder(id, symbol);
            lookups++;
            const ms = h.config.trading.symbolReadTimeoutMs * 0.9;
            return new Promise((resolve, reject) =>
              h.fakeClock().timer(ms, () => paperRef!.fetchOrder(id, symbol).then(resolve, reject)),
            );
          }) as never,
        });
      },
    });
    // six resting orders: six lookups of 0.9 read deadlines each are more than the budget
    const price = (await h.paper.fetchTicker('BTC/USDT')).last;
    h.manager.startAccepting();
    for (let i = 0; i < 6; i++) {
      const order = await h.manager.place({
        symbol: 'BTC/USDT',
        side: 'buy',
        type: 'limit',
        price: Math.round(price * 0.5),
        amount: 0.001,
        purpose: 'entry',
      });
      expect(order.status).to.equal('open');
    }
    strategy.next = HOLD;
    slow = true;
    let outcome: unknown;
    void h.loop.reconcile().then(
      (r) => (outcome = r),
      (err: unknown) => (outcome = err),
    );
    const step = h.config.trading.symbolReadTimeoutMs / 10;
    for (let i = 0; i < 80 && outcome === undefined; i++) {
      await h.fakeClock().advance(step, step);
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(outcome).to.be.instanceOf(NetworkError);
    expect((outcome as Error).message).to.match(/took longer than \d+ ms in all; ask again later/);
    const sent = lookups;
    expect(sent).to.be.within(4, 5);
    await h.fakeClock().advance(h.config.trading.symbolReadTimeoutMs * 3, step);
    expect(lookups, 'no read sent after it was given up').to.equal(sent);
  });

  it('close-all gives up a balance read that hangs at the read deadline and sells the position whole', async () => {
    let hang = false;
    let paperRef: PaperExchange | undefined;
    let balanceReads = 0;
    const { h, strategy } = await started({
      wrapExchange: (paper) => {
        paperRef = paper;
        return withOverrides(paper, {
          // ticks wait behind close-all: a balance read that never answers must not hold it
          fetchBalance: (() => {
            balanceReads++;
            return hang ? new Promise(() => {}) : paperRef!.fetchBalance();
          }) as never,
        });
      },
    });
    strategy.next = ENTER;
    await h.loop.tick();
    strategy.next = HOLD;
    const held = h.orderBook.openPositions()[0].amount;
    hang = true;
    const before = balanceReads;
    let result: Awaited<ReturnType<typeof h.loop.closeAll>> | undefined;
    void h.loop.closeAll().then((r) => (result = r));
    for (let i = 0; i < 300 && balanceReads === before; i++) await new Promise((r) => setTimeout(r, 5));
    expect(balanceReads, "close-all's balance read sent").to.equal(before + 1);
    await h.fakeClock().advance(h.config.trading.symbolReadTimeoutMs, 500);
    for (let i = 0; i < 300 && !result; i++) await new Promise((r) => setTimeout(r, 10));
    expect(result, 'close-all done at the read deadline').to.not.equal(undefined);
    expect(result!.orders).to.have.length(1);
    expect(h.orderBook.order(result!.orders[0])).to.include({
      purpose: 'close-all',
      amount: held,
      status: 'filled',
    });
    expect(h.orderBook.openPositions()).to.have.length(0);
  });

  it('close-all sells a position above the paper market order maximum in capped pieces, as on Binance', async () => {
    const { h } = await started({
      config: {
        ...NO_SLTP,
        trading: {
          ...NO_SLTP.trading,
          paper: { candleMs: 100, startingBalances: { USDT: 10_000_000 }, partialFillNotional: 10_000_000 },
        },
      },
    });
    const market = h.orderBook.markets['BTC/USDT'];
    // the paper market states Binance's largest orders: LOT_SIZE 9,000 BTC, MARKET_LOT_SIZE 63.1 BTC
    expect(market.maxOrder).to.deep.equal({ limit: { amount: 9_000 }, market: { amount: 63.1 } });
    const price = (await h.paper.fetchTicker('BTC/USDT')).last;
    // a marketable limit buy of 100 BTC (within LOT_SIZE): filled at once
    const buy = await h.manager.place({
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'limit',
      price: Math.round(price * 1.05),
      amount: 100,
      purpose: 'entry',
    });
    expect(h.orderBook.order(buy.clientOrderId)!.status).to.equal('filled');
    const held = h.orderBook.openPositions()[0].amount;
    expect(held).to.be.above(63.1);
    const result = await h.loop.closeAll();
    expect(result.skipped).to.deep.equal([]);
    const pieces = result.orders.map((id) => h.orderBook.order(id)!);
    expect(pieces.map((o) => o.amount)).to.deep.equal([63.1, Number((held - 63.1).toFixed(5))]);
    expect(pieces.every((o) => o.status === 'filled' && o.type === 'market')).to.equal(true);
    expect(h.eventTypes()).to.not.include('order.rejected');
    expect(h.orderBook.openPositions()).to.have.length(0);
  });

  it('values a position at the last price everywhere: decision, openPositions and close-all agree as the price moves', async () => {
    let pinned: number | undefined;
    const { h, strategy } = await started({
      config: { trading: { risk: { stopLossPct: 0.5, takeProfitPct: 0 } } },
      wrapExchange: (paper) => pinnedTicker(paper, () => pinned),
    });
    strategy.next = ENTER;
    await h.loop.tick();
    strategy.next = HOLD;
    const held = h.orderBook.positions()['BTC/USDT'].amount;
    // the price falls so far that the position is worth 4 USDT, below the minimum order value (5): dust, no position
    pinned = 4 / held;
    await h.nextCandle();
    await h.loop.tick();
    expect(h.loop.lastPrices['BTC/USDT']).to.equal(pinned);
    expect(h.orderBook.order('bot-tst000-2'), 'no stop-loss on dust').to.equal(undefined);
    expect(h.orderBook.openPositions()).to.deep.equal([]);
    expect(await h.loop.closeAll()).to.deep.include({ orders: [], skipped: [] });
    // back up: a position again for the decision, the status and close-all alike
    pinned = undefined;
    await h.nextCandle();
    await h.loop.tick();
    expect(h.orderBook.openPositions().map((p) => p.symbol)).to.deep.equal(['BTC/USDT']);
    const result = await h.loop.closeAll();
    expect(result.orders).to.have.length(1);
    expect(h.orderBook.order(result.orders[0])).to.include({
      purpose: 'close-all',
      amount: held,
      status: 'filled',
    });
  });

  it('close-all takes over a risk pause (only an operator resume restarts entries) and reports an order it could not cancel', async () => {
    let cancelFails = false;
    const { h, strategy } = await started({
      wrapExchange: (paper) =>
        withOverrides(paper, {
          cancelOrder: (id, symbol) =>
            cancelFails
              ? Promise.reject(new NetworkError('cancel: connection reset'))
              : paper.cancelOrder(id, symbol),
        }),
    });
    strategy.next = HOLD;
    await h.loop.pauseEntries('kill switch: daily loss', 'risk');
    // a working entry far below the market on a symbol with no position, whose cancel will fail
    const price = (await h.paper.fetchTicker('BTC/USDT')).last;
    h.manager.startAccepting();
    const entry = await h.manager.place({ ...MARKET_BUY, type: 'limit', price: Math.round(price / 2) });
    expect(entry.status).to.equal('open');
    cancelFails = true;
    const result = await h.loop.closeAll();
    expect(result.orders).to.deep.equal([]);
    expect(result.skipped).to.have.length(1);
    expect(result.skipped[0].symbol).to.equal('BTC/USDT');
    expect(result.skipped[0].reason).to.include(entry.clientOrderId);
    expect(h.loop.pause).to.deep.include({ reason: 'close-all', by: 'operator' });
    await h.loop.resumeEntries('risk'); // the kill switch clearing does not lift an operator's pause
    expect(h.loop.pause).to.deep.include({ by: 'operator' });
  });

  it('ignores entry signals while paused but keeps the loop running', async () => {
    const { h, strategy } = await started();
    await h.loop.pauseEntries('operator says stop', 'operator');
    expect(h.loop.loopState).to.equal('paused');
    strategy.next = ENTER;
    await h.loop.tick();
    expect(h.orderBook.hotOrders()).to.have.length(0);
    await h.loop.resumeEntries('operator');
    await h.nextCandle();
    await h.loop.tick();
    expect(h.orderBook.hotOrders()).to.have.length(1);
    expect(h.eventTypes()).to.include.members(['trading.paused', 'trading.resumed']);
  });

  it('pauses entries with an event on an operational error, without crashing', async () => {
    const { h } = await started({
      wrapExchange: (paper) =>
        withOverrides(paper, {
          fetchBalance: () =>
            Promise.reject(new AuthenticationError('invalid API key', { exchange: 'paper' })),
        }),
    });
    await h.loop.tick();
    expect(h.loop.loopState).to.equal('paused');
    expect(h.loop.pause).to.include({ by: 'operational' });
    expect(h.loop.pause!.reason).to.match(/invalid API key/);
    expect(h.eventTypes()).to.include('trading.paused');
  });

  /** Two entries resting far below the market (open, unfilled), on a loop whose entries are paused by neither. */
  async function twoRestingEntries(h: EngineHarness): Promise<[string, string]> {
    const price = (await h.paper.fetchTicker('BTC/USDT')).last;
    const limit = { ...MARKET_BUY, type: 'limit' as const, price: Math.round(price / 2) };
    const a = await h.manager.place(limit);
    const b = await h.manager.place(limit);
    expect([a.status, b.status]).to.deep.equal(['open', 'open']);
    return [a.clientOrderId, b.clientOrderId];
  }

  /** The operational pause the loop takes for an order the exchange no longer shows that it could not settle. */
  function unsettled(h: EngineHarness, clientOrderId: string): Promise<unknown> {
    return h.loop.pauseEntries(
      `BTC/USDT: the exchange no longer shows order ${clientOrderId}; not settled`,
      'operational',
      false,
      clientOrderId,
    );
  }

  it('keeps a pause waiting on two unsettled orders until both are settled, then lifts it', async () => {
    const { h } = await started();
    const [a, b] = await twoRestingEntries(h);
    await unsettled(h, a);
    await unsettled(h, b);
    await unsettled(h, b); // the same cause again (every tick while it lasts) adds nothing
    expect(h.eventTypes().filter((t) => t === 'trading.paused')).to.have.length(2);
    expect(h.files.store.data.pause!.joined).to.have.length(1);
    await h.orders.canceller.cancel(a);
    await h.loop.tick();
    expect(h.loop.loopState).to.equal('paused');
    expect(h.loop.pause).to.include({ by: 'operational', clientOrderId: b });
    expect(h.eventTypes()).to.not.include('trading.resumed');
    await h.orders.canceller.cancel(b);
    await h.loop.tick();
    expect(h.loop.pause).to.equal(null);
    expect(h.eventTypes()).to.include('trading.resumed');
  });

  it('never lifts by itself a pause an operational error without an order joined, even once its orders settle', async () => {
    let keyRefused = false;
    const { h } = await started({
      wrapExchange: (paper) =>
        withOverrides(paper, {
          fetchBalance: (() =>
            keyRefused
              ? Promise.reject(new AuthenticationError('invalid API key', { exchange: 'paper' }))
              : paper.fetchBalance()) as never,
        }),
    });
    const [a] = await twoRestingEntries(h);
    await unsettled(h, a);
    keyRefused = true;
    await h.loop.tick(); // the key refused: only the operator can say it is fixed
    expect(pauseSummary(h.loop.pause!)).to.match(/no longer shows order .*; account: invalid API key$/);
    keyRefused = false;
    await h.orders.canceller.cancel(a);
    for (let i = 0; i < 3; i++) {
      await h.nextCandle();
      await h.loop.tick();
    }
    expect(h.loop.loopState).to.equal('paused');
    expect(h.eventTypes()).to.not.include('trading.resumed');
    // the settled order's cause dropped, the key's holds
    expect(pauseSummary(h.loop.pause!)).to.equal('account: invalid API key');
    await h.loop.resumeEntries('operator');
    expect(h.loop.pause).to.equal(null);
  });

  it('puts back the pause of a kill switch saved without it (the disk failed between the two commits)', async () => {
    const { h } = await started();
    const killSwitch = { kind: 'max-drawdown' as const, reason: 'drawdown 12% ≥ 10%', at: h.clock.now() };
    await h.files.store.commit((d) => {
      d.risk = { ...d.risk, killSwitch };
      d.pause = null;
    });
    await h.loop.tick();
    expect(h.loop.pause).to.include({ by: 'risk', reason: 'kill switch: drawdown 12% ≥ 10%' });
    expect(h.loop.loopState).to.equal('paused');
    await h.loop.tick();
    expect(
      h.eventTypes().filter((t) => t === 'trading.paused'),
      'paused once',
    ).to.have.length(1);
  });

  it('keeps the pause when the kill switch clears while an order it waits on is still unsettled', async () => {
    const { h } = await started();
    const [a] = await twoRestingEntries(h);
    await h.loop.pauseEntries('kill switch: daily loss', 'risk');
    await unsettled(h, a);
    await h.loop.resumeEntries('risk'); // the kill switch cleared (none set in the state)
    expect(h.loop.pause).to.include({ by: 'operational', clientOrderId: a });
    await h.orders.canceller.cancel(a);
    await h.loop.tick();
    expect(h.loop.pause).to.equal(null);
  });

  it('raises exchange.unreachable once the outage outlasts the threshold, and exchange.recovered after', async () => {
    let down = true;
    const { h } = await started({
      config: { ...NO_SLTP, trading: { ...NO_SLTP.trading, unreachableAlertMs: 30_000 } },
      wrapExchange: (paper) =>
        withOverrides(paper, {
          fetchCandles: ((symbol: string, tf: string, limit: number) =>
            down
              ? Promise.reject(new NetworkError('ECONNRESET'))
              : paper.fetchCandles(symbol, tf, limit)) as never,
        }),
    });
    const clock = h.fakeClock();
    await h.loop.tick();
    expect(h.eventTypes()).to.not.include('exchange.unreachable');
    expect(h.loop.snapshot().exchangeReachable).to.equal(false);
    await clock.advance(29_000, 29_000);
    await h.loop.tick();
    expect(h.eventTypes()).to.not.include('exchange.unreachable');
    await clock.advance(1_000, 1_000);
    await h.loop.tick();
    await h.loop.tick();
    expect(h.eventTypes().filter((t) => t === 'exchange.unreachable')).to.have.length(1);
    down = false;
    await h.loop.tick();
    await flush();
    expect(h.eventTypes()).to.include('exchange.recovered');
    expect(h.loop.snapshot().exchangeReachable).to.equal(true);
  });

  /** Trading (300 s refusal cooldown) whose every create fails with `refusal()`, after one entry signal's tick. */
  async function refusingCreates(refusal: () => Error): Promise<{ h: EngineHarness; creates: () => number }> {
    let creates = 0;
    const { h, strategy } = await started({
      config: { trading: { ...NO_SLTP.trading, orders: { rejectCooldownMs: 300_000 } } },
      wrapExchange: (paper) =>
        withOverrides(paper, {
          createOrder: (() => {
            creates++;
            return Promise.reject(refusal());
          }) as never,
        }),
    });
    strategy.next = ENTER;
    await h.loop.tick();
    return { h, creates: () => creates };
  }

  /** Three ticks, each after new candles closed (the strategy would say buy again). */
  async function threeCandleTicks(h: EngineHarness): Promise<void> {
    for (let i = 0; i < 3; i++) {
      await h.fakeClock().advance(99_000, 99_000);
      await h.loop.tick();
    }
  }

  it('does not re-send an order the exchange refused until the cooldown has passed', async () => {
    const { h, creates } = await refusingCreates(
      () => new InvalidOrderError('LOT_SIZE', { symbol: 'BTC/USDT' }),
    );
    expect(h.orderBook.order('bot-tst000-1')).to.include({ status: 'rejected', refused: true });
    await threeCandleTicks(h);
    expect(creates()).to.equal(1);
    await h.fakeClock().advance(3_000, 3_000); // 300 s after the refusal
    await h.loop.tick();
    expect(creates()).to.equal(2);
    expect(h.eventTypes().filter((t) => t === 'order.rejected')).to.have.length(2);
  });

  it('sends again after only the wait it was given a create the rate-limit pacing refused unsent (no refusal cooldown)', async () => {
    const { h, creates } = await refusingCreates(
      () =>
        new RateLimitError(
          "not sent: the exchange's request pacing would hold it past its 1000 ms",
          { gate: 'pacing' },
          { retryAfterMs: 800 },
        ),
    );
    expect(h.orderBook.order('bot-tst000-1')).to.include({
      status: 'rejected',
      refused: true,
      neverSent: true,
    });
    await threeCandleTicks(h);
    // each try waited 800 ms at most, never the 300 s of an exchange's refusal nor a doubled one
    expect(creates()).to.equal(4);
  });

  it('a stop-loss the rate-limit gate held back unsent waits the wait it was given: no less, and no backoff doubling', async () => {
    const pin: { price?: number } = {};
    const waits = [3_000, 500]; // the gate's answers to the first two sells; the third goes through
    let sells = 0;
    const { h, strategy } = await started({
      config: { trading: { risk: { stopLossPct: 0.05, takeProfitPct: 0 } } },
      wrapExchange: (paper) =>
        pinnedTicker(paper, () => pin.price, {
          createOrder: ((req: Parameters<PaperExchange['createOrder']>[0]) => {
            if (req.side !== 'sell') return paper.createOrder(req);
            const retryAfterMs = waits[sells++];
            return retryAfterMs === undefined
              ? paper.createOrder(req)
              : Promise.reject(
                  new RateLimitError(
                    "not sent: the exchange's request pacing would hold it past its 1000 ms",
                    { gate: 'pacing' },
                    { retryAfterMs },
                  ),
                );
          }) as never,
        }),
    });
    const clock = h.fakeClock();
    strategy.next = ENTER;
    await h.loop.tick();
    strategy.next = HOLD;
    const entry = h.orderBook.positions()['BTC/USDT'];
    pin.price = (entry.costBasis / entry.amount) * 0.9; // 10 % down: the 5 % stop-loss fires
    await h.loop.tick();
    expect(sells).to.equal(1);
    expect(h.orderBook.order('bot-tst000-2')).to.include({
      purpose: 'stop-loss',
      refused: true,
      neverSent: true,
    });
    for (let i = 0; i < 2; i++) {
      await clock.advance(1_000, 1_000);
      await h.loop.tick();
    }
    expect(sells, 'not sent again within the 3 s the gate gave').to.equal(1);
    await clock.advance(1_100, 1_100);
    await h.loop.tick();
    expect(sells, 'sent again once they are over').to.equal(2);
    // refused unsent again, alike: 500 ms, not the doubled backoff (4 s) of a second identical refusal
    await clock.advance(1_000, 1_000);
    await h.loop.tick();
    expect(sells).to.equal(3);
    expect(h.orderBook.openPositions()).to.have.length(0);
  });

  it('pauses entries when the exchange refuses an order for insufficient funds', async () => {
    const { h, strategy } = await started({
      wrapExchange: (paper) =>
        withOverrides(paper, {
          createOrder: (() => Promise.reject(new InsufficientFundsError('balance too low', {}))) as never,
        }),
    });
    strategy.next = ENTER;
    await h.loop.tick();
    expect(h.orderBook.order('bot-tst000-1')!.status).to.equal('rejected');
    expect(h.loop.pause).to.include({ by: 'operational' });
    expect(h.eventTypes()).to.include.members(['order.rejected', 'trading.paused']);
  });

  it('skips a symbol whose strategy throws and keeps running', async () => {
    const { h, strategy } = await started();
    strategy.next = new TypeError('division by zero');
    await h.loop.tick();
    expect(h.loop.loopState).to.equal('running');
    expect(h.orderBook.hotOrders()).to.have.length(0);
  });

  it('lets an unknown error out of the tick (the process exits 1)', async () => {
    const { h } = await started({
      wrapExchange: (paper) =>
        withOverrides(paper, { fetchCandles: () => Promise.reject(new TypeError('bug')) }),
    });
    try {
      await h.loop.tick();
      expect.fail('should throw');
    } catch (err) {
      expect(err).to.be.instanceOf(TypeError);
    }
  });

  it('fires the drawdown kill switch: entries paused, risk.triggered, cleared by an operator resume', async () => {
    const { h, strategy } = await started();
    await h.files.store.commit((d) => {
      d.risk.equityPeak = 20_000;
    });
    strategy.next = ENTER;
    await h.loop.tick();
    expect(h.orderBook.hotOrders()).to.have.length(0);
    expect(h.loop.pause).to.include({ by: 'risk' });
    expect(h.files.store.data.risk.killSwitch?.kind).to.equal('max-drawdown');
    const triggered = h.events.find((e) => e.type === 'risk.triggered')!;
    expect(triggered.data).to.include({ rule: 'max-drawdown' });
    await h.loop.resumeEntries('operator');
    await h.nextCandle();
    await h.loop.tick();
    expect(h.loop.pause).to.equal(null);
    expect(h.orderBook.hotOrders()).to.have.length(1);
  });

  it("judges the daily loss on the exchange's day: a loss filled at 23:59:30 there counts while the host says the next day", async () => {
    // the host clock 2 min ahead of the exchange's: host 00:01:40 on Dec 3 is 23:59:40 on Dec 2 on the exchange
    const hostAheadMs = 120_000;
    const clock = new FakeClock(Date.UTC(2026, 11, 3, 0, 1, 40));
    h = await EngineHarness.open({
      clock,
      config: { trading: { risk: { ...NO_SLTP.trading.risk, maxDailyLossPct: 5, maxDrawdownPct: 90 } } },
      wrapExchange: (paper) => withOverrides(paper, { clockOffsetMs: () => hostAheadMs }),
    });
    expect(h.loop.exchangeClock.now()).to.equal(Date.UTC(2026, 11, 2, 23, 59, 40));
    // a round trip that lost 1 000 USDT (10 % of the 10 000 account), its sell filled at 23:59:30 exchange time
    const fill = (side: 'buy' | 'sell', price: number, timestamp: number): Fill => ({
      orderId: `o-${side}`,
      clientOrderId: `c-${side}`,
      tradeId: `t-${side}`,
      symbol: 'BTC/USDT',
      side,
      amount: 1,
      price,
      feeCost: 0,
      feeCurrency: 'USDT',
      timestamp,
    });
    const bought = applyFill(emptyBook('BTC/USDT'), fill('buy', 30_000, Date.UTC(2026, 11, 2, 23, 0)));
    const book = applyFill(bought, fill('sell', 29_000, Date.UTC(2026, 11, 2, 23, 59, 30)));
    expect(book.realizedByDay).to.deep.equal({ '2026-12-02': -1_000 });
    await h.files.store.commit((d) => {
      d.checkpoint['BTC/USDT'] = book;
    });
    await h.loop.recover({ kind: 'first-start' });
    h.loop.enterRunning();
    await h.loop.tick();
    expect(h.files.store.data.risk).to.deep.include({ day: '2026-12-02' });
    expect(h.files.store.data.risk.killSwitch?.kind).to.equal('daily-loss');
    expect(h.loop.pause).to.include({ by: 'risk' });
    // the operator's resume holds for the rest of that day, the exchange's: the loss does not fire it again
    await h.loop.resumeEntries('operator');
    expect(h.files.store.data.risk.dailyLossOverrideDay).to.equal('2026-12-02');
    await h.loop.tick();
    expect(h.loop.pause).to.equal(null);
  });

  it('takes no kill switch from a balance that holds fills the bot has not synced yet', async () => {
    // A resting buy that fills between two ticks: the next balance read has the quote spent, while the bought
    // coins become a position only when the symbol's lane syncs the fill, after the account. Equity read from
    // those two alone dips by the fill's worth (25 % here) and fired the 10 % drawdown kill switch.
    const { h } = await started({ config: TEN_PCT_DRAWDOWN_ON_20K });
    await h.loop.tick();
    expect(h.files.store.data.risk.equityPeak).to.equal(20_000);
    const buy = await placeSliced(h, 'buy', 1.2); // ~14 000 USDT above the market
    const filledBefore = h.orderBook.order(buy)!.filled;
    await pastNextPeriod(h);
    await h.loop.tick();
    expect(h.orderBook.order(buy)!.filled).to.be.greaterThan(filledBefore);
    expect(h.files.store.data.risk.killSwitch).to.equal(null);
    expect(h.loop.pause).to.equal(null);
    expect(h.eventTypes()).not.to.include('risk.triggered');
  });

  it('raises no equity peak from a balance that holds the proceeds of a sell the bot has not synced yet', async () => {
    // the other side: a sell filled since the last tick puts its proceeds in the balance while the position still
    // counts the coins, so equity reads too high by the fill's worth; a peak raised on that is a kill switch later
    const { h } = await started({ config: TEN_PCT_DRAWDOWN_ON_20K });
    await h.manager.place({ ...MARKET_BUY, amount: 0.2 });
    await h.loop.tick();
    const peak = h.files.store.data.risk.equityPeak;
    expect(peak).to.be.within(19_000, 20_000);
    const sell = await placeSliced(h, 'sell', 0.8); // below the market
    const filledBefore = h.orderBook.order(sell)!.filled;
    await pastNextPeriod(h);
    await h.loop.tick();
    expect(h.orderBook.order(sell)!.filled).to.be.greaterThan(filledBefore);
    expect(h.files.store.data.risk.equityPeak).to.be.below(peak * 1.05);
    await h.nextCandle();
    await h.loop.tick();
    expect(h.files.store.data.risk.killSwitch).to.equal(null);
    expect(h.eventTypes()).not.to.include('risk.triggered');
  });

  it('trading.risk.capital turned on, then off, across restarts: the peak and the day begin again, no kill switch', async () => {
    // the account's 20,000 as the peak on file; judged on the bot's 2,000 it would be a 90 % "drawdown"
    const { h: first } = await started({ config: TEN_PCT_DRAWDOWN_ON_20K });
    await first.loop.tick();
    expect(first.files.store.data.risk.equityPeak).to.equal(20_000);
    const withCapital = {
      trading: {
        ...TEN_PCT_DRAWDOWN_ON_20K.trading,
        risk: { ...TEN_PCT_DRAWDOWN_ON_20K.trading.risk, capital: 2_000 },
      },
    };
    const log = captureLogger();
    const second = await first.restart({ config: withCapital, logger: log.logger });
    h = second;
    await second.loop.recover({ kind: 'clean', at: 1 });
    second.loop.enterRunning();
    await second.loop.tick();
    expect(second.files.store.data.risk).to.include({
      equityPeak: 2_000,
      dayStartEquity: 2_000,
      capital: 2_000,
    });
    expect(second.files.store.data.risk.killSwitch).to.equal(null);
    // said in the log, once: what was judged, what is now, and the new bases
    const said = () => log.lines.filter((l) => l.message.startsWith('Risk limits now judge another equity'));
    expect(said()).to.have.length(1);
    expect(said()[0]).to.include({
      level: 'warn',
      was: 'account equity',
      now: 'bot capital 2000 + its PnL',
      previousPeak: 20_000,
      equityPeak: 2_000,
    });
    await second.loop.tick();
    expect(said()).to.have.length(1);
    // off again: the account's equity, from this reading
    const third = await second.restart({ config: TEN_PCT_DRAWDOWN_ON_20K });
    h = third;
    await third.loop.recover({ kind: 'clean', at: 2 });
    third.loop.enterRunning();
    await third.loop.tick();
    expect(third.files.store.data.risk).to.include({ equityPeak: 20_000, dayStartEquity: 20_000 });
    expect(third.files.store.data.risk).not.to.have.property('capital');
    expect(third.files.store.data.risk.killSwitch).to.equal(null);
    expect(third.eventTypes()).not.to.include('risk.triggered');
    expect(third.loop.pause).to.equal(null);
  });

  it('raises no equity peak after a restart from positions no price was read for yet (valued at entry)', async () => {
    // review 27: the start's reading values a position at its entry price until the first tick reads one; under
    // water, that reads too high, and a peak raised on it fires a false drawdown kill switch once the price is read
    const { h: first } = await started({ config: TEN_PCT_DRAWDOWN_ON_20K });
    await first.manager.place({ ...MARKET_BUY, amount: 0.2 });
    await first.loop.tick();
    const cash = (await first.paper.fetchBalance()).USDT!.total;
    // a low peak on file: any reading raises it
    await first.files.store.commit((d) => {
      d.risk.equityPeak = 1_000;
    });
    h = await first.restart();
    await h.loop.recover({ kind: 'clean', at: 1 });
    expect(h.files.store.data.risk.equityPeak, 'the cash only: the position has no price yet').to.be.closeTo(
      cash,
      1e-6,
    );
    h.loop.enterRunning();
    await h.loop.tick();
    await h.loop.tick();
    const priced = cash + 0.2 * (await h.paper.fetchTicker('BTC/USDT')).last;
    expect(h.files.store.data.risk.equityPeak, 'raised once its price is read').to.be.closeTo(
      priced,
      priced * 0.02,
    );
  });

  it('raises no equity peak while the lookups of a sell in flight fail, and a true one once it is synced', async () => {
    let lookupsFail = false;
    const { h } = await startedFailing({ lookup: () => lookupsFail });
    await h.manager.place({ ...MARKET_BUY, amount: 0.2 });
    await h.loop.tick();
    const peak = h.files.store.data.risk.equityPeak;
    const sell = await placeSliced(h, 'sell', 0.8);
    lookupsFail = true;
    await h.nextCandle();
    await h.loop.tick();
    expect(h.files.store.data.risk.equityPeak).to.equal(peak);
    lookupsFail = false;
    await h.nextCandle();
    await h.loop.tick();
    expect(h.orderBook.order(sell)!.filled).to.be.greaterThan(0);
    expect(h.files.store.data.risk.equityPeak).to.be.below(peak * 1.05);
    expect(h.files.store.data.risk.killSwitch).to.equal(null);
  });

  describe('a drawdown reading that cannot be settled still fires the kill switch (pausing is the safe side)', () => {
    for (const failing of ['fetchOrder', 'fetchBalance'] as const) {
      it(`when the orders in flight are synced but ${failing === 'fetchOrder' ? 'their lookups fail' : 'the balance read after them fails'}`, async () => {
        let armed = false;
        let balanceReads = 0;
        const { h } = await startedFailing({
          lookup: () => armed && failing === 'fetchOrder',
          balance: () => armed && failing === 'fetchBalance' && ++balanceReads === 2,
        });
        await h.loop.tick();
        await placeSliced(h, 'buy', 1.2);
        await pastNextPeriod(h);
        armed = true;
        await h.loop.tick();
        expect(h.files.store.data.risk.killSwitch?.kind).to.equal('max-drawdown');
        expect(h.loop.pause).to.include({ by: 'risk' });
      });
    }
  });

  it("an operator's resume during the account read is not undone by that read's update", async () => {
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    let holding = false;
    let paperRef: PaperExchange | undefined;
    const { h } = await started({
      wrapExchange: (paper) => {
        paperRef = paper;
        return withOverrides(paper, {
          fetchBalance: (async () => {
            if (holding) await hold;
            return paperRef!.fetchBalance();
          }) as never,
        });
      },
    });
    await h.files.store.commit((d) => {
      d.risk.equityPeak = 20_000;
    });
    await h.loop.tick();
    expect(h.files.store.data.risk.killSwitch?.kind).to.equal('max-drawdown');
    const clock = h.fakeClock();
    await clock.advance(86_400_000 - (clock.now() % 86_400_000) - 1_000, 60_000); // 1 s before midnight (UTC)
    holding = true;
    const tick = h.loop.tick();
    await flush();
    await h.loop.resumeEntries('operator');
    expect(h.files.store.data.risk.killSwitch).to.equal(null);
    // the read held across midnight (within its deadline): its update starts a new day, which is written
    await clock.advance(2_000, 1_000);
    release();
    await tick;
    expect(h.files.store.data.risk.day).to.equal(new Date(h.clock.now()).toISOString().slice(0, 10));
    expect(h.files.store.data.risk.killSwitch, 'the kill switch the operator ended').to.equal(null);
    expect(h.loop.pause).to.equal(null);
  });

  it('sells a position at market when the stop-loss or take-profit is hit', async () => {
    const { h, strategy } = await started({
      config: { trading: { risk: { stopLossPct: 0.001, takeProfitPct: 0.001 } } },
    });
    strategy.next = ENTER;
    await h.loop.tick();
    strategy.next = HOLD;
    for (let i = 0; i < 20 && h.orderBook.openPositions().length > 0; i++) {
      await h.fakeClock().advance(60, 60);
      await h.loop.tick();
    }
    const exit = h.orderBook.order('bot-tst000-2')!;
    expect(['stop-loss', 'take-profit']).to.include(exit.purpose);
    expect(exit).to.include({ side: 'sell', type: 'market', status: 'filled' });
    expect(h.events.find((e) => e.type === 'risk.triggered')!.data.rule).to.equal(exit.purpose);
  });

  it('cancels a limit order that has not filled after its time to live, and every open order on request', async () => {
    const { h } = await started({
      config: { trading: { ...NO_SLTP.trading, orders: { limitOrderTtlMs: 60_000 } } },
    });
    const clock = h.fakeClock();
    const price = (await h.paper.fetchTicker('BTC/USDT')).last;
    const far = {
      symbol: 'BTC/USDT',
      side: 'buy' as const,
      type: 'limit' as const,
      amount: 0.001,
      purpose: 'entry' as const,
    };
    await h.manager.place({ ...far, price: Math.round(price / 2) });
    await h.loop.tick();
    expect(h.orderBook.order('bot-tst000-1')!.status).to.equal('open');
    await clock.advance(59_000, 59_000);
    await h.loop.tick();
    expect(h.orderBook.order('bot-tst000-1')!.status).to.equal('open');
    await clock.advance(2_000, 2_000);
    await h.loop.tick();
    expect(h.orderBook.order('bot-tst000-1')!.status).to.equal('cancelled');
    expect(h.eventTypes()).to.include('order.cancelled');
    await h.manager.place({ ...far, symbol: 'BTC/USDT', price: Math.round(price / 3) });
    expect(await h.loop.cancelOpenOrders()).to.deep.equal(['bot-tst000-2']);
    expect(Object.values(h.paperFile().orders).every((o) => o.status === 'canceled')).to.equal(true);
  });

  it('follows a large limit order through partial fills: events, fills and position agree with the exchange', async () => {
    // worth ~14 000 USDT against the 5 000 partial-fill cap: filled in slices, one per candle
    const { h } = await started({
      config: {
        ...NO_SLTP,
        trading: { ...NO_SLTP.trading, paper: { candleMs: 100, startingBalances: { USDT: 100_000 } } },
      },
    });
    const price = (await h.paper.fetchTicker('BTC/USDT')).last;
    const order = await h.manager.place({
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'limit',
      amount: 0.2,
      price: Math.round(price * 1.2),
      purpose: 'entry',
    });
    expect(order.status).to.be.oneOf(['open', 'partially_filled']);
    for (let i = 0; i < 40 && h.orderBook.order('bot-tst000-1')!.status !== 'filled'; i++) {
      await h.nextCandle();
      await h.orders.refresher.refresh('bot-tst000-1');
    }
    const done = h.orderBook.order('bot-tst000-1')!;
    expect(done.status).to.equal('filled');
    expect(done.fills.length).to.be.greaterThan(1);
    expect(done.fills.reduce((s, f) => s + f.amount, 0)).to.be.closeTo(0.2, 1e-12);
    expect(h.eventTypes()).to.include('order.partially_filled');
    expect(h.eventTypes().filter((t) => t === 'position.opened')).to.have.length(1);
    expect(h.orderBook.positions()['BTC/USDT'].amount).to.be.closeTo(h.paperFile().balances.BTC.free, 1e-12);
  });

  it('places no second entry while the exchange has not listed the trades of a filled order yet', async () => {
    // the exchange answers "filled" at once but its trade list lags (an ordinary replica delay): until the
    // fills arrive the position looks flat, and buying again on that would double it
    let lagging = true;
    let paperRef: PaperExchange | undefined;
    const { h, strategy } = await started({
      wrapExchange: (paper) => {
        paperRef = paper;
        return withOverrides(paper, {
          createOrder: (async (req: never) => ({
            ...(await paperRef!.createOrder(req)),
            trades: undefined,
          })) as never,
          fetchOrderTrades: (async (id: string, symbol: string) =>
            lagging ? [] : paperRef!.fetchOrderTrades(id, symbol)) as never,
        });
      },
    });
    strategy.next = ENTER;
    await h.loop.tick();
    expect(h.orderBook.order('bot-tst000-1')).to.include({ status: 'filled', side: 'buy' });
    expect(h.orderBook.order('bot-tst000-1')!.fills).to.have.length(0);
    await h.nextCandle(); // a new candle closes: the strategy says buy again
    await h.loop.tick();
    expect(h.orderBook.hotOrders().map((o) => o.clientOrderId)).to.deep.equal(['bot-tst000-1']);
    lagging = false;
    await h.nextCandle();
    await h.loop.tick();
    expect(h.orderBook.hotOrders().map((o) => o.clientOrderId)).to.deep.equal(['bot-tst000-1']);
    expect(h.orderBook.positions()['BTC/USDT'].amount).to.equal(h.paperFile().balances.BTC.free);
    expect(Object.values(h.paperFile().orders)).to.have.length(1);
  });

  describe('lanes: no order is looked up twice at once, and a hung lookup holds no tick', () => {
    const DAY = 24 * 60 * 60 * 1000;
    const ONE_S_READS = { trading: { ...NO_SLTP.trading, symbolReadTimeoutMs: 1_000 } };

    /** Order lookups through a gate the test holds, with how many run at once for each order. */
    function lookups(): {
      wrap: <T>(id: string, call: () => Promise<T>) => Promise<T>;
      hold: () => void;
      release: () => void;
      started: Map<string, number>;
      mostAtOnce: () => number;
    } {
      let gate: Promise<void> | null = null;
      let open: () => void = () => {};
      const running = new Map<string, number>();
      const started = new Map<string, number>();
      let most = 0;
      return {
        async wrap(id, call) {
          started.set(id, (started.get(id) ?? 0) + 1);
          running.set(id, (running.get(id) ?? 0) + 1);
          most = Math.max(most, running.get(id)!);
          try {
            if (gate) await gate;
            return await call();
          } finally {
            running.set(id, running.get(id)! - 1);
          }
        },
        hold: () => {
          gate = new Promise<void>((r) => (open = r));
        },
        release: () => {
          gate = null;
          open();
        },
        started,
        mostAtOnce: () => most,
      };
    }

    /**
     * A tick while the fake clock moves `ms` on (the tick's real file writes given real time too): whether it
     * returned meanwhile.
     */
    async function tickWithin(h: EngineHarness, ms: number): Promise<boolean> {
      let returned = false;
      const ticking = h.loop.tick().then(() => (returned = true));
      for (let moved = 0; moved < ms && !returned; moved += 100) {
        await h.fakeClock().advance(100, 100);
        await new Promise((r) => setTimeout(r, 2));
      }
      for (let i = 0; i < 40 && !returned; i++) await new Promise((r) => setTimeout(r, 5));
      if (returned) await ticking;
      return returned;
    }

    it("the account's settle skips a symbol whose lane is still looking up its order (the reading stands)", async () => {
      const spy = lookups();
      const midnight = (Math.floor(FAKE_CLOCK_START / DAY) + 1) * DAY;
      const { h } = await started({
        config: ONE_S_READS,
        clock: new FakeClock(midnight - 4_000),
        wrapExchange: (paper) =>
          withOverrides(paper, {
            fetchOrder: ((id: string, symbol: string) =>
              spy.wrap(id, () => paper.fetchOrder(id, symbol))) as never,
          }),
      });
      await h.loop.tick();
      const buy = await placeSliced(h, 'buy', 0.5); // rests far below the market: an order in flight
      const exchangeId = h.orderBook.order(buy)!.exchangeOrderId!;
      spy.hold();
      expect(
        await tickWithin(h, 2_000),
        'the tick waits for the hung lane at most the read deadline',
      ).to.equal(true);
      expect(spy.started.get(exchangeId)).to.equal(1);
      // a new UTC day with an order in flight: the account asks for a settled reading
      const clock = h.fakeClock();
      await clock.advance(midnight + 500 - clock.now(), 100);
      expect(await tickWithin(h, 2_000), 'the tick does not wait for the busy symbol').to.equal(true);
      expect(spy.mostAtOnce(), 'one lookup of the order at a time').to.equal(1);
      expect(spy.started.get(exchangeId), 'the settle left the busy order to its lane').to.equal(1);
      expect(h.files.store.data.risk.day, 'the first reading stands: the new day starts').to.equal(
        new Date(clock.now()).toISOString().slice(0, 10),
      );
      spy.release();
      expect(await tickWithin(h, 2_000)).to.equal(true);
      expect(await tickWithin(h, 2_000)).to.equal(true);
      expect(spy.started.get(exchangeId), 'synced again once its lane is free').to.be.greaterThan(1);
      expect(spy.mostAtOnce()).to.equal(1);
    });

    it('a hung never-placed recheck holds no tick and never runs twice at once', async () => {
      const spy = lookups();
      let createLost = true;
      const { h, strategy } = await started({
        config: ONE_S_READS,
        wrapExchange: (paper) =>
          withOverrides(paper, {
            // the first create never reaches the exchange: unknown, then declared never placed
            createOrder: ((request: Parameters<Exchange['createOrder']>[0]) => {
              if (!createLost) return paper.createOrder(request);
              createLost = false;
              return Promise.reject(new NetworkError('connection reset before the exchange', {}));
            }) as never,
            fetchOrderByClientId: ((id: string, symbol: string) =>
              spy.wrap(id, () => paper.fetchOrderByClientId(id, symbol))) as never,
          }),
      });
      strategy.next = ENTER;
      await h.loop.tick();
      strategy.next = HOLD;
      const id = 'bot-tst000-1';
      expect(h.orderBook.order(id)!.status).to.be.oneOf(['unknown', 'rejected']);
      for (let i = 0; i < 20 && h.orderBook.order(id)!.status !== 'rejected'; i++) {
        expect(await tickWithin(h, 2_000)).to.equal(true);
      }
      expect(h.orderBook.order(id)).to.include({ status: 'rejected' });
      expect(h.orderBook.order(id)!.exchangeOrderId).to.equal(undefined);
      const before = spy.started.get(id) ?? 0;
      spy.hold();
      // the recheck comes due (the unknown-order window after the verdict) and its lookup hangs
      for (let i = 0; i < 5 && (spy.started.get(id) ?? 0) === before; i++) {
        expect(await tickWithin(h, 2_000), 'the tick does not wait for the hung recheck').to.equal(true);
      }
      expect(spy.started.get(id), 'the recheck looked the order up').to.equal(before + 1);
      for (let i = 0; i < 3; i++) {
        expect(await tickWithin(h, 2_000), 'the tick does not wait for the hung recheck').to.equal(true);
      }
      expect(spy.started.get(id), 'no second recheck while the first hangs').to.equal(before + 1);
      expect(spy.mostAtOnce()).to.equal(1);
      spy.release();
      for (let i = 0; i < 10 && (spy.started.get(id) ?? 0) === before + 1; i++) {
        expect(await tickWithin(h, 5_000)).to.equal(true);
      }
      expect(spy.started.get(id), 'rechecked again once the first answered').to.be.greaterThan(before + 1);
      expect(spy.mostAtOnce()).to.equal(1);
    });
  });

  it('on stop, stops waiting for a hung tick once orders.inFlightWaitMs has passed on the loop clock', async () => {
    let release!: () => void;
    const hung = new Promise<void>((r) => (release = r));
    const wait = 600_000;
    const { h } = await started({
      config: {
        trading: {
          ...NO_SLTP.trading,
          symbolReadTimeoutMs: 10 * wait,
          orders: { inFlightWaitMs: wait },
        },
      },
      wrapExchange: (paper) =>
        withOverrides(paper, {
          fetchTicker: (async (symbol: never) => {
            await hung;
            return paper.fetchTicker(symbol);
          }) as never,
        }),
    });
    const clock = h.fakeClock();
    const ticking = h.loop.tick();
    await flush();
    let stopped = false;
    const stopping = h.loop.stop().then(() => {
      stopped = true;
    });
    await flush(); // stop has armed its deadline
    await clock.advance(wait - 1_000, 100_000);
    expect(stopped).to.equal(false);
    await clock.advance(2_000, 1_000);
    await stopping; // on a real timer this would wait 10 minutes
    expect(h.loop.loopState).to.equal('stopping');
    release();
    await ticking;
  });

  it('on stop, refuses new orders and waits for the create in flight to finish', async () => {
    let paperRef: PaperExchange | undefined;
    let sent!: () => void;
    const createSent = new Promise<void>((r) => (sent = r));
    const { h } = await started({
      wrapExchange: (paper) => {
        paperRef = paper;
        return withOverrides(paper, {
          createOrder: (async (req: never) => {
            sent();
            await h.clock.sleep(200); // the create takes 200 ms on the exchange
            return paperRef!.createOrder(req);
          }) as never,
        });
      },
    });
    const placing = h.manager.place(MARKET_BUY);
    await createSent;
    let stopped = false;
    const stopping = h.loop.stop().then(() => {
      stopped = true;
    });
    await flush();
    expect(stopped).to.equal(false); // the create is still in flight
    await h.fakeClock().advance(200, 200);
    await stopping;
    expect(h.loop.loopState).to.equal('stopping');
    expect(h.orderBook.order('bot-tst000-1')!.status).to.equal('filled');
    expect(h.stateFile().orders['bot-tst000-1'].status).to.equal('filled');
    await placing;
    try {
      await h.manager.place(MARKET_BUY);
      expect.fail('should refuse');
    } catch (err) {
      expect((err as Error).message).to.match(/stopping/);
    }
  });
});

describe('closedCandles', () => {
  const c = (t: number): Candle => [t, 1, 1, 1, 1, 1];
  it('drops the newest candle while its period is still running', () => {
    expect(closedCandles([c(0), c(100), c(200)], 250)).to.have.length(2);
    expect(closedCandles([c(0), c(100), c(200)], 300)).to.have.length(3);
  });

  // Binance `1M` and Bybit `M` candles open on the 1st of each UTC month: 28 to 31 days long. The period read off the
  // candles is the shortest step (February's 28 days), so the 31-day month still forming looked finished from its
  // 29th: the strategy decided on it, and the finished month was then skipped as seen (review 45).
  const month = (y: number, m: number): Candle => c(Date.UTC(y, m, 1));
  const months = [month(2026, 0), month(2026, 1), month(2026, 2), month(2026, 3), month(2026, 4)];
  it('keeps a calendar month candle forming until the month ends', () => {
    expect(closedCandles(months, Date.UTC(2026, 4, 30)), 'May 30: May still forming').to.have.length(4);
    expect(closedCandles(months, Date.UTC(2026, 5, 1))).to.have.length(5);
    expect(candleEnd(Date.UTC(2026, 4, 1), 28 * 86_400_000)).to.equal(Date.UTC(2026, 5, 1));
    expect(candleEnd(Date.UTC(2026, 11, 1), 28 * 86_400_000)).to.equal(Date.UTC(2027, 0, 1));
    // a week, a day: their fixed length
    expect(candleEnd(Date.UTC(2026, 4, 4), 7 * 86_400_000)).to.equal(Date.UTC(2026, 4, 11));
  });
  // OKX `3M` (ccxt sends `3Mutc`): quarter candles opening on the 1st of January, April, July and October, 90 to 92
  // days apart. Taken as month candles, the quarter still forming looked finished a month after it opened.
  const quarters = [month(2026, 0), month(2026, 3), month(2026, 6), month(2026, 9), month(2027, 0)];
  it('keeps a quarter candle (OKX 3M) forming until the quarter ends', () => {
    expect(
      closedCandles(quarters, Date.UTC(2027, 1, 15)),
      'mid-February: the quarter still forming',
    ).to.have.length(4);
    expect(closedCandles(quarters, Date.UTC(2027, 3, 1))).to.have.length(5);
    expect(candleEnd(Date.UTC(2026, 9, 1), candlePeriod(quarters))).to.equal(Date.UTC(2027, 0, 1));
    expect(
      newCandleCount(quarters.slice(0, 4), candleEnd(Date.UTC(2026, 3, 1), candlePeriod(quarters))),
    ).to.equal(2);
  });
  it('counts a finished month once: new when it ends, seen after', () => {
    const seenApril = candleEnd(Date.UTC(2026, 3, 1), 28 * 86_400_000);
    expect(newCandleCount(months, seenApril), 'May, finished').to.equal(1);
    expect(newCandleCount(months, candleEnd(Date.UTC(2026, 4, 1), 28 * 86_400_000))).to.equal(0);
  });
});

describe('candlesSince', () => {
  const c = (t: number): Candle => [t, 1, 1, 1, 1, 1];
  const closed = [c(0), c(100), c(200), c(300)];
  it('spans the candle that was the newest closed one at the time, and every later one', () => {
    expect(candlesSince(closed, 250)).to.equal(3);
    expect(candlesSince(closed, 200)).to.equal(3);
    expect(candlesSince(closed, 199)).to.equal(4);
    expect(candlesSince(closed, 400)).to.equal(1);
  });
  it('spans them all when the time is before the oldest closed', () => {
    expect(candlesSince(closed, 50)).to.equal(4);
    expect(candlesSince([c(0)], 500)).to.equal(1);
  });
});
