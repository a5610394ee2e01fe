/**
 * Traded symbols the exchange halted (listed but not trading: a BREAK) or no longer lists, seen at each markets
 * load. While one is, markets are reloaded soon — `haltedMarketsRefreshMs`, doubling (the one backoff) up to
 * `marketsRefreshMs` — instead of once a day, so a symbol that trades again is back at the next reload: its orders
 * were synced all along and its stop-loss fires then. The operator hears once when a symbol halts (or is gone)
 * and once when it trades again (`market.halted` / `market.resumed`).
 */
import type { Logger } from '../../shared/logging/logger';
import { retryDelayMs } from '../../shared/retry';
import type { Market } from '../exchange/exchange';
import type { EventOutbox } from './event-outbox';

export type MarketStatus = 'trading' | 'halted' | 'delisted';

/** What the exchange's markets say of `symbol` (pure). */
export function marketStatus(symbol: string, markets: Record<string, Market>): MarketStatus {
  const market = markets[symbol];
  if (!market) return 'delisted';
  return market.halted ? 'halted' : 'trading';
}

/** The symbols whose status changed from `before` (a symbol not seen before counts as trading) (pure). */
export function statusChanges(
  before: ReadonlyMap<string, MarketStatus>,
  after: ReadonlyMap<string, MarketStatus>,
): Array<{ symbol: string; from: MarketStatus; to: MarketStatus }> {
  const changes: Array<{ symbol: string; from: MarketStatus; to: MarketStatus }> = [];
  for (const [symbol, to] of after) {
    const from = before.get(symbol) ?? 'trading';
    if (from !== to) changes.push({ symbol, from, to });
  }
  return changes;
}

export interface MarketHaltsOptions {
  exchangeId: string;
  outbox: EventOutbox;
  logger: Logger;
  /** First reload after a load that found a traded symbol halted (doubling, at most HALTED_MAX_RELOAD_MS). */
  haltedRefreshMs: number;
  /** The normal reload interval: the longest wait, halted or not. */
  refreshMs: number;
}

/**
 * The longest wait between reloads while a watched symbol is halted: a stop-loss held by a halt is placed at the
 * first reload after trading resumes, so that reload may not be hours away (a 3-hour BREAK doubling from 1 min
 * would be seen 75 min late). A markets read every 5 min is far inside every exchange's limits.
 */
export const HALTED_MAX_RELOAD_MS = 5 * 60_000;

export class MarketHalts {
  private statuses = new Map<string, MarketStatus>();
  /**
   * Loads in a row that found a watched symbol halted (the backoff's attempt). A symbol gone from the list (delisted)
   * does not count: it may stay gone for good, and the halts after it would wait as long.
   */
  private haltedLoads = 0;

  constructor(private readonly opts: MarketHaltsOptions) {}

  /** How long after the last load the next one is due. */
  get reloadAfterMs(): number {
    if (this.haltedLoads === 0) return this.opts.refreshMs;
    return retryDelayMs(this.haltedLoads, {
      baseDelayMs: this.opts.haltedRefreshMs,
      maxDelayMs: Math.min(this.opts.refreshMs, Math.max(HALTED_MAX_RELOAD_MS, this.opts.haltedRefreshMs)),
      random: () => 1,
    });
  }

  /** Markets were loaded: notes the watched symbols' statuses, and tells the operator what changed. */
  async loaded(symbols: readonly string[], markets: Record<string, Market>): Promise<void> {
    const after = new Map(symbols.map((s) => [s, marketStatus(s, markets)] as const));
    const changes = statusChanges(this.statuses, after);
    this.statuses = after;
    this.haltedLoads = [...after.values()].some((s) => s === 'halted') ? this.haltedLoads + 1 : 0;
    for (const { symbol, from, to } of changes) {
      const data = { symbol, exchange: this.opts.exchangeId, status: to, was: from };
      if (to === 'trading') {
        this.opts.logger.warn('A halted symbol trades again', data);
        await this.opts.outbox.emit(
          'market.resumed',
          `${symbol} trades again on ${this.opts.exchangeId}: orders and stop-loss are back`,
          data,
        );
      } else {
        const what =
          to === 'halted'
            ? `${symbol} is halted on ${this.opts.exchangeId} (not trading): nothing is placed on it, its orders are still synced, markets are checked again in minutes`
            : `${symbol} is no longer listed on ${this.opts.exchangeId}: nothing is placed or synced on it`;
        this.opts.logger.error('A traded symbol is not trading on the exchange', data);
        await this.opts.outbox.emit('market.halted', what, data);
      }
    }
  }
}
