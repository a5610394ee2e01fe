/**
 * The exchange reads every start's recovery makes whatever the state holds — the recent orders of each symbol
 * (traded, or with an order in state), the open orders of all symbols — and the balance read beside them. Recovery
 * sends them itself once the markets and the account have answered; with markets an earlier run kept
 * (connect-reads.ts), the daemon sends them as soon as the account answered instead, while the fresh markets load
 * (a large exchange's answer, the start's longest read) is still on its way. Not with the first reads: a start the
 * exchange refuses for rate then has only markets and account out, and every later request leaves one at a time
 * behind the gate (rate-limit-gate.ts). They are only reads: nothing is applied before the fresh markets answered
 * and the account passed the identity check. Recovery takes them as first attempts (a failed one is read again
 * under its retry).
 */
import type { BalanceEntry, Exchange, ExchangeOrder } from '../../exchange/exchange';
import type { ConnectReads } from './connect-reads';

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

/**
 * Recovery's reads sent once the account answered its first read, when markets were kept (ccxt can then send and
 * parse them before the fresh load answered); undefined otherwise — the account failed first (the start waits and
 * recovery reads again after the wait), or no kept markets (recovery sends them after the markets). `symbols` is
 * asked then, with the state files open. The kept markets are only the traded symbols': the recent orders of
 * another symbol (an order in state on a symbol no longer traded), and an open-orders list naming a market outside
 * them (ccxt would have given it the exchange's market id as symbol), are read once the fresh markets are in.
 */
export async function sendRecoveryReadsEarly(
  exchange: Exchange,
  first: ConnectReads,
  symbols: () => string[],
): Promise<RecoveryReads | undefined> {
  const kept = await Promise.all([first.kept, first.account]).then(
    ([found]) => found,
    () => undefined,
  );
  if (!kept) return undefined;
  const fresh = <T>(read: () => Promise<T>): Promise<T> => first.markets.then(read);
  return {
    recent: new Map(
      symbols().map((symbol) => [
        symbol,
        quiet(
          kept[symbol] ? exchange.fetchRecentOrders(symbol) : fresh(() => exchange.fetchRecentOrders(symbol)),
        ),
      ]),
    ),
    open: quiet(
      exchange
        .fetchOpenOrders()
        .then((orders) =>
          orders.every((o) => kept[o.symbol]) ? orders : fresh(() => exchange.fetchOpenOrders()),
        ),
    ),
    balance: quiet(exchange.fetchBalance()),
  };
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
