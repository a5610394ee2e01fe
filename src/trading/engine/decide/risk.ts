/**
 * Risk rules (pure): order sizing through the market's precision and minimums, position limits, stop-loss /
 * take-profit, and the kill switch (max drawdown from the equity peak, max realized loss in one UTC day).
 * A triggered kill switch pauses new entries; exits keep working so open positions can still be closed.
 */
import type { Config } from '../../../shared/config/schema';
import type { Market } from '../../exchange/exchange';
import type { OrderType } from '../../../shared/domain/order';
import {
  floorToStep,
  largestOrderAmount,
  lotOf,
  marketableSellPrice,
  roundToStep,
  sellableAmount,
  sellableByExits,
  valuedAt,
} from '../../exchange/precision';
import { utcDay } from '../../../shared/clock';

export type RiskConfig = Config['trading']['risk'];

export type SizeResult = { ok: true; amount: number; notional: number } | { ok: false; reason: string };

/**
 * Base amount for spending `quoteAmount` at `price` in one entry of `type`, floored to a MARKET order's amount step
 * and checked against its minimum whatever the entry's type (lotOf: a market order's own where the exchange sets one,
 * Binance MARKET_LOT_SIZE; on that grid a limit order is on every order's too) — the position an entry opens is sold
 * by a stop-loss and close-all at market in whole (a buy fee taken in the coin leaves it off the market grid: then
 * it goes whole by one limit, sizeExitOrder). Within the exchange's largest order of `type` (largestOrderAmount: an
 * entry above it is sized down to it, never refused every time).
 */
export function sizeOrder(
  quoteAmount: number,
  price: number,
  listed: Market,
  type: 'market' | 'limit' = 'market',
): SizeResult {
  const market = lotOf(listed, 'market');
  if (!(price > 0)) return { ok: false, reason: `no valid price for ${market.symbol}` };
  const amount = Math.min(
    floorToStep(quoteAmount / price, market.amountStep),
    largestOrderAmount(market, type, price),
  );
  return checkAmount(amount, price, market, price);
}

/**
 * Sellable part of a held amount: floored to the step of its order type and checked against that type's minimums
 * (lotOf: a market exit on Binance's MARKET_LOT_SIZE step and minimum where it lists them — the rest below it is
 * dust, never an order refused every time). An exit is at most the exchange's largest order of its type
 * (largestOrderAmount: the exchange refuses more, every time) — the rest is sold by the next exit (close-all places
 * them in a row; a stop-loss still firing sells it on the next tick). A cap that would leave unsellable dust behind
 * sells less, so that the rest can be sold by the last order. `depthCap` lowers that cap for an urgent exit after the
 * exchange refused a larger piece as too large for its book (symbol-decision.ts `depthRefusedPiece`; the cap is half
 * the refused piece), never below the smallest amount one order can sell; a last rest of less than two smallest pieces
 * goes whole while it is below the refused piece (capped, it left dust no order sells).
 */
export function sizeExit(
  held: number,
  price: number,
  listed: Market,
  type: 'market' | 'limit' = 'market',
  depthCap?: number,
): SizeResult {
  const market = lotOf(listed, type);
  const sellable = floorToStep(held, market.amountStep);
  const valued = valuedAt(price, market, type);
  const largest = largestOrderAmount(market, type, price);
  const cap =
    depthCap === undefined
      ? largest
      : Math.min(
          largest,
          Math.max(floorToStep(depthCap, market.amountStep), smallestSellable(valued, market)),
        );
  if (sellable <= cap) return checkAmount(sellable, price, market, valued);
  const rest = floorToStep(sellable - cap, market.amountStep);
  if (sellableAmount(rest, market, valued) > 0) return checkAmount(cap, price, market, valued);
  // the rest after a full capped order would be dust: leave the smallest sellable amount for the last order
  const smallest = smallestSellable(valued, market);
  const smaller = floorToStep(sellable - smallest, market.amountStep);
  const sized = checkAmount(Math.min(smaller, cap), price, market, valued);
  if (sized.ok) return sized;
  // less than two smallest pieces, so no split leaves both sellable — a depth cap's only (the exchange's largest order
  // is far above its smallest): the whole where it is below the refused piece (twice the cap), which the book may
  // take, rather than the cap and a rest no order can ever sell
  if (depthCap !== undefined && sellable <= largest && sellable < 2 * depthCap) {
    return checkAmount(sellable, price, market, valued);
  }
  return checkAmount(cap, price, market, valued);
}

