/**
 * Listens to PM2's event bus and turns process events into alerts (alert-policy.ts), crash loops into critical
 * alerts and, by config, a stop of trading (crash-loop-policy.ts). Re-syncs from `pm2.list()` at start and on
 * every bus reconnect (resync.ts). "Back online" goes out only once the service said ready (PM2 forwards its
 * `ready` message on the bus) and, for trading, carries its recovery summary from the TCP event stream
 * (offerRecovery): readiness.ts pairs them.
 *
 * Packets are handled one at a time on a promise chain: the bus emitter never waits, and alerts keep their order.
 * Handling a packet only commits to the outbox (a local fsync), never waits for Telegram.
 */
import type { EventEmitter } from 'node:events';
import type { CancelTimer, Clock } from '../../shared/clock';
import { NoAnswerYetError, errorMessage } from '../../shared/errors';
import type { LastExit, TradingEvent } from '../../shared/ipc/protocol';
import type { Logger } from '../../shared/logging/logger';
import { retryForever } from '../../shared/retry';
import { readConfigFailure, type ConfigFailure } from '../../shared/lifecycle/config-failure';
import { ExitCode } from '../../shared/lifecycle/exit-codes';
import {
  breadcrumbPath,
  interpretBreadcrumb,
  readBreadcrumb,
  readRunTraces,
} from '../../shared/lifecycle/last-exit';
import { lastRunFromBreadcrumb, readExitBreadcrumb } from '../../ops/last-run';
import type { Pm2BusPacket, Pm2ProcessView } from '../../ops/pm2-client';
import { escapeHtml, type NotificationInput, type Notifier } from '../notify/notification';
import { decide, markHangRestart, markReady, onlineAlert } from './alert-policy';
import { pruneCrashes, recordCrash } from './crash-loop-policy';
import { nextRestartDelayMs, parseProcessEvent, readyMessageOf, type ProcessEvent } from './process-event';
import {
  emptyReadinessState,
  stepReadiness,
  type ReadinessEvent,
  type ReadinessOutcome,
  type ReadinessSettings,
} from './readiness';
import { compareWithSnapshot, type ResyncReason } from './resync';
import type { SupervisorStore } from './supervisor-state';
import { recoveryText } from './trading-event-text';

/** The part of Pm2Client the supervisor uses. */
export interface SupervisorPm2 {
  launchBus(): Promise<EventEmitter>;
  list(): Promise<Pm2ProcessView[]>;
  stop(name: string): Promise<void>;
  restart(name: string): Promise<void>;
}

export interface BusListenerOptions {
  pm2: SupervisorPm2;
  notifier: Notifier;
  store: SupervisorStore;
  dataDir: string;
  settings: { crashLoopCount: number; crashLoopWindowMs: number; crashLoopAction: 'alert' | 'stop-trading' };
  logger: Logger;
  clock: Clock;
  /** This daemon's PM2 name: its own events are not alerts (it reports its own restarts at start). */
  self?: string;
  trading?: string;
  /** How long trading's ready waits for the recovery event, and vice versa (default 10 s). */
  recoveryWaitMs?: number;
  /** How long a restart-caused online waits after ready for PM2's `restart` of an operator (default 1.5 s). */
  onlineHoldMs?: number;
  /**
   * Called when a service (not this daemon) says ready over PM2 (its `process.send('ready')`, relayed on the bus):
   * trading's means its TCP server listens, and the IPC client dials at once (main.ts).
   */
  onReady?: (service: string) => void;
  /** Backoff while the bus cannot be opened: first step, longest wait (default 1 s → 30 s). */
  busRetryMs?: number;
  busRetryMaxMs?: number;
}

