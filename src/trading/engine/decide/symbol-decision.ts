/**
 * What one symbol does this tick (pure). Whether an order may be placed is placement-gate.ts's answer; this file
 * says what to do with it. In order of precedence:
 * 1. An order whose create outcome is UNKNOWN (or an intent not yet sent) holds the symbol: nothing happens on it,
 *    not even a cancel, until the exchange has answered for it.
 * 2. Exits first: when the stop-loss or take-profit of the position fires, every working order of the symbol
 *    (a resting entry, a partly filled limit order, a resting exit) is cancelled first, then the whole position —
 *    the filled part of a partly filled entry included — is exited, once the gate allows it (fills still missing
 *    from a finished order hold the exit back). An exit never asks for more than the account holds (`exitable`);
 *    when what it holds cannot be sold and the shortfall is confirmed, the position is written off instead.
 * 3. A limit order of any non-final status older than its time to live is cancelled. A strategy exit cancelled so
 *    is not given up (`standingExit`): while the position is open the strategy is asked again over the candles since
 *    the exit's signal, and while it still says exit the exit is placed again at the new price — at market after
 *    `LIMIT_EXIT_TRIES` limit exits in a row did not fill in time.
 * 4. Otherwise, when the gate allows an order on the symbol, the strategy is asked; `decideOnSignal` turns its
 *    signal into an order, or not, asking the gate again on the facts as they are after the candle read (entries
 *    pass the gate's entry rules: traded, paused, position limit — what other symbols placed meanwhile counts).
 */
import { retryDelayMs } from '../../../shared/retry';
import type { Market } from '../../exchange/exchange';
import type { Signal } from '../../strategy/strategy';
import { isFinal, isProtectiveExit, type LocalOrder } from '../orders/order-state';
import { placementBlock, type PlacementFacts } from './placement-gate';
import { averageEntryPrice, type PositionBook } from '../books/pnl';
import { entryBelowStopFloor } from './entry-floor';
import { causesOf, pauseSummary } from '../operator/pause-causes';
import type { PauseState } from '../state/trading-state';
import {
  checkStopLossTakeProfit,
  isOpenPosition,
  sizeExitOrder,
  sizeOrder,
  type ExitOrder,
  type ExitOrderSize,
  type ExitTrigger,
  type RiskConfig,
} from './risk';

export interface SymbolView {
  symbol: string;
  market: Market;
  /** Last traded price. */
  price: number;
  position: PositionBook | undefined;
  /** What the placement gate needs to know of the symbol now (its pending orders and `now` included). */
  facts: PlacementFacts;
  risk: RiskConfig;
  limitOrderTtlMs: number;
  /** The configured order type (a stop-loss always goes at market: risk.ts sizeExitOrder). */
  orderType: 'market' | 'limit';
  /**
   * The most an exit may ask for (held-balance.ts `exitable`: the coin's free balance plus the bot's own sells'
   * locked rest, at most the position); undefined before the first balance read.
   */
  exitable?: number;
  /** The account holds less than the position, seen on two readings in a row (shortfall-watch.ts). */
  shortfall?: boolean;
}

export type SymbolDecision =
  /**
   * `heldByHalt`: a stop-loss/take-profit fires, and only the exchange's halt of the symbol holds it. `heldBack`: it
   * fires, and the account's free balance of the coin cannot pay it (locked by orders not the bot's, or a shortfall
   * not confirmed yet).
   */
  | { kind: 'wait'; reason: string; heldByHalt?: ExitTrigger; heldBack?: ExitTrigger }
  | { kind: 'cancel'; orders: string[]; reason: string }
  | ({ kind: 'exit'; trigger: ExitTrigger; reason: string } & ExitOrder)
  /** The exit fired, and what the account holds of the position cannot be sold: the shortfall is written off. */
  | { kind: 'write-off'; trigger: ExitTrigger; reason: string }
  | { kind: 'strategy'; inPosition: boolean };

