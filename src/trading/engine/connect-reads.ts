/**
 * The start's first exchange reads — markets and the account, which the identity check needs — sent as soon as the
 * exchange adapter exists, so the state files, the event log and the TCP server open while they travel (a live
 * start's local work and its first round trips overlap instead of adding up). `TradingLoop.connect` takes them as
 * its first attempts: a failure is waited out and retried there like any other.
 */
import type { Exchange, Market } from '../exchange/exchange';

export interface ConnectReads {
  markets: Promise<Record<string, Market>>;
  account: Promise<string>;
}

export function sendConnectReads(exchange: Exchange): ConnectReads {
  const markets = exchange.loadMarkets();
  const account = exchange.accountId();
  // awaited by connect(); a failure before then must not count as unhandled
  markets.catch(() => undefined);
  account.catch(() => undefined);
  return { markets, account };
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
