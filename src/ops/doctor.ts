/**
 * `byninja doctor` / `npm run doctor`: checks the environment before (or while) the services run and lists every
 * problem with its fix. Errors make `ok` false (exit 1); warnings (PM2 not running yet, Telegram log-only, nobody
 * allowed to command) are reported but do not fail.
 *
 * Runnable on its own (`node dist/src/ops/doctor.js`) so it works before the CLI exists.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type LoadedConfig } from '../shared/config/loader';
import { ConfigError, errorMessage } from '../shared/errors';
import { blockedStores } from '../shared/persistence/blocked-marker';
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
  /** Install root holding dist/ (default: the checkout this file was built from). */
  root?: string;
  /** Base of relative config paths (default process.cwd()). */
  cwd?: string;
  /** Node version to judge (default process.versions.node). */
  nodeVersion?: string;
}

const MIN_NODE = [20, 19, 0] as const;
const DEFAULT_ROOT = path.resolve(__dirname, '../../..');

export async function runDoctor(
  env: NodeJS.ProcessEnv = process.env,
  opts: DoctorOptions = {},
): Promise<DoctorResult> {
  const root = opts.root ?? DEFAULT_ROOT;
  const cwd = opts.cwd ?? process.cwd();
  const checks: DoctorCheck[] = [];

  checks.push(checkNode(opts.nodeVersion ?? process.versions.node));
  checks.push(checkBuild(root));

  // Each service validates only its own sections (and the shared ones): check them the way each one will.
  for (const service of ['trading', 'telegram'] as const) {
    try {
      const { sources: s, config } = loadConfig({ env, cwd, service });
      const mode = 'trading' in config ? `mode ${config.trading.mode}; ` : '';
      checks.push({
        name: `configuration (${service})`,
        ok: true,
        detail: `valid (${mode}file ${s.configFile ?? 'none'}; .env ${s.envFile ?? 'none'})`,
      });
    } catch (err) {
      const problems =
        err instanceof ConfigError
          ? err.problems.map((p) => `${p.field} = ${p.value}: ${p.message}`)
          : [errorMessage(err)];
      checks.push({
        name: `configuration (${service})`,
        ok: false,
        detail: `${problems.length} problem${problems.length === 1 ? '' : 's'}: ${service} will not start (exit 78)\n${problems.map((p) => `  - ${p}`).join('\n')}`,
        fix: 'fix each listed setting (.env.example and config.example.json document every field), then `npm start`',
      });
    }
  }
  let loaded: LoadedConfig | undefined;
  try {
    loaded = loadConfig({ env, cwd });
  } catch {
    // reported per service above; the checks below fall back to the environment and defaults
  }

  // Directories and port: from the valid config, else from the environment / defaults so they are still checked.
  const dataDir = loaded?.config.app.dataDir ?? path.resolve(cwd, env.BYNINJA_DATA_DIR || './data');
  const logDir = loaded?.config.app.logDir ?? path.resolve(cwd, env.BYNINJA_LOG_DIR || './logs');
  checks.push(checkWritable('data dir', dataDir, 'BYNINJA_DATA_DIR'));
  checks.push(checkWritable('log dir', logDir, 'BYNINJA_LOG_DIR'));
  const envFile = loaded?.sources.envFile ?? path.resolve(cwd, env.BYNINJA_ENV_FILE || '.env');
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
  if (loaded) checks.push(await checkIpcPort(loaded.config.ipc.host, loaded.config.ipc.port, dataDir));
  checks.push(await checkPm2(env.PM2_HOME || path.join(os.homedir(), '.pm2')));
  checks.push(...checkTelegram(env, loaded));

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
  const probe = path.join(dir, `.doctor-${process.pid}-${Date.now()}`);
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

/** Free, or held by a live trading (its service lock names a live pid) — anything else is a conflict. */
async function checkIpcPort(host: string, port: number, dataDir: string): Promise<DoctorCheck> {
  const name = 'ipc port';
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
      fix: 'set BYNINJA_IPC_PORT to another port',
    };
  const trading = liveServiceLockPid(dataDir, 'trading');
  if (trading)
    return { name, ok: true, detail: `${where} in use by trading (pid ${trading}): trading is running` };
  return {
    name,
    ok: false,
    detail: `${where} in use (trading running? no live trading holds ${dataDir})`,
    fix: `stop the program holding port ${port} (ss -ltnp | grep ${port}) or set BYNINJA_IPC_PORT to a free port`,
  };
}

function liveServiceLockPid(dataDir: string, service: string): number | undefined {
  try {
    const { pid } = JSON.parse(fs.readFileSync(path.join(dataDir, `${service}.service.lock`), 'utf8')) as {
      pid?: number;
    };
    if (typeof pid !== 'number') return undefined;
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** Connects to the daemon's RPC socket without starting a daemon (the pm2 API would spawn one). */
async function checkPm2(home: string): Promise<DoctorCheck> {
  const socket = path.join(home, 'rpc.sock');
  const reachable = await new Promise<boolean>((resolve) => {
    if (!fs.existsSync(socket)) return resolve(false);
    const conn = net.connect(socket);
    const timer = setTimeout(() => {
      conn.destroy();
      resolve(false);
    }, 1_000);
    conn.once('connect', () => {
      clearTimeout(timer);
      conn.end();
      resolve(true);
    });
    conn.once('error', () => {
      clearTimeout(timer);
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

function checkTelegram(env: NodeJS.ProcessEnv, loaded: LoadedConfig | undefined): DoctorCheck[] {
  // The token may come from .env: use the loader's secrets when the config is valid.
  const token = loaded ? loaded.secrets.telegramBotToken : env.TELEGRAM_BOT_TOKEN?.trim();
  const chatId = loaded ? loaded.config.telegram.chatId : env.TELEGRAM_CHAT_ID?.trim();
  const allowed = loaded
    ? loaded.config.telegram.allowedChatIds
    : (env.TELEGRAM_ALLOWED_CHAT_IDS ?? '').split(',').filter((s) => s.trim());
  if (!token) {
    return [
      {
        name: 'telegram',
        ok: true,
        warning: true,
        detail: 'no TELEGRAM_BOT_TOKEN: Telegram runs in log-only mode (alerts go to the log)',
        fix: 'set TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID in .env to get alerts',
      },
    ];
  }
  if (!chatId) {
    return [
      {
        name: 'telegram',
        ok: true,
        warning: true,
        detail:
          'TELEGRAM_BOT_TOKEN is set but TELEGRAM_CHAT_ID is not: the bot answers commands, alerts go to the log only',
        fix: 'set TELEGRAM_CHAT_ID to your numeric chat id to receive alerts in Telegram',
      },
    ];
  }
  const checks: DoctorCheck[] = [
    { name: 'telegram', ok: true, detail: `bot token set, alerts to chat ${chatId}` },
  ];
  if (allowed.length === 0) {
    checks.push({
      name: 'telegram commands',
      ok: true,
      warning: true,
      detail: 'TELEGRAM_ALLOWED_CHAT_IDS is empty: nobody may send commands (alerts still work)',
      fix: 'set TELEGRAM_ALLOWED_CHAT_IDS to your numeric id(s), comma-separated',
    });
  } else {
    checks.push({ name: 'telegram commands', ok: true, detail: `allowed chats: ${allowed.join(', ')}` });
  }
  return checks;
}

if (require.main === module) {
  void runDoctor().then(
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
