/**
 * The paper exchange's matching engine, pure: every function takes the account (and the order, the market, the
 * quote or the price ranges, and `now`) and returns what changes — a new account, never a mutated argument — or
 * throws the refusal a real exchange would answer with. No file, no clock, no feed: `paper-exchange.ts` reads
 * those and stores what this returns.
 *
 * Prices: a market order fills at once at the quote ± slippage; a limit order fills at once (its first slice) when
 * it is marketable, else rests and fills at its limit in a later completed period whose range crossed it (at the
 * period's closing quote when still marketable then), at the period's end. Fees are charged in the quote currency
 * on every fill. An order worth more than `partialFillNotional` fills one slice per period.
 *
 * A resting order's fills come from the periods' own data only, never from when the account is looked at: the
 * running period is not matched (its range may still move), so the same price path gives the same fills whether
 * the bot looks every second, once a minute or only after a restart.
 */
import { InvalidOrderError, OrderNotFoundError } from '../../shared/errors';
import type { OrderSide } from '../../shared/domain/order';
import type { CreateOrderRequest, ExchangeOrder, Market, Ticker } from './exchange';
import { ceilToStep, floorToStep, lotOf, roundToStep } from './precision';
import {
  clean,
  credit,
  debit,
  freeOf,
  release,
  reserve,
  type PaperAccount,
  type PaperOrderRecord,
} from './paper-account';
import type { PriceRange } from './price-feed';

export interface MatchingRules {
  /** Fee per fill as a fraction of its cost, charged in the quote currency. */
  feeRate: number;
  /** Market orders fill this far beyond the quote (basis points). */
  slippageBps: number;
  /** Largest order value filled per period; a larger order fills in slices. */
  partialFillNotional: number;
  /** Closed orders kept for lookups (oldest dropped first); open orders are never dropped. */
  retainClosedOrders: number;
}

/** An order's size and limit on the market's grid, before any funds or quotes are looked at. */
export interface SizedOrder {
  amount: number;
  limitPrice?: number;
}

/** One slice of a resting order filled in one period. */
export interface RestingFill {
  orderId: string;
  amount: number;
  price: number;
  time: number;
  bucket: number;
}

/** What one matching pass found for one resting order. */
export interface RestingMatch {
  orderId: string;
  fills: RestingFill[];
  /** The last completed period now matched, when it moved on; periods up to it are never looked at again. */
  checkedBucket?: number;
}

/** Refuses a second create with a clientOrderId the account knows: what makes a repeated submit harmless. */
export function refuseDuplicate(account: PaperAccount, request: CreateOrderRequest): void {
  const orderId = account.byClientId[request.clientOrderId];
  if (orderId !== undefined) {
    throw new InvalidOrderError('duplicate clientOrderId', {
      ...orderContext(request),
      duplicate: true,
      orderId,
    });
  }
}

/**
 * Puts the order on the market's grid (amount floored to its order type's step, limit rounded) or refuses it: below
 * its order type's minimum (lotOf: a market order's own where the market lists one, as Binance's MARKET_LOT_SIZE).
 */
export function sizeOrder(request: CreateOrderRequest, market: Market): SizedOrder {
  const lot = lotOf(market, request.type);
  const amount = floorToStep(request.amount, lot.amountStep);
  if (!(amount > 0) || amount < lot.minAmount) {
    throw new InvalidOrderError(
      `amount ${request.amount} is below the minimum ${lot.minAmount}`,
      orderContext(request),
    );
  }
  refuseAboveMaximum(request, amount, market);
  if (request.type === 'market') return { amount };
  if (!(request.price !== undefined && request.price > 0)) {
    throw new InvalidOrderError('a limit order needs a positive price', orderContext(request));
  }
  return { amount, limitPrice: roundToStep(request.price, market.priceStep) };
}

/**
 * Refuses an order larger than the market's largest of its type, as Binance does (-1013): above the largest limit
 * order "Filter failure: LOT_SIZE" (LOT_SIZE maxQty binds every order), a market order above its own largest
 * "Filter failure: MARKET_LOT_SIZE". The engine sizes every order within them (precision.ts largestOrderAmount).
 */
function refuseAboveMaximum(request: CreateOrderRequest, amount: number, market: Market): void {
  const lot = market.maxOrder?.limit?.amount;
  const ofType = market.maxOrder?.[request.type]?.amount;
  const filter =
    lot !== undefined && amount > lot
      ? 'LOT_SIZE'
      : request.type === 'market' && ofType !== undefined && amount > ofType
        ? 'MARKET_LOT_SIZE'
        : undefined;
  if (filter === undefined) return;
  throw new InvalidOrderError(`Filter failure: ${filter}`, {
    ...orderContext(request),
    maxAmount: filter === 'LOT_SIZE' ? lot : ofType,
  });
}

