import { expect } from 'chai';
import fc from 'fast-check';
import * as z from 'zod';
import { compileFn, INVALID } from 'zod/v4/core';
import {
  COMPILE_FROM,
  compiledParser,
  keysIn,
  prebuiltInFrontOf,
} from '../../../src/shared/config/zod-compiled';
import {
  historyEntryParser,
  stateSchemas,
  tradingStateParser,
} from '../../../src/trading/engine/state/trading-state-schema';
import { validateTradingState } from '../../../src/trading/engine/state/trading-state';
import { paperAccountParser, paperAccountSchema } from '../../../src/trading/exchange/paper-account';
import { loadPrebuiltParsers } from '../../support/zod-prebuilt';

/**
 * The compiled parsers a start validates its files with must accept exactly what the full schemas accept, with the
 * same value, and reject the rest with the same issues. Each parser is compiled by a file above COMPILE_FROM
 * orders first; then files mutated in one place (a field of an order or a fill, or of the file's top level) to a
 * value of another type, out of range, or removed, or given an unknown field.
 */

const { tradingStateSchema, historyEntrySchema } = stateSchemas();

function fill(i: number, k: number): Record<string, unknown> {
  return {
    orderId: `x${i}`,
    clientOrderId: `bot-abc123-${i}`,
    tradeId: `t${i}-${k}`,
    symbol: 'BTC/USDT',
    side: 'buy',
    price: 50_000 + k,
    amount: 0.001,
    feeCost: 0.05,
    feeCurrency: 'USDT',
    ...(k % 2 === 0 ? { feeQuote: null } : { feeQuote: 0.05 }),
    timestamp: 1_700_000_000_000 + k,
  };
}

function localOrder(i: number): Record<string, unknown> {
  const filled = i % 3 === 0;
  return {
    clientOrderId: `bot-abc123-${i}`,
    ...(i % 5 === 0 ? {} : { exchangeOrderId: `x${i}` }),
    symbol: i % 2 === 0 ? 'BTC/USDT' : 'ETH/USDT',
    side: i % 4 < 2 ? 'buy' : 'sell',
    type: i % 7 === 0 ? 'market' : 'limit',
    amount: 0.002,
    ...(i % 7 === 0 ? {} : { price: 25_000.5 }),
    filled: filled ? 0.002 : 0,
    ...(filled ? { averagePrice: 50_000 } : {}),
    status: filled ? 'filled' : i % 5 === 0 ? 'unknown' : 'open',
    purpose: i % 11 === 0 ? 'stop-loss' : 'entry',
    ...(i % 2 === 0 ? { reason: 'seeded' } : {}),
    createdAt: 1_700_000_000_000 + i,
    updatedAt: 1_700_000_000_000 + i,
    ...(i % 5 === 0 ? { sentAt: 1_700_000_000_000 + i, lookupMisses: 1, error: 'timeout' } : {}),
    fills: filled ? [fill(i, 0), fill(i, 1)] : [],
    ...(i % 13 === 0 ? { refused: false, retryAfterMs: 1000 } : {}),
  };
}

function tradingState(count = 16): Record<string, unknown> {
  const orders: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) orders[`bot-abc123-${i}`] = localOrder(i);
  return {
    installId: 'abc123',
    identity: { mode: 'paper', exchange: 'paper', sandbox: false, account: 'paper' },
    seq: count,
    orders,
    checkpoint: {
      'BTC/USDT': {
        symbol: 'BTC/USDT',
        amount: 0.5,
        costBasis: 25_000,
        realizedPnl: 12,
        feesPaid: 3,
        openedAt: 1_700_000_000_000,
        tripRealizedPnl: 1,
        realizedByDay: { '2026-12-01': 12 },
      },
    },
    risk: {
      equityPeak: 10_000,
      day: '2026-12-02',
      dayStartEquity: 9_900,
      killSwitch: null,
      dailyLossOverrideDay: null,
    },
    pause: { reason: 'operator hold', by: 'operator', at: 1_700_000_000_000 },
    outbox: [{ key: 'k1', type: 'order.placed', summary: 'placed', data: { a: 1 } }],
    announcedHalts: {
      'ETH/USDT': { status: 'halted', since: 1_700_000_000_000, exitHeldAt: 1_700_000_100_000 },
    },
    announcedStale: { 'SOL/USDT': { since: 1_700_000_150_000, reason: 'price 6 min old (closeTime)' } },
    announcedShortfalls: {
      'BNB/USDT': { position: 20, held: 17, missing: 3, at: 1_700_000_200_000 },
    },
    announcedUnsellable: { 'XRP/USDT': { reason: 'below-minimum', amount: 3, at: 1_700_000_250_000 } },
    ownerHoldings: { BTC: 1.5, BNB: -0.01 },
    seenCandles: { 'BTC/USDT': 1_700_000_040_000 },
    seenCandleEnds: { 'ETH/USDT': 1_700_000_100_000 },
  };
}

