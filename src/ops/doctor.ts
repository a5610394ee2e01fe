/**
 * `byninja doctor` / `npm run doctor`: checks the environment before (or while) the services run and lists every
 * problem with its fix. Errors make `ok` false (exit 1); warnings (PM2 not running yet, Telegram log-only, nobody
 * allowed to command) are reported but do not fail.
 *
 * Runnable on its own (`node dist/src/ops/doctor.js`) so it works before the CLI exists.
 */
import { formatSpan } from '../shared/format-span';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { systemClock, type Clock } from '../shared/clock';
import { loadConfig, type LoadedConfig } from '../shared/config/loader';
import type { SharedConfig, TelegramConfig, TradingConfig } from '../shared/config/schema';
import {
  apiKeyFingerprint,
  ccxtExchangeIds,
  unknownExchangeMessage,
} from '../trading/exchange/ccxt-exchange';
import { verifiedExchangeIds } from '../trading/exchange/profiles';
import type { KeyNotices } from '../trading/engine/exchange-watch/key-limits';
import { readKeyNotices } from '../trading/engine/exchange-watch/key-notice-file';
import { hiddenStatePauseReason } from '../trading/engine/start/hidden-state';
import { STATE_STORE_NAME } from '../trading/engine/state/trading-state';
import { callBotApi, type BotApiAnswer, type BotApiTarget } from './bot-api';
import { describeMovedChat } from './render';
import { movedChats } from '../telegram/notify/chat-moves';
import { OUTBOX_STORE_NAME, OUTBOX_STORE_VERSION, validateOutboxState } from '../telegram/notify/outbox';
import { isEnvelope } from '../shared/persistence/durable-json-adapter';
import { portHolder } from './port-holder';
import { ConfigError, errorMessage } from '../shared/errors';
import { blockedStores } from '../shared/persistence/blocked-marker';
import { readJsonFileSync } from '../shared/persistence/json-file';
import { exposedBits } from '../shared/persistence/private-files';

export interface DoctorCheck {
  name: string;
  /** False = a problem that must be fixed. */
  ok: boolean;
  detail: string;
  fix?: string;
  /** ok but worth knowing (e.g. PM2 not started yet, Telegram in log-only mode). */
  warning?: boolean;
}

export interface DoctorResult {
  checks: DoctorCheck[];
  ok: boolean;
}

export interface DoctorOptions {
  /** The CLI's clock (the standalone run passes systemClock): the API key's end is judged at its now. */
  clock: Clock;
  /** Install root holding dist/ (default: the checkout this file was built from). */
  root?: string;
  /** Base of relative config paths (default process.cwd()). */
  cwd?: string;
  /** Node version to judge (default process.versions.node). */
  nodeVersion?: string;
  /** HTTP client for the Bot API's getMe (default global fetch). */
  fetch?: typeof fetch;
}

const MIN_NODE = [20, 19, 0] as const;
const DEFAULT_ROOT = path.resolve(__dirname, '../../..');

