/**
 * What the live engine tests (real engine, real ccxt against a local exchange double) and the adapter tests share:
 * the adapter as they create it — short timeouts and a quick read retry so a fault shows within a test — the engine
 * opened on it, closing what a test opened, and ticking until a condition; and the daemon's env for a local exchange.
 */
import { expect } from 'chai';
import { systemClock } from '../../src/shared/clock';
import { CcxtExchange, type CcxtExchangeOptions } from '../../src/trading/exchange/ccxt-exchange';
import type { Candle, Exchange, Market } from '../../src/trading/exchange/exchange';
import type { ExchangeKit, LocalExchange } from '../../harness/exchanges/local-exchange';
import { HOLD, type Signal } from '../../src/trading/strategy/strategy';
import { EngineHarness, ScriptedStrategy, type HarnessOptions } from './engine-harness';

/** Reads tried twice, 50 ms apart: a read fault shows within a test (the shipped 4 attempts take seconds). */
export const QUICK_READ_RETRY = { maxAttempts: 2, baseDelayMs: 50, maxDelayMs: 200, random: () => 0 };

/**
 * The kit's exchange at `apiUrl` as the daemon (or the owner's own client) creates it: the kit's credentials and
 * verified profile, the adapter's own timeouts and read retry; `over` changes any.
 */
export function kitCcxtExchange(
  kit: ExchangeKit,
  apiUrl: string,
  over: Partial<CcxtExchangeOptions> = {},
): Promise<CcxtExchange> {
  return CcxtExchange.create({
    exchangeId: kit.id,
    ...kit.credentials,
    apiUrl,
    profile: kit.profile,
    // real ccxt signs each request with its own Date.now(): the adapter's clock is the same real one
    clock: systemClock,
    ...over,
  });
}

/** The kit's exchange at `apiUrl`: 800 ms timeouts, two read attempts, a 500 ms request window; `over` changes any. */
export function testCcxtExchange(
  kit: ExchangeKit,
  apiUrl: string,
  over: Partial<CcxtExchangeOptions> = {},
): Promise<CcxtExchange> {
  return kitCcxtExchange(kit, apiUrl, {
    timeoutMs: 800,
    readRetry: QUICK_READ_RETRY,
    profile: kit.withRecvWindow(500),
    ...over,
  });
}

/**
 * The kit's exchange at `apiUrl` as the trading daemon is told it (its env): live mode, the exchange, its URL and the
 * kit's credentials (a password only where the exchange has one).
 */
export function liveDaemonEnv(kit: ExchangeKit, apiUrl: string): Record<string, string | undefined> {
  return {
    BYNINJA_MODE: 'live',
    BYNINJA__TRADING__EXCHANGE: kit.id,
    BYNINJA__TRADING__EXCHANGE_API_URL: apiUrl,
    EXCHANGE_API_KEY: kit.credentials.apiKey,
    EXCHANGE_SECRET: kit.credentials.secret,
    EXCHANGE_PASSWORD: kit.credentials.password,
  };
}

export interface LiveEngineOptions extends Omit<HarnessOptions, 'exchange' | 'clock'> {
  /** Changes to the test adapter (testCcxtExchange's `over`). */
  adapter?: Partial<CcxtExchangeOptions>;
  /** Wraps the adapter as the engine sees it (a spy); again at each restart. */
  wrapAdapter?: (adapter: Exchange) => Exchange;
}

/**
 * The engine on real files, trading through the test adapter to `apiUrl` (the local exchange, up or not yet), not
 * recovered yet. It runs on the REAL clock: real ccxt signs every request with its own Date.now() and the double
 * checks it, and ccxt's timeouts and the double's lags run on real time in a real HTTP server.
 */
export function openLiveEngine(
  kit: ExchangeKit,
  apiUrl: string,
  opts: LiveEngineOptions = {},
): Promise<EngineHarness> {
  const { adapter, wrapAdapter = (ex) => ex, ...harness } = opts;
  return EngineHarness.open({
    ...harness,
    clock: systemClock,
    exchange: async () => wrapAdapter(await testCcxtExchange(kit, apiUrl, adapter)),
  });
}

/** openLiveEngine, then recovered as a first start and running (closed again when that fails). */
export async function startLiveEngine(
  kit: ExchangeKit,
  apiUrl: string,
  opts: LiveEngineOptions = {},
): Promise<EngineHarness> {
  const h = await openLiveEngine(kit, apiUrl, opts);
  try {
    await h.loop.recover({ kind: 'first-start' });
  } catch (err) {
    await h.close();
    throw err;
  }
  h.loop.enterRunning();
  return h;
}

/**
 * Ticks `h`'s loop until `done` holds (at most `max` ticks, 50 ms apart); fails the test when it never does, saying
 * what `state` reports then (what a failure under load needs to be understood).
 */
