/**
 * Holdings the bot can no longer sell (pure): what a position becomes when the exchange raises the symbol's minimum
 * amount or order value above it (Binance LOT_SIZE minQty / NOTIONAL, Bybit minOrderAmt, OKX minSz), or delists the
 * symbol (no market any more). Judged with the markets of a load and the price `openPositions` values it at:
 *
 * - `below-minimum`: the market is listed, the holding is at least one amount step of a market order, and no exit
 *   can sell it (risk.ts isOpenPosition says no position: neither a market order nor, where a market order has a step
 *   or minimum of its own, a limit one). The dust an exit leaves is always below one step (an exit floors its sell to
 *   its order's step: a limit's is finer than a market order's), so that dust is never one of these — only coins
 *   that were a position.
 * - `delisted`: no market; any amount counts, as isOpenPosition counts it toward `risk.maxOpenPositions` (the
 *   conservative side: the slot stays held until the operator writes it off) — the dust an exit left too: without
 *   the market its step is unknown, and it holds the slot all the same.
 *
 * A symbol with an order still in flight is not judged (its fills decide what it holds).
 */
import type { Market } from '../../exchange/exchange';
import { lotOf, marketableSellPrice, sellableByExits } from '../../exchange/precision';

/** Amounts below this are float noise (pnl.ts's). */
const EPSILON = 1e-12;

export type UnsellableReason = 'below-minimum' | 'delisted';

export interface UnsellableHolding {
  symbol: string;
  /** What the bot holds, in the base. */
  amount: number;
  reason: UnsellableReason;
  /** The price it was judged at (the last price, or its cost per unit before any); absent when none is known. */
  price?: number;
  /**
   * With `below-minimum` on a market whose market orders have a step or minimum of their own (Binance
   * MARKET_LOT_SIZE): the price a limit sell of it would be offered at (`marketableSellPrice`, 2 % under `price`),
   * where its value was judged against the minimum order value — the alert shows its value there too.
   */
  sellPrice?: number;
  /** With `below-minimum`: the least an order can sell (a limit's, where a market order's own is higher), and the minimum order value. */
  minAmount?: number;
  minNotional?: number;
}

/** Why `amount` of `symbol` cannot be sold, or null when it can (or is dust an exit leaves, or nothing). */
export function unsellableHolding(
  symbol: string,
  amount: number,
  market: Market | undefined,
  price: number | undefined,
): UnsellableHolding | null {
  if (!(amount > EPSILON)) return null;
  const priced = price !== undefined && price > 0 ? { price } : {};
  if (!market) return { symbol, amount, reason: 'delisted', ...priced };
  if (amount + EPSILON < lotOf(market, 'market').amountStep) return null;
  if (sellableByExits(amount, market, price) > 0) return null;
  return {
    symbol,
    amount,
    reason: 'below-minimum',
    ...priced,
    ...(market.marketLot && priced.price !== undefined
      ? { sellPrice: marketableSellPrice(priced.price, market) }
      : {}),
    minAmount: market.minAmount,
    ...(market.minNotional > 0 ? { minNotional: market.minNotional } : {}),
  };
}

/** What the operator was told of a holding (the state's `announcedUnsellable`). */
export interface AnnouncedUnsellable {
  reason: UnsellableReason;
  amount: number;
  /** When it was told. */
  at: number;
}

/**
 * What to tell and forget after a load: a holding unsellable now and not told (or told for another reason) is
 * `fresh`; a told symbol no longer unsellable is `cleared` (told again if it turns unsellable later) once the bot
 * holds another amount of it (sold, bought more) or none — while it holds the amount told, the record is kept: the
 * same holding found sellable and unsellable again by turns (its value about a minimum value while the price
 * hovers, a minimum lowered and raised back) is told once (review 34w). `held`: the bot's amount by symbol. A `busy`
 * symbol (an order in flight) is not judged: its record is kept.
 */
export function unsellableChanges(
  announced: Readonly<Record<string, AnnouncedUnsellable>>,
  current: readonly UnsellableHolding[],
  busy: ReadonlySet<string>,
  held: Readonly<Record<string, number>>,
): { fresh: UnsellableHolding[]; cleared: string[] } {
  const now = new Map(current.map((h) => [h.symbol, h] as const));
  const fresh = current.filter((h) => !busy.has(h.symbol) && announced[h.symbol]?.reason !== h.reason);
  const cleared = Object.entries(announced)
    .filter(
      ([symbol, told]) => !busy.has(symbol) && !now.has(symbol) && !sameAmount(held[symbol], told.amount),
    )
    .map(([symbol]) => symbol);
  return { fresh, cleared };
}

/** Whether `amount` (held now; absent: none) is the amount told, within float noise. */
function sameAmount(amount: number | undefined, told: number): boolean {
  return amount !== undefined && amount > EPSILON && Math.abs(amount - told) <= EPSILON * Math.max(1, told);
}

/** The alert's sentence: what, why, that the bot no longer manages it, what the operator can do. */
export function unsellableSummary(
  h: UnsellableHolding,
  exchangeId: string,
  quote: string,
  /** A symbol gone from the list may only be suspended (Bybit lists only symbols that trade). */
  goneMayReturn = false,
): string {
  const offered =
    h.sellPrice !== undefined
      ? ` (~${money(h.amount * h.sellPrice)} ${quote} at ${roundish(h.sellPrice)}, the price a sell of it is offered at)`
      : '';
  const value =
    h.price !== undefined
      ? `, worth ~${money(h.amount * h.price)} ${quote} at ${roundish(h.price)}${offered}`
      : '';
  const why =
    h.reason === 'delisted'
      ? goneMayReturn
        ? `${h.symbol} is no longer listed on ${exchangeId} (delisted, or suspended for a while: ${exchangeId} lists only symbols that trade)`
        : `${h.symbol} is no longer listed on ${exchangeId}`
      : `below ${exchangeId}'s minimum for one order (${minimums(h, quote)})`;
  const slot =
    h.reason === 'delisted'
      ? 'It still counts toward risk.maxOpenPositions until written off.'
      : 'It no longer counts as a position (no stop-loss, not in /positions).';
  const act =
    h.reason === 'delisted'
      ? `${goneMayReturn ? `Check ${exchangeId}'s announcements first: if it is only suspended, wait — the bot sells it again once it trades (markets are checked every few minutes). If delisted, w` : 'W'}ithdraw or convert it on ${exchangeId} if it allows, then /writeoff ${h.symbol} to take it out of the bot's books.`
      : `Sell it by hand on ${exchangeId} (e.g. with more coins bought to reach the minimum, or its dust conversion), then /writeoff ${h.symbol} to take it out of the bot's books; or leave it: while ${h.symbol} is traded, the strategy's next entry on it (a stake above the new minimum) adds to it and its exit sells the whole.`;
  return (
    `${h.symbol}: the bot holds ${readableAmount(h.amount)}${value} and can no longer sell it: ${why}. ` +
    `The bot no longer manages it. ${slot} ${act}`
  );
}

function minimums(h: UnsellableHolding, quote: string): string {
  const parts = [`minimum amount ${readableAmount(h.minAmount ?? 0)}`];
  if (h.minNotional !== undefined) parts.push(`minimum value ${h.minNotional} ${quote}`);
  return parts.join(', ');
}

function readableAmount(n: number): string {
  return String(Number(n.toPrecision(10)));
}

function roundish(n: number): number {
  return Number(n.toPrecision(8));
}

function money(n: number): string {
  return n.toFixed(2);
}
