/**
 * restart: SIGKILL of a PM2 app → PM2 marks it online again (with wait_ready that is the app's own
 * process.send('ready'), which trading sends only after its state is loaded and reconciled), minus the
 * exponential-backoff delay PM2 applied before the restart. Both instants come from PM2's clock (bus packets)
 * except the kill, taken just before process.kill on the same machine clock.
 */
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, type Pm2Harness } from '../../harness/pm2';
import type { Pm2Session } from '../chaos/pm2-session';

/** The floor app: a bare node that is ready at once, started with the same PM2 options as ours. */
export const BARE_READY_SCRIPT = "process.send && process.send('ready'); setInterval(() => {}, 1e9);";

export function writeBareScript(dir: string): string {
  const file = path.join(dir, 'bare-ready.js');
  fs.writeFileSync(file, BARE_READY_SCRIPT + '\n');
  return file;
}

/** What ecosystem.config.js gives the trading app beyond the PM2 options the harness passes: node flags, env. */
export interface EcosystemRuntime {
  /** For `pm2 start`: `--node-args` with trading's node_args. */
  pm2Args: string[];
  /** Trading's env entries that tune the runtime (MALLOC_ARENA_MAX), not its configuration. */
  env: Record<string, string>;
}

/**
 * Trading's node_args (none since stop 35: V8's memory settings are applied by the daemon once ready,
 * src/shared/lifecycle/heap-settings.ts; any V8 flag here would cost each start node's own code cache) and its
 * malloc arena cap, read from ecosystem.config.js as PM2 reads them: a restart bench runs trading as production
 * does. They are PM2 options, so the floor app gets them too.
 * Loading the ecosystem creates its data and log dirs: pointed at the harness's own.
 */
export function ecosystemRuntime(harness: Pm2Harness): EcosystemRuntime {
  const file = path.join(REPO_ROOT, 'ecosystem.config.js');
  const vars: Record<string, string> = {
    BYNINJA_DATA_DIR: harness.dataDir,
    BYNINJA_LOG_DIR: harness.logDir,
    BYNINJA_ENV_FILE: path.join(harness.root, '.env'),
  };
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    delete require.cache[require.resolve(file)];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { apps } = require(file) as {
      apps: Array<{ name: string; node_args?: string[]; env?: Record<string, string> }>;
    };
    const trading = apps.find((a) => a.name === 'trading');
    if (!trading) throw new Error('ecosystem.config.js has no trading app');
    const nodeArgs = trading.node_args ?? [];
    const malloc = trading.env?.MALLOC_ARENA_MAX;
    return {
      pm2Args: nodeArgs.length > 0 ? ['--node-args', nodeArgs.join(' ')] : [],
      env: malloc ? { MALLOC_ARENA_MAX: malloc } : {},
    };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

export interface RestartSample {
  /** kill → online, minus PM2's restart delay, ms. */
  ms: number;
  restartDelayMs: number;
}

export interface RestartOptions {
  settleMs?: number;
  readyTimeoutMs?: number;
  /** Runs before each kill (e.g. to confirm trading really runs with its state). */
  beforeKill?: () => Promise<void>;
}

/** One SIGKILL of `name` (online now) → its next PM2 'online' event. */
export async function restartOnce(
  session: Pm2Session,
  name: string,
  opts: RestartOptions = {},
): Promise<RestartSample> {
  const current = await session.waitOnline(name, opts.readyTimeoutMs ?? 60_000);
  await new Promise((r) => setTimeout(r, opts.settleMs ?? 300));
  if (opts.beforeKill) await opts.beforeKill();
  const mark = session.events.length;
  const killedAt = Date.now();
  process.kill(current.pid, 'SIGKILL');
  const online = await session.waitEvent(
    (e) => e.name === name && e.event === 'online',
    opts.readyTimeoutMs ?? 60_000,
    mark,
    `${name} online after SIGKILL`,
  );
  const delay = online.restartDelayMs ?? 0;
  await session.waitOnline(name, 10_000, current.pid);
  return { ms: online.at - killedAt - delay, restartDelayMs: delay };
}

/**
 * SIGKILLs each app in `apps` in turn, `trials` rounds: apps measured side by side see the same machine noise
 * (a floor app beside the real one gives a ratio that means something on a busy host).
 */
export async function measureRestarts(
  session: Pm2Session,
  apps: Record<string, RestartOptions>,
  trials: number,
): Promise<Record<string, RestartSample[]>> {
  const out: Record<string, RestartSample[]> = Object.fromEntries(Object.keys(apps).map((n) => [n, []]));
  for (let i = 0; i < trials; i++) {
    for (const [name, opts] of Object.entries(apps)) out[name].push(await restartOnce(session, name, opts));
  }
  return out;
}