/** An exit as it is placed: its amount, its order type and, for a limit, its price. */
export interface ExitOrder {
  amount: number;
  type: OrderType;
  limitPrice?: number;
}

/** An exit order sized (sizeExitOrder), or why none can be. */
export type ExitOrderSize = ({ ok: true; notional: number } & ExitOrder) | { ok: false; reason: string };

/**
 * The exit order for a held amount: of `type` — a limit at `price` on the tick — except a MARKET exit of a holding a
 * market order cannot sell whole on its own step or minimum (Binance MARKET_LOT_SIZE, coarser than LOT_SIZE's: what
 * a buy fee taken in the coin leaves of whole market steps, 0.001 BTC bought holding 0.000999; a position from before
 * the rule), which goes as one LIMIT sell on every order's grid at the marketable price (precision.ts
 * marketableSellPrice: it fills at the bids, as a market sell does). In one order, not whole market steps at market and
 * the rest after: a strategy exit is asked once, so that rest rode on with no exit, holding a position slot, and a
 * rest too small for a limit order was left unsellable. Before, the rest was dust with no stop-loss, and a one-step
 * entry was no position at all (the next signal bought again). Where no limit order can sell it (worth less than the
 * minimum order value at the marketable price), or `marketFirst` (such a limit of the position's went unsold: the
 * bids below its price), a market order sells what it can. `depthCap`: at most that much (sizeExit).
 */
export function sizeExitOrder(
  held: number,
  price: number,
  listed: Market,
  type: OrderType,
  marketFirst = false,
  depthCap?: number,
): ExitOrderSize {
  if (type === 'limit') {
    const sized = sizeExit(held, price, listed, type, depthCap);
    return sized.ok ? { ...sized, type, limitPrice: roundToStep(price, listed.priceStep) } : sized;
  }
  const byMarket = sizeExit(held, price, listed, 'market', depthCap);
  if (marketFirst && byMarket.ok) return { ...byMarket, type: 'market' };
  // what a market order's coarser step or higher minimum cannot reach of the holding, a limit order's grid does
  const beyondMarket = sellableAmount(held, listed) > sellableAmount(held, lotOf(listed, 'market'));
  if (beyondMarket) {
    const limitPrice = marketableSellPrice(price, listed);
    const byLimit = sizeExit(held, limitPrice, listed, 'limit', depthCap);
    if (byLimit.ok) return { ...byLimit, type: 'limit', limitPrice };
    if (!byMarket.ok) return byLimit;
  }
  return byMarket.ok ? { ...byMarket, type: 'market' } : byMarket;
}

/** The smallest amount one order can sell (valued at `price`): the minimum amount and value, on the amount step. */
function smallestSellable(price: number | undefined, market: Market): number {
  const byValue = price !== undefined && price > 0 ? market.minNotional / price : 0;
  const steps = Math.ceil(Math.max(market.minAmount, byValue) / market.amountStep - 1e-9);
  return floorToStep(Math.max(1, steps) * market.amountStep, market.amountStep);
}

/** The amount checked against the minimums; its value only when `valued` is a price (valuedAt). */
function checkAmount(amount: number, price: number, market: Market, valued: number | undefined): SizeResult {
  if (!(amount > 0) || amount < market.minAmount) {
    return {
      ok: false,
      reason: `amount ${amount} below the minimum ${market.minAmount} of ${market.symbol}`,
    };
  }
  const notional = amount * price;
  if (valued !== undefined && notional < market.minNotional) {
    return {
      ok: false,
      reason: `order value ${notional.toFixed(2)} below the minimum ${market.minNotional} of ${market.symbol}`,
    };
  }
  return { ok: true, amount, notional };
}

export type ExitTrigger = { kind: 'stop-loss' | 'take-profit'; changePct: number };

/** Stop-loss / take-profit on the change from the average entry price; a 0 percent disables that rule. */
export function checkStopLossTakeProfit(
  averageEntry: number,
  price: number,
  risk: RiskConfig,
): ExitTrigger | null {
  if (!(averageEntry > 0) || !(price > 0)) return null;
  const changePct = ((price - averageEntry) / averageEntry) * 100;
  if (risk.stopLossPct > 0 && changePct <= -risk.stopLossPct) return { kind: 'stop-loss', changePct };
  if (risk.takeProfitPct > 0 && changePct >= risk.takeProfitPct) return { kind: 'take-profit', changePct };
  return null;
}

