/**
 * Keeps PM2's own out/err files of this process bounded. PM2 tells the app where they are
 * (`pm_out_log_path` / `pm_err_log_path` in its environment); every `checkEveryMs` the service looks at their
 * size and, above `maxBytes`, copies the file to `<file>.1` (older generations shift up, `keep` are kept) and
 * truncates it in place. PM2 opens these files with O_APPEND, so after the truncation its next write lands at
 * the new end of file — no restart, no reopen. Lines PM2 appends between the copy and the truncation (a few
 * microseconds) can be lost; that is the price of copy-truncate and acceptable for console logs (the JSON log
 * keeps everything).
 *
 * Chosen over pm2-logrotate, which is a PM2 module that installs a second pm2 and @pm2/io as dependencies.
 */
import fs from 'node:fs';
import type { CancelTimer, Clock } from '../clock';
import type { Logger } from './logger';
import { pruneGenerations, shiftGenerations } from './rotate-files';

export interface Pm2LogRotationOptions {
  /** Files to watch (see pm2LogFilesFromEnv). */
  files: string[];
  /** Size above which a file is rotated. */
  maxBytes: number;
  /** Rotated generations kept per file. */
  keep: number;
  /** Check interval (default 10 s). */
  checkEveryMs?: number;
  /** Arms the periodic check (the service's clock). */
  clock: Clock;
  logger?: Logger;
}

/** PM2's out/err paths of this process, or none when not run by PM2 (or when PM2 discards the output). */
export function pm2LogFilesFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const files = [env.pm_out_log_path, env.pm_err_log_path, env.pm_log_path].filter(
    (f): f is string => typeof f === 'string' && f.length > 0 && f !== '/dev/null' && f !== 'NULL',
  );
  return [...new Set(files)];
}

export class Pm2LogRotation {
  private cancelTimer: CancelTimer | null = null;
  private readonly warned = new Set<string>();

  constructor(private readonly opts: Pm2LogRotationOptions) {}

  /**
   * Starts the periodic check, on the clock: once at once, then `checkEveryMs` after each check ends. Its timer is
   * unref'd: housekeeping never keeps the process alive.
   */
  start(): this {
    if (this.cancelTimer || this.opts.files.length === 0) return this;
    // PM2 creates these files with its umask (0644 by default): they hold orders, equity and chat ids
    for (const file of this.opts.files) this.makePrivate(file);
    this.checkNow();
    this.armNextCheck();
    return this;
  }

  stop(): void {
    this.cancelTimer?.();
    this.cancelTimer = null;
  }

  private armNextCheck(): void {
    this.cancelTimer = this.opts.clock.timer(
      this.opts.checkEveryMs ?? 10_000,
      () => {
        this.checkNow();
        this.armNextCheck();
      },
      { unref: true },
    );
  }

  /** Rotates every watched file above maxBytes; returns the files rotated. Never throws. */
  checkNow(): string[] {
    const rotated: string[] = [];
    for (const file of this.opts.files) {
      try {
        if (fs.statSync(file).size <= this.opts.maxBytes) continue;
        shiftGenerations(file, this.opts.keep);
        pruneGenerations(file, this.opts.keep);
        fs.copyFileSync(file, `${file}.1`);
        fs.chmodSync(`${file}.1`, 0o600);
        fs.truncateSync(file, 0);
        rotated.push(file);
        this.warned.delete(file);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || this.warned.has(file)) continue;
        this.warned.add(file);
        this.opts.logger?.warn(`cannot rotate PM2 log file ${file}: ${(err as Error).message}`);
      }
    }
    return rotated;
  }

  private makePrivate(file: string): void {
    for (const f of [file, ...Array.from({ length: this.opts.keep }, (_, i) => `${file}.${i + 1}`)]) {
      try {
        if ((fs.statSync(f).mode & 0o077) !== 0) fs.chmodSync(f, 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
          this.opts.logger?.warn(`cannot make PM2 log file ${f} private: ${(err as Error).message}`);
      }
    }
  }
}
