/**
 * Listens to PM2's event bus and turns process events into alerts (alert-policy.ts), crash loops into critical
 * alerts and, by config, a stop of trading (crash-loop-policy.ts). Re-syncs from `pm2.list()` at start and on
 * every bus reconnect (resync.ts). Trading's `online` is held briefly to carry trading's recovery summary
 * from the TCP event stream (offerRecovery), so the operator gets one "back online" message that says what
 * recovery found.
 *
 * Packets are handled one at a time on a promise chain: the bus emitter never waits, and alerts keep their order.
 * Handling a packet only commits to the outbox (a local fsync), never waits for Telegram.
 */
import type { EventEmitter } from 'node:events';
import { systemClock, type Clock } from '../../shared/clock';
import { errorMessage } from '../../shared/errors';
import type { LastExit, TradingEvent } from '../../shared/ipc/protocol';
import type { Logger } from '../../shared/logging/logger';
import { breadcrumbPath, interpretBreadcrumb, readBreadcrumb } from '../../shared/lifecycle/last-exit';
import { lastRunFromBreadcrumb, readExitBreadcrumb } from '../../ops/last-run';
import type { Pm2BusPacket, Pm2ProcessView } from '../../ops/pm2-client';
import type { NotificationInput, Notifier } from '../notify/notification';
import { decide, markHangRestart, onlineAlert, type OnlineReport } from './alert-policy';
import { pruneCrashes, recordCrash } from './crash-loop-policy';
import { nextRestartDelayMs, parseProcessEvent, type ProcessEvent } from './process-event';
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
  clock?: Clock;
  /** This daemon's PM2 name: its own events are not alerts (it reports its own restarts at start). */
  self?: string;
  trading?: string;
  /** How long trading's online waits for the recovery event, and vice versa (default 10 s). */
  recoveryWaitMs?: number;
  /** How long another service's online waits for PM2's `restart` confirmation (default 1.5 s). */
  onlineHoldMs?: number;
  /** First retry delay when the bus cannot be opened (default 1 s, doubling to 30 s). */
  busRetryMs?: number;
}

interface HeldOnline {
  report: OnlineReport;
  timer: NodeJS.Timeout;
}

interface HeldRecovery {
  event: TradingEvent;
  resolve: (merged: boolean) => void;
  timer: NodeJS.Timeout;
}

export class BusListener {
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly self: string;
  private readonly trading: string;
  private readonly recoveryWaitMs: number;
  private readonly onlineHoldMs: number;
  private chain: Promise<void> = Promise.resolve();
  private bus?: EventEmitter;
  private readonly heldOnline = new Map<string, HeldOnline>();
  private heldRecovery?: HeldRecovery;
  private readonly lifecycleAt = new Map<string, number>();
  private closed = false;
  private busDown = false;
  private readonly onPacket = (packet: Pm2BusPacket): void => {
    if (!this.closed) void this.handlePacket(packet);
  };
  private retryTimer?: NodeJS.Timeout;

  constructor(private readonly opts: BusListenerOptions) {
    this.logger = opts.logger.child({ module: 'supervisor' });
    this.clock = opts.clock ?? systemClock;
    this.self = opts.self ?? 'telegram';
    this.trading = opts.trading ?? 'trading';
    this.recoveryWaitMs = opts.recoveryWaitMs ?? 10_000;
    this.onlineHoldMs = opts.onlineHoldMs ?? 1_500;
  }

