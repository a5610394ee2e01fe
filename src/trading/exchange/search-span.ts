/**
 * The times an order's rows are searched within, in the EXCHANGE's time. Bybit answers its execution list and its
 * order history only within startTime..endTime; a span in host time misses them when the host clock is off — with
 * the host 2 minutes ahead an entry's fills were never found (no position, no stop-loss), for ever. Since the bot
 * signs on the exchange's time after a timestamp refusal (clock-skew.ts: ccxt `timeDifference` = host − exchange),
 * the same offset moves every time it sends:
 *
 * - from: the order's own creation time as the exchange answered it (kept here from its lookups), else our record of
 *   its creation (host time) moved by the offset; less a minute.
 * - to: now moved by the offset, plus the most the host may still be behind unmeasured (the exchange's own window:
 *   a host further behind is refused, and then measured).
 *
 * What these cannot cover (the host clock stepped between the order's creation and a restart) the fill sync reads
 * once more without a window (fill-sync.ts), as a lookup that missed does here (ccxt-exchange.ts).
 */

/** How far before an order's creation its rows are searched. */
export const SEARCH_MARGIN_MS = 60_000;

/** Creation times kept (the most recent orders looked up; an order not among them is searched by our record). */
const KEPT_ORDERS = 1_000;

export interface SearchSpanOptions {
  /** Host clock. */
  now: () => number;
  /** ccxt's `timeDifference`: host − exchange, 0 until measured. */
  offsetMs: () => number;
  /** The most the host may be behind the exchange unrefused (the profile's recvWindowMs). */
  lateMs: number;
}

export class SearchSpans {
  private readonly created = new Map<string, number>();

  constructor(private readonly opts: SearchSpanOptions) {}

  /** Keeps the exchange's creation time of an order it answered with one. */
  remember(orderId: string, exchangeTimestamp: number | undefined): void {
    if (exchangeTimestamp === undefined) return;
    this.created.delete(orderId);
    this.created.set(orderId, exchangeTimestamp);
    if (this.created.size > KEPT_ORDERS) this.created.delete(this.created.keys().next().value!);
  }

  /** A host time on the exchange's clock, as far as the offset was measured. */
  exchangeTime(hostMs: number): number {
    return hostMs - this.opts.offsetMs();
  }

  /**
   * Where the order's rows are searched from: `since` is our record of its creation (host time); no order id (a
   * send the exchange never answered): from that record.
   */
  from(orderId: string | undefined, since: number): number {
    const created = orderId === undefined ? undefined : this.created.get(orderId);
    return (created ?? this.exchangeTime(since)) - SEARCH_MARGIN_MS;
  }

  /** From the order's creation to now, both the exchange's. */
  span(orderId: string | undefined, since: number): { from: number; to: number } {
    const to = this.exchangeTime(this.opts.now()) + this.opts.lateMs;
    // a creation recorded after now (the host clock stepped back since): never a span that ends before it starts
    return { from: Math.min(this.from(orderId, since), to - SEARCH_MARGIN_MS), to };
  }
}
