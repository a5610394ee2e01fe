/**
 * The events an order change reports (pure): computed before the commit that records them with the change
 * (the transactional outbox in trading state), so an event exists exactly when its change does.
 */
import { amountTolerance } from '../../exchange/precision';
import type { PendingEvent } from '../state/trading-state';
import type { ExchangeOrder, Market } from '../../exchange/exchange';
import { isProtectiveExit, type LocalOrder } from './order-state';
import type { Fill, PositionBook } from '../books/pnl';
import { isOpenPosition } from '../decide/risk';
import { settleCommands } from '../operator/settle-commands';

/** An event to commit with an order change (it gets its outbox key then). */
export type EventDraft = Omit<PendingEvent, 'key'>;

/** An order the exchange refused, or that lookup confirmed was never placed. */
export function rejectedEvent(order: LocalOrder, what: string, extra: Record<string, unknown>): EventDraft {
  return {
    type: 'order.rejected',
    summary: `${order.side} ${order.amount} ${order.symbol} ${what}`,
    data: {
      clientOrderId: order.clientOrderId,
      symbol: order.symbol,
      side: order.side,
      amount: order.amount,
      purpose: order.purpose,
      ...extra,
    },
  };
}

/** The exchange reports a change a final order cannot make (order-state.ts): the order stays as it is, the operator is told. */
export function conflictEvent(order: LocalOrder, remoteStatus: string, detail: string): EventDraft {
  return {
    type: 'order.conflict',
    summary: `${order.side} ${order.amount} ${order.symbol} (${order.purpose}, ${order.clientOrderId}) is ${order.status} here, the exchange says ${remoteStatus}: kept ${order.status}, check it on the exchange`,
    data: {
      clientOrderId: order.clientOrderId,
      exchangeOrderId: order.exchangeOrderId,
      symbol: order.symbol,
      purpose: order.purpose,
      status: order.status,
      exchangeStatus: remoteStatus,
      detail,
    },
  };
}

/**
 * An order declared never placed (our inference) that the exchange has after all: it is taken back. `positionBefore`
 * is the symbol's position before its fills count: the text says what the position becomes (a replacement the
 * bot placed meanwhile may have filled too — then the bot holds both, and only the operator can decide).
 */
export function takenBackEvent(order: LocalOrder, remote: ExchangeOrder, positionBefore: number): EventDraft {
  const sign = order.side === 'buy' ? 1 : -1;
  // what the exchange shows beyond the fills already counted (an order declared never placed has none); what the
  // operator booked in its place is replaced by the exchange's fills, so it may be less too
  const more = remote.filled - order.filled;
  const positionAfter = Math.max(0, positionBefore + sign * more);
  const moved = order.side === 'buy' ? (more > 0 ? 'grows' : 'shrinks') : more > 0 ? 'shrinks' : 'grows';
  const change =
    Math.abs(more) > amountTolerance(order.amount)
      ? ` The ${order.symbol} position ${moved} by ${more > 0 ? 'its fill ' : ''}${readable(Math.abs(more))} ` +
        `to about ${readable(positionAfter)} (was ${readable(positionBefore)})` +
        (order.side === 'buy' && more > 0
          ? ': if a replacement entry was placed, the bot now holds both — check it'
          : '')
      : '';
  const was = order.operatorSettled
    ? `settled by the operator as ${order.operatorSettled.outcome === 'carried-out' ? `filled ${readable(order.filled)}` : 'not carried out'}`
    : order.settledAbsent
      ? `settled as ${order.status} (filled ${readable(order.filled)}) when the exchange no longer showed it`
      : order.refused
        ? `recorded refused (${order.error ?? 'refused by the exchange'})`
        : order.neverSent
          ? 'recorded as never sent'
          : order.exchangeOrderId
            ? 'recorded rejected'
            : 'declared never placed';
  return {
    type: 'order.taken_back',
    summary:
      `${order.side} ${order.amount} ${order.symbol} (${order.purpose}, ${order.clientOrderId}) was ${was}, ` +
      `but the exchange has it (${remote.status}, filled ${remote.filled}): taken back, its fills count.${change}`,
    data: {
      positionBefore,
      positionAfter,
      clientOrderId: order.clientOrderId,
      exchangeOrderId: remote.id,
      symbol: order.symbol,
      side: order.side,
      amount: order.amount,
      purpose: order.purpose,
      status: remote.status,
      filled: remote.filled,
    },
  };
}