export async function runDoctor(env: NodeJS.ProcessEnv, opts: DoctorOptions): Promise<DoctorResult> {
  const root = opts.root ?? DEFAULT_ROOT;
  const cwd = opts.cwd ?? process.cwd();
  const checks: DoctorCheck[] = [];

  checks.push(checkNode(opts.nodeVersion ?? process.versions.node));
  checks.push(checkBuild(root));

  // Each service validates only its own sections (and the shared ones): check them the way each one will. Every
  // later check reads the configuration of the scope it is about, and is left out when that scope is invalid
  // (the line above says why): one setting never gets a ❌ here and a ✅ there.
  const scoped = {
    trading: loadScope(env, cwd, 'trading'),
    telegram: loadScope(env, cwd, 'telegram'),
  };
  for (const service of ['trading', 'telegram'] as const) {
    const loaded = scoped[service];
    if ('config' in loaded) {
      const { sources: s, config } = loaded;
      const mode = service === 'trading' ? `mode ${(config as TradingConfig).trading.mode}; ` : '';
      checks.push({
        name: `configuration (${service})`,
        ok: true,
        detail: `valid (${mode}file ${s.configFile ?? 'none'}; .env ${s.envFile ?? 'none'})`,
      });
    } else {
      const problems = loaded.problems;
      checks.push({
        name: `configuration (${service})`,
        ok: false,
        detail: `${problems.length} problem${problems.length === 1 ? '' : 's'}: ${service} will not start (exit 78)\n${problems.map((p) => `  - ${p}`).join('\n')}`,
        fix: 'fix each listed setting (.env.example and config.example.json document every field), then `npm start`',
      });
    }
  }
  const shared = loadScope(env, cwd, 'cli');
  const sharedConfig = 'config' in shared ? (shared.config as SharedConfig) : undefined;

  // Directories: from the valid config, else from the environment / defaults so they are still checked.
  const dataDir = sharedConfig?.app.dataDir ?? path.resolve(cwd, env.BYNINJA_DATA_DIR || './data');
  const logDir = sharedConfig?.app.logDir ?? path.resolve(cwd, env.BYNINJA_LOG_DIR || './logs');
  checks.push(checkWritable('data dir', dataDir, 'BYNINJA_DATA_DIR'));
  checks.push(checkWritable('log dir', logDir, 'BYNINJA_LOG_DIR'));
  const envFile =
    ('config' in shared ? shared.sources.envFile : undefined) ??
    path.resolve(cwd, env.BYNINJA_ENV_FILE || '.env');
  checks.push(
    checkPrivate('.env permissions', envFile, 'file', 'it holds the exchange keys and the bot token'),
  );
  checks.push(
    checkPrivate('data dir permissions', dataDir, 'dir', 'it holds orders, positions and the IPC token'),
  );
  checks.push(
    checkPrivate('log dir permissions', logDir, 'dir', 'the logs hold orders, equity and chat ids'),
  );
  checks.push(await checkBlocked(dataDir));
  checks.push(...checkHiddenState(dataDir));
  if (sharedConfig) {
    const { ipc, http } = sharedConfig;
    checks.push(await checkPort('ipc port', ipc.host, ipc.port, dataDir, 'trading', 'BYNINJA_IPC_PORT'));
    if (http.enabled) {
      checks.push(
        await checkPort(
          'http port (trading)',
          http.host,
          http.tradingPort,
          dataDir,
          'trading',
          'http.tradingPort',
        ),
        await checkPort(
          'http port (telegram)',
          http.host,
          http.telegramPort,
          dataDir,
          'telegram',
          'http.telegramPort',
        ),
      );
    }
  }
  if ('config' in scoped.trading) {
    const trading = (scoped.trading.config as TradingConfig).trading;
    checks.push(...checkExchange(trading));
    if (trading.mode === 'live') {
      // what the last run knew of THIS key (a replaced key's end is not this one's)
      const kept = readKeyNotices(dataDir, trading.exchange);
      const own = apiKeyFingerprint(scoped.trading.secrets.exchangeApiKey);
      const key = apiKeyExpiryCheck(kept?.key === own ? kept : undefined, opts.clock.now());
      if (key) checks.push(key);
    }
  }
  checks.push(await checkPm2(env.PM2_HOME || path.join(os.homedir(), '.pm2'), opts.clock));
  const telegram = scoped.telegram;
  if ('config' in telegram) {
    checks.push(
      ...(await checkTelegram(
        (telegram.config as TelegramConfig).telegram,
        telegram.secrets.telegramBotToken,
        opts.fetch ?? fetch,
      )),
      ...checkMovedChats(dataDir, (telegram.config as TelegramConfig).telegram),
    );
  }

  return { checks, ok: checks.every((c) => c.ok) };
}

export function formatDoctorReport(result: DoctorResult): string {
  const lines = result.checks.map((c) => {
    const icon = !c.ok ? '❌' : c.warning ? '⚠️ ' : '✅';
    return `${icon} ${c.name}: ${c.detail}${c.fix ? `\n   fix: ${c.fix}` : ''}`;
  });
  const errors = result.checks.filter((c) => !c.ok).length;
  const warnings = result.checks.filter((c) => c.ok && c.warning).length;
  lines.push(
    result.ok
      ? `\nAll checks passed${warnings ? ` (${warnings} warning${warnings === 1 ? '' : 's'})` : ''}.`
      : `\n${errors} problem${errors === 1 ? '' : 's'} found${warnings ? `, ${warnings} warning${warnings === 1 ? '' : 's'}` : ''}.`,
  );
  return lines.join('\n');
}

