/**
 * Binance's one request-weight budget is paced by ccxt's own throttle (ccxt-exchange.ts `ccxtThrottle`), one queue for
 * every request. A create, decided on its tick's prices, waits at most its budget there too (rate-limit-gate.ts
 * `withGateBudget`): behind heavy reads that hold the queue for seconds it is refused at once, unsent — not when the
 * throttle finally lets it go (past its create timeout it would have been `unknown` and looked up, though it never left).
 */
import { expect } from 'chai';
import { RateLimitError } from '../../../src/shared/errors';
import type { CcxtExchange } from '../../../src/trading/exchange/ccxt-exchange';
import { binanceKit } from '../../../harness/exchanges/exchange-kits';
import type { FakeBinance } from '../../../harness/exchanges/fake-binance';
import { kitCcxtExchange } from '../../support/live-engine';

const BTC = 'BTC/USDT';

describe("binance: a create waits in ccxt's throttle at most its budget (real ccxt, local double)", function () {
  this.timeout(30_000);
  let fake: FakeBinance;
  let ex: CcxtExchange;

  beforeEach(async () => {
    fake = (await binanceKit.start({ symbols: [BTC], balances: { USDT: 10_000 } })) as FakeBinance;
    ex = await kitCcxtExchange(binanceKit, fake.url, { timeoutMs: 10_000, readRetry: { maxAttempts: 1 } });
    await ex.loadMarkets();
  });
  afterEach(async () => {
    await ex.close();
    await fake.close();
  });

  it('behind a queue of heavy reads it is refused at once, unsent, while those reads still wait; reads wait their turn', async () => {
    // every symbol's open orders (weight 80 each): the burst lets a few out, the rest wait seconds for the refill
    const reads = Array.from({ length: 12 }, () => ex.fetchOpenOrders());
    const err = await ex
      .createOrder({
        symbol: BTC,
        side: 'buy',
        type: 'limit',
        amount: 0.001,
        price: 30_000,
        clientOrderId: 'budget-create-1',
      })
      .then(
        () => expect.fail('the create left behind the queued reads'),
        (e: unknown) => e,
      );
    expect(err).to.be.instanceOf(RateLimitError);
    expect((err as RateLimitError).context.gate).to.equal('pacing');
    expect((err as RateLimitError).retryAfterMs).to.be.above(1_000);
    // refused before the reads queued ahead of it had all gone out: at once, not when the throttle let it go
    expect(fake.requestCount('openOrders')).to.be.below(12);
    // a read has no budget: every one is answered, none refused
    expect(await Promise.all(reads)).to.have.length(12);
    expect(fake.requestCount('openOrders')).to.equal(12);
    expect(fake.requestCount('createOrder')).to.equal(0);
  });
});
