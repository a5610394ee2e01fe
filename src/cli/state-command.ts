/**
 * `byninja state restore <file>` and `byninja state reset`: the only ways out of a blocked state (both
 * generations of a state file failed their schema; see shared/persistence/blocked-marker.ts); and
 * `byninja state archive`: the way to start fresh on another account or mode (trading refuses a state that
 * belongs to another one, see trading/engine/state/state-identity.ts). All take the trading lock first, so they refuse
 * while trading runs and no trading can start half-way through.
 *
 * restore: the file (typically a quarantined `trading-state.json.corrupt-…` copy the operator fixed, or a backup)
 *   must be a state envelope that passes the full schema of the state it is named after; the current file, if
 *   any, is set aside (never overwritten), the copy is written durably in its place, the block is cleared.
 * reset: every blocked state's remaining files are set aside and its block cleared: the next start begins from
 *   defaults (no pause, fresh risk state, a new paper account) — knowingly.
 * archive: trading's state, its order history and the paper/dry-run accounts move, whole, into
 *   `<dataDir>/archive/<time>/` — kept, never deleted; the next start begins fresh (a new install id, so none of
 *   the old clientOrderIds can be reused). The event log stays: the telegram service's cursor is into it. A live
 *   state that still holds positions (more than dust) or orders that need the exchange is refused, each named
 *   (archive-check.ts): the next start would not know them — no stop-loss, no exit, no alert. `--abandon` archives
 *   it anyway and names what is no longer watched. A state it cannot read is refused likewise.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Clock } from '../shared/clock';
import { errorMessage } from '../shared/errors';
import { blockedStores, clearBlockedMarker, readBlockedMarker } from '../shared/persistence/blocked-marker';
import { writeFileDurable } from '../shared/persistence/durable-file';
import { isEnvelope } from '../shared/persistence/durable-json-adapter';
import { interpretJson, readJsonFile } from '../shared/persistence/json-file';
import { StoreLock } from '../shared/persistence/lock';
import { quarantineFile } from '../shared/persistence/quarantine';
import { PAPER_ACCOUNT_VERSION, paperAccountParser } from '../trading/exchange/paper-account';
import { KEPT_MARKETS_FILE } from '../trading/exchange/kept-markets';
import { profileFor } from '../trading/exchange/profiles';
import { migrateData } from '../shared/persistence/migrate';
import {
  HISTORY_JOURNAL_NAME,
  STATE_STORE_NAME,
  STATE_VERSION,
  TRADING_STATE_MIGRATIONS,
  validateTradingState,
  type TradingState,
} from '../trading/engine/state/trading-state';
import {
  archiveLeftovers,
  describeLeftovers,
  lotsFromKeptMarkets,
  type ArchiveLeftovers,
} from './archive-check';

/** The states `restore` can check, by store name (the file is `<name>.json`); older versions are migrated first. */
const RESTORABLE: Record<string, { version: number; validate: (data: unknown, version: number) => unknown }> =
  {
    [STATE_STORE_NAME]: {
      version: STATE_VERSION,
      validate: (data, version) =>
        validateTradingState(
          migrateData(data, version, STATE_VERSION, TRADING_STATE_MIGRATIONS, STATE_STORE_NAME),
        ),
    },
    'paper-exchange': { version: PAPER_ACCOUNT_VERSION, validate: (data) => paperAccountParser.parse(data) },
  };

/** What `archive` moves: trading's own files in the data dir, the accounts in the paper dir. */
const ARCHIVED_IN_DATA_DIR = [
  `${STATE_STORE_NAME}.json`,
  `${STATE_STORE_NAME}.json.prev`,
  `${STATE_STORE_NAME}.blocked.json`,
  `${HISTORY_JOURNAL_NAME}.jsonl`,
];
const ARCHIVED_IN_PAPER_DIR = ['paper-exchange', 'dry-run-exchange'].flatMap((name) => [
  `${name}.json`,
  `${name}.json.prev`,
  `${name}.blocked.json`,
]);

export interface StateDirs {
  /** The bot's data dir (trading-state.json, the trading lock). */
  dataDir: string;
  /** The paper account's dir (trading.paper.dataDir, default the data dir). */
  paperDir: string;
}

export interface StateOutcome {
  ok: boolean;
  message: string;
}

/** Which store a file belongs to, from its name: `trading-state.json`, `trading-state.json.corrupt-…`, … */
export function storeOfFile(file: string): string | undefined {
  const base = path.basename(file);
  return Object.keys(RESTORABLE).find((name) => base === `${name}.json` || base.startsWith(`${name}.json.`));
}