function checkNode(version: string): DoctorCheck {
  const parts = version.split('.').map(Number);
  const ok = compare(parts, MIN_NODE) >= 0;
  return {
    name: 'node',
    ok,
    detail: `v${version}${ok ? '' : ` is older than the required v${MIN_NODE.join('.')}`}`,
    fix: ok ? undefined : `install Node.js ≥ ${MIN_NODE.join('.')} (e.g. nvm install 20)`,
  };
}

function compare(a: number[], b: readonly number[]): number {
  for (let i = 0; i < b.length; i++) {
    const d = (a[i] ?? 0) - b[i];
    if (d !== 0) return d;
  }
  return 0;
}

function checkBuild(root: string): DoctorCheck {
  const entries = ['dist/daemons/trading.js', 'dist/daemons/telegram.js'];
  const missing = entries.filter((e) => !fs.existsSync(path.join(root, e)));
  return missing.length === 0
    ? { name: 'build', ok: true, detail: `present (${entries.join(', ')})` }
    : {
        name: 'build',
        ok: false,
        detail: `missing ${missing.join(', ')} under ${root}`,
        fix: 'run npm run build (npm start also builds first)',
      };
}

/** Group/world bits on a file or dir that must be the service user's alone: an error, with the chmod. */
function checkPrivate(name: string, target: string, kind: 'file' | 'dir', why: string): DoctorCheck {
  let exposed: number | null;
  try {
    exposed = exposedBits(target);
  } catch (err) {
    return { name, ok: false, detail: `cannot stat ${target}: ${errorMessage(err)}` };
  }
  if (exposed === null) return { name, ok: true, detail: `${target} does not exist` };
  if (exposed === 0) return { name, ok: true, detail: `${target} is private to its owner` };
  const mode = (fs.statSync(target).mode & 0o777).toString(8);
  return {
    name,
    ok: false,
    detail: `${target} is readable or writable by group/others (mode ${mode}): ${why}`,
    fix: `chmod ${kind === 'file' ? '600' : '700'} ${target}`,
  };
}

/**
 * The API key's end as trading last read it (kept in the data dir, key-notice-file.ts): past it ❌, within 14 days a
 * warning, else when it ends; undefined when none is known (no live run yet, or a key that does not expire). (pure)
 */
export function apiKeyExpiryCheck(notices: KeyNotices | undefined, now: number): DoctorCheck | undefined {
  if (notices?.expiresAt === undefined) return undefined;
  const name = 'api key';
  const at = new Date(notices.expiresAt).toISOString();
  const field = notices.expiryField ?? 'key expiry';
  const fix =
    "create a new key bound to this host's IP address (such keys do not expire), without withdrawals, and restart with it";
  if (notices.expiresAt <= now)
    return { name, ok: false, detail: `expired at ${at} (${field}): the exchange refuses its orders`, fix };
  const left = notices.expiresAt - now;
  const detail = `expires at ${at} (${field}), in ${formatSpan(left)}`;
  if (left < 14 * 86_400_000) return { name, ok: true, warning: true, detail, fix };
  return { name, ok: true, detail };
}

/**
 * Trading's state in this data dir is a new one that paused entries because the exchange has orders of another
 * install of the bot (hidden-state.ts): its own state is missing or hidden (a mount not up). Said with the pause's
 * reason (what was seen, the data dir, both ways on); nothing when the state is not paused so, or not readable.
 */
