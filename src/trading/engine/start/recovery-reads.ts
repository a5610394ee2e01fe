/**
 * The exchange reads every start's recovery makes whatever the state holds — the recent orders of each symbol
 * (traded, or with an order in state), the open orders of all symbols — and the balance read beside them. Recovery
 * sends them itself once the markets and the account have answered; with markets an earlier run kept
 * (connect-reads.ts), the daemon sends them before: they are only reads, nothing is applied before the fresh markets
 * answered and the account passed the identity check, and recovery takes them as first attempts (a failed one is
 * read again under its retry).
 *
 * When they leave:
 * - with the first reads, before the state files are even open — when the exchange has not refused this bot for
 *   rate lately (Exchange.refusedLately: no closing of the whole rate-limit gate within a day, kept between runs by
 *   gate-file.ts). The account's answer is not waited for: a crash's restart, the common case, spends one round trip
 *   less. They are used only when the account's first read answered: after a failed one the start waits and
 *   retries, and recovery reads again after the wait (what was read before it is stale). What they cover needs no
 *   state: the traded symbols come from the configuration; a symbol only an order in state is on (no longer traded)
 *   is read by recovery itself, once the fresh markets are in (the kept ones are the traded symbols' only).
 * - once the account answered its first read, otherwise: a start the exchange refuses for rate then has only markets
 *   and account out, and every later request leaves one at a time behind the gate (rate-limit-gate.ts). A refusal
 *   nobody here saw (an IP banned since this bot's last answer, or by another client on the same address) meets
 *   the first reads out together: a few requests more (7 instead of 2 with 5 symbols on Binance; the pacing lets a
 *   start's reads out at once on every exchange), each answered with the refusal; the first closes the gate, and
 *   nothing more leaves before its wait, not even one still waiting in the pacing (Binance bans an IP that keeps
 *   sending after 429s, and lengthens the bans of repeat offenders: what the gate and its kept file prevent).
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
 * Recovery's reads sent early when markets were kept (ccxt can then send and parse them before the fresh load
 * answered): with the first reads, or once the account answered (see above); undefined otherwise — the account's
 * first read failed (the start waits and recovery reads again after the wait), or no kept markets (recovery sends
 * them after the markets). `traded`: the configured symbols, whose markets the kept ones cover. An open-orders list
 * naming a market outside them (ccxt would have given it the exchange's market id as symbol) is read again once the
 * fresh markets are in.
 */
export async function sendRecoveryReadsEarly(
  exchange: Exchange,
  first: ConnectReads,
  traded: readonly string[],
): Promise<RecoveryReads | undefined> {
  const withFirst = !(await (exchange.refusedLately?.() ?? Promise.resolve(true)));
  const answered = first.account.then(
    () => true,
    () => false,
  );
  // refused lately: only once the account answered (the start's probe of a refusal for rate)
  if (!withFirst && !(await answered)) return undefined;
  const kept = await first.kept;
  if (!kept) return undefined;
  const fresh = <T>(read: () => Promise<T>): Promise<T> => first.markets.then(read);
  const reads: RecoveryReads = {
    recent: new Map(
      traded
        .filter((symbol) => kept[symbol])
        .map((symbol) => [symbol, quiet(exchange.fetchRecentOrders(symbol))]),
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
  // sent before the account's first answer: used only if it came (else the start waits, and recovery reads again)
  return (await answered) ? reads : undefined;
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
