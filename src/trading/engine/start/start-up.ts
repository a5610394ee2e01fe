/**
 * The start, before the first tick: wait for the exchange (markets and account), then recover the state against it
 * (recovery.ts) and read the account once — the loop's states `waiting-exchange` and `recovering`. A start step waits
 * for the exchange however long it takes (a person or time fixes that, a restart does not), said once per change
 * in the log and alerted once per outage (exchange-health.ts).
 */
import type { Clock } from '../../../shared/clock';
import type { Config } from '../../../shared/config/schema';
import { errorMessage } from '../../../shared/errors';
import type { LastExit, RecoverySummary } from '../../../shared/ipc/protocol';
import type { Logger } from '../../../shared/logging/logger';
import { retryForever } from '../../../shared/retry';
import type { BalanceEntry, Exchange, Market } from '../../exchange/exchange';
import type { AccountWatch } from '../tick/account-watch';
import { firstThen, type ConnectReads } from './connect-reads';
import type { EntryPause } from '../operator/entry-pause';
import type { ExchangeHealth } from '../exchange-watch/exchange-health';
import type { ExchangeReads } from '../exchange-watch/exchange-reads';
import { hiddenStateCause, hiddenStateReason, type HiddenStateEvidence } from './hidden-state';
import type { OnceLog } from '../log-once';
import type { MarketRefresh } from './market-refresh';
import { readTogether } from './read-together';
import { recoverTradingState, type RecoveryOptions, type RecoveryOrderJobs } from './recovery';
import type { RecoveryReads } from './recovery-reads';
import type { StateGateway } from '../state/state-gateway';
import type { TickErrorHandler } from '../exchange-watch/tick-error-handler';
import { waitableAtStart } from '../exchange-watch/tick-errors';

export interface StartUpOptions
  extends RecoveryOrderJobs, Pick<RecoveryOptions, 'manager' | 'orderBook' | 'outbox'> {
  /** The state's gateway (recovery reads the state's orders and sequence). */
  state: Pick<StateGateway, 'data'>;
  exchange: Exchange;
  config: Config['trading'];
  clock: Clock;
  logger: Logger;
  activity: (what: string) => void;
  /** Aborted when trading stops: a start still waiting gives up. */
  controller: AbortController;
  health: ExchangeHealth;
  onceLog: OnceLog;
  reads: ExchangeReads;
  account: AccountWatch;
  markets: MarketRefresh;
  errors: Pick<TickErrorHandler, 'handle'>;
  /** The symbols the engine watches (TradingLoop: configured ones, then any other it holds or has orders on). */
  symbolsToWatch: () => string[];
  /** Entries' pause (a new state on an account another install traded: hidden-state.ts). */
  pauses: Pick<EntryPause, 'pauseFor'>;
}

/** What a start knows of its state before recovery (daemon.ts): whether it is new, and where it should be. */
export interface StartFacts {
  /** Live, and the state never traded nor was confirmed as a fresh install (hidden-state.ts `unconfirmedNewState`). */
  newState: boolean;
  /** BYNINJA_DATA_DIR as resolved: named in the hidden-state pause's reason. */
  dataDir: string;
}

export class StartUp {
  private readonly recoveryParts: Pick<RecoveryOptions, 'manager' | 'orderBook' | 'outbox'>;
  private readonly state: Pick<StateGateway, 'data'>;
  private readonly exchange: Exchange;
  private readonly config: Config['trading'];
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly activity: (what: string) => void;
  private readonly controller: AbortController;
  private readonly health: ExchangeHealth;
  private readonly onceLog: OnceLog;
  private readonly reads: ExchangeReads;
  private readonly account: AccountWatch;
  private readonly markets: MarketRefresh;
  private readonly errors: Pick<TickErrorHandler, 'handle'>;
  private readonly symbolsToWatch: () => string[];
  private readonly pauses: Pick<EntryPause, 'pauseFor'>;
  private readonly orderJobs: RecoveryOrderJobs;
  /** The start waited for the exchange (a read failed): reads sent before that are read again. */
  private startWaited = false;

  constructor(opts: StartUpOptions) {
    this.recoveryParts = { manager: opts.manager, orderBook: opts.orderBook, outbox: opts.outbox };
    this.state = opts.state;
    this.exchange = opts.exchange;
    this.config = opts.config;
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.activity = opts.activity;
    this.controller = opts.controller;
    this.health = opts.health;
    this.onceLog = opts.onceLog;
    this.reads = opts.reads;
    this.account = opts.account;
    this.markets = opts.markets;
    this.errors = opts.errors;
    this.symbolsToWatch = opts.symbolsToWatch;
    this.pauses = opts.pauses;
    this.orderJobs = {
      adoption: opts.adoption,
      answers: opts.answers,
      refresher: opts.refresher,
      canceller: opts.canceller,
      rechecks: opts.rechecks,
    };
  }

