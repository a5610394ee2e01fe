/**
 * The quote value of a fee charged in a third currency (e.g. BNB on Binance), at its price when the fill is
 * recorded, as freqtrade values it: through the fee currency's market against the quote, or the inverse one.
 * Null when no market prices it (reported once; the fee then counts as 0). Markets loaded by symbol (the traded
 * ones) lack the fee currency's: it is looked up on the exchange (`findMarket`), once a run — the adapter keeps it
 * through every later reload, and the lookup never holds an order's create (ccxt-exchange.ts). A lookup that fails
 * leaves the fee unvalued (estimated) and is not tried again for FEE_READ_BACKOFF_MS.
 *
 * A fee's price never holds its fill: when the price read fails, the fee is valued at the last price read of that
 * market (or left unvalued, counting 0, when none was) and marked `estimated`; for a minute after such a failure the
 * market is not read again (a fill batch, or the next order's, would otherwise wait for every attempt of a read that
 * keeps failing — a 429 gate, a slow endpoint). A ticker without a usable price counts as a failed read. A price the
 * exchange dated too long ago (`isStale`: ticker-age.ts, `trading.maxTickerAgeMs`) values the fee all the same, marked
 * `estimated` too: /status and the trade report say the fee is an estimate.
 */
import { errorMessage } from '../../../shared/errors';
import type { Logger } from '../../../shared/logging/logger';
import type { Exchange, Market, Ticker } from '../../exchange/exchange';
import { splitSymbol, type Fill } from './pnl';

/** How long after a failed price read a fee market is valued at its last price without reading. */
export const FEE_READ_BACKOFF_MS = 60_000;

/** A fee's quote value: `feeQuote` as Fill holds it; `estimated` when the price is not one read for this fill. */
export interface FeeValue {
  feeQuote: number | null | undefined;
  estimated?: true;
}

export class FeeValuation {
  /** Fee currencies no market prices, already reported (once each). */
  private readonly unvalued = new Set<string>();
  /** The last price read per fee market. */
  private readonly lastPrice = new Map<string, number>();
  /** When each fee market's price read last failed. */
  private readonly failedAt = new Map<string, number>();

  constructor(
    private readonly exchange: Pick<Exchange, 'fetchTicker' | 'findMarket'>,
    private readonly markets: () => Record<string, Market>,
    private readonly logger: Logger,
    private readonly now: () => number,
    /** Whether a fee market's ticker is too old to be the price now (ticker-age.ts); default: never judged. */
    private readonly isStale: (ticker: Ticker) => boolean = () => false,
  ) {}
  /** Fee markets whose price was last read stale, already reported (once until it is fresh again). */
  private readonly staleMarkets = new Set<string>();

  async value(fill: Fill): Promise<FeeValue> {
    const { quote } = splitSymbol(fill.symbol);
    const markets = this.markets();
    const direct = `${fill.feeCurrency}/${quote}`;
    const inverse = `${quote}/${fill.feeCurrency}`;
    const listed = async (symbol: string): Promise<boolean> =>
      markets[symbol] !== undefined || (await this.exchange.findMarket?.(symbol)) !== undefined;
    let market: string | undefined;
    const lookupFailed = this.failedAt.get(`lookup ${direct}`);
    if (lookupFailed !== undefined && this.now() - lookupFailed < FEE_READ_BACKOFF_MS) {
      return { feeQuote: undefined, estimated: true };
    }
    try {
      market = (await listed(direct)) ? direct : (await listed(inverse)) ? inverse : undefined;
    } catch (err) {
      // the fee market's listing could not be read (markets by symbol): looked up again after the backoff
      this.failedAt.set(`lookup ${direct}`, this.now());
      this.logger.warn('A fee market could not be looked up: the fill is recorded with the fee unvalued', {
        feeCurrency: fill.feeCurrency,
        clientOrderId: fill.clientOrderId,
        error: errorMessage(err),
      });
      return { feeQuote: undefined, estimated: true };
    }
    const valued = (last: number): number | null =>
      market === direct ? fill.feeCost * last : last > 0 ? fill.feeCost / last : null;
    if (market !== undefined) {
      const failed = this.failedAt.get(market);
      if (failed === undefined || this.now() - failed >= FEE_READ_BACKOFF_MS) {
        try {
          const ticker = await this.exchange.fetchTicker(market);
          const last = ticker.last;
          if (!Number.isFinite(last) || last <= 0)
            throw new Error(`no price in the ${market} ticker (${last})`);
          this.lastPrice.set(market, last);
          this.failedAt.delete(market);
          const feeQuote = valued(last);
          const stale = this.isStale(ticker);
          if (stale && !this.staleMarkets.has(market)) {
            this.staleMarkets.add(market);
            this.logger.warn('A fee price is stale: fees valued at it are marked estimated', {
              market,
              clientOrderId: fill.clientOrderId,
              timestamp: ticker.timestamp,
            });
          } else if (!stale) this.staleMarkets.delete(market);
          if (feeQuote !== null) return stale ? { feeQuote, estimated: true } : { feeQuote };
        } catch (err) {
          this.failedAt.set(market, this.now());
          this.logger.warn('A fee price could not be read: the fill is recorded with the fee estimated', {
            market,
            clientOrderId: fill.clientOrderId,
            lastPrice: this.lastPrice.get(market),
            error: errorMessage(err),
          });
        }
      }
      const last = this.lastPrice.get(market);
      if (this.failedAt.has(market)) {
        return { feeQuote: last === undefined ? undefined : (valued(last) ?? undefined), estimated: true };
      }
    }
    if (!this.unvalued.has(fill.feeCurrency)) {
      this.unvalued.add(fill.feeCurrency);
      this.logger.error('A fee in a currency no market prices in the quote counts as 0 in PnL', {
        feeCurrency: fill.feeCurrency,
        quote,
        clientOrderId: fill.clientOrderId,
      });
    }
    return { feeQuote: null };
  }
}
