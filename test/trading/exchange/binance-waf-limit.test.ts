/**
 * Binance's HTTP 403, "used when the WAF Limit (Web Application Firewall) has been violated", through real ccxt
 * against the Binance double: a refusal for rate, not an exchange failure — the gate closes for the one backoff
 * (nothing leaves until it has passed, a longer wait after each refused probe), a create it refuses is refused (never
 * "outcome unknown", looked up into the ban), and nothing is sent again at once. ccxt's base table reads a 403 as
 * ExchangeNotAvailable (what Bybit's table overrides: RateLimitExceeded; OKX keeps the base class). The gate runs on a
 * fake clock the test moves itself.
 */
import { expect } from 'chai';
import { NetworkError, RateLimitError } from '../../../src/shared/errors';
import type { CcxtExchange } from '../../../src/trading/exchange/ccxt-exchange';
import { withGateBudget } from '../../../src/trading/exchange/rate-limit-gate';
import { clientOrderIdFor } from '../../../src/trading/engine/state/trading-state';
import { binanceKit } from '../../../harness/exchanges/exchange-kits';
import type { FakeBinance } from '../../../harness/exchanges/fake-binance';
import { FakeClock } from '../../support/fake-clock';
import { kitCcxtExchange } from '../../support/live-engine';

const BTC = 'BTC/USDT';

async function caught(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (err: unknown) => err,
  );
}

describe('Binance HTTP 403 (WAF limit violated): backed off at the gate, never hammered (real ccxt, local double)', function () {
  this.timeout(20_000);
  let fake: FakeBinance;
  let ex: CcxtExchange;
  let clock: FakeClock;

  beforeEach(async () => {
    fake = (await binanceKit.start({ candleMs: 300, balances: { USDT: 10_000 } })) as FakeBinance;
    fake.pinPrice(BTC, 60_000);
    clock = new FakeClock(Date.now());
    ex = await kitCcxtExchange(binanceKit, fake.url, {
      timeoutMs: 2_000,
      readRetry: { maxAttempts: 1 },
      clock,
    });
    await ex.loadMarkets();
    await ex.fetchTicker(BTC);
  });
  afterEach(async () => {
    await ex.close();
    await fake.close();
  });

  it('a read refused 403 closes the gate for the backoff: nothing leaves before it, then one probe', async () => {
    fake.faults.next('ticker', { kind: 'waf-limit' });
    const err = await caught(ex.fetchTicker(BTC));
    expect(err).to.be.instanceOf(RateLimitError);
    expect((err as RateLimitError).context).to.include({ httpStatus: 403 });
    const until = ex.rateLimitedUntil();
    expect(until, 'the gate closed').to.be.a('number');
    // the one backoff's first wait (GATE_BACKOFF: 2 s, jittered down to half)
    expect(until! - clock.now()).to.be.within(1_000, 2_000);
    const sent = fake.requestCount('ticker');
    // a request that may not wait is refused unsent while it holds
    const held = await caught(withGateBudget(100, () => ex.fetchTicker(BTC)));
    expect(held).to.be.instanceOf(RateLimitError);
    expect((held as Error).message).to.match(/not sent/);
    expect(fake.requestCount('ticker')).to.equal(sent);
    // the probe at the end of the wait is refused again: a longer wait (the backoff's second step, 2–4 s)
    fake.faults.next('ticker', { kind: 'waf-limit' });
    const probe = caught(ex.fetchTicker(BTC));
    await clock.advance(until! - clock.now());
    expect(await probe).to.be.instanceOf(RateLimitError);
    const next = ex.rateLimitedUntil();
    expect(next! - clock.now()).to.be.within(2_000, 4_000);
    // then it answers: open again
    const read = ex.fetchTicker(BTC);
    await clock.advance(next! - clock.now());
    expect((await read).last).to.equal(60_000);
    expect(ex.rateLimitedUntil()).to.equal(undefined);
  });

  it('a create refused 403 is refused (rejected, its symbol waits), never an unknown outcome looked up into the ban', async () => {
    fake.faults.next('createOrder', { kind: 'waf-limit' });
    const err = await caught(
      ex.createOrder({
        symbol: BTC,
        side: 'buy',
        type: 'limit',
        amount: 0.001,
        price: 30_000,
        clientOrderId: clientOrderIdFor('waf', 'tst000', 1, '-'),
      }),
    );
    expect(err).to.be.instanceOf(RateLimitError);
    expect(err).to.not.be.instanceOf(NetworkError);
    expect(fake.orderClientIds()).to.deep.equal([]);
  });
});