/**
 * An acknowledged order the exchange no longer shows (not among its open orders, not found by a lookup), settled
 * from its fills (absent-order.ts): `after` is the order as settled. A risk alert: the order ended without the
 * exchange saying how, and the position follows its fills.
 */
export function settledAbsentEvent(after: LocalOrder, from: LocalOrder['status']): EventDraft {
  return {
    type: 'order.settled_absent',
    summary:
      `${after.side} ${after.amount} ${after.symbol} (${after.purpose}, ${after.clientOrderId}) is no longer on the ` +
      `exchange (not among its open orders, not found by a lookup): settled from its fills as ${after.status}, ` +
      `filled ${readable(after.filled)} of ${readable(after.amount)}`,
    data: orderChangeData(after, from),
  };
}

/**
 * A finished order whose missing fills were booked from its own answer (fills-from-order.ts): `fill` is the fill
 * booked, `why` why its trades were not read. A risk alert: the fee is not known, the operator may check it.
 */
export function fillsFromAnswerEvent(
  order: LocalOrder,
  fill: Fill,
  why: string,
  feeEstimated: boolean,
): EventDraft {
  return {
    type: 'order.fills_from_answer',
    summary:
      `${order.symbol}: ${order.side} ${readable(order.amount)} (${order.purpose}, ${order.clientOrderId}) ` +
      `${order.status} with ${readable(order.filled)} filled, but ${why}: ${readable(fill.amount)} booked at ` +
      `${readable(fill.price)} from the order's answer (average ${readable(order.averagePrice ?? fill.price)}), its ` +
      `fee ${readable(fill.feeCost)} ${fill.feeCurrency} ` +
      `${feeEstimated ? "estimated at the market's taker rate (the answer does not say it)" : 'as the answer says it'}. ` +
      `The symbol trades again, its stop-loss included`,
    data: {
      symbol: order.symbol,
      clientOrderId: order.clientOrderId,
      exchangeOrderId: order.exchangeOrderId,
      side: order.side,
      amount: order.amount,
      filled: order.filled,
      averagePrice: order.averagePrice,
      booked: fill.amount,
      price: fill.price,
      fee: fill.feeCost,
      feeCurrency: fill.feeCurrency,
      feeEstimated,
      reason: why,
    },
  };
}

/**
 * An order whose fate the bot cannot tell — ended on our inference and the balance moved as if it was carried out
 * (inferred-orders.ts), or with an unknown outcome the exchange's reads cannot decide (OrderManager.resolveUnknown) —
 * is in doubt: its symbol places nothing, stop-loss included, until it is found or the operator settles it (/settle).
 * `what` says how it came to be in doubt; `extra` goes into the event's data.
 */
export function inDoubtEvent(o: LocalOrder, what: string, extra: Record<string, unknown> = {}): EventDraft {
  return {
    type: 'order.in_doubt',
    summary:
      `${o.symbol}: ${o.side} ${readable(o.amount)} (${o.purpose}, ${o.clientOrderId}) ${what}. Nothing is placed ` +
      `on ${o.symbol} (its stop-loss included) until the order is found (it is looked up again) or you settle it ` +
      `from the exchange's open orders and history: ${settleCommands(o)}`,
    data: {
      symbol: o.symbol,
      clientOrderId: o.clientOrderId,
      side: o.side,
      amount: o.amount,
      purpose: o.purpose,
      ...extra,
    },
  };
}

/** What an order's status-change event carries: the order as it is now, and the status it came from. */
function orderChangeData(after: LocalOrder, from: LocalOrder['status']) {
  return {
    clientOrderId: after.clientOrderId,
    exchangeOrderId: after.exchangeOrderId,
    symbol: after.symbol,
    side: after.side,
    type: after.type,
    amount: after.amount,
    filled: after.filled,
    averagePrice: after.averagePrice,
    purpose: after.purpose,
    status: after.status,
    from,
  };
}

