import { setTimeout as sleep } from 'node:timers/promises';
/**
 * Hung order lookups, through real ccxt against the local Binance: one symbol's never hold another symbol's
 * stop-loss (review s23, finding 1: the next tick skips the busy symbol instead of waiting for it), and a lookup is
 * given up at its deadline (the read deadline), so it holds neither its own symbol's stop-loss nor close-all for all
 * of ccxt's timeout and retries. Real clock, as in live-exchanges.suite.ts: real ccxt timeouts and a real HTTP server
 * are what make the lookups hang.
 */
import { expect } from 'chai';
import type { Exchange } from '../../../src/trading/exchange/exchange';
import type { Signal } from '../../../src/trading/strategy/strategy';
import { HOLD } from '../../../src/trading/strategy/strategy';
import { binanceKit as kit } from '../../../harness/exchanges/exchange-kits';
import type { LocalExchange, LocalExchangeOptions } from '../../../harness/exchanges/local-exchange';
import { EngineHarness, ScriptedStrategy } from '../../support/engine-harness';
import {
  callsTo,
  recordCalls,
  requestOf,
  symbolOf,
  type RecordedCall,
} from '../../support/exchange-overrides';
import { closeAfterEach } from '../../support/close-after-each';
import { QUICK_READ_RETRY, startLiveEngine } from '../../support/live-engine';

const BTC = 'BTC/USDT';
const ETH = 'ETH/USDT';
const ENTER: Signal = { action: 'enter-long', reason: 'test says buy' };

/** The exchange with every call recorded: its order lookups, creates and cancels, oldest first. */
function recorded(exchange: Exchange) {
  const { exchange: proxy, calls } = recordCalls(exchange);
  return {
    exchange: proxy,
    lookups: (): RecordedCall[] => callsTo(calls, 'fetchOrder', 'fetchOrderByClientId'),
    creates: (): RecordedCall[] => callsTo(calls, 'createOrder'),
    cancels: (): RecordedCall[] => callsTo(calls, 'cancelOrder'),
  };
}

