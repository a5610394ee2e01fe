/**
 * The one shutdown coordinator of both services. SIGINT, SIGTERM, PM2's `shutdown` message and the loss of the
 * PM2 parent (IPC channel `disconnect`) all run the same idempotent shutdown:
 *
 *   1. `🛑 Shutdown signal received...`, `signal` aborts (loops stop taking new work);
 *   2. the registered steps by ascending order (default 50), each in its own try/catch with its own deadline;
 *   3. at order 80 the registered stores are flushed and closed (`💾 Forcing save to disk...`,
 *      `✅ PersistentMap stopped`) — they always get a reserved slice of the budget, however late earlier steps run;
 *   4. the exit with the requested code.
 *
 * The whole run stays under `budgetMs` (lifecycle.shutdownBudgetMs, default 5000), itself below PM2's
 * kill_timeout (8000). A second signal while stopping forces exit 1 at once: the operator means it.
 */
import type { Logger } from '../logging/logger';
import { ExitCode } from './exit-codes';
import type { Clock } from '../clock';
import { withDeadline } from '../deadline';

export type ShutdownStep = (signal: AbortSignal) => Promise<void> | void;

export interface FlushableStore {
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface ShutdownCoordinatorOptions {
  logger: Logger;
  /** The service's clock (passed down from the composition root): measures the budget the steps have used. */
  clock: Clock;
  /** Total time the steps may take (default 5000 ms). */
  budgetMs?: number;
  /** How the process ends (default process.exit); tests inject a recorder. */
  exit?: (code: number) => void;
}

interface RegisteredStep {
  name: string;
  order: number;
  timeoutMs?: number;
  run: ShutdownStep;
  seq: number;
}

/** Reasons that are a request to stop (a signal, PM2's shutdown message, PM2 gone): "Shutdown signal received". */
const PM2_SHUTDOWN_MESSAGE = 'PM2 shutdown message';
/** The IPC channel to PM2 closed: the PM2 daemon died (a `pm2 kill` stops the apps by signal first). */
export const PM2_GONE = 'PM2 parent gone (IPC channel closed)';
const STOP_REQUESTS: ReadonlySet<string> = new Set(['SIGINT', 'SIGTERM', PM2_SHUTDOWN_MESSAGE, PM2_GONE]);

/** Order of the store flush; steps that must run after state is saved use a higher order. */
export const STORES_ORDER = 80;
const DEFAULT_ORDER = 50;

export class ShutdownCoordinator {
  private readonly controller = new AbortController();
  private readonly steps: RegisteredStep[] = [];
  private readonly stores: FlushableStore[] = [];
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly budgetMs: number;
  private readonly exit: (code: number) => void;
  private running: Promise<void> | null = null;
  private signalsInstalled = false;
  /** A fatal error halted the service (halt()), whether or not a shutdown had begun. */
  private halted = false;
  /** The work onHalt() stops, run when halted. */
  private readonly haltWork: Array<() => void> = [];
  private requested: { reason: string; exitCode: number } | null = null;

  constructor(opts: ShutdownCoordinatorOptions) {
    this.logger = opts.logger;
    this.clock = opts.clock;
    this.budgetMs = opts.budgetMs ?? 5_000;
    this.exit = opts.exit ?? ((code) => process.exit(code));
    this.addStep('flush stores', () => this.closeStores(), { order: STORES_ORDER });
  }

  /** Aborted when shutdown starts, or when a fatal error halts the service (`halt`). */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * Stops new work at once, without running the steps: `signal` aborts, so every loop listening on it stops taking
   * new work (trading places no new order). The crash handler calls it before its best-effort flush: after an
   * uncaught error the process state is unknown, and the second or so the flush takes must not be a second of
   * trading on it. Idempotent; the shutdown that may follow aborts nothing more.
   */
  halt(reason: string): void {
    if (this.halted) return;
    this.halted = true;
    if (!this.controller.signal.aborted) this.controller.abort(new Error(`halted: ${reason}`));
    // also during an orderly shutdown (a fatal error in one of its steps): the work its later steps would stop in
    // order must not go on during the crash flush either
    for (const stopWork of this.haltWork.splice(0)) this.runHaltWork(stopWork);
  }

  /**
   * Runs `stopWork` when a fatal error halts the service (`halt`, from the crash handler), at once if it already
   * has — also in the middle of an orderly shutdown; never by an orderly shutdown alone, whose steps stop the work in
   * their order. For work that must not go on during the crash flush and that `signal` does not reach (telegram: the
   * poller, the outbox sender, replies).
   */
  onHalt(stopWork: () => void): void {
    if (this.halted) this.runHaltWork(stopWork);
    else this.haltWork.push(stopWork);
  }

  private runHaltWork(stopWork: () => void): void {
    try {
      stopWork();
    } catch (err) {
      this.logger.error('could not halt a part of the service', { err });
    }
  }

  get stopping(): boolean {
    return this.running !== null;
  }

  /** Why and with which code the shutdown was requested; null while running normally. */
  get request(): { reason: string; exitCode: number } | null {
    return this.requested;
  }

