/**
 * What the account holds against the bot's positions (pure). The bot's position is what its own fills say; the
 * account can hold less of the coin: Binance takes the fees of other pairs from the account's BNB ("pay fees with
 * BNB"), the owner withdraws or sells some by hand, an exchange takes a fee the bot did not see. Then:
 * - an exit never asks for more than the account can sell (`exitable`): the coin's free balance plus what the
 *   bot's own sells of the symbol lock (an exit cancels them first), never above the position — the owner's coins
 *   are never sold, and a full exit the exchange refuses for insufficient balance forever is not placed;
 * - a shortfall (`shortfallsOf`) is the part of a position the account does not hold, beyond one amount step;
 *   when it is sold, the missing part leaves the position as a write-off (`writeOffFills`).
 */
import type { BalanceEntry, Market } from '../../exchange/exchange';
import { isFinal, type LocalOrder } from '../orders/order-state';
import {
  FEES_IN_COIN_TRADE_ID,
  feeNeedsValuation,
  sequenceAfter,
  splitSymbol,
  type FeesInCoin,
  type Fill,
  type FillOrder,
  type PositionBook,
} from '../books/pnl';

export type { FeesInCoin } from '../books/pnl';

/**
 * The most of `position` an exit may ask for: the base currency's free balance plus `lockedByOwnSells` (the
 * unfilled rest of the bot's own sells of the symbol, which the exit cancels first), never above the position.
 * Without a balance read yet, the position.
 */
export function exitable(position: number, base: BalanceEntry | undefined, lockedByOwnSells: number): number {
  if (!base) return position;
  return Math.max(0, Math.min(position, base.free + Math.max(0, lockedByOwnSells)));
}

/**
 * Whether a balance read sent at `sentAt` may not show `order`'s last change yet (pure): it changed less than
 * `windowMs` (`unknownNotFoundWindowMs`) before the read was sent, or after. The account read lags the matching engine
 * like its lookups: such a reading may still miss a fill's coins, or still show what a cancelled order locked. A
 * write-off is the bot's own book entry, never in any reading.
 */
export function changedNearRead(order: LocalOrder, sentAt: number, windowMs: number): boolean {
  return order.purpose !== 'write-off' && sentAt - order.updatedAt < windowMs;
}

/** What the bot's own sells among `orders` still lock of the coin: their unfilled rest. */
export function lockedBySells(orders: readonly LocalOrder[]): number {
  let locked = 0;
  for (const o of orders)
    if (o.side === 'sell' && !isFinal(o.status)) locked += Math.max(0, o.amount - o.filled);
  return locked;
}

/** Part of a position the account does not hold. */
export interface Shortfall {
  symbol: string;
  /** The bot's position (base amount). */
  position: number;
  /** What the account holds of it: the coin's total balance less the bot's other positions in that coin. */
  held: number;
  /** position − held. */
  missing: number;
}

/**
 * The positions the account holds less of than the bot's fills say, by more than one amount step (less is rounding
 * and dust, which an exit floored to the step never asks for anyway). A coin held by several positions (BNB/USDT
 * and BNB/BTC) is shared in the order of `positions`. Symbols in `unsettled` (an order in flight: the balance and
 * the position may not count the same fills yet) are left out.
 */
export function shortfallsOf(
  positions: readonly PositionBook[],
  balance: Readonly<Record<string, BalanceEntry>>,
  markets: Readonly<Record<string, Market>>,
  unsettled: ReadonlySet<string>,
): Shortfall[] {
  const left: Record<string, number> = {};
  const found: Shortfall[] = [];
  for (const p of positions) {
    const { base } = splitSymbol(p.symbol);
    const total = left[base] ?? balance[base]?.total ?? 0;
    const held = Math.max(0, Math.min(p.amount, total));
    left[base] = total - held;
    const step = markets[p.symbol]?.amountStep ?? 0;
    const missing = p.amount - held;
    if (unsettled.has(p.symbol) || !(missing > 0) || missing < step * (1 - 1e-9)) continue;
    found.push({ symbol: p.symbol, position: p.amount, held, missing });
  }
  return found;
}

/**
 * A shortfall worth telling only when two readings in a row show it for the same position (no fill of the bot's
 * came in between): one reading may predate a fill the balance and the position do not count alike yet.
 */
export function confirmedShortfalls(
  previous: readonly Shortfall[],
  current: readonly Shortfall[],
): Shortfall[] {
  return current.filter((s) =>
    previous.some((p) => p.symbol === s.symbol && Math.abs(p.position - s.position) <= 1e-12),
  );
}

/**
 * The bot's fees in `book`'s base coin on its other pairs (Binance's BNB burn) since the position opened, less
 * what earlier write-offs of the position took as fees: kept in the positions' fold (pnl.ts `feesInCoin`), so the
 * fees of orders already moved to the history journal count as well as the hot ones, each once.
 */
export function feesPaidInCoin(book: PositionBook): FeesInCoin {
  return { amount: book.feesInCoin?.amount ?? 0, quoteValue: book.feesInCoin?.quoteValue ?? 0 };
}

/**
 * Where a write-off of `symbol` made `now` (the EXCHANGE's time, the time its fills carry) goes among the hot fills
 * (`hotFills`): after the symbol's last fill in the replay order and before every later one — by its trade id where
 * the exchange's trade ids grow with its trades (`fillOrder` trade-id: its times can go back): the last of the hot
 * fills, or with none hot the position's own last (`lastTradeId`, pnl.ts: every fill archived); else by time: just
 * after the last hot fill it must follow when that is later than `now`. It follows the fees paid in the coin on
 * other pairs too: the write-off spends them (`feesInCoin`), and one replayed after it would count again.
 */