describe("a symbol's hung order lookups and another symbol's stop-loss (real ccxt, local Binance)", function () {
  this.timeout(60_000);
  let fake: LocalExchange | undefined;
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h, fake]);

  /** The live engine on `symbols` (read and lookup deadline 1 s), its exchange recorded. */
  async function open(
    symbols: string[],
    opts: { fake?: Partial<LocalExchangeOptions>; orderType?: 'market' | 'limit' } = {},
  ): Promise<{ engine: EngineHarness; spy: ReturnType<typeof recorded>; strategy: ScriptedStrategy }> {
    fake = await kit.start({ candleMs: 300, balances: { USDT: 10_000, BTC: 1 }, ...opts.fake });
    const strategy = new ScriptedStrategy();
    let spy: ReturnType<typeof recorded> | undefined;
    h = await startLiveEngine(kit, fake.url, {
      config: {
        trading: {
          mode: 'live',
          symbols,
          symbolReadTimeoutMs: 1_000,
          risk: { stopLossPct: 2, takeProfitPct: 0 },
          orders: {
            unknownNotFoundMisses: 3,
            unknownNotFoundWindowMs: 1_000,
            createTimeoutMs: 800,
            type: opts.orderType ?? 'market',
          },
        },
      },
      strategy,
      // each ETH lookup: 8 attempts of 800 ms that time out, ~7.5 s (the production 4 × 10 s is ~42 s)
      adapter: { readRetry: { ...QUICK_READ_RETRY, maxAttempts: 8 } },
      wrapAdapter: (exchange) => {
        spy = recorded(exchange);
        return spy.exchange;
      },
    });
    return { engine: h, spy: spy!, strategy };
  }

  const position = (symbol: string): number => h!.orderBook.positions()[symbol]?.amount ?? 0;

  /** BTC bought; ETH's buy taken but its answer never came, and no lookup of it answers: one is hanging. */
  async function btcBoughtEthHanging(): Promise<{
    engine: EngineHarness;
    spy: ReturnType<typeof recorded>;
    hanging: RecordedCall[];
  }> {
    const { engine, spy, strategy } = await open([BTC, ETH]);
    // ETH's buy is taken and its answer never comes; then no lookup of it ever answers
    fake!.fault('createOrder', { kind: 'taken-then-hang' }, ETH);
    for (let i = 0; i < 1_000; i++) fake!.fault('fetchOrder', { kind: 'timeout' }, ETH);
    strategy.next = ENTER;
    for (let i = 0; i < 100 && !(position(BTC) > 0); i++) {
      await engine.loop.tick();
      await sleep(50);
    }
    expect(position(BTC), 'BTC bought').to.be.greaterThan(0);
    strategy.next = HOLD;
    // an ETH lookup is hanging (ticks start ETH's lane until one does)
    for (let i = 0; i < 100 && !spy.lookups().some((l) => symbolOf(l) === ETH && !l.done); i++) {
      await engine.loop.tick();
      await sleep(50);
    }
    const hanging = spy.lookups().filter((l) => symbolOf(l) === ETH && !l.done);
    expect(hanging, 'an ETH lookup hangs').to.not.deep.equal([]);
    return { engine, spy, hanging };
  }

  it("sends BTC's stop-loss within two ticks of the drop while ETH's lookups still hang", async () => {
    const { engine, spy, hanging } = await btcBoughtEthHanging();
    const entry = engine.orderBook.hotOrders().find((o) => o.symbol === BTC && o.side === 'buy')!;
    fake!.pinPrice(BTC, Number((entry.averagePrice! * 0.95).toFixed(2)));
    const stopLoss = (): boolean =>
      engine.orderBook.hotOrders().some((o) => o.symbol === BTC && o.purpose === 'stop-loss');
    for (let i = 0; i < 2 && !stopLoss(); i++) await engine.loop.tick();

    expect(stopLoss(), 'BTC stop-loss sent within two ticks of the drop').to.equal(true);
    const sell = spy.creates().find((c) => symbolOf(c) === BTC && requestOf(c).side === 'sell')!;
    // on main the tick waited for ETH's lane: the lookup that hung before the drop had ended before BTC's sell
    expect(
      hanging.filter((l) => sell.running.includes(l)),
      "BTC's sell sent while ETH's lookup from before the drop still hung",
    ).to.deep.equal(hanging);
    expect(engine.orderBook.hotOrders().find((o) => o.symbol === ETH)!.status).to.equal('unknown');
  });

  it("gives up a hung lookup at the read deadline: the symbol's own stop-loss cancels its entry while it still hangs", async () => {
    const { engine, spy, strategy } = await open([BTC], {
      fake: { limitFillSlices: 4, matchIntervalMs: 60_000 },
      orderType: 'limit',
    });
    // a limit entry rests at a steady price, then one slice of four fills: a position and a working order
    fake!.pinPrice(BTC, 60_000);
    strategy.next = ENTER;
    await engine.loop.tick();
    strategy.next = HOLD;
    const entry = engine.orderBook.hotOrders().find((o) => o.symbol === BTC)!;
    expect(entry).to.include({ status: 'open', type: 'limit' });
    fake!.pinPrice(BTC, entry.price! - 10);
    for (
      let i = 0;
      i < 60 && engine.orderBook.order(entry.clientOrderId)!.status !== 'partially_filled';
      i++
    ) {
      await engine.loop.tick();
      await sleep(50);
    }
    expect(engine.orderBook.order(entry.clientOrderId)!.status).to.equal('partially_filled');
    // from now on no lookup of the order answers (each: 8 attempts of 800 ms, ~7.5 s)
    for (let i = 0; i < 1_000; i++) fake!.fault('fetchOrder', { kind: 'timeout' }, BTC);
    for (let i = 0; i < 20 && !spy.lookups().some((l) => !l.done); i++) await engine.loop.tick();
    const hanging = spy.lookups().filter((l) => !l.done);
    expect(hanging, 'a lookup of the entry hangs').to.not.deep.equal([]);
    // the rest of that tick's work on the symbol (its price read) is done: the next tick's settle meets the hung lookup
    await sleep(300);

    // the stop-loss fires: its first step, the entry's cancel, is the symbol's own work
    fake!.pinPrice(BTC, Number((entry.price! * 0.95).toFixed(2)));
    for (let i = 0; i < 2 && spy.cancels().length === 0; i++) await engine.loop.tick();
    expect(spy.cancels().map(symbolOf), 'the entry cancelled within two ticks of the drop').to.deep.equal([
      BTC,
    ]);
    // on main the lookup held the symbol's lane for all of its retries: the ticks skipped the symbol meanwhile
    expect(
      hanging.filter((l) => spy.cancels()[0].running.includes(l)),
      'cancel sent while the lookup from before the drop still hung',
    ).to.deep.equal(hanging);
    // the lookup given up changed nothing: the order stays working, no sell placed while it is not settled
    expect(engine.orderBook.order(entry.clientOrderId)!.status).to.equal('partially_filled');
    expect(engine.orderBook.hotOrders().filter((o) => o.side === 'sell')).to.deep.equal([]);
    expect(
      spy.lookups().filter((l) => !l.done),
      'no second lookup of the order while one hangs',
    ).to.have.length(hanging.length);
  });

  it("close-all sells BTC at once while ETH's lookup hangs, and says it left ETH alone", async () => {
    const { engine, spy, hanging } = await btcBoughtEthHanging();
    const result = await engine.loop.closeAll();

    const sells = spy.creates().filter((c) => requestOf(c).side === 'sell');
    expect(sells.map(symbolOf), 'BTC sold, nothing sold on ETH').to.deep.equal([BTC]);
    // on main close-all waited for ETH's lane, then looked ETH's order up itself: the hung lookups had ended
    expect(
      hanging.filter((l) => sells[0].running.includes(l)),
      "BTC's sell sent while ETH's lookup still hung",
    ).to.deep.equal(hanging);
    expect(result.orders).to.have.length(1);
    expect(
      engine.orderBook.openPositions().map((p) => p.symbol),
      'BTC closed (dust aside)',
    ).to.not.include(BTC);
    const eth = result.skipped.find((s) => s.symbol === ETH);
    expect(eth?.reason, 'the reply says what close-all could not do on ETH').to.match(/look ?up/);
    expect(engine.orderBook.hotOrders().find((o) => o.symbol === ETH)!.status).to.equal('unknown');
  });
});
