/**
 * The shipped trading daemon under a test's real PM2 (harness/pm2.ts), as the operator runs it, and what the operator
 * then reads: `byninja status` and trading's PM2 logs. Trading gets its own IPC port and token, and the status runs
 * with the same environment, so it reaches that trading.
 */
import { DAEMON_SCRIPTS, Pm2Harness, REPO_ROOT, eventually } from '../../harness/pm2';
import { freePort } from '../../harness/ports';
import { runCli, type CliRun } from './cli';

export type DaemonEnv = Record<string, string | undefined>;

/** Starts the shipped trading daemon with `env` plus a free IPC port and `ipcToken`; returns the environment it got. */
export async function startShippedTrading(
  pm2: Pm2Harness,
  env: DaemonEnv,
  ipcToken: string,
): Promise<DaemonEnv> {
  const withIpc = { ...env, BYNINJA_IPC_PORT: String(await freePort()), BYNINJA_IPC_TOKEN: ipcToken };
  await pm2.startScript('trading', DAEMON_SCRIPTS.trading, { env: withIpc });
  return withIpc;
}

/** `byninja status`, run every half second until its output matches `pattern` (within 45 s). */
export function statusOnceItSays(
  pm2: Pm2Harness,
  env: DaemonEnv,
  pattern: RegExp,
  what: string,
): Promise<CliRun> {
  return eventually(
    async () => {
      const run = await runCli(['status'], { env: pm2.env(env), cwd: REPO_ROOT });
      return pattern.test(run.stdout) ? run : undefined;
    },
    45_000,
    what,
    500,
  );
}

/** Trading's PM2 out and err logs, one after the other. */
export function tradingLogs(pm2: Pm2Harness): string {
  return pm2.readLog('trading.out.log') + pm2.readLog('trading.err.log');
}
