/**
 * `byninja state restore <file>` and `byninja state reset`: the only ways out of a blocked state (both
 * generations of a state file failed their schema; see shared/persistence/blocked-marker.ts). Both take the
 * trading lock first, so they refuse while trading runs and no trading can start half-way through.
 *
 * restore: the file (typically a quarantined `trading-state.json.corrupt-…` copy the operator fixed, or a backup)
 *   must be a state envelope that passes the full schema of the state it is named after; the current file, if
 *   any, is set aside (never overwritten), the copy is written durably in its place, the block is cleared.
 * reset: every blocked state's remaining files are set aside and its block cleared: the next start begins from
 *   defaults (no pause, fresh risk state, a new paper account) — knowingly.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../shared/errors';
import { blockedStores, clearBlockedMarker, readBlockedMarker } from '../shared/persistence/blocked-marker';
import { writeFileDurable } from '../shared/persistence/durable-file';
import { isEnvelope } from '../shared/persistence/durable-json-adapter';
import { StoreLock } from '../shared/persistence/lock';
import { quarantineFile } from '../shared/persistence/quarantine';
import { paperAccountSchema } from '../trading/exchange/paper-account';
import { STATE_STORE_NAME, validateTradingState } from '../trading/engine/trading-state';

/** The states `restore` can check, by store name (the file is `<name>.json`). */
const RESTORABLE: Record<string, { version: number; validate: (data: unknown) => unknown }> = {
  [STATE_STORE_NAME]: { version: 1, validate: validateTradingState },
  'paper-exchange': { version: 1, validate: (data) => paperAccountSchema.parse(data) },
};

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

export async function restoreState(dirs: StateDirs, file: string, now = Date.now()): Promise<StateOutcome> {
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
  let envelope: unknown;
  try {
    envelope = JSON.parse(text);
  } catch (err) {
    return { ok: false, message: `${file} is not valid JSON (${errorMessage(err)}): nothing restored` };
  }
  if (!isEnvelope(envelope) || envelope.version > spec.version) {
    return {
      ok: false,
      message: `${file} is not a {version, savedAt, data} state envelope of version ≤ ${spec.version}: nothing restored`,
    };
  }
  try {
    spec.validate(envelope.data);
  } catch (err) {
    return {
      ok: false,
      message: `${file} does not match the ${store} schema (${errorMessage(err)}): fix it and try again; nothing restored`,
    };
  }
  const dir = store === 'paper-exchange' ? dirs.paperDir : dirs.dataDir;
  return withTradingStopped(dirs.dataDir, async () => {
    const target = path.join(dir, `${store}.json`);
    const setAside: string[] = [];
    if (path.resolve(file) !== path.resolve(target) && (await exists(target)))
      setAside.push(await quarantineFile(target, new Date(now)));
    await writeFileDurable(target, text);
    const wasBlocked = (await readBlockedMarker(dir, store)) !== null;
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

export async function resetState(dirs: StateDirs, now = Date.now()): Promise<StateOutcome> {
  return withTradingStopped(dirs.dataDir, async () => {
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

async function withTradingStopped(dataDir: string, fn: () => Promise<StateOutcome>): Promise<StateOutcome> {
  let lock: StoreLock;
  try {
    lock = await StoreLock.acquire(dataDir, 'trading');
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
