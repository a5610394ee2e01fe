/**
 * Hot state of a daemon (open orders, positions, flags, counters), in the spirit of the seed's PersistentMap:
 * `commit()` for changes that must be on disk before the caller goes on (durable when it resolves), `change()`
 * for the rest (written at most `debounceMs` later), `flush()`/`close()` on shutdown.
 *
 * On open the file is parsed, migrated and validated. A corrupt or unreadable file is quarantined (renamed
 * aside) and the previous generation is used when valid; state is never silently replaced by defaults. A file of
 * a newer version (a rollback) is refused as it is, both generations untouched, whatever `onCorrupt` says.
 * History (closed trades, fills) belongs in a Journal, not here: every commit rewrites the whole file.
 */
import { mkdirSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { Low } from 'lowdb';
import { CorruptStateError, errorMessage, NewerStateError, PersistenceError } from '../errors';
import type { CancelTimer, Clock } from '../clock';
import { silentLogger, type Logger } from '../logging/logger';
import { removeStaleTempFilesSync, toPersistenceError } from './durable-file';
import { DurableJsonAdapter, isEnvelope, type DurableWriter } from './durable-json-adapter';
import { migrateData, missingMigration, type Migrations } from './migrate';
import { readJsonFileSync } from './json-file';
import { quarantineFile } from './quarantine';
import { blockedMarkerPath, blockedMessage, readBlockedMarker, writeBlockedMarker } from './blocked-marker';

export interface StoreOptions<T> {
  /** Directory of the state files (created if missing). */
  dir: string;
  /** File `<dir>/<name>.json`; previous generation `<name>.json.prev`. */
  name: string;
  /** Schema version written with the data; older files are migrated on open. */
  version: number;
  /** Initial state when no file exists (must be an object). */
  defaults: () => T;
  /** Key n migrates data of version n to n+1. */
  migrations?: Migrations;
  /** Returns the typed state or throws; a throw marks the file corrupt. Runs after migrations. */
  validate?: (data: unknown) => T;
  /** Longest delay of a `change()` before it is written (default 200 ms). */
  debounceMs?: number;
  /**
   * When neither the file nor its previous generation is valid: 'fail' (default) quarantines both, writes the
   * persistent blocked marker (blocked-marker.ts) and throws CorruptStateError — and every later open throws too
   * until the operator clears the marker; 'start-empty' quarantines both and starts from defaults, reported in
   * openReport. Neither applies to a file a newer build wrote: that open throws NewerStateError, nothing set aside
   * (telegram's stores too: starting empty lost its event cursor and replayed the kept events, alerts sent twice).
   */
  onCorrupt?: 'fail' | 'start-empty';
  logger?: Logger;
  /** Time source for the envelope's savedAt, quarantine names and the write debounce (the composition root's clock). */
  clock: Clock;
  /** Durable writer (default writeFileDurable); tests inject failures here. */
  writer?: DurableWriter;
}

export interface StoreOpenReport {
  /** No state file existed: started from defaults. */
  created: boolean;
  /** The state file was missing or corrupt and the previous generation was loaded instead. */
  recoveredFromPrevious: boolean;
  /** Paths of files renamed aside because they were corrupt. */
  quarantined: string[];
  /** Schema version the file had before migration, when migrated. */
  migratedFrom?: number;
  /** Nothing valid was found and onCorrupt 'start-empty' started from defaults: state was lost. */
  startedEmpty: boolean;
}

/** Delay before retrying a debounced write that failed (disk full, permission…), at least debounceMs. */
const FAILED_WRITE_RETRY_MS = 1000;

type Generation<T> =
  { kind: 'missing' } | { kind: 'valid'; data: T; fileVersion: number } | { kind: 'corrupt'; reason: string };

export class Store<T> {
  readonly openReport: StoreOpenReport;
  readonly file: string;
  private readonly db: Low<T>;
  private readonly logger: Logger;
  private readonly debounceMs: number;
  private cancelTimer: CancelTimer | undefined;
  private dirty = false;
  /** A scheduled write that has not serialized the data yet: later mutations join it. */
  private queued: Promise<void> | undefined;
  /** The most recently scheduled write (may be in flight or settled). */
  private lastWrite: Promise<void> = Promise.resolve();
  /** Settles after the last scheduled write; never rejects. Writes chain on it so two never overlap. */
  private tail: Promise<void> = Promise.resolve();
  private isHealthy = true;
  private closed = false;
  private closing: Promise<void> | undefined;
  private changes = 0;
  /** Mutations running (a change or commit made inside another's counts too). */
  private mutating = 0;

  private constructor(
    db: Low<T>,
    file: string,
    report: StoreOpenReport,
    logger: Logger,
    debounceMs: number,
    private readonly clock: Clock,
  ) {
    this.db = db;
    this.file = file;
    this.openReport = report;
    this.logger = logger;
    this.debounceMs = debounceMs;
  }

  static async open<T>(opts: StoreOptions<T>): Promise<Store<T>> {
    const logger = (opts.logger ?? silentLogger()).child({ module: 'persistence', store: opts.name });
    const { clock } = opts;
    const file = path.join(opts.dir, `${opts.name}.json`);
    const adapter = new DurableJsonAdapter<T>({ file, version: opts.version, clock, writer: opts.writer });
    // Synchronous file calls on the way in (here, the temp-file sweep and each generation's read): a restart waits
    // for them anyway, and each async call is a thread-pool round trip (docs/benchmarks.md, restart).
    try {
      mkdirSync(opts.dir, { recursive: true });
    } catch (err) {
      throw toPersistenceError(err, opts.dir, 'create directory');
    }
    adapter.pinDirectory();
    if (opts.onCorrupt !== 'start-empty') {
      const blocked = readBlockedMarker(opts.dir, opts.name);
      if (blocked) {
        throw new CorruptStateError(blockedMessage(blocked, opts.dir), {
          path: file,
          blocked: blockedMarkerPath(opts.dir, opts.name),
        });
      }
    }
    removeStaleTempFilesSync(adapter.file);
    removeStaleTempFilesSync(adapter.previousFile);

    const { data, report, needsWrite } = await loadState(opts, adapter, logger, clock);
    const db = new Low<T>(adapter, data);
    const store = new Store<T>(db, file, report, logger, opts.debounceMs ?? 200, clock);
    // Created, recovered, migrated or emptied state is written back at once: the next start then finds a valid
    // current file, and an unwritable directory is reported now instead of at the first trade.
    if (needsWrite) {
      store.dirty = true;
      await store.persistPending();
    }
    return store;
  }

  /** Live in-memory state. Mutate it only inside change()/commit() so the mutation gets written. */
  get data(): T {
    return this.db.data;
  }

  /**
   * Moves once each `change` or `commit` mutation ended (even halfway, by a throw); undefined while one runs. What a
   * reader derived from `data` at a version is still true while the version has not moved (the trading order book's
   * sorted orders); nothing derived while it is undefined can be kept.
   */
  get version(): number | undefined {
    return this.mutating > 0 ? undefined : this.changes;
  }

  /** False after a failed write (disk full, permission…) until a later write succeeds. */
  get healthy(): boolean {
    return this.isHealthy;
  }

  /** Applies a non-critical change, written within debounceMs (coalesced with other changes). */
  change(mutate: (d: T) => void): void {
    this.assertOpen();
    this.apply(mutate);
    this.dirty = true;
    this.armTimer(this.debounceMs);
  }

  /**
   * Applies a critical change and resolves once it (and every earlier change) is durable on disk. Rejects with
   * PersistenceError when it could not be written: the file on disk then still holds the previous state, while
   * memory keeps the change, and the write is retried in the background (as for `change()`) until it succeeds,
   * so the change reaches the disk once it is writable again even when nothing else is committed after it.
   */
  commit(mutate?: (d: T) => void): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError());
    if (mutate) {
      try {
        this.apply(mutate);
      } catch (err) {
        return Promise.reject(err);
      }
      this.dirty = true;
    }
    const write = this.persistPending();
    // Without this retry a failed commit stayed in memory only until some later change or commit: a telegram
    // outbox whose last write failed (disk full) kept a sent notification on disk, re-sent after a restart.
    write.catch(() => {
      if (this.dirty && !this.closed) this.armTimer(Math.max(this.debounceMs, FAILED_WRITE_RETRY_MS));
    });
    return write;
  }

  /** Writes any pending change now; resolves when everything changed so far is durable. */
  flush(): Promise<void> {
    return this.persistPending();
  }

  /** Flushes and stops timers; later change/commit calls throw. Idempotent: returns the same promise. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      this.closing = this.persistPending().finally(() => this.clearTimer());
    }
    return this.closing;
  }

  /**
   * The loaded state turned out unusable after open (e.g. recovery threw on it): stop writing it (memory is
   * dropped, never committed back), set the current file aside, and report what the next start will find. The
   * previous generation is kept when this run did not already come from it ('previous'); otherwise it is set
   * aside too and the blocked marker is written ('blocked'), so no later start silently begins from defaults.
   */
  async rejectLoaded(reason: string): Promise<'previous' | 'blocked'> {
    const clock = this.clock;
    this.closed = true;
    this.dirty = false;
    this.clearTimer();
    this.closing ??= this.tail;
    await this.tail;
    const quarantined: string[] = [];
    const setAside = async (file: string): Promise<void> => {
      try {
        await fsp.access(file);
      } catch {
        return;
      }
      quarantined.push(await quarantineFile(file, new Date(clock.now())));
    };
    await setAside(this.file);
    const previous = `${this.file}.prev`;
    const previousUsable =
      !this.openReport.recoveredFromPrevious &&
      (await fsp.access(previous).then(
        () => true,
        () => false,
      ));
    if (previousUsable) {
      this.logger.error(
        `State ${this.file} rejected (${reason}); set aside, the next start uses ${previous}`,
        {
          quarantined,
        },
      );
      return 'previous';
    }
    await setAside(previous);
    const dir = path.dirname(this.file);
    const name = path.basename(this.file, '.json');
    await writeBlockedMarker(dir, {
      store: name,
      at: clock.now(),
      reason: `loaded state rejected: ${reason}`,
      quarantined: [...this.openReport.quarantined, ...quarantined],
    });
    this.logger.error(`State ${this.file} rejected (${reason}) and no usable generation is left: BLOCKED`, {
      quarantined,
    });
    return 'blocked';
  }

  private apply(mutate: (d: T) => void): void {
    this.mutating += 1;
    try {
      mutate(this.db.data);
    } finally {
      this.mutating -= 1;
      this.changes += 1;
    }
  }

  private persistPending(): Promise<void> {
    this.clearTimer();
    if (this.dirty || this.queued) return this.scheduleWrite();
    return this.lastWrite;
  }

  private scheduleWrite(): Promise<void> {
    if (this.queued) return this.queued;
    const write = this.tail.then(() => this.writeOnce());
    this.queued = write;
    this.lastWrite = write;
    this.tail = write.then(
      () => undefined,
      () => undefined,
    );
    return write;
  }

  private async writeOnce(): Promise<void> {
    this.queued = undefined;
    this.dirty = false;
    try {
      await this.db.write(); // the adapter serializes synchronously inside this call
      if (!this.isHealthy) this.logger.info(`State ${this.file} is written again: persistence healthy`);
      this.isHealthy = true;
    } catch (err) {
      this.dirty = true;
      this.isHealthy = false;
      const error = err instanceof PersistenceError ? err : toPersistenceError(err, this.file, 'write');
      this.logger.error(`Could not persist state ${this.file}: ${error.message}`, { code: error.code });
      throw error;
    }
  }

  private armTimer(delayMs: number): void {
    // Not re-armed by later changes: a steady stream of changes still gets written every debounceMs.
    if (this.cancelTimer || this.closed) return;
    this.cancelTimer = this.clock.timer(delayMs, () => {
      this.cancelTimer = undefined;
      this.scheduleWrite().catch(() => {
        if (this.dirty && !this.closed) this.armTimer(Math.max(this.debounceMs, FAILED_WRITE_RETRY_MS));
      });
    });
  }

  private clearTimer(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  private assertOpen(): void {
    if (this.closed) throw this.closedError();
  }

  private closedError(): PersistenceError {
    return new PersistenceError(`Store ${this.file} is closed`, { path: this.file }, { code: 'ECLOSED' });
  }
}

