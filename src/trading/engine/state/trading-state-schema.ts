/**
 * The full schema of `trading-state.json` and of a `trading-history.jsonl` line. Every field the engine reads is
 * typed here: valid JSON with a wrong type inside (a fill price "abc", a checkpoint amount "lots") fails the
 * schema, so the Store quarantines the file and loads the previous generation instead of crashing in
 * derivePositions or silently computing a null equity. Objects are loose: a field this build does not know
 * (written by a newer build, or an older file's leftover) is kept as it is, never a reason to refuse the file.
 */
import * as z from 'zod';
import { compiledParser, keysIn } from '../../../shared/config/zod-compiled';
import { EVENT_TYPE_FORM } from '../../../shared/ipc/event-schema';
import type { LocalOrder } from '../orders/order-state';

export const ORDER_STATUSES = [
  'intent',
  'unknown',
  'open',
  'partially_filled',
  'filled',
  'cancelled',
  'rejected',
  'expired',
] as const;

export const ORDER_PURPOSES = [
  'entry',
  'exit',
  'stop-loss',
  'take-profit',
  'close-all',
  'adopted',
  'write-off',
] as const;

/**
 * The state file's schemas, built on first use (stateSchemas), not when the module loads: in the daemon bundles
 * every state file and history line is checked by the parser generated at build time (zod-compiled.ts), which needs
 * none of them unless a file fails it or leaves out a defaulted field — building them was ~3 ms of the top level of
 * every trading start (--cpu-prof, the module's own initialiser) and ~1 MiB more for its first scavenges to copy.
 */
