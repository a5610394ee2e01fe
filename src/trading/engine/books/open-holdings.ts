/**
 * What a trading state still holds open (pure): its positions (more than dust where the market's amount rules are
 * known: an amount a market order could not sell, as risk.ts isOpenPosition judges it; any amount otherwise) and its
 * orders that still need the exchange (working, or not yet known to be final and fully booked). What a start or an
 * archive must not leave unwatched: `byninja state archive` refuses such a live state (cli/archive-check.ts), and a
 * start whose configuration only stops the strategy goes on for it (daemon.ts).
 */
import { sellableByExits } from '../../exchange/precision';
import type { FillOrder } from '../../exchange/exchange';
import { needsExchange } from '../orders/order-state';
import { averageEntryPrice, derivePositions, type Fill, type Lot } from './pnl';
import type { TradingState } from '../state/trading-state';

/** Amounts below this are float noise, not a position (pnl.ts's). */
const EPSILON = 1e-12;

export interface OpenPosition {
  symbol: string;
  /** Base amount the bot holds. */
  amount: number;
}

export interface OpenOrder {
  clientOrderId: string;
  symbol: string;
  side: string;
  status: string;
}

export interface OpenHoldings {
  positions: OpenPosition[];
  orders: OpenOrder[];
}

/**
 * The positions and orders `state` holds open. `lots`: the markets' amount rules by symbol (a symbol without one:
 * any amount is a position). `fillOrder`: the exchange's (its profile), as trading replays fills.
 */
export function openHoldings(
  state: Pick<TradingState, 'orders' | 'checkpoint'>,
  lots: Readonly<Record<string, Lot>>,
  fillOrder: FillOrder,
): OpenHoldings {
  const fills: Fill[] = Object.values(state.orders).flatMap((o) => o.fills);
  const books = derivePositions(state.checkpoint, fills, lots, fillOrder);
  const positions = Object.values(books)
    .filter((b) => {
      if (!(b.amount > EPSILON)) return false;
      const lot = lots[b.symbol];
      return lot ? sellableByExits(b.amount, lot, averageEntryPrice(b) || undefined) > 0 : true;
    })
    .map((b) => ({ symbol: b.symbol, amount: b.amount }))
    .sort((a, b) => a.symbol.localeCompare(b.symbol));
  const orders = Object.values(state.orders)
    .filter((o) => needsExchange(o))
    .map((o) => ({ clientOrderId: o.clientOrderId, symbol: o.symbol, side: o.side, status: o.status }))
    .sort((a, b) => a.clientOrderId.localeCompare(b.clientOrderId));
  return { positions, orders };
}

/** Whether anything is held open (see `openHoldings`). */
export function holdsAnything(holdings: OpenHoldings): boolean {
  return holdings.positions.length > 0 || holdings.orders.length > 0;
}
