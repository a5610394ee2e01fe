/**
 * Composition root of the telegram daemon: remote control and notifications. Wires real implementations
 * only; the logic lives in notify/ (durable outbox), supervisor/ (PM2 bus → alerts, hang, link, trading events)
 * and bot/ (commands). Stays useful while trading is down: alerts come from PM2, commands answer from PM2.
 *
 * Start order: stores → outbox (+ sender: Telegram, or log-only without a token/chat) → telegram's own start
 * report → TCP client to trading (reconnects in the background) → PM2 bus + re-sync → hang watch → bot.
 * Shutdown (reverse): bot → hang watch → TCP client → bus listener → event relay → PM2 → outbox → stores.
 */
import '../shared/config/zod-jitless';
import { systemClock } from '../shared/clock';
import { Store } from '../shared/persistence/store';
import { IpcClient, type LinkChange } from '../shared/ipc/client';
import { loadOrCreateIpcToken } from '../shared/ipc/token';
import { errorMessage } from '../shared/errors';
import { runService } from '../shared/lifecycle/service';
import { PM2_GONE } from '../shared/lifecycle/shutdown';
import { Pm2Client } from '../ops/pm2-client';
import type { LinkView } from '../ops/status-report';
import { writeDelivery } from '../ops/telegram-delivery';
import { createBot } from './bot/bot';
import { ChartProcess } from './charts/chart-process';
import { TelegramSender } from './bot/telegram-sender';
import { DeliveryHealth } from './notify/delivery-health';
import { ChatMoves } from './notify/chat-move-book';
import { FallbackSender } from './notify/fallback-sender';
import { LogSender } from './notify/log-sender';
import type { MessageSender } from './notify/notification';
import { OUTBOX_STORE_NAME, OUTBOX_STORE_VERSION, Outbox, validateOutboxState } from './notify/outbox';
import { emptyOutboxState, type OutboxState } from './notify/outbox-queue';
import { BusListener } from './supervisor/bus-listener';
import { HangWatch } from './supervisor/hang-watch';
import { LinkWatch } from './supervisor/link-watch';
import { tellPm2Gone } from './supervisor/pm2-gone-alert';
import { selfStartAlerts } from './supervisor/resync';
import { requestSelfRestartMarker, takeSelfRestartMarker } from './supervisor/self-restart-marker';
import {
  SUPERVISOR_STORE_NAME,
  SUPERVISOR_STORE_VERSION,
  emptySupervisorState,
  validateSupervisorState,
  type SupervisorState,
} from './supervisor/supervisor-state';
import { TradingEventRelay } from './supervisor/trading-event-relay';
import { DailySummary, forgetSummaryDay } from './supervisor/daily-summary';
import { telegramHealth } from './health';
import { createTelegramMetrics } from './metrics';
import { OpsHttpServer } from '../shared/http/ops-http-server';
import { pm2RestartCount } from '../shared/lifecycle/pm2-env';
import { byninjaVersion } from '../ops/version';

const SELF = 'telegram';
const TRADING = 'trading';

