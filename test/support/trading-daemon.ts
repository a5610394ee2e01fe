/**
 * The compiled trading daemon as a child process on the paper market (no PM2), for tests about what it does at
 * start with the files it finds (state, modes) and what leaves it (logs, TCP answers, events).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { DAEMON_SCRIPTS } from '../../harness/pm2';
import { exitedWithOutput } from './child-exit';

export const TRADING_TEST_TOKEN = 'security-test-token-0123456789abcdef';

/** A clean environment for a daemon under `root` (nothing of the developer's BYNINJA_/EXCHANGE_/TELEGRAM_ vars). */
export function daemonEnv(root: string, port: number, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(BYNINJA|PM2|EXCHANGE_|TELEGRAM_)/.test(k)) env[k] = v;
  }
  return {
    ...env,
    BYNINJA_ENV_FILE: path.join(root, '.env'),
    BYNINJA_DATA_DIR: path.join(root, 'data'),
    BYNINJA_LOG_DIR: path.join(root, 'logs'),
    BYNINJA_IPC_PORT: String(port),
    BYNINJA_IPC_TOKEN: TRADING_TEST_TOKEN,
    BYNINJA__APP__BOT_ID: 'sec',
    BYNINJA__TRADING__PAPER__CANDLE_MS: '200',
    BYNINJA__TRADING__TICK_INTERVAL_MS: '100',
    BYNINJA__HTTP__ENABLED: 'false',
    ...extra,
  };
}

export class TradingDaemon {
  readonly output: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves on `ready`; rejects when the process exits first. */
  readonly ready: Promise<void>;
  private readonly child: ChildProcess;

  /** `script`: the shipped daemon by default; the test daemon (crash points, faults) for TradingProcess. */
  constructor(root: string, env: NodeJS.ProcessEnv, script: string = DAEMON_SCRIPTS.trading) {
    this.child = spawn(process.execPath, [script], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.child.stdout!.on('data', (b: Buffer) => this.output.push(b.toString()));
    this.child.stderr!.on('data', (b: Buffer) => this.output.push(b.toString()));
    this.exited = exitedWithOutput(this.child);
    this.ready = new Promise((resolve, reject) => {
      this.child.on('message', (m) => m === 'ready' && resolve());
      void this.exited.then((e) =>
        reject(new Error(`trading exited before ready: ${JSON.stringify(e)}\n${this.log()}`)),
      );
    });
    this.ready.catch(() => undefined);
  }

  log(): string {
    return this.output.join('');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 8000);
    await this.exited;
    clearTimeout(timer);
  }
}
