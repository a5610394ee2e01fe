/**
 * A finished order whose trades its reads never bring (pure): the exchange answered the order as filled (all or part)
 * with its average price, but the trade list read by its id adds up to less — the order was created before what the
 * list reaches (OKX fills-history: 3 months; after a long outage), or the list keeps missing some. Its symbol places
 * nothing while its fills are missing (placement-gate.ts `fills-missing`: the position is not known without them),
 * its stop-loss included; waiting for ever would leave the position unprotected. So, once a successful trade read
 * still falls short:
 *
 * - beyond the list's reach (the order created within `HISTORY_EDGE_MS` of it or before) → at once;
 * - else after `FILLS_FROM_ORDER_AFTER_MS` with no new fill (the lists lag the matching engine by seconds, not
 *   minutes);
 *
 * the part not read is booked as ONE fill of the order from its own answer: the exchange's filled amount, at the
 * price that makes the order's average the exchange's `average` (a limit order without one: its limit price). Its fee
 * (`feeOfRest`) is the order's whole fee as its answer says it (OKX `fee`, Bybit `cumFeeDetail`) less what its booked
 * fills paid; what no answer's fee covers (Binance's order read says none; an answer from before the rest filled)
 * → estimated at the market's taker rate, in the coin received on a buy. Never 0 on a buy: all three exchanges take a buy's fee in the coin bought, so a position
 * booked gross would exceed what the account holds, and with the owner holding the coin too the exit would sell the
 * difference from the owner's coins (the shortfall watch cannot see it: the total covers the position).
 * The fill's trade id (`ORDER_ANSWER_TRADE_ID_PREFIX`) is never one of the exchange's. Its trades are not read again
 * while the order's fills are complete; should they be (the order's filled amount rises: taken back, settled final),
 * the trades read replace it, never count beside it (fill-sync.ts; order-recheck.ts `takeBack`).
 */
import type { FeePaid } from '../../exchange/exchange';
import { amountTolerance } from '../../exchange/precision';
import { HISTORY_EDGE_MS } from '../orders/absent-order';
import { fillsComplete, isFinal, type LocalOrder } from '../orders/order-state';
import { splitSymbol, type Fill } from './pnl';

/** How long a finished order's missing fills are waited for (no new fill) before its answer books them. */
export const FILLS_FROM_ORDER_AFTER_MS = 10 * 60_000;

/** The trade id of the fill booked from an order's answer: never one of the exchange's (digits or uuids). */
export const ORDER_ANSWER_TRADE_ID_PREFIX = 'order-answer-';

/** The fill booked from an order's answer (its trade id is never the exchange's). */
export function isOrderAnswerFill(fill: Pick<Fill, 'tradeId'>): boolean {
  return fill.tradeId.startsWith(ORDER_ANSWER_TRADE_ID_PREFIX);
}

export type FillsFromOrder =
  /** Nothing to book: not finished, fills complete, or still waited for. */
  | { kind: 'none' }
  /** Book `amount` at `price` as one fill; `why` for the alert and the log. */
  | { kind: 'book'; amount: number; price: number; why: string }
  /** Missing fills the answer cannot price (a market order answered without its average): stays held. */
  | { kind: 'unpriced'; reason: string };

/**
 * What to book for `order`'s fills still missing after a trade read that fell short, `now` (the local clock:
 * `updatedAt` is on it); `reachMs`: how far back the exchange's trade list reaches (undefined: no documented horizon).
 */
export function fillsFromOrder(order: LocalOrder, now: number, reachMs?: number): FillsFromOrder {
  if (!isFinal(order.status) || fillsComplete(order)) return { kind: 'none' };
  const beyondReach = reachMs !== undefined && now - order.createdAt >= reachMs - HISTORY_EDGE_MS;
  if (!beyondReach && now - order.updatedAt < FILLS_FROM_ORDER_AFTER_MS) return { kind: 'none' };
  const booked = order.fills.reduce((s, f) => s + f.amount, 0);
  const amount = order.filled - booked;
  const average = order.averagePrice ?? (order.type === 'limit' ? order.price : undefined);
  const why = beyondReach
    ? `it was created ${Math.floor((now - order.createdAt) / 86_400_000)} days ago, beyond the ` +
      `${Math.floor(reachMs! / 86_400_000)} days the exchange's trade list reaches`
    : `its trades read add up to ${booked} of the ${order.filled} it filled, still short after ` +
      `${Math.round(FILLS_FROM_ORDER_AFTER_MS / 60_000)} minutes`;
  if (average === undefined || !(average > 0)) {
    return { kind: 'unpriced', reason: `${why}, and its answer has no average price to book them at` };
  }
  return { kind: 'book', amount, price: priceOfRest(order.fills, order.filled, average), why };
}

