/**
 * Orders of ours that ended on our inference — declared never placed when their lookups kept missing, or settled
 * with less than their amount when the exchange stopped showing them (never-placed-recheck.ts `endedByInference`) —
 * watched on the balance the account watch reads once per tick, no request of its own. The exchange may have carried
 * such an order out while its reads lagged: a sell sent again would sell the owner's own coins, a buy spend the
 * stake twice. So:
 * - each order carries what the owner held of its coin beside the bot's positions (`ownerHeld`), measured here on
 *   readings where the coin has no order in flight and kept in the trading state (`ownerHoldings`);
 * - an order in question holds every order of its symbol (placement-gate.ts `inferred-order`) until readings sent
 *   a not-found window after its verdict show it was not carried out (held-balance.ts `inferredOrderCoins`), or it is
 *   found (the recheck), or the operator settles it (operator-settle.ts, /settle);
 * - a reading that shows it carried out tells the operator (`order.in_doubt`, again once a day) and marks it in
 *   doubt (`inDoubtAt`, kept in the state): it is then looked up and its symbol held past the 24 h recheck horizon,
 *   whatever later readings show, until it is found or settled — the stop-loss would otherwise sell the owner's coins.
 */
import type { Clock } from '../../../shared/clock';
import type { InDoubtOrderView } from '../../../shared/ipc/protocol';
import type { BalanceEntry } from '../../exchange/exchange';
import { inferredOrderCoins, ownerHolding } from '../decide/held-balance';
import { RECHECK_HORIZON_MS, endedByInference, stillRechecked } from '../orders/never-placed-recheck';
import type { OrderBook } from '../orders/order-book';
import { fillsComplete, isFinal, needsExchange, orderView, type LocalOrder } from '../orders/order-state';
import { inDoubtEvent, readable } from '../orders/order-events';
import { settleCommands } from '../operator/settle-commands';
import { splitSymbol, type PositionBook } from '../books/pnl';
import type { StateGateway } from '../state/state-gateway';

/** How often the operator is told again of an order still in doubt. */
export const IN_DOUBT_REMINDER_MS = 24 * 60 * 60_000;

export interface InferredOrderWatchOptions {
  /** The orders' reads (hot orders, those in flight, positions, markets). */
  orderBook: Pick<OrderBook, 'positions' | 'hotOrders' | 'pendingSymbols' | 'markets'>;
  /** The state's gateway: the owner's holdings kept, an order's verdict and doubt committed. */
  state: Pick<StateGateway, 'data' | 'change' | 'commitOrder' | 'commitInDoubt'>;
  clock: Clock;
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

export class InferredOrderWatch {
  /** The latest reading: the balance, when its read was sent, and the positions it is judged with. */
  private reading?: {
    balance: Readonly<Record<string, BalanceEntry>>;
    sentAt: number;
    positions: readonly PositionBook[];
  };

  constructor(private readonly opts: InferredOrderWatchOptions) {}

  /**
   * One balance reading (its read sent at `sentAt`), with the positions it was judged with (default: as they are
   * now): measures the owner's holdings at once, and tells of an order it shows carried out — the promise of that
   * telling, undefined when no order is in question (nothing to wait for).
   */
  observe(
    balance: Readonly<Record<string, BalanceEntry>>,
    positions: Record<string, PositionBook> = this.opts.orderBook.positions(),
    sentAt: number = this.opts.clock.now(),
  ): Promise<void> | undefined {
    this.reading = { balance, sentAt, positions: Object.values(positions) };
    this.measureOwner(balance, Object.values(positions), sentAt);
    const inQuestion = this.inferredOrders(this.opts.clock.now()).length + this.heldInDoubt().length;
    return inQuestion > 0 ? this.tellCarriedOut() : undefined;
  }

  /** What the owner held of `symbol`'s base beside the bot's positions, as last measured; undefined: never. */
  ownerHeld(symbol: string): number | undefined {
    return this.opts.state.data.ownerHoldings[splitSymbol(symbol).base];
  }

