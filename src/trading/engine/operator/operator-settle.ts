/**
 * The operator's word on an order whose fate the bot cannot tell — /settle:
 * - one that ended on our inference (never-placed-recheck.ts `endedByInference`: declared never placed, or settled as
 *   absent), which holds its symbol while the balance shows it may have been carried out (inferred-orders.ts);
 * - one `unknown` (its create unanswered) in doubt: its lookups missed over the not-found window and the exchange's
 *   other reads cannot rule it out (unknown-order-evidence.ts `unexplained`), which holds its symbol as unknown;
 * - one acknowledged that the exchange no longer shows, in doubt: its reads cannot settle it (its trades beyond the
 *   exchange's history, or a day of failed tries: absent-orders.ts), which holds its symbol as working.
 * When the exchange's lookups never find it, only the operator, reading the exchange's order history, can end the
 * question:
 *
 * - `not-carried-out`: the exchange did nothing beyond the fills booked. The order keeps its status and fills; an
 *   unknown one ends `rejected` (never placed), an absent one `cancelled` with the fills booked.
 * - `carried-out` with the amount the history shows executed and its average price: the part beyond the booked fills
 *   is booked as one fill of the order (`OPERATOR_TRADE_ID_PREFIX`), placed after the symbol's last fill like a
 *   write-off (held-balance.ts `writeOffPlace`); the order ends `filled` (all of it) or `cancelled` (part of it).
 *   Its fee (fills-from-order.ts `feeOfRest`): the one the operator gives (in the base or quote coin), else the
 *   order's last answer's (in those coins), less what the booked fills paid; neither → estimated at the market's taker
 *   rate in the coin received (never 0: a buy booked gross would let the exit sell the owner's coins).
 *
 * Either ends the order's question (`operatorSettled`): no more lookups, no hold. Decisions here are pure; the shell
 * (`settleOrder`) commits the order with its events.
 */
import { amountTolerance } from '../../exchange/precision';
import type { Market } from '../../exchange/exchange';
import { answerFeesOf, feeOfRest, priceOfRest } from '../books/fills-from-order';
import { positionsOf } from '../books/fill-sync';
import { writeOffPlace } from '../decide/held-balance';
import { RECHECK_HORIZON_MS, endedByInference, stillRechecked } from '../orders/never-placed-recheck';
import { positionChangeEvents, readable, type EventDraft } from '../orders/order-events';
import type { OrderAnswers } from '../orders/order-answers';
import type { OrderBook } from '../orders/order-book';
import type { OrderManager } from '../orders/order-manager';
import type { OrderRecheck } from '../orders/order-recheck';
import {
  changedByExchange,
  fillsComplete,
  isFinal,
  type LocalOrder,
  type OperatorOutcome,
} from '../orders/order-state';
import { splitSymbol, type Fill, type PositionBook } from '../books/pnl';
import type { StateGateway } from '../state/state-gateway';

/** The trade id of the fill an operator's `carried-out` books: never one of the exchange's (they are digits or uuids). */
export const OPERATOR_TRADE_ID_PREFIX = 'operator-';

export interface SettleRequest {
  clientOrderId: string;
  outcome: OperatorOutcome;
  /** With `carried-out`: the order's whole executed amount as the exchange's history shows it (base). */
  executed?: number;
  /** With `carried-out`: its average price. */
  averagePrice?: number;
  /** With `carried-out`, optional: its fee, in the symbol's base or quote coin. */
  fee?: { cost: number; currency: string };
}

export type SettleDecision = { ok: true; order: LocalOrder } | { ok: false; refusal: string };

export interface SettleContext {
  now: number;
  /** Where the booked fill goes among the symbol's fills (held-balance.ts `writeOffPlace`). */
  place: { at: number; afterTradeId: string | undefined };
  /** The market's taker fee rate (Market `takerFee`), for a fee neither the operator nor the answer says. */
  takerFee?: number;
  /** The coin the exchange takes a buy's fee in (ExchangeTraits `buyFeeCoin`). */
  buyFeeCoin: 'base' | 'quote';
}

