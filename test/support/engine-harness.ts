/**
 * The real engine parts over real files in a temp dir, for integration tests: PaperExchange (own file, optional
 * fault injection), trading Store + history Journal (through openTradingStateFiles, lock included), EventLog,
 * OrderManager and TradingLoop. `restart()` closes everything and opens it again on the same files, as a process
 * restart would.
 *
 * All of them run on ONE clock, by default a FakeClock starting at FAKE_CLOCK_START that only the test moves: the
 * paper exchange's quotes, candles and limit matching, the loop's ticks and deadlines, the order manager's windows
 * and the files' stamps. A test ticks by hand (`loop.tick()`) and moves time between ticks (`nextCandle()`,
 * `fakeClock().advance()`), so the same test sees the same prices and the same decisions on every run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Clock } from '../../src/shared/clock';
import type { LocalOrder } from '../../src/trading/engine/orders/order-state';
import { configSchema, type Config } from '../../src/shared/config/schema';
import { EventLog } from '../../src/shared/ipc/event-log';
import type { TradingEvent } from '../../src/shared/ipc/protocol';
import { createLogger, LOG_LEVELS, silentLogger, type Logger } from '../../src/shared/logging/logger';
import type { EventPublisher } from '../../src/trading/engine/state/event-outbox';
import type { OrderBook } from '../../src/trading/engine/orders/order-book';
import type { OrderManager } from '../../src/trading/engine/orders/order-manager';
import { wireOrders, type OrderParts } from '../../src/trading/engine/orders/order-parts';
import type { StateStore } from '../../src/trading/engine/state/state-gateway';
import { openTradingStateFiles, type TradingStateFiles } from '../../src/trading/engine/state/state-files';
import { TradingLoop } from '../../src/trading/engine/trading-loop';
import type { Candle, Exchange } from '../../src/trading/exchange/exchange';
import { PaperExchange } from '../../src/trading/exchange/paper-exchange';
import { SimulatedPriceFeed } from '../../src/trading/exchange/price-feed';
import { SimulatedMarket } from '../../src/trading/exchange/simulated-market';
import { HOLD, type Signal, type Strategy, type StrategyContext } from '../../src/trading/strategy/strategy';
import { createStrategy } from '../../src/trading/strategy/create-strategy';
import { FAKE_CLOCK_START, FakeClock, flush } from './fake-clock';
import { ExchangeFaults, withFaults, type ExchangeFaultOptions } from '../../harness/faults/exchange-faults';
import { localOrder } from './local-order';

export interface HarnessOptions {
  config?: Record<string, unknown>;
  /** Faults injected into the paper exchange's calls (harness/faults/exchange-faults.ts). */
  faults?: ExchangeFaultOptions;
  /** Wraps the paper exchange (spies, slow or failing calls). */
  wrapExchange?: (paper: PaperExchange) => Exchange;
  /** Another exchange instead of the paper one (e.g. real ccxt against a local Binance); closed by close(). */
  exchange?: () => Promise<Exchange>;
  /** Markets are not loaded by open(): the test calls `loop.connect()` (an exchange that is not up yet). */
  connectLater?: boolean;
  wrapStore?: (store: StateStore) => StateStore;
  /** Wraps the event log as the order manager sees it (failing publishes). */
  wrapEvents?: (log: EventLog) => EventPublisher;
  strategy?: Strategy;
  recentFinalKept?: number;
  dir?: string;
  /**
   * The one clock of the engine, the paper exchange and its simulated market (default a new FakeClock at
   * FAKE_CLOCK_START; `restart()` keeps it). `systemClock` runs everything on real time: only for a test about real
   * concurrency (calls that overlap while real I/O or a real server takes its time), which says why.
   */
  clock?: Clock;
  /** The engine's logger, to assert what it logs (test/support/capture-logger.ts); default silent. */
  logger?: Logger;
}

