/**
 * Runs a daemon (`trading`, `telegram`) on the shared foundation. Both main.ts files are just
 * `runService('trading', async (ctx) => { …open stores, start servers, register shutdown steps… })`.
 *
 * In order: configuration (a ConfigError is printed readably and exits 78, which PM2's stop_exit_codes keep
 * from restart-looping), the redacting logger, PM2 out/err rotation, signal and crash handlers, the
 * one-instance-per-data-dir lock (a second instance exits 75), the last-exit breadcrumb (read, then `running`),
 * the event-loop watchdog, `main(ctx)`, and finally `process.send('ready')` + `✅ <service> ready` and V8's memory
 * settings (heap-settings.ts).
 * Errors from main: LockHeldError → 75, CorruptStateError/ConfigError → 78, anything else → 1; registered
 * shutdown steps still run (stores opened before the failure are closed properly).
 */
import type { Clock } from '../clock';
import {
  isConfigScope,
  type Config,
  type ConfigScope,
  type ScopedConfig,
  type Secrets,
  type SharedConfig,
} from '../config/schema';
import { loadConfigSections, type LoadConfigOptions, type LoadedConfig } from '../config/loader';
import { ConfigError, CorruptStateError, LockHeldError, errorMessage, type ConfigProblem } from '../errors';
import { closeLogger, createLogger, type Logger } from '../logging/logger';
import { Pm2LogRotation, pm2LogFilesFromEnv } from '../logging/pm2-log-rotation';
import { Redactor } from '../logging/redact';
import { toPersistenceError } from '../persistence/durable-file';
import { StoreLock } from '../persistence/lock';
import { ensurePrivateDir } from '../persistence/private-files';
import { clearConfigFailure, problemsOf, writeConfigFailure } from './config-failure';
import { installCrashHandlers } from './crash-handlers';
import { ownBuild } from './builds';
import { ExitCode } from './exit-codes';
import { applyHeapSettings } from './heap-settings';
import {
  ALIVE_EVERY_MS,
  alivePath,
  breadcrumbPath,
  currentBootId,
  describeLastExit,
  readLastExit,
  writeBreadcrumbDurableLater,
  writeBreadcrumbSync,
  type LastExit,
} from './last-exit';
import { ShutdownCoordinator } from './shutdown';
import { Watchdog } from './watchdog';

/** When V8's memory settings (heap-settings.ts) apply at the latest, ready or not. */
const HEAP_SETTINGS_LATEST_MS = 10_000;

/** File-system errors that pass by themselves (space freed, disk back): worth a restart, not an operator's fix. */
const TRANSIENT_DISK_ERRORS: ReadonlySet<string> = new Set([
  'ENOSPC',
  'EDQUOT',
  'EIO',
  'EROFS',
  'EAGAIN',
  'EBUSY',
]);

export interface ServiceContext<C = Config> {
  /** 'trading' | 'telegram' (names files: `<service>.log`, `<service>.last-exit.json`). */
  service: string;
  /** Only the sections this service validated (CONFIG_SCOPES): never another service's settings. */
  config: C;
  /** Never logged; the logger masks these values wherever they appear. */
  secrets: Secrets;
  /** Root logger of the service (redacts secrets); use `logger.child({ module })`. */
  logger: Logger;
  /** Absolute. */
  dataDir: string;
  /** Absolute. */
  logDir: string;
  shutdown: ShutdownCoordinator;
  /** How the previous run ended: clean | crash | stall | killed | first-start | unknown. */
  lastExit: LastExit;
  /** Cheap breadcrumb of what the main thread is doing (read by the watchdog after a stall). */
  activity(what: string): void;
  /** The service's redactor: register secrets found after start (e.g. the IPC token file) with `add()`. */
  redactor: Redactor;
  /** When this run started, epoch ms. */
  startedAt: number;
  /** The service's one clock, from its composition root: every class the service builds takes time from it. */
  clock: Clock;
  /**
   * Work that `ready` must not wait for (monitoring endpoints, the first tick): run in order right after `ready`
   * went out, or never when the start failed or a signal arrived first. A step that throws is logged; the
   * service runs on.
   */
  afterReady(step: () => void | Promise<void>): void;
}

export interface RunServiceOptions {
  /** The one clock of the service (the daemon's main.ts passes systemClock). */
  clock: Clock;
  /** Config source (default process.env / process.cwd()); the sections are the service's own. */
  config?: Omit<LoadConfigOptions, 'service' | 'sections'>;
  /** How the process ends (default process.exit). */
  exit?: (code: number) => void;
}

