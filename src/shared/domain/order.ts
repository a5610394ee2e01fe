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

/**
 * What an order asks for — the one declaration of an order's fields. The engine's order (LocalOrder, OrderRequest),
 * the exchange port's create and answer (CreateOrderRequest, ExchangeOrder) and the wire view (OrderView) extend it.
 */
export interface OrderSpec {
  symbol: string;
  side: OrderSide;
  type: OrderType;
  amount: number;
  /** Limit price; absent for a market order (an exchange's answer may carry one for it). */
  price?: number;
}
