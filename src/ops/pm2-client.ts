/**
 * The one PM2 client of ByNinja (telegram's supervisor and bot, the CLI). It talks to the PM2 daemon of
 * `PM2_HOME` (default ~/.pm2) through pm2's programmatic API and turns its raw process descriptions into a small
 * `Pm2ProcessView` — the raw ones carry each app's whole environment, which must never reach a message or a log.
 *
 * One PM2_HOME per process: pm2 keeps its socket paths in module-global state, so a client built for another
 * home redirects every later (re)connection. The daemons and the CLI only ever use the one of PM2_HOME.
 */
import type { EventEmitter } from 'node:events';
import { NoAnswerYetError, OperationalError, TemporaryError, errorMessage } from '../shared/errors';
import { formatSpan } from '../shared/format-span';
import type { Clock } from '../shared/clock';
import { withDeadline } from '../shared/deadline';

export interface Pm2ProcessView {
  name: string;
  pmId: number;
  /** 0 when the process is not running. */
  pid: number;
  /** online, stopping, stopped, launching, errored, one-launch-status, waiting restart. */
  status: string;
  /** PM2's restart counter (restart_time). */
  restarts: number;
  /** Restarts that happened before min_uptime (PM2's max_restarts guard). */
  unstableRestarts: number;
  /** ms since the current run started; null when not online. */
  uptimeMs: number | null;
  memoryBytes: number;
  cpuPercent: number;
  /** Exit code of the last run. PM2 records a death by signal as 0: never read 0 as clean on its own. */
  exitCode?: number;
  /** The delay PM2's exponential backoff waits before the next restart. */
  restartDelayMs?: number;
  /** The first delay of that backoff (exp_backoff_restart_delay): a longer current delay means repeated crashes. */
  backoffBaseMs?: number;
  /** PM2's out/err log files of the app. */
  outLogPath?: string;
  errLogPath?: string;
}

/** A PM2 bus packet (`process:event`, `process:msg`, `log:*`): only the fields ByNinja reads are typed. */
export interface Pm2BusPacket {
  event?: string;
  process: {
    name: string;
    pm_id: number;
    status?: string;
    restart_time?: number;
    exit_code?: number;
  } & Record<string, unknown>;
  at?: number;
  [key: string]: unknown;
}

/** PM2's bus packet of a process's `process.send('ready')` (`process:msg` with `raw: 'ready'`): the app's name. */
export function readyMessageOf(packet: Pm2BusPacket): string | undefined {
  const name = packet?.process?.name;
  return packet?.raw === 'ready' && typeof name === 'string' ? name : undefined;
}

interface RawProcess {
  name?: string;
  pm_id?: number;
  pid?: number;
  monit?: { memory?: number; cpu?: number };
  pm2_env?: {
    status?: string;
    restart_time?: number;
    unstable_restarts?: number;
    pm_uptime?: number;
    exit_code?: number;
    prev_restart_delay?: number;
    exp_backoff_restart_delay?: number;
    pm_out_log_path?: string;
    pm_err_log_path?: string;
  };
}

type Callback<T> = (err: Error | null | undefined, result: T) => void;

/** The part of pm2's API instance that is used here (pm2 ships no types for `custom`). */
interface Pm2Api {
  connect(cb: Callback<unknown>): void;
  disconnect(cb?: Callback<unknown>): void;
  list(cb: Callback<RawProcess[]>): void;
  restart(name: string, opts: Record<string, unknown>, cb: Callback<unknown>): void;
  start(file: string, opts: Record<string, unknown>, cb: Callback<unknown>): void;
  stop(name: string, cb: Callback<unknown>): void;
  launchBus(cb: (err: Error | null | undefined, bus: EventEmitter) => void): void;
  Client: {
    pingDaemon(cb: (alive: boolean) => void): void;
    disconnectBus(cb?: Callback<unknown>): void;
    disconnectRPC(cb?: Callback<unknown>): void;
  };
}

type Pm2ApiConstructor = new (opts: { pm2_home?: string; daemon_mode?: boolean }) => Pm2Api;

export interface Pm2ClientOptions {
  /** PM2 home; default env PM2_HOME, else pm2's own default (~/.pm2). */
  pm2Home?: string;
  /**
   * Start a PM2 daemon when none runs (pm2's default). The CLI sets false: `byninja status` must report
   * "PM2 is not running", not quietly start an empty daemon.
   */
  spawnDaemon?: boolean;
  /** What "now" is for the uptimes `list()` reports (the composition root's clock), and `list()`'s deadline. */
  clock: Clock;
  /**
   * `list()` (connect included) fails with a TemporaryError after this long without PM2's answer (default 15 s): a
   * PM2 daemon stopped or stuck accepts the connection and never answers, which held /status and `byninja status`
   * for good (the bot's commands have no overall deadline).
   */
  listTimeoutMs?: number;
  /**
   * `restart()` and `stop()` (connect included) give up with a NoAnswerYetError after this long without PM2's answer
   * (default 40 s): PM2 answers a restart once the app is stopped (kill_timeout 8 s at most) and started again (its
   * ready signal, or listen_timeout 20 s at most, ecosystem.config.js), so past that the PM2 daemon is stuck or
   * slow — and may still do it: the error's `late` is PM2's answer should it come.
   */
  actionTimeoutMs?: number;
}