export function decideSymbol(v: SymbolView): SymbolDecision {
  const { facts } = v;
  const held = placementBlock(facts, 'stop-loss');
  if (held?.rule === 'unknown') return { kind: 'wait', reason: held.reason };
  // dust worth less than the minimum order value at this price is no position (risk.ts isOpenPosition)
  const inPosition = !!v.position && isOpenPosition(v.position.amount, v.market, v.price);

  if (inPosition) {
    const trigger = checkStopLossTakeProfit(averageEntryPrice(v.position!), v.price, v.risk);
    if (trigger) {
      const what = `${trigger.kind} on ${v.symbol}: price ${v.price} is ${trigger.changePct.toFixed(2)}% from entry ${averageEntryPrice(v.position!).toFixed(4)}`;
      const block = placementBlock(facts, trigger.kind);
      if (block?.rule === 'working') {
        return { kind: 'cancel', orders: block.orders!, reason: `${what}; cancel first` };
      }
      if (block?.rule === 'halted')
        return { kind: 'wait', reason: `${what}; ${block.reason}`, heldByHalt: trigger };
      if (block) return { kind: 'wait', reason: `${what}; ${block.reason}` };
      // a stop-loss must get out: always at market (as one limit at the marketable price where a market order cannot
      // sell the holding whole: sizeExitOrder; at market again what it can once such a limit went unsold)
      const type = trigger.kind === 'stop-loss' ? 'market' : v.orderType;
      // never more than the account holds (the owner's coins are never sold, and more would be refused forever)
      const held = Math.min(v.position!.amount, v.exitable ?? Infinity);
      // after a piece refused as too large for the book, half of it (depthRefusedPiece)
      const depth = facts.depthRefused;
      const depthCap = depth ? depth.amount / 2 : undefined;
      const size = sizeExitOrder(held, v.price, v.market, type, facts.urgentLimitMissed, depthCap);
      // a piece no smaller than the one just refused (at the smallest an order can sell) waits the refusal's backoff
      const until = facts.protectiveCooldownUntil;
      if (size.ok && depth?.latest && size.amount >= depth.amount && until !== null && facts.now < until) {
        return {
          kind: 'wait',
          reason: `${what}; the exchange refused the last piece as too large for its book and none can be smaller; tried again in ${Math.ceil((until - facts.now) / 1000)} s`,
        };
      }
      if (size.ok) return { kind: 'exit', trigger, ...exitOrder(size), reason: what };
      if (held < v.position!.amount) {
        const short = `${what}; the account holds ${held} of the position's ${v.position!.amount}`;
        if (v.shortfall) return { kind: 'write-off', trigger, reason: short };
        return { kind: 'wait', reason: `${short}: ${size.reason}`, heldBack: trigger };
      }
    }
  }

  const expired = facts.pending.filter(
    (o) => !isFinal(o.status) && o.type === 'limit' && facts.now - o.createdAt > v.limitOrderTtlMs,
  );
  if (expired.length > 0) {
    return {
      kind: 'cancel',
      orders: expired.map((o) => o.clientOrderId),
      reason: 'limit order did not finish in time',
    };
  }
  // entries paused by the operator (/pause, close-all) or a kill switch: a limit entry resting on the exchange would
  // still buy until its time to live — a position opened after the pause (review risk45: the daily loss limit hit,
  // the bot bought again). Cancelled now; what it filled is the position. Not for an operational pause (an order in
  // doubt, the state unsaved or hidden): its orders are what it waits to learn the truth of, not ours to end; nor an
  // order in doubt under any pause — its cancel answers "not found" every tick, and its settling ends it (review 45b)
  const restingEntries = cancelsRestingEntries(facts.pause)
    ? facts.pending.filter(
        (o) =>
          o.purpose === 'entry' &&
          o.type === 'limit' &&
          (o.status === 'open' || o.status === 'partially_filled') &&
          o.inDoubtAt === undefined,
      )
    : [];
  if (restingEntries.length > 0) {
    return {
      kind: 'cancel',
      orders: restingEntries.map((o) => o.clientOrderId),
      reason: `entries paused (${pauseSummary(facts.pause!)}): a resting entry is cancelled`,
    };
  }
  // what any order of the symbol waits for; an entry has more rules (decideOnSignal)
  const block = placementBlock(facts, 'exit');
  if (block) return { kind: 'wait', reason: block.reason };
  return { kind: 'strategy', inPosition };
}

