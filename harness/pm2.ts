/**
 * A real PM2 daemon in a temporary PM2_HOME, for integration tests. Every harness kills its own daemon in
 * `stop()` (pm2 kill on its own home only) and removes its temp dirs.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const REPO_ROOT = path.resolve(__dirname, '../..');
/** The daemon bundles PM2 runs (ecosystem.config.js; built by scripts/bundle.ts): tests run what ships. */
export const DAEMON_SCRIPTS = {
  trading: path.join(REPO_ROOT, 'dist/daemons/trading.js'),
  telegram: path.join(REPO_ROOT, 'dist/daemons/telegram.js'),
};
/**
 * The same daemons with test-only faults available (crash points, exchange faults, SIGUSR2 busy loop), bundled apart
 * from what ships (harness/daemons/).
 */
export const TEST_DAEMON_SCRIPTS = {
  trading: path.join(REPO_ROOT, 'dist/test-daemons/trading.js'),
};
const PM2_BIN = path.join(REPO_ROOT, 'node_modules/pm2/bin/pm2');

export interface Pm2ProcessInfo {
  name: string;
  pid: number;
  pm_id: number;
  status: string;
  restarts: number;
  unstableRestarts: number;
  exitCode?: number;
  uptime?: number;
}

export class Pm2Harness {
  readonly home: string;
  /** A scratch dir for the test: data/ and logs/ live under it by default. */
  readonly root: string;
  readonly dataDir: string;
  readonly logDir: string;

  private constructor(root: string) {
    this.root = root;
    this.home = path.join(root, 'pm2');
    this.dataDir = path.join(root, 'data');
    this.logDir = path.join(root, 'logs');
    for (const d of [this.home, this.dataDir, this.logDir]) fs.mkdirSync(d, { recursive: true });
  }

  static create(prefix = 'byninja-pm2-'): Pm2Harness {
    // Short path: PM2 puts unix sockets in PM2_HOME and socket paths are limited to ~107 bytes.
    const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    return new Pm2Harness(root);
  }

  /** Environment for pm2 CLI calls and the apps it starts (they inherit it). */
  env(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PM2_HOME: this.home,
      BYNINJA_DATA_DIR: this.dataDir,
      BYNINJA_LOG_DIR: this.logDir,
      // No .env file of the developer may leak into a test.
      BYNINJA_ENV_FILE: path.join(this.root, '.env'),
      // the default HTTP ports are one per machine: tests that are about /health and /metrics pick free ones
      BYNINJA__HTTP__ENABLED: 'false',
      ...extra,
    };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
    return env;
  }

  async pm2(args: string[], extraEnv: Record<string, string | undefined> = {}): Promise<string> {
    const { stdout } = await execFileAsync(process.execPath, [PM2_BIN, ...args], {
      env: this.env(extraEnv),
      cwd: REPO_ROOT,
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  }

  /** Starts a script as a PM2 app with ByNinja's PM2 options (those of ecosystem.config.js). */
  async startScript(
    name: string,
    script: string,
    opts: { env?: Record<string, string | undefined>; args?: string[]; pm2Args?: string[] } = {},
  ): Promise<void> {
    const args = [
      'start',
      script,
      '--name',
      name,
      '--no-pmx',
      '--kill-timeout',
      '8000',
      '--wait-ready',
      '--listen-timeout',
      '20000',
      '--exp-backoff-restart-delay',
      '100',
      '--stop-exit-codes',
      '78',
      '--output',
      path.join(this.logDir, `${name}.out.log`),
      '--error',
      path.join(this.logDir, `${name}.err.log`),
      '--merge-logs',
      ...(opts.pm2Args ?? []),
    ];
    if (opts.args?.length) args.push('--', ...opts.args);
    await this.pm2(args, opts.env);
  }

  /**
   * Starts the real ecosystem file (both apps) with this harness's env. `tradingScript` swaps only trading's script
   * (e.g. the test daemon with faults), every other option staying the ecosystem's own.
   */
  async startEcosystem(
    env: Record<string, string | undefined> = {},
    only?: string,
    opts: { tradingScript?: string } = {},
  ): Promise<void> {
    let file = path.join(REPO_ROOT, 'ecosystem.config.js');
    if (opts.tradingScript) {
      const swapped = path.join(this.root, 'ecosystem.test.config.js');
      fs.writeFileSync(
        swapped,
        `const eco = require(${JSON.stringify(file)});
` +
          `eco.apps.find((a) => a.name === 'trading').script = ${JSON.stringify(opts.tradingScript)};
` +
          `module.exports = eco;
`,
      );
      file = swapped;
    }
    const args = ['start', file];
    if (only) args.push('--only', only);
    await this.pm2(args, env);
  }

  async list(): Promise<Pm2ProcessInfo[]> {
    const out = await this.pm2(['jlist']);
    const start = out.indexOf('[');
    const raw = JSON.parse(out.slice(start)) as Array<{
      name: string;
      pid: number;
      pm_id: number;
      pm2_env: {
        status: string;
        restart_time: number;
        unstable_restarts: number;
        exit_code?: number;
        pm_uptime?: number;
      };
    }>;
    return raw.map((p) => ({
      name: p.name,
      pid: p.pid,
      pm_id: p.pm_id,
      status: p.pm2_env.status,
      restarts: p.pm2_env.restart_time,
      unstableRestarts: p.pm2_env.unstable_restarts,
      exitCode: p.pm2_env.exit_code,
      uptime: p.pm2_env.pm_uptime,
    }));
  }

  async info(name: string): Promise<Pm2ProcessInfo | undefined> {
    return (await this.list()).find((p) => p.name === name);
  }

  /** Polls until `predicate` holds for the app (or throws after timeoutMs with the last seen state). */
  async waitFor(
    name: string,
    predicate: (p: Pm2ProcessInfo) => boolean,
    timeoutMs = 30_000,
    what = 'condition',
  ): Promise<Pm2ProcessInfo> {
    const deadline = Date.now() + timeoutMs;
    let last: Pm2ProcessInfo | undefined;
    while (Date.now() < deadline) {
      last = await this.info(name);
      if (last && predicate(last)) return last;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`timed out waiting for ${name}: ${what}; last state ${JSON.stringify(last)}`);
  }

  readLog(file: string): string {
    const p = path.join(this.logDir, file);
    return fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : '';
  }

  /** Kills this harness's PM2 daemon (and its apps) and removes the temp dirs. */
  async stop(opts: { keepFiles?: boolean } = {}): Promise<void> {
    try {
      await this.pm2(['kill']);
    } catch {
      // daemon never started or already gone
    }
    if (!opts.keepFiles) fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** Polls an async predicate until true. */
export async function eventually<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
  what = 'condition',
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`,
  );
}