/** Why a new entry is not allowed now, or null when it is. */
export function entryBlocker(
  openPositions: number,
  risk: Pick<RiskConfig, 'maxOpenPositions'>,
): string | null {
  if (openPositions >= risk.maxOpenPositions)
    return `max open positions reached (${openPositions}/${risk.maxOpenPositions})`;
  return null;
}

export interface KillSwitch {
  kind: 'max-drawdown' | 'daily-loss';
  reason: string;
  at: number;
}

/** Persisted risk state (hot state). */
export interface RiskState {
  equityPeak: number;
  /** UTC day of dayStartEquity. */
  day: string;
  dayStartEquity: number;
  killSwitch: KillSwitch | null;
  /** UTC day on which the operator resumed past a daily-loss kill switch: it does not fire again that day. */
  dailyLossOverrideDay: string | null;
  /**
   * The measure the peak and the day's start equity were taken in: the bot's capital (`trading.risk.capital`: its
   * own equity, bot-equity.ts) they were measured on; absent: the account's equity.
   */
  capital?: number;
}

export function initialRiskState(): RiskState {
  return { equityPeak: 0, day: '', dayStartEquity: 0, killSwitch: null, dailyLossOverrideDay: null };
}

export interface RiskUpdate {
  state: RiskState;
  /** Set when the kill switch fired on this update. */
  triggered?: KillSwitch;
  /** Set when a daily-loss kill switch expired because a new UTC day began. */
  cleared?: KillSwitch;
}

/**
 * Next risk state from the current equity and today's realized PnL. A daily-loss kill switch ends with its UTC
 * day (a day later than its own: `now` going back across midnight does not end it); a drawdown kill switch stays until
 * the operator resumes (see `resetAfterResume`).
 */
export function evaluateRisk(
  state: RiskState,
  equity: number,
  realizedToday: number,
  now: number,
  risk: RiskConfig,
): RiskUpdate {
  const next: RiskState = { ...state };
  const day = utcDay(now);
  let cleared: KillSwitch | undefined;
  if (next.day !== day) {
    next.day = day;
    next.dayStartEquity = equity;
    // a daily-loss kill switch ends with a day later than its own, not with any other: a reading dated back across
    // midnight (the host's clock stepped back, its offset from the exchange's measured again) ended it, lifting its
    // pause for the day that fired it. The day itself follows the clock both ways: kept forward instead, a clock
    // once read a day ahead (a host clock wrong at boot, before its offset is measured) judged no daily loss until
    // that day came
    if (next.killSwitch?.kind === 'daily-loss' && day > utcDay(next.killSwitch.at)) {
      cleared = next.killSwitch;
      next.killSwitch = null;
    }
  }
  next.equityPeak = Math.max(next.equityPeak, equity);
  if (next.killSwitch) return { state: next, cleared };
  // which equity is judged, in the reason the operator reads
  const judged =
    next.capital === undefined ? 'equity' : `the bot's equity (capital ${next.capital} + its PnL)`;
  const drawdownPct = next.equityPeak > 0 ? ((next.equityPeak - equity) / next.equityPeak) * 100 : 0;
  if (drawdownPct >= risk.maxDrawdownPct) {
    next.killSwitch = {
      kind: 'max-drawdown',
      reason: `${judged} ${equity.toFixed(2)} is ${drawdownPct.toFixed(2)}% below its peak ${next.equityPeak.toFixed(2)} (limit ${risk.maxDrawdownPct}%)`,
      at: now,
    };
    return { state: next, triggered: next.killSwitch, cleared };
  }
  const dailyLimit = (next.dayStartEquity * risk.maxDailyLossPct) / 100;
  if (
    next.dailyLossOverrideDay !== day &&
    realizedToday < 0 &&
    next.dayStartEquity > 0 &&
    -realizedToday >= dailyLimit
  ) {
    next.killSwitch = {
      kind: 'daily-loss',
      reason: `realized loss today ${(-realizedToday).toFixed(2)} reached ${risk.maxDailyLossPct}% of start-of-day ${judged} ${next.dayStartEquity.toFixed(2)}`,
      at: now,
    };
    return { state: next, triggered: next.killSwitch, cleared };
  }
  return { state: next, cleared };
}

