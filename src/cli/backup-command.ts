/**
 * `byninja backup [--out DIR]` and `byninja backup restore <dir>`.
 *
 * backup runs while the services run: every file that matters is read whole at one moment — the stores are
 * replaced by atomic rename, so a read gets one complete generation; the journals are append-only, so a copy up to
 * their last newline is a consistent prefix. Trading's state is read before its history journal: an order the state
 * archived meanwhile is then in both copies (recovery takes it once, as after a crash between the two writes),
 * never in neither. The state copy must pass its full schema, and a manifest records each file's size and sha256.
 *
 * restore needs both services stopped (it takes their locks), checks the manifest and the state's schema, sets the
 * current files aside into `<dataDir>/archive/<time>-before-restore/` (kept), and writes the backup's files
 * durably. The IPC token is not backed up (trading makes a new one); the secrets in .env are the operator's to
 * keep elsewhere.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Clock } from '../shared/clock';
import { errorMessage } from '../shared/errors';
import { writeFileDurable } from '../shared/persistence/durable-file';
import { isEnvelope } from '../shared/persistence/durable-json-adapter';
import { interpretJson } from '../shared/persistence/json-file';
import { StoreLock } from '../shared/persistence/lock';
import { migrateData } from '../shared/persistence/migrate';
import { OUTBOX_STORE_NAME } from '../telegram/notify/outbox';
import { SUPERVISOR_STORE_NAME } from '../telegram/supervisor/supervisor-state';
import {
  HISTORY_JOURNAL_NAME,
  STATE_STORE_NAME,
  STATE_VERSION,
  TRADING_STATE_MIGRATIONS,
  validateTradingState,
} from '../trading/engine/state/trading-state';
import type { StateDirs } from './state-command';

const MANIFEST = 'manifest.json';

/** What a backup holds, in the order it is read (the state before its journal). */
const FILES: Array<{ name: string; where: 'data' | 'paper'; kind: 'store' | 'journal' }> = [
  { name: `${STATE_STORE_NAME}.json`, where: 'data', kind: 'store' },
  { name: `${HISTORY_JOURNAL_NAME}.jsonl`, where: 'data', kind: 'journal' },
  { name: 'events.jsonl', where: 'data', kind: 'journal' },
  { name: 'paper-exchange.json', where: 'paper', kind: 'store' },
  { name: 'dry-run-exchange.json', where: 'paper', kind: 'store' },
  { name: `${OUTBOX_STORE_NAME}.json`, where: 'data', kind: 'store' },
  { name: `${SUPERVISOR_STORE_NAME}.json`, where: 'data', kind: 'store' },
];

export interface BackupManifest {
  format: 1;
  createdAt: string;
  files: Array<{ name: string; bytes: number; sha256: string }>;
}

