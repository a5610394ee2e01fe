/**
 * Which symbols the engine watches (pure): the configured ones (`trading.symbols`), then any other the bot holds any
 * amount of (dust too: whether it can be sold moves with the price) or has orders on — those run exits only
 * (placement-gate.ts rule "untraded"), so a symbol dropped from the config never strands a position or an order.
 */
export function watchedSymbols(
  configured: readonly string[],
  pendingOrders: ReadonlyArray<{ symbol: string }>,
  positions: ReadonlyArray<{ symbol: string; amount: number }>,
): { symbols: string[]; untraded: string[] } {
  const extra = new Set<string>();
  for (const order of pendingOrders) extra.add(order.symbol);
  for (const position of positions) {
    if (position.amount > 0) extra.add(position.symbol);
  }
  for (const symbol of configured) extra.delete(symbol);
  return { symbols: [...configured, ...extra], untraded: [...extra] };
}
