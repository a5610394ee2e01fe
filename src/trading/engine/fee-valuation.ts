/**
 * The quote value of a fee charged in a third currency (e.g. BNB on Binance), at its price when the fill is
 * recorded, as freqtrade values it: through the fee currency's market against the quote, or the inverse one.
 * Null when no market prices it (reported once; the fee then counts as 0). A failed price read throws, and the
 * fill is recorded at the next refresh. Markets loaded by symbol (the traded ones) lack the fee currency's: it is
 * looked up on the exchange (`findMarket`).
 */
import type { Logger } from '../../shared/logging/logger';
import type { Exchange, Market } from '../exchange/exchange';
import { splitSymbol, type Fill } from './pnl';

export class FeeValuation {
  /** Fee currencies no market prices, already reported (once each). */
  private readonly unvalued = new Set<string>();

  constructor(
    private readonly exchange: Pick<Exchange, 'fetchTicker' | 'findMarket'>,
    private readonly markets: () => Record<string, Market>,
    private readonly logger: Logger,
  ) {}

  async inQuote(fill: Fill): Promise<number | null> {
    const { quote } = splitSymbol(fill.symbol);
    const markets = this.markets();
    const direct = `${fill.feeCurrency}/${quote}`;
    const inverse = `${quote}/${fill.feeCurrency}`;
    const listed = async (symbol: string): Promise<boolean> =>
      markets[symbol] !== undefined || (await this.exchange.findMarket?.(symbol)) !== undefined;
    if (await listed(direct)) return fill.feeCost * (await this.exchange.fetchTicker(direct)).last;
    if (await listed(inverse)) {
      const last = (await this.exchange.fetchTicker(inverse)).last;
      if (last > 0) return fill.feeCost / last;
    }
    if (!this.unvalued.has(fill.feeCurrency)) {
      this.unvalued.add(fill.feeCurrency);
      this.logger.error('A fee in a currency no market prices in the quote counts as 0 in PnL', {
        feeCurrency: fill.feeCurrency,
        quote,
        clientOrderId: fill.clientOrderId,
      });
    }
    return null;
  }
}
