/**
 * Equity charts drawn in a child process (chart-child.ts), never in telegram itself: Skia's native code and its
 * ~110 MiB stay out of the supervisor's memory, a crash of the renderer cannot take the supervisor down, and a
 * 100–400 ms draw never blocks the event loop that sends alerts. One chart at a time; a few more may wait their
 * turn, beyond that a request is refused at once (a /pnl flood must not queue renderers without end).
 *
 * The child gets no environment (it needs none, and secrets stay in this process), the report on stdin, and must
 * answer a PNG on stdout within `timeoutMs`, else it is killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Clock } from '../../shared/clock';
import type { PnlReport } from '../../shared/ipc/protocol';

export interface ChartRenderer {
  equityPng(report: PnlReport): Promise<Buffer>;
}

export interface ChartProcessOptions {
  clock: Clock;
  /** The child's script (default chart-child.js beside this file: dist/daemons in the bundle). */
  script?: string;
  /** Longest draw before the child is killed (default 30 s). */
  timeoutMs?: number;
  /** Requests allowed to wait while one draws (default 3). */
  maxWaiting?: number;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** A 960×540 chart is ~50–150 KiB: anything this large is not one. */
const MAX_PNG_BYTES = 16 * 1024 * 1024;
const MAX_STDERR_BYTES = 4 * 1024;

export class ChartProcess implements ChartRenderer {
  private readonly clock: Clock;
  private readonly script: string;
  private readonly timeoutMs: number;
  private readonly maxWaiting: number;
  private chain: Promise<unknown> = Promise.resolve();
  private pending = 0;
  private current: ChildProcess | undefined;
  private closed = false;

  constructor(opts: ChartProcessOptions) {
    this.clock = opts.clock;
    this.script = opts.script ?? path.join(__dirname, 'chart-child.js');
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.maxWaiting = opts.maxWaiting ?? 3;
  }

  equityPng(report: PnlReport): Promise<Buffer> {
    // the one drawing plus those waiting their turn
    if (this.pending >= 1 + this.maxWaiting)
      return Promise.reject(new Error('busy drawing other charts: ask again in a minute'));
    this.pending += 1;
    const run = this.chain
      .then(() => this.draw(JSON.stringify(report)))
      .finally(() => {
        this.pending -= 1;
      });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Stops: the chart being drawn is killed (its request refused), no new one starts. */
  close(): void {
    this.closed = true;
    this.current?.kill('SIGKILL');
  }

  private draw(input: string): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      if (this.closed) return reject(new Error('telegram is stopping'));
      // the child's own deadline is a little later than ours: it ends by itself if this process died first
      const child = spawn(process.execPath, [this.script, String(this.timeoutMs + 5_000)], {
        env: {},
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      this.current = child;
      const out: Buffer[] = [];
      let outBytes = 0;
      let err = '';
      let failure: string | undefined;
      const fail = (why: string): void => {
        failure ??= why;
        child.kill('SIGKILL');
      };
      const cancelTimer = this.clock.timer(this.timeoutMs, () =>
        fail(`the chart took longer than ${this.timeoutMs} ms`),
      );
      child.stdout.on('data', (c: Buffer) => {
        outBytes += c.length;
        if (outBytes > MAX_PNG_BYTES) return fail('the chart process wrote more than a chart');
        out.push(c);
      });
      child.stderr.on('data', (c: Buffer) => {
        if (err.length < MAX_STDERR_BYTES) err += c.toString('utf8');
      });
      // a child that died before reading its input: the exit says why
      child.stdin.on('error', () => undefined);
      child.on('error', (e) => fail(`the chart process could not start: ${e.message}`));
      child.on('close', (code, signal) => {
        cancelTimer();
        this.current = undefined;
        const png = Buffer.concat(out);
        if (failure) return reject(new Error(failure));
        if (code !== 0) {
          const why =
            err.trim().split('\n')[0]?.slice(0, 300) || (signal ? `killed by ${signal}` : `exit ${code}`);
          return reject(new Error(`the chart process failed: ${why}`));
        }
        if (!png.subarray(0, 8).equals(PNG_SIGNATURE))
          return reject(new Error('the chart process answered something that is not a PNG'));
        resolve(png);
      });
      child.stdin.end(input);
    });
  }
}
