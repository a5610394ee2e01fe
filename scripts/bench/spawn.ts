/** Child-process timing primitives shared by the shutdown, start-time and RSS benchmarks. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { nowMs } from './stats';

/** Spawn → exit of `node <args>`, ms; rejects on a non-zero exit. */
export function timeNode(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  cwd?: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    const child = spawn(process.execPath, args, { env, cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve(nowMs() - t0)
        : reject(new Error(`node ${args.join(' ')} exited ${code}: ${err.slice(-500)}`)),
    );
  });
}

export interface ReadyChild {
  child: ChildProcess;
  /** Spawn → process.send('ready'), ms. */
  readyMs: number;
  output: () => string;
}

/** Spawns `node script` with an IPC channel (as PM2 does) and resolves when it sends 'ready'. */
export function spawnReady(
  script: string,
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
  cwd?: string,
): Promise<ReadyChild> {
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    const child = spawn(process.execPath, [script], { env, cwd, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} not ready within ${timeoutMs} ms: ${out.slice(-1500)}`));
    }, timeoutMs);
    child.on('message', (m) => {
      if (m !== 'ready') return;
      clearTimeout(timer);
      resolve({ child, readyMs: nowMs() - t0, output: () => out });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code ?? signal}) before ready: ${out.slice(-1500)}`));
    });
  });
}

/** Sends `signal` and resolves with (signal → exit ms, exit code). */
export function timeSignalToExit(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGINT',
  timeoutMs = 15_000,
): Promise<{ ms: number; code: number | null }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no exit within ${timeoutMs} ms of ${signal}`));
    }, timeoutMs);
    let t0 = 0;
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ ms: nowMs() - t0, code });
    });
    t0 = nowMs();
    child.kill(signal);
  });
}

/** Resident set size of a live process from /proc, bytes (Linux); undefined elsewhere or when it is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Peak RSS of `node -e <code>` measured just before it would exit, bytes. */
export function rssOfNode(code: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const wrapped = `${code};\nsetTimeout(() => process.stdout.write(String(process.memoryUsage().rss)), 300);`;
    const child = spawn(process.execPath, ['-e', wrapped], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', () => resolve(Number(out) || undefined));
    child.once('error', () => resolve(undefined));
  });
}