export interface SignalView {
  signal: Signal;
  inPosition: boolean;
  market: Market;
  price: number;
  position: PositionBook | undefined;
  /**
   * The symbol's placement facts as they are when the signal is decided on — read again after the candles (the
   * other symbols' entries and a pause landing meanwhile count), and nothing awaited between this decision and the
   * order's intent (symbol-tick.ts).
   */
  facts: PlacementFacts;
  stakePerTrade: number;
  /** The configured order type of entries and strategy exits. */
  orderType: 'market' | 'limit';
  /** trading.risk.stopLossPct: an entry's position must be sellable by its stop-loss (entry-floor.ts). */
  stopLossPct: number;
  /** As SymbolView's: the most an exit may ask for; undefined before the first balance read. */
  exitable?: number;
}

export type SignalDecision =
  /** `stakeTooSmall`: the stake buys a position its stop-loss could not sell (entry-floor.ts): the operator's to fix. */
  | { kind: 'none'; reason?: string; quiet?: boolean; stakeTooSmall?: boolean }
  | { kind: 'enter'; amount: number }
  | ({ kind: 'exit' } & ExitOrder);

export function decideOnSignal(v: SignalView): SignalDecision {
  if (v.signal.action === 'exit-long' && v.inPosition) {
    // an order placed meanwhile (close-all's sell) holds the symbol: never two exits at once
    const block = placementBlock(v.facts, 'exit');
    if (block) return { kind: 'none', reason: block.reason };
    const size = sizeExitOrder(
      Math.min(v.position!.amount, v.exitable ?? Infinity),
      v.price,
      v.market,
      v.orderType,
    );
    return size.ok ? { kind: 'exit', ...exitOrder(size) } : { kind: 'none', reason: size.reason };
  }
  if (v.signal.action !== 'enter-long' || v.inPosition) return { kind: 'none', quiet: true };
  const block = placementBlock(v.facts, 'entry');
  if (block) return { kind: 'none', reason: block.reason };
  const size = sizeOrder(v.stakePerTrade, v.price, v.market, v.orderType);
  if (!size.ok) return { kind: 'none', reason: size.reason };
  const floor = entryBelowStopFloor({
    stake: v.stakePerTrade,
    price: v.price,
    market: v.market,
    type: v.orderType,
    held: v.position?.amount ?? 0,
    stopLossPct: v.stopLossPct,
  });
  if (floor !== null) return { kind: 'none', reason: floor, stakeTooSmall: true };
  return { kind: 'enter', amount: size.amount };
}

/** The order of a sized exit as a decision carries it: its amount, type and a limit's price. */
function exitOrder(size: Extract<ExitOrderSize, { ok: true }>): ExitOrder {
  const { amount, type, limitPrice } = size;
  return limitPrice === undefined ? { amount, type } : { amount, type, limitPrice };
}

/**
 * Limit exits of one strategy exit that their time to live cancelled in a row before the next goes at market. A limit
 * exit that keeps missing is a market moving away from it (falling, for a long position's sell): each new limit
 * chases it a step behind, and the position meanwhile rides with nothing but the stop-loss (which may be off). A
 * stop-loss always goes at market for the same reason; here the strategy's exit is given three chances at the
 * maker price first.
 */
export const LIMIT_EXIT_TRIES = 3;

/**
 * How many of the newest closed candles an entry signal may come from (pure): those a running bot's ticks would
 * have shown the strategy as new — one tick's worth of candles, plus one for a tick late over a candle's close.
 * After an outage (a restart, candle reads failing for an hour) more candles are new, and a cross among the older
 * ones is a stale signal: entering now would buy the move late, at a price the strategy never saw as its entry.
 * Exits look back over the whole gap: selling late lowers the risk (and a strategy exits only while its condition
 * still holds).
 */
