/**
 * What a spot sell may take of each coin on OKX, read from GET /api/v5/account/balance's `details` (pure). OKX
 * documents, per currency: `cashBal` "Cash balance" and `availBal` "Available balance of currency" in every account
 * mode; `frozenBal` "Frozen balance of currency"; `eq` "Equity of currency" (with the unrealized P&L of the
 * currency's margin and derivatives positions: `upl`, Futures mode / Multi-currency margin / Portfolio margin); and
 * `availEq` "Available equity of currency", only in Futures mode / Multi-currency margin / Portfolio margin (acctLv
 * 2–4; "" in Spot mode). ccxt's okx parseTradingBalance takes `availEq` for free wherever it is set and `eq` for the
 * total: above Spot mode both count equity the account does not hold as coin — a profitable position's P&L in that
 * currency, or (Multi-currency margin, Portfolio margin) equity a sell of more than is held would borrow against (a
 * short). The bot sells only coin held: free is `availBal` (what open orders do not freeze), never above `cashBal`
 * nor below 0; used is `frozenBal`; total is `cashBal` (0 when the coin is borrowed: a negative cash balance). The
 * same in every mode, so Spot mode reads as ccxt read it.
 */
import type { BalanceEntry } from '../exchange';

export function okxSpotBalance(answer: unknown): Record<string, BalanceEntry> | undefined {
  const data = (answer as { data?: unknown } | undefined)?.data;
  const details = Array.isArray(data) ? (data[0] as { details?: unknown } | undefined)?.details : undefined;
  if (!Array.isArray(details)) return undefined;
  const balances: Record<string, BalanceEntry> = {};
  for (const d of details as Array<Record<string, unknown> | null>) {
    const ccy = d?.ccy;
    const cash = amount(d?.cashBal);
    if (typeof ccy !== 'string' || ccy === '' || cash === undefined) continue;
    const held = Math.max(0, cash);
    const frozen = Math.max(0, amount(d?.frozenBal) ?? 0);
    const available = amount(d?.availBal) ?? held - frozen;
    balances[ccy] = {
      free: Math.max(0, Math.min(available, held)),
      used: Math.min(frozen, held),
      total: held,
    };
  }
  return balances;
}

/** A decimal string as a number; "" (a field not applicable to the account's mode) or anything else: undefined. */
function amount(value: unknown): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}