/** The order as the operator settles it, or why that is refused (pure). */
export function settleByOperator(
  order: LocalOrder | undefined,
  req: SettleRequest,
  ctx: SettleContext,
): SettleDecision {
  const id = req.clientOrderId;
  if (!order) return refuse(`no order ${id} is in the bot's state: /settle lists the orders in question`);
  if (order.operatorSettled) {
    return refuse(`order ${id} was already settled by the operator (${order.operatorSettled.outcome})`);
  }
  const unknown = order.status === 'unknown' || order.status === 'intent';
  if (unknown && order.inDoubtAt === undefined) {
    return refuse(
      `order ${id}'s outcome is still being looked up (its create had no answer): nothing to settle unless it ` +
        `goes in doubt (an alert says so)`,
    );
  }
  // acknowledged, no longer shown by the exchange, and its reads cannot settle it (absent-orders.ts)
  const absent = !unknown && !isFinal(order.status);
  if (absent && order.inDoubtAt === undefined) {
    return refuse(
      `order ${id} is ${order.status} on the exchange as the bot knows it: its own answers settle it, nothing to ` +
        `settle unless it goes in doubt (an alert says so)`,
    );
  }
  // finished, its missing fills neither readable nor priced from its answer (fill-sync.ts), in doubt
  const fillsMissing =
    !unknown && !absent && !endedByInference(order) && order.inDoubtAt !== undefined && !fillsComplete(order);
  if (!unknown && !absent && !fillsMissing && !endedByInference(order)) {
    return refuse(
      `order ${id} (${order.status}) did not end on the bot's inference: the exchange's own answer stands, ` +
        `nothing to settle`,
    );
  }
  if (
    !unknown &&
    !absent &&
    !fillsMissing &&
    !stillRechecked(order, { horizonMs: RECHECK_HORIZON_MS }, ctx.now)
  ) {
    return refuse(
      `order ${id} is no longer in question (it ended on the bot's inference over a day ago and no balance ` +
        `reading showed it carried out): nothing to settle`,
    );
  }
  const operatorSettled = { at: ctx.now, outcome: req.outcome };
  const booked = order.fills.reduce((sum, f) => sum + f.amount, 0);
  const tolerance = amountTolerance(order.amount);
  if (req.outcome === 'not-carried-out') {
    if (req.executed !== undefined || req.averagePrice !== undefined || req.fee !== undefined) {
      return refuse('an order not carried out takes no amount, price or fee');
    }
    if (booked < order.filled - tolerance) {
      return refuse(
        `the exchange answered order ${id} as ${readable(order.filled)} filled, more than the ` +
          `${readable(booked)} its fills booked: settle it with the executed amount and average price its ` +
          `history shows (filled <amount> <average price>)`,
      );
    }
    return {
      ok: true,
      order: {
        ...order,
        // an unknown order not carried out was never placed (declaredNeverPlaced, settled: looked up for a day); an
        // absent one ended with the fills booked
        ...(unknown ? { status: 'rejected' as const } : {}),
        ...(absent ? { status: 'cancelled' as const } : {}),
        inDoubtAt: undefined,
        operatorSettled,
        error: unknown ? 'never placed: settled by the operator' : undefined,
        updatedAt: ctx.now,
      },
    };
  }
  const { executed, averagePrice } = req;
  if (executed === undefined || !Number.isFinite(executed) || executed <= 0) {
    return refuse('the executed amount must be a number above 0 (none: use "none")');
  }
  if (averagePrice === undefined || !Number.isFinite(averagePrice) || averagePrice <= 0) {
    return refuse('the average price must be a number above 0');
  }
  const { base, quote } = splitSymbol(order.symbol);
  if (req.fee && req.fee.currency !== base && req.fee.currency !== quote) {
    return refuse(
      `the fee can be given in ${base} or ${quote} only (a fee paid in ${req.fee.currency}: give none, and the ` +
        `rest's fee is taken from the order's answer or estimated)`,
    );
  }
  if (executed > order.amount + tolerance) {
    return refuse(
      `the executed amount ${readable(executed)} is more than the order's ${readable(order.amount)}`,
    );
  }
  if (executed < order.filled - tolerance) {
    return refuse(
      `the executed amount ${readable(executed)} is less than the ${readable(order.filled)} already booked ` +
        `from the exchange's fills`,
    );
  }
  // beyond the fills booked, not beyond `filled`: an absent order's last answer may say more filled than its fills
  // read (review 29b: the rest was booked short of it, then the trades read later beside it)
  const extra = executed - booked;
  if (req.fee && extra <= tolerance) {
    return refuse(
      `nothing executed beyond the ${readable(booked)} booked: there is no fill to put the fee on`,
    );
  }
  const fills =
    extra > tolerance
      ? [...order.fills, operatorFill(order, req, extra, executed, averagePrice, ctx)]
      : order.fills;
  return {
    ok: true,
    order: {
      ...order,
      status: executed >= order.amount - tolerance ? 'filled' : 'cancelled',
      filled: Math.max(order.filled, executed),
      averagePrice,
      fills,
      inDoubtAt: undefined,
      // a finished order the exchange answers for: its fills booked, nothing inferred to look up again (the recheck
      // would take it back from the same answer, its trades still unreadable)
      operatorSettled: fillsMissing ? undefined : operatorSettled,
      error: undefined,
      lookupMisses: undefined,
      updatedAt: ctx.now,
    },
  };
}

