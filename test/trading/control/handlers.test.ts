import { expect } from 'chai';
import { IpcError } from '../../../src/shared/errors';
import {
  RpcErrorCode,
  type RpcMethod,
  type RpcParams,
  type RpcResult,
} from '../../../src/shared/ipc/protocol';
import { registerControlHandlers } from '../../../src/trading/control/handlers';
import { formatPositions, plainMarkup } from '../../../src/ops/render';
import { HOLD } from '../../../src/trading/strategy/strategy';
import { emptyBook } from '../../../src/trading/engine/books/pnl';
import { EngineHarness, ScriptedStrategy, type HarnessOptions } from '../../support/engine-harness';
import { FakeClock } from '../../support/fake-clock';
import { closeAfterEach } from '../../support/close-after-each';
import { withOverrides } from '../../support/exchange-overrides';
import { filledOrder } from '../../support/trading-stub';

type AnyHandler = (params: unknown) => unknown;

/** Captures the handlers; calls them as the IPC server would after validating params. */
class Registry {
  readonly handlers = new Map<string, AnyHandler>();
  handle<M extends RpcMethod>(
    method: M,
    fn: (params: RpcParams<M>) => Promise<RpcResult<M>> | RpcResult<M>,
  ): void {
    this.handlers.set(method, fn as AnyHandler);
  }
  async call<M extends RpcMethod>(method: M, params: RpcParams<M>): Promise<RpcResult<M>> {
    return (await this.handlers.get(method)!(params)) as RpcResult<M>;
  }
}

