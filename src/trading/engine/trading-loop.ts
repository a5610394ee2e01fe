/**
 * The engine loop: starting → recovering → running ⇄ paused → stopping.
 *
 * Each tick: balance → equity → kill switch; then every symbol on its own lane, side by side: settle that
 * symbol's pending orders (an UNKNOWN create is looked up before anything else happens on the symbol), read the
 * price within the symbol's read deadline, and let `decideSymbol` say what may happen (exits first: a firing
 * stop-loss cancels what stands in its way, then exits; expired limit orders are cancelled; the strategy is asked
 * only when the symbol is free), placing at most one order. A symbol whose work outlasts the tick keeps its lane
 * and is skipped until it is done, so one slow symbol never delays another's stop-loss. Then old orders are
 * archived; markets are reloaded daily.
 *
 * Error policy by class (shared/errors.ts): temporary → log once, retry next tick, and an
 * `exchange.unreachable` event when it lasts longer than `unreachableAlertMs` (`exchange.recovered` after);
 * strategy → skip the symbol this tick; operational (and a pending order the exchange does not know) → pause
 * entries with a `trading.paused` event, keep running; persistence → no new orders until a commit succeeds;
 * anything else → thrown out of `run()` (the process exits 1 and PM2 restarts it).
 *
 * "Paused" stops entries only: exits (strategy, stop-loss, take-profit) keep running so risk can shrink.
 */
import type { Clock } from '../../shared/clock';
import type { Config } from '../../shared/config/schema';
import { withDeadline } from '../../shared/deadline';
import { retryForever } from '../../shared/retry';
import {
  ExchangeRefusedError,
  NetworkError,
  OperationalError,
  OrderNotFoundError,
  PersistenceError,
  StrategyError,
  errorMessage,
  isTemporary,
} from '../../shared/errors';
import type { CloseAllResult, LastExit, LoopState, RecoverySummary } from '../../shared/ipc/protocol';
import type { Logger } from '../../shared/logging/logger';
import type { BalanceEntry, Candle, Exchange, Market } from '../exchange/exchange';
import { roundToStep } from '../exchange/precision';
import type { Strategy } from '../strategy/strategy';
import type { OrderManager } from './order-manager';
import { isFinal } from './order-state';
import { averageEntryPrice, realizedOnDay, splitSymbol, unrealizedPnl, utcDay } from './pnl';
import { REACHABLE, afterFailure, afterSuccess, type Reachability } from './reachability';
import { recoverTradingState } from './recovery';
import { loopStateOf, type LoopPhase } from './loop-state';
import { evaluateRisk, resetAfterResume } from './risk';
import { closeAll } from './close-all';
import type { PlacementFacts } from './placement-gate';
import { cooldownUntil, decideOnSignal, decideSymbol } from './symbol-decision';
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

/** Longest cooldown after refusals in a row on one symbol. */
const MAX_REFUSAL_COOLDOWN_MS = 60 * 60 * 1000;

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

export class TradingLoop {
  private phase: LoopPhase = 'starting';
  private readonly manager: OrderManager;
  private readonly exchange: Exchange;
  private readonly config: Config['trading'];
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly activity: (what: string) => void;
  private readonly heartbeatMs: number;
  private readonly controller = new AbortController();
  private running: Promise<void> | null = null;
  private lastTickAt: number | null = null;
  private lastHeartbeatAt = 0;
  private ticks = 0;
  private reachability: Reachability = REACHABLE;
  private temporaryErrorThisTick = false;
  /** Reads still on their way, by what they read: a tick never sends a second one beside them (no pile-up). */
  private readonly readsInFlight = new Map<string, Promise<unknown>>();
  private lane: Promise<unknown> = Promise.resolve();
  private readonly loggedErrors = new Map<string, string>();
  private readonly lastSeenCandle = new Map<string, number>();
  /** Each symbol's work of the tick that started it, while it runs (its lane). */
  private readonly symbolWork = new Map<string, Promise<void>>();
  private marketsLoadedAt: number;
  /** An unknown error from a symbol's work: the loop stops with it (the process exits 1). */
  private fatal: unknown;
  readonly lastPrices: Record<string, number> = {};
  private balance: Record<string, BalanceEntry> | null = null;
  private equity = 0;
  readonly quoteCurrency: string;

