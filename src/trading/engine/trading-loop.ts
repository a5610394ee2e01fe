/**
 * The engine's scheduler: starting → waiting-exchange → recovering → trading (running ⇄ paused) → stopping (the
 * state derived from the phase and the pause, loop-state.ts). It composes the engine's parts (engine-parts.ts) and
 * only decides when each runs:
 * - start (start-up.ts): wait for the exchange, recover, read the account; then ticks every `tickIntervalMs`;
 * - each tick, in its turn between the operator's actions (loop-turns.ts; operator-actions.ts: close-all,
 *   reconcile, settle): pending events drained, markets reloaded when due (market-refresh.ts), balance → equity →
 *   kill switch (account-watch.ts), then every symbol on its own lane, side by side (symbol-tick.ts: settle, price,
 *   `decideSymbol`, at most one order — whether an order may be placed is the placement gate's one answer,
 *   placement-gate.ts), a settled-order pause lifted (entry-pause.ts), orders declared never placed looked up again
 *   when due, old orders archived, the heartbeat (heartbeat.ts);
 * - a tick never waits for a busy lane (symbol-lanes.ts): a symbol whose work (a slow create or cancel) outlasts the
 *   read deadline keeps its lane and is skipped by the next ticks until it is done, so one slow symbol never delays
 *   another's stop-loss; an order lookup is given up at that deadline (OrderManager `lookupTimeoutMs`).
 *
 * Errors are handled by class (tick-errors.ts decides, tick-error-handler.ts carries it out): temporary → retried
 * next tick (alerted when the outage lasts, exchange-health.ts); strategy → symbol skipped; operational → entries
 * paused ("paused" stops entries only: exits keep running so risk can shrink); persistence → no new orders until a
 * commit succeeds; anything else → thrown out of `run()` (the process exits 1 and PM2 restarts it).
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
  RiskEquityView,
} from '../../shared/ipc/protocol';
import type { Logger } from '../../shared/logging/logger';
import type { BalanceEntry, Market } from '../exchange/exchange';
import type { ConnectReads } from './start/connect-reads';
import { buildEngineParts, type EngineOptions, type EngineParts } from './engine-parts';
import { Heartbeat } from './heartbeat';
import { loopStateOf, type LoopPhase } from './loop-state';
import type { SettleDecision, SettleRequest } from './operator/operator-settle';
import type { WriteOffOutcome } from './operator/operator-write-off';
import type { OrderBook } from './orders/order-book';
import type { OrderManager } from './orders/order-manager';
import { lookedUpWhileRunning } from './orders/order-recheck';
import { isFinal } from './orders/order-state';
import { pauseSummary } from './operator/pause-causes';
import { rateLimitNotice } from './exchange-watch/reachability';
import type { RecoveryReads } from './start/recovery-reads';
import type { StartFacts } from './start/start-up';
import { RECHECK_LANE } from './symbol-lanes';
import type { AnnouncedStale, PauseSource, PauseState } from './state/trading-state';

export interface TradingLoopOptions extends EngineOptions {
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
  /** The exchange's latest failure refused our API key (exchange-health.ts). */
  exchangeKeyRefused?: boolean;
  /** With it: the refusal is the account's (its region's, the symbol's), not the key's (exchange-health.ts). */
  exchangeAccountRefused?: boolean;
  /** What the exchange's latest failure said, while it fails. */
  exchangeError?: string;
  /** The account's equity. */
  equity: number;
  /** The bot's own equity the risk limits judge, with `trading.risk.capital` set (absent: they judge `equity`). */
  riskEquity?: RiskEquityView;
  quoteCurrency: string;
  lastPrices: Record<string, number>;
  balance: Record<string, BalanceEntry> | null;
  /** The symbols whose prices were told stale, as the state keeps them (stale-tickers.ts `announcedStale`). */
  announcedStale: Readonly<Record<string, AnnouncedStale>>;
}

/** Orders declared never placed looked up again in one tick at most (the others wait for the next ticks). */
const RECHECKS_PER_TICK = 3;

export class TradingLoop {
  private phase: LoopPhase = 'starting';
  private readonly manager: OrderManager;
  private readonly config: Config['trading'];
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly activity: (what: string) => void;
  private readonly controller = new AbortController();
  private readonly parts: EngineParts;
  /** The orders and positions the heartbeat and the recheck read (order-book.ts). */
  private readonly orderBook: OrderBook;
  private readonly beats: Heartbeat;
  private running: Promise<void> | null = null;
  private lastTickAt: number | null = null;
  private ticks = 0;
  /**
   * The exchange's time (the host's less the measured offset, exchange.ts `exchangeClock`), derived once and handed
   * down: candles, fills and their UTC day are judged on it.
   */
  readonly exchangeClock: Clock;
  /** The order book's last price per symbol (one record: the dust rule values positions at it everywhere). */
  readonly lastPrices: Record<string, number>;
  readonly quoteCurrency: string;

