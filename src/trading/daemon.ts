/**
 * The trading daemon's composition: wires the real implementations and registers shutdown steps.
 * Order of start (runService already holds the service lock, which covers the state files): exchange adapter →
 * markets and account reads sent (connect-reads.ts), and with markets kept from the last run recovery's reads of the
 * traded symbols beside them (or once the account answered, after a refusal for rate: recovery-reads.ts) → while
 * they travel: the rest of the daemon's modules (daemon-parts.ts, required then: in the bundle their top level runs
 * after the first requests left) → state files → event log → TCP server
 * (answers from here on, "waiting for the exchange" included) → markets and account awaited (waits for the
 * exchange, never exits for it) → identity check → the API key's own limits
 * (key-watch.ts: read beside the first reads, or — the kept read recent and "can trade" — after ready, before the
 * first tick; a key that cannot trade refuses a start with nothing open) →
 * recovery (before ready; no order before it) → loop. `runService` sends `ready` once `startTrading` resolves.
 *
 * `wiring` lets a test-only entry point wrap the ports (state store, exchange, event log) in fault and crash
 * decorators (harness/daemons/); the shipped daemon (main.ts) passes none, and its bundle contains none.
 */
import { ConfigError, ByNinjaError, CorruptStateError, errorMessage } from '../shared/errors';
import type { TradingConfig } from '../shared/config/schema';
import type { ServiceContext } from '../shared/lifecycle/service';
import type { EventPublisher } from './engine/state/event-outbox';
import { sendConnectReads } from './engine/start/connect-reads';
import { sendRecoveryReadsEarly } from './engine/start/recovery-reads';
import type { StateStore } from './engine/state/state-gateway';
import type { StateIdentity } from './engine/state/state-identity';
import { profileFor } from './exchange/profiles';
import type { Exchange } from './exchange/exchange';
import { apiKeyFingerprint } from './exchange/ccxt-exchange';
import { createExchange } from './exchange/factory';
import { SIMULATED_SYMBOLS } from './exchange/simulated-market';
import { candleLimitProblem, strategyPeriodField } from './strategy/candle-needs';
import { createStrategy } from './strategy/create-strategy';
import { HeldObservations, timedExchange, type ObserveExchangeCall } from './control/timed-exchange';

/** A start still not ready after this long gets its /health and /metrics anyway (default: right after ready). */
const OPS_EARLY_START_MS = 2_000;

/** Decorators around the ports, for test-only entry points. */
export interface TradingWiring {
  wrapStore?: (store: StateStore) => StateStore;
  wrapExchange?: (exchange: Exchange) => Exchange;
  wrapEvents?: (events: EventPublisher) => EventPublisher;
}

