/**
 * A create answered with a code that does not say it was refused, after the exchange took the order (review 29):
 * Bybit 170035 "Submitted to the system for processing!" (ccxt: BadRequest) and 170032 "Network error. Please try
 * again later" (ccxt: a plain ExchangeError), OKX sCode 51054 "Request timed out" (unknown to ccxt) — all with HTTP
 * 200. Read as refusals, a filled buy was never tracked (no position, no stop-loss; the next entry bought again) and
 * a carried-out stop-loss sell was sold again from the owner's coins. Real ccxt against the exchanges' doubles.
 */
import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { reconcileWithExchange } from '../../../src/trading/engine/start/reconcile';
import { clientOrderIdFor } from '../../../src/trading/engine/state/trading-state';
import type { Signal } from '../../../src/trading/strategy/strategy';
import { HOLD } from '../../../src/trading/strategy/strategy';
import { bybitKit, okxKit } from '../../../harness/exchanges/exchange-kits';
import type { FakeOkx } from '../../../harness/exchanges/fake-okx';
import type { FakeBybit } from '../../../harness/exchanges/fake-bybit';
import type { ExchangeKit, LocalExchangeOptions } from '../../../harness/exchanges/local-exchange';
import { EngineHarness, ScriptedStrategy, TEST_INSTALL_ID, deepMerge } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import { openLiveEngine, tickUntil } from '../../support/live-engine';

const BTC = 'BTC/USDT';
const ENTER: Signal = { action: 'enter-long', reason: 'test says buy' };

/** Bybit's error envelope (HTTP 200) for `retCode`. */
const bybitError = (retCode: number, retMsg: string): unknown => ({
  retCode,
  retMsg,
  result: {},
  retExtInfo: {},
  time: Date.now(),
});

