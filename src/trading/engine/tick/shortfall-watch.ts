/**
 * Positions the account holds less of than the bot's fills say (held-balance.ts), watched on the balance the
 * account watch reads once per tick — no request of its own:
 * - a shortfall seen on two readings in a row for the same position, with no order of the symbol in flight at
 *   either and none changed (a fill booked) less than a not-found window before the read was sent (a reading may
 *   predate a fill of the bot's that the position already counts, or the reverse: the exchange's account read lags
 *   like its lookups, and one lagging an entry's fill shows none of the coins bought), is confirmed and reported ONCE (`position.shortfall`), again only after a reading without it. What was reported
 *   is kept in the trading state (`announcedShortfalls`), committed with the event (the transactional outbox, as
 *   market-halts.ts does for halts): a restart — a crash loop during a shortfall — confirms it again in two readings
 *   but does not report it again;
 * - when the position is sold (an exit, a stop-loss, close-all), a confirmed shortfall is written off first: a
 *   `write-off` order (no exchange order) whose fills take the missing part out of the position, committed with
 *   the position events it causes, so the exit sells what exists and the position ends with it.
 * What it confirmed lives in memory: after a restart a shortfall is confirmed again in two readings before it is
 * written off.
 */
import type { Clock } from '../../../shared/clock';
import { errorMessage } from '../../../shared/errors';
import type { Logger } from '../../../shared/logging/logger';
import type { BalanceEntry } from '../../exchange/exchange';
import { positionsOf } from '../books/fill-sync';
import {
  changedNearRead,
  confirmedShortfalls,
  feesPaidInCoin,
  shortfallsOf,
  writeOffFills,
  writeOffPlace,
  type FeesInCoin,
  type Shortfall,
} from '../decide/held-balance';
import type { OrderBook } from '../orders/order-book';
import type { LocalOrder } from '../orders/order-state';
import { positionChangeEvents, readable, type EventDraft } from '../orders/order-events';
import { FEES_IN_COIN_TRADE_ID, WRITE_OFF_ID_PREFIX, splitSymbol, type PositionBook } from '../books/pnl';
import type { StateGateway } from '../state/state-gateway';

export interface ShortfallWatchOptions {
  /** The orders' reads (positions, orders in flight, markets, the exchange's fill order). */
  orderBook: Pick<
    OrderBook,
    'positions' | 'openPositions' | 'pendingSymbols' | 'hotOrders' | 'markets' | 'fillOrder'
  >;
  /** The state's gateway: what was reported kept, a write-off committed with its events. */
  state: Pick<StateGateway, 'data' | 'commitWithEvents' | 'commitOrder'>;
  clock: Clock;
  /** The exchange's clock: a write-off's fills are stamped on it, the time its other fills carry. */
  exchangeClock: Clock;
  logger: Logger;
  /**
   * How long after an order of a symbol changed a balance read may still not show it (`unknownNotFoundWindowMs`, as
   * the inferred-order watch's): a reading sent within it judges no shortfall of the symbol. Review 34o: two readings
   * lagging an entry's fill confirmed the whole position missing, and the stop-loss that fired wrote it off at price
   * 0 — the coins bought stayed on the account, the bot's no more, never sold.
   */
  settleWindowMs: number;
}

export class ShortfallWatch {
  /** The shortfalls of the latest reading, confirmed or not. */
  private latest: Shortfall[] = [];
  /** Confirmed on the latest reading, by symbol. */
  private readonly confirmed = new Map<string, Shortfall>();

  constructor(private readonly opts: ShortfallWatchOptions) {}

  /**
   * One balance reading, with the positions it was judged with (default: as they are now) and when its read was
   * sent (host time; default: now): confirms and reports what two readings in a row show.
   */
  async observe(
    balance: Readonly<Record<string, BalanceEntry>>,
    positions: Record<string, PositionBook> = this.opts.orderBook.positions(),
    sentAt: number = this.opts.clock.now(),
  ): Promise<void> {
    const { orderBook, state, settleWindowMs } = this.opts;
    const unsettled = new Set(orderBook.pendingSymbols());
    // an order changed within a window of the read (or since): its fill may not be in this balance yet
    for (const o of orderBook.hotOrders((x) => changedNearRead(x, sentAt, settleWindowMs)))
      unsettled.add(o.symbol);
    const current = shortfallsOf(orderBook.openPositions(positions), balance, orderBook.markets, unsettled);
    const confirmed = confirmedShortfalls(this.latest, current);
    this.latest = current;
    this.confirmed.clear();
    for (const s of confirmed) this.confirmed.set(s.symbol, s);
    const announced = state.data.announcedShortfalls;
    // a symbol left out for an order in flight keeps its announcement; one held whole again may be reported anew
    const whole = Object.keys(announced).filter(
      (symbol) => !unsettled.has(symbol) && !current.some((s) => s.symbol === symbol),
    );
    const fresh = confirmed.filter((s) => !(s.symbol in announced));
    if (whole.length === 0 && fresh.length === 0) return;
    const now = this.opts.clock.now();
    const events = fresh.map((s) => this.report(s));
    try {
      await state.commitWithEvents((d) => {
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

  /** The symbol's confirmed shortfall on the latest reading, if any. */
  shortfallOf(symbol: string): Shortfall | undefined {
    return this.confirmed.get(symbol);
  }

  /**
   * Before the position of `symbol` is sold: writes off its confirmed shortfall, if the position is still the one
   * confirmed (no fill since). Returns the amount written off (0: nothing).
   */
  async writeOffBeforeSale(symbol: string, price: number): Promise<number> {
    const { orderBook, state, clock } = this.opts;
    const s = this.confirmed.get(symbol);
    const book = orderBook.positions()[symbol];
    if (!s || !book || Math.abs(book.amount - s.position) > 1e-12) return 0;
    const now = clock.now();
    // its fills replay among the exchange's by time where trade ids do not order them: stamped on the exchange's time
    const exchangeNow = this.opts.exchangeClock.now();
    // never one of the exchange's ids: no bot id, no install id (and reconcile never looks it up)
    const clientOrderId = `${WRITE_OFF_ID_PREFIX}${symbol.replace(/[^A-Za-z0-9]/g, '')}-${now}`;
    const fees = feesPaidInCoin(book);
    const { at, afterTradeId } = writeOffPlace(
      symbol,
      orderBook.hotOrders().flatMap((o) => o.fills),
      exchangeNow,
      orderBook.fillOrder,
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
    const market = orderBook.markets[symbol];
    const events = positionChangeEvents(
      symbol,
      market,
      positionsOf(state.data, orderBook.markets, orderBook.fillOrder)[symbol],
      positionsOf(state.data, orderBook.markets, orderBook.fillOrder, order)[symbol],
      price,
    );
    await state.commitOrder(order, events);
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
    const { orderBook } = this.opts;
    const book = orderBook.positions()[s.symbol];
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
