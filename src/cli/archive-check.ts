/**
 * What `byninja state archive` would leave unwatched (pure): the live positions the state holds (more than dust) and
 * its orders that still need the exchange (working, or not yet known to be final and fully booked). Archiving such
 * a state makes the next start forget them — the coins bought stay on the account with no stop-loss, no strategy
 * exit and no alert, and an order still working is watched by nobody — so archive refuses it unless told
 * `--abandon`. A paper or dry-run state's positions are the simulated account's (archived with it): nothing is
 * left on an exchange.
 *
 * Dust is judged as trading judges it (risk.ts isOpenPosition: an amount a market order could not sell) with the
 * markets trading kept on disk (`trading-markets.json`); without them, any amount left counts as a position.
 */
import { openHoldings, type OpenHoldings } from '../trading/engine/books/open-holdings';
import type { Lot } from '../trading/engine/books/pnl';
import type { TradingState } from '../trading/engine/state/trading-state';
import type { FillOrder } from '../trading/exchange/exchange';
import { marketOrderLot } from '../trading/exchange/order-maximums';

export type ArchiveLeftovers = OpenHoldings;

/**
 * The live positions and orders `state` still watches (engine/books/open-holdings.ts); none for a paper or dry-run state.
 */
export function archiveLeftovers(
  state: Pick<TradingState, 'orders' | 'checkpoint' | 'identity'>,
  lots: Readonly<Record<string, Lot>>,
  fillOrder: FillOrder,
): ArchiveLeftovers {
  if (state.identity?.mode !== 'live') return { positions: [], orders: [] };
  return openHoldings(state, lots, fillOrder);
}

/** The lines that name what is left: `BTC/USDT 0.05`, `crash-abc123-7 (buy BTC/USDT, open)`. */
export function describeLeftovers(left: ArchiveLeftovers): string[] {
  return [
    ...left.positions.map((p) => `position ${p.symbol} ${p.amount}`),
    ...left.orders.map((o) => `order ${o.clientOrderId} (${o.side} ${o.symbol}, ${o.status})`),
  ];
}

/**
 * The amount rules of the markets in a `trading-markets.json` (kept-markets.ts: ccxt's markets as it loaded them,
 * in its tick-size precision mode for every verified exchange), for the state's exchange only; anything unreadable
 * is left out (its symbols then count any amount as a position).
 */
export function lotsFromKeptMarkets(kept: unknown, exchange: string | undefined): Record<string, Lot> {
  const file = kept as { source?: { exchange?: unknown }; markets?: unknown } | null;
  if (!file || typeof file !== 'object' || file.source?.exchange !== exchange || !Array.isArray(file.markets))
    return {};
  const lots: Record<string, Lot> = {};
  const positive = (v: unknown): number | undefined => (typeof v === 'number' && v > 0 ? v : undefined);
  for (const m of file.markets as Array<Record<string, unknown>>) {
    const precision = m.precision as { amount?: unknown; price?: unknown } | undefined;
    const limits = m.limits as { amount?: { min?: unknown }; cost?: { min?: unknown } } | undefined;
    const step = positive(precision?.amount);
    const tick = positive(precision?.price);
    if (typeof m.symbol !== 'string' || step === undefined) continue;
    const marketLot = marketOrderLot(exchange ?? '', m);
    lots[m.symbol] = {
      amountStep: step,
      minAmount: positive(limits?.amount?.min) ?? step,
      minNotional: positive(limits?.cost?.min) ?? 0,
      ...(tick !== undefined ? { priceStep: tick } : {}),
      ...(marketLot ? { marketLot } : {}),
    };
  }
  return lots;
}