describe('control handlers over the real engine', function () {
  this.timeout(20_000);
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h]);

  async function setup(recover = true, opts: Pick<HarnessOptions, 'clock' | 'wrapExchange' | 'config'> = {}) {
    const strategy = new ScriptedStrategy();
    h = await EngineHarness.open({
      strategy,
      recentFinalKept: 1,
      config: { trading: { symbols: ['BTC/USDT', 'ETH/USDT'], risk: { stopLossPct: 0, takeProfitPct: 0 } } },
      ...opts,
    });
    const rpc = new Registry();
    registerControlHandlers(rpc, {
      loop: h.loop,
      orderBook: h.orderBook,
      exchange: h.exchange,
      config: h.config,
      lastExit: { kind: 'clean', at: 1 },
      startedAt: 123,
      version: '9.9.9',
      lastEventSeq: () => h!.eventLog.lastSeq,
      history: h.files.history,
      pageBytes: 300,
      clock: h.clock,
    });
    if (recover) {
      await h.loop.recover({ kind: 'clean', at: 1 });
      h.loop.enterRunning();
    }
    return { h, rpc, strategy };
  }

  it('refuses order-changing requests with NotReady until recovery has finished, but answers ping', async () => {
    const { rpc } = await setup(false);
    expect((await rpc.call('ping', {})).loopState).to.equal('starting');
    for (const method of ['closeAll', 'pause', 'reconcile', 'settleOrder'] as const) {
      try {
        await rpc.call(method, {} as never);
        expect.fail(`${method} should be refused`);
      } catch (err) {
        expect(err).to.be.instanceOf(IpcError);
        expect((err as IpcError).code).to.equal(RpcErrorCode.NotReady);
      }
    }
  });

  it("says today's PnL for the exchange's day and every cause of a pause", async () => {
    // the host 2 min ahead of the exchange: host 00:01:40 on Dec 3 is 23:59:40 on Dec 2 there
    const { h, rpc } = await setup(true, {
      clock: new FakeClock(Date.UTC(2026, 11, 3, 0, 1, 40)),
      wrapExchange: (paper) => withOverrides(paper, { clockOffsetMs: () => 120_000 }),
    });
    await h.files.store.commit((d) => {
      d.checkpoint['ETH/USDT'] = { ...emptyBook('ETH/USDT'), realizedByDay: { '2026-12-02': -12.5 } };
    });
    expect((await rpc.call('status', {})).pnlToday).to.equal(-12.5);
    await h.loop.pauseEntries('kill switch: daily loss', 'risk');
    await rpc.call('pause', { reason: 'checking the key' });
    const status = await rpc.call('status', {});
    expect(status.pausedReason).to.equal('kill switch: daily loss; checking the key');
  });

  it('lists the traded symbols told stale, never one no longer traded (nothing would tell it fresh)', async () => {
    const { h, rpc } = await setup();
    await h.files.store.commit((d) => {
      d.announcedStale = {
        'ETH/USDT': { since: 1, reason: 'ticker 6 min old' },
        'XRP/USDT': { since: 1, reason: 'ticker 9 min old' },
      };
    });
    expect((await rpc.call('status', {})).staleSymbols).to.deep.equal([
      { symbol: 'ETH/USDT', since: 1, reason: 'ticker 6 min old' },
    ]);
  });

  it("lists an order in question and settles it on the operator's word; figures that do not fit are refused", async () => {
    const { h, rpc } = await setup();
    const now = h.clock.now();
    // an entry declared never placed (its create's outcome unknown, its lookups missing)
    await h.files.store.commit((d) => {
      d.orders['bot-lost'] = {
        clientOrderId: 'bot-lost',
        symbol: 'BTC/USDT',
        side: 'buy',
        type: 'market',
        amount: 0.01,
        filled: 0,
        status: 'rejected',
        purpose: 'entry',
        createdAt: now - 120_000,
        sentAt: now - 120_000,
        // declared never placed just now: no balance read since shows it was not carried out
        updatedAt: now,
        fills: [],
        ownerHeld: 0,
      };
    });
    const listed = await rpc.call('inDoubtOrders', {});
    expect(listed.map((o) => [o.clientOrderId, o.ended, o.endedAt])).to.deep.equal([
      ['bot-lost', 'never-placed', now],
    ]);
    expect((await rpc.call('status', {})).ordersHolding, 'it holds its symbol: /status says so').to.equal(1);
    const refusal = await rpc
      .call('settleOrder', {
        clientOrderId: 'bot-lost',
        outcome: 'carried-out',
        executed: 0.02,
        averagePrice: 1,
      })
      .catch((err: unknown) => err);
    expect(refusal).to.be.instanceOf(IpcError);
    expect((refusal as IpcError).code).to.equal(RpcErrorCode.Refused);
    expect((refusal as IpcError).message).to.include("more than the order's 0.01");
    const done = await rpc.call('settleOrder', {
      clientOrderId: 'bot-lost',
      outcome: 'carried-out',
      executed: 0.01,
      averagePrice: 50_000,
    });
    expect(done.order.status).to.equal('filled');
    expect(done.position).to.be.closeTo(0.01, 1e-12);
    expect(h.eventTypes()).to.include.members(['order.operator_settled', 'position.opened']);
    expect(await rpc.call('inDoubtOrders', {})).to.deep.equal([]);
    expect((await rpc.call('status', {})).ordersHolding).to.equal(undefined);
  });

  it("builds the /pnl report on the exchange's day: a loss filled at 23:59:30 there counts in today with the host already past midnight", async () => {
    // the host 2 min ahead of the exchange: host 00:01:40 on Dec 3 is 23:59:40 on Dec 2 there
    const { h, rpc } = await setup(true, {
      clock: new FakeClock(Date.UTC(2026, 11, 3, 0, 1, 40)),
      wrapExchange: (paper) => withOverrides(paper, { clockOffsetMs: () => 120_000 }),
    });
    const buy = filledOrder('bot-tst000-90', 'ETH/USDT', 'buy', 1, 3_000, Date.UTC(2026, 11, 2, 23, 50));
    const sell = filledOrder(
      'bot-tst000-91',
      'ETH/USDT',
      'sell',
      1,
      2_990,
      Date.UTC(2026, 11, 2, 23, 59, 30),
    );
    await h.files.store.commit((d) => {
      d.orders[buy.clientOrderId] = buy;
      d.orders[sell.clientOrderId] = sell;
    });
    const report = await rpc.call('report', {});
    expect(report.periods.today).to.deep.equal({ realized: -10, trades: 1, wins: 0, fees: 0 });
    expect(report.days!.at(-1)).to.deep.equal({
      day: '2026-12-02',
      realized: -10,
      trades: 1,
      wins: 0,
      fees: 0,
    });
    // its time is the exchange's: the day a reader (the daily summary) takes from it
    expect(report.generatedAt).to.equal(Date.UTC(2026, 11, 2, 23, 59, 40));
  });

  it("with trading.risk.capital, status and report carry the bot's own equity the risk limits judge", async () => {
    const { h, rpc, strategy } = await setup(true, {
      config: {
        trading: {
          symbols: ['BTC/USDT', 'ETH/USDT'],
          risk: { stopLossPct: 0, takeProfitPct: 0, capital: 1_000 },
        },
      },
    });
    strategy.next = { action: 'enter-long', reason: 'test' };
    await h.loop.tick();
    await h.loop.tick();
    const status = await rpc.call('status', {});
    expect(status.equity).to.be.within(9_900, 10_000);
    // the capital plus the bot's PnL, realized and unrealized at the last prices: status's own pnlTotal
    expect(status.riskEquity?.capital).to.equal(1_000);
    expect(status.riskEquity?.equity).to.be.closeTo(1_000 + status.pnlTotal, 0.02);
    const report = await rpc.call('report', {});
    expect(report.riskEquity).to.deep.equal(status.riskEquity);
  });

  it('reports a status whose every field comes from the running engine', async () => {
    const { h, rpc, strategy } = await setup();
    strategy.next = { action: 'enter-long', reason: 'test' };
    await h.loop.tick();
    const status = await rpc.call('status', {});
    expect(status).to.include({
      botId: 'bot',
      mode: 'paper',
      exchange: 'paper',
      loopState: 'running',
      paused: false,
      quoteCurrency: 'USDT',
    });
    expect(status).to.include({
      openPositions: 2,
      openOrders: 0,
      exchangeReachable: true,
      pid: process.pid,
      version: '9.9.9',
      startedAt: 123,
    });
    expect(status.lastExit).to.deep.equal({ kind: 'clean', at: 1 });
    expect(status.equity).to.be.within(9_900, 10_000);
    // trading.risk.capital unset: the limits judge the account's equity, nothing else said
    expect(status).not.to.have.property('riskEquity');
    expect(status.lastTickAgeMs).to.be.a('number').within(0, 5_000);
    expect(status.lastEventSeq).to.equal(h.eventLog.lastSeq).and.greaterThan(0);
    expect(status.pnlToday).to.equal(0);
    const positions = await rpc.call('positions', {});
    // realized plus unrealized at the engine's last prices (no fixed sign: the fast paper market can move more
    // between the price read and the fill than the fees and the spread cost)
    const fromPositions = positions.reduce((s, p) => s + p.realizedPnl + p.unrealizedPnl, 0);
    expect(status.pnlTotal).to.be.closeTo(fromPositions, 0.02);
    expect(status.pnlTotal).to.not.equal(0);
    expect(positions.map((p) => p.symbol).sort()).to.deep.equal(['BTC/USDT', 'ETH/USDT']);
    expect(positions[0].averageEntryPrice).to.be.greaterThan(0);
    const balance = await rpc.call('balance', {});
    expect(balance.currencies.USDT.total).to.be.lessThan(10_000);
    expect(balance.quoteCurrency).to.equal('USDT');
  });

  it("says when an open position's fees are in part an estimate (a fill marked feeEstimated), and not otherwise", async () => {
    const { h, rpc, strategy } = await setup();
    strategy.next = { action: 'enter-long', reason: 'test' };
    await h.loop.tick();
    strategy.next = HOLD;
    const before = await rpc.call('positions', {});
    expect(before.map((p) => p.feesEstimated)).to.deep.equal([undefined, undefined]);
    // the BTC entry's fee valued at a stale price (fee-valuation.ts)
    await h.files.store.commit((d) => {
      const entry = Object.values(d.orders).find((o) => o.symbol === 'BTC/USDT' && o.purpose === 'entry')!;
      entry.fills[0].feeEstimated = true;
    });
    const after = await rpc.call('positions', {});
    expect(after.map((p) => [p.symbol, p.feesEstimated ?? false]).sort()).to.deep.equal([
      ['BTC/USDT', true],
      ['ETH/USDT', false],
    ]);
    expect(formatPositions(after, 'USDT', plainMarkup, Date.now())).to.include(
      '(cost per unit, fees included, a fee estimated)',
    );
  });

  it('closes every position through write-ahead market sells and lists all orders including archived ones', async () => {
    const { h, rpc, strategy } = await setup();
    strategy.next = { action: 'enter-long', reason: 'test' };
    await h.loop.tick();
    strategy.next = HOLD;
    await h.nextCandle(); // the operator's close-all comes later than the entries
    const { orders, cancelled, skipped, paused } = await rpc.call('closeAll', {});
    expect(orders).to.deep.equal(['bot-tst000-3', 'bot-tst000-4']);
    expect({ cancelled, skipped, paused }).to.deep.equal({ cancelled: [], skipped: [], paused: true });
    expect((await rpc.call('status', {})).paused).to.equal(true);
    expect(h.orderBook.openPositions()).to.have.length(0);
    expect(h.orderBook.order('bot-tst000-3')).to.include({
      purpose: 'close-all',
      side: 'sell',
      type: 'market',
      status: 'filled',
    });
    await h.manager.archive();
    expect(h.orderBook.hotOrders()).to.have.length(1);
    // pages of at most ~300 bytes of history: several calls, each order exactly once, archive then hot state
    const all: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await rpc.call('ordersPage', cursor === undefined ? {} : { cursor });
      all.push(...page.orders.map((o) => o.clientOrderId));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor !== undefined);
    expect(pages).to.be.greaterThan(2);
    expect([...all].sort()).to.deep.equal(['bot-tst000-1', 'bot-tst000-2', 'bot-tst000-3', 'bot-tst000-4']);
    expect(await rpc.call('orders', {})).to.deep.equal([]);
    expect(await rpc.call('reconcile', {}))
      .to.have.property('differences')
      .that.deep.equals([]);
  });

  it('pause and resume change the loop and publish events', async () => {
    const { h, rpc } = await setup();
    expect(await rpc.call('pause', { reason: 'lunch' })).to.deep.equal({ paused: true, reason: 'lunch' });
    expect((await rpc.call('status', {})).pausedReason).to.equal('lunch');
    expect(await rpc.call('resume', {})).to.deep.equal({ paused: false });
    expect(h.eventTypes()).to.include.members(['trading.paused', 'trading.resumed']);
  });

  it('reconcile lists an unknown order of ours and a filled amount that differs', async () => {
    const { h, rpc, strategy } = await setup();
    strategy.next = { action: 'enter-long', reason: 'test' };
    await h.loop.tick();
    expect((await rpc.call('reconcile', {})).differences).to.deep.equal([]);
    const price = (await h.paper.fetchTicker('BTC/USDT')).last;
    await h.paper.createOrder({
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'limit',
      amount: 0.001,
      price: Math.round(price / 2),
      clientOrderId: 'bot-tst000-77',
    });
    const hot = h.orderBook.hotOrders()[0].clientOrderId;
    await h.files.store.commit((d) => {
      d.orders[hot].filled = d.orders[hot].filled / 2;
    });
    const { differences } = await rpc.call('reconcile', {});
    expect(differences.map((d) => `${d.kind} ${d.clientOrderId}`).sort()).to.deep.equal([
      `order-filled-differs ${hot}`,
      'order-unknown-locally bot-tst000-77',
    ]);
  });
});
