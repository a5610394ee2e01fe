/**
 * Event-loop watchdog. The main thread bumps a counter in a SharedArrayBuffer every `beatMs` (an unref'd timer)
 * and writes its latest `activity()` text there too; a worker thread — which keeps running when the main
 * event loop is stuck — checks that the counter moves. With no progress for `stallMs` (lifecycle.watchdogStallMs,
 * default 10 s) the worker writes the `stall` breadcrumb (reason, time, last activity) synchronously and
 * SIGKILLs the process; PM2 restarts it and the next boot reports why the last run ended.
 *
 * While the main thread makes progress the worker also touches `aliveFile` (utimes) every `aliveEveryMs`: the run's
 * last sign of life, which dates a kill that left no breadcrumb (last-exit.ts). Off the main thread, no fsync.
 *
 * SIGKILL rather than a graceful exit: a stuck main thread cannot run a shutdown, and its state is whatever the
 * last durable commit left — which is exactly what the next boot recovers from.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../logging/logger';

/** Layout of the shared buffer (Int32 slots, then the activity text bytes). */
export const SLOT = { beat: 0, activityLength: 1, activityVersion: 2 } as const;
export const HEADER_BYTES = 16;
export const ACTIVITY_BYTES = 512;

export interface WatchdogOptions {
  /** No main-thread progress for this long = stall (default 10 000 ms). */
  stallMs: number;
  /** The breadcrumb file written on a stall. */
  breadcrumbFile: string;
  /** Identity of this run, written into the breadcrumb. */
  startedAt: number;
  /** Heartbeat period of the main thread (default 250 ms). */
  beatMs?: number;
  /** Touched every `aliveEveryMs` while the main thread makes progress (last-exit.ts alivePath). */
  aliveFile?: string;
  aliveEveryMs?: number;
  logger?: Logger;
}

export interface WatchdogWorkerData {
  sab: SharedArrayBuffer;
  stallMs: number;
  checkMs: number;
  breadcrumbFile: string;
  pid: number;
  startedAt: number;
  aliveFile?: string;
  aliveEveryMs: number;
}

export class Watchdog {
  private readonly ints: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly encoder = new TextEncoder();
  private readonly worker: Worker;
  private readonly timer: NodeJS.Timeout;
  /**
   * Settles once the worker thread runs (its V8 isolate exists) or failed to start. V8's memory settings wait for it
   * (service.ts): creating an isolate puts --semi-space-growth-factor back to 2 for the whole process (heap-settings.ts).
   */
  readonly online: Promise<void>;
  private stopped = false;

  private constructor(opts: WatchdogOptions) {
    const sab = new SharedArrayBuffer(HEADER_BYTES + ACTIVITY_BYTES);
    this.ints = new Int32Array(sab, 0, HEADER_BYTES / 4);
    this.bytes = new Uint8Array(sab, HEADER_BYTES, ACTIVITY_BYTES);
    const beatMs = opts.beatMs ?? 250;
    const data: WatchdogWorkerData = {
      sab,
      stallMs: opts.stallMs,
      checkMs: Math.max(50, Math.min(beatMs, Math.floor(opts.stallMs / 4))),
      breadcrumbFile: opts.breadcrumbFile,
      pid: process.pid,
      startedAt: opts.startedAt,
      ...(opts.aliveFile ? { aliveFile: opts.aliveFile } : {}),
      aliveEveryMs: opts.aliveEveryMs ?? 2_000,
    };
    // Its stdout and stderr are not relayed (stdout/stderr: true, never read): it writes its lines to fd 2 itself,
    // because the main thread that would relay them is the one that is stuck. Relaying set up two streams piped into
    // the main thread's: ~1.5 ms of main-thread CPU of every start (median of 8 fresh processes, 3.3 → 1.9 ms).
    this.worker = new Worker(path.join(__dirname, 'watchdog-worker.js'), {
      workerData: data,
      stdout: true,
      stderr: true,
    });
    this.online = new Promise<void>((resolve) => {
      for (const event of ['online', 'error', 'exit']) this.worker.once(event, () => resolve());
    });
    // The watchdog never keeps the process alive, and its own failure must not crash the service.
    this.worker.unref();
    this.worker.on('error', (err) =>
      opts.logger?.error('event-loop watchdog failed; running without it', { err }),
    );
    this.timer = setInterval(() => Atomics.add(this.ints, SLOT.beat, 1), beatMs);
    this.timer.unref();
  }

  static start(opts: WatchdogOptions): Watchdog {
    return new Watchdog(opts);
  }

  /** Records what the main thread is doing now (cheap: a copy into shared memory, no message). */
  activity(what: string): void {
    // Seqlock: an odd version means "being written"; the worker re-reads until it sees a stable even version.
    Atomics.add(this.ints, SLOT.activityVersion, 1);
    const { written } = this.encoder.encodeInto(what.slice(0, ACTIVITY_BYTES), this.bytes);
    Atomics.store(this.ints, SLOT.activityLength, written ?? 0);
    Atomics.add(this.ints, SLOT.activityVersion, 1);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    await this.worker.terminate();
  }
}
