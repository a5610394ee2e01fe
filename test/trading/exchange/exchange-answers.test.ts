/**
 * The ccxt adapter's mapping of each verified exchange's documented answers (harness/exchanges/answers/*.ts),
 * through real ccxt over HTTP: each answer is served verbatim by that exchange's local double for exactly one
 * request; then what the double itself does as documented. One suite, run once per exchange's fixture set
 * (answer-fixtures/*.ts): the lifecycle and the failed-create table are shared, the cases are each exchange's.
 */
import { expect } from 'chai';
import { systemClock } from '../../../src/shared/clock';
import { NetworkError, RateLimitError, type InvalidOrderError } from '../../../src/shared/errors';
import { CcxtExchange, type CcxtExchangeOptions } from '../../../src/trading/exchange/ccxt-exchange';
import type { CreateOrderRequest } from '../../../src/trading/exchange/exchange';
import { binanceAnswers } from './answer-fixtures/binance';
import { bybitAnswers } from './answer-fixtures/bybit';
import { caught, type AnswerFixtures, type AnswerSuite, type LocalDouble } from './answer-fixtures/fixtures';
import { okxAnswers } from './answer-fixtures/okx';

/**
 * A create's outcome (its error). One the pacing refused unsent — the table sends creates faster than Bybit's and
 * OKX's create endpoints take in a window (rate-limit-gate.ts: a create waits at most 1 s) — is tried again once its
 * window has room, as the bot's symbol would: the answer armed for the next create is still unanswered.
 */
async function createPaced(ex: CcxtExchange, order: CreateOrderRequest): Promise<Error> {
  for (;;) {
    const err = await caught(ex.createOrder(order));
    if (!(err instanceof RateLimitError) || err.context.gate !== 'pacing') return err;
    await new Promise((resolve) => setTimeout(resolve, err.retryAfterMs ?? 1_000));
  }
}

function answersSuite<F extends LocalDouble>(fixtures: AnswerFixtures<F>): void {
  describe(`${fixtures.title}'s documented answers through the ccxt adapter`, function () {
    this.timeout(20_000);
    const s = {
      connect: (overrides: Partial<CcxtExchangeOptions> = {}): Promise<CcxtExchange> =>
        CcxtExchange.create({
          ...fixtures.connection,
          apiUrl: s.fake.url,
          clock: systemClock,
          timeoutMs: 2_000,
          readRetry: { maxAttempts: 1 },
          ...overrides,
        }),
      answer: (route: string, body: unknown, status = 200): void =>
        fixtures.answer(s.fake, route, body, status),
    } as AnswerSuite<F>;

    before(async () => {
      s.fake = await fixtures.start();
      s.ex = await s.connect();
      await s.ex.loadMarkets();
      // the min-notional check of a market order reads a recent price
      for (const symbol of fixtures.tickers) await s.ex.fetchTicker(symbol);
    });

    after(async () => {
      await s.ex.close();
      await s.fake.close();
    });

    afterEach(() => {
      s.fake.clearFaults();
      s.fake.clockSkewMs = 0;
    });

    for (const [group, cases] of Object.entries(fixtures.cases)) {
      const declare = (): void => {
        for (const c of cases) it(c.name, () => c.run(s));
      };
      if (group === '') declare();
      else describe(group, declare);
    }

    describe('a failed create: refused (the order does not exist) or unknown (it may)', () => {
      for (const c of fixtures.failedCreates) {
        it(`${c.what} → ${c.outcome}`, async () => {
          // a refusal for rate (or any 429/418: OKX 50013 "Systems are busy") closes the adapter's gate
          // (rate-limit-gate.ts) for the wait asked for, and a create then is refused unsent: it runs on an adapter
          // of its own, so the cases after it are not refused
          const closesGate = c.expected === RateLimitError || c.status === 429 || c.status === 418;
          const own = closesGate ? await s.connect() : undefined;
          const ex = own ?? s.ex;
          try {
            if (own) {
              await own.loadMarkets();
              for (const symbol of fixtures.tickers) await own.fetchTicker(symbol);
              // a signed request answered first, as the shared adapter's (Binance's -2015 reads differently after one)
              await own.fetchBalance();
            }
            s.answer('createOrder', c.body, c.status);
            const err = await createPaced(ex, fixtures.failingOrder());
            expect(err, err.message).to.be.instanceOf(c.expected);
            if (c.outcome === 'unknown') expect(err).to.be.instanceOf(NetworkError);
            else expect(err).to.not.be.instanceOf(NetworkError);
            expect((err as InvalidOrderError).context.duplicate === true).to.equal(c.outcome === 'exists');
            if (c.marketRules !== undefined) {
              expect((err as InvalidOrderError).context.marketRules === true).to.equal(c.marketRules);
            }
          } finally {
            await own?.close();
          }
        });
      }
    });
  });
}

answersSuite(binanceAnswers);
answersSuite(bybitAnswers);
answersSuite(okxAnswers);
