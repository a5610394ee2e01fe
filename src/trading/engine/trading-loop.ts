/**
 * The engine's scheduler: starting → waiting-exchange → recovering → trading (running ⇄ paused) → stopping; the
 * state is derived from the phase and the pause (loop-state.ts).
 *
 * Each tick, between operator actions (close-all and reconcile run between ticks: reconcile once every symbol's lane
 * is free, `serialize`; close-all leaves a symbol still busy after the lookup deadline alone): pending events
 * drained, markets reloaded when due, balance → equity → kill switch, then every symbol on its own lane, side by
 * side (symbol-tick.ts: settle, price, `decideSymbol`, at most one order — whether an order may be placed is the
 * placement gate's one answer, placement-gate.ts), then orders declared never placed looked up again when due, then
 * old orders are archived. A tick never waits for a busy lane (symbol-lanes.ts): a symbol whose work (a slow create
 * or cancel) outlasts the read deadline keeps its lane and is skipped by the next ticks until it is done, so one
 * slow symbol never delays another's stop-loss; an order lookup is given up at that deadline (OrderManager
 * `lookupTimeoutMs`), so it holds its lane no longer.
 *
 * Errors are handled by class (tick-errors.ts): temporary → log once, retry next tick, and an
 * `exchange.unreachable` event when it lasts longer than `unreachableAlertMs` (`exchange.recovered` after);
 * strategy → skip the symbol this tick; operational (and an order the exchange no longer shows that could not be
 * settled yet: that cause holds until it is) → pause entries with a `trading.paused` event, keep running; a pause
 * holds every cause that joined it and lifts by itself only once none holds (pause-causes.ts);
 * persistence → no new orders until a commit succeeds;
 * anything else → thrown out of `run()` (the process exits 1 and PM2 restarts it).
 *
 * "Paused" stops entries only: exits (strategy, stop-loss, take-profit) keep running so risk can shrink.
 */
import type { Clock } from '../../shared/clock';
import type { Config } from '../../shared/config/schema';
import { withDeadline } from '../../shared/deadline';
import type {
  CloseAllResult,
  InDoubtOrderView,
  LastExit,
  LoopState,
  ReconcileDifference,
  RecoverySummary,
} from '../../shared/ipc/protocol';
import type { Logger } from '../../shared/logging/logger';
import { exchangeClock, type BalanceEntry, type Exchange, type Market } from '../exchange/exchange';
import type { Strategy } from '../strategy/strategy';
import { AccountWatch } from './account-watch';
import { EntryPause } from './entry-pause';
import type { ConnectReads } from './connect-reads';
import { ExchangeHealth } from './exchange-health';
import { ExchangeReads } from './exchange-reads';
import { OnceLog } from './log-once';
import { Heartbeat } from './heartbeat';
import { settleInFlight } from './in-flight-settle';
import { watchedSymbols } from './watched-symbols';
import { loopStateOf, type LoopPhase } from './loop-state';
import { MarketRefresh } from './market-refresh';
import { rateLimitNotice } from './reachability';
import type { OrderManager } from './order-manager';
import { lookedUpAgain } from './never-placed-recheck';
import { StartUp } from './start-up';
import { isFinal } from './order-state';
import { splitSymbol } from './pnl';
import type { RecoveryReads } from './recovery-reads';
import { InferredOrderWatch } from './inferred-orders';
import type { SettleDecision, SettleRequest } from './operator-settle';
import { ShortfallWatch } from './shortfall-watch';
import { RECHECK_LANE } from './symbol-lanes';
import { LoopTurns } from './loop-turns';
import { OperatorActions } from './operator-actions';
import { SymbolTick } from './symbol-tick';
import { pauseSummary } from './pause-causes';
import { readPlacementFacts } from './placement-facts';
import { TickErrorHandler } from './tick-error-handler';
import type { PauseSource, PauseState } from './trading-state';

export interface TradingLoopOptions {
  manager: OrderManager;
  exchange: Exchange;
  strategy: Strategy;
  config: Config['trading'];
  clock: Clock;
  logger: Logger;
  /** Breadcrumb for the watchdog (ServiceContext.activity). */
  activity?: (what: string) => void;
  /** Heartbeat log interval (default 60 s). */
  heartbeatMs?: number;
}

