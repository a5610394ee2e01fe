/**
 * The trading test daemon (the shipped composition with test-only crash points and faults available, bundled like
 * the daemon PM2 runs: test/fixtures/daemons/trading.ts) as a child process on a fast paper market by default: for
 * tests that kill it, restart it and read what it left on disk. `env` overrides anything.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { CrashStep } from './faults/crash-points';
import { TEST_DAEMON_SCRIPTS } from './pm2';

const MAIN = TEST_DAEMON_SCRIPTS.trading;
/** The IPC token every TradingProcess uses. */
export const TRADING_PROCESS_TOKEN = 'crash-test-token-0123456789abcdef';

export class TradingProcess {
  readonly output: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly ready: Promise<void>;
  private readonly child: ChildProcess;

  constructor(root: string, port: number, crashAt?: CrashStep, extraEnv: NodeJS.ProcessEnv = {}) {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (
        !k.startsWith('BYNINJA') &&
        !k.startsWith('PM2') &&
        !k.startsWith('EXCHANGE_') &&
        !k.startsWith('TELEGRAM_')
      )
        env[k] = v;
    }
    Object.assign(env, {
      BYNINJA_DATA_DIR: path.join(root, 'data'),
      BYNINJA_LOG_DIR: path.join(root, 'logs'),
      BYNINJA_IPC_PORT: String(port),
      BYNINJA_IPC_TOKEN: TRADING_PROCESS_TOKEN,
      BYNINJA__APP__BOT_ID: 'crash',
      BYNINJA__TRADING__PAPER__CANDLE_MS: '100',
      BYNINJA__TRADING__TICK_INTERVAL_MS: '50',
      // a strategy that trades at once, in and out: every crash step is reached within a second
      BYNINJA__TRADING__STRATEGY__NAME: 'rsi-mean-reversion',
      BYNINJA__TRADING__STRATEGY__RSI_MEAN_REVERSION__PERIOD: '3',
      BYNINJA__TRADING__STRATEGY__RSI_MEAN_REVERSION__OVERSOLD: '55',
      BYNINJA__TRADING__STRATEGY__RSI_MEAN_REVERSION__OVERBOUGHT: '56',
      BYNINJA__TRADING__ORDERS__UNKNOWN_NOT_FOUND_WINDOW_MS: '300',
      BYNINJA_LOG_LEVEL: 'info',
      BYNINJA__HTTP__ENABLED: 'false',
    });
    if (crashAt) env.BYNINJA_TEST_CRASH_AT = crashAt;
    Object.assign(env, extraEnv);
    this.child = spawn(process.execPath, [MAIN], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.child.stdout!.on('data', (b: Buffer) => this.output.push(b.toString()));
    this.child.stderr!.on('data', (b: Buffer) => this.output.push(b.toString()));
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    this.ready = new Promise((resolve, reject) => {
      this.child.on('message', (m) => m === 'ready' && resolve());
      void this.exited.then((e) =>
        reject(new Error(`trading exited before ready: ${JSON.stringify(e)}\n${this.log()}`)),
      );
    });
  }

  log(): string {
    return this.output.join('').slice(-4000);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 8000);
    await this.exited;
    clearTimeout(timer);
  }
}
