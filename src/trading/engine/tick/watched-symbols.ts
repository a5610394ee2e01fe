/**
 * Which symbols the engine watches (`watchedSymbols`, pure; `symbolsToWatch` reads them now): the configured ones (`trading.symbols`), then any other the bot holds any
 * amount of (dust too: whether it can be sold moves with the price) or has orders on — those run exits only
 * (placement-gate.ts rule "untraded"), so a symbol dropped from the config never strands a position or an order.
 */
import type { OnceLog } from '../log-once';
import type { OrderBook } from '../orders/order-book';

export function watchedSymbols(
  configured: readonly string[],
  pendingSymbols: readonly string[],
  positions: ReadonlyArray<{ symbol: string; amount: number }>,
): { symbols: string[]; untraded: string[] } {
  const extra = new Set<string>(pendingSymbols);
  for (const position of positions) {
    if (position.amount > 0) extra.add(position.symbol);
  }
  for (const symbol of configured) extra.delete(symbol);
  return { symbols: [...configured, ...extra], untraded: [...extra] };
}

/** The watched symbols now; a symbol watched but no longer traded is logged once (exits only). */
export function symbolsToWatch(
  orderBook: Pick<OrderBook, 'pendingSymbols' | 'positions'>,
  configured: readonly string[],
  onceLog: OnceLog,
): string[] {
  const { symbols, untraded } = watchedSymbols(
    configured,
    orderBook.pendingSymbols(),
    Object.values(orderBook.positions()),
  );
  for (const symbol of untraded) {
    onceLog.log(`untraded:${symbol}`, 'warn', 'Symbol not in trading.symbols still held: exits only', {
      symbol,
    });
  }
  return symbols;
}