export function signalCandles(
  newCandles: number,
  inPosition: boolean,
  periodMs: number,
  tickIntervalMs: number,
): number {
  if (inPosition || !(periodMs > 0)) return newCandles;
  return Math.min(newCandles, Math.max(1, Math.ceil(tickIntervalMs / periodMs)) + 1);
}

/**
 * A strategy exit that ended without selling all it asked, the exchange's doing: a limit exit its time to live
 * cancelled (the market moved away), one the exchange refused (a rate limit, "server busy": placed again after the
 * refusal cooldown) or the bot refused unsent (`refusedUnsent`: placed again after the wait it was given), or one
 * the exchange expired (Binance self-trade prevention). One the owner cancelled on the exchange, or a stop
 * cancelled, is not chased.
 */
function missedExit(o: LocalOrder, limitOrderTtlMs: number): boolean {
  if (o.purpose !== 'exit' || o.filled >= o.amount || o.exitLapsedAt !== undefined) return false;
  if (o.refused === true || o.status === 'expired') return true;
  return o.type === 'limit' && o.status === 'cancelled' && o.updatedAt - o.createdAt >= limitOrderTtlMs;
}

/**
 * The strategy exit that stands (pure): the symbol's latest orders are strategy exits that missed (`missedExit`: in
 * limit mode cancelled at their time to live before they filled, refused or expired by the exchange; `tries` of them
 * in a row, the first sent at `since`, the latest `latest`). Its signal was consumed
 * with the first one; the strategy is asked again over the candles since `since` (symbol-tick.ts), and the exit
 * placed again while the strategy still says exit. Null when the latest order is anything else — a filled exit, an
 * entry, a stop-loss, close-all's sell, or an exit cancelled before its time to live (by the owner on the exchange,
 * or at a stop) — or when the strategy, asked again, said hold (`exitLapsedAt` on the latest): nothing stands then,
 * and the next exit signal is a new exit whose limit tries count from none (a hold between two signals is not the
 * market running away from one exit, and the new one is not sent at market for the old one's misses).
 */
export function standingExit(
  ordersOfSymbol: readonly LocalOrder[],
  limitOrderTtlMs: number,
): { since: number; tries: number; latest: string } | null {
  const chain = missedExits(ordersOfSymbol, limitOrderTtlMs);
  if (chain.length === 0) return null;
  // an exit refused unsent never reached the exchange: no try (LIMIT_EXIT_TRIES)
  let tries = 0;
  for (const o of chain) if (!refusedUnsent(o)) tries++;
  return { since: chain[0].createdAt, tries, latest: chain[chain.length - 1].clientOrderId };
}

/**
 * The symbol's latest orders that are strategy exits that missed (`missedExit`), oldest first: the chain a standing
 * exit counts. The archive keeps them in the hot state while the position is open (OrderManager.archive), so the
 * exit still stands when other symbols' orders finish meanwhile.
 */
export function missedExits(ordersOfSymbol: readonly LocalOrder[], limitOrderTtlMs: number): LocalOrder[] {
  const sorted = [...ordersOfSymbol].sort((a, b) => a.createdAt - b.createdAt);
  let first = sorted.length;
  while (first > 0 && missedExit(sorted[first - 1], limitOrderTtlMs)) first--;
  return sorted.slice(first);
}

/**
 * Refused before it left (rate-limit-gate.ts): the exchange's request pacing had no room for it within its budget,
 * or the gate stayed closed longer after the exchange's rate-limit refusal. The exchange never saw it, so it is not
 * the exchange refusing the symbol's orders: it neither starts nor lengthens a refusal streak (`cooldownUntil`,
 * `protectiveCooldownUntil`) and is no limit try (`standingExit`); the symbol waits only the wait the gate gave it
 * (`unsentWaitUntil`).
 */
export function refusedUnsent(o: LocalOrder): boolean {
  return o.refused === true && o.neverSent === true;
}

/**
 * When the symbol may place again after the latest of `orders` was refused unsent (`refusedUnsent`): then, plus the
 * wait the gate gave (its `retryAfterMs`, whole — the gate refuses anything sooner, unsent; none when it gave none).
 * Null when the latest is anything else. Entries and strategy exits ask it of the symbol's orders, a stop-loss or
 * take-profit of its protective exits only (an entry's refusal never holds a stop-loss back: placement-facts.ts).
 */