/** The executed part beyond the booked fills, at the price that makes the whole order's average the operator's. */
function operatorFill(
  order: LocalOrder,
  req: SettleRequest,
  amount: number,
  executed: number,
  averagePrice: number,
  ctx: SettleContext,
): Fill {
  const price = priceOfRest(order.fills, executed, averagePrice);
  const { base, quote } = splitSymbol(order.symbol);
  // the answer's fees in a third coin (BNB) are not taken here: no price values them; the estimate errs high instead
  // the operator's fee is the whole order's (it covers all it executed); the answer's, what it was said for
  const answered = answerFeesOf(order);
  const fees = req.fee
    ? [req.fee]
    : answered?.fees.filter((f) => f.currency === base || f.currency === quote);
  const known = fees?.length ? { fees, covers: req.fee ? executed : answered!.covers } : undefined;
  const fee = feeOfRest(order, amount, price, known, ctx.takerFee, ctx.buyFeeCoin);
  return {
    orderId: order.exchangeOrderId ?? '',
    clientOrderId: order.clientOrderId,
    tradeId: `${OPERATOR_TRADE_ID_PREFIX}${order.clientOrderId}`,
    symbol: order.symbol,
    side: order.side,
    price,
    amount,
    // the history's fee is the whole order's: what its booked fills paid in that coin is counted already
    feeCost: fee.cost,
    feeCurrency: fee.currency,
    timestamp: ctx.place.at,
    ...(ctx.place.afterTradeId === undefined ? {} : { afterTradeId: ctx.place.afterTradeId }),
  };
}

/** The fill an operator's `carried-out` booked (its trade id is never the exchange's). */
export function isOperatorFill(fill: Pick<Fill, 'tradeId'>): boolean {
  return fill.tradeId.startsWith(OPERATOR_TRADE_ID_PREFIX);
}

function refuse(refusal: string): SettleDecision {
  return { ok: false, refusal };
}

/** The `order.operator_settled` event and the position events of an order the operator settled. */
export function operatorSettledEvents(
  before: LocalOrder,
  after: LocalOrder,
  market: Market | undefined,
  positions: { before: PositionBook | undefined; after: PositionBook | undefined },
): EventDraft[] {
  // a finished order whose missing fills were booked keeps no operatorSettled (settleByOperator): carried out
  const outcome = after.operatorSettled?.outcome ?? 'carried-out';
  const what =
    outcome === 'carried-out'
      ? `carried out: ${readable(after.filled)} at ${readable(after.averagePrice ?? 0)} booked`
      : `not carried out beyond the ${readable(before.filled)} booked`;
  return [
    {
      type: 'order.operator_settled',
      summary:
        `${before.symbol}: ${before.side} ${readable(before.amount)} (${before.purpose}, ${before.clientOrderId}) ` +
        `settled by the operator as ${what}. Its symbol is no longer held by it`,
      data: {
        symbol: before.symbol,
        clientOrderId: before.clientOrderId,
        side: before.side,
        amount: before.amount,
        outcome,
        filled: after.filled,
        averagePrice: after.averagePrice,
        position: positions.after?.amount ?? 0,
      },
    },
    ...positionChangeEvents(before.symbol, market, positions.before, positions.after, after.averagePrice),
  ];
}