describe('a create answered with a code not known as a refusal, the order taken (real ccxt)', function () {
  this.timeout(60_000);
  let fake: FakeBybit | FakeOkx | undefined;
  let h: EngineHarness | undefined;
  let strategy: ScriptedStrategy;
  closeAfterEach(() => [h, fake]);

  /** A running live engine on `kit`'s double at a still 60 000; the owner holds 1 BTC the bot must never sell. */
  async function live<F extends FakeBybit | FakeOkx>(
    kit: ExchangeKit,
    opts: { fake?: Partial<LocalExchangeOptions>; orders?: Record<string, unknown> } = {},
  ): Promise<{ fake: F; h: EngineHarness }> {
    fake = (await kit.start({ candleMs: 300, balances: { USDT: 10_000, BTC: 1 }, ...opts.fake })) as F;
    strategy = new ScriptedStrategy();
    const orders = { unknownNotFoundMisses: 3, unknownNotFoundWindowMs: 1_000, createTimeoutMs: 800 };
    h = await openLiveEngine(kit, fake.url, {
      config: {
        trading: {
          mode: 'live',
          symbols: [BTC],
          risk: { stopLossPct: 2, takeProfitPct: 0 },
          orders: deepMerge(orders, opts.orders ?? {}),
        },
      },
      strategy,
    });
    await h.loop.recover({ kind: 'first-start' });
    h.loop.enterRunning();
    fake.pinPrice(BTC, 60_000);
    return { fake: fake as F, h };
  }

  /** An entry whose create is answered `body` (HTTP 200) after the exchange took it: looked up, its fill the position. */
  async function entryTracked(kit: ExchangeKit, body: unknown): Promise<void> {
    const { fake: f, h: e } = await live<FakeBybit | FakeOkx>(kit);
    const id1 = clientOrderIdFor('bot', TEST_INSTALL_ID, 1, kit.profile.clientOrderId.separator);
    // each double's fault that takes the order and answers `body`
    if (kit === okxKit)
      (f as FakeOkx).faults.next('createOrder', { kind: 'taken-then-status', status: 200, body });
    else (f as FakeBybit).faults.next('createOrder', { kind: 'taken-then-answer', status: 200, body });
    strategy.next = ENTER;
    await e.loop.tick();
    strategy.next = HOLD;
    for (let i = 0; i < 5; i++) await e.loop.tick();
    const order = e.orderBook.order(id1)!;
    // the exchange took it and filled it
    expect(f.orderClientIds()).to.deep.equal([id1]);
    expect(f.balance('BTC')).to.be.greaterThan(1);
    // what the bot makes of it
    expect(order.status, `${order.status} (${order.error ?? ''})`).to.not.equal('rejected');
    await tickUntil(e, () => (e.orderBook.positions()[BTC]?.amount ?? 0) > 0);
  }

  for (const [retCode, retMsg] of [
    [170035, 'Submitted to the system for processing!'],
    [170032, 'Network error. Please try again later'],
  ] as const) {
    it(`Bybit ${retCode} "${retMsg}": looked up, its fill the position (never an orphan)`, async () => {
      await entryTracked(bybitKit, bybitError(retCode, retMsg));
    });
  }

  it('OKX sCode 51054 (unknown to ccxt) in an HTTP 200 answer: looked up, its fill the position', async () => {
    const id1 = clientOrderIdFor('bot', TEST_INSTALL_ID, 1, okxKit.profile.clientOrderId.separator);
    await entryTracked(okxKit, {
      code: '1',
      msg: '',
      data: [
        {
          clOrdId: id1,
          ordId: '',
          tag: '',
          ts: '',
          sCode: '51054',
          sMsg: 'Request timed out. Please try again later.',
        },
      ],
      inTime: '',
      outTime: '',
    });
  });

  it('a Bybit limit entry answered 170035 and resting: found open, tracked, nothing for reconcile to report', async () => {
    const { fake: f, h: e } = await live<FakeBybit>(bybitKit, {
      fake: { matchIntervalMs: 60_000 },
      orders: { type: 'limit' },
    });
    f.faults.next('createOrder', {
      kind: 'taken-then-answer',
      status: 200,
      body: bybitError(170035, 'Submitted to the system for processing!'),
    });
    strategy.next = ENTER;
    await e.loop.tick();
    strategy.next = HOLD;
    const id1 = clientOrderIdFor('bot', TEST_INSTALL_ID, 1, '-');
    // looked up at once (an unknown outcome), never recorded refused
    await tickUntil(e, () => e.orderBook.order(id1)!.status === 'open');
    expect(e.orderBook.order(id1)!.refused).to.equal(undefined);
    const open = await e.exchange.fetchOpenOrders(BTC);
    expect(open.map((o) => o.clientOrderId)).to.deep.equal([id1]);
    expect(await reconcileWithExchange(e.orders, e.exchange)).to.deep.equal([]);
    expect(f.createRequests()).to.deep.equal([id1]);
  });

  it("a Bybit stop-loss sell answered 170032 after it was carried out is never sold again from the owner's coins", async () => {
    const { fake: f, h: e } = await live<FakeBybit>(bybitKit, { orders: { rejectCooldownMs: 200 } });
    strategy.next = ENTER;
    await tickUntil(e, () => (e.orderBook.positions()[BTC]?.amount ?? 0) > 0);
    strategy.next = HOLD;
    f.faults.next('createOrder', {
      kind: 'taken-then-answer',
      status: 200,
      body: bybitError(170032, 'Network error. Please try again later'),
    });
    f.pinPrice(BTC, 57_000);
    for (let i = 0; i < 40; i++) {
      await e.loop.tick();
      await sleep(100);
    }
    const bought = f.trades(BTC).reduce((s, t) => s + (t.side === 'buy' ? t.qty : 0), 0);
    const sold = f.trades(BTC).reduce((s, t) => s + (t.side === 'sell' ? t.qty : 0), 0);
    const orders = Object.values(e.orders.state.data.orders).map(
      (o) => `${o.clientOrderId} ${o.side} ${o.status}`,
    );
    expect(sold, `bought ${bought}, sold ${sold}; orders: ${orders.join(', ')}`).to.be.at.most(
      bought + 1e-12,
    );
    expect(f.balance('BTC')).to.be.at.least(1);
  });
});
