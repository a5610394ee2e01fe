/**
 * The engine's parts, built and wired once for a TradingLoop (the loop only schedules them): who gets what. Each
 * part has one job — see docs/architecture.md "The engine" for the map.
 */
import { StaleTickers } from './exchange-watch/stale-tickers';
import type { Clock } from '../../shared/clock';
import type { Config } from '../../shared/config/schema';
import type { Logger } from '../../shared/logging/logger';
import { exchangeClock, type Exchange } from '../exchange/exchange';
import type { Strategy } from '../strategy/strategy';
import { AccountWatch } from './tick/account-watch';
import { EntryPause } from './operator/entry-pause';
import { ExchangeHealth } from './exchange-watch/exchange-health';
import { ExchangeReads } from './exchange-watch/exchange-reads';
import { settleInFlight } from './tick/in-flight-settle';
import { InferredOrderWatch } from './tick/inferred-orders';
import { OnceLog } from './log-once';
import { LoopTurns } from './loop-turns';
import { MarketRefresh } from './start/market-refresh';
import { OperatorActions } from './operator/operator-actions';
import type { OrderParts } from './orders/order-parts';
import { readPlacementFacts } from './decide/placement-facts';
import { splitSymbol } from './books/pnl';
import { ShortfallWatch } from './tick/shortfall-watch';
import { StartUp } from './start/start-up';
import { SymbolTick } from './tick/symbol-tick';
import { TickErrorHandler } from './exchange-watch/tick-error-handler';
import { symbolsToWatch } from './tick/watched-symbols';

/** What the engine is built from (TradingLoopOptions adds the loop's own). */
export interface EngineOptions {
  /** The order side, wired once (order-parts.ts). */
  orders: OrderParts;
  exchange: Exchange;
  strategy: Strategy;
  config: Config['trading'];
  clock: Clock;
  logger: Logger;
}

export interface EngineWiring extends EngineOptions {
  activity: (what: string) => void;
  /** Aborted when trading stops. */
  controller: AbortController;
}

export type EngineParts = ReturnType<typeof buildEngineParts>;

export function buildEngineParts(w: EngineWiring) {
  const { orders, exchange, config, clock, logger } = w;
  // placement and resolution; the order jobs other parts drive, each held directly (wired once: order-parts.ts)
  const { manager, refresher, canceller, answers, rechecks, adoption } = orders;
  // the state's gateway (commits, pause, risk), held directly by the parts that read or change it
  const { state } = orders;
  // the orders' and positions' reads (order-book.ts), held directly by every part that reads them
  const { orderBook, outbox } = orders;
  const lastPrices = orderBook.lastPrices;
  const quoteCurrency = splitSymbol(config.symbols[0]).quote;
  const reads = new ExchangeReads(config.symbolReadTimeoutMs, clock);
  const turns = new LoopTurns(clock, config.symbolReadTimeoutMs);
  const onceLog = new OnceLog(logger);
  const watched = (): string[] => symbolsToWatch(orderBook, config.symbols, onceLog);
  const markets = new MarketRefresh({
    orderBook,
    state,
    exchange,
    clock,
    logger,
    reads,
    refreshMs: config.marketsRefreshMs,
    haltedRefreshMs: config.haltedMarketsRefreshMs,
    rulesRefusedAt: () => manager.marketRulesRefusedAt,
  });
  const health = new ExchangeHealth({
    exchangeId: exchange.id,
    outbox,
    clock,
    logger,
    onceLog,
    alertAfterMs: config.unreachableAlertMs,
  });
  const engineClock = exchangeClock(clock, exchange);
  const pauses: EntryPause = new EntryPause({
    state,
    outbox,
    clock,
    exchangeClock: engineClock,
    logger,
    peakSafeEquity: () => account.peakSafeEquity,
  });
  const errors = new TickErrorHandler({
    logger,
    onceLog,
    health,
    pauseEntries: (reason, by, takeOver, clientOrderId) => pauses.pause(reason, by, takeOver, clientOrderId),
  });
  const shortfalls = new ShortfallWatch({
    orderBook,
    state,
    clock,
    exchangeClock: engineClock,
    logger,
    settleWindowMs: config.orders.unknownNotFoundWindowMs,
  });
  const inferred = new InferredOrderWatch({
    orderBook,
    state,
    clock,
    notCarriedOutAfterMs: config.orders.unknownNotFoundWindowMs,
    watched,
  });
  const account: AccountWatch = new AccountWatch({
    orderBook,
    outbox,
    state,
    exchange,
    reads,
    exchangeClock: engineClock,
    risk: config.risk,
    quoteCurrency,
    lastPrices,
    settleOrders: () =>
      settleInFlight(
        {
          pendingOrders: (symbol) => orderBook.pendingOrders(symbol),
          refresh: (id) => refresher.refresh(id),
        },
        turns.lanes,
        onceLog,
      ),
    onceLog,
    pauseEntries: (reason, by) => pauses.pause(reason, by),
    resumeEntries: (by) => pauses.resume(by),
    shortfalls,
    inferred,
  });
  const staleTickers = new StaleTickers({
    exchangeId: exchange.id,
    state,
    logger,
    clockOffsetMs: () => exchange.clockOffsetMs?.() ?? 0,
  });
  const symbols = new SymbolTick({
    manager,
    orderBook,
    outbox,
    state,
    refresher,
    canceller,
    exchange,
    strategy: w.strategy,
    config,
    clock,
    exchangeClock: engineClock,
    logger,
    reads,
    onceLog,
    lastPrices,
    exitHeld: (held) => markets.exitHeld(held),
    balance: () => account.balance,
    balanceSentAt: () => account.balanceSentAt,
    shortfalls,
    inferred,
    staleTickers,
  });
  const operator = new OperatorActions({
    manager,
    orderBook,
    state,
    answers,
    rechecks,
    refresher,
    canceller,
    exchange,
    config,
    clock,
    exchangeClock: engineClock,
    logger,
    reads,
    turns,
    inferred,
    shortfalls,
    lastPrices,
    symbolsToWatch: watched,
    markets,
    placementFacts: (symbol) =>
      readPlacementFacts({ manager, orderBook, state, config, clock, inferred, exchange }, symbol),
    pauseEntries: (reason, by, takeOver) => pauses.pause(reason, by, takeOver),
  });
  const startUp = new StartUp({
    manager,
    orderBook,
    outbox,
    state,
    adoption,
    answers,
    refresher,
    canceller,
    rechecks,
    exchange,
    config,
    clock,
    logger,
    activity: w.activity,
    controller: w.controller,
    health,
    onceLog,
    reads,
    account,
    markets,
    errors,
    symbolsToWatch: watched,
    pauses,
  });
  return {
    /** The exchange calls in flight (the stop waits for them). */
    calls: orders.calls,
    /** The never-placed orders' recheck (the loop runs it each tick). */
    rechecks,
    /** The state's gateway (the loop probes a blocked disk through it). */
    state,
    /** The orders and positions (the loop's heartbeat and recheck read them). */
    orderBook,
    /** The event outbox (the loop drains it each tick). */
    outbox,
    quoteCurrency,
    exchangeClock: engineClock,
    turns,
    onceLog,
    markets,
    health,
    pauses,
    errors,
    account,
    symbols,
    operator,
    startUp,
    symbolsToWatch: watched,
  };
}