async function loadState<T>(
  opts: StoreOptions<T>,
  adapter: DurableJsonAdapter<T>,
  logger: Logger,
  clock: Clock,
): Promise<{ data: T; report: StoreOpenReport; needsWrite: boolean }> {
  const report: StoreOpenReport = {
    created: false,
    recoveredFromPrevious: false,
    quarantined: [],
    startedEmpty: false,
  };
  const quarantine = async (file: string, reason: string): Promise<void> => {
    const aside = await quarantineFile(file, new Date(clock.now()));
    report.quarantined.push(aside);
    logger.error(`Corrupt state file ${file} (${reason}); quarantined as ${aside}`, {
      path: file,
      quarantined: aside,
    });
  };

  const current = readGeneration(adapter.file, opts);
  if (current.kind === 'valid') {
    if (current.fileVersion < opts.version) {
      report.migratedFrom = current.fileVersion;
      logger.info(`Migrated ${adapter.file} from schema version ${current.fileVersion} to ${opts.version}`);
    }
    return { data: current.data, report, needsWrite: report.migratedFrom !== undefined };
  }
  // the previous generation is read before the current one is set aside: one a newer build wrote refuses the open
  // (NewerStateError) with both files as they were
  const previous = readGeneration(adapter.previousFile, opts);
  if (current.kind === 'corrupt') await quarantine(adapter.file, current.reason);

  if (previous.kind === 'valid') {
    report.recoveredFromPrevious = true;
    if (previous.fileVersion < opts.version) report.migratedFrom = previous.fileVersion;
    logger.error(
      `State ${adapter.file} ${current.kind}; recovered from previous generation ${adapter.previousFile}`,
    );
    return { data: previous.data, report, needsWrite: true };
  }
  if (current.kind === 'missing' && previous.kind === 'missing') {
    report.created = true;
    logger.info(`No state file ${adapter.file}: starting from defaults`);
    return { data: checkedDefaults(opts), report, needsWrite: true };
  }
  if (previous.kind === 'corrupt') await quarantine(adapter.previousFile, previous.reason);

  const what =
    `State file ${adapter.file} is ${current.kind === 'missing' ? 'missing' : 'corrupt'} and its previous ` +
    `generation ${adapter.previousFile} is ${previous.kind === 'missing' ? 'missing' : 'corrupt'}`;
  if (opts.onCorrupt === 'start-empty') {
    report.startedEmpty = true;
    logger.error(
      `${what}; STARTING FROM EMPTY STATE (onCorrupt=start-empty). Quarantined: ${report.quarantined.join(', ')}`,
    );
    return { data: checkedDefaults(opts), report, needsWrite: true };
  }
  const marker = { store: opts.name, at: clock.now(), reason: what, quarantined: report.quarantined };
  await writeBlockedMarker(opts.dir, marker);
  throw new CorruptStateError(blockedMessage(marker, opts.dir), {
    path: adapter.file,
    quarantined: report.quarantined,
  });
}

