/**
 * What one symbol may do this tick (pure): the single answer to "may we place an order now?".
 *
 * In order of precedence:
 * 1. An order whose create outcome is UNKNOWN (or an intent not yet sent) holds the symbol: nothing is placed
 *    until the exchange has answered for it — a second create for the same purpose could sell twice.
 * 2. Exits first: when the stop-loss or take-profit of the position fires, every working order of the symbol
 *    (a resting entry, a partly filled limit order, a resting exit) is cancelled first, then the whole position —
 *    the filled part of a partly filled entry included — is exited. Fills still missing from a finished order
 *    hold the exit back (the position is not known without them).
 * 3. A limit order of any non-final status older than its time to live is cancelled.
 * 4. Any other working order, or finished order with fills still missing, holds the symbol (one at a time).
 * 5. After a refusal by the exchange, the symbol waits out its cooldown.
 * 6. Otherwise the strategy is asked; `decideOnSignal` turns its signal into an order, or not.
 */
import type { PauseState } from './trading-state';
import type { Market } from '../exchange/exchange';
import type { Signal } from '../strategy/strategy';
import { isFinal, type LocalOrder } from './order-state';
import { averageEntryPrice, type PositionBook } from './pnl';
import {
  checkStopLossTakeProfit,
  entryBlocker,
  isOpenPosition,
  sizeExit,
  sizeOrder,
  type ExitTrigger,
  type RiskConfig,
} from './risk';

export interface SymbolView {
  symbol: string;
  market: Market;
  /** Last traded price. */
  price: number;
  position: PositionBook | undefined;
  /** This symbol's orders that still need the exchange (not final, or final with fills missing). */
  pending: readonly LocalOrder[];
  now: number;
  risk: RiskConfig;
  limitOrderTtlMs: number;
  /** End of the cooldown after the exchange refused an order on this symbol, or null. */
  cooldownUntil: number | null;
}

export type SymbolDecision =
  | { kind: 'wait'; reason: string }
  | { kind: 'cancel'; orders: string[]; reason: string }
  | { kind: 'exit'; trigger: ExitTrigger; amount: number; reason: string }
  | { kind: 'strategy'; inPosition: boolean };

export function decideSymbol(v: SymbolView): SymbolDecision {
  const unknown = v.pending.filter((o) => o.status === 'intent' || o.status === 'unknown');
  if (unknown.length > 0) {
    return {
      kind: 'wait',
      reason: `outcome of order ${unknown.map((o) => o.clientOrderId).join(', ')} unknown: nothing is placed until the exchange answers for it`,
    };
  }
  const working = v.pending.filter((o) => !isFinal(o.status));
  const missingFills = v.pending.filter((o) => isFinal(o.status));
  const inPosition = !!v.position && isOpenPosition(v.position.amount, v.market);

  if (inPosition) {
    const trigger = checkStopLossTakeProfit(averageEntryPrice(v.position!), v.price, v.risk);
    if (trigger) {
      const what = `${trigger.kind} on ${v.symbol}: price ${v.price} is ${trigger.changePct.toFixed(2)}% from entry ${averageEntryPrice(v.position!).toFixed(4)}`;
      if (working.length > 0) {
        return {
          kind: 'cancel',
          orders: working.map((o) => o.clientOrderId),
          reason: `${what}; cancel first`,
        };
      }
      if (missingFills.length > 0) {
        return { kind: 'wait', reason: `${what}; fills of ${ids(missingFills)} still missing` };
      }
      const size = sizeExit(v.position!.amount, v.price, v.market);
      if (size.ok) return { kind: 'exit', trigger, amount: size.amount, reason: what };
    }
  }

  const expired = working.filter((o) => o.type === 'limit' && v.now - o.createdAt > v.limitOrderTtlMs);
  if (expired.length > 0) {
    return { kind: 'cancel', orders: ids(expired), reason: 'limit order did not finish in time' };
  }
  if (working.length > 0) return { kind: 'wait', reason: `order ${ids(working).join(', ')} is working` };
  if (missingFills.length > 0) {
    return {
      kind: 'wait',
      reason: `fills of finished order ${ids(missingFills).join(', ')} still missing: the position is not known without them`,
    };
  }
  if (v.cooldownUntil !== null && v.now < v.cooldownUntil) {
    return {
      kind: 'wait',
      reason: `the exchange refused the last order; next one in ${Math.ceil((v.cooldownUntil - v.now) / 1000)} s`,
    };
  }
  return { kind: 'strategy', inPosition };
}

export interface SignalView {
  signal: Signal;
  inPosition: boolean;
  market: Market;
  price: number;
  position: PositionBook | undefined;
  /** Entries are allowed on this symbol (it is in `trading.symbols`); otherwise exits only. */
  traded: boolean;
  pause: PauseState | null;
  /** Open positions plus entries in flight on other symbols (each may become a position). */
  positionsHeld: number;
  stakePerTrade: number;
  risk: RiskConfig;
}

export type SignalDecision =
  | { kind: 'none'; reason?: string; quiet?: boolean }
  | { kind: 'enter'; amount: number }
  | { kind: 'exit'; amount: number };

export function decideOnSignal(v: SignalView): SignalDecision {
  if (v.signal.action === 'exit-long' && v.inPosition) {
    const size = sizeExit(v.position!.amount, v.price, v.market);
    return size.ok ? { kind: 'exit', amount: size.amount } : { kind: 'none', reason: size.reason };
  }
  if (v.signal.action !== 'enter-long' || v.inPosition) return { kind: 'none', quiet: true };
  if (!v.traded) return { kind: 'none', reason: 'symbol no longer in trading.symbols: exits only' };
  if (v.pause) return { kind: 'none', reason: `entries paused: ${v.pause.reason}` };
  const blocked = entryBlocker(v.positionsHeld, v.risk);
  if (blocked) return { kind: 'none', reason: blocked };
  const size = sizeOrder(v.stakePerTrade, v.price, v.market);
  return size.ok ? { kind: 'enter', amount: size.amount } : { kind: 'none', reason: size.reason };
}

/**
 * When the symbol may place again after the exchange refused its latest orders: the refusal's time plus the
 * cooldown, doubled for each refusal in a row (at most `maxMs`), never less than the wait the exchange asked for.
 * Null when the latest order was not refused.
 */
export function cooldownUntil(
  ordersOfSymbol: readonly LocalOrder[],
  baseMs: number,
  maxMs: number,
): number | null {
  const sorted = [...ordersOfSymbol].sort((a, b) => a.createdAt - b.createdAt);
  let streak = 0;
  for (let i = sorted.length - 1; i >= 0 && sorted[i].refused; i--) streak++;
  if (streak === 0) return null;
  const latest = sorted[sorted.length - 1];
  const wait = Math.min(maxMs, baseMs * 2 ** (streak - 1));
  return latest.updatedAt + Math.max(wait, latest.retryAfterMs ?? 0);
}

function ids(orders: readonly LocalOrder[]): string[] {
  return orders.map((o) => o.clientOrderId);
}
