/**
 * restart: SIGKILL of a PM2 app → PM2 marks it online again (with wait_ready that is the app's own
 * process.send('ready'), which trading sends only after its state is loaded and reconciled), minus the
 * exponential-backoff delay PM2 applied before the restart. Both instants come from PM2's clock (bus packets)
 * except the kill, taken just before process.kill on the same machine clock.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Pm2Session } from '../chaos/pm2-session';

/** The floor app: a bare node that is ready at once, started with the same PM2 options as ours. */
export const BARE_READY_SCRIPT = "process.send && process.send('ready'); setInterval(() => {}, 1e9);";

export function writeBareScript(dir: string): string {
  const file = path.join(dir, 'bare-ready.js');
  fs.writeFileSync(file, BARE_READY_SCRIPT + '\n');
  return file;
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
