import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHART_HEIGHT, CHART_WIDTH } from '../../../src/ops/equity-chart';
import { formatDaySummary, formatReport, htmlMarkup } from '../../../src/ops/render';
import { IpcClient } from '../../../src/shared/ipc/client';
import { systemClock, utcDay } from '../../../src/shared/clock';
import { silentLogger } from '../../../src/shared/logging/logger';
import { TelegramSender } from '../../../src/telegram/bot/telegram-sender';
import type { NotificationInput } from '../../../src/telegram/notify/notification';
import {
  DailySummary,
  forgetSummaryDay,
  LATE_SUMMARY_DAYS,
  missedDays,
  summaryDue,
} from '../../../src/telegram/supervisor/daily-summary';
import {
  emptySupervisorState,
  type SupervisorState,
  type SupervisorStore,
} from '../../../src/telegram/supervisor/supervisor-state';
import { stubReport, TradingStub } from '../../support/trading-stub';
import { captureLogger } from '../../support/capture-logger';
import type { TradingRpc } from '../../../src/ops/trading-client';
import type { PnlReport } from '../../../src/shared/ipc/protocol';
import { eventually } from '../../../harness/pm2';
import { ChartProcess } from '../../../src/telegram/charts/chart-process';
import { FakeClock } from '../../support/fake-clock';
import { pngSize } from '../../support/png';
import { TelegramEmulator } from '../../../harness/telegram-emulator';

const at = (iso: string): number => Date.parse(iso);

