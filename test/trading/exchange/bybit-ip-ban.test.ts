/**
 * Bybit's HTTP 403 IP ban ("403, access too frequent": "terminate all HTTP sessions and wait for at least 10
 * minutes", v5 Rate Limit Rules) through real ccxt against the Bybit double, with more reads of one endpoint than its
 * window holds: the adapter's pacing (endpoint-limiter.ts: GET /v5/user/query-api, 10 a second) lets 10 out and holds
 * the others, and the rate-limit gate sits before it: the 403s close the gate while those two, already past it, still
 * wait for their window. Neither may leave before the ban's wait (rate-limit-gate.ts `assertStillAdmitted`); after it,
 * one probe, then the other. The gate and the pacing run on a fake clock the test moves itself.
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
/** GET /v5/user/query-api (the account read) in one window: ccxt's cost 5 of 50 a second. */
const ACCOUNT_READS_A_WINDOW = 10;

describe("Bybit's 403 IP ban meets requests still waiting for their endpoint's window: none leaves before the wait (real ccxt, local double)", function () {
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

  it("the 403s close the gate; the reads still waiting for their endpoint's window are not sent into the ban, then go after one probe", async () => {
    fake.ipBannedUntil = Number.POSITIVE_INFINITY;
    const timersBefore = clock.pendingTimers;
    const mark = fake.requests.length;
    const reads = Array.from({ length: ACCOUNT_READS_A_WINDOW + 2 }, () => ex.accountId());
    const outcomes: unknown[] = reads.map(() => undefined);
    let settled = 0;
    reads.forEach((read, i) =>
      read.then(
        (value) => ((outcomes[i] = value), settled++),
        (err: unknown) => ((outcomes[i] = err), settled++),
      ),
    );
    // a window's worth goes out into the ban and is refused (one attempt each); two wait for the window
    // (polled on real time: the double and ccxt run on it)
    await eventually(() => settled === ACCOUNT_READS_A_WINDOW, 15_000, "a window's reads refused", 10);
    expect(fake.requests.length - mark, 'requests the double received in the ban').to.equal(
      ACCOUNT_READS_A_WINDOW,
    );
    const refused = outcomes.filter((o) => o !== undefined);
    for (const r of refused) expect(r).to.be.instanceOf(RateLimitError);
    const until403 = ex.rateLimitedUntil();
    expect(until403! - clock.now(), "the gate waits Bybit's ban").to.equal(600_000);

    // the window has room again: the two leave the pacing, and are held at the gate (asleep on its clock)
    await clock.advance(1_200);
    await eventually(
      () => settled + clock.pendingTimers - timersBefore >= reads.length,
      15_000,
      'each read answered or held at the gate',
      10,
    );
    expect(fake.requests.length - mark, 'requests the double received in the ban').to.equal(
      ACCOUNT_READS_A_WINDOW,
    );
    expect(settled).to.equal(ACCOUNT_READS_A_WINDOW);

    // the ban over: one probe, then the other
    fake.ipBannedUntil = 0;
    await clock.advance(until403! - clock.now(), 60_000);
    await eventually(() => settled === reads.length, 15_000, 'every read answered after the wait', 10);
    expect(fake.requests.length - mark).to.equal(reads.length);
    expect(outcomes.filter((o) => o instanceof Error)).to.have.length(ACCOUNT_READS_A_WINDOW);
    expect(ex.rateLimitedUntil()).to.equal(undefined);
  });
});
