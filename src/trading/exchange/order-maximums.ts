/**
 * The largest single order of a market, per order type, from a ccxt market (pure; ccxt-exchange.ts toMarket) — and
 * a market order's own step and minimum (marketOrderLot), and every order's least amount (minimumAmount). Each
 * verified exchange documents its own, and ccxt keeps only part of them in `limits` — merged across order types, or
 * in a unit it does not say — so each is read where it is exact, said below. docs/exchanges.md lists what applies.
 */
import type { Market, OrderMaximum } from './exchange';

/** The part of a ccxt market read here. */
export interface CcxtMarketLimits {
  quote?: string;
  limits?: {
    amount?: { min?: unknown; max?: unknown };
    cost?: { max?: unknown };
    market?: { max?: unknown };
  };
  info?: unknown;
}

/** Quotes a USD or USDT maximum is counted in one to one (OKX states its maximums in USD and USDT). */
const DOLLAR_QUOTES = new Set(['USDT', 'USD', 'USDC']);

export function orderMaximums(exchangeId: string, m: CcxtMarketLimits): Market['maxOrder'] {
  switch (exchangeId) {
    case 'binance':
      return binance(m);
    case 'bybit':
      return bybit(m);
    case 'okx':
      return okx(m);
    default:
      // no profile, no live orders: ccxt's base maximums, as it means them
      return built(
        { amount: positive(m.limits?.amount?.max) },
        {
          amount: smallest(positive(m.limits?.amount?.max), positive(m.limits?.market?.max)),
        },
      );
  }
}

/**
 * Binance spot filters: LOT_SIZE maxQty binds every order (ccxt `limits.amount.max`), MARKET_LOT_SIZE maxQty a
 * MARKET order besides (`limits.market.max`); NOTIONAL maxNotional binds a LIMIT order, and a MARKET one only with
 * `applyMaxToMarket` — ccxt puts maxNotional in `limits.cost.max` either way, so it is read from the filter.
 */
function binance(m: CcxtMarketLimits): Market['maxOrder'] {
  const lotMax = positive(m.limits?.amount?.max);
  const notional = filter(m.info, 'NOTIONAL');
  const maxNotional = positive(notional?.maxNotional);
  const onMarket = notional?.applyMaxToMarket === true || notional?.applyMaxToMarket === 'true';
  return built(
    { amount: lotMax, value: maxNotional },
    { amount: smallest(lotMax, positive(m.limits?.market?.max)), value: onMarket ? maxNotional : undefined },
  );
}

/**
 * Bybit v5 spot lotSizeFilter: `maxLimitOrderQty` and `maxMarketOrderQty` (base), read from the answer — ccxt reads
 * neither. `maxOrderQty` and `maxOrderAmt` are "deprecated, no longer check": used only for an answer without the
 * per-type ones (as ccxt reads them: `limits.amount.max`, `limits.cost.max`, for every order).
 */
function bybit(m: CcxtMarketLimits): Market['maxOrder'] {
  const lot = (m.info as { lotSizeFilter?: Record<string, unknown> } | undefined)?.lotSizeFilter;
  const limitQty = positive(lot?.maxLimitOrderQty);
  const marketQty = positive(lot?.maxMarketOrderQty);
  if (limitQty !== undefined || marketQty !== undefined) {
    return built({ amount: limitQty }, { amount: marketQty });
  }
  const older: OrderMaximum = {
    amount: positive(m.limits?.amount?.max),
    value: positive(m.limits?.cost?.max),
  };
  return built(older, older);
}

/**
 * OKX public/instruments, SPOT: `maxLmtSz` is "the quantity in base currency" of a limit order (ccxt
 * `limits.amount.max`); `maxMktSz` is "the quantity in USDT" of a market order (ccxt `limits.cost.max`, unit unsaid);
 * `maxLmtAmt` / `maxMktAmt` are the "max USD amount" of a limit / market order (ccxt reads neither). The USD and USDT
 * ones are read from the answer and applied where the quote is a dollar (USDT, USD, USDC, one to one); elsewhere they
 * would need a conversion the bot does not make, and are left out (docs/exchanges.md says so).
 */