function paperOrder(i: number): Record<string, unknown> {
  const closed = i % 3 === 0;
  return {
    id: String(i),
    clientOrderId: `bot-abc123-${i}`,
    symbol: 'BTC/USDT',
    side: i % 2 === 0 ? 'buy' : 'sell',
    type: 'limit',
    ...(i % 9 === 0 ? {} : { price: 25_000 }),
    amount: 0.002,
    filled: closed ? 0.002 : 0,
    cost: closed ? 50 : 0,
    status: closed ? 'closed' : 'open',
    timestamp: 1_700_000_000_000 + i,
    reserved: { currency: 'USDT', amount: closed ? 0 : 50.05 },
    checkedBucket: 850_000_000,
    lastFillBucket: -1,
    trades: closed
      ? [
          {
            id: `t${i}`,
            orderId: String(i),
            symbol: 'BTC/USDT',
            side: 'buy',
            price: 25_000,
            amount: 0.002,
            cost: 50,
            fee: { cost: 0.05, currency: 'USDT' },
            timestamp: 1_700_000_000_000 + i,
          },
        ]
      : [],
  };
}

function paperAccount(count = 16): Record<string, unknown> {
  const orders: Record<string, unknown> = {};
  const byClientId: Record<string, string> = {};
  for (let i = 1; i <= count; i++) {
    orders[String(i)] = paperOrder(i);
    byClientId[`bot-abc123-${i}`] = String(i);
  }
  return {
    balances: { USDT: { free: 9_000, used: 1_000 }, BTC: { free: 0.1, used: 0 } },
    orders,
    byClientId,
    nextOrderId: count + 1,
    nextTradeId: 7,
  };
}

/** Values of every kind a damaged or foreign file may hold where another is expected. */
const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, '', 'abc', 'open', 'buy', -1, 0, 1.5, 2 ** 53, Number.NaN, Infinity, [], {}),
  fc.string({ maxLength: 8 }),
  fc.double(),
  fc.integer(),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
);

type Mutation = { path: (string | number)[]; value: unknown } | { path: (string | number)[]; remove: true };

/** One change at `path` of a copy of `data`: a new value, or the key removed. */
function mutate(data: unknown, mutation: Mutation): unknown {
  const copy = structuredClone(data) as Record<string | number, unknown>;
  let at = copy;
  const path = mutation.path;
  for (const key of path.slice(0, -1)) {
    const next = at[key];
    if (typeof next !== 'object' || next === null) return copy;
    at = next as Record<string | number, unknown>;
  }
  const last = path[path.length - 1];
  if ('remove' in mutation) delete at[last];
  else at[last] = mutation.value;
  return copy;
}

/** Every path of `value` (objects and arrays walked), so a mutation can hit any field at any depth. */
function pathsOf(
  value: unknown,
  prefix: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return out;
  for (const [key, child] of Object.entries(value)) {
    const path = [...prefix, Array.isArray(value) ? Number(key) : key];
    out.push(path);
    pathsOf(child, path, out);
  }
  return out;
}

function mutationOf(data: unknown, focus: (path: (string | number)[]) => boolean): fc.Arbitrary<Mutation> {
  const paths = pathsOf(data).filter(focus);
  const path = fc.constantFrom(...paths);
  return fc.oneof(
    fc.record({ path, value: oddValue }),
    fc.record({ path, remove: fc.constant(true as const) }),
    // an unknown field: kept by the loose schemas, dropped by the strict ones
    fc.record({
      path: path.map((p) => [...p.slice(0, -1), 'unknownField']),
      value: oddValue,
    }),
  );
}

/** The compiled parser answers as the schema does: same verdict, same value, same issues. */
function expectSameAnswer(
  parser: { safeParse(data: unknown): z.ZodSafeParseResult<unknown> },
  schema: z.ZodType,
  data: unknown,
): void {
  const compiled = parser.safeParse(data);
  const full = schema.safeParse(data);
  expect(compiled.success, 'verdict').to.equal(full.success);
  if (full.success) expect(compiled.data).to.deep.equal(full.data);
  else expect(compiled.error!.issues).to.deep.equal(full.error.issues);
}