/**
 * `trading` and `telegram` validate only their configuration sections (shared + their own); any other name (test
 * fixtures) validates them all.
 */
export function runService<S extends ConfigScope>(
  service: S,
  main: (ctx: ServiceContext<ScopedConfig<S>>) => Promise<void>,
  options: RunServiceOptions,
): Promise<void>;
export function runService(
  service: string,
  main: (ctx: ServiceContext) => Promise<void>,
  options: RunServiceOptions,
): Promise<void>;
export async function runService(
  service: string,
  main: (ctx: ServiceContext) => Promise<void>,
  options: RunServiceOptions,
): Promise<void> {
  const { clock } = options;
  const startedAt = clock.now();
  // V8's memory settings: once ready (below), or after this long for a start still waiting (for the network, say)
  const cancelHeapSettings = clock.timer(HEAP_SETTINGS_LATEST_MS, applyHeapSettings, { unref: true });
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const scope: { service?: ConfigScope } = isConfigScope(service) ? { service } : {};

  let loaded: LoadedConfig<SharedConfig & Partial<Config>>;
  try {
    loaded = loadConfigSections({ ...options.config, ...scope }) as LoadedConfig<
      SharedConfig & Partial<Config>
    >;
  } catch (err) {
    // No log dir is known yet: the console it is (PM2 keeps it in the service's err file).
    const consoleLogger = createLogger({ service });
    // One log line per problem: console lines never carry a raw newline (log forging), and one long escaped
    // line would be unreadable.
    const recorded =
      err instanceof ConfigError ? recordConfigFailure(service, err, clock.now(), options.config) : '';
    if (err instanceof ConfigError) {
      const n = err.problems.length;
      consoleLogger.error(
        `❌ ${service} cannot start. Invalid configuration (${n} problem${n === 1 ? '' : 's'}):`,
      );
      for (const p of err.problems) consoleLogger.error(`  - ${p.field} = ${p.value}: ${p.message}`);
    } else {
      consoleLogger.error(`❌ ${service} cannot start: cannot load the configuration: ${errorMessage(err)}`);
    }
    consoleLogger.error(
      `Fix it, then \`npm start\` (exit ${ExitCode.Config}: PM2 will not restart it by itself).${recorded}`,
    );
    await closeLogger(consoleLogger);
    exit(ExitCode.Config);
    return;
  }
  const { config, secrets, sources } = loaded;
  const { dataDir, logDir } = config.app;
  const redactor = new Redactor(Object.values(secrets));
  // 0700 before anything is written in them (the ecosystem file does it before PM2 starts, too); a failure here
  // is reported by the log dir / data dir checks below
  for (const dir of [logDir, dataDir]) {
    try {
      ensurePrivateDir(dir);
    } catch {
      // reported below, with the fix
    }
  }

  let logger: Logger;
  try {
    logger = createLogger({
      service,
      logDir,
      level: config.logging.level,
      redactor,
      fileMaxBytes: config.logging.fileMaxBytes,
      fileMaxFiles: config.logging.fileMaxFiles,
    });
  } catch (err) {
    const consoleLogger = createLogger({ service, redactor });
    consoleLogger.error(
      `❌ ${service} cannot start: log dir ${logDir} is not usable (${errorMessage(err)}); fix BYNINJA_LOG_DIR or its permissions`,
    );
    await closeLogger(consoleLogger);
    exit(ExitCode.Config);
    return;
  }

  const rotation = new Pm2LogRotation({
    files: pm2LogFilesFromEnv(),
    maxBytes: config.logging.pm2LogMaxBytes,
    keep: config.logging.pm2LogKeep,
    checkEveryMs: config.logging.pm2LogCheckMs,
    clock,
    logger,
  }).start();

  const shutdown = new ShutdownCoordinator({
    logger,
    clock,
    budgetMs: config.lifecycle.shutdownBudgetMs,
    exit,
  });
  shutdown.installSignalHandlers();
  shutdown.addStep('stop PM2 log rotation', () => rotation.stop(), { order: 90 });

  const crumbFile = breadcrumbPath(dataDir, service);
  // Only the instance holding the service lock may write the breadcrumb (a refused second instance must not).
  let ownsBreadcrumb = false;
  installCrashHandlers({
    logger,
    recordCrash: (reason) => {
      if (ownsBreadcrumb) {
        writeBreadcrumbSync(crumbFile, {
          kind: 'crash',
          pid: process.pid,
          startedAt,
          at: clock.now(),
          reason: redactor.redactString(reason),
        });
      }
    },
    halt: (reason) => shutdown.halt(reason),
    flushStores: (ms) => shutdown.flushStores(ms),
    exit,
  });

  logger.info(`🚀 ${service} starting`, {
    pid: process.pid,
    node: process.version,
    ...(config.trading ? { mode: config.trading.mode } : {}),
    build: ownBuild() ?? 'unknown',
    dataDir,
    logDir,
    configFile: sources.configFile ?? '(none: defaults + environment)',
    envFile: sources.envFile ?? '(none)',
  });

  if (sources.staleEnv?.length) {
    logger.warn(
      `ignored ${sources.staleEnv.join(', ')}: left in PM2's copy of the environment by an earlier start (no longer ` +
        'set when the services were last started or restarted through ecosystem.config.js)',
    );
  }

  const fail = async (stage: string, err: unknown): Promise<void> => {
    const code =
      err instanceof LockHeldError
        ? ExitCode.LockHeld
        : err instanceof CorruptStateError || err instanceof ConfigError
          ? ExitCode.Config
          : ExitCode.Crash;
    const hint =
      code === ExitCode.LockHeld
        ? `another ${service} instance is running with data dir ${dataDir}; stop it first (npx pm2 status)`
        : code === ExitCode.Config
          ? 'fix the reported file or setting, then start again'
          : 'see the error above';
    logger.error(`⛔ ${service} ${stage} failed (exit ${code}): ${errorMessage(err)} — ${hint}`, { err });
    if (code === ExitCode.Config) {
      try {
        writeConfigFailure(dataDir, service, {
          pid: process.pid,
          at: clock.now(),
          problems: redactProblems(problemsOf(err), redactor),
        });
      } catch (writeErr) {
        logger.warn(
          `could not record the configuration error for status and alerts: ${errorMessage(writeErr)}`,
        );
      }
    }
    await shutdown.shutdown(`${stage} failed: ${errorMessage(err)}`, code);
  };

  let serviceLock: StoreLock;
  try {
    serviceLock = await StoreLock.acquire(dataDir, `${service}.service`, { clock });
  } catch (err) {
    return fail('start', err);
  }
  shutdown.addStep('release the service lock', () => serviceLock.release(), { order: 99 });

  // The configuration is valid now: an earlier run's "configuration error" record no longer applies.
  try {
    clearConfigFailure(dataDir, service);
  } catch {
    // a stale record is only a stale hint; the breadcrumb write below reports a data dir that cannot be written
  }

  const lastExit = readLastExit(dataDir, service, startedAt);
  const lastExitLine = `ℹ️ ${service} ${describeLastExit(lastExit)}`;
  if (lastExit.kind === 'clean' || lastExit.kind === 'first-start') logger.info(lastExitLine, { lastExit });
  else logger.warn(lastExitLine, { lastExit });

  // The `running` crumb is in place at once (a crash or kill from here on is reported as such); its two fsyncs run in
  // the thread pool beside the start and are awaited before `ready` (1–5 ms each on the critical path when they
  // blocked the main thread here): `ready` still means the crumb is durable, and a disk that fails them fails the
  // start as before.
  let crumbDurable: Promise<{ failed: unknown } | undefined>;
  const bootId = currentBootId();
  try {
    crumbDurable = writeBreadcrumbDurableLater(crumbFile, {
      kind: 'running',
      pid: process.pid,
      startedAt,
      at: startedAt,
      ...(bootId ? { bootId } : {}),
    }).then(
      () => undefined,
      (err: unknown) => ({ failed: err }),
    );
    ownsBreadcrumb = true;
  } catch (err) {
    return fail('start', breadcrumbFailure(err, crumbFile, dataDir));
  }
  shutdown.addStep(
    'write the exit marker',
    () => {
      const request = shutdown.request;
      const clean = request?.exitCode === ExitCode.Ok;
      writeBreadcrumbSync(crumbFile, {
        kind: clean ? 'clean' : 'crash',
        pid: process.pid,
        startedAt,
        at: clock.now(),
        reason: redactor.redactString(request?.reason ?? 'unknown'),
      });
    },
    { order: 95 },
  );

  // The watchdog's worker thread starts before the service's own start: a main thread that blocks while starting
  // (a loop on a state file, a stuck native call) is killed and reported like any stall, and PM2 restarts it. Its
  // bundle is schema-free (a few KiB), so booting it costs a restart little.
  const watchdog = Watchdog.start({
    stallMs: config.lifecycle.watchdogStallMs,
    breadcrumbFile: crumbFile,
    startedAt,
    aliveFile: alivePath(dataDir, service),
    aliveEveryMs: ALIVE_EVERY_MS,
    logger,
  });
  const activity = (what: string): void => watchdog.activity(what);
  const readySteps: (() => void | Promise<void>)[] = [];

  const ctx: ServiceContext = {
    service,
    // only the selected sections exist; the overloads above type `config` as exactly those
    config: config as Config,
    secrets,
    logger,
    dataDir,
    logDir,
    shutdown,
    lastExit,
    activity,
    redactor,
    startedAt,
    clock,
    afterReady: (step) => void readySteps.push(step),
  };
  try {
    activity(`${service}: starting`);
    await main(ctx);
  } catch (err) {
    // a signal arrived while starting (trading waiting for the exchange, say): the wait ended because of it
    if (shutdown.stopping) return;
    return fail('start', err);
  }
  if (shutdown.stopping) return; // a signal arrived while starting: not ready, just stopping
  const crumbSync = await crumbDurable;
  if (crumbSync) return fail('start', breadcrumbFailure(crumbSync.failed, crumbFile, dataDir));
  if (shutdown.stopping) return;
  activity(`${service}: running`);
  process.send?.('ready');
  // after the start, not as node_args: a V8 flag on the command line costs every start node's own code cache
  cancelHeapSettings();
  applyHeapSettings();
  // startupMs: our own start (config → ready); processMs: since the process began, node boot and module loading too
  logger.info(`✅ ${service} ready`, {
    startupMs: clock.now() - startedAt,
    processMs: Math.round(process.uptime() * 1000),
  });
  // one turn of the event loop first: the ready message is on its way before any of this work
  if (readySteps.length > 0) await new Promise<void>((resolve) => setImmediate(resolve));
  for (const step of readySteps) {
    if (shutdown.stopping) return;
    try {
      await step();
    } catch (err) {
      // a refusal found only now (trading's API key read after a start on the kept read: key-watch.ts) stops the
      // service as a refused start does (exit 78, the problem recorded); anything else is logged
      if (err instanceof ConfigError) return fail('start', err);
      logger.error(`${service}: a step after ready failed: ${errorMessage(err)}`, { err });
    }
  }
}