export async function startTrading(
  ctx: ServiceContext<TradingConfig>,
  wiring: TradingWiring = {},
): Promise<void> {
  const { config, logger, dataDir, shutdown } = ctx;
  const { clock } = ctx;
  const startedAt = clock.now();

  const adapter = await createExchange(config.trading, ctx.secrets, { dataDir, logger, clock });
  shutdown.addStep('close exchange', () => adapter.close(), { order: 85 });
  const strategy = createStrategy(config.trading.strategy);
  const candleProblem = candleLimitProblem({
    candleLimit: config.trading.candleLimit,
    minCandles: strategy.minCandles,
    // dry-run reads the real exchange's candles through a paper account: its profile's limit
    exchange: {
      id: config.trading.exchange,
      maxCandles: adapter.traits.maxCandles ?? profileFor(config.trading.exchange)?.maxCandles,
    },
    period: strategyPeriodField(config.trading.strategy),
  });
  // every exchange call timed for /metrics (the metrics need the loop, made below: bound once they exist)
  const callsBeforeMetrics = new HeldObservations();
  // (without the HTTP endpoints nobody reads them: none held)
  let observeCall: ObserveExchangeCall = config.http.enabled ? callsBeforeMetrics.hold : () => undefined;
  const exchange = timedExchange(
    wiring.wrapExchange ? wiring.wrapExchange(adapter) : adapter,
    (method, outcome, seconds) => observeCall(method, outcome, seconds),
  );
  // markets and the account are on their way while the state files, the event log and the TCP server open
  const connectReads = sendConnectReads(exchange, config.trading.symbols);
  // with markets kept from the last run, recovery's reads of the traded symbols need not wait for the fresh ones, nor
  // for the state files: they go out with the first reads, or once the account answered when the exchange refused
  // this bot for rate lately (applied only after the fresh markets and the identity check: recovery-reads.ts)
  const recoveryReads = sendRecoveryReadsEarly(exchange, connectReads, config.trading.symbols);
  // one turn of the event loop first: ccxt's way to the socket is promise jobs (the gate, its throttle's burst, the
  // signing), which the state files' synchronous read and check below would otherwise hold back until done
  await new Promise<void>((resolve) => setImmediate(resolve));
  // the rest of the daemon's modules run now, while the first reads travel (daemon-parts.ts)
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const parts = require('./daemon-parts') as typeof import('./daemon-parts');
  const {
    byninjaVersion,
    EventLog,
    IpcServer,
    loadOrCreateIpcToken,
    blockedMessage,
    readBlockedMarker,
    answerTimeoutsMs,
    registerControlHandlers,
    wireOrders,
    openTradingStateFiles,
    checkIdentity,
    describeIdentity,
    STATE_STORE_NAME,
    isEmptyState,
    unconfirmedNewState,
    KeyNoticeFile,
    KeyWatch,
    holdsAnything,
    openHoldings,
    TradingLoop,
  } = parts;

  const files = await openTradingStateFiles(dataDir, logger, clock);
  shutdown.addStore(files.store);
  // a live state that never traded, as loaded: recovery checks the exchange has no orders of another install of
  // this bot (a data dir on a mount not up yet: hidden-state.ts); paper and dry-run keep their account in the data
  // dir, nothing of theirs is on an exchange
  const newState = config.trading.mode === 'live' && unconfirmedNewState(files.store.data);
  shutdown.addStep('close the state store and history journal', () => files.close(), { order: 95 });
  if (candleProblem) {
    // refused while nothing is at stake; with a position or an order open the start goes on — its stop-loss and
    // take-profit work without the strategy, which a refused start would stop too (review of 28)
    if (!holdsAnything(openHoldings(files.store.data, {}, adapter.traits.fillOrder)))
      throw new ConfigError([candleProblem]);
    logger.error('The strategy cannot be asked: trading goes on for the open positions and orders only', {
      field: candleProblem.field,
      value: candleProblem.value,
      problem: candleProblem.message,
    });
  }
  const events = await EventLog.open(dataDir, {
    retention: config.ipc.eventRetention,
    logger,
    clock,
    redactor: ctx.redactor,
  });
  shutdown.addStep('close event log', () => events.close(), { order: 90 });

  const orders = wireOrders({
    exchange,
    store: wiring.wrapStore ? wiring.wrapStore(files.store) : files.store,
    publisher: wiring.wrapEvents ? wiring.wrapEvents(events) : events,
    history: files.history,
    // set once the exchange answers (loop.connect)
    markets: {},
    botId: config.app.botId,
    orders: config.trading.orders,
    lookupTimeoutMs: config.trading.symbolReadTimeoutMs,
    maxTickerAgeMs: config.trading.maxTickerAgeMs,
    clock,
    logger,
  });
  // the key's own limits (key-watch.ts): read beside the start's first reads, judged after the identity check
  const keyWatch =
    config.trading.mode === 'live'
      ? new KeyWatch({
          exchange,
          outbox: orders.outbox,
          clock,
          logger,
          file: new KeyNoticeFile(dataDir, exchange.id, clock, logger),
          key: apiKeyFingerprint(ctx.secrets.exchangeApiKey),
          startWaitMs: config.trading.symbolReadTimeoutMs,
          holdsOpen: () => holdsAnything(openHoldings(files.store.data, {}, adapter.traits.fillOrder)),
        })
      : undefined;
  keyWatch?.send();
  if (keyWatch) shutdown.addStep('stop the API key look', () => keyWatch.stop(), { order: 1 });
  const loop = new TradingLoop({
    orders,
    exchange,
    strategy,
    config: config.trading,
    clock,
    logger,
    activity: (what) => ctx.activity(what),
  });

  const token = await loadOrCreateIpcToken(dataDir, ctx.secrets.ipcToken);
  ctx.redactor.add(token);
  const server = new IpcServer({
    clock,
    host: config.ipc.host,
    port: config.ipc.port,
    token,
    maxFrameBytes: config.ipc.maxFrameBytes,
    maxClients: config.ipc.maxClients,
    idleTimeoutMs: config.ipc.idleTimeoutMs,
    logger,
    eventLog: events,
    redactor: ctx.redactor,
    answerTimeoutsMs: answerTimeoutsMs(config.trading),
  });
  registerControlHandlers(server, {
    loop,
    orderBook: orders.orderBook,
    exchange,
    config,
    lastExit: ctx.lastExit,
    startedAt,
    version: byninjaVersion(),
    lastEventSeq: () => events.lastSeq,
    history: files.history,
    pageBytes: Math.floor(config.ipc.maxFrameBytes / 4),
    clock,
    apiKey: keyWatch ? () => keyWatch.status() : undefined,
  });
  // up during recovery so the sibling sees "recovering" instead of a dead port
  // the server logs its own "listening" line with host and port
  await server.listen();

  if (config.http.enabled) {
    // /health and /metrics are monitoring, not recovery: they start right after `ready` (prom-client's registry,
    // its default collectors and the HTTP server were ~1/4 of a restart's own cost), or earlier when the start
    // itself takes long (an exchange that does not answer), so /health can say what trading waits for.
    let opsStarted: Promise<void> | undefined;
    const startOps = (): Promise<void> =>
      (opsStarted ??= (async () => {
        // loaded here, not at the top: prom-client and node's http stack are not needed before ready
        const { startTradingOps } =
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          require('./control/ops-endpoints') as typeof import('./control/ops-endpoints');
        const ops = await startTradingOps({
          config,
          loop,
          orderBook: orders.orderBook,
          exchangeId: exchange.id,
          lastExit: ctx.lastExit,
          ipcClients: () => server.clientCount,
          lastEventSeq: () => events.lastSeq,
          logger,
          redactor: ctx.redactor,
          clock,
        });
        callsBeforeMetrics.replay(ops.observeExchangeCall);
        observeCall = ops.observeExchangeCall;
        // a stop that began while they started has passed its closing steps: close them here
        if (shutdown.stopping) await ops.close();
        else shutdown.addStep('close the HTTP endpoints', () => ops.close(), { order: 72, timeoutMs: 1_000 });
      })());
    // monitoring that fails to start is logged, never fatal, whichever path started it; the first tick does not
    // wait for it
    const startOpsLogged = (): void =>
      void startOps().catch((err: unknown) =>
        logger.error(`/health and /metrics did not start: ${errorMessage(err)}`, { error: err }),
      );
    const cancelEarly = clock.timer(OPS_EARLY_START_MS, () => {
      if (!shutdown.stopping) startOpsLogged();
    });
    shutdown.addStep('cancel the early start of the HTTP endpoints', cancelEarly, { order: 1 });
    ctx.afterReady(() => {
      cancelEarly();
      startOpsLogged();
    });
  }

  // a fatal error (crash handler) or the start of a shutdown: no next tick and no new order from this moment
  shutdown.signal.addEventListener('abort', () => loop.halt(), { once: true });
  shutdown.addStep('stop new entries and wait for in-flight exchange calls', () => loop.stop(), {
    order: 10,
    timeoutMs: config.trading.orders.inFlightWaitMs + 500,
  });
  if (config.trading.orders.cancelOpenOnStop) {
    shutdown.addStep(
      'cancel open orders',
      async () => {
        const cancelled = await loop.cancelOpenOrders();
        logger.info('Open orders cancelled on stop', { cancelled });
      },
      { order: 20 },
    );
  }
  shutdown.addStep('commit trading state', () => files.store.commit(), { order: 30 });
  shutdown.addStep('close TCP server', () => server.close(), { order: 70 });

  const { markets, account } = await loop.connect(connectReads);
  const missing = config.trading.symbols.filter((symbol) => !markets[symbol]);
  if (missing.length > 0) {
    throw new ConfigError(
      missing.map((symbol) => ({
        field: 'trading.symbols',
        value: symbol,
        message:
          exchange.id === 'paper'
            ? `the simulated market defines only ${SIMULATED_SYMBOLS.join(', ')}: remove it, or trade it in dry-run or live mode`
            : `exchange ${exchange.id} has no such market`,
      })),
    );
  }
  // the state must be this account's: never a paper position on a live account, never another account's orders
  const identity: StateIdentity = {
    mode: config.trading.mode,
    exchange: exchange.id,
    sandbox: config.trading.mode !== 'paper' && config.trading.sandbox,
    account,
  };
  // a state an older build bound to the key's hash is this key's: its account id is recorded (state-identity.ts)
  const keyAccount =
    config.trading.mode === 'live' ? apiKeyFingerprint(ctx.secrets.exchangeApiKey) : undefined;
  const check = checkIdentity(
    files.store.data.identity,
    identity,
    isEmptyState(files.store.data),
    keyAccount,
  );
  if (check.kind === 'refuse') throw new ConfigError(check.problems);
  if (check.kind === 'record' || check.kind === 'rebind') {
    await files.store.commit((d) => {
      d.identity = identity;
    });
    logger.info(
      check.kind === 'rebind'
        ? `Trading state bound to ${describeIdentity(identity)} (was bound to this API key, ${check.was}): a new key of this account keeps it`
        : `Trading state bound to ${describeIdentity(identity)}`,
    );
  }
  // a key that cannot trade refuses the start only with nothing open (key-watch.ts)
  await keyWatch?.atStart();
  try {
    await loop.recover(ctx.lastExit, await recoveryReads, { newState, dataDir });
  } catch (err) {
    // Stopping while recovery waited for the exchange: the abort ended it, not the state — keep the state as it is
    // (setting it aside here made a restart during an exchange outage block trading on a good file)
    if (err instanceof ByNinjaError || shutdown.stopping) throw err;
    // A bug-class error (TypeError…) while recovering from this state: the state is what it choked on, so it
    // counts as corrupt — set aside, previous generation next (exit 1: PM2 restarts onto it) or blocked
    // (exit 78) — never a restart loop on the same file.
    const outcome = await files.store.rejectLoaded(`recovery failed: ${errorMessage(err)}`);
    if (outcome === 'blocked') {
      const marker = readBlockedMarker(dataDir, STATE_STORE_NAME);
      throw new CorruptStateError(
        marker ? blockedMessage(marker, dataDir) : `trading state rejected: ${errorMessage(err)}`,
        { store: STATE_STORE_NAME },
      );
    }
    throw new ByNinjaError(
      `recovery failed on the loaded trading state (${errorMessage(err)}); it was set aside and the next start uses the previous generation`,
      { store: STATE_STORE_NAME },
    );
  }

  // The first tick (candles and strategy for every symbol) starts after `ready` went out: it is trading, not
  // recovery, and must not delay the restart by its own length.
  ctx.afterReady(async () => {
    // a start on the kept API key read (key-watch.ts) reads the key now; the first tick waits for its answer, and a
    // key that cannot trade with nothing open stops the service here (ConfigError: exit 78), before any order
    await keyWatch?.afterReady();
    if (shutdown.stopping) return;
    void loop.start().catch((err: unknown) => {
      logger.error(`Trading loop failed with an unexpected error: ${errorMessage(err)}`, { error: err });
      void shutdown.shutdown(`fatal: ${errorMessage(err)}`, 1);
    });
  });
}