function buildStateSchemas() {
  const finite = z.number();
  const nonNegative = z.number().min(0);
  const epochMs = z.number().int().min(0);

  const side = z.enum(['buy', 'sell']);

  const fillSchema = z.looseObject({
    orderId: z.string(),
    clientOrderId: z.string(),
    tradeId: z.string(),
    symbol: z.string(),
    side,
    price: nonNegative,
    amount: nonNegative,
    feeCost: finite,
    feeCurrency: z.string(),
    // quote value of a fee in a third currency (BNB), null when no market prices it
    feeQuote: finite.nullable().optional(),
    // feeQuote at the last price read (or unvalued): the price read failed when the fill was recorded
    feeEstimated: z.literal(true).optional(),
    timestamp: epochMs,
    // a write-off's place among its symbol's fills (pnl.ts inReplayOrder); absent on the exchange's fills
    afterTradeId: z.string().regex(/^\d+$/).optional(),
  });

  /** The fields of OrderSpec (shared/domain/order.ts), as the state file must hold them. */
  const orderSpecShape = {
    symbol: z.string().min(1),
    side,
    type: z.enum(['market', 'limit']),
    amount: nonNegative,
    price: nonNegative.optional(),
  };

  const localOrderSchema = z.looseObject({
    clientOrderId: z.string().min(1),
    exchangeOrderId: z.string().optional(),
    ...orderSpecShape,
    filled: nonNegative,
    averagePrice: nonNegative.optional(),
    answerFees: z.array(z.looseObject({ cost: finite, currency: z.string().min(1) })).optional(),
    answerFeesFilled: nonNegative.optional(),
    status: z.enum(ORDER_STATUSES),
    purpose: z.enum(ORDER_PURPOSES),
    reason: z.string().optional(),
    createdAt: epochMs,
    updatedAt: epochMs,
    sentAt: epochMs.optional(),
    lookupMisses: z.number().int().min(0).optional(),
    fills: z.array(fillSchema),
    error: z.string().optional(),
    refused: z.boolean().optional(),
    neverSent: z.boolean().optional(),
    settledAbsent: z.boolean().optional(),
    restRuledOut: z.boolean().optional(),
    seenByRead: z.boolean().optional(),
    ownerHeld: finite.optional(),
    inDoubtAt: epochMs.optional(),
    inDoubtToldAt: epochMs.optional(),
    // absent in files written before the tries to settle an absent order were kept across restarts
    absentTriesSince: epochMs.optional(),
    // absent in files written before a hold ended a standing exit
    exitLapsedAt: epochMs.optional(),
    operatorSettled: z
      .looseObject({ at: epochMs, outcome: z.enum(['not-carried-out', 'carried-out']) })
      .optional(),
    notCarriedOutAt: epochMs.optional(),
    retryAfterMs: nonNegative.optional(),
    selfTrade: z.string().optional(),
  });

  const positionBookSchema = z.looseObject({
    symbol: z.string().min(1),
    amount: finite,
    costBasis: finite,
    realizedPnl: finite,
    feesPaid: finite,
    openedAt: epochMs.nullable(),
    tripRealizedPnl: finite,
    realizedByDay: z.record(z.string(), finite),
    // absent in checkpoints written before fees paid in the coin were kept in the fold
    feesInCoin: z.looseObject({ amount: finite, quoteValue: finite }).optional(),
    // absent where no fill was numbered, and in checkpoints written before state version 4
    lastTradeId: z.string().regex(/^\d+$/).optional(),
  });

  const killSwitchSchema = z.looseObject({
    kind: z.enum(['max-drawdown', 'daily-loss']),
    reason: z.string(),
    at: epochMs,
  });

  // defaults: files written before a field existed (the values of initialRiskState)
  const riskStateSchema = z.looseObject({
    equityPeak: finite.default(0),
    day: z.string().default(''),
    dayStartEquity: finite.default(0),
    killSwitch: killSwitchSchema.nullable().default(null),
    dailyLossOverrideDay: z.string().nullable().default(null),
    // absent: measured on the account's equity (and in files written before trading.risk.capital existed)
    capital: z.number().positive().optional(),
  });

  const pauseCauseSchema = z.looseObject({
    reason: z.string(),
    by: z.enum(['operator', 'risk', 'operational', 'persist']),
    at: epochMs,
    clientOrderId: z.string().optional(),
    // absent but on the causes that need telling apart (hidden-state.ts)
    code: z.string().optional(),
  });

  // `joined` absent in files written before a pause held more than one cause (no version step: such a file is a pause
  // of one cause as it is, and an older build reading a newer file keeps its first cause)
  const pauseSchema = pauseCauseSchema.extend({ joined: z.array(pauseCauseSchema).optional() });

  const pendingEventSchema = z.looseObject({
    key: z.string().min(1),
    // any type of the form, also one a newer build made and this one does not know (a rollback): published as it is
    type: z.string().regex(EVENT_TYPE_FORM),
    summary: z.string(),
    data: z.record(z.string(), z.unknown()),
  });

  const tradingStateSchema = z.looseObject({
    // 6 × [a-z0-9], part of every clientOrderId (state version 2; the migration gives older files one)
    installId: z.string().regex(/^[a-z0-9]{6}$/, 'installId is not 6 × [a-z0-9]'),
    // the account the state belongs to; absent in files written before it existed
    identity: z
      .looseObject({
        mode: z.enum(['paper', 'dry-run', 'live']),
        exchange: z.string().min(1),
        sandbox: z.boolean(),
        account: z.string().min(1),
      })
      .optional(),
    seq: z.number().int().min(0),
    orders: z.record(z.string(), localOrderSchema),
    checkpoint: z.record(z.string(), positionBookSchema),
    risk: riskStateSchema,
    pause: pauseSchema.nullable(),
    // absent unless the operator confirmed a new install over another install's orders (hidden-state.ts)
    newInstallConfirmedAt: epochMs.optional(),
    // absent in files written before the transactional outbox existed
    outbox: z.array(pendingEventSchema).default([]),
    // absent in files written before halts were kept across restarts
    announcedHalts: z
      .record(
        z.string(),
        z.looseObject({
          status: z.enum(['halted', 'delisted']),
          since: epochMs,
          exitHeldAt: epochMs.optional(),
        }),
      )
      .default({}),
    // absent in files written before stale prices were kept across restarts
    announcedStale: z.record(z.string(), z.looseObject({ since: epochMs, reason: z.string() })).default({}),
    // absent in files written before unsellable positions were told (exchange-watch/unsellable-watch.ts)
    announcedUnsellable: z
      .record(
        z.string(),
        z.looseObject({ reason: z.enum(['below-minimum', 'delisted']), amount: finite, at: epochMs }),
      )
      .default({}),
    // state version 3 (the migration adds it to older files)
    announcedShortfalls: z.record(
      z.string(),
      z.looseObject({ position: finite, held: finite, missing: finite, at: epochMs }),
    ),
    // absent in files written before the owner's holdings were kept across restarts
    ownerHoldings: z.record(z.string(), finite).default({}),
    // absent in files written before the candles the strategy saw were kept across restarts
    seenCandles: z.record(z.string(), epochMs).default({}),
    // absent in files written before the seen candles' ends were kept (then `seenCandles` holds their open times)
    seenCandleEnds: z.record(z.string(), epochMs).default({}),
  });

  const historyEntrySchema = z.looseObject({
    kind: z.literal('order'),
    archivedAt: epochMs,
    order: localOrderSchema,
    seq: z.number().int().min(0).optional(),
  });

  // localOrderSchema for its type only (parsedOrderIsLocalOrder below)
  return { localOrderSchema, tradingStateSchema, historyEntrySchema };
}

