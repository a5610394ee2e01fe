/**
 * The one precision module: amounts and prices on an exchange's grid. The bot (sizing, exits, positions) and the
 * paper exchange (matching) use the same functions, so they can never disagree at a boundary.
 */
import type { Market, OrderType } from './exchange';

/** Decimals of a step such as 0.25, 0.001 or 1e-8 (at most 12: no exchange step is finer). */
function decimalsOf(step: number): number {
  const [mantissa, exponent] = step.toExponential().split('e');
  const mantissaDecimals = mantissa.includes('.') ? mantissa.split('.')[1].length : 0;
  return Math.min(12, Math.max(0, mantissaDecimals - Number(exponent)));
}

/**
 * How far from a whole number of steps a quotient may be and still count as that number: float division is off
 * by a few units in the last place, which for 7210.81146 / 0.00001 (721081145.9999999) is far more than a fixed
 * 1e-9 — a tolerance relative to the quotient, far below any real amount.
 */
function noise(units: number): number {
  return 1e-9 + Math.abs(units) * 1e-14;
}

/** Floors to a multiple of `step`, tolerant of float noise (0.3 / 0.1 is 2.9999999999999996, floored to 3). */
export function floorToStep(value: number, step: number): number {
  if (!(step > 0)) return value;
  const units = value / step;
  return Number((Math.floor(units + noise(units)) * step).toFixed(decimalsOf(step)));
}

export function ceilToStep(value: number, step: number): number {
  if (!(step > 0)) return value;
  const units = value / step;
  return Number((Math.ceil(units - noise(units)) * step).toFixed(decimalsOf(step)));
}

/**
 * How far two amounts of an order (filled, its fills added up, a balance moved) may differ and still count as the
 * same: float noise of sums and divisions, 1e-9 of `amount`, at least 1e-12 — far below any exchange's step.
 */
export function amountTolerance(amount: number): number {
  return Math.max(1e-12, amount * 1e-9);
}

export function roundToStep(value: number, step: number): number {
  if (!(step > 0)) return value;
  return Number((Math.round(value / step) * step).toFixed(decimalsOf(step)));
}

/**
 * The part of a held amount that can be sold: floored to the amount step; 0 when below the minimum amount, or —
 * given a `price` — when worth less than the market's minimum order value there (the exchange refuses that sell).
 */
export function sellableAmount(
  amount: number,
  market: Pick<Market, 'amountStep' | 'minAmount'> & Partial<Pick<Market, 'minNotional'>>,
  price?: number,
): number {
  const sellable = floorToStep(amount, market.amountStep);
  if (!(sellable > 0) || sellable < market.minAmount) return 0;
  if (price !== undefined && price > 0 && sellable * price < (market.minNotional ?? 0)) return 0;
  return sellable;
}

/**
 * The price an order's value is judged at against the minimum order value, or undefined where none applies: a
 * MARKET order on a market whose minimum skips market orders (Binance NOTIONAL applyMinToMarket false).
 */
export function valuedAt(
  price: number,
  market: Partial<Pick<Market, 'minNotionalOnMarket'>>,
  type: OrderType,
): number | undefined {
  return type === 'market' && market.minNotionalOnMarket === false ? undefined : price;
}

/** The amount rules of a market as `lotOf` reads them; `marketLot` optional. */
type Lotted = Pick<Market, 'amountStep' | 'minAmount'> & Partial<Pick<Market, 'marketLot'>>;

/**
 * The market as one order of `type` sees it: `amountStep` and `minAmount` are that order type's — for a MARKET
 * order where the exchange sets its own (`marketLot`, Binance MARKET_LOT_SIZE), the step both grids share and the
 * higher minimum; otherwise every order's. The one rule sizing (risk.ts), "still a position" (sellableByMarketOrder),
 * the adapter's last check (ccxt-exchange.ts) and the paper exchange's matching (paper-matching.ts) all read.
 */
export function lotOf<M extends Lotted>(market: M, type: OrderType): M {
  const lot = type === 'market' ? market.marketLot : undefined;
  if (!lot) return market;
  const step =
    lot.step !== undefined && lot.step > 0 ? commonStep(market.amountStep, lot.step) : market.amountStep;
  const min = Math.max(market.minAmount, lot.min !== undefined && lot.min > 0 ? lot.min : 0);
  return { ...market, amountStep: step, minAmount: ceilToStep(min, step) };
}

/**
 * The finest step on both grids: their least common multiple, counted in units of the finer decimals (0.01 and
 * 0.001 → 0.01; 0.25 and 0.1 → 0.5).
 */
function commonStep(a: number, b: number): number {
  if (!(a > 0)) return b;
  const decimals = Math.max(decimalsOf(a), decimalsOf(b));
  const scale = 10 ** decimals;
  const x = Math.round(a * scale);
  const y = Math.round(b * scale);
  const gcd = (p: number, q: number): number => (q === 0 ? p : gcd(q, p % q));
  return Number((((x / gcd(x, y)) * y) / scale).toFixed(decimals));
}