/** A strategy that answers what the test sets (or throws it), and records what it was asked on. */
export class ScriptedStrategy implements Strategy {
  readonly name = 'scripted';
  readonly minCandles = 2;
  next: Signal | Error = HOLD;
  /** Each time it was asked: the newest candle's open time and close, and how many candles were new. */
  readonly asked: { newest: number; close: number; newCandles: number }[] = [];
  evaluate(candles: readonly Candle[], ctx: StrategyContext): Signal {
    const last = candles[candles.length - 1];
    this.asked.push({ newest: last[0], close: last[4], newCandles: ctx.newCandles });
    if (this.next instanceof Error) throw this.next;
    return this.next;
  }
}

/** The install id of every state the harness creates. */
export const TEST_INSTALL_ID = 'tst000';

/** The clientOrderId of the n-th order the harness's manager places. */
export function orderId(n: number): string {
  return `bot-${TEST_INSTALL_ID}-${n}`;
}

/** A small market buy on the harness's symbol (the order most tests place). */
export const MARKET_BUY = {
  symbol: 'BTC/USDT',
  side: 'buy' as const,
  type: 'market' as const,
  amount: 0.001,
  purpose: 'entry' as const,
};

/**
 * An order as its write-ahead intent left it 5 s before `now` (default the harness's fake start time), with
 * `over` applied.
 */
export function intent(
  clientOrderId: string,
  over: Partial<LocalOrder> = {},
  now = FAKE_CLOCK_START,
): LocalOrder {
  const at = now - 5_000;
  return localOrder({ clientOrderId, amount: 0.001, createdAt: at, updatedAt: at, sentAt: at, ...over });
}

export function testConfig(overrides: Record<string, unknown> = {}): Config {
  const base = {
    app: { botId: 'bot' },
    trading: {
      symbols: ['BTC/USDT'],
      tickIntervalMs: 50,
      paper: { candleMs: 100 },
      // the paper exchange knows every order at once: one miss after a short window decides an unknown order
      // here (the unknown-order rule itself is tested with its defaults in order-manager.test.ts)
      orders: { unknownNotFoundMisses: 1, unknownNotFoundWindowMs: 100 },
    },
  };
  return configSchema().parse(deepMerge(base, overrides));
}

export class EngineHarness {
  readonly events: TradingEvent[] = [];
  /** The faults injected into the paper exchange's calls, when `faults` was given. */
  faults?: ExchangeFaults;
  private constructor(
    readonly dir: string,
    readonly config: Config,
    readonly paper: PaperExchange,
    readonly exchange: Exchange,
    readonly files: TradingStateFiles,
    readonly eventLog: EventLog,
    /** The order side as the daemon wires it (order-parts.ts). */
    readonly orders: OrderParts,
    readonly loop: TradingLoop,
    readonly clock: Clock,
    private readonly opts: HarnessOptions,
  ) {
    eventLog.subscribe(0, (e) => this.events.push(e));
  }

  /** Placement and resolution (order-manager.ts). */
  get manager(): OrderManager {
    return this.orders.manager;
  }

  /** The orders and positions, read-only (order-book.ts). */
  get orderBook(): OrderBook {
    return this.orders.orderBook;
  }

