/**
 * The trading domain's words for an order, shared by the engine, the exchange adapters and the TCP contract
 * (`shared/ipc/protocol.ts` imports them from here: the wire carries the domain, it does not define it).
 */

/** How the bot trades: the built-in simulated market, a real exchange's data with paper fills, or real money. */
export type TradingMode = 'paper' | 'dry-run' | 'live';
export type OrderSide = 'buy' | 'sell';
export type OrderType = 'market' | 'limit';
/** Local order life: intent (durable, not yet sent) → unknown (sent, outcome unknown) → open → final. */
export type OrderStatus =
  'intent' | 'unknown' | 'open' | 'partially_filled' | 'filled' | 'cancelled' | 'rejected' | 'expired';