export type StateSchemas = ReturnType<typeof buildStateSchemas>;

let built: StateSchemas | undefined;

/** The schemas of the trading state file and of a history line (built once, on the first call). */
export function stateSchemas(): StateSchemas {
  return (built ??= buildStateSchemas());
}

// a compile error here means the file's schema lost a field LocalOrder (or OrderSpec) declares
const parsedOrderIsLocalOrder = (o: z.infer<StateSchemas['localOrderSchema']>): LocalOrder => o;
void parsedOrderIsLocalOrder;

/**
 * What is checked of a state after its schema: each order filed under its own clientOrderId, each checkpoint book
 * under its own symbol. validateTradingState refuses a file with either, as it refuses one the schema does. It was a
 * refinement of the schema: out of it, the parser generated at build time needs no schema object on a file it accepts
 * (a refinement's check is the schema's). It reads any value (a file the schema refused is described by both): an
 * entry without a string key field is the schema's to name.
 */
export function misfiledKeys(state: unknown): string | undefined {
  const orders = entriesOf(state, 'orders');
  for (const id in orders) {
    const key = fieldOf(orders[id], 'clientOrderId');
    if (typeof key === 'string' && key !== id) return `orders.${id}: key differs from its clientOrderId`;
  }
  const checkpoint = entriesOf(state, 'checkpoint');
  for (const symbol in checkpoint) {
    const key = fieldOf(checkpoint[symbol], 'symbol');
    if (typeof key === 'string' && key !== symbol) return `checkpoint.${symbol}: key differs from its symbol`;
  }
  return undefined;
}

/** `value[name]` when value is an object, else undefined. */
function fieldOf(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

/** `state[name]` when it is a plain object (the schema's records), else none. */
function entriesOf(state: unknown, name: string): Record<string, unknown> {
  const value = fieldOf(state, name);
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/** The state file's and a history line's parsers (zod-compiled.ts: generated at build time in the daemon bundles). */
export const tradingStateParser = compiledParser(
  'trading-state',
  () => stateSchemas().tradingStateSchema,
  (data) => keysIn(data, 'orders'),
);
export const historyEntryParser = compiledParser(
  'history-entry',
  () => stateSchemas().historyEntrySchema,
  () => 1,
);

/** The first few issues of a failed parse, as one line ("orders.x.fills.0.price: expected number…"). */
export function describeSchemaIssues(error: z.ZodError, max = 3): string {
  return error.issues
    .slice(0, max)
    .map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`)
    .join('; ');
}