export function unsentWaitUntil(orders: readonly LocalOrder[]): number | null {
  let latest: LocalOrder | undefined;
  // the latest, as the sorts here find it: the last of equal times
  for (const o of orders) if (!latest || o.createdAt >= latest.createdAt) latest = o;
  return latest && refusedUnsent(latest) ? latest.updatedAt + (latest.retryAfterMs ?? 0) : null;
}

/**
 * When the symbol may place again after the exchange refused its latest orders: the refusal's time plus the
 * cooldown, doubled for each refusal in a row (at most `maxMs`), never less than the wait the exchange asked for.
 * Null when the latest order was not refused. Orders refused unsent are passed over (`refusedUnsent`).
 */
export function cooldownUntil(
  ordersOfSymbol: readonly LocalOrder[],
  baseMs: number,
  maxMs: number,
): number | null {
  const sorted = ordersOfSymbol.filter((o) => !refusedUnsent(o)).sort((a, b) => a.createdAt - b.createdAt);
  let streak = 0;
  for (let i = sorted.length - 1; i >= 0 && sorted[i].refused; i--) streak++;
  return streak === 0 ? null : refusedUntil(sorted[sorted.length - 1], streak, baseMs, maxMs);
}

/**
 * When a stop-loss or take-profit may be placed again after the exchange refused the symbol's latest protective
 * exits alike (same error): a refusal that lasts (a size the exchange never takes, no balance) is not retried
 * every tick, and the exit is never given up — the wait grows to `maxMs` and stays there. An exit that ended
 * `expired` with nothing filled counts as refused: a market/IOC order the exchange expired (Binance self-trade
 * prevention EXPIRE_TAKER against the owner's resting order, no liquidity) would otherwise be sent again every
 * tick. Null when the latest protective exit was not refused (an entry's refusal never holds a stop-loss back).
 * Exits refused unsent are passed over (`refusedUnsent`).
 */
export function protectiveCooldownUntil(
  ordersOfSymbol: readonly LocalOrder[],
  baseMs: number,
  maxMs: number,
): number | null {
  const protective = ordersOfSymbol
    .filter((o) => isProtectiveExit(o.purpose) && !refusedUnsent(o))
    .sort((a, b) => a.createdAt - b.createdAt);
  const latest = protective[protective.length - 1];
  if (!latest || !refusedLike(latest)) return null;
  let streak = 0;
  for (let i = protective.length - 1; i >= 0; i--) {
    const o = protective[i];
    if (!refusedLike(o) || o.error !== latest.error) break;
    streak++;
  }
  return refusedUntil(latest, streak, baseMs, maxMs);
}

/**
 * Whether the symbol's latest urgent exit — a stop-loss, take-profit or close-all piece (`isUrgentExit`), no entry
 * after it — was a LIMIT that ended with part of it unsold: cancelled resting, as a stop-loss still firing or the next
 * close-all cancels one (risk.ts sizeExitOrder sells a holding a market order cannot sell whole by a limit at the
 * marketable price, 2 % under the last price read: it rests when the bids are further down — a gap, a stale price, a
 * spread wider than that). The next one then sells at market what a market order can, which fills wherever the bids
 * are; the rest goes by a limit after. A refusal is not a miss (its backoff is protectiveCooldownUntil's), except a
 * refusal of the limit's price for the band around the average price (`refusedForPriceBand`): in a crash faster than
 * that band every such limit is refused until the average catches up, while a market order — no price, not judged —
 * is taken (review 44b: the stop-loss rode the crash on its backoff, refused -1013 every time;
 * market-lot-live.test.ts).
 */
export function urgentLimitMissed(ordersOfSymbol: readonly LocalOrder[]): boolean {
  let latest: LocalOrder | undefined;
  for (const o of ordersOfSymbol) {
    if (!isUrgentExit(o) && o.purpose !== 'entry') continue;
    if (latest === undefined || o.createdAt >= latest.createdAt) latest = o;
  }
  if (latest === undefined || !isUrgentExit(latest) || latest.type !== 'limit') return false;
  if (latest.filled >= latest.amount) return false;
  if (latest.refused === true) return refusedForPriceBand(latest);
  return latest.status === 'cancelled';
}