  constructor(private readonly opts: TradingLoopOptions) {
    this.manager = opts.manager;
    this.exchange = opts.exchange;
    this.config = opts.config;
    this.clock = opts.clock;
    this.logger = opts.logger.child({ module: 'loop' });
    this.activity = opts.activity ?? (() => {});
    this.heartbeatMs = opts.heartbeatMs ?? 60_000;
    this.quoteCurrency = splitSymbol(opts.config.symbols[0]).quote;
    this.marketsLoadedAt = opts.clock.now();
  }

  get loopState(): LoopState {
    return loopStateOf(this.phase, this.pause !== null);
  }

  /** Entries paused and why: operator/risk/operational (persisted) or a state that cannot be saved. */
  get pause(): PauseState | null {
    const stored = this.manager.state.pause;
    if (stored) return stored;
    const persist = this.manager.persistBlocked;
    return persist
      ? { by: 'persist', reason: `state cannot be saved: ${persist}`, at: this.lastTickAt ?? 0 }
      : null;
  }

  snapshot(): LoopSnapshot {
    return {
      loopState: this.loopState,
      pause: this.pause,
      lastTickAt: this.lastTickAt,
      exchangeReachable: this.reachability.since === null,
      exchangeUnreachableSince: this.reachability.since ?? undefined,
      exchangeError: this.reachability.lastError,
      equity: this.equity,
      quoteCurrency: this.quoteCurrency,
      lastPrices: { ...this.lastPrices },
      balance: this.balance,
    };
  }

  /**
   * Start, first step (state `waiting-exchange`): load the exchange's markets, waiting — with a capped backoff,
   * never exiting — for as long as the exchange (or the network) does not answer or refuses our key: a person or
   * time fixes that, a restart does not. One `exchange.unreachable` event once it has lasted
   * `unreachableAlertMs`, one `exchange.recovered` after. Meanwhile the TCP layer answers and says so.
   */
  async connect(): Promise<{ markets: Record<string, Market>; account: string }> {
    this.phase = 'waiting-exchange';
    this.activity('waiting for the exchange');
    const wait = <T>(what: string, fn: () => Promise<T>): Promise<T> =>
      retryForever(fn, {
        baseDelayMs: 1_000,
        maxDelayMs: 60_000,
        retryable: waitable,
        signal: this.controller.signal,
        clock: this.clock,
        onRetry: ({ error, delayMs }) => this.waitingForExchange(what, error, delayMs),
      });
    const markets = await wait('load markets', () => this.exchange.loadMarkets());
    // which account: the state must be this account's (state-identity.ts); a refused key is waited out here
    const account = await wait('read the account', () => this.exchange.accountId());
    await this.markReachable();
    this.manager.setMarkets(markets);
    this.marketsLoadedAt = this.clock.now();
    return { markets, account };
  }

  /** A start step waits for the exchange: logged once per change, alerted once per outage. */
  private waitingForExchange(what: string, error: unknown, delayMs: number): void {
    this.logOnce('waiting-exchange', 'warn', `Waiting for ${this.exchange.id}; retrying`, {
      what,
      error: errorMessage(error),
    });
    this.logger.debug(`${what} failed, retrying in ${delayMs} ms`, { error: errorMessage(error) });
    void this.exchangeFailed(error);
  }

  /** Startup recovery (state `recovering`); no order is placed before it has finished. */
  async recover(lastExit: LastExit): Promise<RecoverySummary> {
    this.phase = 'recovering';
    this.activity('recovery');
    const summary = await recoverTradingState({
      manager: this.manager,
      exchange: this.exchange,
      lastExit,
      unknownOnStart: this.config.orders.unknownOnStart,
      symbols: this.config.symbols,
      clock: this.clock,
      logger: this.logger,
      signal: this.controller.signal,
      waitable,
      onWait: (what, error, delayMs) => this.waitingForExchange(what, error, delayMs),
    });
    await this.markReachable();
    await this.refreshAccount().catch((err: unknown) => this.onTickError('account', err));
    return summary;
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
      paused: this.pause?.reason,
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
    const settled = Promise.all([this.running?.catch(() => {}), this.symbolsIdle()]);
    await withDeadline(settled, wait, () => new Error('tick still running'), this.clock).catch(() => {});
    this.logger.info('Trading loop stopped', { inFlightLeft: idle ? 0 : this.manager.inFlightCount });
  }

