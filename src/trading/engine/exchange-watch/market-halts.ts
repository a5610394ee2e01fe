/**
 * Traded symbols the exchange halted (listed but not trading: a BREAK) or no longer lists, seen at each markets
 * load. While one is, markets are reloaded soon — `haltedMarketsRefreshMs`, doubling (the one backoff) up to
 * `marketsRefreshMs` — instead of once a day, so a symbol that trades again is back at the next reload: its orders
 * were synced all along and its stop-loss fires then. The operator hears once when a symbol halts (or is gone)
 * and once when it trades again (`market.halted` / `market.resumed`), and once when a stop-loss/take-profit would
 * fire during the halt and is held by it (`exit.held`).
 *
 * What was announced is kept in the trading state (`announcedHalts`), committed with the events that announce it
 * (the transactional outbox): a restart — a crash loop during a halt — compares the fresh markets with what the
 * operator was told, not with nothing, so a halt is announced once however many starts it lasts, and a resume
 * that came while trading was down is still announced at the next start.
 */
import { errorMessage } from '../../../shared/errors';
import type { Logger } from '../../../shared/logging/logger';
import { retryDelayMs } from '../../../shared/retry';
import type { Market } from '../../exchange/exchange';
import type { EventDraft } from '../orders/order-events';
import type { ExitTrigger } from '../decide/risk';
import type { StateGateway } from '../state/state-gateway';
import type { AnnouncedHalt } from '../state/trading-state';

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

/** The statuses the operator was told of (symbols absent from `announced` trade) (pure). */
export function announcedStatuses(
  announced: Readonly<Record<string, AnnouncedHalt>>,
): Map<string, MarketStatus> {
  return new Map(Object.entries(announced).map(([symbol, halt]) => [symbol, halt.status] as const));
}

/** What a stop-loss/take-profit held by a halt reports (pure). */
export interface HeldExit {
  symbol: string;
  trigger: ExitTrigger;
  price: number;
  /** The position's average entry price (cost per unit, fees included). */
  entryPrice: number;
  /** The position's amount, in the base. */
  amount: number;
  /** The price at which the rule fires (entry ± the configured percent). */
  triggerPrice: number;
}

export interface MarketHaltsOptions {
  exchangeId: string;
  /** The trading state: what was announced, committed with its events. */
  state: Pick<StateGateway, 'data' | 'commitWithEvents'>;
  logger: Logger;
  /** First reload after a load that found a traded symbol halted (doubling, at most HALTED_MAX_RELOAD_MS). */
  haltedRefreshMs: number;
  /** The normal reload interval: the longest wait, halted or not. */
  refreshMs: number;
  /**
   * A symbol gone from the list may only be suspended (ExchangeTraits `unlistsSuspended`: Bybit): it counts as a
   * halt for the reloads, so it is back within minutes once it trades again, and the operator is told it may be.
   */
  goneMayReturn?: boolean;
}

/**
 * The longest wait between reloads while a watched symbol is halted: a stop-loss held by a halt is placed at the
 * first reload after trading resumes, so that reload may not be hours away (a 3-hour BREAK doubling from 1 min
 * would be seen 75 min late). A markets read every 5 min is far inside every exchange's limits.
 */
export const HALTED_MAX_RELOAD_MS = 5 * 60_000;