export async function restoreState(dirs: StateDirs, file: string, clock: Clock): Promise<StateOutcome> {
  const now = clock.now();
  const store = storeOfFile(file);
  if (!store) {
    return {
      ok: false,
      message: `cannot tell which state ${file} is: its name must start with ${Object.keys(RESTORABLE)
        .map((n) => `${n}.json`)
        .join(' or ')}`,
    };
  }
  const spec = RESTORABLE[store];
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    return { ok: false, message: `cannot read ${file}: ${errorMessage(err)}` };
  }
  // read here, not through readJsonFile: the restore writes back exactly the bytes it checked
  const read = interpretJson(text, (value) => value);
  if (read.kind === 'corrupt') return { ok: false, message: `${file} is ${read.reason}: nothing restored` };
  const envelope = read.value;
  if (!isEnvelope(envelope) || envelope.version > spec.version) {
    return {
      ok: false,
      message: `${file} is not a {version, savedAt, data} state envelope of version ≤ ${spec.version}: nothing restored`,
    };
  }
  try {
    spec.validate(envelope.data, envelope.version);
  } catch (err) {
    return {
      ok: false,
      message: `${file} does not match the ${store} schema (${errorMessage(err)}): fix it and try again; nothing restored`,
    };
  }
  const dir = store === 'paper-exchange' ? dirs.paperDir : dirs.dataDir;
  return withTradingStopped(dirs.dataDir, clock, async () => {
    const target = path.join(dir, `${store}.json`);
    const setAside: string[] = [];
    if (path.resolve(file) !== path.resolve(target) && (await exists(target)))
      setAside.push(await quarantineFile(target, new Date(now)));
    await writeFileDurable(target, text);
    const wasBlocked = readBlockedMarker(dir, store) !== null;
    await clearBlockedMarker(dir, store);
    return {
      ok: true,
      message:
        `restored ${store} from ${file} into ${target}` +
        (setAside.length ? ` (the file it replaced was set aside as ${setAside[0]})` : '') +
        (wasBlocked ? '; block cleared' : '') +
        '. Start trading again (npx pm2 start ecosystem.config.js --only trading).',
    };
  });
}

export async function resetState(dirs: StateDirs, clock: Clock): Promise<StateOutcome> {
  const now = clock.now();
  return withTradingStopped(dirs.dataDir, clock, async () => {
    const lines: string[] = [];
    for (const dir of [...new Set([dirs.dataDir, dirs.paperDir])]) {
      for (const store of await blockedStores(dir)) {
        const setAside: string[] = [];
        for (const file of [path.join(dir, `${store}.json`), path.join(dir, `${store}.json.prev`)]) {
          if (await exists(file)) setAside.push(await quarantineFile(file, new Date(now)));
        }
        await clearBlockedMarker(dir, store);
        lines.push(
          `${store}: block cleared, the next start begins from defaults${setAside.length ? ` (set aside: ${setAside.join(', ')})` : ''}`,
        );
      }
    }
    if (lines.length === 0) return { ok: true, message: 'nothing is blocked: no state was changed' };
    return {
      ok: true,
      message: `${lines.join('\n')}\nStart trading again (npx pm2 start ecosystem.config.js --only trading).`,
    };
  });
}

export interface ArchiveOptions {
  /**
   * Archive even a state that holds live positions or working orders: they are no longer watched (no stop-loss, no
   * exit, no alert) once the next start begins fresh.
   */
  abandon?: boolean;
}