describe('compiled parsers of the state files (z.compile)', () => {
  const anywhere = (): boolean => true;

  it('compiles once COMPILE_FROM elements were checked (the value parsed included); below, the schema answers', () => {
    let asked = 0;
    const parser = compiledParser(
      'test-n',
      () => z.object({ n: z.number() }),
      () => {
        asked += 1;
        return COMPILE_FROM / 2;
      },
    );
    expect(parser.parse({ n: 1 })).to.deep.equal({ n: 1 });
    expect(parser.safeParse({ n: 'x' }).success).to.equal(false);
    expect(asked, 'compiled at the second value').to.equal(2);
    expect(parser.parse({ n: 2 })).to.deep.equal({ n: 2 });
    expect(parser.safeParse({ n: 'y' }).error!.issues[0].path).to.deep.equal(['n']);
    expect(asked, 'not asked once compiled').to.equal(2);
    expect(keysIn({ orders: { a: 1, b: 2 } }, 'orders')).to.equal(2);
    expect([keysIn(null, 'orders'), keysIn({ orders: 'x' }, 'orders'), keysIn([], 'orders')]).to.deep.equal([
      0, 0, 0,
    ]);
  });

  it("zod generates a parser for each file's schema (one it could not would leave that file on the ~25 µs an order runtime parser, silently)", () => {
    for (const [schema, file] of [
      [tradingStateSchema, tradingState(COMPILE_FROM + 1)],
      [paperAccountSchema, paperAccount(COMPILE_FROM + 1)],
      [historyEntrySchema, { kind: 'order', archivedAt: 5, order: localOrder(3), seq: 9 }],
    ] as const) {
      const parse = compileFn(schema as z.ZodType);
      expect(parse(file)).to.not.equal(INVALID);
      expect(parse({})).to.equal(INVALID);
    }
  });

  it('the trading state: accepts and rejects what the full schema does, with the same value and issues', () => {
    const large = tradingState(COMPILE_FROM + 1);
    expectSameAnswer(tradingStateParser, tradingStateSchema, large);
    expect(tradingStateParser.parse(large)).to.deep.equal(large);
    const state = tradingState();
    fc.assert(
      fc.property(mutationOf(state, anywhere), (m) =>
        expectSameAnswer(tradingStateParser, tradingStateSchema, mutate(state, m)),
      ),
      { numRuns: 500 },
    );
  });

  it('the paper account: the same, its unknown fields dropped as the full schema drops them', () => {
    expectSameAnswer(paperAccountParser, paperAccountSchema, paperAccount(COMPILE_FROM + 1));
    const account = paperAccount();
    fc.assert(
      fc.property(mutationOf(account, anywhere), (m) =>
        expectSameAnswer(paperAccountParser, paperAccountSchema, mutate(account, m)),
      ),
      { numRuns: 500 },
    );
  });

  it('a history line: the same, once enough lines were read to compile', () => {
    const line = { kind: 'order', archivedAt: 5, order: localOrder(3), seq: 9 };
    for (let i = 0; i < COMPILE_FROM; i++) historyEntryParser.parse(line);
    fc.assert(
      fc.property(
        mutationOf(line, () => true),
        (m) => expectSameAnswer(historyEntryParser, historyEntrySchema, mutate(line, m)),
      ),
      { numRuns: 300 },
    );
  });
});