describe('daily summary', () => {
  it('is due once a UTC day, from the configured hour on (pure)', () => {
    expect(summaryDue(at('2026-03-10T07:59:00Z'), 8, undefined)).to.equal(undefined);
    expect(summaryDue(at('2026-03-10T08:00:00Z'), 8, undefined)).to.equal('2026-03-10');
    expect(summaryDue(at('2026-03-10T23:00:00Z'), 8, '2026-03-09')).to.equal('2026-03-10');
    expect(summaryDue(at('2026-03-10T23:00:00Z'), 8, '2026-03-10')).to.equal(undefined);
  });

  it('finds the days that passed without a summary: oldest first, at most 7, none before the first (pure)', () => {
    const now = at('2026-03-10T05:00:00Z');
    expect(missedDays(now, undefined)).to.deep.equal({ days: [], skipped: 0 });
    expect(missedDays(now, '2026-03-10')).to.deep.equal({ days: [], skipped: 0 });
    expect(missedDays(now, '2026-03-09')).to.deep.equal({ days: [], skipped: 0 });
    expect(missedDays(now, '2026-03-08')).to.deep.equal({ days: ['2026-03-09'], skipped: 0 });
    expect(missedDays(now, '2026-03-06')).to.deep.equal({
      days: ['2026-03-07', '2026-03-08', '2026-03-09'],
      skipped: 0,
    });
    const long = missedDays(now, '2026-02-10');
    expect(long.days).to.have.length(LATE_SUMMARY_DAYS);
    expect(long.days[0]).to.equal('2026-03-03');
    expect(long.days[LATE_SUMMARY_DAYS - 1]).to.equal('2026-03-09');
    expect(long.skipped).to.equal(20);
    // a clock set back, or a day that is not a date: nothing to send late, never a loop
    expect(missedDays(now, '2026-03-12')).to.deep.equal({ days: [], skipped: 0 });
    expect(missedDays(now, '')).to.deep.equal({ days: [], skipped: 0 });
    // across a month and a year
    expect(missedDays(at('2027-01-01T10:00:00Z'), '2026-12-30').days).to.deep.equal(['2026-12-31']);
  });

  /** A DailySummary over fakes (pure-logic tests): the trading answers `report(now)`, the store is memory. */
  function fakeSummary(opts: {
    now: number;
    lastDay?: string;
    report: (now: number) => PnlReport;
    commitFails?: (n: number) => boolean;
  }) {
    const queued: NotificationInput[] = [];
    const state: SupervisorState = { ...emptySupervisorState(), dailySummaryDay: opts.lastDay };
    let commits = 0;
    let reports = 0;
    const { logger, lines } = captureLogger();
    const clock = new FakeClock(opts.now);
    const summary = new DailySummary({
      hourUtc: 8,
      trading: {
        connected: true,
        call: (async () => (reports++, opts.report(clock.now()))) as TradingRpc['call'],
      },
      notifier: { notify: async (n) => void queued.push(n), depth: () => queued.length },
      store: {
        data: state,
        change: (m) => m(state),
        commit: async (m) => {
          if (opts.commitFails?.(++commits)) throw new Error('ENOSPC: no space left on device');
          m?.(state);
        },
      },
      charts: new ChartProcess({ clock: systemClock }),
      logger,
      clock,
    });
    return { summary, queued, state, lines, clock, reports: () => reports };
  }

  it("a trading of an older build (no per-day figures): only today's goes out; the late days are logged once", async () => {
    const older = (now: number): PnlReport => {
      const { days: _days, ...report } = stubReport(now);
      return report;
    };
    const f = fakeSummary({ now: at('2026-03-10T07:00:00Z'), lastDay: '2026-03-07', report: older });
    await f.summary.check();
    // before the hour: the late days are said once and noted, so later looks do not ask for the report again
    expect(f.queued).to.have.length(0);
    expect(f.lines.map((l) => l.message).join('\n')).to.include('2026-03-08, 2026-03-09');
    expect(f.state.dailySummaryDay).to.equal('2026-03-09');
    for (let minute = 1; minute <= 30; minute++) {
      f.clock.time = at('2026-03-10T07:00:00Z') + minute * 60_000;
      await f.summary.check();
    }
    expect(f.reports()).to.equal(1);
    f.clock.time = at('2026-03-10T08:00:00Z');
    await f.summary.check();
    expect(f.queued.map((n) => n.key)).to.deep.equal(['daily-summary:2026-03-10']);
    expect(f.state.dailySummaryDay).to.equal('2026-03-10');
  });

  it('a commit failing part-way through the late days keeps the ones noted; the next look goes on from there', async () => {
    const f = fakeSummary({
      now: at('2026-03-10T09:00:00Z'),
      lastDay: '2026-03-06',
      report: stubReport,
      commitFails: (n) => n === 2,
    });
    await f.summary.check();
    expect(f.queued.map((n) => n.key)).to.deep.equal([
      'daily-summary:2026-03-07',
      'daily-summary:2026-03-08',
    ]);
    expect(f.state.dailySummaryDay).to.equal('2026-03-07');
    await f.summary.check();
    // 03-08 again (its commit failed: at least once, never lost), then 03-09 and today
    expect(f.queued.map((n) => n.key).slice(2)).to.deep.equal([
      'daily-summary:2026-03-08',
      'daily-summary:2026-03-09',
      'daily-summary:2026-03-10',
    ]);
    expect(f.state.dailySummaryDay).to.equal('2026-03-10');
  });

  it("the days are the exchange's (the report's time), not the host's: a host 2 min ahead never ends the exchange's day early", async () => {
    // host 00:01:00 on 03-11, the exchange (the report) 23:59:00 on 03-10; 03-10's summary not sent yet
    const exchangeNow = at('2026-03-10T23:59:00Z');
    const f = fakeSummary({
      now: at('2026-03-11T00:01:00Z'),
      lastDay: '2026-03-09',
      report: () => stubReport(exchangeNow),
    });
    await f.summary.check();
    // 03-10 is still today on the exchange: its summary is today's (figures so far), never a late one of a day
    // the host has ended while the exchange still trades in it
    expect(f.queued.map((n) => n.key)).to.deep.equal(['daily-summary:2026-03-10']);
    expect(f.queued[0]!.text).to.equal(
      `🗓 <b>Daily summary 2026-03-10</b>\n${formatReport(stubReport(exchangeNow), htmlMarkup)}`,
    );
    expect(f.state.dailySummaryDay).to.equal('2026-03-10');
  });

  it("a host 2 min behind the exchange: a day the exchange has ended goes out late from its own figures, today's not before the exchange's hour", async () => {
    // host 23:59:00 on 03-10, the exchange 00:01:00 on 03-11
    let exchangeNow = at('2026-03-11T00:01:00Z');
    const f = fakeSummary({
      now: at('2026-03-10T23:59:00Z'),
      lastDay: '2026-03-09',
      report: () => stubReport(exchangeNow),
    });
    await f.summary.check();
    expect(f.queued.map((n) => n.key)).to.deep.equal(['daily-summary:2026-03-10']);
    const day10 = stubReport(exchangeNow).days!.find((d) => d.day === '2026-03-10')!;
    expect(f.queued[0]!.text).to.equal(formatDaySummary(day10, 'USDT', htmlMarkup));
    expect(f.state.dailySummaryDay).to.equal('2026-03-10');
    // the host at 08:00 on 03-11, the exchange 07:59:59: today's is not due there yet
    f.clock.time = at('2026-03-11T08:00:00Z');
    exchangeNow = at('2026-03-11T07:59:59Z');
    await f.summary.check();
    expect(f.queued).to.have.length(1);
    exchangeNow = at('2026-03-11T08:00:01Z');
    f.clock.time = at('2026-03-11T08:00:01Z');
    await f.summary.check();
    expect(f.queued.map((n) => n.key)).to.deep.equal([
      'daily-summary:2026-03-10',
      'daily-summary:2026-03-11',
    ]);
  });

  it('the summary turned off at a start forgets its last day: turned on again, no day is sent late', async () => {
    const state: SupervisorState = { ...emptySupervisorState(), dailySummaryDay: '2026-01-01' };
    forgetSummaryDay({ data: state, change: (m) => m(state), commit: async (m) => m?.(state) });
    expect(state.dailySummaryDay).to.equal(undefined);
    const f = fakeSummary({ now: at('2026-03-10T09:00:00Z'), report: stubReport });
    await f.summary.check();
    expect(f.queued.map((n) => n.key)).to.deep.equal(['daily-summary:2026-03-10']);
  });

  describe('against the Bot API emulator and a trading stub @slow', function () {
    this.timeout(30_000);
    let emu: TelegramEmulator;
    let stub: TradingStub;
    let ipc: IpcClient;
    let dir: string;

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-daily-'));
      emu = await TelegramEmulator.start();
      stub = await TradingStub.start(dir);
      ipc = new IpcClient({
        host: '127.0.0.1',
        port: stub.port,
        token: stub.token,
        client: 'telegram',
        requestTimeoutMs: 5_000,
        heartbeatMs: 1_000,
        logger: silentLogger(),
        clock: systemClock,
      });
      await ipc.connect();
    });
    after(async () => {
      await ipc.close();
      await stub.close();
      await emu.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('sends the report through the outbox and the equity curve as a photo, once per day', async () => {
      const queued: NotificationInput[] = [];
      const state: SupervisorState = emptySupervisorState();
      const store: SupervisorStore = {
        data: state,
        change: (m) => m(state),
        commit: async (m) => m?.(state),
      };
      const sender = new TelegramSender({ token: emu.token, apiRoot: emu.apiRoot });
      const clock = new FakeClock(at('2026-03-10T07:30:00Z'));
      stub.state.reportTime = () => clock.now();
      const summary = new DailySummary({
        hourUtc: 8,
        trading: ipc,
        notifier: { notify: async (n) => void queued.push(n), depth: () => queued.length },
        store,
        charts: new ChartProcess({ clock: systemClock }),
        sendPhoto: (png, caption) => sender.sendPhoto('555', png, caption),
        logger: silentLogger(),
        clock,
      });
      await summary.check();
      expect(queued).to.have.length(0);
      clock.time = at('2026-03-10T08:01:00Z');
      await summary.check();
      expect(queued).to.have.length(1);
      expect(queued[0]!.text).to.include('Daily summary 2026-03-10').and.include('PnL (USDT');
      expect(state.dailySummaryDay).to.equal('2026-03-10');
      const photo = await eventually(() => emu.photos[0], 10_000, 'the photo');
      expect(photo.chatId).to.equal('555');
      expect(pngSize(photo.bytes)).to.deep.equal({ width: CHART_WIDTH, height: CHART_HEIGHT });
      clock.time = at('2026-03-10T20:00:00Z');
      await summary.check();
      expect(queued).to.have.length(1);
      expect(emu.photos).to.have.length(1);
    });

    it("days that passed without a summary get one late, oldest first, before today's; each once", async () => {
      const queued: NotificationInput[] = [];
      const now = at('2026-03-10T05:00:00Z');
      stub.state.reportTime = () => now;
      const day = (back: number): string => utcDay(now - back * 86_400_000);
      const state: SupervisorState = { ...emptySupervisorState(), dailySummaryDay: day(3) };
      const store: SupervisorStore = {
        data: state,
        change: (m) => m(state),
        commit: async (m) => m?.(state),
      };
      const summary = new DailySummary({
        hourUtc: 0,
        trading: ipc,
        notifier: { notify: async (n) => void queued.push(n), depth: () => queued.length },
        store,
        charts: new ChartProcess({ clock: systemClock }),
        logger: silentLogger(),
        clock: new FakeClock(now),
      });
      await summary.check();
      expect(queued.map((n) => n.key)).to.deep.equal([
        `daily-summary:${day(2)}`,
        `daily-summary:${day(1)}`,
        `daily-summary:${day(0)}`,
      ]);
      const expected = stubReport(now).days!;
      for (const [i, back] of [2, 1].entries()) {
        const figures = expected.find((d) => d.day === day(back))!;
        expect(queued[i]!.text)
          .to.include(`Daily summary ${day(back)}`)
          .and.include('sent late');
        expect(queued[i]!.text).to.include(
          figures.trades === 0 ? 'no closed trade' : `${figures.trades} trade`,
        );
      }
      expect(queued[2]!.text)
        .to.include(`Daily summary ${day(0)}`)
        .and.not.include('sent late');
      expect(state.dailySummaryDay).to.equal(day(0));
      await summary.check();
      expect(queued).to.have.length(3);
    });

    it('a failing disk (the day cannot be committed) is logged, never thrown: telegram keeps running', async () => {
      const state: SupervisorState = emptySupervisorState();
      const { logger, lines } = captureLogger();
      stub.state.reportTime = () => at('2026-03-11T09:00:00Z');
      const full = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      const store: SupervisorStore = {
        data: state,
        change: (m) => m(state),
        commit: () => Promise.reject(full),
      };
      const summary = new DailySummary({
        hourUtc: 0,
        trading: ipc,
        notifier: { notify: async () => undefined, depth: () => 0 },
        store,
        charts: new ChartProcess({ clock: systemClock }),
        logger,
        clock: new FakeClock(at('2026-03-11T09:00:00Z')),
      });
      await summary.check(); // rejected before the fix: an unhandled rejection crashed telegram, again at each start
      expect(state.dailySummaryDay).to.equal(undefined);
      expect(lines.map((l) => l.message).join('\n')).to.include('ENOSPC');
    });
  });
});