const DEFAULT_LIST_TIMEOUT_MS = 15_000;
const DEFAULT_ACTION_TIMEOUT_MS = 40_000;
/** An action PM2 has not answered is joined (not asked again) for this many action deadlines since it was asked. */
const JOIN_UNANSWERED_FOR = 3;

/** pm2 is loaded on first use: requiring it costs about half a second that CLI commands without PM2 should not pay. */
function pm2ApiConstructor(): Pm2ApiConstructor {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('pm2') as { custom: Pm2ApiConstructor }).custom;
}

export function viewOfProcess(raw: RawProcess, now: number): Pm2ProcessView {
  const env = raw.pm2_env ?? {};
  const status = env.status ?? 'unknown';
  const view: Pm2ProcessView = {
    name: raw.name ?? '?',
    pmId: raw.pm_id ?? -1,
    pid: raw.pid ?? 0,
    status,
    restarts: env.restart_time ?? 0,
    unstableRestarts: env.unstable_restarts ?? 0,
    uptimeMs:
      status === 'online' && typeof env.pm_uptime === 'number' ? Math.max(0, now - env.pm_uptime) : null,
    memoryBytes: raw.monit?.memory ?? 0,
    cpuPercent: raw.monit?.cpu ?? 0,
  };
  if (typeof env.exit_code === 'number') view.exitCode = env.exit_code;
  if (typeof env.prev_restart_delay === 'number') view.restartDelayMs = env.prev_restart_delay;
  if (typeof env.exp_backoff_restart_delay === 'number') view.backoffBaseMs = env.exp_backoff_restart_delay;
  if (env.pm_out_log_path) view.outLogPath = env.pm_out_log_path;
  if (env.pm_err_log_path) view.errLogPath = env.pm_err_log_path;
  return view;
}

export class Pm2Client {
  private readonly api: Pm2Api;
  private readonly spawnDaemon: boolean;
  private readonly clock: Clock;
  private readonly listTimeoutMs: number;
  private readonly actionTimeoutMs: number;
  private connecting?: Promise<void>;
  private connected = false;
  private busOpen = false;
  /** restart()/stop() asked and not answered by PM2 yet, by "<method> <app>" (bounded). */
  private readonly unanswered = new Map<string, { answer: Promise<void>; at: number }>();

  constructor(opts: Pm2ClientOptions) {
    const home = opts.pm2Home ?? process.env.PM2_HOME;
    const Api = pm2ApiConstructor();
    this.api = new Api(home ? { pm2_home: home, daemon_mode: true } : { daemon_mode: true });
    this.spawnDaemon = opts.spawnDaemon ?? true;
    this.clock = opts.clock;
    this.listTimeoutMs = opts.listTimeoutMs ?? DEFAULT_LIST_TIMEOUT_MS;
    this.actionTimeoutMs = opts.actionTimeoutMs ?? DEFAULT_ACTION_TIMEOUT_MS;
  }