export function writeOffPlace(
  symbol: string,
  hotFills: readonly Fill[],
  now: number,
  fillOrder: FillOrder,
  lastTradeId?: string,
): { at: number; afterTradeId: string | undefined } {
  const { base } = splitSymbol(symbol);
  const follows = hotFills.filter(
    (f) => f.symbol === symbol || (f.feeCurrency === base && feeNeedsValuation(f)),
  );
  const lastFillAt = follows.reduce((latest, f) => Math.max(latest, f.timestamp), 0);
  return {
    at: Math.max(now, lastFillAt + 1),
    afterTradeId: sequenceAfter(
      hotFills.filter((f) => f.symbol === symbol),
      fillOrder,
      lastTradeId,
    ),
  };
}

/**
 * The fills that take `missing` out of `book` (sells of the write-off `clientOrderId` at `now`), so the position is
 * what the account holds. The part the bot's own fees in this coin explain (`fees`) leaves at the price they were
 * valued at when paid: their cost already counts on the pair that paid them, and this pair realizes what the coin
 * gained or lost until then — together, once, the coin's entry cost. The rest (a withdrawal, a sale by hand, a fee
 * not seen) leaves at price 0: a loss of its entry cost.
 */
export function writeOffFills(
  book: PositionBook,
  missing: number,
  fees: FeesInCoin,
  clientOrderId: string,
  now: number,
): Fill[] {
  const asFee = Math.min(missing, fees.amount);
  const base = {
    orderId: clientOrderId,
    clientOrderId,
    symbol: book.symbol,
    side: 'sell' as const,
    feeCost: 0,
    feeCurrency: '',
    timestamp: now,
  };
  const fills: Fill[] = [];
  if (asFee > 0) {
    const price = fees.amount > 0 ? fees.quoteValue / fees.amount : 0;
    fills.push({ ...base, tradeId: FEES_IN_COIN_TRADE_ID, price, amount: asFee });
  }
  const rest = missing - asFee;
  if (rest > 1e-12) fills.push({ ...base, tradeId: 'missing', price: 0, amount: rest });
  return fills;
}

/**
 * What the owner holds of `coin` beside the bot's positions in it: the account's total less them — negative when the
 * account holds less than the positions (a shortfall: fees of other pairs in the coin, a withdrawal), so that a later
 * balance compared with it plus the positions is not read as coins gone when nothing moved.
 * Measured only on a reading where the coin has no order of ours in flight and no sell awaiting its coin check
 * (shortfall-watch.ts): the balance and the positions then count the same fills.
 */
export function ownerHolding(
  coin: string,
  positions: readonly PositionBook[],
  balance: Readonly<Record<string, BalanceEntry>>,
): number {
  return (balance[coin]?.total ?? 0) - positionsIn(coin, positions);
}

/** The bot's positions in `coin` (every symbol whose base it is). */
export function positionsIn(coin: string, positions: readonly PositionBook[]): number {
  let sum = 0;
  for (const p of positions) if (splitSymbol(p.symbol).base === coin) sum += Math.max(0, p.amount);
  return sum;
}

/**
 * An order of ours that ended on our inference — declared never placed when its lookups kept missing, or settled with
 * less than its amount filled when the exchange stopped showing it (never-placed-recheck.ts `endedByInference`) —
 * may have been carried out all the same: its lookups lag, the exchange's balance does not. Judged on the coin it
 * trades (the base) at a balance reading sent after the verdict, against what the owner held of it at the send plus
 * the bot's positions in it now (which count only the order's booked fills): a sell's coins gone, or a buy's coins
 * arrived, by more than one amount step → `carried-out` (the symbol's orders wait for the order to be found: a sell
 * sent again would sell the owner's coins, a buy would spend the stake twice); else `not-carried-out`. `wait`: no
 * such reading yet. `unjudged`: nothing was measured before its send (the owner's holding unknown). `may-rest`: a
 * limit order the balance cannot judge — resting, a sell's coins are only locked (still in the total) and a buy has
 * brought none — unless its cancel, answered by the matching engine, ruled out that it rests (`restRuledOut`,
 * rest-probe.ts): its symbol waits for it to be found or settled.
 */
export type InferredOrderCoins = 'carried-out' | 'not-carried-out' | 'may-rest' | 'wait' | 'unjudged';

export function inferredOrderCoins(
  order: Pick<LocalOrder, 'ownerHeld' | 'updatedAt' | 'symbol' | 'side' | 'type' | 'restRuledOut'>,
  reading: { balance: Readonly<Record<string, BalanceEntry>>; sentAt: number } | undefined,
  positions: readonly PositionBook[],
  amountStep: number,
): InferredOrderCoins {
  if (order.ownerHeld === undefined) return 'unjudged';
  if (!reading || reading.sentAt <= order.updatedAt) return 'wait';
  const coin = splitSymbol(order.symbol).base;
  const expected = order.ownerHeld + positionsIn(coin, positions);
  const total = reading.balance[coin]?.total ?? 0;
  const step = amountStep * (1 + 1e-9);
  const carriedOut = order.side === 'sell' ? total < expected - step : total > expected + step;
  if (carriedOut) return 'carried-out';
  return order.type === 'limit' && order.restRuledOut !== true ? 'may-rest' : 'not-carried-out';
}
