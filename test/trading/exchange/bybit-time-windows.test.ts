import { setTimeout as sleep } from 'node:timers/promises';
/**
 * Bybit answers /v5/execution/list within a time window: "startTime and endTime are not passed, return 7 days by
 * default", a span of at most 7 days. An order created 10 days ago and filled piecemeal since (the bot was down, or
 * the order rested that long) has fills older than the default window: read without windows, they were missing and
 * the symbol stayed held ("fills missing"); likewise order/history for its lookup once order/realtime no longer
 * lists it. Real ccxt against the Bybit double, whose list applies the window as
 * documented; the order's and its executions' times are set back on the double (real ccxt signs with Date.now()).
 */
import { expect } from 'chai';
import { OrderNotFoundError } from '../../../src/shared/errors';
import type { CcxtExchange } from '../../../src/trading/exchange/ccxt-exchange';
import { bybitKit } from '../../../harness/exchanges/exchange-kits';
import type { FakeBybit } from '../../../harness/exchanges/fake-bybit';
import { closeAfterEach } from '../../support/close-after-each';
import { kitCcxtExchange } from '../../support/live-engine';

const BTC = 'BTC/USDT';
const DAY_MS = 86_400_000;

describe('Bybit execution list by 7-day windows: an order created 10 days ago gets all its fills and is found', function () {
  this.timeout(30_000);
  let fake: FakeBybit | undefined;
  let exchange: CcxtExchange | undefined;

  closeAfterEach(() => [exchange, fake]);

  /** The shipped Bybit adapter on the double, 5 s a request. */
  const connect = (url: string): Promise<CcxtExchange> =>
    kitCcxtExchange(bybitKit, url, { timeoutMs: 5_000 });

  it('reads fills 10, 6 and 2 days old (three windows) and the double refuses a span over 7 days', async () => {
    fake = (await bybitKit.start({
      candleMs: 300,
      balances: { USDT: 20_000 },
      marketFillParts: 3,
    })) as FakeBybit;
    exchange = await connect(fake.url);
    const order = await exchange.createOrder({
      symbol: BTC,
      side: 'buy',
      type: 'market',
      amount: 0.003,
      clientOrderId: 'old0',
    });
    const id = order.id;
    for (let i = 0; i < 50 && fake.executions.filter((e) => e.orderId === id).length < 3; i++)
      await sleep(20);
    const executions = fake.executions.filter((e) => e.orderId === id);
    expect(executions).to.have.length(3);
    // created 10 days ago; filled piecemeal 10, 6 and 2 days ago
    const now = Date.now();
    const created = now - 10 * DAY_MS;
    for (const o of fake.orders.filter((o) => o.orderId === id)) {
      o.createdTime = String(created);
      o.updatedTime = String(now - 2 * DAY_MS);
    }
    executions.forEach((e, i) => (e.execTime = String(created + 1_000 + i * 4 * DAY_MS)));

    const trades = await exchange.fetchOrderTrades(id, BTC, created);
    expect(trades.map((t) => t.id).sort()).to.deep.equal(executions.map((e) => e.execId).sort());

    // the double applies the window: without a start, the past 7 days only; a span over 7 days is refused
    const unwindowed = await exchange.fetchOrderTrades(id, BTC);
    expect(unwindowed).to.have.length(2);
    const raw = (
      exchange as unknown as { client: { fetchOrderTrades: (...a: unknown[]) => Promise<unknown[]> } }
    ).client;
    let refused: unknown;
    await raw
      .fetchOrderTrades(id, BTC, undefined, 100, { startTime: created, endTime: now })
      .catch((err: unknown) => (refused = err));
    expect(String(refused)).to.match(/cannot exceed 7 days/);

    // its lookup: gone from order/realtime (a service restart), in order/history only by a window from its creation
    fake.restartService();
    const found = await exchange.fetchOrder(id, BTC, created);
    expect(found).to.include({ id, status: 'closed' });
    let missed: unknown;
    await exchange.fetchOrder(id, BTC).catch((err: unknown) => (missed = err));
    expect(missed).to.be.instanceOf(OrderNotFoundError);
    // and by its orderLinkId (the recheck of an order ended on our inference, the lookup before a /settle)
    expect(await exchange.fetchOrderByClientId('old0', BTC, created)).to.include({ id, status: 'closed' });
    let missedByClientId: unknown;
    await exchange.fetchOrderByClientId('old0', BTC).catch((err: unknown) => (missedByClientId = err));
    expect(missedByClientId).to.be.instanceOf(OrderNotFoundError);
  });

  it("searches in Bybit's time: with the host 2 minutes ahead, an order's fills and its history are found from our record of its creation", async () => {
    fake = (await bybitKit.start({ candleMs: 300, balances: { USDT: 20_000 } })) as FakeBybit;
    // NTP stopped: the host runs 2 minutes ahead; the first signed request is refused (10002) and measures it
    fake.clockSkewMs = -120_000;
    exchange = await connect(fake.url);
    await exchange.fetchBalance();
    // our record of the order's creation: host time, 2 minutes after the exchange's
    const createdAt = Date.now();
    const order = await exchange.createOrder({
      symbol: BTC,
      side: 'buy',
      type: 'market',
      amount: 0.003,
      clientOrderId: 'skew0',
    });
    for (let i = 0; i < 50 && !fake.executions.some((e) => e.orderId === order.id); i++) await sleep(20);
    const executions = fake.executions.filter((e) => e.orderId === order.id);
    expect(executions).to.have.length.greaterThan(0);
    // a span in host time started 1 minute after the fills: none found, the entry never booked nor protected
    const trades = await exchange.fetchOrderTrades(order.id, BTC, createdAt);
    expect(trades.map((t) => t.id).sort()).to.deep.equal(executions.map((e) => e.execId).sort());
    // gone from order/realtime: order/history by a span from its creation, in Bybit's time
    fake.restartService();
    expect(await exchange.fetchOrder(order.id, BTC, createdAt)).to.include({
      id: order.id,
      status: 'closed',
    });
  });
});
