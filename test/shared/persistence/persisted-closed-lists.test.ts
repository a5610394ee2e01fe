/**
 * Every closed list of every versioned persisted file (a zod enum or literal: an order's purpose and status, a pause
 * cause's source, a supervisor outage's cause…), held against the snapshot of the file's version. A build that reads
 * a value it does not know in such a list takes the file for damaged: trading set its state aside and traded on the
 * previous generation, or stopped BLOCKED when both held the value; telegram started empty, its event cursor at 0,
 * and sent the kept events again. So a value is added to a list only with a step of the file's version (and a
 * migration): the older build then refuses the file whole and untouched (Store, NewerStateError: exit 78), never
 * half-reads it (docs/architecture.md, "Persisted files").
 *
 * When this test fails: step the file's version constant, add its migration (an identity one when nothing else
 * changes), and copy the lists it prints into persisted-closed-lists.snapshot.ts under the new version.
 */
import { expect } from 'chai';
import * as z from 'zod';
import { tradingEventSchema } from '../../../src/shared/ipc/event-schema';
import { OUTBOX_STORE_VERSION } from '../../../src/telegram/notify/outbox';
import { outboxStateSchema } from '../../../src/telegram/notify/outbox-schema';
import {
  SUPERVISOR_STORE_VERSION,
  supervisorStateSchema,
} from '../../../src/telegram/supervisor/supervisor-state';
import { STATE_VERSION } from '../../../src/trading/engine/state/trading-state';
import { stateSchemas } from '../../../src/trading/engine/state/trading-state-schema';
import { PAPER_ACCOUNT_VERSION, paperAccountSchema } from '../../../src/trading/exchange/paper-account';
import { CLOSED_LIST_SNAPSHOTS, type ClosedLists } from './persisted-closed-lists.snapshot';

interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  element?: z.ZodType;
  keyType?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  entries?: Record<string, string | number>;
  values?: unknown[];
  in?: z.ZodType;
  out?: z.ZodType;
  left?: z.ZodType;
  right?: z.ZodType;
  items?: z.ZodType[];
  rest?: z.ZodType | null;
  getter?: () => z.ZodType;
}

const defOf = (schema: z.ZodType): SchemaDef => (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;

/** Types that hold no closed list and no schema inside. */
const OPEN_LEAVES = new Set([
  'string',
  'number',
  'int',
  'boolean',
  'unknown',
  'any',
  'null',
  'undefined',
  'bigint',
]);

/** Every enum and literal inside `schema`, by its path (`*` an array's element or a record's value). */
export function closedLists(schema: z.ZodType, at = '', into: ClosedLists = {}): ClosedLists {
  const def = defOf(schema);
  const next = (child: z.ZodType | null | undefined, step: string): void => {
    if (child) closedLists(child, at && step ? `${at}.${step}` : at || step, into);
  };
  switch (def.type) {
    case 'enum':
      into[at] = Object.values(def.entries ?? {}).map(String);
      break;
    case 'literal':
      into[at] = (def.values ?? []).map((v) => JSON.stringify(v));
      break;
    case 'object':
      for (const [key, child] of Object.entries(def.shape ?? {})) next(child, key);
      break;
    case 'array':
      next(def.element, '*');
      break;
    case 'record':
      next(def.keyType, '(key)');
      next(def.valueType, '*');
      break;
    case 'union':
      (def.options ?? []).forEach((o, i) => next(o, `|${i}`));
      break;
    case 'intersection':
      next(def.left, '');
      next(def.right, '');
      break;
    case 'tuple':
      (def.items ?? []).forEach((item, i) => next(item, String(i)));
      next(def.rest, '*');
      break;
    case 'pipe':
      next(def.in, '');
      next(def.out, '');
      break;
    case 'lazy':
      next(def.getter?.(), '');
      break;
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'catch':
    case 'readonly':
    case 'nonoptional':
      next(def.innerType, '');
      break;
    default:
      // a kind of schema this walk does not know might hide a closed list: name it here rather than pass it
      if (!OPEN_LEAVES.has(def.type))
        throw new Error(`${at || '(root)'}: schema type ${def.type} is not walked`);
  }
  return into;
}

/** The versioned files: each one's schema and version constant (history lines follow the state's version). */
function persistedFiles(): Array<{ file: string; version: number; schema: z.ZodType }> {
  const state = stateSchemas();
  return [
    { file: 'trading-state.json', version: STATE_VERSION, schema: state.tradingStateSchema },
    { file: 'trading-history.jsonl', version: STATE_VERSION, schema: state.historyEntrySchema },
    { file: 'paper-exchange.json', version: PAPER_ACCOUNT_VERSION, schema: paperAccountSchema },
    { file: 'telegram-outbox.json', version: OUTBOX_STORE_VERSION, schema: outboxStateSchema },
    { file: 'telegram-supervisor.json', version: SUPERVISOR_STORE_VERSION, schema: supervisorStateSchema },
  ];
}

describe('closed lists of the persisted files (a value added only with a version step)', () => {
  for (const { file, version, schema } of persistedFiles()) {
    it(`${file}: its closed lists are the ones its version ${version} was written with`, () => {
      const lists = closedLists(schema);
      const printed = JSON.stringify(lists, null, 2);
      const snapshot = CLOSED_LIST_SNAPSHOTS[file];
      expect(snapshot, `no snapshot for ${file}: add it (version ${version}):\n${printed}`).to.not.equal(
        undefined,
      );
      const known = Math.max(...Object.keys(snapshot!).map(Number));
      expect(version, `${file}: its version went back below the snapshot's ${known}`).to.be.at.least(known);
      expect(
        snapshot![version],
        `${file} version ${version} is new: add its lists to the snapshot under ${version}:\n${printed}`,
      ).to.not.equal(undefined);
      expect(
        lists,
        `${file}'s closed lists changed at version ${version}: step the version (with a migration) — an older build ` +
          `would take the file for damaged — then add the lists under the new version:\n${printed}`,
      ).to.deep.equal(snapshot![version]);
    });
  }

  it('an event line (no version) holds no closed list: a newer build adds event types, read by an older one', () => {
    expect(closedLists(tradingEventSchema)).to.deep.equal({});
  });

  it('finds a value added to a list: an order purpose a newer build added shows at its path', () => {
    const grown = z.looseObject({
      orders: z.record(z.string(), z.looseObject({ purpose: z.enum(['entry', 'write-off', 'newer']) })),
      pause: z.looseObject({ by: z.enum(['operator']) }).nullable(),
      flag: z.literal(true).optional(),
      either: z.union([z.literal('a'), z.array(z.enum(['b']))]),
    });
    expect(closedLists(grown)).to.deep.equal({
      'orders.*.purpose': ['entry', 'write-off', 'newer'],
      'pause.by': ['operator'],
      flag: ['true'],
      'either.|0': ['"a"'],
      'either.|1.*': ['b'],
    });
  });
});
