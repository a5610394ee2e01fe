/** A compiled fixture from test/fixtures/persistence run as a real child process, read line by line. */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { buildSync } from 'esbuild';
import { exitedWithOutput } from './child-exit';

export function fixturePath(name: string): string {
  // __dirname is dist/test/support once compiled.
  return path.join(__dirname, '..', 'fixtures', 'persistence', `${name}.js`);
}

/**
 * The fixture bundled into one file in a fresh directory anyone can read, for a run as another user (`nobody`):
 * the checkout may sit under a directory only its owner can enter (a clone in root's home), so such a process
 * must not read anything from it. Its modules and dependencies are all in the bundle; node itself is the system's.
 */
export function readableFixture(name: string): { file: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-fixture-'));
  fs.chmodSync(dir, 0o755);
  const file = path.join(dir, `${name}.js`);
  buildSync({
    entryPoints: [fixturePath(name)],
    outfile: file,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'error',
  });
  fs.chmodSync(file, 0o644);
  return { file, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export class FixtureProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  /** Resolves when the process has exited and its stdout and stderr have been fully read. */
  readonly finished: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: Array<() => void> = [];

  /** `script`: run this file instead of the compiled fixture (a readableFixture() bundle). */
  constructor(fixture: string, args: string[], options: SpawnOptions & { script?: string } = {}) {
    const { script, ...spawnOptions } = options;
    this.child = spawn(process.execPath, [script ?? fixturePath(fixture), ...args], {
      ...spawnOptions,
      // a process of another user must not start in a directory it may not enter
      ...(spawnOptions.uid !== undefined && spawnOptions.cwd === undefined ? { cwd: os.tmpdir() } : {}),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out = readline.createInterface({ input: this.child.stdout! });
    out.on('line', (line) => {
      this.lines.push(line);
      for (const w of this.waiters.splice(0)) w();
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    const outClosed = new Promise<void>((resolve) => out.once('close', () => resolve()));
    const exited = exitedWithOutput(this.child);
    this.finished = Promise.all([exited, outClosed]).then(([r]) => {
      for (const w of this.waiters.splice(0)) w();
      return r;
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits for the first line at index ≥ `fromIndex` (already seen or future) matching `predicate`. */
  async waitForLine(
    predicate: (line: string) => boolean,
    timeoutMs = 10_000,
    fromIndex = 0,
  ): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.slice(Math.max(0, fromIndex)).find(predicate);
      if (found !== undefined) return found;
      if (!this.running && this.child.stdout!.readableEnded) {
        throw new Error(
          `fixture exited without the expected line; stdout=${this.lines.join('|')} stderr=${this.stderr}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`timed out waiting for a line; stdout=${this.lines.join('|')} stderr=${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  send(line: string): void {
    this.child.stdin!.write(line + '\n');
  }

  /** Kills the process if it still runs and waits for its end. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.running) this.child.kill(signal);
    await this.finished;
  }
}
