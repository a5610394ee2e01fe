/**
 * The results report (pure): orders go in one at a time — the history journal page by page, then the hot state —
 * and their fills are folded per symbol with the same average-cost arithmetic as the positions (pnl.ts), so a
 * round trip's PnL here is the one "Position closed" announced. Memory stays bounded whatever the history's
 * length: per-symbol books and totals, a bounded set of recent order ids (to skip an order archived twice), and
 * an equity curve thinned to at most MAX_POINTS as it grows. Drawdown is followed exactly as the fills pass.
 */
import { utcDay } from '../../shared/clock';
import {
  REPORT_DAYS,
  type PnlPeriod,
  type PnlReport,
  type RiskEquityView,
  type TripView,
} from '../../shared/ipc/protocol';
import type { LocalOrder } from '../engine/orders/order-state';
import {
  applyFill,
  emptyBook,
  fillKey,
  inReplayOrder,
  type Fill,
  type FillOrder,
  type Lot,
  type PositionBook,
} from '../engine/books/pnl';

const DAY_MS = 86_400_000;
/** Points kept while folding; halved when reached (the chart needs a few hundred). */
const MAX_POINTS = 1_000;
/** Order ids remembered to skip an entry the journal holds twice (a crash between append and commit). */
const RECENT_IDS = 2_000;

export interface ReportWindow {
  now: number;
  quoteCurrency: string;
  /** Amount step and minimum per symbol: where a round trip ends (as in the positions). */
  lots: Readonly<Record<string, Lot>>;
  /** The exchange's order of a symbol's trades (ExchangeTraits `fillOrder`): the positions' replay order. */
  fillOrder: FillOrder;
}

export interface ReportEnd {
  equity: number;
  /** The bot's own equity the risk limits judge (trading.risk.capital set). */
  riskEquity?: RiskEquityView;
  unrealized: number;
  openPositions: number;
}

const emptyPeriod = (): PnlPeriod => ({ realized: 0, trades: 0, wins: 0, fees: 0 });

export class PnlReportBuilder {
  private readonly books = new Map<string, PositionBook>();
  private readonly periods = {
    today: emptyPeriod(),
    days7: emptyPeriod(),
    days30: emptyPeriod(),
    all: emptyPeriod(),
  };
  private readonly bySymbol = new Map<string, PnlPeriod>();
  private best: TripView | null = null;
  private worst: TripView | null = null;
  private readonly recent = new Set<string>();
  private cumulative = 0;
  private peak = 0;
  private drawdown = { amount: 0, peak: 0 };
  private points: Array<[number, number]> = [];
  private stride = 1;
  private skipped = 0;
  private firstAt: number | null = null;
  private readonly today: string;
  /** The last REPORT_DAYS UTC days, oldest first. */
  private readonly days = new Map<string, PnlPeriod>();

  constructor(private readonly window: ReportWindow) {
    this.today = utcDay(window.now);
    for (let i = REPORT_DAYS - 1; i >= 0; i--) this.days.set(utcDay(window.now - i * DAY_MS), emptyPeriod());
  }

  /** One order with its fills, applied now (for orders given in fill-time order); see `fillsOf`. */
  add(order: LocalOrder): void {
    for (const fill of this.fillsOf(order)) this.apply(fill);
  }

  /**
   * An order's fills, each once, in replay order; none for an order already seen (same clientOrderId, recently).
   * The caller applies them — across orders in fill-time order: an exit archived before its entry, or folded
   * entry after exit, would count a round trip that never closed.
   */
  fillsOf(order: LocalOrder): Fill[] {
    if (this.recent.has(order.clientOrderId)) return [];
    this.recent.add(order.clientOrderId);
    if (this.recent.size > RECENT_IDS) this.recent.delete(this.recent.values().next().value!);
    const seen = new Set<string>();
    const out: Fill[] = [];
    for (const fill of inReplayOrder(order.fills, this.window.fillOrder)) {
      const key = fillKey(fill);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(fill);
    }
    return out;
  }