  /** Connects once (later calls share the same promise). Throws OperationalError when no daemon runs and spawnDaemon is false. */
  connect(): Promise<void> {
    if (this.connected) return Promise.resolve();
    this.connecting ??= this.doConnect().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  private async doConnect(): Promise<void> {
    if (!this.spawnDaemon) {
      const alive = await new Promise<boolean>((resolve) => this.api.Client.pingDaemon(resolve));
      if (!alive)
        throw new OperationalError('PM2 daemon is not running', {
          pm2Home: process.env.PM2_HOME ?? '~/.pm2',
        });
    }
    await this.call<unknown>((cb) => this.api.connect(cb), 'connect');
    this.connected = true;
  }

  list(): Promise<Pm2ProcessView[]> {
    const ms = this.listTimeoutMs;
    const timedOut = (): Error =>
      new TemporaryError(`PM2 list: no answer within ${ms} ms (the PM2 daemon stopped or stuck)`, {
        method: 'list',
      });
    return withDeadline(this.listNow(), ms, timedOut, this.clock);
  }

  private async listNow(): Promise<Pm2ProcessView[]> {
    await this.connect();
    const now = this.clock.now();
    const raw = await this.call<RawProcess[]>((cb) => this.api.list(cb), 'list');
    return raw.map((p) => viewOfProcess(p, now));
  }

  async describe(name: string): Promise<Pm2ProcessView | undefined> {
    return (await this.list()).find((p) => p.name === name);
  }

  /**
   * Restarts an app; resolves when PM2 has restarted it (after its ready signal when wait_ready is set). Bounded
   * (`actionTimeoutMs`): NoAnswerYetError, PM2's late answer in it.
   */
  restart(name: string): Promise<void> {
    return this.bounded('restart', name, async () => {
      await this.connect();
      // updateEnv false: a restart keeps the app's own environment, never this caller's (the CLI's shell env).
      await this.call<unknown>((cb) => this.api.restart(name, { updateEnv: false }, cb), 'restart', name);
    });
  }

  /**
   * Starts `only` from the ecosystem file (PM2 evaluates it in this process: its `env` takes this process's current
   * configuration variables). An app PM2 knows but has stopped is started again with that environment.
   */
  async startFromEcosystem(file: string, only: string): Promise<void> {
    await this.connect();
    await this.call<unknown>((cb) => this.api.start(file, { only }, cb), 'start', only);
  }

  /**
   * Restarts `only` through the ecosystem file with `--update-env`: the app gets the environment the file gives it
   * now (this process's configuration variables), never this process's whole environment (a restart by name with
   * updateEnv would copy every variable, secrets included, past the file's filter_env).
   */
  async restartFromEcosystem(file: string, only: string): Promise<void> {
    await this.connect();
    await this.call<unknown>((cb) => this.api.restart(file, { only, updateEnv: true }, cb), 'restart', only);
  }

  /** Stops an app (SIGINT, then SIGKILL after kill_timeout). Bounded as `restart()`. */
  stop(name: string): Promise<void> {
    return this.bounded('stop', name, async () => {
      await this.connect();
      await this.call<unknown>((cb) => this.api.stop(name, cb), 'stop', name);
    });
  }

  /**
   * An action given `actionTimeoutMs` for PM2's answer; past it, NoAnswerYetError carrying the answer to come. The same
   * action on the same app asked while PM2 has not answered it yet is not asked again: the caller waits for the one
   * in flight (a second restart reaching PM2 while it stops the app fails "Process with pid … already exists", or
   * restarts it twice) — /restart said "no answer yet" and was asked again, or the hang watch and /restart met.
   */
  private bounded(method: string, name: string, action: () => Promise<void>): Promise<void> {
    const ms = this.actionTimeoutMs;
    const key = `${method} ${name}`;
    const now = this.clock.now();
    const waiting = this.unanswered.get(key);
    // joined for a while only: an answer PM2 lost (its daemon killed meanwhile) must not hold every later action
    let answer = waiting && now - waiting.at < ms * JOIN_UNANSWERED_FOR ? waiting.answer : undefined;
    if (!answer) {
      const asked = action();
      answer = asked;
      this.unanswered.set(key, { answer: asked, at: now });
      const forget = (): void => {
        if (this.unanswered.get(key)?.answer === asked) this.unanswered.delete(key);
      };
      asked.then(forget, forget);
    }
    return withDeadline(
      answer,
      ms,
      () =>
        new NoAnswerYetError(
          `PM2 ${method} ${name}: no answer within ${formatSpan(ms)} (the PM2 daemon is slow or stuck; it may still do it)`,
          { method, name },
          answer,
        ),
      this.clock,
    );
  }

  /** PM2's event bus: listen to 'process:event' (Pm2BusPacket). Events are dropped while it is disconnected. */
  async launchBus(): Promise<EventEmitter> {
    await this.connect();
    const bus = await new Promise<EventEmitter>((resolve, reject) =>
      this.api.launchBus((err, b) => (err ? reject(this.wrap(err, 'launchBus')) : resolve(b))),
    );
    this.busOpen = true;
    return bus;
  }

  /** Idempotent; closes the bus too. */
  async disconnect(): Promise<void> {
    if (this.busOpen) {
      this.busOpen = false;
      await new Promise<void>((resolve) => this.api.Client.disconnectBus(() => resolve()));
    }
    // a later connection asks again what this one never heard answered
    this.unanswered.clear();
    if (!this.connected && !this.connecting) return;
    const pending = this.connecting;
    this.connecting = undefined;
    if (pending) await pending.catch(() => undefined);
    if (!this.connected) return;
    this.connected = false;
    // Not pm2's api.disconnect(): it runs disconnectRPC and disconnectBus under async's onlyOnce, and each of them
    // calls back twice when its socket's 'close' comes after their 200 ms timer (a loaded host) — the timer calls
    // back, destroys the socket, and the 'close' that follows calls back again: "Callback was already called",
    // thrown uncaught. Called directly, a second call back only resolves a settled promise.
    await new Promise<void>((resolve) => this.api.Client.disconnectRPC(() => resolve()));
    await new Promise<void>((resolve) => this.api.Client.disconnectBus(() => resolve()));
  }

  private call<T>(fn: (cb: Callback<T>) => void, method: string, name?: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      fn((err, result) => (err ? reject(this.wrap(err, method, name)) : resolve(result)));
    });
  }

  private wrap(err: unknown, method: string, name?: string): Error {
    const message = errorMessage(err);
    const context = { method, ...(name ? { name } : {}) };
    // "process name not found" is the caller's problem; anything else (socket, daemon busy) may pass.
    if (/not found/i.test(message))
      return new OperationalError(`PM2 has no app named "${name ?? '?'}"`, context);
    return new TemporaryError(`PM2 ${method} failed: ${message}`, context, { cause: err });
  }
}