function checkedDefaults<T>(opts: StoreOptions<T>): T {
  const data = opts.defaults();
  if (typeof data !== 'object' || data === null)
    throw new TypeError(`Store ${opts.name}: defaults() must return an object`);
  return data;
}

/**
 * Reads one generation. Unparseable, wrongly shaped, unmigratable or invalid content is 'corrupt'; content
 * written by a newer schema version throws NewerStateError (it is not corrupt, this build is too old to read it: a
 * rollback). A newer build steps a file's version for every value it adds to one of the file's closed lists
 * (test/shared/persistence/persisted-closed-lists.test.ts), so an older build refuses its files whole — never
 * reads an order of a purpose or status it does not know as damage, sets the file aside and trades on another.
 */
function readGeneration<T>(file: string, opts: StoreOptions<T>): Generation<T> {
  const read = readJsonFileSync(file, { parse: (value) => value });
  if (read.kind === 'missing') return { kind: 'missing' };
  if (read.kind === 'unreadable') {
    return { kind: 'corrupt', reason: `unreadable: ${read.error.code ?? errorMessage(read.error)}` };
  }
  if (read.kind === 'corrupt') return { kind: 'corrupt', reason: read.reason };
  const parsed = read.value;
  if (!isEnvelope(parsed))
    return { kind: 'corrupt', reason: 'not a {version, savedAt, data} state envelope' };
  if (parsed.version > opts.version) {
    throw new NewerStateError(newerStateMessage(file, parsed.version, opts.version), {
      path: file,
      fileVersion: parsed.version,
      codeVersion: opts.version,
    });
  }
  const migrations = opts.migrations ?? {};
  if (missingMigration(migrations, parsed.version, opts.version) !== undefined) {
    // A gap in the migration table is a bug of this build, not a corrupt file: refuse without quarantine.
    migrateData(parsed.data, parsed.version, opts.version, migrations, file);
  }
  try {
    const data = migrateData(parsed.data, parsed.version, opts.version, migrations, file);
    const valid = opts.validate ? opts.validate(data) : (data as T);
    if (typeof valid !== 'object' || valid === null)
      return { kind: 'corrupt', reason: 'data is not an object' };
    return { kind: 'valid', data: valid, fileVersion: parsed.version };
  } catch (err) {
    return { kind: 'corrupt', reason: `failed migration/validation: ${errorMessage(err)}` };
  }
}

/** What the operator is told of a file a newer build wrote (docs/operations.md, "Builds and upgrades"). */
export function newerStateMessage(file: string, fileVersion: number, codeVersion: number): string {
  return (
    `${file} was written by a newer build (schema version ${fileVersion}; this build reads up to ${codeVersion}): ` +
    'upgrade again, or put back a copy this build can read (`npx byninja state restore <file>`, ' +
    '`npx byninja backup restore <dir>`). The file was left untouched.'
  );
}