export interface BackupOutcome {
  ok: boolean;
  message: string;
  dir?: string;
  manifest?: BackupManifest;
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Throws what makes the state's bytes unusable: not JSON, not a state envelope, or not its schema. */
function checkState(bytes: Buffer): void {
  // read by the one JSON reader's interpretJson, not readJsonFile: the backup writes the very bytes it checked
  const read = interpretJson(bytes.toString('utf8'), (envelope) => {
    if (!isEnvelope(envelope) || envelope.version > STATE_VERSION)
      throw new Error('not a {version, savedAt, data} state envelope');
    return validateTradingState(
      migrateData(envelope.data, envelope.version, STATE_VERSION, TRADING_STATE_MIGRATIONS, STATE_STORE_NAME),
    );
  });
  if (read.kind === 'corrupt') throw new Error(read.reason);
}

export async function backup(dirs: StateDirs, outDir: string, clock: Clock): Promise<BackupOutcome> {
  const now = clock.now();
  const read: Array<{ name: string; bytes: Buffer }> = [];
  for (const file of FILES) {
    const from = path.join(file.where === 'data' ? dirs.dataDir : dirs.paperDir, file.name);
    let bytes: Buffer;
    try {
      bytes = await fsp.readFile(from);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      return { ok: false, message: `cannot read ${from}: ${errorMessage(err)}; no backup written` };
    }
    // a journal line being appended right now is not complete: up to the last newline
    if (file.kind === 'journal') bytes = bytes.subarray(0, bytes.lastIndexOf(0x0a) + 1);
    read.push({ name: file.name, bytes });
  }
  const state = read.find((f) => f.name === `${STATE_STORE_NAME}.json`);
  if (!state)
    return { ok: false, message: `no ${STATE_STORE_NAME}.json in ${dirs.dataDir}: nothing to back up` };
  try {
    checkState(state.bytes);
  } catch (err) {
    return {
      ok: false,
      message: `${STATE_STORE_NAME}.json does not pass its schema (${errorMessage(err)}); no backup written`,
    };
  }
  await fsp.mkdir(outDir, { recursive: true, mode: 0o700 });
  if ((await fsp.readdir(outDir)).length > 0)
    return { ok: false, message: `${outDir} is not empty: choose a new directory (--out)` };
  const manifest: BackupManifest = { format: 1, createdAt: new Date(now).toISOString(), files: [] };
  for (const file of read) {
    await writeFileDurable(path.join(outDir, file.name), file.bytes, { mode: 0o600 });
    manifest.files.push({ name: file.name, bytes: file.bytes.length, sha256: sha256(file.bytes) });
  }
  await writeFileDurable(path.join(outDir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n', {
    mode: 0o600,
  });
  return {
    ok: true,
    dir: outDir,
    manifest,
    message: `backup written to ${outDir}: ${manifest.files.map((f) => `${f.name} (${f.bytes} B)`).join(', ')}`,
  };
}

const manifestSchema = z.strictObject({
  format: z.literal(1),
  createdAt: z.string(),
  files: z
    .array(
      z.strictObject({
        name: z.enum(FILES.map((f) => f.name) as [string, ...string[]]),
        bytes: z.number().int().min(0),
        sha256: z.string().regex(/^[0-9a-f]{64}$/),
      }),
    )
    .refine((files) => new Set(files.map((f) => f.name)).size === files.length, 'a file is listed twice'),
});

/** A backup file as restore reads it: a regular file (never a FIFO that would hang it, never a symlink). */
async function readRegularFile(file: string): Promise<Buffer | undefined> {
  const stat = await fsp.lstat(file).catch(() => undefined);
  if (!stat?.isFile()) return undefined;
  return fsp.readFile(file).catch(() => undefined);
}

export async function restoreBackup(dirs: StateDirs, fromDir: string, clock: Clock): Promise<BackupOutcome> {
  const now = clock.now();
  let manifest: BackupManifest;
  try {
    const raw = await readRegularFile(path.join(fromDir, MANIFEST));
    if (!raw) throw new Error(`no ${MANIFEST}`);
    const read = interpretJson(raw.toString('utf8'), (value) => {
      const parsed = manifestSchema.safeParse(value);
      if (!parsed.success)
        throw new Error(
          parsed.error.issues.map((i) => `${i.path.join('.') || 'manifest'}: ${i.message}`).join('; '),
        );
      return parsed.data as BackupManifest;
    });
    if (read.kind === 'corrupt') throw new Error(read.reason);
    manifest = read.value;
  } catch (err) {
    return {
      ok: false,
      message: `${fromDir} is not a ByNinja backup (${errorMessage(err)}): nothing restored`,
    };
  }
  const files: Array<{ name: string; bytes: Buffer; dir: string }> = [];
  for (const entry of manifest.files) {
    const spec = FILES.find((f) => f.name === entry.name)!;
    const bytes = await readRegularFile(path.join(fromDir, entry.name));
    if (!bytes || bytes.length !== entry.bytes || sha256(bytes) !== entry.sha256)
      return {
        ok: false,
        message: `${entry.name} is missing or differs from the manifest: nothing restored`,
      };
    files.push({ name: entry.name, bytes, dir: spec.where === 'data' ? dirs.dataDir : dirs.paperDir });
  }
  const state = files.find((f) => f.name === `${STATE_STORE_NAME}.json`);
  try {
    if (!state) throw new Error(`no ${STATE_STORE_NAME}.json`);
    checkState(state.bytes);
  } catch (err) {
    return {
      ok: false,
      message: `the backup's trading state is not usable (${errorMessage(err)}): nothing restored`,
    };
  }
  const locks: StoreLock[] = [];
  try {
    for (const name of ['trading.service', 'telegram.service']) {
      try {
        locks.push(await StoreLock.acquire(dirs.dataDir, name, { clock }));
      } catch (err) {
        return {
          ok: false,
          message: `a service is running (${errorMessage(err)}): stop both first (npx byninja stop all), then restore`,
        };
      }
    }
    const stamp = `${new Date(now).toISOString().replace(/[:.]/g, '-')}-before-restore`;
    const asides = new Set<string>();
    try {
      await swapIn(files, dirs, stamp, asides);
    } catch (err) {
      return {
        ok: false,
        message: `restore failed (${errorMessage(err)}): every file is back as it was, nothing restored`,
      };
    }
    return {
      ok: true,
      dir: fromDir,
      manifest,
      message:
        `restored ${files.map((f) => f.name).join(', ')} from ${fromDir}` +
        (asides.size ? `; the files they replaced are kept in ${[...asides].join(' and ')}` : '') +
        '. Start the services: npm start.',
    };
  } finally {
    for (const lock of locks) await lock.release().catch(() => undefined);
  }
}

/**
 * All or nothing: the backup's files are first written beside their targets (same directory, so every later step
 * is a rename on one filesystem), then the current files are moved aside into `<dir>/archive/<stamp>` of their
 * own directory, then the new ones renamed into place. Any failure undoes the renames done so far, newest first,
 * and removes what was staged: a restore never leaves a data dir without its state.
 */
async function swapIn(
  files: Array<{ name: string; bytes: Buffer; dir: string }>,
  dirs: StateDirs,
  stamp: string,
  asides: Set<string>,
): Promise<void> {
  const staged: string[] = [];
  const renames: Array<{ from: string; to: string }> = [];
  const rename = async (from: string, to: string): Promise<void> => {
    await fsp.rename(from, to);
    renames.push({ from, to });
  };
  try {
    for (const file of files) {
      await fsp.mkdir(file.dir, { recursive: true, mode: 0o700 });
      const tmp = path.join(file.dir, `${file.name}.restoring`);
      await writeFileDurable(tmp, file.bytes, { mode: 0o600 });
      staged.push(tmp);
    }
    for (const spec of FILES) {
      const dir = spec.where === 'data' ? dirs.dataDir : dirs.paperDir;
      for (const suffix of ['', '.prev']) {
        const current = path.join(dir, spec.name + suffix);
        const there = await fsp.lstat(current).then(
          () => true,
          () => false,
        );
        if (!there) continue;
        const aside = path.join(dir, 'archive', stamp);
        await fsp.mkdir(aside, { recursive: true, mode: 0o700 });
        asides.add(aside);
        await rename(current, path.join(aside, spec.name + suffix));
      }
    }
    for (const file of files) {
      await rename(path.join(file.dir, `${file.name}.restoring`), path.join(file.dir, file.name));
    }
  } catch (err) {
    for (const { from, to } of renames.reverse()) await fsp.rename(to, from).catch(() => undefined);
    for (const tmp of staged) await fsp.unlink(tmp).catch(() => undefined);
    asides.clear();
    throw err;
  }
}