export class MarketHalts {
  /**
   * Loads in a row that found a watched symbol halted (the backoff's attempt). A symbol gone from the list (delisted)
   * does not count: it may stay gone for good, and the halts after it would wait as long — unless the exchange
   * drops suspended symbols from its list too (`goneMayReturn`): then it may trade again any time, and a stop-loss
   * held by it must not wait for the daily reload (the waits stay within HALTED_MAX_RELOAD_MS).
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

  /**
   * Markets were loaded at `now`: tells the operator what changed since what they were told (this run's loads or
   * the last run's, from the state), and keeps the new statuses with those events in one commit.
   */
  async loaded(symbols: readonly string[], markets: Record<string, Market>, now: number): Promise<void> {
    const announced = this.opts.state.data.announcedHalts;
    const after = new Map(symbols.map((s) => [s, marketStatus(s, markets)] as const));
    const changes = statusChanges(announcedStatuses(announced), after);
    const halt = (s: MarketStatus): boolean =>
      s === 'halted' || (s === 'delisted' && this.opts.goneMayReturn === true);
    this.haltedLoads = [...after.values()].some(halt) ? this.haltedLoads + 1 : 0;
    // a symbol no longer watched is forgotten silently (nothing of it is traded or announced any more)
    const forgotten = Object.keys(announced).some((symbol) => !after.has(symbol));
    if (changes.length === 0 && !forgotten) return;
    const events: EventDraft[] = [];
    for (const { symbol, from, to } of changes) {
      const data = { symbol, exchange: this.opts.exchangeId, status: to, was: from };
      if (to === 'trading') {
        this.opts.logger.warn('A halted symbol trades again', data);
        events.push({
          type: 'market.resumed',
          summary: `${symbol} trades again on ${this.opts.exchangeId}: orders and stop-loss are back`,
          data,
        });
      } else {
        this.opts.logger.error('A traded symbol is not trading on the exchange', data);
        events.push({
          type: 'market.halted',
          summary:
            to === 'halted'
              ? `${symbol} is halted on ${this.opts.exchangeId} (not trading): nothing is placed on it, its orders are still synced, markets are checked again in minutes`
              : this.opts.goneMayReturn
                ? `${symbol} is no longer listed on ${this.opts.exchangeId} (delisted, or suspended for a while: ${this.opts.exchangeId} lists only symbols that trade): nothing is placed or synced on it, markets are checked again in minutes`
                : `${symbol} is no longer listed on ${this.opts.exchangeId}: nothing is placed or synced on it`,
          data,
        });
      }
    }
    const next: Record<string, AnnouncedHalt> = {};
    for (const [symbol, status] of after) {
      if (status === 'trading') continue;
      const was = announced[symbol];
      // halted ⇄ delisted is a new halt (and a new held exit); the same status keeps its record
      next[symbol] = was?.status === status ? was : { status, since: now };
    }
    await this.commit((d) => {
      d.announcedHalts = next;
    }, events);
  }

  /**
   * A stop-loss/take-profit of `symbol` would fire now but the halt holds it: told once per halt (kept in the state
   * with the halt, across restarts). It is placed at the first tick after a reload finds the symbol trading again.
   */
  async exitHeld(held: HeldExit, now: number): Promise<void> {
    const halt = this.opts.state.data.announcedHalts[held.symbol];
    if (halt?.exitHeldAt !== undefined) return;
    const { symbol, trigger } = held;
    const data = {
      symbol,
      exchange: this.opts.exchangeId,
      rule: trigger.kind,
      reason: 'halted',
      price: held.price,
      triggerPrice: held.triggerPrice,
      entryPrice: held.entryPrice,
      changePct: trigger.changePct,
      amount: held.amount,
    };
    this.opts.logger.error('A stop-loss/take-profit is held by a halt', data);
    const summary = `${trigger.kind} on ${symbol} held: ${symbol} is halted on ${this.opts.exchangeId}; price ${held.price} vs ${trigger.kind} ${roundish(held.triggerPrice)} (${trigger.changePct.toFixed(2)}% from entry ${roundish(held.entryPrice)}), position ${held.amount}. It is sold at market as soon as trading resumes.`;
    await this.commit(
      (d) => {
        d.announcedHalts = {
          ...d.announcedHalts,
          [symbol]: { ...(d.announcedHalts[symbol] ?? { status: 'halted', since: now }), exitHeldAt: now },
        };
      },
      [{ type: 'exit.held', summary, data }],
    );
  }

  private commit(
    mutate: Parameters<MarketHaltsOptions['state']['commitWithEvents']>[0],
    events: EventDraft[],
  ): Promise<void> {
    return commitAnnouncement(this.opts, mutate, events);
  }
}

/**
 * What the operator is told of a market (its halt, its stale prices: stale-tickers.ts), committed with the state
 * that remembers it was told. A failed commit is the state gateway's to report (persist.failed, no new orders); the
 * change stays in memory and its events go out once the store's retried write is durable.
 */
export async function commitAnnouncement(
  opts: Pick<MarketHaltsOptions, 'state' | 'logger'>,
  mutate: Parameters<MarketHaltsOptions['state']['commitWithEvents']>[0],
  events: EventDraft[],
): Promise<void> {
  try {
    await opts.state.commitWithEvents(mutate, events);
  } catch (err) {
    opts.logger.warn('Market statuses not saved yet; retried with the next write', {
      error: errorMessage(err),
    });
  }
}

/** A price for a sentence: at most 8 significant digits. */
function roundish(n: number): number {
  return Number(n.toPrecision(8));
}
