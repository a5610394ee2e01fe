/**
 * The start's first exchange reads — markets and the account, which the identity check needs — sent as soon as the
 * exchange adapter exists, so the state files, the event log and the TCP server open while they travel (a live
 * start's local work and its first round trips overlap instead of adding up). `StartUp.connect` takes them as
 * its first attempts: a failure is waited out and retried there like any other. With markets an earlier run kept
 * (`kept`), recovery's reads need not wait for the fresh ones (recovery-reads.ts); the start still does — connect
 * returns the fresh markets, as without kept ones, so nothing is sized, placed or recovered before them.
 */
import type { Exchange, Market } from '../../exchange/exchange';

export interface ConnectReads {
  markets: Promise<Record<string, Market>>;
  account: Promise<string>;
  /** The markets an earlier run kept when they cover every symbol traded, else undefined (Exchange.keptMarkets). */
  kept: Promise<Record<string, Market> | undefined>;
}

export function sendConnectReads(exchange: Exchange, symbols: readonly string[] = []): ConnectReads {
  // the traded symbols' markets where the exchange can be asked for only those (connect adds any held symbol)
  const markets = exchange.loadMarkets(false, symbols);
  const account = exchange.accountId();
  // awaited by connect(); a failure before then must not count as unhandled
  markets.catch(() => undefined);
  account.catch(() => undefined);
  // after the first requests went out: reading and checking a large exchange's kept markets takes a while
  const kept = (exchange.keptMarkets?.() ?? Promise.resolve(undefined)).then((found) =>
    // kept markets without a traded symbol (listed since they were kept) would fail the start's symbol check: the
    // fresh ones decide then
    found && symbols.every((symbol) => found[symbol]) ? found : undefined,
  );
  return { markets, account, kept };
}

/** An attempt function whose first call answers `first` (when given) and every later call runs `next`. */
export function firstThen<T>(first: Promise<T> | undefined, next: () => Promise<T>): () => Promise<T> {
  let pending = first;
  return () => {
    const attempt = pending ?? next();
    pending = undefined;
    return attempt;
  };
}
