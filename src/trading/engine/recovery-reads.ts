/**
 * The exchange reads every start's recovery makes whatever the state holds — the recent orders of each symbol
 * (traded, or with an order in state), the open orders of all symbols — and the balance read beside them. Recovery
 * sends them itself once the markets and the account have answered; with markets an earlier run kept
 * (connect-reads.ts), the daemon sends them with those first reads instead, one round trip sooner. They are only
 * reads: nothing is applied before the account passed the identity check. Recovery takes them as first attempts (a
 * failed one is read again under its retry).
 */
import type { BalanceEntry, Exchange, ExchangeOrder } from '../exchange/exchange';

export interface RecoveryReads {
  recent: ReadonlyMap<string, Promise<ExchangeOrder[]>>;
  open: Promise<ExchangeOrder[]>;
  balance: Promise<Record<string, BalanceEntry>>;
}

/** The symbols whose recent orders recovery reads: those traded, then any other an order in state is on. */
export function recoverySymbols(traded: readonly string[], orders: Iterable<{ symbol: string }>): string[] {
  const symbols = new Set(traded);
  for (const order of orders) symbols.add(order.symbol);
  return [...symbols];
}

export function sendRecoveryReads(exchange: Exchange, symbols: readonly string[]): RecoveryReads {
  return {
    recent: new Map(symbols.map((symbol) => [symbol, quiet(exchange.fetchRecentOrders(symbol))])),
    open: quiet(exchange.fetchOpenOrders()),
    balance: quiet(exchange.fetchBalance()),
  };
}

/** Awaited by recovery; a failure before then must not count as unhandled. */
function quiet<T>(read: Promise<T>): Promise<T> {
  read.catch(() => undefined);
  return read;
}