void runService(
  SELF,
  async (ctx) => {
    const { config, secrets, logger, dataDir, shutdown } = ctx;
    const log = logger.child({ module: 'main' });
    // the one clock of this daemon (systemClock, passed to runService below): every class takes time from it
    const { clock } = ctx;

    // The service lock of runService already guarantees one telegram per data dir, so these stores have one writer.
    // A corrupt outbox/supervisor file must not keep the operator's alert channel down: start empty and say so.
    const outboxStore = await Store.open<OutboxState>({
      dir: dataDir,
      name: OUTBOX_STORE_NAME,
      version: OUTBOX_STORE_VERSION,
      defaults: emptyOutboxState,
      validate: validateOutboxState,
      onCorrupt: 'start-empty',
      logger,
      clock,
    });
    shutdown.addStore(outboxStore);
    const supervisorStore = await Store.open<SupervisorState>({
      dir: dataDir,
      name: SUPERVISOR_STORE_NAME,
      version: SUPERVISOR_STORE_VERSION,
      defaults: emptySupervisorState,
      validate: validateSupervisorState,
      onCorrupt: 'start-empty',
      logger,
      clock,
    });
    shutdown.addStore(supervisorStore);

    const token = secrets.telegramBotToken;
    const chatId = config.telegram.chatId;
    // A Telegram-side problem never stops this service: it is reported here (and in `byninja status`), alerts fall
    // back to the log and the Bot API is retried with backoff.
    const health = new DeliveryHealth({
      ...(!token
        ? { logOnlyReason: 'no-token' as const }
        : !chatId
          ? { logOnlyReason: 'no-chat-id' as const }
          : {}),
      logger,
      clock,
      onChange: (state) => writeDelivery(dataDir, { pid: process.pid, ...state }),
    });
    const logSender = new LogSender(logger);
    let sender: MessageSender;
    let fallback: FallbackSender | undefined;
    if (token && chatId) {
      sender = fallback = new FallbackSender({
        telegram: new TelegramSender({ token, apiRoot: config.telegram.apiRoot }),
        log: logSender,
        health,
        clock,
        // the alert chat's outcomes say where alerts go; another chat refusing the bot waits alone
        isAlertChat: (id) => chatMoves.resolve(chatId) === id,
        logger,
      });
      log.info(`📨 alerts go to Telegram chat ${chatId}`);
    } else {
      sender = logSender;
      log.warn(
        token
          ? '⚠️ TELEGRAM_CHAT_ID is not set: alerts are written to this log only (commands still work for allowed chats)'
          : '⚠️ TELEGRAM_BOT_TOKEN is not set: LOG-ONLY MODE — no Telegram bot runs; every alert is written to this log',
      );
    }
    // The groups Telegram upgraded to a supergroup, followed until .env names the new id (kept in the outbox's store;
    // the outbox learns them from a refused send, the bot from Telegram's service messages).
    const chatMoves = new ChatMoves({
      store: outboxStore,
      settings: { chatId, allowedChatIds: config.telegram.allowedChatIds },
      logger,
      clock,
      onChange: (moved) => health.setMovedChats(moved),
    });
    // delivery latency for /metrics (the metrics need the bus listener and the link, made below)
    let observeDelivery: (delayMs: number) => void = () => undefined;
    const outbox = new Outbox({
      store: outboxStore,
      sender,
      settings: config.outbox,
      defaultChatId: chatId ?? 'log',
      logger,
      clock,
      redact: (text) => ctx.redactor.redactString(text),
      onDelivered: (delayMs) => observeDelivery(delayMs),
      chatMoves,
    });
    outbox.start();
    // A fatal error (the crash handler halts the service before its flush): from that moment nothing is sent, polled,
    // acknowledged or restarted on the broken process's state — as trading places no order (shutdown.onHalt).
    shutdown.onHalt(() => outbox.halt());
    await chatMoves.start(outbox);
    shutdown.addStep('stop the outbox sender', () => outbox.close(), { order: 60, timeoutMs: 2_000 });
    // the PM2 daemon died: the pair stops with it, unwatched, and only this service can tell the operator now
    shutdown.addStep(
      'tell the PM2 daemon is gone',
      () => (shutdown.request?.reason === PM2_GONE ? tellPm2Gone(outbox, clock, 1_500) : undefined),
      { order: 5, timeoutMs: 2_000 },
    );

    for (const [label, store] of [
      ['outbox', outboxStore],
      ['supervisor', supervisorStore],
    ] as const) {
      if (store.openReport.startedEmpty || store.openReport.quarantined.length) {
        await outbox.notify({
          key: `state-lost:${label}`,
          priority: 'high',
          text: `⚠️ telegram's ${label} state file was corrupt and was set aside (${store.openReport.quarantined.length} file(s) quarantined); queued alerts or the event cursor may be lost`,
        });
      }
    }

    // Telegram's own start: a requested restart confirmed, an unclean end reported.
    const marker = await takeSelfRestartMarker(dataDir);
    for (const alert of selfStartAlerts(SELF, ctx.lastExit, marker, clock.now())) await outbox.notify(alert);

    const pm2 = new Pm2Client({ clock });
    const listener = new BusListener({
      pm2,
      notifier: outbox,
      store: supervisorStore,
      dataDir,
      settings: config.supervisor,
      logger,
      clock,
      self: SELF,
      trading: TRADING,
      // trading listens again: the link dials now, not up to a backoff step later (its recovery event, which the
      // "back online" alert waits for, comes over it). Called only once the bus is open (listener.start() below),
      // after `ipc` exists.
      onReady: (service) => {
        if (service === TRADING) ipc.peerReady();
      },
    });
    const relay = new TradingEventRelay({
      notifier: outbox,
      store: supervisorStore,
      settings: config.telegram.notifications,
      logger,
      clock,
      offerRecovery: (ev) => listener.offerRecovery(ev),
    });

    const ipcToken = await loadOrCreateIpcToken(dataDir, secrets.ipcToken, logger);
    ctx.redactor.add(ipcToken);
    const ipc = new IpcClient({
      host: config.ipc.host,
      port: config.ipc.port,
      token: ipcToken,
      client: SELF,
      requestTimeoutMs: config.ipc.requestTimeoutMs,
      heartbeatMs: config.ipc.heartbeatMs,
      logger,
      clock,
      cursor: relay.cursor(),
    });
    relay.attach(ipc);
    const link: LinkView = { up: false, reason: 'not connected yet', since: clock.now() };
    ipc.on('link', (change: LinkChange) => {
      link.up = change.up;
      link.since = clock.now();
      if (change.up) delete link.reason;
      else if (change.reason) link.reason = change.reason;
    });
    const linkWatch = new LinkWatch({
      notifier: outbox,
      tradingStatus: () => listener.statusOf(TRADING),
      lastLifecycleAt: () => listener.lastLifecycleAt(TRADING),
      logger,
      clock,
    });
    linkWatch.attach(ipc);
    // Trading may be down: the client keeps re-dialing in the background; telegram works without it.
    ipc
      .connect()
      .catch((err: unknown) =>
        log.warn(`trading is not reachable yet (${errorMessage(err)}); retrying in the background`),
      );

    let started = false;
    if (config.http.enabled) {
      const metrics = createTelegramMetrics({
        outboxDepth: () => outbox.depth(),
        oldestWaitingAt: () => outbox.oldestCreatedAt(),
        busConnected: () => listener.busConnected,
        tradingLinkUp: () => link.up,
        delivery: () => health.state,
        pm2List: () => pm2.list(),
        lastExitKind: ctx.lastExit.kind,
        ...pm2RestartCount(),
        version: byninjaVersion(),
        now: () => clock.now(),
      });
      observeDelivery = metrics.observeDelivery;
      const http = new OpsHttpServer({
        service: SELF,
        host: config.http.host,
        port: config.http.telegramPort,
        portHint: 'set http.telegramPort (BYNINJA__HTTP__TELEGRAM_PORT) to a free port',
        metrics: metrics.registry,
        logger,
        redactor: ctx.redactor,
        clock,
        health: () =>
          telegramHealth({
            started,
            busConnected: listener.busConnected,
            tradingLinkUp: link.up,
            delivery: health.state,
          }),
      });
      await http.listen();
      shutdown.addStep('close the HTTP endpoints', () => http.close(), { order: 40, timeoutMs: 1_000 });
    }

    await listener.start();

    const hang = new HangWatch({
      ping: () => ipc.call('ping', {}),
      lastRefusal: () => ipc.lastRefusal,
      status: () => listener.statusOf(TRADING),
      restart: () => pm2.restart(TRADING),
      markHangRestart: () => listener.markHangRestart(TRADING),
      notifier: outbox,
      hangTimeoutMs: config.supervisor.hangTimeoutMs,
      action: config.supervisor.hangAction,
      intervalMs: config.ipc.heartbeatMs,
      logger,
      clock,
    });
    hang.start();
    shutdown.onHalt(() => void hang.close());

    const charts = new ChartProcess({ clock });
    // before the bot waits for its commands: a /pnl mid-draw ends now, told why
    shutdown.addStep('stop drawing charts', () => charts.close(), { order: 9, timeoutMs: 1_000 });
    if (token) {
      const bot = createBot({
        token,
        apiRoot: config.telegram.apiRoot,
        config,
        logger,
        pm2,
        tradingClient: ipc,
        notifier: outbox,
        charts,
        dataDir,
        logDir: ctx.logDir,
        redactor: ctx.redactor,
        linkState: () => ({ ...link }),
        delivery: () => ({ pid: process.pid, ...health.state }),
        notReady: () => listener.notReady(),
        lastExit: ctx.lastExit,
        beforeSelfRestart: (req) => requestSelfRestartMarker(dataDir, req),
        onHealth: (outcome) => health.report(outcome),
        // a reply went through: the chat takes messages again (alerts to it go to Telegram, not to the log, from now
        // on), and gets the digest of what went to the log only meanwhile
        onChatTookMessage: (id) => {
          fallback?.chatTakesMessages(id);
          outbox
            .chatTakesMessages(id)
            .catch((err: unknown) =>
              log.warn(`could not queue the log-only digest for chat ${id}: ${errorMessage(err)}`),
            );
        },
        chatMoves,
        self: SELF,
        clock,
      });
      await bot.start();
      shutdown.onHalt(() => bot.halt());
      shutdown.addStep('stop the Telegram bot', () => bot.stop(), { order: 10, timeoutMs: 2_000 });
    }

    const summaryHour = config.telegram.dailySummaryHourUtc;
    if (summaryHour !== undefined) {
      const photos =
        token && chatId ? new TelegramSender({ token, apiRoot: config.telegram.apiRoot }) : undefined;
      const summary = new DailySummary({
        hourUtc: summaryHour,
        trading: ipc,
        notifier: outbox,
        store: supervisorStore,
        charts,
        ...(photos
          ? {
              sendPhoto: (png: Buffer, caption: string) =>
                chatMoves.sendFollowing(chatId!, (to) => photos.sendPhoto(to, png, caption)),
            }
          : {}),
        logger,
        clock,
      });
      summary.start();
      shutdown.onHalt(() => void summary.close());
      shutdown.addStep('stop the daily summary', () => summary.close(), { order: 12, timeoutMs: 1_000 });
    } else {
      forgetSummaryDay(supervisorStore);
    }

    shutdown.addStep('stop the hang watch', () => hang.close(), { order: 15, timeoutMs: 1_000 });
    shutdown.addStep(
      'close the TCP link to trading',
      async () => {
        linkWatch.close();
        await ipc.close();
      },
      { order: 20, timeoutMs: 1_000 },
    );
    shutdown.addStep('stop the PM2 bus listener', () => listener.close(), { order: 25, timeoutMs: 1_000 });
    shutdown.addStep('drain trading events into the outbox', () => relay.close(), {
      order: 30,
      timeoutMs: 1_000,
    });
    shutdown.addStep('disconnect from PM2', () => pm2.disconnect(), { order: 35, timeoutMs: 1_000 });
    started = true;
  },
  { clock: systemClock },
);