  /**
   * The symbol's orders that ended on our inference and may have been carried out (held-balance.ts
   * `inferredOrderCoins`: the balance says so, or no reading since the verdict): the symbol's orders wait — a sell
   * sent again would sell the owner's coins, a buy would spend the stake twice — until the order is found
   * (never-placed-recheck.ts), a reading shows it was not (never once it is in doubt), or the operator settles it.
   * Null when none holds it.
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
          `nothing is placed until it is found or the operator settles it (/settle)`,
      };
    }
    if (waiting.length > 0) {
      const resting = waiting.filter((o) => o.type === 'limit' && o.restRuledOut !== true);
      return {
        orders: waiting.map((o) => o.clientOrderId),
        reason:
          resting.length > 0
            ? `limit order ${resting.map((o) => o.clientOrderId).join(', ')} ended with its lookups missing and may ` +
              `rest on the exchange unseen (its cancel could not rule it out): nothing is placed until it is found ` +
              `or the operator settles it (/settle)`
            : `order ${waiting.map((o) => o.clientOrderId).join(', ')} ended with its lookups missing: waiting for ` +
              `balance reads to show it was not carried out`,
      };
    }
    return null;
  }

  /**
   * The orders in question, each with what it holds (/settle lists them: the operator may settle each): those ended on
   * our inference, and those in doubt before they ended — unknown, or no longer shown (`heldInDoubt`).
   */
  inQuestion(): InDoubtOrderView[] {
    const inferred = this.inferredOrders(this.opts.clock.now()).map((o): InDoubtOrderView => {
      const hold = this.inferredOrderHold(o.symbol);
      return {
        ...orderView(o),
        endedAt: o.updatedAt,
        ended: o.settledAbsent ? 'settled-absent' : 'never-placed',
        inDoubtAt: o.inDoubtAt,
        holding: hold?.orders.includes(o.clientOrderId) ? hold.reason : undefined,
        ...filledOnly(o),
      };
    });
    const held = this.heldInDoubt().map((o): InDoubtOrderView => {
      const unknown = o.status === 'unknown' || o.status === 'intent';
      const ended = unknown ? 'unknown' : isFinal(o.status) ? 'fills-missing' : 'absent';
      return {
        ...orderView(o),
        endedAt: o.inDoubtAt!,
        ended,
        inDoubtAt: o.inDoubtAt,
        holding:
          {
            unknown: `its create had no answer, its lookups miss and the exchange's other reads cannot rule it out`,
            absent: `the exchange no longer shows it (or no longer lists its symbol) and its reads cannot settle it`,
            'fills-missing': `it ended ${o.status} with ${readable(o.filled)} filled, and its missing fills can be neither read nor priced`,
          }[ended] +
          (o.error ? ` (${o.error})` : '') +
          `: nothing is placed until it is found or the operator settles it (/settle)`,
        ...filledOnly(o),
      };
    });
    return [...inferred, ...held];
  }

  /**
   * Orders in doubt that still need the exchange: unknown ones (OrderManager.resolveUnknown: the exchange's reads
   * cannot decide them), acknowledged ones the exchange no longer shows — or no longer lists — that its reads cannot
   * settle (absent-orders.ts, symbol-tick.ts), finished ones whose missing fills cannot be read nor priced
   * (fill-sync.ts). They hold their symbol (as unknown, working, fills missing); the operator is reminded of them
   * daily like the others in doubt.
   */
  private heldInDoubt(): LocalOrder[] {
    return this.opts.orderBook.hotOrders(
      (o) => o.inDoubtAt !== undefined && !endedByInference(o) && needsExchange(o),
    );
  }