/**
 * What a `running` breadcrumb that could not be written means: a full or failing disk is not a configuration error
 * (exit 1: PM2 keeps retrying, with backoff, and the service comes back by itself once there is space, instead of
 * staying stopped behind exit 78); anything else is a data dir that cannot be written.
 */
function breadcrumbFailure(err: unknown, crumbFile: string, dataDir: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code && TRANSIENT_DISK_ERRORS.has(code)) {
    return toPersistenceError(err, crumbFile, `write (data dir ${dataDir}; free space or fix the disk)`);
  }
  return new ConfigError([
    {
      field: 'app.dataDir',
      value: JSON.stringify(dataDir),
      message: `not writable (${errorMessage(err)}): fix BYNINJA_DATA_DIR or its permissions`,
    },
  ]);
}

/**
 * Keeps a configuration error where the supervisor and `byninja status` find it (ConfigFailure). The data dir is
 * known when the `app` section itself is valid. Returns a note for the console line.
 */
function recordConfigFailure(
  service: string,
  err: ConfigError,
  now: number,
  source: LoadConfigOptions = {},
): string {
  let dataDir: string;
  let redactor: Redactor;
  try {
    // secrets are read whatever the sections: mask any that a value quotes (the record may reach a chat)
    const found = loadConfigSections({ ...source, sections: ['app'] });
    dataDir = found.config.app!.dataDir;
    redactor = new Redactor(Object.values(found.secrets));
  } catch {
    return '';
  }
  try {
    writeConfigFailure(dataDir, service, {
      pid: process.pid,
      at: now,
      problems: redactProblems(err.problems, redactor),
    });
    return '';
  } catch (writeErr) {
    return `\n(could not record it in ${dataDir}: ${errorMessage(writeErr)})`;
  }
}

function redactProblems(problems: ConfigProblem[], redactor: Redactor): ConfigProblem[] {
  return problems.map((p) => ({
    field: redactor.redactString(p.field),
    value: redactor.redactString(p.value),
    message: redactor.redactString(p.message),
  }));
}