function okx(m: CcxtMarketLimits): Market['maxOrder'] {
  const info = (m.info ?? {}) as Record<string, unknown>;
  const dollars = DOLLAR_QUOTES.has(m.quote ?? '');
  return built(
    { amount: positive(info.maxLmtSz), value: dollars ? positive(info.maxLmtAmt) : undefined },
    {
      value: dollars ? smallest(positive(info.maxMktSz), positive(info.maxMktAmt)) : undefined,
    },
  );
}

/**
 * The least amount one order may have, on the amount step `amountStep` (pure). ccxt's `limits.amount.min` where the
 * exchange checks it (Binance LOT_SIZE minQty, OKX minSz); none on Bybit spot: its lotSizeFilter's `minOrderQty`,
 * which ccxt still reads as `limits.amount.min`, is "deprecated, no longer check `minOrderQty`, check `minOrderAmt`
 * instead" (docs/v5/market/instrument.mdx, 2025-10-24) — Bybit takes any amount on `basePrecision` worth its
 * `minOrderAmt` (the minimum order value, `limits.cost.min`). Read as the minimum, a holding below it was no position
 * to the bot (no stop-loss, told unsellable) that Bybit would sell (review 44a).
 */
export function minimumAmount(exchangeId: string, m: CcxtMarketLimits, amountStep: number): number {
  if (exchangeId === 'bybit') return amountStep;
  return positive(m.limits?.amount?.min) ?? amountStep;
}

/**
 * A market order's own amount step and minimum, where the exchange lists them apart from every order's (pure). Binance
 * filters.md: MARKET_LOT_SIZE "defines the quantity … rules for MARKET orders" — `quantity >= minQty`, `quantity %
 * stepSize == 0` — besides LOT_SIZE's for every order; ccxt reads only LOT_SIZE (precision.amount, limits.amount.min),
 * so the filter is read from the answer. Binance lists both as 0 on the spot symbols seen today: none (as a real
 * order there passes with any quantity LOT_SIZE takes). Bybit (lotSizeFilter: basePrecision, minOrderQty, minOrderAmt
 * for every order; only the maximums differ by type) and OKX (lotSz, minSz for every order; maxMktSz/maxMktAmt
 * only) document none.
 */
export function marketOrderLot(exchangeId: string, m: CcxtMarketLimits): Market['marketLot'] {
  if (exchangeId !== 'binance') return undefined;
  const lot = filter(m.info, 'MARKET_LOT_SIZE');
  const step = positive(lot?.stepSize);
  const min = positive(lot?.minQty);
  if (step === undefined && min === undefined) return undefined;
  return { ...(step !== undefined ? { step } : {}), ...(min !== undefined ? { min } : {}) };
}

function filter(info: unknown, type: string): Record<string, unknown> | undefined {
  const filters = (info as { filters?: unknown } | undefined)?.filters;
  if (!Array.isArray(filters)) return undefined;
  return filters.find((f: Record<string, unknown> | null) => f?.filterType === type) as
    Record<string, unknown> | undefined;
}

/** The maximums with what is known, or undefined when nothing is. */
function built(limit: OrderMaximum, market: OrderMaximum): Market['maxOrder'] {
  const maxOrder: Market['maxOrder'] = {};
  const kept = (x: OrderMaximum): OrderMaximum | undefined => {
    const out: OrderMaximum = {};
    if (x.amount !== undefined) out.amount = x.amount;
    if (x.value !== undefined) out.value = x.value;
    return Object.keys(out).length > 0 ? out : undefined;
  };
  const l = kept(limit);
  const mk = kept(market);
  if (l) maxOrder.limit = l;
  if (mk) maxOrder.market = mk;
  return l || mk ? maxOrder : undefined;
}

function smallest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

/** A maximum as a number; 0, empty or missing is none (Binance's "disabled on 0", OKX's empty strings). */
function positive(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}
