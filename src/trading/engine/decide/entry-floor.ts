/**
 * The least entry whose position its stop-loss can sell (pure). An entry sized at the stake clears the market's
 * minimums when it is bought; the position it leaves is smaller — a buy's fee taken in the coin — and, when the
 * stop-loss fires, worth less: at a stake just above the minimum order value, the stop-loss of that position would be
 * refused every time (below the minimum), and the position rides the fall with no exit (review44 LOW: the docs'
 * advice of 2–3× the minimum was the operator's to know). Such an entry is not made, and the operator is told the
 * stake that would do.
 */
import type { Market } from '../../exchange/exchange';
import type { OrderType } from '../../../shared/domain/order';
import { takerRate } from '../books/fills-from-order';
import { sizeExitOrder, sizeOrder } from './risk';

export interface EntryFloorView {
  /** The quote the entry spends (trading.risk.stakePerTrade). */
  stake: number;
  price: number;
  market: Market;
  /** The entry's order type (the stake is sized on it: sizeOrder). */
  type: OrderType;
  /** What the symbol already holds that the position's exit sells with it (dust of an earlier trade). */
  held: number;
  /** trading.risk.stopLossPct (0: none; the position must then be sellable at the price it was bought at). */
  stopLossPct: number;
}

/**
 * Why the position an entry of `v.stake` would open could not be sold by its stop-loss, or null when it could. The
 * position is the amount bought less the buy's fee at the market's taker rate (the coin's, as Binance, Bybit and OKX
 * take a spot buy's fee; else the assumed rate: fills-from-order.ts takerRate), judged by the stop-loss's own sizing
 * (sizeExitOrder, at market) at the stop-loss's price. A fall past that price before the stop-loss sells (a gap, a
 * tick late) can still leave it below the minimum: docs/going-live.md advises 2–3× the minimum.
 */
export function entryBelowStopFloor(v: EntryFloorView): string | null {
  const judged = judge(v, v.stake);
  if (judged === null) return null;
  const stop =
    v.stopLossPct > 0
      ? `a stop-loss at ${+stopPrice(v).toPrecision(6)} (−${v.stopLossPct}%)`
      : 'an exit at this price';
  const fee = `${+(takerRate(v.market.takerFee) * 100).toFixed(4)}%`;
  const least = leastStake(v);
  const room = v.stopLossPct > 0 ? 'a fall past the stop' : 'a fall';
  const raise =
    least === undefined
      ? 'no stake up to a billion times this one would do'
      : `set trading.risk.stakePerTrade to at least ${least} (2–3× the minimum leaves room for ${room})`;
  return `stake ${v.stake} is too small for ${v.market.symbol}: what it buys, less the buy's fee (${fee}), could not be sold by ${stop}: ${judged}; ${raise}`;
}

/** Why an entry of `stake` leaves a position its stop-loss could not sell; null when it could (or none is bought). */
function judge(v: EntryFloorView, stake: number): string | null {
  const entry = sizeOrder(stake, v.price, v.market, v.type);
  if (!entry.ok) return null;
  const kept = v.held + entry.amount * (1 - takerRate(v.market.takerFee));
  const exit = sizeExitOrder(kept, stopPrice(v), v.market, 'market');
  return exit.ok ? null : exit.reason;
}

/** The least stake (two significant digits) whose position a stop-loss could sell; undefined: none. */
function leastStake(v: EntryFloorView): number | undefined {
  let low = v.stake;
  let high = v.stake * 2;
  // doubling to a stake that does, then halving the gap: each step one sizing, pure
  for (let i = 0; judgeFails(v, high); i++) {
    if (i >= 30) return undefined;
    low = high;
    high *= 2;
  }
  for (let i = 0; i < 40 && high - low > high * 1e-4; i++) {
    const mid = (low + high) / 2;
    if (judgeFails(v, mid)) low = mid;
    else high = mid;
  }
  // the bisection ends a hair above a stake on the step's edge (6.00003 for 6): the rounder figure when it does
  const rounder = roundSignificant(high, 2, Math.floor);
  return judgeFails(v, rounder) ? roundSignificant(high, 2, Math.ceil) : rounder;
}

/** An entry of `stake` is bought, and its position could not be sold (one sized too small to buy fails too). */
function judgeFails(v: EntryFloorView, stake: number): boolean {
  return !sizeOrder(stake, v.price, v.market, v.type).ok || judge(v, stake) !== null;
}

function stopPrice(v: EntryFloorView): number {
  return v.price * (1 - v.stopLossPct / 100);
}

/** `x` rounded by `round` (up or down) to `digits` significant digits (5.0123 → 5.1 up, 5 down). */
function roundSignificant(x: number, digits: number, round: (n: number) => number): number {
  const scale = 10 ** (Math.floor(Math.log10(x)) - digits + 1);
  return +(round(x / scale) * scale).toPrecision(digits + 1);
}