  /**
   * Start, first step (the loop's state `waiting-exchange`): load the exchange's markets, waiting — with a capped backoff,
   * never exiting — for as long as the exchange (or the network) does not answer or refuses our key: a person or
   * time fixes that, a restart does not. One `exchange.unreachable` event once it has lasted
   * `unreachableAlertMs`, one `exchange.recovered` after. Meanwhile the TCP layer answers and says so. `sent`: the
   * same reads already on their way (connect-reads.ts), taken as the first attempts.
   */
  async connect(sent?: ConnectReads): Promise<{ markets: Record<string, Market>; account: string }> {
    this.activity('waiting for the exchange');
    const wait = <T>(what: string, fn: () => Promise<T>, signal: AbortSignal): Promise<T> =>
      retryForever(fn, {
        baseDelayMs: 1_000,
        maxDelayMs: 60_000,
        retryable: waitableAtStart,
        signal,
        clock: this.clock,
        onRetry: ({ error, delayMs }) => this.waitingForExchange(what, error, delayMs),
      });
    // markets and the account do not depend on each other: one round trip for both
    const [loaded, account] = await readTogether(this.controller.signal, [
      (signal: AbortSignal) =>
        wait(
          'load markets',
          firstThen(sent?.markets, () => this.exchange.loadMarkets(false, this.symbolsToWatch())),
          signal,
        ),
      // which account: the state must be this account's (state-identity.ts); a refused key is waited out here
      (signal: AbortSignal) =>
        wait(
          'read the account',
          firstThen(sent?.account, () => this.exchange.accountId()),
          signal,
        ),
    ] as const);
    await this.health.answered();
    // the first load asked for the traded symbols (connect-reads.ts): a symbol only state holds is asked for now,
    // with them (missing after this: no longer listed)
    const watched = this.symbolsToWatch();
    const markets = watched.every((symbol) => loaded[symbol] || this.config.symbols.includes(symbol))
      ? loaded
      : await wait('load markets', () => this.exchange.loadMarkets(true, watched), this.controller.signal);
    await this.markets.loaded(watched, markets);
    return { markets, account };
  }

  /**
   * A start step waits for the exchange: logged once per read and change of its error, alerted once per outage. The
   * reads wait side by side (markets and the account), each failing with its own words (its URL): under one key they
   * would take turns and every retry of either would be a new line.
   */
  private waitingForExchange(what: string, error: unknown, delayMs: number): void {
    this.startWaited = true;
    const said = errorMessage(error);
    this.onceLog.log(
      `waiting-exchange:${what}`,
      'warn',
      `Waiting for ${this.exchange.id}; retrying`,
      { what, error: said },
      { sameAs: said },
    );
    this.logger.debug(`${what} failed, retrying in ${delayMs} ms`, { error: errorMessage(error) });
    void this.health.failed(error);
  }

  /**
   * Startup recovery (the loop's state `recovering`); no order is placed before it has finished. `sent`: its reads already on
   * their way (recovery-reads.ts), used unless the start had to wait for the exchange (then they are read again:
   * recovery works on answers given after the wait). `facts`: a new state is checked against the exchange's orders
   * of other installs (hidden-state.ts), and entries pause if it is not the first.
   */
  async recover(lastExit: LastExit, sent?: RecoveryReads, facts?: StartFacts): Promise<RecoverySummary> {
    this.activity('recovery');
    const early = this.startWaited ? undefined : sent;
    // the balance (for equity and the kill switch) is read beside recovery's own reads; it is used only when
    // recovery found everything as state had it — a fill, an adoption, a cancel or a resolved order it applied may
    // have happened after that read (the spent quote still in it, the bought coins already a position: equity and
    // its peak inflated, a false kill switch next), so then the balance is read again, after recovery
    const balance = this.reads.once('balance', () => early?.balance ?? this.exchange.fetchBalance());
    balance.catch(() => undefined);
    const summary = await recoverTradingState({
      ...this.recoveryParts,
      state: this.state,
      ...this.orderJobs,
      exchange: this.exchange,
      lastExit,
      unknownOnStart: this.config.orders.unknownOnStart,
      symbols: this.config.symbols,
      clock: this.clock,
      logger: this.logger,
      signal: this.controller.signal,
      waitable: waitableAtStart,
      onWait: (what, error, delayMs) => this.waitingForExchange(what, error, delayMs),
      sent: early,
      newState: facts?.newState ?? false,
      onHiddenState: (evidence) => this.hiddenState(evidence, facts!.dataDir),
    });
    await this.health.answered();
    const unchanged =
      summary.newFills === 0 &&
      summary.changedWhileDown.length === 0 &&
      summary.resolvedUnknown.length === 0 &&
      summary.adopted.length === 0 &&
      summary.cancelledUnknown.length === 0;
    // a new read once the early one has settled (never handed the early one back while it is still on its way)
    const fresh = (): Promise<Record<string, BalanceEntry>> =>
      balance.then(
        () => this.exchange.fetchBalance(),
        () => this.exchange.fetchBalance(),
      );
    await this.account
      .refresh(unchanged ? balance : fresh())
      .catch((err: unknown) => this.errors.handle('account', err));
    return summary;
  }

  /** A new state on an account another install of this bot traded: said loudly, entries paused until /resume. */
  private async hiddenState(evidence: HiddenStateEvidence, dataDir: string): Promise<void> {
    const reason = hiddenStateReason(evidence, this.recoveryParts.orderBook.installId, dataDir);
    this.logger.error(`Trading state missing or hidden; new entries paused: ${reason}`, {
      installIds: evidence.installIds,
      orders: evidence.orders,
      open: evidence.open,
      ...(evidence.newestAt === undefined ? {} : { newestAt: evidence.newestAt }),
      dataDir,
    });
    await this.pauses.pauseFor(hiddenStateCause(reason, this.clock.now()));
  }
}