  /**
   * The orders ended on our inference (of `symbol`, or all) as the latest reading judges them, on the positions it
   * was read with: carried out, or waiting — while the coin is busy (`busyCoins`: another order's fill, not booked
   * or not in the balance yet, would hide this one's or pass for it), for a reading sent after the verdict, for one
   * sent at least `notCarriedOutAfterMs` after it before "not carried out" is taken (kept in the order,
   * `notCarriedOutAt`: each reading is judged anew until then, one lagging read lifts nothing). An order in doubt
   * (a reading showed it carried out) stays carried out whatever later readings show: a lagging read shows the coins
   * as they were before, so coins that seem to come back were moved by the owner (a deposit, a trade by hand) —
   * only the order found, or the operator, can tell.
   */
  private judgeInferred(symbol?: string): { carriedOut: LocalOrder[]; waiting: LocalOrder[] } {
    const { orderBook, state, clock } = this.opts;
    const carriedOut: LocalOrder[] = [];
    const waiting: LocalOrder[] = [];
    const reading = this.reading;
    const questioned = this.inferredOrders(clock.now(), symbol);
    for (const o of questioned) {
      if (o.inDoubtAt !== undefined) {
        carriedOut.push(o);
        continue;
      }
      const step = orderBook.markets[o.symbol]?.amountStep ?? 0;
      // every book, dust included: as the owner's holding was measured (dust is not "open", but it is coins held)
      const coins = inferredOrderCoins(o, reading, reading?.positions ?? [], step);
      if (coins === 'unjudged') continue;
      if (
        coins === 'wait' ||
        coins === 'may-rest' ||
        this.busyCoins(reading!.sentAt, o.clientOrderId).has(splitSymbol(o.symbol).base)
      )
        waiting.push(o);
      else if (coins === 'carried-out') carriedOut.push(o);
      else if (reading!.sentAt - o.updatedAt >= this.opts.notCarriedOutAfterMs) {
        // written with the next state write: a crash before it only judges it again
        state.change((d) => {
          const kept = d.orders[o.clientOrderId];
          if (kept) d.orders[o.clientOrderId] = { ...kept, notCarriedOutAt: clock.now() };
        });
      } else waiting.push(o);
    }
    return { carriedOut, waiting };
  }

  /**
   * The coins a reading sent at `sentAt` cannot judge an order in (`except`: that order itself): one with an order of
   * ours in flight, or one whose order changed less than a not-found window before the read was sent or since (a
   * fill booked then may not be in the balance yet, or be in it and not in the positions yet; an order ended on our
   * inference then may have been carried out).
   */
  private busyCoins(sentAt: number, except?: string): Set<string> {
    const { orderBook, notCarriedOutAfterMs } = this.opts;
    const busy = new Set(orderBook.pendingSymbols().map((symbol) => splitSymbol(symbol).base));
    const changed = (o: LocalOrder): boolean =>
      sentAt - o.updatedAt < notCarriedOutAfterMs && o.clientOrderId !== except;
    for (const o of orderBook.hotOrders(changed)) busy.add(splitSymbol(o.symbol).base);
    return busy;
  }

  /**
   * Marks in doubt (`inDoubtAt`, committed with its `order.in_doubt` event: told once, across restarts too) each
   * order a reading first shows carried out.
   */
  private async tellCarriedOut(): Promise<void> {
    const { state, clock } = this.opts;
    const { carriedOut, waiting } = this.judgeInferred();
    const unjudgedForADay = waiting.filter((o) => clock.now() - o.updatedAt >= RECHECK_HORIZON_MS);
    for (const o of unjudgedForADay) {
      // a day without a reading able to judge it: in doubt, the operator told (released unjudged, its stop-loss
      // could sell the owner's coins)
      await this.markInDoubt(
        o,
        o.type === 'limit' && o.restRuledOut !== true
          ? `for a day it was not found, and as a limit order it may rest on the exchange unseen (its cancel ` +
              `could not rule it out; the balance cannot tell a resting order)`
          : `for a day no balance reading could tell whether it was carried out (other orders of its coin kept ` +
              `changing it)`,
      );
    }
    // those in doubt before they ended were told when they went so (resolveUnknown, absent-orders.ts): reminded alike
    for (const o of this.heldInDoubt()) await this.remind(o.clientOrderId);
    for (const judged of carriedOut) {
      // as it is now: an earlier commit of this loop may have let a take-back run
      const o = state.data.orders[judged.clientOrderId];
      if (!o || !endedByInference(o)) continue;
      if (o.inDoubtAt !== undefined) await this.remind(o.clientOrderId);
      else
        await this.markInDoubt(
          o,
          `the account's ${splitSymbol(o.symbol).base} moved as if it was carried out`,
        );
    }
  }