describe('parsers generated at build time (scripts/zod-prebuild.ts, what the daemon bundles use)', () => {
  const anywhere = (): boolean => true;
  const prebuilt = loadPrebuiltParsers({
    'trading-state': tradingStateSchema,
    'history-entry': historyEntrySchema,
    'paper-account': paperAccountSchema,
  });
  // as compiledParser puts it in front of the schema's own parser in a bundle
  const installed = <S extends z.ZodType>(id: string, schema: S) =>
    prebuiltInFrontOf(
      () => schema,
      prebuilt[id](() => schema),
    );

  it('each answers a valid file itself (not INVALID, so no runtime fallback), with the value the schema gives', () => {
    for (const [id, schema, file] of [
      ['trading-state', tradingStateSchema, tradingState(COMPILE_FROM + 1)],
      ['paper-account', paperAccountSchema, paperAccount(COMPILE_FROM + 1)],
      ['history-entry', historyEntrySchema, { kind: 'order', archivedAt: 5, order: localOrder(3), seq: 9 }],
    ] as const) {
      const parse = prebuilt[id](() => schema);
      expect(parse(file), id).to.not.equal(INVALID);
      expect(parse(file), id).to.deep.equal(schema.parse(file));
      expect(parse({}), id).to.equal(INVALID);
    }
  });

  it('builds no schema for a file it accepts: only for a default it fills in, or to word why it refuses one', () => {
    let built = 0;
    const schema = () => {
      built += 1;
      return tradingStateSchema;
    };
    const parser = prebuiltInFrontOf(schema, prebuilt['trading-state'](schema));
    expect(parser.parse(tradingState(COMPILE_FROM + 1))).to.have.property('seq', COMPILE_FROM + 1);
    expect(built, 'a file with every field').to.equal(0);
    const bare = tradingState();
    delete bare.seenCandles;
    expect(parser.parse(bare)).to.have.deep.property('seenCandles', {});
    expect(built, 'a default filled in').to.be.greaterThan(0);
    built = 0;
    expect(parser.safeParse({ installId: 'abc123' }).success).to.equal(false);
    expect(built, 'a refused file').to.equal(1);
  });

  it('the trading state: accepts and rejects what the full schema does, with the same value and issues', () => {
    const parser = installed('trading-state', tradingStateSchema);
    expectSameAnswer(parser, tradingStateSchema, tradingState(COMPILE_FROM + 1));
    // an order filed under another order's id: validateTradingState's own check (misfiledKeys), not the schema's
    const moved = tradingState();
    (moved.orders as Record<string, unknown>)['bot-abc123-999'] = localOrder(1);
    expectSameAnswer(parser, tradingStateSchema, moved);
    expect(() => validateTradingState(moved)).to.throw(
      /trading state is invalid: orders\.bot-abc123-999: key differs from its clientOrderId/,
    );
    const misbooked = tradingState();
    const books = misbooked.checkpoint as Record<string, unknown>;
    books['ETH/USDT'] = books['BTC/USDT'];
    expect(() => validateTradingState(misbooked)).to.throw(
      /checkpoint\.ETH\/USDT: key differs from its symbol/,
    );
    // refused by the schema as well: both named
    const both = tradingState();
    (both.orders as Record<string, unknown>)['bot-abc123-999'] = { ...localOrder(1), amount: 'lots' };
    expect(() => validateTradingState(both)).to.throw(
      /trading state is invalid: orders\.bot-abc123-999\.amount: .*; orders\.bot-abc123-999: key differs from its clientOrderId/,
    );
    // what the schema refuses for its shape is the schema's alone
    expect(() => validateTradingState({ ...tradingState(), orders: [localOrder(1)] })).to.throw(
      /trading state is invalid: orders: [^;]*$/,
    );
    expect(validateTradingState(tradingState(COMPILE_FROM + 1))).to.deep.equal(
      tradingStateSchema.parse(tradingState(COMPILE_FROM + 1)),
    );
    // a default filled in by the generated parser is a copy: a parse never hands out the schema's own object
    const bare = tradingState();
    delete bare.ownerHoldings;
    const first = parser.parse(bare) as { ownerHoldings: Record<string, number> };
    first.ownerHoldings.BTC = 1;
    expect((parser.parse(bare) as { ownerHoldings: object }).ownerHoldings).to.deep.equal({});
    const state = tradingState();
    fc.assert(
      fc.property(mutationOf(state, anywhere), (m) =>
        expectSameAnswer(parser, tradingStateSchema, mutate(state, m)),
      ),
      { numRuns: 500 },
    );
  });

  it('the paper account and a history line: the same', () => {
    const account = paperAccount();
    const accountParser = installed('paper-account', paperAccountSchema);
    fc.assert(
      fc.property(mutationOf(account, anywhere), (m) =>
        expectSameAnswer(accountParser, paperAccountSchema, mutate(account, m)),
      ),
      { numRuns: 500 },
    );
    const line = { kind: 'order', archivedAt: 5, order: localOrder(3), seq: 9 };
    const lineParser = installed('history-entry', historyEntrySchema);
    fc.assert(
      fc.property(mutationOf(line, anywhere), (m) =>
        expectSameAnswer(lineParser, historyEntrySchema, mutate(line, m)),
      ),
      { numRuns: 300 },
    );
  });
});
