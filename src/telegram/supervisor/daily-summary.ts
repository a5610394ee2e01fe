/**
 * The optional daily summary (`telegram.dailySummaryHourUtc`): once a UTC day, at or after that hour, the /pnl
 * report goes to the alert chat through the durable outbox, and the equity curve as a photo right after it (best
 * effort: a photo that fails is logged, the text is already safe in the outbox). The day it went out is kept in
 * the supervisor's state, so a restart never sends it twice and a telegram down at that hour sends it when back.
 * Trading unreachable: tried again at the next check.
 */
import type { ChartRenderer } from '../charts/chart-process';
import { formatReport, htmlMarkup } from '../../ops/render';
import type { TradingRpc } from '../../ops/trading-client';
import type { CancelTimer, Clock } from '../../shared/clock';
import { errorMessage } from '../../shared/errors';
import type { PnlReport } from '../../shared/ipc/protocol';
import type { Logger } from '../../shared/logging/logger';
import type { Notifier } from '../notify/notification';
import type { SupervisorStore } from './supervisor-state';

/** The summary is due: the hour has come today (UTC) and today's has not gone out (pure). */
export function summaryDue(now: number, hourUtc: number, lastDay: string | undefined): string | undefined {
  const day = new Date(now).toISOString().slice(0, 10);
  return new Date(now).getUTCHours() >= hourUtc && lastDay !== day ? day : undefined;
}

export interface DailySummaryOptions {
  hourUtc: number;
  trading: TradingRpc;
  notifier: Notifier;
  store: SupervisorStore;
  /** Sends the chart; absent in log-only mode (no token or no chat): then text only. */
  sendPhoto?: (png: Buffer, caption: string) => Promise<void>;
  /** Where the chart is drawn (the daemon's one ChartProcess). */
  charts: ChartRenderer;
  logger: Logger;
  clock: Clock;
  /** How often it looks (default one minute). */
  checkEveryMs?: number;
}

export class DailySummary {
  private cancelTimer: CancelTimer | undefined;
  private closed = false;
  private running: Promise<void> | undefined;
  private readonly logger: Logger;

  constructor(private readonly opts: DailySummaryOptions) {
    this.logger = opts.logger.child({ module: 'daily-summary' });
  }

  /** Looks now, then every `checkEveryMs` until closed. */
  start(): void {
    if (this.closed) return;
    void this.check();
    this.cancelTimer = this.opts.clock.timer(this.opts.checkEveryMs ?? 60_000, () => this.start());
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelTimer?.();
    await this.running;
  }

  /**
   * One look: sends today's summary when due. Never throws: a summary is not worth a crash (a full disk failing the
   * outbox or the day's commit is logged, and the next look tries again).
   */
  check(): Promise<void> {
    this.running ??= this.checkOnce()
      .catch((err: unknown) => {
        this.logger.warn(`daily summary not sent (${errorMessage(err)}); trying again at the next look`);
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async checkOnce(): Promise<void> {
    const now = this.opts.clock.now();
    const day = summaryDue(now, this.opts.hourUtc, this.opts.store.data.dailySummaryDay);
    if (!day || !this.opts.trading.connected) return;
    let report: PnlReport;
    try {
      report = await this.opts.trading.call('report', {});
    } catch (err) {
      this.logger.warn(`daily summary: trading did not answer (${errorMessage(err)}); trying again later`);
      return;
    }
    await this.opts.notifier.notify({
      key: `daily-summary:${day}`,
      priority: 'low',
      silent: true,
      text: `🗓 <b>Daily summary ${day}</b>\n${formatReport(report, htmlMarkup)}`,
    });
    await this.opts.store.commit((d) => {
      d.dailySummaryDay = day;
    });
    if (!this.opts.sendPhoto) return;
    try {
      await this.opts.sendPhoto(
        await this.opts.charts.equityPng(report),
        `📈 Equity (${report.quoteCurrency}), ${day}`,
      );
    } catch (err) {
      this.logger.warn(`daily summary: the equity chart was not sent (${errorMessage(err)})`);
    }
  }
}
