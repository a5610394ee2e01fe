/**
 * The Strategy interface: pure decisions from candles. A strategy does no I/O and reads no clock: the engine
 * hands it closed candles and a context, and it answers with one signal per call. Spot, long-only: a strategy
 * can only ask to open a long position or to close it.
 */
import type { Candle } from '../exchange/exchange';

export type SignalAction = 'enter-long' | 'exit-long' | 'hold';

export interface Signal {
  action: SignalAction;
  /** Why, in words an operator understands (shown in logs and order events). */
  reason: string;
}

export interface StrategyContext {
  symbol: string;
  /** True when the bot holds a position in this symbol. */
  inPosition: boolean;
  /**
   * How many of the newest candles the strategy has not seen yet (≥ 1). A crossover strategy looks for a cross
   * among these, so a tick that arrives late (two candles closed since the last one) does not miss a signal.
   */
  newCandles: number;
}

export interface Strategy {
  readonly name: string;
  /** Fewest closed candles `evaluate` needs; with fewer the engine does not call it. */
  readonly minCandles: number;
  evaluate(candles: readonly Candle[], ctx: StrategyContext): Signal;
}

export const HOLD: Signal = { action: 'hold', reason: 'no signal' };
