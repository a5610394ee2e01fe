/**
 * The real ByNinja pair (ecosystem.config.js) under PM2 in a temporary PM2_HOME, with a local Telegram Bot API
 * emulator and the paper exchange on a fast simulated market. Secrets (bot token, IPC token) go through a
 * temporary .env file (BYNINJA_ENV_FILE): the ecosystem's filter_env keeps them out of PM2's env, as in production.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { RpcMethod, RpcParams, RpcResult, TradingStatus } from '../../src/shared/ipc/protocol';
import { TelegramEmulator } from '../../test/support/telegram-emulator';
import { Pm2Session } from './pm2-session';
import { TradingProbe } from './trading-probe';

export const ALERT_CHAT_ID = '424242';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface ClusterOptions {
  /** Extra environment for both apps (config overlay variables). */
  env?: Record<string, string>;
  /** Start only these apps (default both). */
  only?: 'trading' | 'telegram';
  prefix?: string;
}

/** Configuration the chaos run and the benchmarks share: a fast market and a short watchdog. */
export const FAST_PAIR_ENV: Record<string, string> = {
  BYNINJA_TEST_HOOKS: '1',
  BYNINJA_LOG_LEVEL: 'info',
  BYNINJA__TRADING__PAPER__CANDLE_MS: '200',
  BYNINJA__TRADING__TICK_INTERVAL_MS: '200',
  BYNINJA__LIFECYCLE__WATCHDOG_STALL_MS: '1500',
};

export class ChaosCluster {
  readonly ipcPort: number;
  readonly ipcToken: string;

  private constructor(
    readonly pm2: Pm2Session,
    readonly telegram: TelegramEmulator,
    ipcPort: number,
    ipcToken: string,
    readonly env: Record<string, string>,
  ) {
    this.ipcPort = ipcPort;
    this.ipcToken = ipcToken;
    this.probe = new TradingProbe(ipcPort, ipcToken);
  }

  get dataDir(): string {
    return this.pm2.harness.dataDir;
  }

  get logDir(): string {
    return this.pm2.harness.logDir;
  }

  static async start(opts: ClusterOptions = {}): Promise<ChaosCluster> {
    const telegram = await TelegramEmulator.start();
    let pm2: Pm2Session | undefined;
    try {
      pm2 = await Pm2Session.start(opts.prefix ?? 'byninja-chaos-');
      const ipcPort = await freePort();
      const ipcToken = crypto.randomBytes(32).toString('hex');
      fs.writeFileSync(
        path.join(pm2.harness.root, '.env'),
        `TELEGRAM_BOT_TOKEN=${telegram.token}\nBYNINJA_IPC_TOKEN=${ipcToken}\n`,
        { mode: 0o600 },
      );
      const env: Record<string, string> = {
        ...FAST_PAIR_ENV,
        BYNINJA_IPC_PORT: String(ipcPort),
        TELEGRAM_CHAT_ID: ALERT_CHAT_ID,
        TELEGRAM_ALLOWED_CHAT_IDS: ALERT_CHAT_ID,
        TELEGRAM_API_ROOT: telegram.apiRoot,
        ...opts.env,
      };
      const cluster = new ChaosCluster(pm2, telegram, ipcPort, ipcToken, env);
      await pm2.harness.startEcosystem(env, opts.only);
      return cluster;
    } catch (err) {
      await pm2?.stop().catch(() => undefined);
      await telegram.stop().catch(() => undefined);
      throw err;
    }
  }

  readonly probe: TradingProbe;

  call<M extends RpcMethod>(method: M, params: RpcParams<M>, timeoutMs = 3_000): Promise<RpcResult<M>> {
    return this.probe.call(method, params, timeoutMs);
  }

  /** Waits until trading runs (loopState running or paused), from a process other than `notPid` when given. */
  waitTradingRunning(timeoutMs: number, notPid?: number): Promise<{ status: TradingStatus; at: number }> {
    return this.probe.waitRunning(timeoutMs, notPid);
  }

  async stop(opts: { keepFiles?: boolean } = {}): Promise<void> {
    await this.pm2.stop(opts).catch(() => undefined);
    await this.telegram.stop().catch(() => undefined);
  }
}
