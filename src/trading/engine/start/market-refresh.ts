/**
 * The exchange's markets as the engine holds them: loaded at the start (start-up.ts), reloaded every
 * `marketsRefreshMs` (listings, steps and minimums change), sooner while a watched symbol is halted or gone
 * (market-halts.ts, which also tells the operator once). Each load goes to the order book (order-book.ts).
 */
import type { Clock } from '../../../shared/clock';
import type { Logger } from '../../../shared/logging/logger';
import type { Exchange, Market } from '../../exchange/exchange';
import type { ExchangeReads } from '../exchange-watch/exchange-reads';
import { MarketHalts, type HeldExit } from '../exchange-watch/market-halts';
import type { OrderBook } from '../orders/order-book';
import type { StateGateway } from '../state/state-gateway';

export interface MarketRefreshOptions {
  /** Holds the markets' book each load goes to. */
  orderBook: Pick<OrderBook, 'setMarkets'>;
  /** The state's gateway: the halts announced, committed with their events (market-halts.ts). */
  state: Pick<StateGateway, 'data' | 'commitWithEvents'>;
  exchange: Exchange;
  clock: Clock;
  logger: Logger;
  /** The loop's reads: a reload has the read deadline. */
  reads: ExchangeReads;
  refreshMs: number;
  haltedRefreshMs: number;
}

export class MarketRefresh {
  private loadedAt: number;
  private readonly halts: MarketHalts;

  constructor(private readonly opts: MarketRefreshOptions) {
    this.loadedAt = opts.clock.now();
    this.halts = new MarketHalts({
      exchangeId: opts.exchange.id,
      state: opts.state,
      logger: opts.logger,
      haltedRefreshMs: opts.haltedRefreshMs,
      refreshMs: opts.refreshMs,
    });
  }

  /** Markets loaded for the `watched` symbols (the start's load). */
  loaded(watched: string[], markets: Record<string, Market>): Promise<void> {
    return this.apply(markets, () => watched);
  }

  /** Reloads the markets when due, within the read deadline; a failure is thrown (the tick retries next time). */
  async refreshWhenDue(watched: () => string[]): Promise<void> {
    if (this.opts.clock.now() - this.loadedAt < this.halts.reloadAfterMs) return;
    const markets = await this.opts.reads.withDeadline(
      'markets',
      this.opts.exchange.loadMarkets(true, watched()),
    );
    this.opts.logger.info('Markets reloaded', { markets: Object.keys(markets).length });
    await this.apply(markets, watched);
  }

  /** The order book's markets, the next reload's time, halts told (the watched symbols read once the book is in). */
  private async apply(markets: Record<string, Market>, watched: () => string[]): Promise<void> {
    this.opts.orderBook.setMarkets(markets);
    this.loadedAt = this.opts.clock.now();
    await this.halts.loaded(watched(), markets, this.opts.clock.now());
  }

  /** A stop-loss/take-profit fires and the symbol's halt holds it: told once (market-halts.ts). */
  exitHeld(held: HeldExit): Promise<void> {
    return this.halts.exitHeld(held, this.opts.clock.now());
  }
}
