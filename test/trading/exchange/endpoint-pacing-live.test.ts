/**
 * Bybit and OKX count their limits per endpoint (Bybit v5 "Rate Limit Rules": "rolling time window per second and
 * UID", each endpoint its own X-Bapi-Limit; OKX: each endpoint's "N requests per 2 seconds"), and their doubles
 * refuse past them as documented (10006 "Too many visits!", 50011 "Too Many Requests"). Through real ccxt: the
 * adapter's pacing (endpoint-limiter.ts, ccxt's costs) holds a burst past an endpoint's limit until its window has
 * room — none refused — and an endpoint at its limit never holds another's requests (ccxt's own limiter, one queue
 * for every endpoint, made each wait for all queued before it: a live start's reads left ~100 ms apart). A create
 * waits for its window at most its budget (rate-limit-gate.ts `withGateBudget`): one that cannot leave by then is
 * refused unsent, never sent late on its tick's prices.
 */
import { expect } from 'chai';
import { RateLimitError } from '../../../src/shared/errors';
import type { CcxtExchange } from '../../../src/trading/exchange/ccxt-exchange';
import { bybitKit, okxKit } from '../../../harness/exchanges/exchange-kits';
import type { LoggedRequest } from '../../../harness/exchanges/fake-exchange-server';
import type { ExchangeKit, LocalExchange } from '../../../harness/exchanges/local-exchange';
import { kitCcxtExchange } from '../../support/live-engine';

interface Case {
  kit: ExchangeKit;
  /** The account read's path (accountId), its documented limit per window, and what ccxt's cost lets in one. */
  account: { path: string; documented: number; paced: number };
  /** The balance read's path: another endpoint. */
  balancePath: string;
  /** The create's path and what ccxt's cost lets in one window (documented: Bybit 20/s, OKX 60 per 2 s). */
  create: { path: string; paced: number };
}

const CASES: Case[] = [
  // GET /v5/user/query-api: 10/s per UID; ccxt's cost 5 of 50 a second: 10 a window
  {
    kit: bybitKit,
    account: { path: '/v5/user/query-api', documented: 10, paced: 10 },
    balancePath: '/v5/account/wallet-balance',
    // POST /v5/order/create: 20/s per UID (spot); ccxt's cost 2.5 of 50 a second: 20 a window
    create: { path: '/v5/order/create', paced: 20 },
  },
  // GET /api/v5/account/config: 5 per 2 s; ccxt's cost 4 of 2000 / 110 a window (its 10 % tolerance): 4
  {
    kit: okxKit,
    account: { path: '/api/v5/account/config', documented: 5, paced: 4 },
    balancePath: '/api/v5/account/balance',
    // POST /api/v5/trade/order: 60 per 2 s per instrument; ccxt's cost 1/3 of 2000 / 110 a window: 54
    create: { path: '/api/v5/trade/order', paced: 54 },
  },
];

for (const c of CASES) {
  describe(`${c.kit.id}: requests paced per endpoint to the documented limits (real ccxt, local double)`, function () {
    this.timeout(30_000);
    let fake: LocalExchange & { readonly requests: readonly LoggedRequest[] };
    let ex: CcxtExchange;

    beforeEach(async () => {
      fake = (await c.kit.start({ symbols: ['BTC/USDT'], balances: { USDT: 10_000 } })) as typeof fake;
      // one attempt: a refused read fails the test instead of being retried after the window
      ex = await kitCcxtExchange(c.kit, fake.url, { timeoutMs: 5_000, readRetry: { maxAttempts: 1 } });
      await ex.loadMarkets();
    });
    afterEach(async () => {
      await ex.close();
      await fake.close();
    });

    const sentTo = (path: string): number[] => fake.requests.flatMap((r, i) => (r.path === path ? [i] : []));

    it("a burst past an endpoint's limit waits for room in its window: every request answered, none refused", async () => {
      const n = c.account.documented + 3;
      const ids = await Promise.all(Array.from({ length: n }, () => ex.accountId()));
      expect(new Set(ids).size).to.equal(1);
      // each sent once: a refusal would have failed its read (one attempt)
      expect(sentTo(c.account.path)).to.have.length(n);
    });

    it("a create's budget bounds its wait for the window too: a burst past the create's count sends what fits at once and refuses the rest unsent", async () => {
      const n = c.create.paced + 5;
      const outcomes = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          ex
            .createOrder({
              symbol: 'BTC/USDT',
              side: 'buy',
              type: 'limit',
              amount: 0.001,
              price: 30_000,
              clientOrderId: `pace${i}`,
            })
            .then(
              () => 'placed',
              (err: unknown) =>
                err instanceof RateLimitError && /not sent/.test(err.message)
                  ? 'refused unsent'
                  : `failed: ${String(err)}`,
            ),
        ),
      );
      const counts = outcomes.reduce<Record<string, number>>(
        (acc, o) => ({ ...acc, [o]: (acc[o] ?? 0) + 1 }),
        {},
      );
      // the window's count went at once; the rest, decided on the same prices, would have left a window later
      expect(counts).to.deep.equal({ placed: c.create.paced, 'refused unsent': 5 });
      // each refused one never reached the exchange (before, they left a window later, on their tick's prices)
      expect(fake.requests.filter((r) => r.path === c.create.path)).to.have.length(c.create.paced);
    });

    it("an endpoint at its limit holds only its own requests: another endpoint's read goes at once", async () => {
      const account = Array.from({ length: c.account.paced + 1 }, () => ex.accountId());
      const balance = ex.fetchBalance();
      await Promise.all([...account, balance]);
      const accountReads = sentTo(c.account.path);
      const [balanceRead] = sentTo(c.balancePath).slice(-1);
      expect(accountReads).to.have.length(c.account.paced + 1);
      // the balance read reached the exchange before the account read that waited for its window
      expect(balanceRead).to.be.lessThan(accountReads[c.account.paced]);
    });
  });
}
