/**
 * The Exchange port: the only view of an exchange the engine has. Three adapters implement it (paper,
 * dry-run = ccxt public data + paper fills, live = ccxt), and the engine never branches on which one it has.
 *
 * Errors: adapters throw only the project's errors (shared/errors.ts). A create that fails with a
 * `NetworkError` (timeout, reset, lost response) has an UNKNOWN outcome: the caller resolves it with
 * `fetchOrderByClientId`, never by retrying the create.
 */
import type { OrderSide, OrderType } from '../../shared/ipc/protocol';

export type { OrderSide, OrderType };

/** The exchange's view of an order. */
export type ExchangeOrderStatus = 'open' | 'closed' | 'canceled' | 'rejected' | 'expired';

export interface ExchangeTrade {
  id: string;
  orderId: string;
  symbol: string;
  side: OrderSide;
  price: number;
  amount: number;
  cost: number;
  fee: { cost: number; currency: string };
  timestamp: number;
}

export interface ExchangeOrder {
  id: string;
  clientOrderId?: string;
  symbol: string;
  side: OrderSide;
  type: OrderType;
  price?: number;
  amount: number;
  filled: number;
  remaining: number;
  average?: number;
  status: ExchangeOrderStatus;
  timestamp: number;
  /** Trades of this order when the exchange returns them with the order (otherwise use fetchOrderTrades). */
  trades?: ExchangeTrade[];
}

export interface Market {
  symbol: string;
  base: string;
  quote: string;
  /** Amount step (e.g. 0.0001); amounts are floored to it. */
  amountStep: number;
  /** Price tick (e.g. 0.01). */
  priceStep: number;
  minAmount: number;
  /** Minimum order value in quote currency. */
  minNotional: number;
}

export interface Ticker {
  symbol: string;
  last: number;
  bid: number;
  ask: number;
  timestamp: number;
}

/** [timestamp, open, high, low, close, volume] as ccxt returns it. */
export type Candle = [number, number, number, number, number, number];

export interface BalanceEntry {
  free: number;
  used: number;
  total: number;
}

export interface CreateOrderRequest {
  symbol: string;
  side: OrderSide;
  type: OrderType;
  amount: number;
  price?: number;
  /** Deterministic id `<botId>-<seq>`, committed before the call. */
  clientOrderId: string;
}

export interface Exchange {
  /** `paper`, or the ccxt exchange id. */
  readonly id: string;
  loadMarkets(): Promise<Record<string, Market>>;
  fetchTicker(symbol: string): Promise<Ticker>;
  fetchCandles(symbol: string, timeframe: string, limit: number): Promise<Candle[]>;
  /**
   * Never retried by the adapter. Throws NetworkError when the outcome is unknown. A clientOrderId the exchange
   * already has is refused with InvalidOrderError whose `context.duplicate` is true: that order EXISTS (look it
   * up with fetchOrderByClientId), unlike other InvalidOrderErrors which mean it was never placed.
   */
  createOrder(request: CreateOrderRequest): Promise<ExchangeOrder>;
  fetchOrder(id: string, symbol: string): Promise<ExchangeOrder>;
  /** Looks an order up by our clientOrderId; throws OrderNotFoundError when the exchange has none. */
  fetchOrderByClientId(clientOrderId: string, symbol: string): Promise<ExchangeOrder>;
  fetchOpenOrders(symbol?: string): Promise<ExchangeOrder[]>;
  fetchOrderTrades(orderId: string, symbol: string): Promise<ExchangeTrade[]>;
  cancelOrder(id: string, symbol: string): Promise<ExchangeOrder>;
  fetchBalance(): Promise<Record<string, BalanceEntry>>;
  close(): Promise<void>;
}