/** How many orders of each side may hold fills on the exchange that the local positions do not have yet. */
export interface UnsyncedSides {
  buys: number;
  sells: number;
}

/**
 * Whether a risk update must wait for the orders in flight to be synced and the balance read again. The balance is
 * the exchange's (a fill is in it at once) while positions are the bot's (a fill counts once synced): a buy
 * filled but not synced takes its cost out of equity before its coins count. So a drawdown kill switch with buys
 * in flight, and a new day's start equity with any order in flight, wait for a settled reading (both are rare: the
 * extra requests are paid then only). A new peak never waits: `capPeak` bounds it instead.
 */
export function needsSettledReading(before: RiskState, update: RiskUpdate, unsynced: UnsyncedSides): boolean {
  if (update.triggered?.kind === 'max-drawdown' && unsynced.buys > 0) return true;
  return update.state.day !== before.day && unsynced.buys + unsynced.sells > 0;
}

/**
 * A sell filled but not synced counts twice (its proceeds in the balance, its coins still a position), and a peak
 * raised on that is a false kill switch later. So a new peak is raised at most to `peakSafeEquity`, the equity
 * without the unfilled rest of the sells in flight (at most the true equity, whatever they filled at); with no
 * sell in flight that is the equity itself. The next reading after they are synced raises it the rest of the way.
 */
export function capPeak(before: RiskState, update: RiskUpdate, peakSafeEquity: number): RiskUpdate {
  if (update.state.equityPeak <= before.equityPeak) return update;
  const equityPeak = Math.max(before.equityPeak, Math.min(update.state.equityPeak, peakSafeEquity));
  return { ...update, state: { ...update.state, equityPeak } };
}

/**
 * The risk state measured in `capital`'s measure (undefined: the account's equity). The same measure: the state as
 * it is (null). Another (the setting turned on, off or changed across a restart): the peak and the day's start
 * equity begin again from this reading — `peakSafeEquity` and `equity`, as a new peak and a new day would — for an
 * equity in another measure is no loss: judged against the old peak it would fire the kill switch on nothing. A
 * kill switch already set stays (the operator's resume lifts it).
 */
export function rebaseRisk(
  state: RiskState,
  capital: number | undefined,
  equity: number,
  peakSafeEquity: number,
): RiskState | null {
  if (state.capital === capital) return null;
  const { capital: _was, ...rest } = state;
  return {
    ...rest,
    equityPeak: Math.min(equity, peakSafeEquity),
    // its day stays: a reading on a new day starts it (evaluateRisk), ending a daily-loss kill switch of the last
    dayStartEquity: equity,
    ...(capital !== undefined ? { capital } : {}),
  };
}

/**
 * After the operator's resume: the kill switch is off. Past a drawdown kill switch the drawdown is measured from the
 * current equity again (else it fires again at once); past a daily-loss one it stays off for the rest of that UTC
 * day. Any other resume keeps the peak: a pause the operator lifts (a /pause, a daily-loss kill switch) forgives no
 * drawdown — the peak reset there, the next day's first losses were measured from a lower peak each day, and a
 * losing streak capped by the daily limit never met the drawdown limit. A pause that lifts by itself (a daily-loss
 * kill switch ending with its day, an operational cause settled) does not come here: the risk state is not the
 * pause's (entry-pause.ts).
 */
export function resetAfterResume(state: RiskState, equity: number, now: number): RiskState {
  const dailyLossOverrideDay =
    state.killSwitch?.kind === 'daily-loss' ? utcDay(now) : state.dailyLossOverrideDay;
  const equityPeak = state.killSwitch?.kind === 'max-drawdown' ? equity : state.equityPeak;
  return { ...state, equityPeak, killSwitch: null, dailyLossOverrideDay };
}

/**
 * A held amount is a position when the exits could sell it (precision.ts sellableByExits: by a market order, as a
 * stop-loss or close-all sells it, or — off a market order's own step or minimum — by one limit order): at
 * least one amount step and the minimum amount, worth at least the minimum order value at `price` where that minimum
 * applies (without a price, the value is not judged). Dust below that stays in the book (the next entry adds to it,
 * the next exit sells it whole) but is no position: it neither holds the symbol "in position" nor counts toward
 * `maxOpenPositions`.
 */
export function isOpenPosition(
  amount: number,
  market: Market | undefined,
  price: number | undefined,
): boolean {
  if (!market) return amount > 1e-12;
  return sellableByExits(amount, market, price) > 0;
}
