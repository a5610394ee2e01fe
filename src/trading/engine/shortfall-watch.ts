/**
 * Positions the account holds less of than the bot's fills say (held-balance.ts), watched on the balance the
 * account watch reads once per tick — no request of its own:
 * - a shortfall seen on two readings in a row for the same position, with no order of the symbol in flight at
 *   either (a reading may predate a fill of the bot's that the position already counts, or the reverse), is
 *   confirmed and reported ONCE (`position.shortfall`), again only after a reading without it. What was reported
 *   is kept in the trading state (`announcedShortfalls`), committed with the event (the transactional outbox, as
 *   market-halts.ts does for halts): a restart — a crash loop during a shortfall — confirms it again in two readings
 *   but does not report it again;
 * - when the position is sold (an exit, a stop-loss, close-all), a confirmed shortfall is written off first: a
 *   `write-off` order (no exchange order) whose fills take the missing part out of the position, committed with
 *   the position events it causes, so the exit sells what exists and the position ends with it.
 * What it confirmed lives in memory: after a restart a shortfall is confirmed again in two readings before it is
 * written off.
 */
import type { Clock } from '../../shared/clock';
import { errorMessage } from '../../shared/errors';
import type { Logger } from '../../shared/logging/logger';
import type { BalanceEntry } from '../exchange/exchange';
import { positionsOf } from './fill-sync';
import {
  confirmedShortfalls,
  feesPaidInCoin,
  inferredOrderCoins,
  ownerHolding,
  shortfallsOf,
  writeOffFills,
  writeOffPlace,
  type FeesInCoin,
  type Shortfall,
} from './held-balance';
import { RECHECK_HORIZON_MS, stillRechecked } from './never-placed-recheck';
import type { OrderManager } from './order-manager';
import type { LocalOrder } from './order-state';
import { positionChangeEvents, readable, type EventDraft } from './order-events';
import { FEES_IN_COIN_TRADE_ID, WRITE_OFF_ID_PREFIX, splitSymbol, type PositionBook } from './pnl';

export interface ShortfallWatchOptions {
  manager: OrderManager;
  clock: Clock;
  /** The exchange's clock: a write-off's fills are stamped on it, the time its other fills carry. */
  exchangeClock: Clock;
  logger: Logger;
  /**
   * An order ended on our inference is taken as not carried out only on a reading sent at least this long after the
   * verdict (the not-found window): a balance read can lag like a lookup (Binance: "Memory => Database").
   */
  notCarriedOutAfterMs: number;
  /** The symbols the loop watches: traded ones, and those state holds positions or orders of. */
  watched: () => readonly string[];
}

/** A symbol's orders held by its orders that ended on our inference (held-balance.ts `inferredOrderCoins`). */
export interface InferredOrderHold {
  orders: string[];
  reason: string;
}

export class ShortfallWatch {
  /** The shortfalls of the latest reading, confirmed or not. */
  private latest: Shortfall[] = [];
  /** Confirmed on the latest reading, by symbol. */
  private readonly confirmed = new Map<string, Shortfall>();
  /** The latest reading and when its read was sent. */
  private reading?: { balance: Readonly<Record<string, BalanceEntry>>; sentAt: number };
  /** Orders ended on our inference that readings after the verdict showed were not carried out beyond their fills. */
  private readonly notCarriedOut = new Set<string>();
  /** Orders ended on our inference the operator was told were carried out after all (`order.in_doubt`). */
  private readonly told = new Set<string>();

  constructor(private readonly opts: ShortfallWatchOptions) {}