/**
 * Takes a new order: checks its value and the funds (nothing changes when either fails), records it with its
 * reservation, fills what fills at once against `ticker`, and drops the oldest closed orders beyond retention.
 */
export function acceptOrder(
  account: PaperAccount,
  request: CreateOrderRequest,
  sized: SizedOrder,
  market: Market,
  ticker: Ticker,
  rules: MatchingRules,
  now: number,
  bucket: number,
): { account: PaperAccount; orderId: string } {
  const { side, type } = request;
  const { amount, limitPrice } = sized;
  const context = orderContext(request);
  const refPrice = limitPrice ?? (side === 'buy' ? ticker.ask : ticker.bid);
  if (amount * refPrice < market.minNotional) {
    throw new InvalidOrderError(
      `order value ${clean(amount * refPrice)} is below the minimum ${market.minNotional}`,
      context,
    );
  }
  const immediate = immediateFill(request, sized, market, ticker, rules);
  const reservation = reservationFor(side, amount, limitPrice, market, rules.feeRate);

  const next = draftOf(account);
  // the funds checks throw before the order is recorded, on drafts nobody else sees: nothing changes
  if (type === 'limit') reserve(next, reservation.currency, reservation.amount, context);
  else if (side === 'buy')
    debit(draftOf(account), market.quote, amount * (immediate?.price ?? 0) * (1 + rules.feeRate), context);
  else debit(draftOf(account), market.base, amount, context); // a check only: the fill below takes the funds

  const orderId = String(next.nextOrderId);
  next.nextOrderId += 1;
  const order: PaperOrderRecord = {
    id: orderId,
    clientOrderId: request.clientOrderId,
    symbol: request.symbol,
    side,
    type,
    price: limitPrice,
    amount,
    filled: 0,
    cost: 0,
    status: 'open',
    timestamp: now,
    reserved: { currency: reservation.currency, amount: type === 'limit' ? reservation.amount : 0 },
    checkedBucket: bucket,
    lastFillBucket: -1, // periods count from the epoch: every real one is later
    trades: [],
  };
  next.orders[orderId] = order;
  next.byClientId[request.clientOrderId] = orderId;
  if (immediate) applyFill(next, order, market, { ...immediate, time: now, bucket }, rules.feeRate);
  pruneClosed(next, rules.retainClosedOrders);
  return { account: next, orderId };
}

/**
 * The fills of one resting limit order over the price ranges of the periods since it was last matched, and the
 * period it is now matched up to (the one before `currentBucket`). Only completed periods fill, each at a price and
 * time of its own (its end): a range of the running period, whose quote is only what it is at the moment of the
 * look, is passed over and matched once complete. `reach`: rangeReach of the same ranges and bucket, when the caller
 * matches many orders over one list.
 */
export function matchRestingOrder(
  order: PaperOrderRecord,
  ranges: readonly PriceRange[],
  market: Market,
  rules: Pick<MatchingRules, 'partialFillNotional'>,
  currentBucket: number,
  reach: RangeReach = rangeReach(ranges, currentBucket),
): RestingMatch {
  const fills: RestingFill[] = [];
  const price = order.price ?? 0;
  // what is left to fill, worked out at the first crossing: most passes over a resting order find none
  let remaining: number | undefined;
  let lastFill = order.lastFillBucket;
  // no completed period reached its price: none crosses it, whatever its last fill (a NaN reach skips nothing)
  const unreached = order.side === 'buy' ? price < reach.lowestAsk : price > reach.highestBid;
  // by index: a start's pass over 1,000 resting orders runs in V8's interpreter, where a for-of made an iterator and
  // a result object per order, for a walk that is most often over no period at all
  const walked = unreached ? 0 : ranges.length;
  for (let i = 0; i < walked; i++) {
    const range = ranges[i];
    if (range.bucket <= lastFill) continue;
    if (range.bucket >= currentBucket) break; // the running period: its range is not final yet
    const crossed = order.side === 'buy' ? range.lowestAsk <= price : range.highestBid >= price;
    if (!crossed) continue;
    remaining ??= clean(order.amount - order.filled);
    if (remaining <= 0) break;
    // a resting order the market came down (up) to fills at its limit; one still marketable at the end of the
    // period (its limit beyond the period's closing quote) fills at that quote, as a taker would
    const fillPrice =
      order.side === 'buy'
        ? Math.min(price, ceilToStep(range.ask, market.priceStep))
        : Math.max(price, floorToStep(range.bid, market.priceStep));
    const amount = Math.min(remaining, sliceAmount(order.amount, price, market, rules.partialFillNotional));
    fills.push({
      orderId: order.id,
      amount,
      price: fillPrice,
      time: range.time,
      bucket: range.bucket,
    });
    remaining = clean(remaining - amount);
    lastFill = range.bucket;
  }
  const completed = currentBucket - 1;
  const match: RestingMatch = { orderId: order.id, fills };
  if (completed > order.checkedBucket) match.checkedBucket = completed;
  return match;
}

