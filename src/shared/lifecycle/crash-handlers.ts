/**
 * Last line of defence: an uncaughtException or unhandledRejection is logged as fatal, leaves a `crash`
 * breadcrumb (written synchronously, first, so it survives whatever happens next), halts new work at once (trading
 * places no new order), gets a best-effort store flush of about a second, and the process exits 1 so PM2 restarts
 * it. The process state after such an error is unknown: we do not try to keep running, not even during the flush.
 *
 * PM2's injected @pm2/io would swallow unhandledRejection; ecosystem.config.js sets `pmx: false`.
 */
import { closeLogger, type Logger } from '../logging/logger';
import { ExitCode } from './exit-codes';

export interface CrashHandlerOptions {
  logger: Logger;
  /** Records the crash (the breadcrumb); called synchronously before anything asynchronous. */
  recordCrash: (reason: string) => void;
  /** Stops new work (loops, placements) synchronously, before the flush gives the event loop back. */
  halt: (reason: string) => void;
  /** Best-effort flush of the stores, bounded by the given time. */
  flushStores: (timeoutMs: number) => Promise<void>;
  /** Flush budget (default 1000 ms). */
  flushBudgetMs?: number;
  exit?: (code: number) => void;
  proc?: NodeJS.Process;
}

/** Installs the handlers; returns a function removing them (tests). */
export function installCrashHandlers(opts: CrashHandlerOptions): () => void {
  const proc = opts.proc ?? process;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let crashing = false;

  const onFatal = (kind: 'uncaughtException' | 'unhandledRejection', err: unknown): void => {
    if (crashing) {
      // A second fatal error while handling the first: give up at once.
      exit(ExitCode.Crash);
      return;
    }
    crashing = true;
    const reason = `${kind}: ${describe(err)}`;
    try {
      opts.recordCrash(reason);
    } catch (recordErr) {
      process.stderr.write(`could not write the crash breadcrumb: ${String(recordErr)}\n`);
    }
    try {
      opts.logger.error(`💥 Fatal ${kind}: ${describe(err)} — exiting (PM2 restarts the service)`, {
        err: err instanceof Error ? err : { value: describe(err) },
      });
    } catch {
      // the logger itself is broken; the breadcrumb already says what happened
    }
    try {
      opts.halt(reason);
    } catch (haltErr) {
      process.stderr.write(`could not halt the service's work: ${String(haltErr)}\n`);
    }
    const budget = opts.flushBudgetMs ?? 1_000;
    // Hard stop even if the flush or the logger hang (unref'd: it must not be what keeps us alive). A raw timer on
    // purpose: the last resort exit of a broken process depends on nothing the process built.
    const hardStop = setTimeout(() => exit(ExitCode.Crash), budget + 500);
    hardStop.unref();
    void opts
      .flushStores(budget)
      .catch(() => undefined)
      .then(() => closeLogger(opts.logger))
      .finally(() => exit(ExitCode.Crash));
  };

  const onException = (err: unknown): void => onFatal('uncaughtException', err);
  const onRejection = (err: unknown): void => onFatal('unhandledRejection', err);
  proc.on('uncaughtException', onException);
  proc.on('unhandledRejection', onRejection);
  return () => {
    proc.off('uncaughtException', onException);
    proc.off('unhandledRejection', onRejection);
  };
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  try {
    return typeof err === 'string' ? err : JSON.stringify(err);
  } catch {
    return String(err);
  }
}
