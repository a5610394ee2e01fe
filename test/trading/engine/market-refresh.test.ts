import { expect } from 'chai';
import { NetworkError } from '../../../src/shared/errors';
import { ExchangeReads } from '../../../src/trading/engine/exchange-watch/exchange-reads';
import { MarketRefresh } from '../../../src/trading/engine/start/market-refresh';
import type { OrderBook } from '../../../src/trading/engine/orders/order-book';
import type { StateGateway } from '../../../src/trading/engine/state/state-gateway';
import type { Exchange, Market } from '../../../src/trading/exchange/exchange';
import { captureLogger } from '../../support/capture-logger';
import { FakeClock } from '../../support/fake-clock';
import { BTC_MARKET } from '../../support/risk-fixtures';

const REFRESH_MS = 24 * 60 * 60 * 1000;

function setup(rulesRefusedAt?: () => number | undefined) {
  const clock = new FakeClock();
  const books: Array<Record<string, Market>> = [];
  const loads = { count: 0, fail: false };
  const orderBook = {
    setMarkets: (markets: Record<string, Market>) => books.push(markets),
    // nothing held: no position to judge unsellable (unsellable-watch.ts)
    positions: () => ({}),
    pendingSymbols: () => [],
    markets: {},
    lastPrices: {},
  } as unknown as OrderBook;
  const state = { data: { announcedHalts: {}, announcedUnsellable: {} } } as unknown as StateGateway;
  const exchange = {
    id: 'paper',
    traits: {},
    loadMarkets: () => {
      loads.count += 1;
      return loads.fail
        ? Promise.reject(new NetworkError('connection reset'))
        : Promise.resolve({ 'BTC/USDT': BTC_MARKET });
    },
  } as unknown as Exchange;
  const refresh = new MarketRefresh({
    orderBook,
    state,
    exchange,
    clock,
    logger: captureLogger().logger,
    reads: new ExchangeReads(5_000, clock),
    refreshMs: REFRESH_MS,
    haltedRefreshMs: 60_000,
    rulesRefusedAt,
  });
  return { clock, books, loads, refresh };
}

describe('MarketRefresh: the markets reloaded when due', () => {
  it('reloads once every refreshMs after the last load, into the order book', async () => {
    const { clock, books, loads, refresh } = setup();
    const watched = (): string[] => ['BTC/USDT'];
    await refresh.loaded(watched(), { 'BTC/USDT': BTC_MARKET });
    expect(books).to.have.length(1);
    clock.time += REFRESH_MS - 1;
    await refresh.refreshWhenDue(watched);
    expect(loads.count, 'not due yet').to.equal(0);
    clock.time += 1;
    await refresh.refreshWhenDue(watched);
    expect(loads.count).to.equal(1);
    expect(books).to.have.length(2);
    clock.time += 1;
    await refresh.refreshWhenDue(watched);
    expect(loads.count, 'the next one is a whole refreshMs later').to.equal(1);
    clock.time += REFRESH_MS;
    await refresh.refreshWhenDue(watched);
    expect(loads.count).to.equal(2);
  });

  it('a failed reload is thrown and tried again at the next call', async () => {
    const { clock, books, loads, refresh } = setup();
    clock.time += REFRESH_MS;
    loads.fail = true;
    let thrown: unknown;
    await refresh.refreshWhenDue(() => ['BTC/USDT']).catch((err: unknown) => (thrown = err));
    expect(thrown).to.be.instanceOf(NetworkError);
    expect(books).to.have.length(0);
    loads.fail = false;
    await refresh.refreshWhenDue(() => ['BTC/USDT']);
    expect(loads.count).to.equal(2);
    expect(books).to.have.length(1);
  });

  it('an order refused for the trading rules after the last load makes a reload due, haltedRefreshMs after the load at the soonest', async () => {
    let refusedAt: number | undefined;
    const { clock, loads, refresh } = setup(() => refusedAt);
    const watched = (): string[] => ['BTC/USDT'];
    await refresh.loaded(watched(), { 'BTC/USDT': BTC_MARKET });
    clock.time += 10_000;
    refusedAt = clock.time;
    await refresh.refreshWhenDue(watched);
    expect(loads.count, 'not within haltedRefreshMs of the last load').to.equal(0);
    clock.time += 50_000;
    await refresh.refreshWhenDue(watched);
    expect(loads.count).to.equal(1);
    clock.time += 60_000;
    await refresh.refreshWhenDue(watched);
    expect(loads.count, 'a refusal before the last load asks for none').to.equal(1);
    refusedAt = clock.time;
    clock.time += 60_000;
    await refresh.refreshWhenDue(watched);
    expect(loads.count).to.equal(2);
  });
});