export interface LoopSnapshot {
  loopState: LoopState;
  pause: PauseState | null;
  lastTickAt: number | null;
  exchangeReachable: boolean;
  exchangeUnreachableSince?: number;
  /** What the exchange's latest failure said, while it fails. */
  exchangeError?: string;
  equity: number;
  quoteCurrency: string;
  lastPrices: Record<string, number>;
  balance: Record<string, BalanceEntry> | null;
}

/** Orders declared never placed looked up again in one tick at most (the others wait for the next ticks). */
const RECHECKS_PER_TICK = 3;

export class TradingLoop {
  private phase: LoopPhase = 'starting';
  private readonly manager: OrderManager;
  private readonly exchange: Exchange;
  private readonly config: Config['trading'];
  private readonly clock: Clock;
  /**
   * The exchange's time (the host's less the measured offset, exchange.ts `exchangeClock`), derived here once and
   * handed down: candles, fills and their UTC day are judged on it.
   */
  readonly exchangeClock: Clock;
  private readonly logger: Logger;
  private readonly activity: (what: string) => void;
  private readonly beats: Heartbeat;
  private readonly controller = new AbortController();
  private running: Promise<void> | null = null;
  private lastTickAt: number | null = null;
  private ticks = 0;
  private readonly health: ExchangeHealth;
  private readonly account: AccountWatch;
  /** Orders ended on our inference, watched on the account's readings (inferred-orders.ts). */
  private readonly inferred: InferredOrderWatch;
  private readonly pauses: EntryPause;
  /** The error policy's shell (tick-errors.ts decides). */
  private readonly errors: TickErrorHandler;
  private readonly reads: ExchangeReads;
  private readonly onceLog: OnceLog;
  private readonly symbols: SymbolTick;
  /** Ticks and operator actions taking turns; the symbols' lanes. */
  private readonly turns: LoopTurns;
  private readonly operator: OperatorActions;
  private readonly markets: MarketRefresh;
  private readonly startUp: StartUp;
  /** The manager's last price per symbol (one record: the dust rule values positions at it everywhere). */
  readonly lastPrices: Record<string, number>;
  readonly quoteCurrency: string;