/**
 * Whether `pause` ends the limit entries resting on the exchange (decideSymbol): a pause of the operator's (/pause,
 * close-all) or of a kill switch, and no operational cause beside it — an order in doubt or a state that could not be
 * saved wants the exchange's truth first, and a cancel would make it.
 */
function cancelsRestingEntries(pause: PauseState | null): boolean {
  if (pause === null) return false;
  const causes = causesOf(pause);
  return causes.every((c) => c.by === 'operator' || c.by === 'risk');
}

/**
 * Refused by the exchange for its price: Binance -1013 "Filter failure: PERCENT_PRICE_BY_SIDE" / "PERCENT_PRICE"
 * (filters.md: a sell's `price` >= the average price of the last `avgPriceMins` × askMultiplierDown). Those filters
 * judge an order's `price`; a MARKET order has none.
 */
function refusedForPriceBand(o: LocalOrder): boolean {
  return o.refused === true && o.neverSent !== true && /\bPERCENT_PRICE/.test(o.error ?? '');
}

/**
 * The latest urgent exit of the symbol's position — a stop-loss, take-profit or close-all piece since its latest entry
 * — that the exchange refused as too large for its book (`depthRefusal`, the exchange's pattern of such an answer:
 * ExchangeTraits; Bybit 170197 / 170198 "Your order quantity to sell is too large. The filled price may deviate
 * significantly from the market price", no threshold given): its amount, and whether it is the latest urgent exit
 * (none sent after it). Null when there is none, or no pattern.
 *
 * The next urgent exits sell at most half of it (symbol-decision.ts decideSymbol, close-all.ts sellAll; never below the
 * smallest amount one order can sell: risk.ts sizeExit), halved again after each further such refusal, with no
 * refusal backoff for a piece smaller than the one refused — a thin book would refuse the same size again for as long
 * as it stays thin while the position rides a falling market. A piece taken does not bring the full size back: the
 * rest of the position goes in pieces of that size (a thin book stays thin for a while, and a full-size try would be
 * refused again and halved anew, one tick and one refusal per halving); the next entry starts from the full size.
 */
export function depthRefusedPiece(
  ordersOfSymbol: readonly LocalOrder[],
  depthRefusal: RegExp | undefined,
): { amount: number; latest: boolean } | null {
  if (depthRefusal === undefined) return null;
  const sorted = ordersOfSymbol
    .filter((o) => (isUrgentExit(o) || o.purpose === 'entry') && !refusedUnsent(o))
    .sort((a, b) => a.createdAt - b.createdAt);
  for (let i = sorted.length - 1; i >= 0; i--) {
    const o = sorted[i];
    if (o.purpose === 'entry') return null;
    if (o.refused === true && depthRefusal.test(o.error ?? '')) {
      return { amount: o.amount, latest: i === sorted.length - 1 };
    }
  }
  return null;
}

/** A stop-loss, take-profit or close-all piece: the exits that go at market. */
function isUrgentExit(o: LocalOrder): boolean {
  return isProtectiveExit(o.purpose) || o.purpose === 'close-all';
}

/** Refused by the exchange, or expired by it with nothing filled: either way the exit did nothing. */
function refusedLike(o: LocalOrder): boolean {
  return o.refused === true || (o.status === 'expired' && o.filled === 0);
}

/** The end of the wait after `streak` refusals in a row, the latest `latest`: the one backoff (no jitter: one bot). */
function refusedUntil(latest: LocalOrder, streak: number, baseMs: number, maxMs: number): number {
  const wait = retryDelayMs(streak, {
    baseDelayMs: baseMs,
    maxDelayMs: maxMs,
    random: () => 1,
    retryAfterMs: latest.retryAfterMs,
  });
  return latest.updatedAt + Math.max(wait, latest.retryAfterMs ?? 0);
}