/** The lowest ask and the highest bid of the completed periods of a range list (rangeReach). */
export interface RangeReach {
  lowestAsk: number;
  highestBid: number;
}

/**
 * How far the completed periods of `ranges` (those before `currentBucket`, the ones matchRestingOrder looks at) reached:
 * a resting buy below their lowest ask, or a sell above their highest bid, is crossed by none of them. Worked out once
 * per range list, it spares every order the market did not reach a walk over each period: with 1,000 orders resting
 * far from the market, a paper start 15 minutes after their last matched period walked ~450 periods for each (main-
 * thread CPU to ready, median of 20 alternated starts: 219 → 212 ms; the candle replay itself, per symbol, is left).
 */
export function rangeReach(ranges: readonly PriceRange[], currentBucket: number): RangeReach {
  let lowestAsk = Infinity;
  let highestBid = -Infinity;
  for (const range of ranges) {
    if (range.bucket >= currentBucket) break;
    lowestAsk = Math.min(lowestAsk, range.lowestAsk);
    highestBid = Math.max(highestBid, range.highestBid);
  }
  return { lowestAsk, highestBid };
}

/** Applies a matching pass (fills, oldest order first, and the periods now matched); undefined when nothing changed. */
export function applyMatches(
  account: PaperAccount,
  matches: readonly RestingMatch[],
  markets: Readonly<Record<string, Market>>,
  rules: Pick<MatchingRules, 'feeRate' | 'retainClosedOrders'>,
): PaperAccount | undefined {
  if (matches.every((m) => m.fills.length === 0 && m.checkedBucket === undefined)) return undefined;
  const next = draftOf(account);
  for (const match of matches) {
    for (const fill of match.fills) {
      const order = touch(next, fill.orderId);
      applyFill(next, order, markets[order.symbol], fill, rules.feeRate);
    }
  }
  for (const match of matches) {
    if (match.checkedBucket !== undefined) touch(next, match.orderId).checkedBucket = match.checkedBucket;
  }
  pruneClosed(next, rules.retainClosedOrders);
  return next;
}

/**
 * A pass without fills: the records of the orders whose matched period moved on, as new records (the account's are
 * not changed). The caller puts them in place of the old ones; nothing else about the account changes.
 */
export function checkedPeriodsMoved(
  account: PaperAccount,
  matches: readonly RestingMatch[],
): PaperOrderRecord[] {
  const moved: PaperOrderRecord[] = [];
  for (const match of matches) {
    if (match.fills.length > 0)
      throw new Error(`order ${match.orderId} has fills: applyMatches applies them`);
    if (match.checkedBucket !== undefined)
      moved.push({ ...account.orders[match.orderId], checkedBucket: match.checkedBucket });
  }
  return moved;
}

/** Cancels an open order and gives its held funds back; only open orders can be cancelled. */
export function cancelOrder(account: PaperAccount, id: string, symbol: string): PaperAccount {
  const current = findOrder(account, id, symbol);
  if (current.status !== 'open') {
    // like Binance (-2011 "Unknown order sent."): only open orders can be cancelled
    throw new OrderNotFoundError('order is not open', { orderId: id, symbol, status: current.status });
  }
  const next = draftOf(account);
  const order = touch(next, id);
  release(next, order.reserved.currency, order.reserved.amount);
  order.reserved.amount = 0;
  order.status = 'canceled';
  return next;
}

/** The order `id` of `symbol`, or OrderNotFoundError (an id of another symbol is not found, as on an exchange). */
export function findOrder(account: PaperAccount, id: string, symbol: string): PaperOrderRecord {
  const order = account.orders[id];
  if (!order || order.symbol !== symbol)
    throw new OrderNotFoundError('order does not exist', { orderId: id, symbol });
  return order;
}

