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
import { TelegramEmulator } from '../../harness/telegram-emulator';
import { Tmpfs } from '../../harness/tmpfs';
import { TEST_DAEMON_SCRIPTS } from '../../harness/pm2';
import { Pm2Session } from './pm2-session';
import { TradingProbe } from '../../harness/trading-probe';

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
  /**
   * Put the data dir (BYNINJA_DATA_DIR, both daemons' state) on a small tmpfs that disk faults can fill or make
   * read-only. When mounting is not allowed here, `diskUnavailable` says why and the data dir stays a plain dir.
   */
  diskFaults?: boolean;
  /** Run the trading bundle that ships (no test faults) instead of the test daemon: for runs about what ships. */
  shippedTrading?: boolean;
}

/** Size of the data dir's tmpfs: ample for a run's state files, small enough to fill in a moment. */
export const DATA_TMPFS_MIB = 64;

/**
 * Unmounts the data dir's tmpfs; with `keepFiles`, its files are copied out first and put back in the (then
 * plain) data dir, so `--keep` still leaves them for inspection.
 */
function unmountDataDir(disk: Tmpfs, keepFiles: boolean): void {
  if (!disk.mounted()) return;
  let saved: string | undefined;
  try {
    if (disk.readOnlyMode) disk.readOnly(false);
    disk.free();
    if (keepFiles) {
      saved = fs.mkdtempSync(path.join(path.dirname(disk.dir), 'data-kept-'));
      fs.cpSync(disk.dir, saved, { recursive: true });
    }
  } finally {
    disk.unmount();
  }
  if (saved) {
    fs.cpSync(saved, disk.dir, { recursive: true });
    fs.rmSync(saved, { recursive: true, force: true });
  }
}

/** Configuration the chaos run and the benchmarks share: a fast market and a short watchdog. */
export const FAST_PAIR_ENV: Record<string, string> = {
  BYNINJA_LOG_LEVEL: 'info',
  BYNINJA__TRADING__PAPER__CANDLE_MS: '200',
  BYNINJA__TRADING__TICK_INTERVAL_MS: '200',
  BYNINJA__LIFECYCLE__WATCHDOG_STALL_MS: '1500',
};

export class ChaosCluster {
  readonly ipcPort: number;
  readonly ipcToken: string;
  /** The data dir's tmpfs when disk faults were asked for and mounting worked. */
  disk?: Tmpfs;
  /** Why disk faults were asked for but cannot be injected (no tmpfs here). */
  diskUnavailable?: string;

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

  /**
   * The paper exchange's own dir (trading.paper.dataDir), off the data dir: the account file stands for a remote
   * exchange, which does not lose orders when the bot's disk is full.
   */
  get paperDir(): string {
    return path.join(this.pm2.harness.root, 'exchange');
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
      const paperDir = path.join(pm2.harness.root, 'exchange');
      fs.mkdirSync(paperDir, { recursive: true });
      const env: Record<string, string> = {
        ...FAST_PAIR_ENV,
        BYNINJA__TRADING__PAPER__DATA_DIR: paperDir,
        BYNINJA_IPC_PORT: String(ipcPort),
        TELEGRAM_CHAT_ID: ALERT_CHAT_ID,
        TELEGRAM_ALLOWED_CHAT_IDS: ALERT_CHAT_ID,
        TELEGRAM_API_ROOT: telegram.apiRoot,
        ...opts.env,
      };
      const cluster = new ChaosCluster(pm2, telegram, ipcPort, ipcToken, env);
      if (opts.diskFaults) {
        // before the apps start: their state must be created on the tmpfs (logs stay in harness.logDir, off it)
        const why: { reason?: string } = {};
        const disk = Tmpfs.mount(DATA_TMPFS_MIB, why, { at: pm2.harness.dataDir });
        if (disk) {
          cluster.disk = disk;
          pm2.onCleanup((keepFiles) => unmountDataDir(disk, keepFiles));
        } else cluster.diskUnavailable = why.reason ?? 'cannot mount a tmpfs here';
      }
      // the test daemon: the shipped trading with the chaos faults available (stalls, exchange faults)
      await pm2.harness.startEcosystem(
        env,
        opts.only,
        opts.shippedTrading ? {} : { tradingScript: TEST_DAEMON_SCRIPTS.trading },
      );
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