  /** Opens the bus (retrying in the background if PM2 is unreachable) and re-syncs once it is open. */
  async start(): Promise<void> {
    await this.openBus(this.opts.busRetryMs ?? 1_000);
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
    this.chain = this.chain
      .then(() => this.process(packet, now))
      .catch((err: unknown) => {
        this.logger.error(`supervisor failed to handle a PM2 event: ${errorMessage(err)}`, { err });
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
   * trading's `recovery` event: merged into trading's held online message when there is one (resolves true once
   * that message is durably in the outbox). A fresh recovery with no online yet waits for it a moment.
   * Resolves false when the caller must notify it on its own.
   */
  async offerRecovery(event: TradingEvent): Promise<boolean> {
    const held = this.heldOnline.get(this.trading);
    if (held) {
      clearTimeout(held.timer);
      this.heldOnline.delete(this.trading);
      await this.queueAlert(onlineAlert(held.report, recoveryText(event.data), event.seq));
      return true;
    }
    // Hold it only when PM2 told us trading went down and its online is still due (a replayed recovery of a
    // run telegram never saw start is reported on its own).
    const watch = this.opts.store.data.watch[this.trading];
    const onlineDue =
      watch !== undefined &&
      (watch.down !== undefined || watch.operatorAction === true || watch.stoppedByOperator === true);
    const fresh =
      this.clock.now() - event.ts < this.recoveryWaitMs &&
      (watch?.down === undefined || event.ts >= watch.down.since - 1_000);
    if (!onlineDue || !fresh || this.closed) return false;
    this.heldRecovery?.resolve(false);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        if (this.heldRecovery?.event === event) this.heldRecovery = undefined;
        resolve(false);
      }, this.recoveryWaitMs);
      this.heldRecovery = { event, resolve, timer };
    });
  }

  /** Flushes held online reports, stops listening. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    // pm2's bus is an axon sub-emitter whose `off(event)` drops every handler of the event (it has no
    // removeAllListeners); a plain EventEmitter's `off(event, fn)` drops ours: passing both serves both.
    (this.bus as unknown as { off?: (event: string, fn: unknown) => void } | undefined)?.off?.(
      'process:event',
      this.onPacket,
    );
    if (this.heldRecovery) {
      clearTimeout(this.heldRecovery.timer);
      this.heldRecovery.resolve(false);
      this.heldRecovery = undefined;
    }
    for (const [service, held] of this.heldOnline) {
      clearTimeout(held.timer);
      this.heldOnline.delete(service);
      await this.queueAlert(onlineAlert(held.report));
    }
    await this.chain;
  }

  private async openBus(retryMs: number): Promise<void> {
    if (this.closed) return;
    try {
      const bus = await this.opts.pm2.launchBus();
      this.bus = bus;
      bus.on('process:event', this.onPacket);
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
    } catch (err) {
      const next = Math.min(30_000, retryMs * 2);
      this.logger.warn(`cannot open PM2 event bus (${errorMessage(err)}); retrying in ${retryMs} ms`);
      this.retryTimer = setTimeout(() => void this.openBus(next), retryMs);
      this.retryTimer.unref?.();
    }
  }

  private async process(packet: Pm2BusPacket, now: number): Promise<void> {
    const ev = parseProcessEvent(packet, now);
    if (!ev || ev.name === this.self) return;
    if (ev.event === 'exit' || ev.event === 'online') this.lifecycleAt.set(ev.name, now);
    const lastRun = ev.event === 'exit' ? this.lastRunAtExit(ev) : undefined;
    const store = this.opts.store;

    let decision!: ReturnType<typeof decide>;
    store.change((d) => {
      decision = decide(d.watch, ev, lastRun);
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

    if (decision.operatorRestartConfirmed) {
      const held = this.heldOnline.get(ev.name);
      if (held && held.report.cause === 'restart') held.report.cause = 'operator';
      if (held && ev.name !== this.trading) await this.flushOnline(ev.name);
    }

    if (decision.online) await this.onOnline(decision.online);
  }

  private async onOnline(report: OnlineReport): Promise<void> {
    const previous = this.heldOnline.get(report.service);
    if (previous) {
      clearTimeout(previous.timer);
      this.heldOnline.delete(report.service);
      await this.queueAlert(onlineAlert(previous.report));
    }
    if (report.service === this.trading && this.heldRecovery) {
      const { event, resolve, timer } = this.heldRecovery;
      clearTimeout(timer);
      this.heldRecovery = undefined;
      // queued (in memory at least) either way: the relay must not send the recovery a second time
      await this.queueAlert(onlineAlert(report, recoveryText(event.data), event.seq));
      resolve(true);
      return;
    }
    const holdMs = report.service === this.trading ? this.recoveryWaitMs : this.onlineHoldMs;
    const timer = setTimeout(() => {
      this.chain = this.chain
        .then(() => this.flushOnline(report.service))
        .catch((err: unknown) => {
          this.logger.error(`could not queue the online alert: ${errorMessage(err)}`);
        });
    }, holdMs);
    this.heldOnline.set(report.service, { report, timer });
  }

  private async flushOnline(service: string): Promise<void> {
    const held = this.heldOnline.get(service);
    if (!held) return;
    clearTimeout(held.timer);
    this.heldOnline.delete(service);
    await this.queueAlert(onlineAlert(held.report));
  }

  private stopForCrashLoop(service: string): void {
    this.logger.error(`${service} is in a crash loop: stopping it through PM2 (supervisor.crashLoopAction)`);
    this.opts.pm2.stop(service).catch(async (err: unknown) => {
      this.logger.error(`could not stop ${service}: ${errorMessage(err)}`);
      await this.queueAlert({
        key: `crash-loop-stop-failed:${service}`,
        priority: 'critical',
        text: `❗ Could not stop ${service} after its crash loop: ${errorMessage(err)}`,
      });
    });
  }

  /** How the run that just ended finished, from its breadcrumb (ignored when it belongs to an earlier run). */
  private lastRunAtExit(ev: ProcessEvent): LastExit | undefined {
    const crumb = readBreadcrumb(breadcrumbPath(this.opts.dataDir, ev.name));
    if (crumb === 'missing' || crumb === 'unreadable') return undefined;
    // pm_uptime is set by PM2 just before it forks; the service writes its breadcrumb a moment later.
    if (ev.startedAt !== undefined && crumb.startedAt < ev.startedAt - 1_000) return undefined;
    return interpretBreadcrumb(crumb);
  }

  private async doResync(reason: ResyncReason): Promise<void> {
    const list = await this.opts.pm2.list();
    const now = this.clock.now();
    const lastRuns: Record<string, LastExit | undefined> = {};
    for (const p of list) {
      if (p.name !== this.self)
        lastRuns[p.name] = lastRunFromBreadcrumb(await readExitBreadcrumb(this.opts.dataDir, p.name), p);
    }
    const previous = this.opts.store.data.services;
    const { alerts, snapshot } = compareWithSnapshot(previous, list, {
      self: this.self,
      reason,
      now,
      lastRuns,
    });
    for (const alert of alerts) await this.queueAlert(alert);
    await this.opts.store.commit((d) => {
      d.services = snapshot;
      // an outage in progress whose service is online again (its online event was missed) is closed
      for (const p of list) if (p.status === 'online' && d.watch[p.name]?.down) d.watch[p.name] = {};
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