  /**
   * One balance reading (its read sent at `sentAt`), with the positions it was judged with (default: as they are
   * now): confirms and reports what two readings in a row show, and measures the owner's own holdings.
   */
  async observe(
    balance: Readonly<Record<string, BalanceEntry>>,
    positions: Record<string, PositionBook> = this.opts.manager.positions(),
    sentAt: number = this.opts.clock.now(),
  ): Promise<void> {
    const { manager } = this.opts;
    this.reading = { balance, sentAt };
    const unsettled = new Set(manager.pendingOrders().map((o) => o.symbol));
    this.measureOwner(balance, Object.values(positions), unsettled);
    if (this.inferredOrders(this.opts.clock.now()).length > 0) await this.tellCarriedOut();
    const current = shortfallsOf(manager.openPositions(positions), balance, manager.markets, unsettled);
    const confirmed = confirmedShortfalls(this.latest, current);
    this.latest = current;
    this.confirmed.clear();
    for (const s of confirmed) this.confirmed.set(s.symbol, s);
    const announced = manager.state.data.announcedShortfalls;
    // a symbol left out for an order in flight keeps its announcement; one held whole again may be reported anew
    const whole = Object.keys(announced).filter(
      (symbol) => !unsettled.has(symbol) && !current.some((s) => s.symbol === symbol),
    );
    const fresh = confirmed.filter((s) => !(s.symbol in announced));
    if (whole.length === 0 && fresh.length === 0) return;
    const now = this.opts.clock.now();
    const events = fresh.map((s) => this.report(s));
    try {
      await manager.state.commitWithEvents((d) => {
        const next = { ...d.announcedShortfalls };
        for (const symbol of whole) delete next[symbol];
        for (const s of fresh)
          next[s.symbol] = { position: s.position, held: s.held, missing: s.missing, at: now };
        d.announcedShortfalls = next;
      }, events);
    } catch (err) {
      // the state gateway reports a failed commit (persist.failed, no new orders); the change stays in memory and
      // its event goes out once the store's retried write is durable
      this.opts.logger.warn('Shortfall announcements not saved yet; retried with the next write', {
        error: errorMessage(err),
      });
    }
  }

  /** What the owner held of `symbol`'s base beside the bot's positions, as last measured; undefined: never. */
  ownerHeld(symbol: string): number | undefined {
    return this.opts.manager.state.data.ownerHoldings[splitSymbol(symbol).base];
  }

  /**
   * The symbol's orders that ended on our inference and may have been carried out (held-balance.ts
   * `inferredOrderCoins`: the balance says so, or no reading since the verdict): the symbol's orders wait — a sell
   * sent again would sell the owner's coins, a buy would spend the stake twice — until the order is found
   * (never-placed-recheck.ts, for 24 h) or a reading shows it was not. Null when none holds it.
   */
  inferredOrderHold(symbol: string): InferredOrderHold | null {
    const { carriedOut, waiting } = this.judgeInferred(symbol);
    if (carriedOut.length > 0) {
      const { base } = splitSymbol(symbol);
      const what = carriedOut.map((o) => `${o.side} ${o.clientOrderId}`).join(', ');
      return {
        orders: carriedOut.map((o) => o.clientOrderId),
        reason:
          `the account's ${base} moved as if ${what} had been carried out, which ended with its lookups missing: ` +
          `nothing is placed until it is found (looked up again for 24 h)`,
      };
    }
    if (waiting.length > 0) {
      return {
        orders: waiting,
        reason: `order ${waiting.join(', ')} ended with its lookups missing: waiting for balance reads to show it was not carried out`,
      };
    }
    return null;
  }

  /**
   * The orders ended on our inference (of `symbol`, or all) as the latest reading judges them: carried out, or
   * waiting — for a reading sent after the verdict, for one sent at least `notCarriedOutAfterMs` after it before
   * "not carried out" is taken (each reading is judged anew until then: one lagging read lifts nothing), or while an
   * order of another symbol in the same coin is in flight (its fill, not yet booked, would hide this one's).
   */
  private judgeInferred(symbol?: string): { carriedOut: LocalOrder[]; waiting: string[] } {
    const { manager, clock } = this.opts;
    // every book, dust included: as the owner's holding was measured (dust is not "open", but it is coins held)
    const positions = Object.values(manager.positions());
    const busyCoins = new Set(manager.pendingOrders().map((o) => splitSymbol(o.symbol).base));
    const carriedOut: LocalOrder[] = [];
    const waiting: string[] = [];
    for (const o of this.inferredOrders(clock.now(), symbol)) {
      const step = manager.markets[o.symbol]?.amountStep ?? 0;
      const coins = inferredOrderCoins(o, this.reading, positions, step);
      if (coins === 'unjudged') continue;
      if (coins === 'carried-out') carriedOut.push(o);
      else if (coins === 'wait' || busyCoins.has(splitSymbol(o.symbol).base)) waiting.push(o.clientOrderId);
      else if (coins === 'not-carried-out') {
        if (this.reading!.sentAt - o.updatedAt >= this.opts.notCarriedOutAfterMs) {
          this.notCarriedOut.add(o.clientOrderId);
        } else waiting.push(o.clientOrderId);
      }
    }
    return { carriedOut, waiting };
  }