/** Open orders (of `symbol`, when given), oldest first (the order they were placed in). */
export function openOrders(account: PaperAccount, symbol?: string): PaperOrderRecord[] {
  return Object.values(account.orders)
    .filter((o) => o.status === 'open' && (symbol === undefined || o.symbol === symbol))
    .sort(byAge);
}

/** Every order of `symbol` the account keeps, oldest first. */
export function ordersOf(account: PaperAccount, symbol: string): PaperOrderRecord[] {
  return Object.values(account.orders)
    .filter((o) => o.symbol === symbol)
    .sort(byAge);
}

/**
 * `listed` — orders of the account, oldest first, listed before a matching pass — as the account holds them after it:
 * each order's record now (a pass replaces those it fills or moves on), those it pruned left out, and with `open`
 * only those still open. A pass opens no order and keeps each order's time and id, so this is the listing done again
 * (openOrders, ordersOf) without another sorted pass over every order the account keeps.
 */
export function listedNow(
  account: PaperAccount,
  listed: readonly PaperOrderRecord[],
  open = false,
): PaperOrderRecord[] {
  const now: PaperOrderRecord[] = [];
  for (const o of listed) {
    const record = account.orders[o.id];
    if (record !== undefined && (!open || record.status === 'open')) now.push(record);
  }
  return now;
}

/** The trades of every order on `symbol` at `since` or later, oldest first (ties: by trade id). */
export function symbolTrades(
  account: PaperAccount,
  symbol: string,
  since: number,
): PaperOrderRecord['trades'] {
  return Object.values(account.orders)
    .filter((o) => o.symbol === symbol)
    .flatMap((o) => o.trades.filter((t) => t.timestamp >= since))
    .sort((a, b) => a.timestamp - b.timestamp || Number(a.id) - Number(b.id) || (a.id < b.id ? -1 : 1));
}

/** Largest amount filled per period: all of it, unless its value exceeds `partialFillNotional`. */
export function sliceAmount(
  amount: number,
  price: number,
  market: Market,
  partialFillNotional: number,
): number {
  if (amount * price <= partialFillNotional) return amount;
  return Math.max(market.amountStep, floorToStep(partialFillNotional / price, market.amountStep));
}

export function toExchangeOrder(o: PaperOrderRecord): ExchangeOrder {
  return {
    id: o.id,
    clientOrderId: o.clientOrderId,
    symbol: o.symbol,
    side: o.side,
    type: o.type,
    price: o.price,
    amount: o.amount,
    filled: o.filled,
    remaining: clean(o.amount - o.filled),
    average: o.filled > 0 ? clean(o.cost / o.filled) : undefined,
    status: o.status,
    timestamp: o.timestamp,
    trades: o.trades.map((t) => ({ ...t, fee: { ...t.fee } })),
    // the order's whole fee per coin, as OKX's and Bybit's order answers say it
    ...(o.trades.length > 0 ? { fees: feesByCoin(o.trades.map((t) => t.fee)) } : {}),
  };
}

function feesByCoin(
  fees: readonly { cost: number; currency: string }[],
): { cost: number; currency: string }[] {
  const by = new Map<string, number>();
  for (const f of fees) by.set(f.currency, (by.get(f.currency) ?? 0) + f.cost);
  return [...by].map(([currency, cost]) => ({ cost: clean(cost), currency }));
}

// --- inside a transition: these change the draft the transition owns ------------------------------------------

/** What fills the moment the order arrives: the whole market order at the quote ± slippage, or a marketable limit's first slice. */
function immediateFill(
  request: CreateOrderRequest,
  sized: SizedOrder,
  market: Market,
  ticker: Ticker,
  rules: MatchingRules,
): { amount: number; price: number } | undefined {
  const { side } = request;
  const { amount, limitPrice } = sized;
  if (limitPrice === undefined) {
    const slip = rules.slippageBps / 10_000;
    const price =
      side === 'buy'
        ? ceilToStep(ticker.ask * (1 + slip), market.priceStep)
        : floorToStep(ticker.bid * (1 - slip), market.priceStep);
    return { amount, price };
  }
  if (side === 'buy' ? ticker.ask <= limitPrice : ticker.bid >= limitPrice) {
    const price =
      side === 'buy' ? ceilToStep(ticker.ask, market.priceStep) : floorToStep(ticker.bid, market.priceStep);
    return { amount: sliceAmount(amount, limitPrice, market, rules.partialFillNotional), price };
  }
  return undefined;
}