export class BusListener {
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly self: string;
  private readonly trading: string;
  private readonly readinessSettings: ReadinessSettings;
  private readonly readiness = emptyReadinessState();
  /** Callers of offerRecovery waiting to hear whether their event was merged, by event seq. */
  private readonly recoveryWaiters = new Map<number, (merged: boolean) => void>();
  private cancelReadinessTimer?: CancelTimer;
  private chain: Promise<void> = Promise.resolve();
  private bus?: EventEmitter;
  private readonly lifecycleAt = new Map<string, number>();
  private closed = false;
  /** Ends the background retries of opening the bus. */
  private readonly closing = new AbortController();
  private busDown = false;
  private readonly onPacket = (packet: Pm2BusPacket): void => {
    if (!this.closed) void this.handlePacket(packet);
  };
  private readonly onMessage = (packet: Pm2BusPacket): void => {
    const service = readyMessageOf(packet);
    if (this.closed || service === undefined || service === this.self) return;
    this.enqueue(() => this.onReadiness({ kind: 'ready', service }), 'a ready message');
    try {
      this.opts.onReady?.(service);
    } catch (err) {
      this.logger.warn(`reacting to ${service}'s ready message failed: ${errorMessage(err)}`);
    }
  };

  constructor(private readonly opts: BusListenerOptions) {
    this.logger = opts.logger.child({ module: 'supervisor' });
    this.clock = opts.clock;
    this.self = opts.self ?? 'telegram';
    this.trading = opts.trading ?? 'trading';
    this.readinessSettings = {
      trading: this.trading,
      recoveryWaitMs: opts.recoveryWaitMs ?? 10_000,
      operatorConfirmMs: opts.onlineHoldMs ?? 1_500,
    };
  }

  /**
   * Opens the bus and re-syncs once it is open. Resolves after the first attempt: if PM2 is unreachable, it keeps
   * trying in the background with the one backoff (shared/retry.ts) until it succeeds or the listener closes.
   */
  start(): Promise<void> {
    let firstAttemptDone!: () => void;
    const firstAttempt = new Promise<void>((resolve) => (firstAttemptDone = resolve));
    retryForever(() => this.openBus().finally(firstAttemptDone), {
      retryable: () => !this.closed,
      baseDelayMs: this.opts.busRetryMs ?? 1_000,
      maxDelayMs: this.opts.busRetryMaxMs ?? 30_000,
      signal: this.closing.signal,
      clock: this.clock,
      onRetry: ({ error, delayMs }) =>
        this.logger.warn(`cannot open PM2 event bus (${errorMessage(error)}); retrying in ${delayMs} ms`),
    }).catch(() => undefined); // closed while retrying
    return firstAttempt;
  }

  /** PM2 status of a service as last seen (bus events and re-syncs). */
  statusOf(service: string): string | undefined {
    return this.opts.store.data.services[service]?.status;
  }

  /** Last time PM2 reported the service exiting or coming online. */
  lastLifecycleAt(service: string): number | undefined {
    return this.lifecycleAt.get(service);
  }

  /** Records that the supervisor restarts `service` because it hung (its online is reported as such). */
  markHangRestart(service: string): void {
    this.opts.store.change((d) => markHangRestart(d.watch, service, this.clock.now()));
  }

  /** Handles a bus packet (also the entry point for tests). Never throws; resolves when handled. */
  handlePacket(packet: Pm2BusPacket): Promise<void> {
    const now = this.clock.now();
    return this.enqueue(() => this.process(packet, now), 'a PM2 event');
  }

  /** Handles PM2's `process:msg` packet of a service's ready message (also the entry point for tests). */
  handleMessage(packet: Pm2BusPacket): Promise<void> {
    this.onMessage(packet);
    return this.chain;
  }

  /** Services PM2 says are online that have not said ready yet (recovering, or waiting for the exchange). */
  notReady(): string[] {
    return Object.entries(this.readiness.pending)
      .filter(([, p]) => p.readyAt === undefined)
      .map(([service]) => service);
  }

  private enqueue(task: () => Promise<void>, what: string): Promise<void> {
    this.chain = this.chain.then(task).catch((err: unknown) => {
      this.logger.error(`supervisor failed to handle ${what}: ${errorMessage(err)}`, { err });
    });
    return this.chain;
  }