  /** Tells the operator once of each order a reading first shows carried out (`order.in_doubt`). */
  private async tellCarriedOut(): Promise<void> {
    for (const o of this.judgeInferred().carriedOut) {
      if (this.told.has(o.clientOrderId)) continue;
      this.told.add(o.clientOrderId);
      const { base } = splitSymbol(o.symbol);
      await this.opts.manager.outbox.emit(
        'order.in_doubt',
        `${o.symbol}: ${o.side} ${readable(o.amount)} (${o.purpose}, ${o.clientOrderId}) ended with the exchange's ` +
          `lookups not finding it, but the account's ${base} moved as if it was carried out. Nothing is placed on ` +
          `${o.symbol} (its stop-loss included) until the order is found; it is looked up again for 24 h. Check the ` +
          `exchange's order history for it`,
        {
          symbol: o.symbol,
          clientOrderId: o.clientOrderId,
          side: o.side,
          amount: o.amount,
          purpose: o.purpose,
        },
      );
    }
  }

  /** Orders of `symbol` (every symbol: undefined) ended on our inference, still looked up, not shown harmless. */
  private inferredOrders(now: number, symbol?: string): LocalOrder[] {
    return this.opts.manager.hotOrders(
      (o) =>
        (symbol === undefined || o.symbol === symbol) &&
        o.filled < o.amount &&
        stillRechecked(o, { horizonMs: RECHECK_HORIZON_MS }, now) &&
        !this.notCarriedOut.has(o.clientOrderId),
    );
  }

  /**
   * The owner's holding of each coin the bot trades, on a reading where the coin has no order of ours in flight
   * (`unsettled` symbols) and no order ended on our inference still in question: the balance and the positions then
   * count the same fills. Other coins keep what was measured before.
   */
  private measureOwner(
    balance: Readonly<Record<string, BalanceEntry>>,
    positions: readonly PositionBook[],
    unsettled: ReadonlySet<string>,
  ): void {
    const { manager, clock } = this.opts;
    const busy = new Set<string>();
    for (const symbol of unsettled) busy.add(splitSymbol(symbol).base);
    // one in question (its coins judged against the holding measured before it), not one sent unmeasured: it is
    // never judged, and its coin would go unmeasured for the whole recheck
    for (const o of this.inferredOrders(clock.now()))
      if (o.ownerHeld !== undefined) busy.add(splitSymbol(o.symbol).base);
    // the coins of the symbols the loop watches (traded, held, with orders): never every market an exchange lists
    const coins = new Set([...this.opts.watched(), ...positions.map((p) => p.symbol)]);
    const kept = manager.state.data.ownerHoldings;
    const measured: Record<string, number> = {};
    for (const symbol of coins) {
      const { base } = splitSymbol(symbol);
      if (busy.has(base)) continue;
      const held = ownerHolding(base, positions, balance);
      if (kept[base] !== held) measured[base] = held;
    }
    // written with the next state write (no commit of its own): a crash before it only measures again
    if (Object.keys(measured).length > 0) {
      manager.state.change((d) => {
        d.ownerHoldings = { ...d.ownerHoldings, ...measured };
      });
    }
  }

