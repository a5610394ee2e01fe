/**
 * The account, once per tick before any symbol: balance → equity → kill switch. Equity is the quote balance plus
 * what the positions in that quote are worth at their last price (their entry price before one is read). With
 * `trading.risk.capital` set the kill switch judges the bot's own equity instead (bot-equity.ts: the capital plus the
 * bot's PnL, no balance in it; `riskEquity`), and a change of measure across a restart begins the peak and the day's
 * start equity again (risk.ts `rebaseRisk`, logged), never a kill switch. The
 * kill switch (risk.ts: max drawdown, daily loss) that fires is committed at once, reported (`risk.triggered`)
 * and pauses entries before this tick's symbols run; one that clears lifts only its own pause. A new equity peak
 * or day is worth saving but not a synchronous commit per tick.
 *
 * The balance has a fill before the positions do (they count it once synced), so:
 * - a reading that would fire the drawdown kill switch with buys in flight, or start a new day with any order in
 *   flight, is taken again after the orders in flight are synced (risk.ts `needsSettledReading`; rare, so the
 *   extra requests are too). When that cannot be done within the read deadline (an order still unresolved, an
 *   exchange error), the first reading stands: a kill switch fires (pausing entries is the safe side), a day starts;
 * - a new equity peak never counts the sells in flight (risk.ts `capPeak`), and neither does an operator's resume,
 *   which measures the drawdown from the equity it finds.
 * The risk state each update starts from is read after the reads, never before them: an operator's resume
 * meanwhile is not undone. Each reading is also compared with the positions (shortfall-watch.ts: a coin the
 * account holds less of than the bot's fills say).
 */
import { utcDay, type Clock } from '../../../shared/clock';
import type { Config } from '../../../shared/config/schema';
import { ByNinjaError, errorMessage } from '../../../shared/errors';
import type { BalanceEntry, Exchange } from '../../exchange/exchange';
import type { ExchangeReads } from '../exchange-watch/exchange-reads';
import type { EventOutbox } from '../state/event-outbox';
import type { OrderBook } from '../orders/order-book';
import type { StateGateway } from '../state/state-gateway';
import type { LocalOrder } from '../orders/order-state';
import type { OnceLog } from '../log-once';
import { averageEntryPrice, realizedOnDay, splitSymbol, type PositionBook } from '../books/pnl';
import { botEquityOf } from '../books/bot-equity';
import {
  capPeak,
  evaluateRisk,
  needsSettledReading,
  rebaseRisk,
  type RiskState,
  type RiskUpdate,
  type UnsyncedSides,
} from '../decide/risk';
import { hasCause } from '../operator/pause-causes';
import type { InferredOrderWatch } from './inferred-orders';
import type { ShortfallWatch } from './shortfall-watch';
import type { PauseSource, PauseState } from '../state/trading-state';

export interface AccountWatchOptions {
  /** The orders in flight and the positions (order-book.ts). */
  orderBook: Pick<OrderBook, 'pendingOrders' | 'positions'>;
  /** The kill switch told (risk.triggered). */
  outbox: Pick<EventOutbox, 'emit'>;
  /** The risk state and the pause (state-gateway.ts). */
  state: StateGateway;
  exchange: Exchange;
  reads: ExchangeReads;
  /**
   * The exchange's clock (TradingLoop.exchangeClock): fills are dated on it, so "today" for the daily-loss kill switch
   * is its UTC day, never the host's (a host ahead of the exchange would start the new day before a late fill's).
   */
  exchangeClock: Clock;
  risk: Config['trading']['risk'];
  quoteCurrency: string;
  lastPrices: Readonly<Record<string, number>>;
  /** Syncs every order in flight with the exchange; false when that could not be done now (nothing thrown). */
  settleOrders: () => Promise<boolean>;
  onceLog: OnceLog;
  pauseEntries: (reason: string, by: PauseSource) => Promise<PauseState>;
  resumeEntries: (by: PauseSource) => Promise<void>;
  /** Told every balance reading: positions the account holds less of (shortfall-watch.ts). */
  shortfalls: Pick<ShortfallWatch, 'observe'>;
  /** Told every balance reading with when its read was sent: orders ended on our inference (inferred-orders.ts). */
  inferred: Pick<InferredOrderWatch, 'observe'>;
}

/** One balance read and what it means. */
interface Reading {
  balance: Record<string, BalanceEntry>;
  /** The account's equity (quote balance + the bot's positions). */
  accountEquity: number;
  /** The equity the kill switch judges: the bot's own with `risk.capital` set (bot-equity.ts), else the account's. */
  equity: number;
  /** The judged equity without what a reading may count too high: at most the true equity (risk.ts `capPeak`). */
  peakSafeEquity: number;
  realizedToday: number;
  /** When it was read, on the exchange's clock. */
  now: number;
  /** When its read was sent (a read on its way was joined: when that one was). */
  sentAt: number;
  /** The positions the reading was judged with. */
  positions: Record<string, PositionBook>;
}

