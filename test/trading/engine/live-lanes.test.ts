/**
 * One symbol's hung order lookups never hold another symbol's stop-loss, through real ccxt against the local
 * Binance (review s23, finding 1): the next tick skips the busy symbol instead of waiting for it. Real clock, as in
 * live-exchanges.test.ts: real ccxt timeouts and a real HTTP server are what make the lookups hang.
 */
import { expect } from 'chai';
import { systemClock } from '../../../src/shared/clock';
import type { Exchange } from '../../../src/trading/exchange/exchange';
import { CcxtExchange } from '../../../src/trading/exchange/ccxt-exchange';
import type { Signal } from '../../../src/trading/strategy/strategy';
import { HOLD } from '../../../src/trading/strategy/strategy';
import { binanceKit as kit } from '../../../harness/exchanges/exchange-kits';
import type { LocalExchange } from '../../../harness/exchanges/local-exchange';
import { EngineHarness, ScriptedStrategy } from '../../support/engine-harness';

const BTC = 'BTC/USDT';
const ETH = 'ETH/USDT';
const ENTER: Signal = { action: 'enter-long', reason: 'test says buy' };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** An order lookup of the engine's, from its call to its answer (or failure). */
interface Lookup {
  symbol: string;
  done: boolean;
}

/** The exchange with its order lookups recorded, and which ETH lookups were running when each create was sent. */
function recorded(exchange: Exchange): {
  exchange: Exchange;
  lookups: Lookup[];
  creates: Array<{ symbol: string; side: string; running: Lookup[] }>;
} {
  const lookups: Lookup[] = [];
  const creates: Array<{ symbol: string; side: string; running: Lookup[] }> = [];
  const proxy = new Proxy(exchange, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const call = (...args: unknown[]): Promise<unknown> =>
        (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      if (prop === 'fetchOrder' || prop === 'fetchOrderByClientId') {
        return (...args: unknown[]) => {
          const lookup: Lookup = { symbol: args[1] as string, done: false };
          lookups.push(lookup);
          return call(...args).finally(() => (lookup.done = true));
        };
      }
      if (prop === 'createOrder') {
        return (...args: unknown[]) => {
          const request = args[0] as { symbol: string; side: string };
          creates.push({ ...request, running: lookups.filter((l) => !l.done) });
          return call(...args);
        };
      }
      return call;
    },
  });
  return { exchange: proxy, lookups, creates };
}

describe("a symbol's hung order lookups and another symbol's stop-loss (real ccxt, local Binance)", function () {
  this.timeout(60_000);
  let fake: LocalExchange | undefined;
  let h: EngineHarness | undefined;
  afterEach(async () => {
    await h?.close();
    await fake?.close();
    h = undefined;
    fake = undefined;
  });

  it("sends BTC's stop-loss within two ticks of the drop while ETH's lookups still hang", async () => {
    fake = await kit.start({ candleMs: 300, balances: { USDT: 10_000, BTC: 1 } });
    const strategy = new ScriptedStrategy();
    let spy: ReturnType<typeof recorded> | undefined;
    h = await EngineHarness.open({
      config: {
        trading: {
          mode: 'live',
          symbols: [BTC, ETH],
          symbolReadTimeoutMs: 1_000,
          risk: { stopLossPct: 2, takeProfitPct: 0 },
          orders: { unknownNotFoundMisses: 3, unknownNotFoundWindowMs: 1_000, createTimeoutMs: 800 },
        },
      },
      strategy,
      clock: systemClock, // real ccxt timeouts against a real local server
      exchange: async () => {
        spy = recorded(
          await CcxtExchange.create({
            exchangeId: kit.id,
            ...kit.credentials,
            apiUrl: fake!.url,
            timeoutMs: 800,
            // each ETH lookup: 8 attempts of 800 ms that time out, ~7.5 s (the production 4 × 10 s is ~42 s)
            readRetry: { maxAttempts: 8, baseDelayMs: 50, maxDelayMs: 200, random: () => 0 },
            profile: kit.withRecvWindow(500),
          }),
        );
        return spy.exchange;
      },
    });
    await h.loop.recover({ kind: 'first-start' });
    h.loop.enterRunning();
    const lookups = spy!.lookups;
    const position = (symbol: string): number => h!.manager.positions()[symbol]?.amount ?? 0;

    // ETH's buy is taken and its answer never comes; then no lookup of it ever answers
    fake.fault('createOrder', { kind: 'taken-then-hang' }, ETH);
    for (let i = 0; i < 1_000; i++) fake.fault('fetchOrder', { kind: 'timeout' }, ETH);
    strategy.next = ENTER;
    for (let i = 0; i < 100 && !(position(BTC) > 0); i++) {
      await h.loop.tick();
      await sleep(50);
    }
    expect(position(BTC), 'BTC bought').to.be.greaterThan(0);
    strategy.next = HOLD;
    // an ETH lookup is hanging (ticks start ETH's lane until one does)
    for (let i = 0; i < 100 && !lookups.some((l) => l.symbol === ETH && !l.done); i++) {
      await h.loop.tick();
      await sleep(50);
    }
    const hanging = lookups.filter((l) => l.symbol === ETH && !l.done);
    expect(hanging, 'an ETH lookup hangs').to.not.deep.equal([]);

    const entry = h.manager.hotOrders().find((o) => o.symbol === BTC && o.side === 'buy')!;
    fake.pinPrice(BTC, Number((entry.averagePrice! * 0.95).toFixed(2)));
    const stopLoss = (): boolean =>
      h!.manager.hotOrders().some((o) => o.symbol === BTC && o.purpose === 'stop-loss');
    for (let i = 0; i < 2 && !stopLoss(); i++) await h.loop.tick();

    expect(stopLoss(), 'BTC stop-loss sent within two ticks of the drop').to.equal(true);
    const sell = spy!.creates.find((c) => c.symbol === BTC && c.side === 'sell')!;
    // on main the tick waited for ETH's lane: the lookup that hung before the drop had ended before BTC's sell
    expect(
      hanging.filter((l) => sell.running.includes(l)),
      "BTC's sell sent while ETH's lookup from before the drop still hung",
    ).to.deep.equal(hanging);
    expect(h.manager.hotOrders().find((o) => o.symbol === ETH)!.status).to.equal('unknown');
  });
});