export async function tickUntil(
  h: EngineHarness,
  done: () => boolean,
  max = 80,
  state?: () => unknown,
): Promise<void> {
  const started = Date.now();
  for (let i = 0; i < max && !done(); i++) {
    await h.loop.tick();
    if (!done()) await new Promise((r) => setTimeout(r, 50));
  }
  const seen = state ? `; then: ${JSON.stringify(state())}` : '';
  expect(done(), `condition not reached in ${max} ticks (${Date.now() - started} ms)${seen}`).to.equal(true);
}

/** The symbol and price of the tests of a position held while the exchange changes its rules. */
export const HELD_SYMBOL = 'BTC/USDT';
export const HELD_PRICE = 60_000;

/**
 * A 2 % stop-loss tried again 50 ms after a refusal, the daily markets reload a day away: only a refusal of the
 * symbol's rules (or a halt) brings the exchange's new rules in, at most every 200 ms.
 */
export const STOP_LOSS_ON_DAY_OLD_MARKETS = {
  risk: { stopLossPct: 2, takeProfitPct: 0 },
  marketsRefreshMs: 24 * 60 * 60 * 1000,
  haltedMarketsRefreshMs: 200,
  orders: { protectiveRefusalBackoffMs: 50 },
};

/**
 * The exchange's new minimum that no order can sell a HELD_SYMBOL holding of ~2,000 USDT (~0.033 BTC) below: the
 * least amount (Binance LOT_SIZE minQty, OKX minSz) raised to 0.05 BTC; on Bybit, which checks no least amount
 * (`minOrderQty` "deprecated, no longer check"), the least order value (`minOrderAmt`) raised to 5,000 USDT. `field`
 * is the market's rule it sets, `value` its new value; `back` the rules that undo it.
 */
export function minimumAboveHolding(
  kit: ExchangeKit,
  market: Pick<Market, 'minAmount' | 'minNotional'>,
): {
  rules: Partial<Pick<Market, 'minAmount' | 'minNotional'>>;
  back: Partial<Pick<Market, 'minAmount' | 'minNotional'>>;
  field: 'minAmount' | 'minNotional';
  value: number;
} {
  return kit.id === 'bybit'
    ? {
        rules: { minNotional: 5_000 },
        back: { minNotional: market.minNotional },
        field: 'minNotional',
        value: 5_000,
      }
    : { rules: { minAmount: 0.05 }, back: { minAmount: market.minAmount }, field: 'minAmount', value: 0.05 };
}

/** The kit's double with 10,000 USDT and no BTC, BTC/USDT pinned at HELD_PRICE. */
export async function startHeldSymbolDouble(kit: ExchangeKit): Promise<LocalExchange> {
  const fake = await kit.start({ candleMs: 300, balances: { USDT: 10_000, BTC: 0 } });
  fake.pinPrice(HELD_SYMBOL, HELD_PRICE);
  return fake;
}

/**
 * A live engine on `fake` trading HELD_SYMBOL only, 2,000 USDT per trade (`trading` on top: its risk merged), that
 * bought once and holds — its strategy says hold from then on; closed again if it never bought. The amount bought.
 */
export async function startHoldingLiveEngine(
  kit: ExchangeKit,
  fake: LocalExchange,
  trading: Record<string, unknown> & { risk?: Record<string, unknown> },
): Promise<{ h: EngineHarness; bought: number }> {
  const strategy = new ScriptedStrategy();
  const h = await startLiveEngine(kit, fake.url, {
    config: {
      trading: {
        mode: 'live',
        symbols: [HELD_SYMBOL],
        ...trading,
        risk: { stakePerTrade: 2_000, ...trading.risk },
      },
    },
    strategy,
  });
  const held = (): number => h.orderBook.positions()[HELD_SYMBOL]?.amount ?? 0;
  try {
    strategy.next = { action: 'enter-long', reason: 'test says buy' };
    await tickUntil(h, () => held() > 0);
    strategy.next = HOLD;
  } catch (err) {
    await h.close();
    throw err;
  }
  return { h, bought: held() };
}

/**
 * Runs `h` (recovered as a first start, then running) for ten ticks a quarter of `candleMs` apart, `strategy` holding;
 * how often it was asked, and the open time of each newest candle it was handed that had not ended on the exchange's
 * clock (the host's plus `skewMs()`, the double's) when it was asked: a candle still forming.
 */
export async function formingCandlesSeen(
  h: EngineHarness,
  strategy: ScriptedStrategy,
  candleMs: number,
  skewMs: () => number,
): Promise<{ asked: number; seen: number[] }> {
  const seen: number[] = [];
  let asked = 0;
  Object.assign(strategy, {
    evaluate: (candles: readonly Candle[]): Signal => {
      asked++;
      const newest = candles[candles.length - 1]![0];
      if (newest + candleMs > Date.now() + skewMs()) seen.push(newest);
      return HOLD;
    },
  });
  await h.loop.recover({ kind: 'first-start' });
  h.loop.enterRunning();
  for (let i = 0; i < 10; i++) {
    await h.loop.tick();
    await new Promise((r) => setTimeout(r, candleMs / 4));
  }
  return { asked, seen };
}