function checkHiddenState(dataDir: string): DoctorCheck[] {
  const read = readJsonFileSync(path.join(dataDir, `${STATE_STORE_NAME}.json`), {
    parse: (v) => (isEnvelope(v) ? hiddenStatePauseReason(v.data) : null),
    maxBytes: 256 * 1024 * 1024,
  });
  if (read.kind !== 'valid' || read.value === null) return [];
  return [
    {
      name: 'trading state',
      ok: false,
      detail: `new entries paused — ${read.value}`,
      fix: 'mount the data dir and `npx byninja restart trading` (/restart trading in Telegram), or, if the old state is lost for good, `npx byninja resume` (/resume)',
    },
  ];
}

/** A state left blocked after both generations failed: trading refuses to start until the operator acts. */
async function checkBlocked(dataDir: string): Promise<DoctorCheck> {
  const name = 'state';
  try {
    const blocked = await blockedStores(dataDir);
    if (blocked.length === 0) return { name, ok: true, detail: 'no state is blocked' };
    return {
      name,
      ok: false,
      detail: `blocked (both generations failed their schema): ${blocked.join(', ')}; trading refuses to start`,
      fix: 'byninja state restore <file> (a good copy, e.g. a fixed .corrupt-… file) or byninja state reset (defaults)',
    };
  } catch (err) {
    return { name, ok: false, detail: `cannot read ${dataDir}: ${errorMessage(err)}` };
  }
}

