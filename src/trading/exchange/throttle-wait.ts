/**
 * How long ccxt's own request throttle (its leaky bucket: Binance's one weight budget, ccxt-exchange.ts
 * `ccxtThrottle`) will hold a request sent now: the throttle lets each queued request out, in order, once its tokens
 * are at or above zero, then takes the request's cost; the tokens refill at `refillRate` per millisecond. So a new
 * request leaves when the refill has covered the costs queued before it beyond the tokens there are. A create that
 * would wait past its budget is refused at once, unsent (rate-limit-gate.ts `withGateBudget`), not when the throttle
 * finally lets it go. (pure)
 */
export interface ThrottleState {
  /** The bucket's tokens now (negative once requests took more than there were). */
  tokens: number;
  /** Tokens per millisecond. */
  refillRate: number;
  /** The costs of the requests queued in it, not yet let out. */
  queued: readonly number[];
}

export function throttleWaitMs(state: ThrottleState): number {
  const ahead = state.queued.reduce((sum, cost) => sum + cost, 0);
  const short = ahead - state.tokens;
  if (short <= 0) return 0;
  return state.refillRate > 0 ? short / state.refillRate : Number.POSITIVE_INFINITY;
}