/** Applies one fill to the order and the balances (fee in quote currency). Never throws. */
function applyFill(
  d: PaperAccount,
  order: PaperOrderRecord,
  market: Market,
  fill: Omit<RestingFill, 'orderId'>,
  feeRate: number,
): void {
  const { amount, price } = fill;
  const cost = clean(amount * price);
  const fee = clean(cost * feeRate);
  const remainingBefore = clean(order.amount - order.filled);
  if (order.type === 'limit' && order.reserved.amount > 0) {
    const share = remainingBefore > 0 ? Math.min(1, amount / remainingBefore) : 1;
    const back = clean(order.reserved.amount * share);
    release(d, order.reserved.currency, back);
    order.reserved.amount = clean(order.reserved.amount - back);
  }
  if (order.side === 'buy') {
    // the funds were checked (or reserved) before: never below zero beyond float noise
    d.balances[market.quote].free = clean(Math.max(0, freeOf(d, market.quote) - cost - fee));
    credit(d, market.base, amount);
  } else {
    d.balances[market.base].free = clean(Math.max(0, freeOf(d, market.base) - amount));
    credit(d, market.quote, cost - fee);
  }
  order.trades.push({
    id: String(d.nextTradeId),
    orderId: order.id,
    symbol: order.symbol,
    side: order.side,
    price,
    amount,
    cost,
    fee: { cost: fee, currency: market.quote },
    timestamp: fill.time,
  });
  d.nextTradeId += 1;
  order.filled = clean(order.filled + amount);
  order.cost = clean(order.cost + cost);
  order.lastFillBucket = fill.bucket;
  if (order.filled >= order.amount - 1e-12) {
    order.status = 'closed';
    if (order.reserved.amount > 0) release(d, order.reserved.currency, order.reserved.amount);
    order.reserved.amount = 0;
  }
}

/**
 * Keeps the `keep` most recently closed orders: by their last fill (a cancelled order without one, by when it was
 * placed). By id, an old resting order that filled after `keep` newer ones had closed was deleted in the very step
 * that filled it, and its lookup answered "order does not exist" for an order that had filled.
 */
function pruneClosed(d: PaperAccount, keep: number): void {
  const closed = Object.values(d.orders).filter((o) => o.status !== 'open');
  if (closed.length <= keep) return;
  closed.sort((a, b) => closedAt(a) - closedAt(b) || Number(a.id) - Number(b.id));
  for (const o of closed.slice(0, closed.length - keep)) {
    delete d.orders[o.id];
    delete d.byClientId[o.clientOrderId];
  }
}

function closedAt(o: PaperOrderRecord): number {
  return o.trades.length > 0 ? o.trades[o.trades.length - 1]!.timestamp : o.timestamp;
}

function reservationFor(
  side: OrderSide,
  amount: number,
  limitPrice: number | undefined,
  market: Market,
  feeRate: number,
): { currency: string; amount: number } {
  if (side === 'buy')
    return { currency: market.quote, amount: clean(amount * (limitPrice ?? 0) * (1 + feeRate)) };
  return { currency: market.base, amount };
}

/**
 * A copy the transition may change: balances and the two maps are new, orders are shared until `touch` copies
 * the one being changed (a full copy of up to `retainClosedOrders` orders per call would cost more than the match).
 */
function draftOf(account: PaperAccount): PaperAccount {
  return {
    ...account,
    balances: structuredClone(account.balances),
    orders: { ...account.orders },
    byClientId: { ...account.byClientId },
  };
}

/** Per draft, the ids of the orders already copied into it: the rest of the same transition changes those in place. */
const copiedOrders = new WeakMap<PaperAccount, Set<string>>();

/**
 * The draft's own copy of order `id`: what a transition changes in an order is its fields, its `reserved` and its
 * trade list (a trade is appended, never changed), so those are copied and the trades themselves shared.
 */
function touch(draft: PaperAccount, id: string): PaperOrderRecord {
  let copied = copiedOrders.get(draft);
  if (!copied) copiedOrders.set(draft, (copied = new Set()));
  if (!copied.has(id)) {
    const order = draft.orders[id];
    draft.orders[id] = { ...order, reserved: { ...order.reserved }, trades: [...order.trades] };
    copied.add(id);
  }
  return draft.orders[id];
}

function byAge(a: PaperOrderRecord, b: PaperOrderRecord): number {
  return a.timestamp - b.timestamp || Number(a.id) - Number(b.id);
}

/** What a refusal of this request carries as its context. */
export function orderContext(request: CreateOrderRequest): Record<string, unknown> {
  const { symbol, side, type, amount, price, clientOrderId } = request;
  return { symbol, side, type, amount, price, clientOrderId };
}