  apply(fill: Fill): void {
    if (this.firstAt === null || fill.timestamp < this.firstAt) this.firstAt = fill.timestamp;
    const before = this.books.get(fill.symbol) ?? emptyBook(fill.symbol);
    const after = applyFill(before, fill, this.window.lots[fill.symbol]);
    this.books.set(fill.symbol, after);
    const realized = after.realizedPnl - before.realizedPnl;
    const fees = after.feesPaid - before.feesPaid;
    const symbol = this.symbolPeriod(fill.symbol);
    for (const period of [...this.periodsAt(fill.timestamp), symbol]) {
      period.realized += realized;
      period.fees += fees;
      if (fill.feeEstimated) period.feesEstimated = (period.feesEstimated ?? 0) + fees;
    }
    if (fill.side === 'sell' && realized !== 0) this.onRealized(fill.timestamp, realized);
    if (before.openedAt !== null && after.openedAt === null) {
      const trip: TripView = {
        symbol: fill.symbol,
        pnl: after.tripRealizedPnl,
        openedAt: before.openedAt,
        closedAt: fill.timestamp,
      };
      for (const period of [...this.periodsAt(fill.timestamp), symbol]) {
        period.trades += 1;
        if (trip.pnl > 0) period.wins += 1;
      }
      if (!this.best || trip.pnl > this.best.pnl) this.best = trip;
      if (!this.worst || trip.pnl < this.worst.pnl) this.worst = trip;
    }
  }

  private periodsAt(ts: number): PnlPeriod[] {
    const out = [this.periods.all];
    const age = this.window.now - ts;
    if (age <= 30 * DAY_MS) out.push(this.periods.days30);
    if (age <= 7 * DAY_MS) out.push(this.periods.days7);
    const day = utcDay(ts);
    if (day === this.today) out.push(this.periods.today);
    const ofDay = this.days.get(day);
    if (ofDay) out.push(ofDay);
    return out;
  }

  private symbolPeriod(symbol: string): PnlPeriod {
    let period = this.bySymbol.get(symbol);
    if (!period) this.bySymbol.set(symbol, (period = emptyPeriod()));
    return period;
  }

  private onRealized(ts: number, realized: number): void {
    this.cumulative += realized;
    if (this.cumulative > this.peak) this.peak = this.cumulative;
    const fall = this.peak - this.cumulative;
    if (fall > this.drawdown.amount) this.drawdown = { amount: fall, peak: this.peak };
    // every `stride`-th change kept; when full, every other point goes and the stride doubles
    if (this.skipped++ % this.stride !== 0) return;
    this.points.push([ts, this.cumulative]);
    if (this.points.length >= MAX_POINTS) {
      this.points = this.points.filter((_, i) => i % 2 === 1);
      this.stride *= 2;
    }
  }

  /** The report, equity and open positions as trading sees them now. */
  finish(end: ReportEnd): PnlReport {
    const all = this.periods.all;
    const start = end.equity - end.unrealized - all.realized;
    const curve: Array<[number, number]> = this.points.map(([t, cum]) => [t, round(start + cum)]);
    // where it started: the first fill, before anything was realized
    if (this.firstAt !== null && (curve[0]?.[0] ?? Infinity) > this.firstAt)
      curve.unshift([this.firstAt, round(start)]);
    const lastRealized = this.points[this.points.length - 1];
    if (!lastRealized || lastRealized[1] !== this.cumulative)
      curve.push([this.window.now, round(start + this.cumulative)]);
    curve.push([this.window.now, round(end.equity)]);
    const peakEquity = start + this.drawdown.peak;
    return {
      generatedAt: this.window.now,
      quoteCurrency: this.window.quoteCurrency,
      periods: {
        today: roundPeriod(this.periods.today),
        days7: roundPeriod(this.periods.days7),
        days30: roundPeriod(this.periods.days30),
        all: roundPeriod(all),
      },
      days: [...this.days].map(([day, p]) => ({ day, ...roundPeriod(p) })),
      winRate: all.trades > 0 ? all.wins / all.trades : null,
      bySymbol: [...this.bySymbol]
        .map(([symbol, p]) => ({ symbol, ...roundPeriod(p) }))
        .sort((a, b) => b.realized - a.realized),
      best: this.best && { ...this.best, pnl: round(this.best.pnl) },
      worst: this.worst && { ...this.worst, pnl: round(this.worst.pnl) },
      maxDrawdown: {
        amount: round(this.drawdown.amount),
        pct:
          this.drawdown.amount > 0 && peakEquity > 0
            ? round((this.drawdown.amount / peakEquity) * 100)
            : null,
      },
      equity: round(end.equity),
      ...(end.riskEquity
        ? { riskEquity: { equity: round(end.riskEquity.equity), capital: end.riskEquity.capital } }
        : {}),
      unrealized: round(end.unrealized),
      openPositions: end.openPositions,
      curve,
    };
  }
}

function round(v: number): number {
  return Math.round(v * 1e8) / 1e8;
}

function roundPeriod(p: PnlPeriod): PnlPeriod {
  return {
    realized: round(p.realized),
    trades: p.trades,
    wins: p.wins,
    fees: round(p.fees),
    ...(p.feesEstimated !== undefined ? { feesEstimated: round(p.feesEstimated) } : {}),
  };
}