  /** Marks the order in doubt (`inDoubtAt`), committed with its `order.in_doubt` alert saying `why`. */
  private async markInDoubt(o: LocalOrder, why: string): Promise<void> {
    await this.opts.state.commitInDoubt(
      o,
      inDoubtEvent(o, `ended with the exchange's lookups not finding it, and ${why}`),
      this.opts.clock.now(),
    );
  }

  /**
   * Tells the operator again, once a day, of an order still in doubt: its symbol places nothing, stop-loss included,
   * for as long as it stays so, and the first alert may have gone unseen (muted, silent). When it was last told is
   * committed with the reminder (`inDoubtToldAt`): a restart does not tell again before the day is over.
   */
  private async remind(id: string): Promise<void> {
    const now = this.opts.clock.now();
    // as it is now: an earlier commit may have let a lookup answer for it
    const o = this.opts.state.data.orders[id];
    if (o?.inDoubtAt === undefined) return;
    if (now - (o.inDoubtToldAt ?? o.inDoubtAt) < IN_DOUBT_REMINDER_MS) return;
    await this.opts.state.commitOrder({ ...o, inDoubtToldAt: now }, [
      {
        type: 'order.in_doubt',
        summary:
          `${o.symbol}: ${o.side} ${readable(o.amount)} (${o.purpose}, ${o.clientOrderId}) is still in doubt since ` +
          `${new Date(o.inDoubtAt).toISOString().slice(0, 16).replace('T', ' ')} UTC: nothing is placed on ` +
          `${o.symbol}, its stop-loss included, until it is found or you settle it: ${settleCommands(o)}`,
        data: {
          symbol: o.symbol,
          clientOrderId: o.clientOrderId,
          side: o.side,
          amount: o.amount,
          reminder: true,
        },
      },
    ]);
  }

  /** Orders of `symbol` (every symbol: undefined) ended on our inference, still looked up, not shown harmless. */
  private inferredOrders(now: number, symbol?: string): LocalOrder[] {
    return this.opts.orderBook.hotOrders(
      (o) =>
        (symbol === undefined || o.symbol === symbol) &&
        endedByInference(o) &&
        o.filled < o.amount &&
        o.notCarriedOutAt === undefined &&
        stillRechecked(o, { horizonMs: RECHECK_HORIZON_MS }, now),
    );
  }

  /**
   * The owner's holding of each coin the bot trades, on a reading where the coin has no order of ours in flight
   * (`busyCoins`) and no order ended on our inference still in question: the balance and the positions then
   * count the same fills. Other coins keep what was measured before.
   */
  private measureOwner(
    balance: Readonly<Record<string, BalanceEntry>>,
    positions: readonly PositionBook[],
    sentAt: number,
  ): void {
    const { state, clock } = this.opts;
    // an order of the coin in flight, or changed (a fill booked) less than a not-found window before the read was
    // sent: the balance may not show that fill yet (it lags like a lookup), and a holding measured on it would be off
    // by it — a buy's coins counted as the owner's missing, a later sale of them then read as "not carried out"
    const busy = this.busyCoins(sentAt);
    // one in question (its coins judged against the holding measured before it), not one sent unmeasured: it is
    // never judged, and its coin would go unmeasured for the whole recheck
    for (const o of this.inferredOrders(clock.now()))
      if (o.ownerHeld !== undefined) busy.add(splitSymbol(o.symbol).base);
    // the coins of the symbols the loop watches (traded, held, with orders): never every market an exchange lists
    const coins = new Set([...this.opts.watched(), ...positions.map((p) => p.symbol)]);
    const kept = state.data.ownerHoldings;
    const measured: Record<string, number> = {};
    for (const symbol of coins) {
      const { base } = splitSymbol(symbol);
      if (busy.has(base)) continue;
      const held = ownerHolding(base, positions, balance);
      if (kept[base] !== held) measured[base] = held;
    }
    // written with the next state write (no commit of its own): a crash before it only measures again
    if (Object.keys(measured).length > 0) {
      state.change((d) => {
        d.ownerHoldings = { ...d.ownerHoldings, ...measured };
      });
    }
  }
}

/** `none` is refused for an order answered as more filled than its fills booked (operator-settle.ts): say so. */
function filledOnly(o: LocalOrder): { filledOnly?: true } {
  return fillsComplete(o) ? {} : { filledOnly: true };
}