  /** The symbol's confirmed shortfall on the latest reading, if any. */
  shortfallOf(symbol: string): Shortfall | undefined {
    return this.confirmed.get(symbol);
  }

  /**
   * Before the position of `symbol` is sold: writes off its confirmed shortfall, if the position is still the one
   * confirmed (no fill since). Returns the amount written off (0: nothing).
   */
  async writeOffBeforeSale(symbol: string, price: number): Promise<number> {
    const { manager, clock } = this.opts;
    const s = this.confirmed.get(symbol);
    const book = manager.positions()[symbol];
    if (!s || !book || Math.abs(book.amount - s.position) > 1e-12) return 0;
    const now = clock.now();
    // its fills replay among the exchange's by time where trade ids do not order them: stamped on the exchange's time
    const exchangeNow = this.opts.exchangeClock.now();
    // never one of the exchange's ids: no bot id, no install id (and reconcile never looks it up)
    const clientOrderId = `${WRITE_OFF_ID_PREFIX}${symbol.replace(/[^A-Za-z0-9]/g, '')}-${now}`;
    const fees = feesPaidInCoin(book);
    const { at, afterTradeId } = writeOffPlace(
      symbol,
      manager.hotOrders().flatMap((o) => o.fills),
      exchangeNow,
      manager.fillOrder,
      book.lastTradeId,
    );
    const fills = writeOffFills(book, s.missing, fees, clientOrderId, at).map((f) =>
      afterTradeId === undefined ? f : { ...f, afterTradeId },
    );
    const order: LocalOrder = {
      clientOrderId,
      symbol,
      side: 'sell',
      type: 'market',
      amount: s.missing,
      filled: s.missing,
      averagePrice: fills.reduce((sum, f) => sum + f.price * f.amount, 0) / s.missing,
      status: 'filled',
      purpose: 'write-off',
      reason: `the account holds ${readable(s.held)} of the position's ${readable(s.position)}`,
      createdAt: now,
      updatedAt: now,
      fills,
    };
    const market = manager.markets[symbol];
    const events = positionChangeEvents(
      symbol,
      market,
      positionsOf(manager.state.data, manager.markets, manager.fillOrder)[symbol],
      positionsOf(manager.state.data, manager.markets, manager.fillOrder, order)[symbol],
      price,
    );
    await manager.state.commitOrder(order, events);
    this.confirmed.delete(symbol);
    this.latest = this.latest.filter((x) => x.symbol !== symbol);
    this.opts.logger.warn('Position written down to what the account holds before selling it', {
      symbol,
      position: s.position,
      held: s.held,
      writtenOff: s.missing,
      asFees: fills.find((f) => f.tradeId === FEES_IN_COIN_TRADE_ID)?.amount ?? 0,
      clientOrderId,
    });
    return s.missing;
  }

  /** The `position.shortfall` event of a newly confirmed shortfall. */
  private report(s: Shortfall): EventDraft {
    const { manager } = this.opts;
    const book = manager.positions()[s.symbol];
    const fees: FeesInCoin = book ? feesPaidInCoin(book) : { amount: 0, quoteValue: 0 };
    const { base } = splitSymbol(s.symbol);
    const causes = [
      ...(fees.amount > 0
        ? [`the bot's own fees paid in ${base} on other pairs (${readable(fees.amount)} ${base})`]
        : [`fees of other pairs paid in ${base} (Binance "pay fees with BNB")`]),
      `a withdrawal or a sale of ${base} by hand`,
      `a fee in ${base} the bot did not see`,
    ];
    return {
      type: 'position.shortfall',
      summary:
        `${s.symbol}: the account holds ${readable(s.held)} ${base}, the bot's position is ${readable(s.position)} ` +
        `(${readable(s.missing)} missing; likely ${causes.join(', or ')}). Exits sell what is held; the missing ` +
        `part leaves the position as a loss when it is sold`,
      data: {
        symbol: s.symbol,
        position: s.position,
        held: s.held,
        missing: s.missing,
        feesPaidInBase: fees.amount,
        causes,
      },
    };
  }
}