/**
 * The price of the part of an order beyond its booked `fills` that makes the whole (`executed` at `average`) come out
 * at `average` — for the fill booked from an order's answer, and for the one the operator's /settle books. Booked
 * fills at prices the average cannot make up (rounding in the figures, a mistyped average): the average itself.
 */
export function priceOfRest(
  fills: readonly Pick<Fill, 'amount' | 'price'>[],
  executed: number,
  average: number,
): number {
  const booked = fills.reduce((s, f) => s + f.amount, 0);
  const bookedValue = fills.reduce((s, f) => s + f.amount * f.price, 0);
  const rest = (executed * average - bookedValue) / (executed - booked);
  return Number.isFinite(rest) && rest > 0 ? rest : average;
}

/**
 * The taker rate a fee no answer says is estimated at when ccxt knows none for the market: twice the 0.1 % standard
 * spot taker rate of Binance, Bybit and OKX. Erring high on a buy leaves a little of the coin to the owner; erring low
 * would sell the owner's.
 */
export const ASSUMED_TAKER_FEE = 0.002;

/** The taker rate a fee is estimated at: the market's where ccxt knows it, else `ASSUMED_TAKER_FEE`. */
export function takerRate(takerFee: number | undefined): number {
  return takerFee !== undefined && takerFee >= 0 ? takerFee : ASSUMED_TAKER_FEE;
}

/** The fee of the part of an order beyond its booked fills; `estimated` when no answer said (all of) it. */
export interface RestFee extends FeePaid {
  estimated: boolean;
}

/**
 * The order's whole fee as an answer (or the operator) said it, one entry per coin, and how much of the order was
 * executed when it was said (`covers`): Binance's order read says no fee, so the fee kept from an earlier answer (the
 * create's FULL answer, for the part it filled at once) covers only that part; the operator's covers it all.
 */
export interface KnownFees {
  fees: readonly FeePaid[];
  covers: number;
}

/** The known fees an order's answers left (LocalOrder `answerFees`, for `answerFeesFilled` executed). */
export function answerFeesOf(
  order: Pick<LocalOrder, 'answerFees' | 'answerFeesFilled'>,
): KnownFees | undefined {
  if (!order.answerFees) return undefined;
  // kept before the executed amount was kept with them: covering nothing, the rest's fee is estimated on top (high)
  return { fees: order.answerFees, covers: order.answerFeesFilled ?? 0 };
}

/**
 * The fee of `amount` at `price` of `order` beyond its booked fills (pure), for the fill booked from the order's answer
 * and the operator's /settle fill. `known`: the order's fee as the exchange (or the operator) gave it → the one in the
 * coin a buy receives (base) or a sell receives (quote) first, else the symbol's other coin, else a third coin (BNB:
 * valued like a trade's), less what the booked fills paid in that coin (never below 0). The part of the order `known`
 * does not cover (executed after the answer that said it) and an order no answer gave a fee for → estimated at
 * `takerFee` (the market's, else `ASSUMED_TAKER_FEE`) in the coin the exchange charges (ExchangeTraits `buyFeeCoin` on
 * a buy; the quote on a sell), added to the known part when in the same coin; in another coin (a third coin known,
 * the estimate in the coin bought) the estimate alone, for all of the uncovered part: the coin bought is what an exit
 * may sell, so it is never booked short.
 */
export function feeOfRest(
  order: Pick<LocalOrder, 'symbol' | 'side' | 'fills'>,
  amount: number,
  price: number,
  known: KnownFees | undefined,
  takerFee: number | undefined,
  buyFeeCoin: 'base' | 'quote',
): RestFee {
  const { base, quote } = splitSymbol(order.symbol);
  const received = order.side === 'buy' ? base : quote;
  const charged = order.side === 'buy' && buyFeeCoin === 'base' ? base : quote;
  const rate = takerRate(takerFee);
  const estimate = (part: number): FeePaid =>
    charged === base ? { cost: part * rate, currency: base } : { cost: part * price * rate, currency: quote };
  const given = (known?.fees ?? []).filter((f) => Number.isFinite(f.cost));
  const pick =
    given.find((f) => f.currency === received) ??
    given.find((f) => f.currency === base || f.currency === quote) ??
    given[0];
  if (!pick) return { ...estimate(amount), estimated: true };
  const paid = order.fills.reduce((sum, f) => sum + (f.feeCurrency === pick.currency ? f.feeCost : 0), 0);
  const knownPart = Math.max(0, pick.cost - paid);
  const executed = order.fills.reduce((sum, f) => sum + f.amount, 0) + amount;
  const uncovered = Math.min(amount, Math.max(0, executed - known!.covers));
  if (!(uncovered > amountTolerance(executed)))
    return { cost: knownPart, currency: pick.currency, estimated: false };
  const more = estimate(uncovered);
  return more.currency === pick.currency
    ? { cost: knownPart + more.cost, currency: pick.currency, estimated: true }
    : { ...more, estimated: true };
}
