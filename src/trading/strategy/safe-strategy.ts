/**
 * The one way the engine calls a strategy: any throw, and any answer that is not a valid Signal, becomes a
 * StrategyError carrying the strategy and symbol, so one bad strategy skips a tick instead of crashing the loop.
 */
import { StrategyError, errorMessage } from '../../shared/errors';
import type { Candle } from '../exchange/exchange';
import type { Signal, Strategy, StrategyContext } from './strategy';

const ACTIONS = new Set(['enter-long', 'exit-long', 'hold']);

export class SafeStrategy implements Strategy {
  constructor(private readonly inner: Strategy) {}

  get name(): string {
    return this.inner.name;
  }

  get minCandles(): number {
    return this.inner.minCandles;
  }

  evaluate(candles: readonly Candle[], ctx: StrategyContext): Signal {
    const context = { strategy: this.inner.name, symbol: ctx.symbol, candles: candles.length };
    let signal: unknown;
    try {
      signal = this.inner.evaluate(candles, ctx);
    } catch (err) {
      throw new StrategyError(
        `strategy ${this.inner.name} failed on ${ctx.symbol}: ${errorMessage(err)}`,
        context,
        {
          cause: err,
        },
      );
    }
    if (!isSignal(signal)) {
      throw new StrategyError(
        `strategy ${this.inner.name} returned an invalid signal on ${ctx.symbol}: ${safeJson(signal)}`,
        context,
      );
    }
    return signal;
  }
}

function isSignal(value: unknown): value is Signal {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.action === 'string' && ACTIONS.has(v.action) && typeof v.reason === 'string';
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value)?.slice(0, 200) ?? String(value);
  } catch {
    return String(value);
  }
}