function checkWritable(name: string, dir: string, envName: string): DoctorCheck {
  // a name nobody else uses, not a time
  const probe = path.join(dir, `.doctor-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(probe, 'ok');
    fs.unlinkSync(probe);
    return { name, ok: true, detail: `${dir} is writable` };
  } catch (err) {
    return {
      name,
      ok: false,
      detail: `${dir} is not writable (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`,
      fix: `fix its permissions (chown/chmod) or point ${envName} to a writable directory`,
    };
  }
}

/**
 * Free, or held by the service that should hold it (its service lock names the live pid that listens there).
 * Held by another program: said so, with its pid and command line, never taken for the service.
 */
async function checkPort(
  name: string,
  host: string,
  port: number,
  dataDir: string,
  service: 'trading' | 'telegram',
  setting: string,
): Promise<DoctorCheck> {
  const where = `${host}:${port}`;
  const free = await new Promise<boolean | string>((resolve) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) =>
      resolve(err.code === 'EADDRINUSE' ? false : (err.code ?? err.message)),
    );
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
  if (free === true) return { name, ok: true, detail: `${where} is free` };
  if (typeof free === 'string')
    return {
      name,
      ok: false,
      detail: `cannot bind ${where} (${free})`,
      fix: `set ${setting} to another port`,
    };
  const servicePid = liveServiceLockPid(dataDir, service);
  const holder = portHolder(port);
  if (holder && holder.pid === servicePid)
    return {
      name,
      ok: true,
      detail: `${where} in use by ${service} (pid ${holder.pid}): ${service} is running`,
    };
  if (holder)
    return {
      name,
      ok: false,
      detail: `${where} is held by another program, not ${service}: pid ${holder.pid} (${holder.command})`,
      fix: `stop that program, or set ${setting} to a free port`,
    };
  if (servicePid)
    return {
      name,
      ok: true,
      warning: true,
      detail: `${where} in use; ${service} runs (pid ${servicePid}) but which process holds the port cannot be read here`,
      fix: `if ${service} logs that it cannot listen, find the holder (ss -ltnp | grep ${port}) or set ${setting}`,
    };
  return {
    name,
    ok: false,
    detail: `${where} is held by another program (no live ${service} holds ${dataDir})`,
    fix: `stop the program holding port ${port} (ss -ltnp | grep ${port}) or set ${setting} to a free port`,
  };
}

function liveServiceLockPid(dataDir: string, service: string): number | undefined {
  const lock = readJsonFileSync(path.join(dataDir, `${service}.service.lock`), {
    parse: (value) => (value as { pid?: unknown } | null)?.pid,
  });
  if (lock.kind !== 'valid' || typeof lock.value !== 'number') return undefined;
  try {
    process.kill(lock.value, 0);
    return lock.value;
  } catch {
    return undefined;
  }
}

/** Connects to the daemon's RPC socket without starting a daemon (the pm2 API would spawn one). */
async function checkPm2(home: string, clock: Clock): Promise<DoctorCheck> {
  const socket = path.join(home, 'rpc.sock');
  const reachable = await new Promise<boolean>((resolve) => {
    if (!fs.existsSync(socket)) return resolve(false);
    const conn = net.connect(socket);
    const cancel = clock.timer(1_000, () => {
      conn.destroy();
      resolve(false);
    });
    conn.once('connect', () => {
      cancel();
      conn.end();
      resolve(true);
    });
    conn.once('error', () => {
      cancel();
      resolve(false);
    });
  });
  return reachable
    ? { name: 'pm2', ok: true, detail: `daemon reachable (PM2_HOME ${home})` }
    : {
        name: 'pm2',
        ok: true,
        warning: true,
        detail: `no PM2 daemon running in ${home}`,
        fix: 'npm start starts it with both services',
      };
}

/** A Telegram bot token's shape: `<bot id>:<35 characters>` as BotFather prints it. */
const BOT_TOKEN_SHAPE = /^\d{5,15}:[A-Za-z0-9_-]{30,}$/;

async function checkTelegram(
  tg: TelegramConfig['telegram'],
  token: string | undefined,
  fetchFn: typeof fetch,
): Promise<DoctorCheck[]> {
  if (!token) {
    return [
      {
        name: 'telegram',
        ok: true,
        warning: true,
        detail: 'no TELEGRAM_BOT_TOKEN: Telegram runs in log-only mode (alerts go to the log)',
        fix: 'set TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID in .env to get alerts (docs/telegram.md)',
      },
    ];
  }
  const checks: DoctorCheck[] = [];
  if (!BOT_TOKEN_SHAPE.test(token)) {
    checks.push({
      name: 'telegram token',
      ok: false,
      detail:
        'TELEGRAM_BOT_TOKEN does not look like a bot token (<digits>:<35 characters>, as BotFather prints it)',
      fix: 'copy the whole token from BotFather (/mybots → your bot → API Token) into .env',
    });
  } else {
    checks.push(await askGetMe({ apiRoot: tg.apiRoot, token, fetch: fetchFn }));
  }
  checks.push(
    tg.chatId
      ? { name: 'telegram alerts', ok: true, detail: `alerts go to chat ${tg.chatId}` }
      : {
          name: 'telegram alerts',
          ok: true,
          warning: true,
          detail: 'TELEGRAM_CHAT_ID is not set: the bot answers commands, alerts go to the log only',
          fix: 'set TELEGRAM_CHAT_ID to your numeric chat id (`npx byninja telegram whoami` prints it)',
        },
  );
  const allowed = [...tg.allowedChatIds, ...tg.allowedUserIds];
  checks.push(
    allowed.length === 0
      ? {
          name: 'telegram commands',
          ok: true,
          warning: true,
          detail:
            'TELEGRAM_ALLOWED_CHAT_IDS and TELEGRAM_ALLOWED_USER_IDS are empty: nobody may send commands',
          fix: 'list your numeric user id in TELEGRAM_ALLOWED_USER_IDS (`npx byninja telegram whoami`)',
        }
      : {
          name: 'telegram commands',
          ok: true,
          detail: `allowed chats: ${tg.allowedChatIds.join(', ') || 'none'}; users: ${tg.allowedUserIds.join(', ') || 'none'}`,
        },
  );
  return checks;
}

/**
 * Groups Telegram upgraded to a supergroup (new id) that the telegram service follows while .env still names the
 * old id — as its outbox file keeps them (chat-moves.ts), judged against the settings as they are now.
 */
function checkMovedChats(dataDir: string, tg: TelegramConfig['telegram']): DoctorCheck[] {
  const read = readJsonFileSync(path.join(dataDir, `${OUTBOX_STORE_NAME}.json`), {
    // the service's own full check: a file it would quarantine says nothing about what it follows
    parse: (v) =>
      isEnvelope(v) && v.version === OUTBOX_STORE_VERSION ? validateOutboxState(v.data).chatMoves : [],
    maxBytes: 64 * 1024 * 1024,
  });
  if (read.kind !== 'valid') return [];
  return movedChats(read.value, { chatId: tg.chatId, allowedChatIds: tg.allowedChatIds })
    .filter((moved) => moved.settings.length > 0)
    .map((moved) => ({
      name: 'telegram chat moved',
      ok: true,
      warning: true,
      detail: describeMovedChat(moved),
      fix: `in .env, name ${moved.to} in place of ${moved.from} (${moved.settings.join(', ')}), then \`npm restart\``,
    }));
}

