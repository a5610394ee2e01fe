/**
 * Bybit's HTTP 403 IP ban ("403, access too frequent": "terminate all HTTP sessions and wait for at least 10
 * minutes", v5 Rate Limit Rules) through real ccxt against the Bybit double, with a start's reads sent together.
 * ccxt's stock Bybit bucket lets them out one at a time (cost 5 at 20 ms a unit: 100 ms apart) and the rate-limit gate
 * sits before it: the first one's 403 closes the gate while the others, already past it, still wait in ccxt's
 * throttle. None of them may leave before the ban's wait (rate-limit-gate.ts `assertStillAdmitted`); after it, one
 * probe, then the rest. The gate runs on a fake clock the test moves itself.
 */
import { expect } from 'chai';
import { RateLimitError } from '../../../src/shared/errors';
import type { CcxtExchange } from '../../../src/trading/exchange/ccxt-exchange';
import { bybitKit } from '../../../harness/exchanges/exchange-kits';
import { eventually } from '../../../harness/pm2';
import type { FakeBybit } from '../../../harness/exchanges/fake-bybit';
import { FakeClock } from '../../support/fake-clock';
import { kitCcxtExchange } from '../../support/live-engine';

const BTC = 'BTC/USDT';
const ETH = 'ETH/USDT';

/** ccxt's leaky bucket inside the adapter (test access: its refill rate, in cost units per ms). */
function throttlerOf(ex: CcxtExchange): { config: { refillRate: number } } {
  return (ex as unknown as { client: { throttler: { config: { refillRate: number } } } }).client.throttler;
}

describe("Bybit's 403 IP ban meets requests still in ccxt's throttle: none leaves before the wait (real ccxt, local double)", function () {
  this.timeout(30_000);
  let fake: FakeBybit;
  let ex: CcxtExchange;
  let clock: FakeClock;

  beforeEach(async () => {
    fake = (await bybitKit.start({ symbols: [BTC, ETH], balances: { USDT: 10_000 } })) as FakeBybit;
    clock = new FakeClock(Date.now());
    ex = await kitCcxtExchange(bybitKit, fake.url, {
      timeoutMs: 2_000,
      readRetry: { maxAttempts: 1 },
      clock,
    });
    await ex.loadMarkets();
  });
  afterEach(async () => {
    await ex.close();
    await fake.close();
  });

  it("the first read's 403 closes the gate; the reads behind it in ccxt's throttle are not sent into the ban, then go after one probe", async () => {
    // ccxt's own spacing (100 ms) made 5 times longer: on a loaded machine too the 403 comes back while the others
    // are still in the throttle (what the test is about), whichever read ccxt lets out first
    const throttler = throttlerOf(ex);
    const stock = throttler.config.refillRate;
    throttler.config.refillRate = stock / 5;
    fake.ipBannedUntil = Number.POSITIVE_INFINITY;
    const timersBefore = clock.pendingTimers;
    const mark = fake.requests.length;
    // a start's reads: markets, the account, recovery's (recent orders per symbol, open orders)
    const reads = [
      ex.loadMarkets(true),
      ex.accountId(),
      ex.fetchRecentOrders(BTC),
      ex.fetchRecentOrders(ETH),
      ex.fetchOpenOrders(),
    ];
    const outcomes: unknown[] = reads.map(() => undefined);
    let settled = 0;
    reads.forEach((read, i) =>
      read.then(
        (value) => ((outcomes[i] = value), settled++),
        (err: unknown) => ((outcomes[i] = err), settled++),
      ),
    );
    // every read either answered or is held at the gate (asleep on its clock for the ban's wait)
    // (polled on real time: the double and ccxt run on it)
    await eventually(
      () => settled + clock.pendingTimers - timersBefore >= reads.length,
      15_000,
      'each read answered or held at the gate',
      10,
    );
    const sent = fake.requests.slice(mark);
    expect(sent, 'requests the double received during the ban').to.have.length(1);
    expect(settled).to.equal(1);
    const refused = outcomes.find((o) => o !== undefined);
    expect(refused).to.be.instanceOf(RateLimitError);
    const until403 = ex.rateLimitedUntil();
    expect(until403! - clock.now(), "the gate waits Bybit's ban").to.equal(600_000);

    // the ban over: one probe, then the others
    fake.ipBannedUntil = 0;
    throttler.config.refillRate = stock;
    await clock.advance(until403! - clock.now(), 60_000);
    await eventually(() => settled === reads.length, 15_000, 'every read answered after the wait', 10);
    // (Bybit's recent orders are two lists a symbol: realtime and history)
    expect(fake.requests.length - mark).to.be.greaterThan(reads.length);
    expect(outcomes.filter((o) => o instanceof Error)).to.deep.equal([refused]);
    expect(ex.rateLimitedUntil()).to.equal(undefined);
  });
});
