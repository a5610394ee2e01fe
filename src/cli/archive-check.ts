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
import { needsExchange } from '../trading/engine/order-state';
import { averageEntryPrice, derivePositions, type Fill, type Lot } from '../trading/engine/pnl';
import type { TradingState } from '../trading/engine/trading-state';
import { sellableByMarketOrder } from '../trading/exchange/precision';
import type { FillOrder } from '../trading/exchange/exchange';

/** Amounts below this are float noise, not a position (pnl.ts's). */
const EPSILON = 1e-12;

export interface LeftPosition {
  symbol: string;
  /** Base amount the bot holds. */
  amount: number;
}

export interface LeftOrder {
  clientOrderId: string;
  symbol: string;
  side: string;
  status: string;
}

export interface ArchiveLeftovers {
  positions: LeftPosition[];
  orders: LeftOrder[];
}

/**
 * The live positions and orders `state` still watches. `lots`: the markets' amount rules by symbol (a symbol
 * without one: any amount is a position). `fillOrder`: the exchange's (its profile), as trading replays fills.
 */
export function archiveLeftovers(
  state: Pick<TradingState, 'orders' | 'checkpoint' | 'identity'>,
  lots: Readonly<Record<string, Lot>>,
  fillOrder: FillOrder,
): ArchiveLeftovers {
  if (state.identity?.mode !== 'live') return { positions: [], orders: [] };
  const fills: Fill[] = Object.values(state.orders).flatMap((o) => o.fills);
  const books = derivePositions(state.checkpoint, fills, lots, fillOrder);
  const positions = Object.values(books)
    .filter((b) => {
      if (!(b.amount > EPSILON)) return false;
      const lot = lots[b.symbol];
      return lot ? sellableByMarketOrder(b.amount, lot, averageEntryPrice(b) || undefined) > 0 : true;
    })
    .map((b) => ({ symbol: b.symbol, amount: b.amount }))
    .sort((a, b) => a.symbol.localeCompare(b.symbol));
  const orders = Object.values(state.orders)
    .filter((o) => needsExchange(o))
    .map((o) => ({ clientOrderId: o.clientOrderId, symbol: o.symbol, side: o.side, status: o.status }))
    .sort((a, b) => a.clientOrderId.localeCompare(b.clientOrderId));
  return { positions, orders };
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
    const precision = m.precision as { amount?: unknown } | undefined;
    const limits = m.limits as { amount?: { min?: unknown }; cost?: { min?: unknown } } | undefined;
    const step = positive(precision?.amount);
    if (typeof m.symbol !== 'string' || step === undefined) continue;
    lots[m.symbol] = {
      amountStep: step,
      minAmount: positive(limits?.amount?.min) ?? step,
      minNotional: positive(limits?.cost?.min) ?? 0,
    };
  }
  return lots;
}