  /** Cancels every open order (shutdown option `orders.cancelOpenOnStop`). */
  async cancelOpenOrders(): Promise<string[]> {
    const cancelled: string[] = [];
    for (const order of this.manager.pendingOrders()) {
      if (isFinal(order.status)) continue;
      try {
        await this.manager.cancel(order.clientOrderId);
        cancelled.push(order.clientOrderId);
      } catch (err) {
        this.logger.warn('Could not cancel an open order on stop', {
          clientOrderId: order.clientOrderId,
          error: errorMessage(err),
        });
      }
    }
    return cancelled;
  }

  /**
   * Pauses entries. An existing pause is kept, unless `takeOver`: then an operator's pause replaces one that would
   * lift by itself (risk, persist, operational), so only an operator's /resume restarts entries.
   */
  async pauseEntries(reason: string, by: PauseSource, takeOver = false): Promise<PauseState> {
    const current = this.manager.state.pause;
    if (current && !(takeOver && current.by !== by)) return current;
    const pause: PauseState = { reason, by, at: this.clock.now() };
    await this.manager.state.setPause(pause);
    this.logger.warn('Entries paused', { reason, by });
    await this.manager.outbox.emit('trading.paused', `Trading paused (${by}): ${reason}`, { reason, by });
    return pause;
  }

  /** Lifts the pause. A risk, persist or operational recovery lifts only its own: never an operator's pause. */
  async resumeEntries(by: PauseSource): Promise<void> {
    const was = this.manager.state.pause;
    if (was && by !== 'operator' && was.by !== by) return;
    const risk = resetAfterResume(this.manager.state.risk, this.equity, this.clock.now());
    await this.manager.state.setPause(null, risk);
    if (was) {
      this.logger.info('Entries resumed', { by, was: was.reason });
      await this.manager.outbox.emit(
        'trading.resumed',
        `Trading resumed (${by}); was paused: ${was.reason}`,
        {
          by,
          was: was.reason,
        },
      );
    }
  }

