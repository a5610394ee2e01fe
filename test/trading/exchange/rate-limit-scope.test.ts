/**
 * What a rate-limit refusal closes, through real ccxt against each exchange's double: a limit on new orders (Binance's
 * unfilled order count, 429 -1015 without Retry-After) or on one endpoint (Bybit 10006, OKX 50011) holds the next
 * create, never the reads and the cancel a stop-loss needs; a request-weight 429 (Binance -1003) holds everything.
 * The gate runs on a fake clock that the test never moves: whatever the gate holds stays held, whatever it lets out
 * reaches the double at once.
 */
import { expect } from 'chai';
import { RateLimitError } from '../../../src/shared/errors';
import type { CcxtExchange } from '../../../src/trading/exchange/ccxt-exchange';
import type { CreateOrderRequest } from '../../../src/trading/exchange/exchange';
import { clientOrderIdFor } from '../../../src/trading/engine/state/trading-state';
import { EXCHANGE_KITS, binanceKit } from '../../../harness/exchanges/exchange-kits';
import type { FakeBinance } from '../../../harness/exchanges/fake-binance';
import type { ExchangeKit, LocalExchange } from '../../../harness/exchanges/local-exchange';
import { FakeClock } from '../../support/fake-clock';
import { kitCcxtExchange } from '../../support/live-engine';

const BTC = 'BTC/USDT';

/** The kit's shipped adapter on `url`, one attempt a read, its gate on a fake clock the test never moves. */
function stillAdapter(kit: ExchangeKit, url: string): Promise<CcxtExchange> {
  return kitCcxtExchange(kit, url, {
    timeoutMs: 2_000,
    readRetry: { maxAttempts: 1 },
    clock: new FakeClock(Date.now()),
  });
}

/** Resolves with the promise's outcome, or 'held' when it has not settled within `ms` of real time. */
function within<T>(promise: Promise<T>, ms = 3_000): Promise<T | 'held'> {
  return Promise.race([promise, new Promise<'held'>((r) => setTimeout(() => r('held'), ms))]);
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (err: unknown) => err,
  );
}

function scopeSuite(kit: ExchangeKit, refuseCreate: (fake: LocalExchange) => void, what: string): void {
  describe(`${kit.profile.name}: ${what} on a create holds new orders only`, function () {
    this.timeout(20_000);
    let fake: LocalExchange;
    let ex: CcxtExchange;
    const order = (n: number, price: number): CreateOrderRequest => ({
      symbol: BTC,
      side: 'buy',
      type: 'limit',
      amount: 0.001,
      price,
      clientOrderId: clientOrderIdFor('rl', 'tst000', n, kit.profile.clientOrderId.separator),
    });

    beforeEach(async () => {
      fake = await kit.start({ candleMs: 300, balances: { USDT: 10_000 } });
      fake.pinPrice(BTC, 60_000);
      ex = await stillAdapter(kit, fake.url);
      await ex.loadMarkets();
      await ex.fetchTicker(BTC);
    });
    afterEach(async () => {
      await ex.close();
      await fake.close();
    });

    it('the reads and the cancel of a resting order go on at once; the next create waits or is refused unsent', async () => {
      const resting = await ex.createOrder(order(1, 30_000));
      refuseCreate(fake);
      expect(await caught(ex.createOrder(order(2, 30_000)))).to.be.instanceOf(RateLimitError);
      const creates = fake.createRequests().length;
      // what a stop-loss flow needs next: its orders read, the one in the way cancelled, the price
      const reads = await within(
        Promise.all([ex.fetchOpenOrders(BTC), ex.fetchTicker(BTC), ex.fetchBalance()]),
      );
      expect(reads, 'reads held by an order limit').to.not.equal('held');
      const cancelled = await within(ex.cancelOrder(resting.id, BTC));
      expect(cancelled, 'cancel held by an order limit').to.not.equal('held');
      // a new order does not leave while the limit's wait runs (the clock never moves here)
      const next = await within(caught(ex.createOrder(order(3, 30_000))), 1_500);
      if (next !== 'held') expect(next).to.be.instanceOf(RateLimitError);
      expect(fake.createRequests()).to.have.length(creates);
    });
  });
}

for (const kit of EXCHANGE_KITS) {
  if (kit.id === 'binance') {
    scopeSuite(
      kit,
      (fake) => (fake as FakeBinance).faults.next('createOrder', { kind: 'order-count' }),
      '429 -1015 "Too many new orders" (unfilled order count, no Retry-After)',
    );
  } else {
    scopeSuite(
      kit,
      (fake) => fake.fault('createOrder', { kind: 'refuse', reason: 'rate-limit' }),
      `its per-endpoint limit (${kit.id === 'bybit' ? '10006' : '50011'})`,
    );
  }
}

describe('Binance: a request-weight 429 on a create holds every request (the limit is per IP)', function () {
  this.timeout(20_000);
  it('a read after it waits for the Retry-After (here never: the clock does not move)', async () => {
    const fake = await binanceKit.start({ candleMs: 300, balances: { USDT: 10_000 } });
    const ex = await stillAdapter(binanceKit, fake.url);
    try {
      await ex.loadMarkets();
      fake.fault('createOrder', { kind: 'refuse', reason: 'rate-limit' });
      expect(
        await caught(
          ex.createOrder({
            symbol: BTC,
            side: 'buy',
            type: 'limit',
            amount: 0.001,
            price: 30_000,
            clientOrderId: 'rl-tst000-1',
          }),
        ),
      ).to.be.instanceOf(RateLimitError);
      const tickers = fake.requestCount('ticker');
      expect(await within(ex.fetchTicker(BTC), 1_000)).to.equal('held');
      expect(fake.requestCount('ticker')).to.equal(tickers);
    } finally {
      await ex.close();
      await fake.close();
    }
  });
});
