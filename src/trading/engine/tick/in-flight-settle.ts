/**
 * The orders in flight synced before the account is read as settled (account-watch.ts: a kill switch with buys in
 * flight, a new day): each symbol's orders on that symbol's lane, the symbols side by side, every order tried.
 */
import { ByNinjaError, errorMessage } from '../../../shared/errors';
import type { OnceLog } from '../log-once';
import type { OrderBook } from '../orders/order-book';
import type { OrderRefresh } from '../orders/order-refresh';
import type { SymbolLanes } from '../symbol-lanes';

/** The orders in flight (the order book's) and the refresh of one (order-refresh.ts). */
interface InFlightOrders {
  pendingOrders: OrderBook['pendingOrders'];
  refresh: OrderRefresh['refresh'];
}

/**
 * Syncs every order in flight. A symbol still busy (its work outlasted an earlier tick) is not synced twice at once:
 * the settle is incomplete then, and so is it when the exchange or the disk fails an order or one is still
 * unresolved after it (an unknown order that lookups miss) — false: their fills may still be missing, the first
 * reading stands (a kill switch it fires pauses entries: the safe side). A settle that outlasts the account's
 * deadline keeps its symbols' lanes until done (the tick skips them). Any other error is a bug and is thrown.
 */
export async function settleInFlight(
  inFlight: InFlightOrders,
  lanes: SymbolLanes,
  onceLog: OnceLog,
): Promise<boolean> {
  const symbols = [...new Set(inFlight.pendingOrders().map((o) => o.symbol))];
  const syncs = symbols.map((symbol) => lanes.run([symbol], () => syncOrders(inFlight, symbol)));
  const busy = symbols.filter((_, i) => syncs[i] === undefined);
  const failed = (await Promise.all(syncs)).flatMap((errors) => errors ?? []);
  const bug = failed.find((err) => !(err instanceof ByNinjaError));
  if (bug !== undefined) throw bug;
  if (failed.length > 0) {
    onceLog.log('risk:settle', 'warn', 'Could not sync the orders in flight before reading the account', {
      error: errorMessage(failed[0]),
    });
    return false;
  }
  if (busy.length > 0) {
    onceLog.log(
      'risk:busy',
      'warn',
      'A symbol still busy: its orders in flight not synced before reading the account',
      {
        symbols: busy,
      },
    );
    return false;
  }
  return !inFlight.pendingOrders().some((o) => o.status === 'intent' || o.status === 'unknown');
}

/** A symbol's orders in flight synced side by side, every one tried: what failed. */
async function syncOrders(inFlight: InFlightOrders, symbol: string): Promise<unknown[]> {
  const orders = inFlight.pendingOrders(symbol);
  const results = await Promise.allSettled(orders.map((o) => inFlight.refresh(o.clientOrderId)));
  return results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
}