  /** The operator's close-all (close-all.ts), run between ticks. */
  closeAll(): Promise<CloseAllResult> {
    return this.serialize(() =>
      closeAll({
        manager: this.manager,
        exchange: this.exchange,
        lastPrices: this.lastPrices,
        placementFacts: (symbol) => this.placementFacts(symbol),
        pauseEntries: (reason, by, takeOver) => this.pauseEntries(reason, by, takeOver),
        logger: this.logger,
      }),
    );
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

  /**
   * Runs `fn` when no tick (and no other serialized request) is running: close-all and reconcile see and change
   * state between ticks, never in the middle of one (no double exit, no half-placed order in a comparison).
   */
  serialize<T>(fn: () => Promise<T>): Promise<T> {
    // a symbol whose work outlasted its tick finishes first: close-all must not cross a half-placed order
    const exclusive = (): Promise<T> => this.symbolsIdle().then(fn);
    const run = this.lane.then(exclusive, exclusive);
    this.lane = run.catch(() => undefined);
    return run;
  }

  /** Resolves once no symbol's work is running. */
  private async symbolsIdle(): Promise<void> {
    while (this.symbolWork.size > 0) await Promise.all([...this.symbolWork.values()]);
  }

  /** One pass over every symbol and the account. Exposed for tests. */
  tick(): Promise<void> {
    return this.serialize(() => this.tickUnserialized());
  }

  private async tickUnserialized(): Promise<void> {
    this.throwIfFatal();
    this.temporaryErrorThisTick = false;
    if (this.manager.persistBlocked) await this.manager.state.probe();
    // events whose publish failed (event log not writable) are retried here, in order, before newer ones
    await this.manager.outbox.drain();
    await this.refreshMarketsWhenDue();
    // account first: a kill switch fires before this tick's entries
    this.activity('tick account');
    try {
      await this.withReadDeadline('account', this.refreshAccount());
    } catch (err) {
      await this.onTickError('account', err);
    }
    this.activity('tick symbols');
    await this.tickSymbols();
    try {
      await this.manager.archive();
    } catch (err) {
      await this.onTickError('archive', err);
    }
    // reachable = a whole tick without a temporary exchange error
    if (!this.temporaryErrorThisTick) await this.markReachable();
    this.lastTickAt = this.clock.now();
    this.ticks++;
    this.heartbeat();
    this.activity('idle');
  }

  /**
   * Every symbol on its own lane, side by side. The tick waits for each at most the read deadline; a symbol still
   * working then (a slow create or lookup) keeps its lane and is skipped by the next ticks until it is done.
   * Symbols no longer configured but still holding a position or an order keep their exits running.
   */
  private async tickSymbols(): Promise<void> {
    const budget = this.config.symbolReadTimeoutMs;
    const started: Array<Promise<void>> = [];
    for (const symbol of this.symbolsToWatch()) {
      if (this.controller.signal.aborted) break;
      if (this.symbolWork.has(symbol)) {
        this.logOnce(`busy:${symbol}`, 'warn', 'Symbol still busy from an earlier tick; skipped', { symbol });
        continue;
      }
      // an unknown error (a bug) is kept and thrown out of the tick, even when it comes after the tick moved on
      const work = this.tickSymbolSafely(symbol)
        .catch((err: unknown) => {
          this.fatal ??= err;
        })
        .finally(() => this.symbolWork.delete(symbol));
      this.symbolWork.set(symbol, work);
      started.push(
        withDeadline(work, budget, () => new Error('still working'), this.clock).catch(() => undefined),
      );
    }
    await Promise.all(started);
    this.throwIfFatal();
  }

  private throwIfFatal(): void {
    if (this.fatal !== undefined) throw this.fatal;
  }

  /** Configured symbols, then any other symbol the bot holds or has orders on (exits only). */
  private symbolsToWatch(): string[] {
    const extra = new Set<string>();
    for (const order of this.manager.pendingOrders()) extra.add(order.symbol);
    for (const position of this.manager.openPositions()) extra.add(position.symbol);
    for (const symbol of this.config.symbols) extra.delete(symbol);
    for (const symbol of extra) {
      this.logOnce(`untraded:${symbol}`, 'warn', 'Symbol not in trading.symbols still held: exits only', {
        symbol,
      });
    }
    return [...this.config.symbols, ...extra];
  }

  private async tickSymbolSafely(symbol: string): Promise<void> {
    try {
      await this.tickSymbol(symbol);
    } catch (err) {
      await this.onTickError(symbol, err);
    }
  }

  private async tickSymbol(symbol: string): Promise<void> {
    const market = this.manager.markets[symbol];
    if (!market) {
      this.logOnce(`market:${symbol}`, 'error', 'The exchange no longer lists this symbol; nothing placed', {
        symbol,
      });
      return;
    }
    for (const order of this.manager.pendingOrders(symbol)) {
      await this.manager.refresh(order.clientOrderId);
    }
    const ticker = await this.withReadDeadline(
      symbol,
      this.readOnce(`ticker:${symbol}`, () => this.exchange.fetchTicker(symbol)),
    );
    const price = ticker.last;
    this.lastPrices[symbol] = price;
    const facts = this.placementFacts(symbol);
    const decision = decideSymbol({
      symbol,
      market,
      price,
      position: this.manager.positions()[symbol],
      facts,
      risk: this.config.risk,
      limitOrderTtlMs: this.config.orders.limitOrderTtlMs,
    });
    switch (decision.kind) {
      case 'wait':
        this.logOnce(`wait:${symbol}`, 'info', 'Symbol waits', { symbol, reason: decision.reason });
        return;
      case 'cancel':
        this.logger.info('Cancelling orders', { symbol, orders: decision.orders, reason: decision.reason });
        for (const id of decision.orders) await this.manager.cancel(id);
        // the position the exit needs may be known now (cancelled, fills fetched): the next tick exits
        return;
      case 'exit': {
        await this.manager.outbox.emit('risk.triggered', decision.reason, {
          symbol,
          rule: decision.trigger.kind,
          price,
          changePct: decision.trigger.changePct,
        });
        // a stop-loss must get out: always at market
        const type = decision.trigger.kind === 'stop-loss' ? 'market' : this.config.orders.type;
        await this.placeExit(symbol, decision.amount, type, price, decision.trigger.kind, decision.reason);
        return;
      }
      case 'strategy':
        await this.askStrategy(symbol, market, price, decision.inPosition, facts);
    }
  }

  private async askStrategy(
    symbol: string,
    market: Market,
    price: number,
    inPosition: boolean,
    facts: PlacementFacts,
  ): Promise<void> {
    const strategy = this.opts.strategy;
    const candles = await this.withReadDeadline(
      symbol,
      this.readOnce(`candles:${symbol}`, () =>
        this.exchange.fetchCandles(symbol, this.config.timeframe, this.config.candleLimit),
      ),
    );
    const closed = closedCandles(candles, this.clock.now());
    if (closed.length < strategy.minCandles) return;
    const newest = closed[closed.length - 1][0];
    const seen = this.lastSeenCandle.get(symbol);
    const newCandles = seen === undefined ? 1 : closed.filter((c) => c[0] > seen).length;
    if (newCandles === 0) return;
    const signal = strategy.evaluate(closed, { symbol, inPosition, newCandles });
    this.lastSeenCandle.set(symbol, newest);
    const position = this.manager.positions()[symbol];
    const decision = decideOnSignal({
      signal,
      inPosition,
      market,
      price,
      position,
      facts,
      stakePerTrade: this.config.risk.stakePerTrade,
    });
    if (decision.kind === 'none') {
      // logged once per reason (the signal's own words change every candle)
      if (!decision.quiet) {
        this.logOnce(`signal:${symbol}`, 'info', `Signal ${signal.action} not followed`, {
          symbol,
          reason: decision.reason,
        });
      }
      return;
    }
    if (decision.kind === 'exit') {
      await this.placeExit(symbol, decision.amount, this.config.orders.type, price, 'exit', signal.reason);
      return;
    }
    this.logger.info('Entry signal', { symbol, reason: signal.reason, amount: decision.amount, price });
    await this.manager.place({
      symbol,
      side: 'buy',
      type: this.config.orders.type,
      amount: decision.amount,
      price: this.config.orders.type === 'limit' ? roundToStep(price, market.priceStep) : undefined,
      purpose: 'entry',
      reason: signal.reason,
    });
  }

  /** What the placement gate (placement-gate.ts) needs to know of `symbol` now. */
  private placementFacts(symbol: string): PlacementFacts {
    return {
      refusal: this.manager.placementRefusal,
      listed: symbol in this.manager.markets,
      pending: this.manager.pendingOrders(symbol),
      cooldownUntil: cooldownUntil(
        this.manager.hotOrders().filter((o) => o.symbol === symbol),
        this.config.orders.rejectCooldownMs,
        MAX_REFUSAL_COOLDOWN_MS,
      ),
      now: this.clock.now(),
      traded: this.config.symbols.includes(symbol),
      pause: this.pause,
      positionsHeld: this.positionsHeld(symbol),
      risk: this.config.risk,
    };
  }

  /** Open positions plus entries in flight on other symbols: each may become a position. */
  private positionsHeld(symbol: string): number {
    const held = new Set(this.manager.openPositions().map((p) => p.symbol));
    for (const o of this.manager.pendingOrders()) {
      if (o.symbol !== symbol && o.purpose === 'entry' && !isFinal(o.status)) held.add(o.symbol);
    }
    held.delete(symbol);
    return held.size;
  }

  private async placeExit(
    symbol: string,
    amount: number,
    type: 'market' | 'limit',
    price: number,
    purpose: 'exit' | 'stop-loss' | 'take-profit',
    reason: string,
  ): Promise<void> {
    const market = this.manager.markets[symbol];
    this.logger.info('Exit signal', { symbol, purpose, reason, amount, price });
    await this.manager.place({
      symbol,
      side: 'sell',
      type,
      amount,
      price: type === 'limit' ? roundToStep(price, market.priceStep) : undefined,
      purpose,
      reason,
    });
  }

  /**
   * The read already on its way for `key`, or a new one: a read given up at its deadline keeps running in ccxt
   * (its own timeout and retries), and while the exchange hangs each tick would otherwise add one more beside it.
   */
  private readOnce<T>(key: string, read: () => Promise<T>): Promise<T> {
    const pending = this.readsInFlight.get(key) as Promise<T> | undefined;
    if (pending) return pending;
    const started = read();
    this.readsInFlight.set(key, started);
    const done = (): void => {
      this.readsInFlight.delete(key);
    };
    started.then(done, done);
    return started;
  }

  /** A read of one symbol (or the account) given up after `symbolReadTimeoutMs` for this tick. */
  private withReadDeadline<T>(where: string, read: Promise<T>): Promise<T> {
    const ms = this.config.symbolReadTimeoutMs;
    return withDeadline(
      read,
      ms,
      () =>
        new NetworkError(`${where}: no answer from the exchange within ${ms} ms`, { where, timeoutMs: ms }),
      this.clock,
    );
  }

  /** Markets reloaded every `marketsRefreshMs` (listings, steps and minimums change); a failure retries next tick. */
  private async refreshMarketsWhenDue(): Promise<void> {
    if (this.clock.now() - this.marketsLoadedAt < this.config.marketsRefreshMs) return;
    try {
      const markets = await this.withReadDeadline('markets', this.exchange.loadMarkets(true));
      this.manager.setMarkets(markets);
      this.marketsLoadedAt = this.clock.now();
      this.logger.info('Markets reloaded', { markets: Object.keys(markets).length });
    } catch (err) {
      await this.onTickError('markets', err);
    }
  }

  /** Balance → equity → kill switch. */
  private async refreshAccount(): Promise<void> {
    this.balance = await this.readOnce('balance', () => this.exchange.fetchBalance());
    const now = this.clock.now();
    const positions = this.manager.positions();
    let held = 0;
    for (const p of Object.values(positions)) {
      if (splitSymbol(p.symbol).quote !== this.quoteCurrency) continue;
      held += p.amount * (this.lastPrices[p.symbol] ?? averageEntryPrice(p));
    }
    this.equity = (this.balance[this.quoteCurrency]?.total ?? 0) + held;
    const realizedToday = realizedOnDay(positions, utcDay(now));
    const update = evaluateRisk(this.manager.state.risk, this.equity, realizedToday, now, this.config.risk);
    const before = this.manager.state.risk;
    if (update.triggered) {
      await this.manager.state.setRisk(update.state, true);
      await this.manager.outbox.emit(
        'risk.triggered',
        `Kill switch (${update.triggered.kind}): ${update.triggered.reason}`,
        {
          rule: update.triggered.kind,
          reason: update.triggered.reason,
          equity: this.equity,
        },
      );
      await this.pauseEntries(`kill switch: ${update.triggered.reason}`, 'risk');
    } else if (update.cleared) {
      await this.manager.state.setRisk(update.state, true);
      if (this.manager.state.pause?.by === 'risk') await this.resumeEntries('risk');
    } else if (before.equityPeak !== update.state.equityPeak || before.day !== update.state.day) {
      // the peak is worth saving but not worth a synchronous commit per tick
      void this.manager.state.setRisk(update.state, false);
    }
  }

  private async onTickError(where: string, err: unknown): Promise<void> {
    // a read the exchange refused (an error code ccxt does not know, a bad request) is retried like a temporary
    // failure, and alerted the same way if it lasts; a refused create never gets here (the order is rejected)
    if (isTemporary(err) || err instanceof ExchangeRefusedError) {
      this.temporaryErrorThisTick = true;
      this.logOnce(`temp:${where}`, 'warn', 'Exchange call failed; retrying next tick', {
        where,
        error: errorMessage(err),
      });
      await this.exchangeFailed(err);
      return;
    }
    if (err instanceof StrategyError) {
      this.logOnce(`strategy:${where}`, 'warn', 'Strategy failed; symbol skipped this tick', {
        where,
        error: err.message,
      });
      return;
    }
    if (err instanceof PersistenceError) {
      this.logOnce(`persist:${where}`, 'error', 'State could not be saved; no new orders until it can', {
        where,
        error: err.message,
      });
      return;
    }
    if (err instanceof OperationalError || err instanceof OrderNotFoundError) {
      this.logger.error('Operational error; entries paused', {
        where,
        error: errorMessage(err),
        ...err.context,
      });
      try {
        await this.pauseEntries(`${where}: ${errorMessage(err)}`, 'operational');
      } catch (pauseErr) {
        this.logger.error('Could not persist the pause', { error: errorMessage(pauseErr) });
      }
      return;
    }
    throw err;
  }

  /** An exchange call failed: one `exchange.unreachable` event once it has lasted `unreachableAlertMs`. */
  private async exchangeFailed(err: unknown): Promise<void> {
    const now = this.clock.now();
    const { next, alert } = afterFailure(
      this.reachability,
      now,
      errorMessage(err),
      this.config.unreachableAlertMs,
    );
    this.reachability = next;
    if (!alert) return;
    await this.manager.outbox.emit(
      'exchange.unreachable',
      `Exchange ${this.exchange.id} unreachable for ${Math.round((now - next.since!) / 1000)} s: ${errorMessage(err)}`,
      { exchange: this.exchange.id, since: next.since, error: errorMessage(err) },
    );
  }

  private async markReachable(): Promise<void> {
    const wasDown = this.reachability.since !== null;
    const { next, recovered } = afterSuccess(this.reachability, this.clock.now());
    this.reachability = next;
    if (!wasDown) return;
    this.loggedErrors.clear();
    this.logger.info('Exchange reachable again');
    if (recovered !== null) {
      await this.manager.outbox.emit(
        'exchange.recovered',
        `Exchange ${this.exchange.id} reachable again after ${Math.round(recovered / 1000)} s`,
        { exchange: this.exchange.id, downMs: recovered },
      );
    }
  }

  /** Logs a repeated problem once until it changes or clears. */
  private logOnce(
    key: string,
    level: 'info' | 'warn' | 'error',
    message: string,
    meta: Record<string, unknown>,
  ): void {
    const text = `${message} ${JSON.stringify(meta)}`;
    if (this.loggedErrors.get(key) === text) {
      this.logger.debug(message, meta);
      return;
    }
    this.loggedErrors.set(key, text);
    this.logger[level](message, meta);
  }

  private heartbeat(): void {
    const now = this.clock.now();
    if (now - this.lastHeartbeatAt < this.heartbeatMs) return;
    this.lastHeartbeatAt = now;
    const positions = this.manager.positions();
    let unrealized = 0;
    for (const p of Object.values(positions)) unrealized += unrealizedPnl(p, this.lastPrices[p.symbol] ?? 0);
    this.logger.info('Heartbeat', {
      state: this.loopState,
      ticks: this.ticks,
      equity: Number(this.equity.toFixed(2)),
      openPositions: this.manager.openPositions().length,
      openOrders: this.manager.pendingOrders().filter((o) => !isFinal(o.status)).length,
      unrealizedPnl: Number(unrealized.toFixed(2)),
      paused: this.pause?.reason,
      exchangeReachable: this.reachability.since === null,
    });
  }
}

/** Candles without the one still forming (the newest, when its period has not ended at `now`). */
export function closedCandles(candles: readonly Candle[], now: number): Candle[] {
  if (candles.length < 2) return [...candles];
  const last = candles[candles.length - 1];
  const period = last[0] - candles[candles.length - 2][0];
  return last[0] + period > now ? candles.slice(0, -1) : [...candles];
}

/**
 * What a start step waits out instead of exiting: the exchange or the network failing (temporary), refusing a
 * read, or refusing our key (operational: a person fixes it while trading waits and says so).
 */
function waitable(err: unknown): boolean {
  return isTemporary(err) || err instanceof ExchangeRefusedError || err instanceof OperationalError;
}
