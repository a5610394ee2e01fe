/**
 * The bot's own equity (pure), what the kill switch judges when the operator sets `trading.risk.capital`: the capital
 * given the bot, plus the realized PnL of its closed trades (fees included; a position written off for a shortfall
 * is a sell at price 0, a loss like any other), plus the unrealized PnL of its positions at their last price (at
 * their entry price before one is read: none). Only the bot's books count, never the account's balance: the owner's
 * deposits, withdrawals and own trades on the same account move nothing.
 */
import { averageEntryPrice, splitSymbol, unrealizedPnl, type PositionBook } from './pnl';

export function botEquityOf(
  capital: number,
  positions: Readonly<Record<string, PositionBook>>,
  lastPrices: Readonly<Record<string, number>>,
  quoteCurrency: string,
): number {
  let pnl = 0;
  for (const p of Object.values(positions)) {
    if (splitSymbol(p.symbol).quote !== quoteCurrency) continue;
    pnl += p.realizedPnl + unrealizedPnl(p, lastPrices[p.symbol] ?? averageEntryPrice(p));
  }
  return capital + pnl;
}