  constructor(private readonly opts: TradingLoopOptions) {
    this.manager = opts.orders.manager;
    this.config = opts.config;
    this.clock = opts.clock;
    this.logger = opts.logger.child({ module: 'loop' });
    this.activity = opts.activity ?? (() => {});
    this.beats = new Heartbeat(this.logger, opts.heartbeatMs ?? 60_000);
    this.parts = buildEngineParts({
      ...opts,
      logger: this.logger,
      activity: this.activity,
      controller: this.controller,
    });
    this.exchangeClock = this.parts.exchangeClock;
    this.orderBook = this.parts.orderBook;
    this.lastPrices = this.orderBook.lastPrices;
    this.quoteCurrency = this.parts.quoteCurrency;
  }

  get loopState(): LoopState {
    return loopStateOf(this.phase, this.pause !== null);
  }

  /** Entries paused and why (entry-pause.ts), or null. */
  get pause(): PauseState | null {
    return this.parts.pauses.current(this.lastTickAt);
  }

  /** Pauses entries, or adds the cause to the pause already there (entry-pause.ts). */
  pauseEntries(
    reason: string,
    by: PauseSource,
    takeOver = false,
    clientOrderId?: string,
  ): Promise<PauseState> {
    return this.parts.pauses.pause(reason, by, takeOver, clientOrderId);
  }

  /** The operator's resume lifts the pause; any other source drops only the causes no longer holding (entry-pause.ts). */
  resumeEntries(by: PauseSource): Promise<void> {
    return this.parts.pauses.resume(by);
  }

  snapshot(): LoopSnapshot {
    return {
      loopState: this.loopState,
      pause: this.pause,
      lastTickAt: this.lastTickAt,
      exchangeReachable: this.parts.health.reachable,
      exchangeUnreachableSince: this.parts.health.unreachableSince ?? undefined,
      ...(this.parts.health.keyRefused ? { exchangeKeyRefused: true } : {}),
      ...(this.parts.health.accountRefused ? { exchangeAccountRefused: true } : {}),
      exchangeError:
        this.parts.health.lastError ??
        rateLimitNotice(this.opts.exchange.rateLimitedUntil?.(), this.clock.now()),
      equity: this.parts.account.equity,
      ...(this.config.risk.capital !== undefined
        ? { riskEquity: { equity: this.parts.account.riskEquity, capital: this.config.risk.capital } }
        : {}),
      quoteCurrency: this.quoteCurrency,
      lastPrices: { ...this.lastPrices },
      balance: this.parts.account.balance,
      announcedStale: this.parts.state.data.announcedStale,
    };
  }

  /** Start, first step (state `waiting-exchange`): waits for the exchange's markets and account (start-up.ts). */
  connect(sent?: ConnectReads): Promise<{ markets: Record<string, Market>; account: string }> {
    this.phase = 'waiting-exchange';
    return this.parts.startUp.connect(sent);
  }

