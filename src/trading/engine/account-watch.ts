/**
 * The account, once per tick before any symbol: balance → equity → kill switch. Equity is the quote balance plus
 * what the positions in that quote are worth at their last price (their entry price before one is read). The
 * kill switch (risk.ts: max drawdown, daily loss) that fires is committed at once, reported (`risk.triggered`)
 * and pauses entries before this tick's symbols run; one that clears lifts only its own pause. A new equity peak
 * or day is worth saving but not a synchronous commit per tick.
 *
 * A reading that could be wrong because of fills not synced yet (risk.ts `needsSettledReading`) is taken again
 * after the orders in flight are synced: a buy that filled since the last tick must not fire the kill switch by
 * the cost it took out of the balance before its coins are a position. When they cannot be synced now (an
 * exchange error, a symbol still busy), a kill switch still fires (pausing entries is the safe side) and any
 * other change of the risk state waits for the next tick.
 */
import type { Clock } from '../../shared/clock';
import type { Config } from '../../shared/config/schema';
import type { BalanceEntry, Exchange } from '../exchange/exchange';
import type { ExchangeReads } from './exchange-reads';
import type { OrderManager } from './order-manager';
import type { LocalOrder } from './order-state';
import type { OnceLog } from './log-once';
import { averageEntryPrice, realizedOnDay, splitSymbol, utcDay, type PositionBook } from './pnl';
import { evaluateRisk, needsSettledReading, type RiskUpdate, type UnsyncedSides } from './risk';
import type { PauseSource, PauseState } from './trading-state';

export interface AccountWatchOptions {
  manager: OrderManager;
  exchange: Exchange;
  reads: ExchangeReads;
  clock: Clock;
  risk: Config['trading']['risk'];
  quoteCurrency: string;
  lastPrices: Readonly<Record<string, number>>;
  /** Syncs every order in flight with the exchange; false when that could not be done now (nothing thrown). */
  settleOrders: () => Promise<boolean>;
  onceLog: OnceLog;
  pauseEntries: (reason: string, by: PauseSource) => Promise<PauseState>;
  resumeEntries: (by: PauseSource) => Promise<void>;
}

export class AccountWatch {
  /** The latest balance read, or null before the first. */
  balance: Record<string, BalanceEntry> | null = null;
  /** Equity in the quote currency at the latest read. */
  equity = 0;

  constructor(private readonly opts: AccountWatchOptions) {}

  /**
   * `read`: a balance read already on its way, start-up's: read beside recovery, or after it when recovery
   * changed anything, so the orders in flight were synced with it and it is taken as settled. Default: a new read.
   */
  async refresh(read?: Promise<Record<string, BalanceEntry>>): Promise<void> {
    const { manager } = this.opts;
    const before = manager.state.risk;
    let reading = await this.read(read);
    let update = evaluateRisk(before, reading.equity, reading.realizedToday, reading.now, this.opts.risk);
    if (!read && needsSettledReading(before, update, unsyncedSides(manager.pendingOrders()))) {
      if (await this.opts.settleOrders()) {
        reading = await this.read();
        update = evaluateRisk(before, reading.equity, reading.realizedToday, reading.now, this.opts.risk);
      } else if (!update.triggered) {
        this.opts.onceLog.log(
          'risk:unsettled',
          'warn',
          'Orders in flight could not be synced: the risk state waits for the next tick',
          {},
        );
        update = { state: before };
      }
    }
    this.balance = reading.balance;
    this.equity = reading.equity;
    await this.apply(before, update);
  }

  private async read(
    read?: Promise<Record<string, BalanceEntry>>,
  ): Promise<{ balance: Record<string, BalanceEntry>; equity: number; realizedToday: number; now: number }> {
    const { manager, exchange, reads, clock, quoteCurrency, lastPrices } = this.opts;
    const balance = await (read ?? reads.once('balance', () => exchange.fetchBalance()));
    const now = clock.now();
    const positions = manager.positions();
    return {
      balance,
      equity: equityOf(balance, positions, lastPrices, quoteCurrency),
      realizedToday: realizedOnDay(positions, utcDay(now)),
      now,
    };
  }

  private async apply(before: RiskUpdate['state'], update: RiskUpdate): Promise<void> {
    const { manager } = this.opts;
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

/** Orders in flight by side: each may hold fills the positions do not count yet. */
function unsyncedSides(orders: readonly LocalOrder[]): UnsyncedSides {
  let buys = 0;
  for (const o of orders) if (o.side === 'buy') buys++;
  return { buys, sells: orders.length - buys };
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