export class AccountWatch {
  /** The latest balance read, or null before the first. */
  balance: Record<string, BalanceEntry> | null = null;
  /** When the latest balance read was sent (host time; 0 before the first). */
  balanceSentAt = 0;
  /** The account's equity in the quote currency at the latest read (/balance, /status). */
  equity = 0;
  /** The equity the kill switch judges at the latest read: `equity`, or the bot's own with `risk.capital` set. */
  riskEquity = 0;
  /** The latest reading's judged equity without the sells in flight: what an operator's resume measures from. */
  peakSafeEquity = 0;

  constructor(private readonly opts: AccountWatchOptions) {}

  /**
   * `read`: a balance read already on its way, start-up's: read beside recovery, or after it when recovery
   * changed anything, so the orders in flight were synced with it and it is taken as settled. Default: a new read.
   * Rejects (nothing applied) only when that first balance read fails or passes the read deadline.
   */
  async refresh(read?: Promise<Record<string, BalanceEntry>>): Promise<void> {
    const { orderBook, reads, exchange } = this.opts;
    // a read handed in (start-up's) was sent before this call, after any order of the last run was sent
    const balanceRead = read ?? reads.once('balance', () => exchange.fetchBalance());
    let reading = await this.reading(reads.withDeadline('account', balanceRead), reads.sentAt('balance'));
    let { before, update, rebased } = this.evaluate(reading);
    if (!read && needsSettledReading(before, update, unsyncedSides(orderBook.pendingOrders()))) {
      const settled = await this.settledReading();
      if (settled) {
        reading = settled;
        ({ before, update, rebased } = this.evaluate(reading));
      }
    }
    this.balance = reading.balance;
    this.balanceSentAt = reading.sentAt;
    this.equity = reading.accountEquity;
    this.riskEquity = reading.equity;
    this.peakSafeEquity = reading.peakSafeEquity;
    if (rebased) this.logRebase(rebased, update.state);
    await this.apply(before, update, rebased !== undefined);
    const telling = this.opts.inferred.observe(reading.balance, reading.positions, reading.sentAt);
    if (telling) await telling;
    await this.opts.shortfalls.observe(reading.balance, reading.positions, reading.sentAt);
  }

  /**
   * The risk update a reading makes, from the risk state as it is now — rebased first when it was measured in
   * another measure (`rebased`: the state it was, risk.ts `rebaseRisk`).
   */
  private evaluate(r: Reading): { before: RiskState; update: RiskUpdate; rebased?: RiskState } {
    const stored = this.opts.state.risk;
    const rebase = rebaseRisk(stored, this.opts.risk.capital, r.equity, r.peakSafeEquity);
    const before = rebase ?? stored;
    const update = evaluateRisk(before, r.equity, r.realizedToday, r.now, this.opts.risk);
    return {
      before,
      update: capPeak(before, update, r.peakSafeEquity),
      ...(rebase ? { rebased: stored } : {}),
    };
  }

  /** The measure changed (not on a first start: nothing was measured yet): the peak and day base begin again. */
  private logRebase(was: RiskState, now: RiskState): void {
    if (was.day === '') return;
    const measure = (s: RiskState): string =>
      s.capital === undefined ? 'account equity' : `bot capital ${s.capital} + its PnL`;
    this.opts.onceLog.log(
      'risk:measure',
      'warn',
      "Risk limits now judge another equity: the peak and the day's start equity begin again from this reading",
      {
        was: measure(was),
        now: measure(now),
        previousPeak: Number(was.equityPeak.toFixed(2)),
        equityPeak: Number(now.equityPeak.toFixed(2)),
        dayStartEquity: Number(now.dayStartEquity.toFixed(2)),
      },
    );
  }

  /** The orders in flight synced, then a new balance read, within one read deadline; undefined when not. */
  private async settledReading(): Promise<Reading | undefined> {
    const { reads, exchange, onceLog } = this.opts;
    try {
      return await reads.withDeadline(
        'account',
        (async () => {
          if (!(await this.opts.settleOrders())) return undefined;
          const balanceRead = reads.once('balance', () => exchange.fetchBalance());
          return this.reading(balanceRead, reads.sentAt('balance'));
        })(),
      );
    } catch (err) {
      if (!(err instanceof ByNinjaError)) throw err;
      onceLog.log(
        'risk:unsettled',
        'warn',
        'Could not read the account again after syncing the orders in flight',
        {
          error: errorMessage(err),
        },
      );
      return undefined;
    }
  }

