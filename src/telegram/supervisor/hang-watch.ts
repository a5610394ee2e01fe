/**
 * Runs the hang policy (hang-policy.ts): while PM2 says trading is online, ping it over the TCP layer every
 * `intervalMs`; no answer for longer than `hangTimeoutMs` → a critical alert and (supervisor.hangAction
 * `restart`) a restart through PM2, whose "back online" is then reported as recovery from a hang.
 */
import { formatSpan } from '../../shared/format-span';
import type { Clock } from '../../shared/clock';
import { NoAnswerYetError, errorMessage } from '../../shared/errors';
import type { Logger } from '../../shared/logging/logger';
import { escapeHtml, type Notifier } from '../notify/notification';
import { observe, startWatching, type HangState } from './hang-policy';

export interface HangWatchOptions {
  ping: () => Promise<unknown>;
  /**
   * Trading's refusal of our last connection attempt, if any (IpcClient.lastRefusal): a failed ping with a recent
   * refusal means "locked out", not "hung".
   */
  lastRefusal?: () => { at: number; reason: string } | null;
  /** PM2 status of trading as the supervisor last saw it. */
  status: () => string | undefined;
  restart: () => Promise<void>;
  /** Called before the restart, so the following online is reported as a hang recovery. */
  markHangRestart: () => void;
  notifier: Notifier;
  hangTimeoutMs: number;
  action: 'alert' | 'restart';
  intervalMs: number;
  logger: Logger;
  clock: Clock;
  service?: string;
}

export class HangWatch {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private state: HangState;
  private readonly stop = new AbortController();
  private loop?: Promise<void>;
  private wasOnline = false;
  /** A locked-out alert was sent and no ping succeeded since (one alert per episode). */
  private lockedOutReported = false;

  constructor(private readonly opts: HangWatchOptions) {
    this.clock = opts.clock;
    this.logger = opts.logger.child({ module: 'hang-watch' });
    this.state = startWatching(this.clock.now());
  }

  start(): void {
    this.loop ??= this.run();
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.loop;
  }

  /** One check (exposed for tests). */
  async check(): Promise<void> {
    const now = this.clock.now();
    const online = this.opts.status() === 'online';
    if (!online) {
      this.wasOnline = false;
      observe(this.state, { kind: 'not-online' }, now, this.opts.hangTimeoutMs);
      return;
    }
    if (!this.wasOnline) {
      this.wasOnline = true;
      observe(this.state, { kind: 'online' }, now, this.opts.hangTimeoutMs);
    }
    const ok = await this.opts.ping().then(
      () => true,
      () => false,
    );
    const at = this.clock.now();
    const refusal = ok ? null : (this.opts.lastRefusal?.() ?? null);
    // a refusal counts while it is recent: trading answered within the hang timeout
    const refused = refusal !== null && at - refusal.at <= this.opts.hangTimeoutMs;
    if (ok) this.lockedOutReported = false;
    if (refused) {
      observe(this.state, { kind: 'refused' }, at, this.opts.hangTimeoutMs);
      await this.onLockedOut(refusal.reason);
      return;
    }
    if (!observe(this.state, ok ? { kind: 'ping-ok' } : { kind: 'ping-failed' }, at, this.opts.hangTimeoutMs))
      return;
    await this.onHang(at - this.state.lastAliveAt);
  }

  private async onLockedOut(reason: string): Promise<void> {
    if (this.lockedOutReported) return;
    this.lockedOutReported = true;
    const service = escapeHtml(this.opts.service ?? 'trading');
    this.logger.error(
      `${service} refuses telegram's TCP connection (${reason}): locked out, not hung; not restarting`,
    );
    await this.opts.notifier.notify({
      key: `locked-out:${this.opts.service ?? 'trading'}`,
      priority: 'critical',
      text:
        `🔒 <b>telegram is locked out of ${service}</b>: ${service} answers but refuses the connection ` +
        `(${escapeHtml(reason)}). It is running, so it is not restarted. Check for local processes holding its ` +
        `TCP port (byninja status works through the same port).`,
    });
  }

  private async onHang(silentMs: number): Promise<void> {
    const service = escapeHtml(this.opts.service ?? 'trading');
    const restart = this.opts.action === 'restart';
    this.logger.error(
      `${service} is online in PM2 but has not answered for ${silentMs} ms: hang${restart ? ', restarting it' : ''}`,
    );
    await this.opts.notifier.notify({
      key: `hang:${this.opts.service ?? 'trading'}`,
      priority: 'critical',
      text:
        `🧊 <b>${service} hangs</b>: online in PM2 but no answer to its TCP heartbeat for ${formatSpan(silentMs)}\n` +
        (restart
          ? 'Restarting it through PM2 (supervisor.hangAction = restart).'
          : 'Not restarting (supervisor.hangAction = alert): /restart trading.'),
    });
    if (!restart) return;
    this.opts.markHangRestart();
    try {
      await this.opts.restart();
    } catch (err) {
      // PM2 not answering in time may still restart it: its online event is alerted when it comes, its late refusal
      // is told then (no second restart is asked in this hang: PM2 may still be doing the first)
      const pending = err instanceof NoAnswerYetError;
      this.logger.error(`hang restart ${pending ? 'not answered yet' : 'failed'}: ${errorMessage(err)}`);
      if (pending) void err.late.catch((lateErr: unknown) => this.restartFailed(lateErr));
      await this.opts.notifier.notify({
        key: `hang-restart-failed:${this.opts.service ?? 'trading'}`,
        priority: 'critical',
        text: pending
          ? `⏳ PM2 has not answered the restart of ${service} after the hang yet — it may still be doing it: ${escapeHtml(errorMessage(err))}`
          : `❗ Could not restart ${service} after the hang: ${escapeHtml(errorMessage(err))}`,
      });
    }
  }

  /** PM2's late refusal of the hang's restart (it had not answered in time). */
  private async restartFailed(err: unknown): Promise<void> {
    const service = this.opts.service ?? 'trading';
    this.logger.error(`hang restart failed (PM2's late answer): ${errorMessage(err)}`);
    await this.opts.notifier
      .notify({
        key: `hang-restart-failed:${service}`,
        priority: 'critical',
        text: `❗ Could not restart ${escapeHtml(service)} after the hang: ${escapeHtml(errorMessage(err))}`,
      })
      .catch((e: unknown) => this.logger.error(`hang restart alert not saved: ${errorMessage(e)}`));
  }

  private async run(): Promise<void> {
    while (!this.stop.signal.aborted) {
      try {
        await this.check();
      } catch (err) {
        this.logger.error(`hang check failed: ${errorMessage(err)}`);
      }
      await this.clock.sleep(this.opts.intervalMs, this.stop.signal).catch(() => undefined);
    }
  }
}