  /** Startup recovery (state `recovering`, start-up.ts); no order is placed before it has finished. */
  recover(lastExit: LastExit, sent?: RecoveryReads, facts?: StartFacts): Promise<RecoverySummary> {
    this.phase = 'recovering';
    return this.parts.startUp.recover(lastExit, sent, facts);
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
  /** Stops new work at once (no next tick, no new order); what is in flight goes on. `stop()` also waits for it. */
  halt(): void {
    this.phase = 'stopping';
    this.manager.stopAccepting('trading is stopping');
    this.controller.abort();
  }

  async stop(): Promise<void> {
    this.halt();
    const wait = this.config.orders.inFlightWaitMs;
    const idle = await this.parts.calls.waitIdle(wait);
    const settled = Promise.all([this.running?.catch(() => {}), this.parts.turns.lanes.idle()]);
    await withDeadline(settled, wait, () => new Error('tick still running'), this.clock).catch(() => {});
    this.logger.info('Trading loop stopped', { inFlightLeft: idle ? 0 : this.parts.calls.count });
  }

  /** Cancels every open order (shutdown option `orders.cancelOpenOnStop`; operator-actions.ts). */
  cancelOpenOrders(): Promise<string[]> {
    return this.parts.operator.cancelOpenOrders();
  }

  /** Orders that ended on our inference and are still in question (/settle lists them). */
  inDoubtOrders(): InDoubtOrderView[] {
    return this.parts.operator.inDoubtOrders();
  }

  /** Settles an order in question on the operator's word, between ticks (operator-actions.ts). */
  settleOrder(req: SettleRequest): Promise<SettleDecision> {
    return this.parts.operator.settleOrder(req);
  }

  /** Writes off a holding the bot cannot sell on the operator's word, between ticks (operator-actions.ts). */
  writeOff(symbol: string): Promise<WriteOffOutcome> {
    return this.parts.operator.writeOff(symbol);
  }

  /** The operator's close-all, between ticks (operator-actions.ts, close-all.ts). */
  closeAll(): Promise<CloseAllResult> {
    return this.parts.operator.closeAll();
  }

  /** The operator's reconcile, between ticks once every lane is free (operator-actions.ts, reconcile.ts). */
  reconcile(): Promise<ReconcileDifference[]> {
    return this.parts.operator.reconcile();
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
    return this.parts.turns.serialize(fn);
  }

  /** One pass over every symbol and the account; never waits for a busy symbol. Exposed for tests. */
  tick(): Promise<void> {
    return this.parts.turns.inTurn(() => this.tickUnserialized());
  }

  private async tickUnserialized(): Promise<void> {
    this.parts.errors.beginTick();
    if (this.parts.state.persistBlocked) await this.parts.state.probe();
    // events whose publish failed (event log not writable) are retried here, in order, before newer ones
    await this.parts.outbox.drain();
    // markets reloaded when due (market-refresh.ts); a failure retries next tick
    try {
      await this.parts.markets.refreshWhenDue(() => this.parts.symbolsToWatch());
    } catch (err) {
      await this.parts.errors.handle('markets', err);
    }
    // account first: a kill switch fires before this tick's entries
    this.activity('tick account');
    try {
      await this.parts.account.refresh();
    } catch (err) {
      await this.parts.errors.handle('account', err);
    }
    this.activity('tick symbols');
    await this.tickSymbols();
    await this.parts.pauses.liftSettledOrderPause();
    // after the symbols' work (a slow lookup never holds a stop-loss back), a few per tick
    await this.recheckNeverPlaced();
    this.parts.errors.throwIfFatal();
    try {
      await this.manager.archive();
    } catch (err) {
      await this.parts.errors.handle('archive', err);
    }
    // reachable = a whole tick without a temporary exchange error
    if (!this.parts.errors.temporaryThisTick) await this.parts.health.answered();
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
    for (const symbol of this.parts.symbolsToWatch()) {
      if (this.controller.signal.aborted) break;
      // an unknown error (a bug) is kept and thrown out of the tick, even when it comes after the tick moved on
      const work = this.parts.turns.lanes.run([symbol], () =>
        this.tickSymbolSafely(symbol).catch((err: unknown) => this.parts.errors.keep(err)),
      );
      if (!work) {
        this.parts.onceLog.log(`busy:${symbol}`, 'warn', 'Symbol still busy from an earlier tick; skipped', {
          symbol,
        });
        continue;
      }
      started.push(this.parts.turns.waitAtMost(work));
    }
    await Promise.all(started);
    this.parts.errors.throwIfFatal();
  }

  private async tickSymbolSafely(symbol: string): Promise<void> {
    try {
      await this.parts.symbols.run(symbol);
    } catch (err) {
      await this.parts.errors.handle(symbol, err);
    }
  }

  /**
   * Orders declared never placed, or held refused on their create's answer, looked up again when their turn comes
   * (never-placed-recheck.ts; a held-refused one the exchange works or filled is taken back: order-recheck.ts): at most
   * RECHECKS_PER_TICK a tick, after the symbols' work, so that many of them (an incident's worth) never delay a
   * stop-loss; the rest are due at the next ticks. It runs on its own lane and holds the lanes of the symbols it may
   * take an order back on (no tick syncs a half taken-back order); the tick waits for it at most the read deadline,
   * and a recheck still running (a slow lookup endpoint) or a busy symbol skips it this tick.
   */
  private async recheckNeverPlaced(): Promise<void> {
    const symbols = new Set(this.orderBook.hotOrders(lookedUpWhileRunning).map((o) => o.symbol));
    const work = this.parts.turns.lanes.run([RECHECK_LANE, ...symbols], () =>
      this.parts.rechecks
        .recheck('due', RECHECKS_PER_TICK)
        .catch((err: unknown) => this.parts.errors.handle('never-placed recheck', err))
        .catch((err: unknown) => this.parts.errors.keep(err)),
    );
    if (work) await this.parts.turns.waitAtMost(work);
  }

  private heartbeat(): void {
    this.beats.beat(this.clock.now(), () => ({
      state: this.loopState,
      ticks: this.ticks,
      equity: this.parts.account.equity,
      ...(this.config.risk.capital !== undefined ? { riskEquity: this.parts.account.riskEquity } : {}),
      positions: Object.values(this.orderBook.positions()),
      lastPrices: this.lastPrices,
      openPositions: this.orderBook.openPositions().length,
      openOrders: this.orderBook.pendingOrders().filter((o) => !isFinal(o.status)).length,
      pause: this.pause,
      exchangeReachable: this.parts.health.reachable,
    }));
  }
}
