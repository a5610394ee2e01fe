/**
 * The optional daily summary (`telegram.dailySummaryHourUtc`): once a UTC day, at or after that hour, the /pnl
 * report goes to the alert chat through the durable outbox, and the equity curve as a photo right after it (best
 * effort: a photo that fails is logged, the text is already safe in the outbox). The day it went out is kept in
 * the supervisor's state, so a restart never sends it twice and a telegram down at that hour sends it when back.
 * A day that passed without its summary (telegram down, or trading unreachable, until after midnight) gets one
 * late, from the report's per-day figures, oldest first and before today's: at most the 7 days before today the
 * report holds; older ones are counted in the log. Like today's, a late one can go out twice if the process dies
 * between its send and its commit (at least once, never lost). Trading unreachable: tried again at the next check.
 * Days are the exchange's UTC days, as the report's (its `generatedAt` is the exchange's time): the host's clock only
 * decides when to ask for a report; which day it is, and which days have ended, the report's time says. A host
 * ahead of the exchange never ends a day the exchange is still trading in (its last minutes' fills would be left out
 * of that day's summary); a host behind sends a little late.
 */
import type { ChartRenderer } from '../charts/chart-process';
import { formatDaySummary, formatReport, htmlMarkup } from '../../ops/render';
import type { TradingRpc } from '../../ops/trading-client';
import { utcDay, type CancelTimer, type Clock } from '../../shared/clock';
import { errorMessage } from '../../shared/errors';
import { REPORT_DAYS, type PnlReport } from '../../shared/ipc/protocol';
import type { Logger } from '../../shared/logging/logger';
import type { Notifier } from '../notify/notification';
import type { SupervisorStore } from './supervisor-state';

/** The summary is due: the hour has come today (UTC) and today's has not gone out (pure). */
export function summaryDue(now: number, hourUtc: number, lastDay: string | undefined): string | undefined {
  const day = utcDay(now);
  return new Date(now).getUTCHours() >= hourUtc && lastDay !== day ? day : undefined;
}

const DAY_MS = 86_400_000;
/** Days before today whose summary can still be sent late: the report's `days` without today. */
export const LATE_SUMMARY_DAYS = REPORT_DAYS - 1;

/**
 * The days after `lastDay` and before today (UTC) that got no summary, oldest first, at most `maxDays` (the most
 * recent ones); `skipped` counts the older ones left out. None before the first summary was ever sent (pure).
 */
export function missedDays(
  now: number,
  lastDay: string | undefined,
  maxDays = LATE_SUMMARY_DAYS,
): { days: string[]; skipped: number } {
  const last = lastDay === undefined ? NaN : Date.parse(`${lastDay}T00:00:00Z`);
  if (!Number.isFinite(last)) return { days: [], skipped: 0 };
  const today = Date.parse(`${utcDay(now)}T00:00:00Z`);
  const missing = Math.max(0, Math.round((today - last) / DAY_MS) - 1);
  const days: string[] = [];
  for (let back = Math.min(missing, maxDays); back >= 1; back--) days.push(utcDay(today - back * DAY_MS));
  return { days, skipped: missing - days.length };
}

/**
 * The summary is off at this start: forget the day of the last one, so that turning it on again later does not
 * send the days it was off as late summaries (it starts as on its first day).
 */
export function forgetSummaryDay(store: SupervisorStore): void {
  if (store.data.dailySummaryDay === undefined) return;
  store.change((d) => {
    delete d.dailySummaryDay;
  });
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
    const lastDay = this.opts.store.data.dailySummaryDay;
    // the host's clock only says when to ask (it may be off the exchange's by minutes)
    const hostNow = this.opts.clock.now();
    const looksDue = summaryDue(hostNow, this.opts.hourUtc, lastDay) !== undefined;
    if ((!looksDue && missedDays(hostNow, lastDay).days.length === 0) || !this.opts.trading.connected) return;
    let report: PnlReport;
    try {
      report = await this.opts.trading.call('report', {});
    } catch (err) {
      this.logger.warn(`daily summary: trading did not answer (${errorMessage(err)}); trying again later`);
      return;
    }
    // which day it is, and which days ended, on the exchange's clock (the report's time): fills are dated on it,
    // and a day the host has ended early is still trading there
    const missed = missedDays(report.generatedAt, lastDay);
    const day = summaryDue(report.generatedAt, this.opts.hourUtc, lastDay);
    if (!(await this.sendLate(report, missed)) || !day) return;
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

  /**
   * The summaries of the days that passed without one, oldest first, each noted as sent before the next; false
   * when one could not go out this time (the next look tries it again).
   */
  private async sendLate(report: PnlReport, missed: { days: string[]; skipped: number }): Promise<boolean> {
    if (missed.days.length === 0) return true;
    const lastMissed = missed.days[missed.days.length - 1]!;
    if (!report.days) {
      this.logger.warn(
        `daily summary: ${missed.days.length} past day(s) without a summary (${missed.days.join(', ')}); ` +
          "trading is of an older build that does not report days, so only today's is sent",
      );
      // said once: the next looks (every minute until the hour) do not ask for the whole report again for them
      await this.opts.store.commit((d) => {
        d.dailySummaryDay = lastMissed;
      });
      return true;
    }
    if (missed.skipped > 0) {
      this.logger.warn(
        `daily summary: ${missed.skipped} day(s) before ${missed.days[0]} got no summary (more than ` +
          `${LATE_SUMMARY_DAYS} days without one); their trades are in /pnl and \`byninja report\``,
      );
    }
    for (const late of missed.days) {
      const figures = report.days.find((d) => d.day === late);
      if (!figures) {
        // a report built on another day than this look (across midnight): the next look asks again
        this.logger.warn(
          `daily summary: the report has no figures for ${late} yet; trying again at the next look`,
        );
        return false;
      }
      await this.opts.notifier.notify({
        key: `daily-summary:${late}`,
        priority: 'low',
        silent: true,
        text: formatDaySummary(figures, report.quoteCurrency, htmlMarkup),
      });
      await this.opts.store.commit((d) => {
        d.dailySummaryDay = late;
      });
    }
    return true;
  }
}