  constructor(private readonly opts: TradingLoopOptions) {
    this.manager = opts.manager;
    this.lastPrices = opts.manager.lastPrices;
    this.exchange = opts.exchange;
    this.config = opts.config;
    this.clock = opts.clock;
    this.logger = opts.logger.child({ module: 'loop' });
    this.activity = opts.activity ?? (() => {});
    this.beats = new Heartbeat(this.logger, opts.heartbeatMs ?? 60_000);
    this.quoteCurrency = splitSymbol(opts.config.symbols[0]).quote;
    this.reads = new ExchangeReads(opts.config.symbolReadTimeoutMs, opts.clock);
    this.turns = new LoopTurns(opts.clock, opts.config.symbolReadTimeoutMs);
    this.markets = new MarketRefresh({
      manager: opts.manager,
      exchange: opts.exchange,
      clock: opts.clock,
      logger: this.logger,
      reads: this.reads,
      refreshMs: opts.config.marketsRefreshMs,
      haltedRefreshMs: opts.config.haltedMarketsRefreshMs,
    });
    this.onceLog = new OnceLog(this.logger);
    this.health = new ExchangeHealth({
      exchangeId: opts.exchange.id,
      outbox: opts.manager.outbox,
      clock: opts.clock,
      logger: this.logger,
      onceLog: this.onceLog,
      alertAfterMs: opts.config.unreachableAlertMs,
    });
    this.exchangeClock = exchangeClock(opts.clock, opts.exchange);
    this.pauses = new EntryPause({
      manager: opts.manager,
      clock: opts.clock,
      exchangeClock: this.exchangeClock,
      logger: this.logger,
      peakSafeEquity: () => this.account.peakSafeEquity,
    });
    this.errors = new TickErrorHandler({
      logger: this.logger,
      onceLog: this.onceLog,
      health: this.health,
      pauseEntries: (reason, by, takeOver, clientOrderId) =>
        this.pauseEntries(reason, by, takeOver, clientOrderId),
    });
    const shortfalls = new ShortfallWatch({
      manager: opts.manager,
      clock: opts.clock,
      exchangeClock: this.exchangeClock,
      logger: this.logger,
    });
    this.inferred = new InferredOrderWatch({
      manager: opts.manager,
      clock: opts.clock,
      notCarriedOutAfterMs: opts.config.orders.unknownNotFoundWindowMs,
      watched: () => this.symbolsToWatch(),
    });
    this.account = new AccountWatch({
      manager: opts.manager,
      exchange: opts.exchange,
      reads: this.reads,
      exchangeClock: this.exchangeClock,
      risk: opts.config.risk,
      quoteCurrency: this.quoteCurrency,
      lastPrices: this.lastPrices,
      settleOrders: () => settleInFlight(opts.manager, this.turns.lanes, this.onceLog),
      onceLog: this.onceLog,
      pauseEntries: (reason, by) => this.pauseEntries(reason, by),
      resumeEntries: (by) => this.resumeEntries(by),
      shortfalls,
      inferred: this.inferred,
    });
    this.symbols = new SymbolTick({
      manager: opts.manager,
      exchange: opts.exchange,
      strategy: opts.strategy,
      config: opts.config,
      clock: opts.clock,
      exchangeClock: this.exchangeClock,
      logger: this.logger,
      reads: this.reads,
      onceLog: this.onceLog,
      lastPrices: this.lastPrices,
      exitHeld: (held) => this.markets.exitHeld(held),
      balance: () => this.account.balance,
      shortfalls,
      inferred: this.inferred,
    });
    const factsSource = {
      manager: opts.manager,
      config: opts.config,
      clock: opts.clock,
      inferred: this.inferred,
    };
    this.operator = new OperatorActions({
      manager: opts.manager,
      exchange: opts.exchange,
      config: opts.config,
      clock: opts.clock,
      exchangeClock: this.exchangeClock,
      logger: this.logger,
      reads: this.reads,
      turns: this.turns,
      inferred: this.inferred,
      shortfalls,
      lastPrices: this.lastPrices,
      symbolsToWatch: () => this.symbolsToWatch(),
      placementFacts: (symbol) => readPlacementFacts(factsSource, symbol),
      pauseEntries: (reason, by, takeOver) => this.pauses.pause(reason, by, takeOver),
    });
    this.startUp = new StartUp({
      manager: opts.manager,
      exchange: opts.exchange,
      config: opts.config,
      clock: opts.clock,
      logger: this.logger,
      activity: this.activity,
      controller: this.controller,
      health: this.health,
      onceLog: this.onceLog,
      reads: this.reads,
      account: this.account,
      markets: this.markets,
      errors: this.errors,
      symbolsToWatch: () => this.symbolsToWatch(),
    });
  }

  get loopState(): LoopState {
    return loopStateOf(this.phase, this.pause !== null);
  }

  /** Entries paused and why (entry-pause.ts), or null. */
  get pause(): PauseState | null {
    return this.pauses.current(this.lastTickAt);
  }

  /** Pauses entries, or adds the cause to the pause already there (entry-pause.ts). */
  pauseEntries(
    reason: string,
    by: PauseSource,
    takeOver = false,
    clientOrderId?: string,
  ): Promise<PauseState> {
    return this.pauses.pause(reason, by, takeOver, clientOrderId);
  }

  /** The operator's resume lifts the pause; any other source drops only the causes no longer holding (entry-pause.ts). */
  resumeEntries(by: PauseSource): Promise<void> {
    return this.pauses.resume(by);
  }

  snapshot(): LoopSnapshot {
    return {
      loopState: this.loopState,
      pause: this.pause,
      lastTickAt: this.lastTickAt,
      exchangeReachable: this.health.reachable,
      exchangeUnreachableSince: this.health.unreachableSince ?? undefined,
      exchangeError:
        this.health.lastError ?? rateLimitNotice(this.exchange.rateLimitedUntil?.(), this.clock.now()),
      equity: this.account.equity,
      quoteCurrency: this.quoteCurrency,
      lastPrices: { ...this.lastPrices },
      balance: this.account.balance,
    };
  }