export async function archiveState(
  dirs: StateDirs,
  clock: Clock,
  options: ArchiveOptions = {},
): Promise<StateOutcome & { left?: ArchiveLeftovers }> {
  const now = clock.now();
  return withTradingStopped(dirs.dataDir, clock, async () => {
    const held = await leftInState(dirs.dataDir);
    if (held.kind === 'unreadable' && !options.abandon) {
      return {
        ok: false,
        message:
          `cannot tell what the trading state holds (${held.reason}): nothing archived. If it may hold open ` +
          'positions or orders, start trading to recover it (or `npx byninja state restore` a good copy) and close ' +
          'them first; `npx byninja state archive --abandon` archives it anyway.',
      };
    }
    const left = held.kind === 'read' ? held.left : undefined;
    const named = left ? describeLeftovers(left) : [];
    if (named.length > 0 && !options.abandon) {
      return {
        ok: false,
        left,
        message:
          `the trading state still watches what is on the exchange — archiving it would leave them unwatched (no ` +
          `stop-loss, no exit, no alert):\n  ${named.join('\n  ')}\nNothing archived. Close them first: start ` +
          'trading with the key that works for this account and use /closeall (or `npx byninja closeall`), then ' +
          'archive. A new API key of the SAME account needs no archive: trading recognises the account by its id. ' +
          'To archive anyway, knowing they will no longer be watched (close or watch them yourself on the ' +
          'exchange): `npx byninja state archive --abandon`.',
      };
    }
    const stamp = new Date(now).toISOString().replace(/[:.]/g, '-');
    const target = path.join(dirs.dataDir, 'archive', stamp);
    const moved: string[] = [];
    const places = [
      ...ARCHIVED_IN_DATA_DIR.map((name) => path.join(dirs.dataDir, name)),
      ...ARCHIVED_IN_PAPER_DIR.map((name) => path.join(dirs.paperDir, name)),
    ];
    for (const file of [...new Set(places)]) {
      if (!(await exists(file))) continue;
      await fsp.mkdir(target, { recursive: true, mode: 0o700 });
      await fsp.rename(file, path.join(target, path.basename(file)));
      moved.push(path.basename(file));
    }
    if (moved.length === 0)
      return { ok: true, message: 'no trading state to archive: the next start begins fresh' };
    const abandoned =
      named.length > 0
        ? `\nABANDONED — no longer watched by trading (no stop-loss, no exit, no alert); close or watch them ` +
          `yourself on the exchange:\n  ${named.join('\n  ')}`
        : held.kind === 'unreadable'
          ? `\nThe state could not be read (${held.reason}): whatever it held is no longer watched by trading.`
          : '';
    return {
      ok: true,
      ...(named.length > 0 ? { left } : {}),
      message:
        `archived ${moved.join(', ')} into ${target} (kept, not deleted); the next start begins fresh ` +
        '(no orders, no positions, new order ids). Start trading again: npm start.' +
        abandoned,
    };
  });
}

/**
 * What the state in `dataDir` still watches on the exchange (archive-check.ts): read as restore reads a state (the
 * full schema, older versions migrated); no state: nothing.
 */
async function leftInState(
  dataDir: string,
): Promise<{ kind: 'read'; left: ArchiveLeftovers } | { kind: 'unreadable'; reason: string }> {
  const file = path.join(dataDir, `${STATE_STORE_NAME}.json`);
  const read = await readJsonFile(file, { parse: (value) => value });
  if (read.kind === 'missing') return { kind: 'read', left: { positions: [], orders: [] } };
  if (read.kind === 'unreadable')
    return { kind: 'unreadable', reason: `cannot read ${file}: ${errorMessage(read.error)}` };
  if (read.kind === 'corrupt') return { kind: 'unreadable', reason: `${file} is ${read.reason}` };
  const envelope = read.value;
  if (!isEnvelope(envelope) || envelope.version > STATE_VERSION)
    return { kind: 'unreadable', reason: `${file} is not a state envelope this version reads` };
  let state: TradingState;
  try {
    state = RESTORABLE[STATE_STORE_NAME]!.validate(envelope.data, envelope.version) as TradingState;
  } catch (err) {
    return { kind: 'unreadable', reason: `${file} does not match the state schema (${errorMessage(err)})` };
  }
  const exchange = state.identity?.exchange;
  // missing, unreadable or damaged: no amount rules (every amount of its symbols counts as a position)
  const keptRead = await readJsonFile(path.join(dataDir, KEPT_MARKETS_FILE), { parse: (value) => value });
  const kept = keptRead.kind === 'valid' ? keptRead.value : undefined;
  const fillOrder = (exchange ? profileFor(exchange)?.fillOrder : undefined) ?? 'time';
  return { kind: 'read', left: archiveLeftovers(state, lotsFromKeptMarkets(kept, exchange), fillOrder) };
}

async function withTradingStopped(
  dataDir: string,
  clock: Clock,
  fn: () => Promise<StateOutcome>,
): Promise<StateOutcome> {
  let lock: StoreLock;
  try {
    // the lock a running trading holds for its whole life (it covers the state files too)
    lock = await StoreLock.acquire(dataDir, 'trading.service', { clock });
  } catch (err) {
    return {
      ok: false,
      message: `trading holds its state (${errorMessage(err)}): stop it first (npx pm2 stop trading), then try again`,
    };
  }
  try {
    return await fn();
  } finally {
    await lock.release().catch(() => undefined);
  }
}

async function exists(file: string): Promise<boolean> {
  return fsp.access(file).then(
    () => true,
    () => false,
  );
}