/**
 * The rules of a market that decide what a held amount sells (sellableByMarketOrder, sellableByExits; pnl.ts `Lot`):
 * the amount step and minimum, a market order's own (Binance MARKET_LOT_SIZE), the minimum order value and whether it
 * applies to market orders, and the tick (without it, the marketable price is not on a tick).
 */
export type SellRules = Pick<Market, 'amountStep' | 'minAmount'> &
  Partial<Pick<Market, 'minNotional' | 'minNotionalOnMarket' | 'marketLot' | 'priceStep'>>;

/**
 * The part of a held amount a MARKET order can sell: `sellableAmount` on a market order's amount rules (`lotOf`;
 * Binance MARKET_LOT_SIZE's step and minimum where it lists them) with its value judged at `price` only where the
 * minimum order value applies to market orders (`valuedAt`); without a price, the value is not judged.
 */
export function sellableByMarketOrder(amount: number, market: SellRules, price: number | undefined): number {
  const valued = price === undefined ? undefined : valuedAt(price, market, 'market');
  return sellableAmount(amount, lotOf(market, 'market'), valued);
}

/**
 * The part of a held amount the bot's exits sell (the one rule for "still a position": risk.ts isOpenPosition, the
 * books' round trips, pnl.ts applyFill, and what is told unsellable): what a MARKET order sells
 * (`sellableByMarketOrder`), or — where a market order has a step or minimum of its own (Binance MARKET_LOT_SIZE)
 * that leaves part of it out — what one LIMIT order sells on every order's grid at the marketable price
 * (`marketableSellPrice`, its value judged there), as risk.ts sizeExitOrder places it: the more of the two. Without
 * a price, no value is judged. Where a market order has no rules of its own, this is what a market order sells.
 */
export function sellableByExits(amount: number, market: SellRules, price: number | undefined): number {
  const byMarket = sellableByMarketOrder(amount, market, price);
  if (!market.marketLot) return byMarket;
  const limitPrice = price === undefined ? undefined : marketableSellPrice(price, market);
  return Math.max(byMarket, sellableAmount(amount, market, limitPrice));
}

/**
 * How far below the last price a sell is priced that must sell now but cannot go as a MARKET order: a holding a
 * market order cannot sell whole on its own step or minimum (Binance MARKET_LOT_SIZE), sold by one LIMIT order on every
 * order's grid (sellableByExits, risk.ts sizeExitOrder). A limit sell fills against the bids at or above its price,
 * best first — at the book, as a market sell does; the margin bounds how far down the book it goes and lets a price
 * falling while the order travels still fill it. 2 %: inside the band Binance's PERCENT_PRICE_BY_SIDE lets a sell have
 * around the average price of the last minutes (sell price ≥ average × askMultiplierDown); in a crash of more than that
 * band below the average the limit is refused -1013, and the next stop-loss or close-all sells at market what a market
 * order can (a MARKET order has no price: the filter does not judge it; symbol-decision.ts urgentLimitMissed).
 */
export const MARKETABLE_SELL_MARGIN = 0.02;

/**
 * The price of a sell that must fill now as a LIMIT order: MARKETABLE_SELL_MARGIN below `price`, on the tick — one
 * tick at the least (a price of one tick has none below it: the limit is at the price).
 */
export function marketableSellPrice(price: number, market: Partial<Pick<Market, 'priceStep'>>): number {
  const tick = market.priceStep ?? 0;
  return Math.max(floorToStep(price * (1 - MARKETABLE_SELL_MARGIN), tick), Math.min(tick, price));
}

/**
 * How much more a market order may be worth to the exchange than at the last price read, when it judges a maximum
 * order value: Binance values a MARKET order at the average price of the last `avgPriceMins` minutes (5 by default)
 * — in a fall, above the last price —, OKX at what it fills at. 10 % covers a fall of 10 % within those minutes; in
 * a faster crash the exchange refuses it, and a stop-loss is tried again on its backoff until the average has caught
 * up (within those minutes). The cost is market orders ~9 % smaller than the maximum where a value maximum binds
 * (one more piece now and then).
 */
export const MARKET_VALUE_MARGIN = 0.1;

/**
 * The largest amount one order of `type` may have on `market` (Infinity where the exchange sets none), on the amount
 * step — the one rule for it: the smaller of its base maximum and its quote maximum turned into base at `price`. A
 * limit order's value is judged at its price (the last price rounded to the tick: here the tick at or above it), a
 * market order's at the last price plus MARKET_VALUE_MARGIN.
 */
export function largestOrderAmount(
  market: Pick<Market, 'amountStep' | 'priceStep' | 'maxOrder'>,
  type: OrderType,
  price: number,
): number {
  const max = market.maxOrder?.[type];
  let largest = max?.amount ?? Infinity;
  if (max?.value !== undefined && price > 0) {
    const valuedAt =
      type === 'market' ? price * (1 + MARKET_VALUE_MARGIN) : ceilToStep(price, market.priceStep);
    largest = Math.min(largest, max.value / valuedAt);
  }
  return Number.isFinite(largest) ? floorToStep(largest, market.amountStep) : Infinity;
}
