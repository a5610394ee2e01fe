/**
 * The account, once per tick before any symbol: balance → equity → kill switch. Equity is the quote balance plus
 * what the positions in that quote are worth at their last price (their entry price before one is read). The
 * kill switch (risk.ts: max drawdown, daily loss) that fires is committed at once, reported (`risk.triggered`)
 * and pauses entries before this tick's symbols run; one that clears lifts only its own pause. A new equity peak
 * or day is worth saving but not a synchronous commit per tick.
 */
import type { Clock } from '../../shared/clock';
import type { Config } from '../../shared/config/schema';
import type { BalanceEntry, Exchange } from '../exchange/exchange';
import type { ExchangeReads } from './exchange-reads';
import type { OrderManager } from './order-manager';
import { averageEntryPrice, realizedOnDay, splitSymbol, utcDay, type PositionBook } from './pnl';
import { evaluateRisk } from './risk';
import type { PauseSource, PauseState } from './trading-state';

export interface AccountWatchOptions {
  manager: OrderManager;
  exchange: Exchange;
  reads: ExchangeReads;
  clock: Clock;
  risk: Config['trading']['risk'];
  quoteCurrency: string;
  lastPrices: Readonly<Record<string, number>>;
  pauseEntries: (reason: string, by: PauseSource) => Promise<PauseState>;
  resumeEntries: (by: PauseSource) => Promise<void>;
}

export class AccountWatch {
  /** The latest balance read, or null before the first. */
  balance: Record<string, BalanceEntry> | null = null;
  /** Equity in the quote currency at the latest read. */
  equity = 0;

  constructor(private readonly opts: AccountWatchOptions) {}

  /** `read`: a balance read already on its way (start-up reads it beside recovery); default a new read. */
  async refresh(read?: Promise<Record<string, BalanceEntry>>): Promise<void> {
    const { manager, exchange, reads, clock, quoteCurrency, lastPrices } = this.opts;
    const balance = await (read ?? reads.once('balance', () => exchange.fetchBalance()));
    this.balance = balance;
    const now = clock.now();
    const positions = manager.positions();
    this.equity = equityOf(balance, positions, lastPrices, quoteCurrency);
    const realizedToday = realizedOnDay(positions, utcDay(now));
    const before = manager.state.risk;
    const update = evaluateRisk(before, this.equity, realizedToday, now, this.opts.risk);
    if (update.triggered) {
      await manager.state.setRisk(update.state, true);
      await manager.outbox.emit(
        'risk.triggered',
        `Kill switch (${update.triggered.kind}): ${update.triggered.reason}`,
        { rule: update.triggered.kind, reason: update.triggered.reason, equity: this.equity },
      );
      await this.opts.pauseEntries(`kill switch: ${update.triggered.reason}`, 'risk');
    } else if (update.cleared) {
      await manager.state.setRisk(update.state, true);
      if (manager.state.pause?.by === 'risk') await this.opts.resumeEntries('risk');
    } else if (before.equityPeak !== update.state.equityPeak || before.day !== update.state.day) {
      void manager.state.setRisk(update.state, false);
    }
  }
}

/** The quote balance plus the positions held in that quote, at their last price (else their entry price). */
export function equityOf(
  balance: Record<string, BalanceEntry>,
  positions: Record<string, PositionBook>,
  lastPrices: Readonly<Record<string, number>>,
  quoteCurrency: string,
): number {
  let held = 0;
  for (const p of Object.values(positions)) {
    if (splitSymbol(p.symbol).quote !== quoteCurrency) continue;
    held += p.amount * (lastPrices[p.symbol] ?? averageEntryPrice(p));
  }
  return (balance[quoteCurrency]?.total ?? 0) + held;
}