/**
 * Settles an order on the operator's word (the I/O shell: run it between ticks, TradingLoop.settleOrder): commits
 * the order with its events. Returns the settled order, or the refusal.
 */
export async function settleOrder(
  {
    orderBook,
    manager,
    state,
    answers,
    rechecks,
  }: {
    /** The orders' reads (the order as it is now, positions, markets). */
    orderBook: Pick<OrderBook, 'order' | 'hotOrders' | 'positions' | 'markets' | 'fillOrder' | 'buyFeeCoin'>;
    /** A create still on its way (its answer decides). */
    manager: Pick<OrderManager, 'isCreatePending'>;
    /** The state's gateway: the order read, and committed settled with its events. */
    state: Pick<StateGateway, 'data' | 'commitOrder'>;
    /** The exchange's answer applied to an order it shows when asked once more. */
    answers: Pick<OrderAnswers, 'apply'>;
    /** The exchange asked once more (by client order id); an order ended on our inference taken back. */
    rechecks: Pick<OrderRecheck, 'findOnExchange' | 'takeBack'>;
  },
  req: SettleRequest,
  now: number,
  exchangeNow: number,
): Promise<SettleDecision> {
  const order = state.data.orders[req.clientOrderId];
  const place = order
    ? writeOffPlace(
        order.symbol,
        orderBook.hotOrders().flatMap((o) => o.fills),
        exchangeNow,
        orderBook.fillOrder,
        orderBook.positions()[order.symbol]?.lastTradeId,
      )
    : { at: exchangeNow, afterTradeId: undefined };
  const takerFee = order ? orderBook.markets[order.symbol]?.takerFee : undefined;
  const decision = settleByOperator(order, req, {
    now,
    place,
    takerFee,
    buyFeeCoin: orderBook.buyFeeCoin,
  });
  if (!decision.ok || !order) return decision;
  const unknown = order.status === 'unknown' || order.status === 'intent';
  // not final and not unknown: acknowledged, no longer shown, in doubt (its answer, when found, is simply applied)
  // finished, its fills missing: the exchange answers for it (its answer stands; only its trades are unreadable)
  const fillsMissing = isFinal(order.status) && !fillsComplete(order) && !endedByInference(order);
  const answered = unknown || !isFinal(order.status) || fillsMissing;
  if (unknown && manager.isCreatePending(order.clientOrderId)) {
    return refuse(
      `order ${order.clientOrderId}'s create is still on its way to the exchange: its answer decides, try later`,
    );
  }
  // the exchange is asked once more first: its answer beats the operator's reading (an order still open is in no
  // order history; a lookup that lagged may answer now) — unless it no longer lists the symbol: no read of it can
  // answer then (ccxt refuses them all), only the exchange's history the operator reads
  const listed = orderBook.markets[order.symbol] !== undefined;
  const remote = listed ? await rechecks.findOnExchange(order.clientOrderId) : null;
  // a finished order shown as the bot knows it: its missing fills are what the operator books
  if (remote && !(fillsMissing && !changedByExchange(order, remote))) {
    // an unknown or absent order found is simply answered for; one that ended on our inference is taken back
    const after = answered
      ? await answers.apply(order.clientOrderId, remote).then(() => orderBook.order(order.clientOrderId)!)
      : await rechecks.takeBack(order.clientOrderId, remote);
    return refuse(
      `the exchange shows order ${order.clientOrderId} now (${after.status}, ${readable(after.filled)} filled): ` +
        `${answered ? 'its answer applied' : 'taken back from its answer'} instead, nothing settled`,
    );
  }
  // read again: the order may have changed during the lookup (a late create answer)
  if (orderBook.order(order.clientOrderId) !== order) {
    return refuse(
      `order ${order.clientOrderId} changed while the exchange was asked: list it again (/settle)`,
    );
  }
  const positions = {
    before: positionsOf(state.data, orderBook.markets, orderBook.fillOrder)[order.symbol],
    after: positionsOf(state.data, orderBook.markets, orderBook.fillOrder, decision.order)[order.symbol],
  };
  await state.commitOrder(
    decision.order,
    operatorSettledEvents(order, decision.order, orderBook.markets[order.symbol], positions),
  );
  return decision;
}
