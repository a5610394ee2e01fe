/**
 * The exchange's markets as the engine holds them: loaded at the start (start-up.ts), reloaded every
 * `marketsRefreshMs` (listings, steps and minimums change), sooner while a watched symbol is halted or gone
 * (market-halts.ts, which also tells the operator once). Each load goes to the order book (order-book.ts); a position
 * it makes unsellable (a raised minimum, a delisting) is told once (unsellable-watch.ts).
 */
import type { Clock } from '../../../shared/clock';
import type { Logger } from '../../../shared/logging/logger';
import type { Exchange, Market } from '../../exchange/exchange';
import type { ExchangeReads } from '../exchange-watch/exchange-reads';
import { MarketHalts, type HeldExit } from '../exchange-watch/market-halts';
import { UnsellableWatch, type UnsellableWatchOptions } from '../exchange-watch/unsellable-watch';
import type { OrderBook } from '../orders/order-book';
import type { StateGateway } from '../state/state-gateway';

export interface MarketRefreshOptions {
  /** Holds the markets' book each load goes to (and the positions judged on it: unsellable-watch.ts). */
  orderBook: Pick<OrderBook, 'setMarkets'> & UnsellableWatchOptions['orderBook'];
  /** The state's gateway: the halts announced, committed with their events (market-halts.ts). */
  state: Pick<StateGateway, 'data' | 'commitWithEvents'>;
  exchange: Exchange;
  clock: Clock;
  logger: Logger;
  /** The loop's reads: a reload has the read deadline. */
  reads: ExchangeReads;
  refreshMs: number;
  haltedRefreshMs: number;
  /**
   * When the exchange last refused an order for the symbol's trading rules (order-manager.ts): a refusal after the
   * last load makes the markets due once `haltedRefreshMs` has passed since it (the rules changed between reloads).
   */
  rulesRefusedAt?: () => number | undefined;
}

export class MarketRefresh {
  private loadedAt: number;
  private readonly halts: MarketHalts;
  private readonly unsellable: UnsellableWatch;

  constructor(private readonly opts: MarketRefreshOptions) {
    this.loadedAt = opts.clock.now();
    this.halts = new MarketHalts({
      exchangeId: opts.exchange.id,
      state: opts.state,
      logger: opts.logger,
      haltedRefreshMs: opts.haltedRefreshMs,
      refreshMs: opts.refreshMs,
      goneMayReturn: opts.exchange.traits.unlistsSuspended === true,
    });
    this.unsellable = new UnsellableWatch({
      exchangeId: opts.exchange.id,
      goneMayReturn: opts.exchange.traits.unlistsSuspended === true,
      orderBook: opts.orderBook,
      state: opts.state,
      logger: opts.logger,
    });
  }

  /** Markets loaded for the `watched` symbols (the start's load). */
  loaded(watched: string[], markets: Record<string, Market>): Promise<void> {
    return this.apply(markets, () => watched);
  }

  /**
   * Reloads the markets when due — every `refreshMs` (sooner while a watched symbol is halted), or once an order was
   * refused for the trading rules since the last load, `haltedRefreshMs` after it at the soonest — within the read
   * deadline; a failure is thrown (the tick retries next time).
   */
  async refreshWhenDue(watched: () => string[]): Promise<void> {
    if (!this.due()) return;
    await this.reload(watched);
  }

  /**
   * Reloads the markets now, within the read deadline (a failure is thrown): what a decision on the exchange's rules
   * as they are now needs — the operator's write-off (operator-actions.ts), never on a load up to a day old.
   */
  async reload(watched: () => string[]): Promise<void> {
    const markets = await this.opts.reads.withDeadline(
      'markets',
      this.opts.exchange.loadMarkets(true, watched()),
    );
    this.opts.logger.info('Markets reloaded', { markets: Object.keys(markets).length });
    await this.apply(markets, watched);
  }

  /** Whether a reload is due now (pure over the clock, the last load and the last rules refusal). */
  private due(): boolean {
    const since = this.opts.clock.now() - this.loadedAt;
    if (since >= this.halts.reloadAfterMs) return true;
    const refused = this.opts.rulesRefusedAt?.();
    return refused !== undefined && refused >= this.loadedAt && since >= this.opts.haltedRefreshMs;
  }

  /** The order book's markets, the next reload's time, halts told (the watched symbols read once the book is in). */
  private async apply(markets: Record<string, Market>, watched: () => string[]): Promise<void> {
    this.opts.orderBook.setMarkets(markets);
    this.loadedAt = this.opts.clock.now();
    await this.halts.loaded(watched(), markets, this.opts.clock.now());
    await this.unsellable.loaded(this.opts.clock.now());
  }

  /** A stop-loss/take-profit fires and the symbol's halt holds it: told once (market-halts.ts). */
  exitHeld(held: HeldExit): Promise<void> {
    return this.halts.exitHeld(held, this.opts.clock.now());
  }
}