  static async open(opts: HarnessOptions = {}): Promise<EngineHarness> {
    const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-engine-'));
    const config = testConfig(opts.config);
    // BYNINJA_TEST_LOG=debug shows the engine's log while debugging a test
    const level = LOG_LEVELS.find((l) => l === process.env.BYNINJA_TEST_LOG);
    const logger = opts.logger ?? (level ? createLogger({ service: 'harness', level }) : silentLogger());
    const t = config.trading;
    const clock = opts.clock ?? new FakeClock();
    const paper = await PaperExchange.open({
      dataDir: dir,
      feed: new SimulatedPriceFeed(
        new SimulatedMarket({
          seed: t.paper.seed,
          volatility: t.paper.volatility,
          candleMs: t.paper.candleMs,
        }),
        t.symbols,
      ),
      settings: t.paper,
      clock,
      logger,
    });
    const faults = opts.faults ? new ExchangeFaults(opts.faults) : undefined;
    const faulty = faults ? withFaults(paper, faults) : paper;
    const exchange = opts.exchange
      ? await opts.exchange()
      : opts.wrapExchange
        ? opts.wrapExchange(paper)
        : faulty;
    const files = await openTradingStateFiles(dir, logger, clock);
    // a fresh state gets a fixed install id, so tests can name the orders: bot-tst000-1, bot-tst000-2…
    if (files.store.openReport.created) {
      await files.store.commit((d) => {
        d.installId = TEST_INSTALL_ID;
      });
    }
    const eventLog = await EventLog.open(dir, { retention: 1000, clock });
    const markets = opts.connectLater ? {} : await exchange.loadMarkets();
    const orders = wireOrders({
      exchange,
      store: opts.wrapStore ? opts.wrapStore(files.store) : files.store,
      history: files.history,
      publisher: opts.wrapEvents ? opts.wrapEvents(eventLog) : eventLog,
      markets,
      botId: config.app.botId,
      orders: t.orders,
      lookupTimeoutMs: t.symbolReadTimeoutMs,
      maxTickerAgeMs: t.maxTickerAgeMs,
      clock,
      logger,
      recentFinalKept: opts.recentFinalKept,
    });
    const loop = new TradingLoop({
      orders,
      exchange,
      strategy: opts.strategy ?? createStrategy(t.strategy),
      config: t,
      clock,
      logger,
    });
    const h = new EngineHarness(dir, config, paper, exchange, files, eventLog, orders, loop, clock, opts);
    h.faults = faults;
    return h;
  }

  /** Closes everything and opens the same files again, like a process restart. */
  async restart(over: Partial<HarnessOptions> = {}): Promise<EngineHarness> {
    await this.close(false);
    return EngineHarness.open({ ...this.opts, ...over, dir: this.dir, clock: this.clock });
  }

  /** The harness's fake clock (throws for a harness opened on the real clock). */
  fakeClock(): FakeClock {
    if (!(this.clock instanceof FakeClock)) throw new Error('this harness runs on the real clock');
    return this.clock;
  }

  /** Moves time one candle on (the paper market's next candle closes), firing what came due on the way. */
  nextCandle(): Promise<void> {
    const candleMs = this.config.trading.paper.candleMs;
    return this.fakeClock().advance(candleMs, candleMs);
  }

  eventTypes(): string[] {
    return this.events.map((e) => e.type);
  }

  /** The paper exchange's own file, as it is on disk. */
  paperFile(): {
    orders: Record<string, { clientOrderId?: string; status: string }>;
    balances: Record<string, { free: number; used: number }>;
  } {
    return JSON.parse(fs.readFileSync(path.join(this.dir, 'paper-exchange.json'), 'utf8')).data;
  }

  stateFile(): { seq: number; orders: Record<string, { status: string }> } {
    return JSON.parse(fs.readFileSync(path.join(this.dir, 'trading-state.json'), 'utf8')).data;
  }

  async close(removeDir = true): Promise<void> {
    let stopped = false;
    const stopping = this.loop.stop().then(
      () => (stopped = true),
      () => (stopped = true),
    );
    await flush();
    if (!stopped && this.clock instanceof FakeClock) {
      // a call still hangs (a failed test): let stop's two inFlightWaitMs deadlines pass instead of waiting forever
      const wait = this.config.trading.orders.inFlightWaitMs;
      await this.clock.advance(2 * wait, wait);
    }
    await stopping;
    await this.files.close().catch(() => {});
    await this.eventLog.close().catch(() => {});
    if (this.opts.exchange) await this.exchange.close().catch(() => {});
    await this.paper.close().catch(() => {});
    if (removeDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      v &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      prev &&
      typeof prev === 'object' &&
      !Array.isArray(prev)
        ? deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}