  /** Start, first step (state `waiting-exchange`): waits for the exchange's markets and account (start-up.ts). */
  connect(sent?: ConnectReads): Promise<{ markets: Record<string, Market>; account: string }> {
    this.phase = 'waiting-exchange';
    return this.startUp.connect(sent);
  }

  /** Startup recovery (state `recovering`, start-up.ts); no order is placed before it has finished. */
  recover(lastExit: LastExit, sent?: RecoveryReads): Promise<RecoverySummary> {
    this.phase = 'recovering';
    return this.startUp.recover(lastExit, sent);
  }

  /** Starts ticking (after `recover`). The promise rejects on an unknown error: the process must exit 1. */
  start(): Promise<void> {
    if (this.running) return this.running;
    this.enterRunning();
    this.logger.info('Trading loop started', {
      mode: this.config.mode,
      symbols: this.config.symbols,
      strategy: this.opts.strategy.name,
      tickIntervalMs: this.config.tickIntervalMs,
      paused: this.pause ? pauseSummary(this.pause) : undefined,
    });
    this.running = this.run();
    return this.running;
  }

  /** Recovery done: orders allowed, state running (or paused). `start()` calls it; tests tick by hand after it. */
  enterRunning(): void {
    this.manager.startAccepting();
    this.phase = 'trading';
  }

  /**
   * Shutdown, first step: no new orders from now on, then wait (bounded by `orders.inFlightWaitMs`) for the
   * tick and the exchange calls in flight.
   */
  async stop(): Promise<void> {
    this.phase = 'stopping';
    this.manager.stopAccepting('trading is stopping');
    this.controller.abort();
    const wait = this.config.orders.inFlightWaitMs;
    const idle = await this.manager.waitIdle(wait);
    const settled = Promise.all([this.running?.catch(() => {}), this.turns.lanes.idle()]);
    await withDeadline(settled, wait, () => new Error('tick still running'), this.clock).catch(() => {});
    this.logger.info('Trading loop stopped', { inFlightLeft: idle ? 0 : this.manager.inFlightCount });
  }

  /** Cancels every open order (shutdown option `orders.cancelOpenOnStop`; operator-actions.ts). */
  cancelOpenOrders(): Promise<string[]> {
    return this.operator.cancelOpenOrders();
  }

  /** Orders that ended on our inference and are still in question (/settle lists them). */
  inDoubtOrders(): InDoubtOrderView[] {
    return this.operator.inDoubtOrders();
  }

  /** Settles an order in question on the operator's word, between ticks (operator-actions.ts). */
  settleOrder(req: SettleRequest): Promise<SettleDecision> {
    return this.operator.settleOrder(req);
  }

  /** The operator's close-all, between ticks (operator-actions.ts, close-all.ts). */
  closeAll(): Promise<CloseAllResult> {
    return this.operator.closeAll();
  }

  /** The operator's reconcile, between ticks once every lane is free (operator-actions.ts, reconcile.ts). */
  reconcile(): Promise<ReconcileDifference[]> {
    return this.operator.reconcile();
  }

  private async run(): Promise<void> {
    const signal = this.controller.signal;
    while (!signal.aborted) {
      const started = this.clock.now();
      await this.tick();
      const wait = Math.max(0, this.config.tickIntervalMs - (this.clock.now() - started));
      await this.clock.sleep(wait, signal).catch(() => {});
    }
  }

  /** Runs `fn` between ticks once every symbol's lane is free (loop-turns.ts). */
  serialize<T>(fn: () => Promise<T>): Promise<T> {
    return this.turns.serialize(fn);
  }

  /** One pass over every symbol and the account; never waits for a busy symbol. Exposed for tests. */
  tick(): Promise<void> {
    return this.turns.inTurn(() => this.tickUnserialized());
  }