  private async reading(read: Promise<Record<string, BalanceEntry>>, sentAt: number): Promise<Reading> {
    const { orderBook, exchangeClock, quoteCurrency, lastPrices } = this.opts;
    const balance = await read;
    const now = exchangeClock.now();
    const positions = orderBook.positions();
    const accountEquity = equityOf(balance, positions, lastPrices, quoteCurrency);
    const capital = this.opts.risk.capital;
    const equity = riskEquityOf(capital, balance, positions, lastPrices, quoteCurrency);
    return {
      balance,
      accountEquity,
      equity,
      // the bot's own equity has no balance in it: a sell's fill not synced yet counts in neither part
      peakSafeEquity:
        equity -
        (capital === undefined
          ? sellsInFlightWorth(orderBook.pendingOrders(), lastPrices, quoteCurrency)
          : 0) -
        unpricedWorth(positions, lastPrices, quoteCurrency),
      realizedToday: realizedOnDay(positions, utcDay(now)),
      now,
      sentAt,
      positions,
    };
  }

  private async apply(before: RiskState, update: RiskUpdate, rebased: boolean): Promise<void> {
    const { outbox, state } = this.opts;
    if (update.triggered) {
      await state.setRisk(update.state, true);
      await outbox.emit(
        'risk.triggered',
        `Kill switch (${update.triggered.kind}): ${update.triggered.reason}`,
        { rule: update.triggered.kind, reason: update.triggered.reason, equity: this.riskEquity },
      );
      await this.opts.pauseEntries(`kill switch: ${update.triggered.reason}`, 'risk');
    } else if (update.cleared) {
      await state.setRisk(update.state, true);
      if (hasCause(state.pause, 'risk')) await this.opts.resumeEntries('risk');
    } else if (rebased) {
      // the new measure is saved at once: a restart before the next save does not begin it again
      await state.setRisk(update.state, true);
    } else if (before.equityPeak !== update.state.equityPeak || before.day !== update.state.day) {
      void state.setRisk(update.state, false);
    }
    // a kill switch saved whose pause was not (the disk failed between the two commits): it fires only once, so
    // its pause is put back here, at every reading, never left out
    const killSwitch = state.risk.killSwitch;
    if (!update.triggered && killSwitch && !hasCause(state.pause, 'risk')) {
      await this.opts.pauseEntries(`kill switch: ${killSwitch.reason}`, 'risk');
    }
  }
}

/**
 * What the unfilled rest of the sells in flight is worth at the last price: the most their fills not synced yet
 * can have counted twice (the coins still a position, the proceeds already in the balance).
 */
function sellsInFlightWorth(
  orders: readonly LocalOrder[],
  lastPrices: Readonly<Record<string, number>>,
  quoteCurrency: string,
): number {
  let worth = 0;
  for (const o of orders) {
    if (o.side !== 'sell' || splitSymbol(o.symbol).quote !== quoteCurrency) continue;
    worth += Math.max(0, o.amount - o.filled) * (lastPrices[o.symbol] ?? o.price ?? 0);
  }
  return worth;
}

/**
 * What the positions with no price read yet count in equity (at their entry price: equityOf). Right after a start
 * no price is read until the symbols' first tick, and a position under water at its entry price reads too high: a
 * peak raised on that is a false drawdown kill switch once its price is read (review 27). Such a reading raises no
 * peak above what it knows.
 */
function unpricedWorth(
  positions: Record<string, PositionBook>,
  lastPrices: Readonly<Record<string, number>>,
  quoteCurrency: string,
): number {
  let worth = 0;
  for (const p of Object.values(positions)) {
    if (splitSymbol(p.symbol).quote !== quoteCurrency || lastPrices[p.symbol] !== undefined) continue;
    worth += p.amount * averageEntryPrice(p);
  }
  return worth;
}

/** Orders in flight by side: each may hold fills the positions do not count yet. */
function unsyncedSides(orders: readonly LocalOrder[]): UnsyncedSides {
  let buys = 0;
  for (const o of orders) if (o.side === 'buy') buys++;
  return { buys, sells: orders.length - buys };
}

/** The quote balance plus the positions held in that quote, at their last price (else their entry price). */
export function equityOf(
  balance: Record<string, BalanceEntry>,
  positions: Record<string, PositionBook>,
  lastPrices: Readonly<Record<string, number>>,
  quoteCurrency: string,
): number {
  let held = 0;
  for (const p of Object.values(positions)) {
    if (splitSymbol(p.symbol).quote !== quoteCurrency) continue;
    held += p.amount * (lastPrices[p.symbol] ?? averageEntryPrice(p));
  }
  return (balance[quoteCurrency]?.total ?? 0) + held;
}

/**
 * The equity the kill switch judges: with `capital` (trading.risk.capital) the bot's own (bot-equity.ts: no balance
 * in it, so the owner's money moves move nothing), else the account's (`equityOf`).
 */
export function riskEquityOf(
  capital: number | undefined,
  balance: Record<string, BalanceEntry>,
  positions: Record<string, PositionBook>,
  lastPrices: Readonly<Record<string, number>>,
  quoteCurrency: string,
): number {
  return capital === undefined
    ? equityOf(balance, positions, lastPrices, quoteCurrency)
    : botEquityOf(capital, positions, lastPrices, quoteCurrency);
}
