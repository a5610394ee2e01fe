/**
 * What the live engine tests (real engine, real ccxt against a local exchange double) share: the adapter as they
 * create it — short timeouts and a quick read retry so a fault shows within a test — and ticking until a condition.
 */
import { expect } from 'chai';
import { CcxtExchange, type CcxtExchangeOptions } from '../../src/trading/exchange/ccxt-exchange';
import type { ExchangeKit } from '../../harness/exchanges/local-exchange';
import type { EngineHarness } from './engine-harness';

/** The kit's exchange at `apiUrl`: 800 ms timeouts, two read attempts, a 500 ms request window; `over` changes any. */
export function testCcxtExchange(
  kit: ExchangeKit,
  apiUrl: string,
  over: Partial<CcxtExchangeOptions> = {},
): Promise<CcxtExchange> {
  return CcxtExchange.create({
    exchangeId: kit.id,
    ...kit.credentials,
    apiUrl,
    timeoutMs: 800,
    readRetry: { maxAttempts: 2, baseDelayMs: 50, maxDelayMs: 200, random: () => 0 },
    profile: kit.withRecvWindow(500),
    ...over,
  });
}

/** Ticks `h`'s loop until `done` holds (at most `max` ticks, 50 ms apart); fails the test when it never does. */
export async function tickUntil(h: EngineHarness, done: () => boolean, max = 80): Promise<void> {
  for (let i = 0; i < max && !done(); i++) {
    await h.loop.tick();
    if (!done()) await new Promise((r) => setTimeout(r, 50));
  }
  expect(done(), 'condition not reached').to.equal(true);
}