  /** Re-syncs from pm2.list() (serialized with packet handling). */
  resync(reason: ResyncReason): Promise<void> {
    this.chain = this.chain
      .then(() => this.doResync(reason))
      .catch((err: unknown) => {
        this.logger.warn(`re-sync with PM2 failed (${reason}): ${errorMessage(err)}`);
      });
    return this.chain;
  }

  /**
   * trading's `recovery` event: merged into trading's "back online" alert (resolves true once that alert is in the
   * outbox), or false when the caller must notify it on its own (its run never got ready, it came too late, or
   * telegram is closing).
   */
  offerRecovery(event: TradingEvent): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      this.recoveryWaiters.get(event.seq)?.(false);
      this.recoveryWaiters.set(event.seq, resolve);
      this.enqueue(() => {
        // after the PM2 events queued before it: an exit of trading reported just now makes its online due
        const watch = this.opts.store.data.watch[this.trading];
        const onlineDue =
          watch !== undefined &&
          (watch.down !== undefined || watch.operatorAction === true || watch.stoppedByOperator === true);
        return this.onReadiness({ kind: 'recovery', event, onlineDue });
      }, 'a recovery event');
    });
  }

  /** Sends what is ready, stops listening. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    this.cancelReadinessTimer?.();
    // pm2's bus is an axon sub-emitter whose `off(event)` drops every handler of the event (it has no
    // removeAllListeners); a plain EventEmitter's `off(event, fn)` drops ours: passing both serves both.
    const bus = this.bus as unknown as { off?: (event: string, fn: unknown) => void } | undefined;
    bus?.off?.('process:event', this.onPacket);
    bus?.off?.('process:msg', this.onMessage);
    this.chain = this.chain.then(() => this.onReadiness({ kind: 'close' }));
    await this.chain;
    for (const resolve of this.recoveryWaiters.values()) resolve(false);
    this.recoveryWaiters.clear();
  }

  /** One step of the readiness pairing (on the chain): queue what is due, release unmerged recoveries, re-arm. */
  private async onReadiness(event: ReadinessEvent): Promise<void> {
    const outcome: ReadinessOutcome = stepReadiness(
      this.readiness,
      event,
      this.clock.now(),
      this.readinessSettings,
    );
    for (const { report, recovery } of outcome.online) {
      this.opts.store.change((d) => markReady(d.watch, report.service));
      // queued (in memory at least) either way: the relay must not send the recovery a second time
      await this.queueAlert(
        recovery ? onlineAlert(report, recoveryText(recovery.data), recovery.seq) : onlineAlert(report),
      );
      if (recovery) this.settleRecovery(recovery.seq, true);
    }
    for (const recovery of outcome.unmerged) this.settleRecovery(recovery.seq, false);
    this.cancelReadinessTimer?.();
    this.cancelReadinessTimer = undefined;
    if (outcome.wakeAt !== undefined && !this.closed) {
      this.cancelReadinessTimer = this.clock.timer(Math.max(0, outcome.wakeAt - this.clock.now()), () =>
        this.enqueue(() => this.onReadiness({ kind: 'tick' }), 'a readiness timer'),
      );
    }
  }

  private settleRecovery(seq: number, merged: boolean): void {
    this.recoveryWaiters.get(seq)?.(merged);
    this.recoveryWaiters.delete(seq);
  }

  /** Connected to PM2's event bus now (opened, and its socket not reconnecting). */
  get busConnected(): boolean {
    return this.bus !== undefined && !this.busDown && !this.closed;
  }

  private async openBus(): Promise<void> {
    if (this.closed) return;
    // one attempt (start() retries it): a failure to launch the bus is thrown to the retry
    const bus = await this.opts.pm2.launchBus();
    if (this.closed) return;
    this.bus = bus;
    bus.on('process:event', this.onPacket);
    bus.on('process:msg', this.onMessage);
    // pm2's bus is an axon sub-emitter; its socket reconnects by itself and says so.
    const sock = (bus as unknown as { sock?: EventEmitter }).sock;
    sock?.on('reconnect attempt', () => {
      if (!this.busDown) this.logger.warn('PM2 event bus disconnected; reconnecting');
      this.busDown = true;
    });
    sock?.on('connect', () => {
      if (!this.busDown) return;
      this.busDown = false;
      this.logger.info('PM2 event bus reconnected: re-syncing');
      void this.resync('bus-reconnect');
    });
    this.logger.info('listening to PM2 process events');
    await this.resync('start');
  }

  private async process(packet: Pm2BusPacket, now: number): Promise<void> {
    const ev = parseProcessEvent(packet, now);
    if (!ev || ev.name === this.self) return;
    if (ev.event === 'exit' || ev.event === 'online') this.lifecycleAt.set(ev.name, now);
    // first: a run that was ready gets its "back online" before its exit is reported (and ends its outage)
    if (ev.event === 'exit') await this.onReadiness({ kind: 'exit', service: ev.name });
    const lastRun = ev.event === 'exit' ? this.lastRunAtExit(ev) : undefined;
    const configFailure = ev.event === 'exit' ? this.configFailureAtExit(ev) : undefined;
    const store = this.opts.store;

    let decision!: ReturnType<typeof decide>;
    store.change((d) => {
      decision = decide(d.watch, ev, lastRun, configFailure);
      // After a crash PM2 bumps restart_time when it restarts: count that restart as seen already, so a
      // telegram that misses the `online` does not report the (already reported) crash again at re-sync.
      const restartPending = decision.crashed && nextRestartDelayMs(ev) !== undefined;
      d.services[ev.name] = {
        restarts: restartPending ? ev.restarts + 1 : ev.restarts,
        status: ev.event === 'online' ? 'online' : ev.status,
        ...(ev.startedAt !== undefined ? { startedAt: ev.startedAt } : {}),
        ...(ev.exitCode !== undefined ? { exitCode: ev.exitCode } : {}),
        seenAt: now,
      };
      if (ev.event === 'delete') delete d.services[ev.name];
    });

    for (const alert of decision.alerts) await this.queueAlert(alert);

    if (decision.crashed) {
      let verdict!: ReturnType<typeof recordCrash>;
      store.change((d) => {
        verdict = recordCrash(
          d.crashLoop,
          ev.name,
          ev.at,
          {
            count: this.opts.settings.crashLoopCount,
            windowMs: this.opts.settings.crashLoopWindowMs,
            action: this.opts.settings.crashLoopAction,
          },
          this.trading,
        );
        pruneCrashes(d.crashLoop, ev.at, this.opts.settings.crashLoopWindowMs);
      });
      if (verdict.alert) await this.queueAlert(verdict.alert);
      if (verdict.stop) this.stopForCrashLoop(verdict.stop);
    }

    if (decision.operatorRestartConfirmed)
      await this.onReadiness({ kind: 'operator-restart', service: ev.name });
    if (decision.online)
      await this.onReadiness({ kind: 'online', report: decision.online, waitsForReady: ev.waitReady });
  }

  private stopForCrashLoop(service: string): void {
    this.logger.error(`${service} is in a crash loop: stopping it through PM2 (supervisor.crashLoopAction)`);
    const failed = async (err: unknown): Promise<void> => {
      this.logger.error(`could not stop ${service}: ${errorMessage(err)}`);
      await this.queueAlert({
        key: `crash-loop-stop-failed:${service}`,
        priority: 'critical',
        text: `❗ Could not stop ${service} after its crash loop: ${escapeHtml(errorMessage(err))}`,
      });
    };
    this.opts.pm2.stop(service).catch(async (err: unknown) => {
      if (!(err instanceof NoAnswerYetError)) return failed(err);
      // PM2 past its deadline (Pm2Client actionTimeoutMs) may still stop it: said so, and a late refusal told then
      this.logger.error(`stopping ${service} after its crash loop: not answered yet: ${errorMessage(err)}`);
      await this.queueAlert({
        key: `crash-loop-stop-failed:${service}`,
        priority: 'critical',
        text:
          `⏳ PM2 has not answered the stop of ${service} after its crash loop yet — it may still be doing it ` +
          `(/status): ${escapeHtml(errorMessage(err))}`,
      });
      await err.late.catch(failed);
    });
  }

  /** How the run that just ended finished, from its breadcrumb (ignored when it belongs to an earlier run). */
  private lastRunAtExit(ev: ProcessEvent): LastExit | undefined {
    const crumb = readBreadcrumb(breadcrumbPath(this.opts.dataDir, ev.name));
    if (crumb === 'missing' || crumb === 'unreadable') return undefined;
    // pm_uptime is set by PM2 just before it forks; the service writes its breadcrumb a moment later.
    if (ev.startedAt !== undefined && crumb.startedAt < ev.startedAt - 1_000) return undefined;
    // a killed run left no time of death: PM2's exit event is it
    return interpretBreadcrumb(crumb, ev.at);
  }

  /** What a service that exited 78 recorded about its configuration (none older than the run that ended). */
  private configFailureAtExit(ev: ProcessEvent): ConfigFailure | undefined {
    if (ev.exitCode !== ExitCode.Config) return undefined;
    return readConfigFailure(
      this.opts.dataDir,
      ev.name,
      ev.startedAt !== undefined ? ev.startedAt - 1_000 : undefined,
    );
  }

  private async doResync(reason: ResyncReason): Promise<void> {
    const list = await this.opts.pm2.list();
    const now = this.clock.now();
    const lastRuns: Record<string, LastExit | undefined> = {};
    const configFailures: Record<string, ConfigFailure | undefined> = {};
    for (const p of list) {
      if (p.name === this.self) continue;
      lastRuns[p.name] = lastRunFromBreadcrumb(
        await readExitBreadcrumb(this.opts.dataDir, p.name),
        p,
        undefined,
        now,
        readRunTraces(this.opts.dataDir, p.name),
      );
      if (p.exitCode === ExitCode.Config)
        configFailures[p.name] = readConfigFailure(this.opts.dataDir, p.name);
    }
    const previous = this.opts.store.data.services;
    const { alerts, snapshot } = compareWithSnapshot(previous, list, {
      self: this.self,
      reason,
      now,
      lastRuns,
      configFailures,
    });
    for (const alert of alerts) await this.queueAlert(alert);
    await this.opts.store.commit((d) => {
      d.services = snapshot;
      for (const p of list) {
        // an outage in progress whose service is online again (its online event was missed) is closed
        if (p.status === 'online' && d.watch[p.name]?.down) d.watch[p.name] = {};
        // one found stopped by its configuration: its next online is the fix taking effect
        if (p.status !== 'online' && p.exitCode === ExitCode.Config && !d.watch[p.name]?.down)
          d.watch[p.name] = { ...d.watch[p.name], down: { cause: 'config', since: now } };
      }
    });
    if (alerts.length)
      this.logger.warn(`re-sync (${reason}) found ${alerts.length} change(s) missed by the bus`);
  }

  /**
   * Queues an alert; a failed outbox commit (data dir full or read-only) must not end the handling of what caused
   * it: the outbox has the alert in memory and sends it (its store retries the write), and the rest — further
   * alerts, the crash-loop count, the online report, the recovery merge — still has to happen.
   */
  private async queueAlert(n: NotificationInput): Promise<void> {
    try {
      await this.opts.notifier.notify(n);
    } catch (err) {
      this.logger.error(`alert ${n.key} queued but not saved yet: ${errorMessage(err)}`);
    }
  }
}
