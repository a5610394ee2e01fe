/**
 * The paper exchange's own database: balances, orders (with their trades) and id counters, kept in
 * `<dataDir>/paper-exchange.json` through the durable Store — exactly what a real exchange would remember
 * about the account. Validated on open, so a damaged file is quarantined rather than trusted.
 */
import * as z from 'zod';
import { compiledParser, keysIn } from '../../shared/config/zod-compiled';
import { InsufficientFundsError } from '../../shared/errors';

/** The account file's schema version: stepped for every value added to one of its closed lists (store.ts). */
export const PAPER_ACCOUNT_VERSION = 1;

const side = z.enum(['buy', 'sell']);

const tradeSchema = z.object({
  id: z.string(),
  orderId: z.string(),
  symbol: z.string(),
  side,
  price: z.number(),
  amount: z.number(),
  cost: z.number(),
  fee: z.object({ cost: z.number(), currency: z.string() }),
  timestamp: z.number(),
});

const orderSchema = z.object({
  id: z.string(),
  clientOrderId: z.string(),
  symbol: z.string(),
  side,
  type: z.enum(['market', 'limit']),
  price: z.number().optional(),
  amount: z.number(),
  filled: z.number(),
  /** Quote spent (buy) or received before fees (sell). */
  cost: z.number(),
  status: z.enum(['open', 'closed', 'canceled', 'rejected', 'expired']),
  timestamp: z.number(),
  /** Funds still held for the unfilled part of a resting order. */
  reserved: z.object({ currency: z.string(), amount: z.number() }),
  /** Completed periods already matched; periods up to it are never looked at again. */
  checkedBucket: z.number(),
  /** Period of the last fill slice; a large order gets at most one slice per period. */
  lastFillBucket: z.number(),
  trades: z.array(tradeSchema),
});

export const paperAccountSchema = z.object({
  balances: z.record(z.string(), z.object({ free: z.number(), used: z.number() })),
  orders: z.record(z.string(), orderSchema),
  /** clientOrderId → order id; what makes a second create with the same clientOrderId fail. */
  byClientId: z.record(z.string(), z.string()),
  nextOrderId: z.number().int().positive(),
  nextTradeId: z.number().int().positive(),
});

/** The account file's parser (zod-compiled.ts: generated at build time in the daemon bundles). */
export const paperAccountParser = compiledParser(
  'paper-account',
  () => paperAccountSchema,
  (data) => keysIn(data, 'orders'),
);

export type PaperAccount = z.infer<typeof paperAccountSchema>;
export type PaperOrderRecord = z.infer<typeof orderSchema>;
export type PaperTradeRecord = z.infer<typeof tradeSchema>;

export function newPaperAccount(startingBalances: Record<string, number>): PaperAccount {
  const balances: PaperAccount['balances'] = {};
  for (const [currency, amount] of Object.entries(startingBalances))
    balances[currency] = { free: amount, used: 0 };
  return { balances, orders: {}, byClientId: {}, nextOrderId: 1, nextTradeId: 1 };
}

/** Removes float noise (0.1 + 0.2) from balances and amounts; 12 decimals is below any exchange's precision. */
export function clean(value: number): number {
  const rounded = Number(value.toFixed(12));
  return Object.is(rounded, -0) ? 0 : rounded;
}

function entry(account: PaperAccount, currency: string): { free: number; used: number } {
  account.balances[currency] ??= { free: 0, used: 0 };
  return account.balances[currency];
}

export function freeOf(account: PaperAccount, currency: string): number {
  return account.balances[currency]?.free ?? 0;
}

export function credit(account: PaperAccount, currency: string, amount: number): void {
  const e = entry(account, currency);
  e.free = clean(e.free + amount);
}

/** Takes `amount` from free funds; throws InsufficientFundsError (nothing changed) when there is not enough. */
export function debit(
  account: PaperAccount,
  currency: string,
  amount: number,
  context: Record<string, unknown>,
): void {
  const e = entry(account, currency);
  if (e.free + 1e-12 < amount) {
    throw new InsufficientFundsError(`insufficient ${currency}: need ${clean(amount)}, free ${e.free}`, {
      ...context,
      currency,
      needed: clean(amount),
      free: e.free,
    });
  }
  e.free = clean(Math.max(0, e.free - amount));
}

/** Moves free funds to used (held by a resting order). */
export function reserve(
  account: PaperAccount,
  currency: string,
  amount: number,
  context: Record<string, unknown>,
): void {
  debit(account, currency, amount, context);
  const e = entry(account, currency);
  e.used = clean(e.used + amount);
}

/** Gives held funds back to free. */
export function release(account: PaperAccount, currency: string, amount: number): void {
  const e = entry(account, currency);
  const back = Math.min(amount, e.used);
  e.used = clean(e.used - back);
  e.free = clean(e.free + back);
}