/** The events an order status change reports (pure: computed before the commit that records them). */
export function statusChangeEvents(before: LocalOrder, after: LocalOrder): EventDraft[] {
  const data = orderChangeData(after, before.status);
  const what = `${after.side} ${after.amount} ${after.symbol} (${after.purpose}, ${after.clientOrderId})`;
  const events: EventDraft[] = [];
  if ((before.status === 'intent' || before.status === 'unknown') && after.status !== 'rejected') {
    events.push({ type: 'order.placed', summary: `Order placed: ${what}`, data });
  }
  if (after.status === 'filled' && before.status !== 'filled') {
    events.push({
      type: 'order.filled',
      summary: `Order filled: ${what} at ${after.averagePrice === undefined ? '?' : readable(after.averagePrice)}`,
      data,
    });
  } else if (after.status === 'partially_filled' && after.filled > before.filled) {
    events.push({
      type: 'order.partially_filled',
      summary: `Order partially filled: ${what} ${after.filled}/${after.amount}`,
      data,
    });
  } else if (
    (after.status === 'cancelled' || after.status === 'expired') &&
    before.status !== after.status &&
    after.selfTrade !== undefined
  ) {
    events.push(selfTradeEvent(after, what, data));
  } else if ((after.status === 'cancelled' || after.status === 'expired') && before.status !== after.status) {
    events.push({
      type: 'order.cancelled',
      summary: `Order ${after.status}: ${what}, filled ${after.filled}`,
      data,
    });
  } else if (after.status === 'rejected' && before.status !== 'rejected') {
    events.push({ type: 'order.rejected', summary: `Order rejected by the exchange: ${what}`, data });
  }
  return events;
}

/**
 * An order the exchange ended by self-trade prevention (pure): it would have traded against a resting order of the
 * same account — one the owner placed by hand, or another bot on the same key or account. Said as that, with what to
 * do, not as a bare "expired": the exchange will do it again while that order rests.
 */
function selfTradeEvent(after: LocalOrder, what: string, data: Record<string, unknown>): EventDraft {
  const next = isProtectiveExit(after.purpose)
    ? 'it is tried again after its refusal backoff, and ended the same way while that order rests'
    : after.purpose === 'exit'
      ? 'the strategy exit is placed again while its signal stands'
      : 'the entry is not placed again on this signal';
  return {
    type: 'order.self_trade',
    summary:
      `Order ${after.status} by the exchange's self-trade prevention: ${what}, filled ${after.filled}. It would ` +
      `have traded against another order of this same account on ${after.symbol} (${after.selfTrade}). Cancel ` +
      `the account's own ${after.side === 'sell' ? 'buy' : 'sell'} order on ${after.symbol} (placed by hand or by ` +
      `another bot on this account), or run the bot on an account of its own; ${next}.`,
    data: { ...data, selfTrade: after.selfTrade },
  };
}

/** The events a change of one symbol's position reports: opened, or closed with its PnL (pure). */
export function positionChangeEvents(
  symbol: string,
  market: Market | undefined,
  before: PositionBook | undefined,
  after: PositionBook | undefined,
  /** The price of the fill that made the change: dust worth less than the minimum order value there is no position. */
  price: number | undefined,
): EventDraft[] {
  const wasOpen = !!before && isOpenPosition(before.amount, market, price);
  const isOpen = !!after && isOpenPosition(after.amount, market, price);
  if (!wasOpen && isOpen && after) {
    const entry = after.amount > 0 ? after.costBasis / after.amount : 0;
    return [
      {
        type: 'position.opened',
        // the cost per unit includes the buy fees (what the position cost); "Order filled" tells the fill price
        summary: `Position opened: ${readable(after.amount)} ${symbol}, cost ${readable(entry)} per unit (fees included)`,
        data: { symbol, amount: after.amount, averageEntryPrice: entry },
      },
    ];
  }
  if (wasOpen && !isOpen && after) {
    const pnl = after.tripRealizedPnl;
    return [
      {
        type: 'position.closed',
        summary: `Position closed: ${symbol}, PnL ${pnl >= 0 ? '+' : ''}${pnl.toFixed(2)}`,
        data: { symbol, realizedPnl: pnl, feesPaid: after.feesPaid, remaining: after.amount },
      },
    ];
  }
  return [];
}

/** A price or amount for a human: float noise cut off (62035.53999999999 → 62035.54), up to 10 significant digits. */
export function readable(value: number): string {
  return String(Number(value.toPrecision(10)));
}