  addStep(name: string, step: ShutdownStep, opts: { order?: number; timeoutMs?: number } = {}): void {
    this.steps.push({
      name,
      run: step,
      order: opts.order ?? DEFAULT_ORDER,
      timeoutMs: opts.timeoutMs,
      seq: this.steps.length,
    });
  }

  /** Flushed and closed at order 80, and flushed best-effort by the crash handler. */
  addStore(store: FlushableStore): void {
    this.stores.push(store);
  }

  /**
   * Runs the shutdown once; later calls return the same promise. Resolves after the steps ran, right before
   * `exit(exitCode)` is called (the real exit never returns).
   */
  shutdown(reason: string, exitCode: number = ExitCode.Ok): Promise<void> {
    if (!this.running) {
      this.requested = { reason, exitCode };
      this.running = this.run(reason, exitCode);
    }
    return this.running;
  }

  /**
   * Listens for SIGINT, SIGTERM, PM2's 'shutdown' message and the loss of the IPC channel to PM2.
   * A second SIGINT/SIGTERM during shutdown forces exit 1.
   */
  installSignalHandlers(proc: NodeJS.Process = process): void {
    if (this.signalsInstalled) return;
    this.signalsInstalled = true;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (this.stopping) {
        this.logger.warn(`⚠️ Second ${sig} during shutdown: forcing exit`);
        this.exit(ExitCode.Crash);
        return;
      }
      void this.shutdown(sig);
    };
    proc.on('SIGINT', onSignal);
    proc.on('SIGTERM', onSignal);
    // PM2 sends this message instead of a signal when `shutdown_with_message` is set (and on Windows).
    proc.on('message', (msg: unknown) => {
      if (msg === 'shutdown') void this.shutdown(PM2_SHUTDOWN_MESSAGE);
    });
    // The IPC channel to PM2 closed: the PM2 daemon is gone; nobody supervises us any more.
    proc.on('disconnect', () => void this.shutdown(PM2_GONE));
  }

  /** Flushes every registered store, bounded by `timeoutMs`; never throws (the crash handler's last resort). */
  async flushStores(timeoutMs: number): Promise<void> {
    await withDeadline(
      Promise.allSettled(this.stores.map((s) => s.flush())).then(() => undefined),
      timeoutMs,
      () => new DeadlineError(`deadline of ${timeoutMs} ms passed`),
      this.clock,
    ).catch(() => undefined);
  }

  private async run(reason: string, exitCode: number): Promise<void> {
    const startedAt = this.clock.now();
    // "signal received" only when one was: a failed start or a fatal error says what it is instead
    if (STOP_REQUESTS.has(reason)) this.logger.info('🛑 Shutdown signal received...', { reason, exitCode });
    else this.logger.info(`🛑 Stopping (${reason})...`, { reason, exitCode });
    if (!this.controller.signal.aborted) this.controller.abort(new Error(`shutting down: ${reason}`));

    // The store flush keeps a reserved slice of the budget, so slow earlier steps cannot starve it.
    const reserveMs = Math.min(2_000, Math.floor(this.budgetMs * 0.4));
    const ordered = [...this.steps].sort((a, b) => a.order - b.order || a.seq - b.seq);
    for (const step of ordered) {
      const elapsed = this.clock.now() - startedAt;
      const available = this.budgetMs - elapsed - (step.order < STORES_ORDER ? reserveMs : 0);
      const deadline = Math.min(step.timeoutMs ?? Infinity, available);
      if (deadline <= 0) {
        this.logger.warn(`shutdown step "${step.name}" skipped: shutdown budget used up`);
        continue;
      }
      await this.runStep(step, deadline);
    }
    this.logger.info(`shutdown finished in ${this.clock.now() - startedAt} ms`, { reason, exitCode });
    // Scheduled, not called: the caller of shutdown() gets to see the promise resolve first.
    setImmediate(() => this.exit(exitCode));
  }

  private async runStep(step: RegisteredStep, deadlineMs: number): Promise<void> {
    const stepController = new AbortController();
    try {
      await withDeadline(
        Promise.resolve().then(() => step.run(stepController.signal)),
        deadlineMs,
        () => new DeadlineError(`deadline of ${deadlineMs} ms passed`),
        this.clock,
      );
    } catch (err) {
      stepController.abort(err);
      const timedOut = err instanceof DeadlineError;
      this.logger.error(
        timedOut
          ? `shutdown step "${step.name}" did not finish within ${deadlineMs} ms`
          : `shutdown step "${step.name}" failed`,
        timedOut ? {} : { err },
      );
    }
  }

  private async closeStores(): Promise<void> {
    this.logger.info('💾 Forcing save to disk...', { stores: this.stores.length });
    const results = await Promise.allSettled(this.stores.map((s) => s.close()));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    for (const f of failed)
      this.logger.error('a store could not be saved on shutdown', { err: f.reason as unknown });
    if (failed.length === 0) this.logger.info('✅ PersistentMap stopped');
  }
}

class DeadlineError extends Error {}