/** getMe: the token works (and names the bot), Telegram refuses it (401), or Telegram cannot be reached (not checked). */
async function askGetMe(target: BotApiTarget): Promise<DoctorCheck> {
  const name = 'telegram token';
  let answer: BotApiAnswer<{ username?: string; id?: number }>;
  try {
    answer = await callBotApi(target, 'getMe', undefined, 5_000);
  } catch (err) {
    return {
      name,
      ok: true,
      warning: true,
      detail: `the token has the right shape; the Bot API is not reachable from here (${errorMessage(err)}), so it is not confirmed`,
    };
  }
  if (answer.ok && answer.result)
    return {
      name,
      ok: true,
      detail: `Telegram knows it: bot @${answer.result.username ?? '?'} (id ${answer.result.id ?? '?'})`,
    };
  if (answer.status === 401 || answer.status === 404)
    return {
      name,
      ok: false,
      detail: `Telegram refuses this token (${answer.status} ${answer.description ?? ''}): revoked or mistyped`,
      fix: 'take the current token from BotFather (/mybots → API Token) and put it in .env',
    };
  return {
    name,
    ok: true,
    warning: true,
    detail: `the token has the right shape; Telegram answered ${answer.status} to getMe, so it is not confirmed`,
  };
}

/** dry-run and live: an exchange id ccxt knows (a typo gets the closest one); live: a verified one. */
function checkExchange(trading: TradingConfig['trading']): DoctorCheck[] {
  if (trading.mode === 'paper') return [];
  const name = 'exchange';
  let known: string[];
  try {
    known = ccxtExchangeIds();
  } catch (err) {
    return [{ name, ok: false, detail: `cannot load ccxt: ${errorMessage(err)}`, fix: 'run npm ci' }];
  }
  if (!known.includes(trading.exchange))
    return [
      {
        name,
        ok: false,
        detail: `trading.exchange "${trading.exchange}": ${unknownExchangeMessage(trading.exchange, known)}`,
        fix: 'set trading.exchange (BYNINJA__TRADING__EXCHANGE) to a ccxt exchange id',
      },
    ];
  if (trading.mode === 'live' && !verifiedExchangeIds().includes(trading.exchange))
    return [
      {
        name,
        ok: false,
        detail: `live mode runs only on a verified exchange (${verifiedExchangeIds().join(', ')}); "${trading.exchange}" is not one`,
        fix: 'use a verified exchange for live, or BYNINJA_MODE=dry-run (docs/exchanges.md)',
      },
    ];
  return [
    {
      name,
      ok: true,
      detail: `${trading.exchange} (${trading.mode}${trading.sandbox ? ', sandbox/testnet' : ''})`,
    },
  ];
}

function loadScope<S extends 'trading' | 'telegram' | 'cli'>(
  env: NodeJS.ProcessEnv,
  cwd: string,
  service: S,
): LoadedConfig<unknown> | { problems: string[] } {
  try {
    return loadConfig({ env, cwd, service }) as LoadedConfig<unknown>;
  } catch (err) {
    return {
      problems:
        err instanceof ConfigError
          ? err.problems.map((p) => `${p.field} = ${p.value}: ${p.message}`)
          : [errorMessage(err)],
    };
  }
}

if (require.main === module) {
  // run on its own: this is its composition root
  void runDoctor(process.env, { clock: systemClock }).then(
    (result) => {
      process.stdout.write(formatDoctorReport(result) + '\n');
      process.exitCode = result.ok ? 0 : 1;
    },
    (err: unknown) => {
      process.stderr.write(`doctor failed: ${errorMessage(err)}\n`);
      process.exitCode = 1;
    },
  );
}