  private async tickUnserialized(): Promise<void> {
    this.errors.beginTick();
    if (this.manager.persistBlocked) await this.manager.state.probe();
    // events whose publish failed (event log not writable) are retried here, in order, before newer ones
    await this.manager.outbox.drain();
    // markets reloaded when due (market-refresh.ts); a failure retries next tick
    try {
      await this.markets.refreshWhenDue(() => this.symbolsToWatch());
    } catch (err) {
      await this.errors.handle('markets', err);
    }
    // account first: a kill switch fires before this tick's entries
    this.activity('tick account');
    try {
      await this.account.refresh();
    } catch (err) {
      await this.errors.handle('account', err);
    }
    this.activity('tick symbols');
    await this.tickSymbols();
    await this.pauses.liftSettledOrderPause();
    // after the symbols' work (a slow lookup never holds a stop-loss back), a few per tick
    await this.recheckNeverPlaced();
    this.errors.throwIfFatal();
    try {
      await this.manager.archive();
    } catch (err) {
      await this.errors.handle('archive', err);
    }
    // reachable = a whole tick without a temporary exchange error
    if (!this.errors.temporaryThisTick) await this.health.answered();
    this.lastTickAt = this.clock.now();
    this.ticks++;
    this.heartbeat();
    this.activity('idle');
  }

  /**
   * Every symbol on its own lane, side by side. The tick waits for each at most the read deadline; a symbol still
   * working then (a slow create or cancel; a lookup is given up at the same deadline) keeps its lane and is skipped by the next ticks until it is done.
   * Symbols no longer configured but still holding a position or an order keep their exits running.
   */
  private async tickSymbols(): Promise<void> {
    const started: Array<Promise<void>> = [];
    for (const symbol of this.symbolsToWatch()) {
      if (this.controller.signal.aborted) break;
      // an unknown error (a bug) is kept and thrown out of the tick, even when it comes after the tick moved on
      const work = this.turns.lanes.run([symbol], () =>
        this.tickSymbolSafely(symbol).catch((err: unknown) => this.errors.keep(err)),
      );
      if (!work) {
        this.onceLog.log(`busy:${symbol}`, 'warn', 'Symbol still busy from an earlier tick; skipped', {
          symbol,
        });
        continue;
      }
      started.push(this.turns.waitAtMost(work));
    }
    await Promise.all(started);
    this.errors.throwIfFatal();
  }

  /**
   * Configured symbols, then any other symbol the bot holds any amount of (dust too: whether it can be sold moves with
   * the price) or has orders on (exits only).
   */
  private symbolsToWatch(): string[] {
    const { symbols, untraded } = watchedSymbols(
      this.config.symbols,
      this.manager.pendingOrders(),
      Object.values(this.manager.positions()),
    );
    for (const symbol of untraded) {
      this.onceLog.log(`untraded:${symbol}`, 'warn', 'Symbol not in trading.symbols still held: exits only', {
        symbol,
      });
    }
    return symbols;
  }

  private async tickSymbolSafely(symbol: string): Promise<void> {
    try {
      await this.symbols.run(symbol);
    } catch (err) {
      await this.errors.handle(symbol, err);
    }
  }

  /**
   * Orders declared never placed, looked up again when their turn comes (never-placed-recheck.ts): at most
   * RECHECKS_PER_TICK a tick, after the symbols' work, so that many of them (an incident's worth) never delay a
   * stop-loss; the rest are due at the next ticks. It runs on its own lane and holds the lanes of the symbols it may
   * take an order back on (no tick syncs a half taken-back order); the tick waits for it at most the read deadline,
   * and a recheck still running (a slow lookup endpoint) or a busy symbol skips it this tick.
   */
  private async recheckNeverPlaced(): Promise<void> {
    const symbols = new Set(this.manager.hotOrders(lookedUpAgain).map((o) => o.symbol));
    const work = this.turns.lanes.run([RECHECK_LANE, ...symbols], () =>
      this.manager
        .recheckNeverPlaced('due', RECHECKS_PER_TICK)
        .catch((err: unknown) => this.errors.handle('never-placed recheck', err))
        .catch((err: unknown) => this.errors.keep(err)),
    );
    if (work) await this.turns.waitAtMost(work);
  }

  private heartbeat(): void {
    this.beats.beat(this.clock.now(), () => ({
      state: this.loopState,
      ticks: this.ticks,
      equity: this.account.equity,
      positions: Object.values(this.manager.positions()),
      lastPrices: this.lastPrices,
      openPositions: this.manager.openPositions().length,
      openOrders: this.manager.pendingOrders().filter((o) => !isFinal(o.status)).length,
      pause: this.pause,
      exchangeReachable: this.health.reachable,
    }));
  }
}
