/**
 * PM2's `process:event` bus packets, reduced to what the supervisor reads. Shapes checked on pm2 7.0.4
 * (lib/Event.js, lib/God.js handleExit, lib/God/ActionMethods.js, lib/API.js):
 *  - `{ event, manually, process: <pm2_env without env>, at }`;
 *  - a crash: `exit` with status `stopped` (or `errored` after `restart overlimit`), `exit_code` (0 for a death by
 *    signal), then PM2 waits the backoff delay and increments `restart_time` before starting again (`online`);
 *  - an operator stop/restart: `exit` with status `stopping`, a second `exit` with status `stopped`, then (restart)
 *    `online`, and only then the `manually: true` event `stop` / `restart` from the API client;
 *  - `restart overlimit` when unstable restarts reach max_restarts (then status `errored`, no more restarts).
 */
import type { Pm2BusPacket } from '../../ops/pm2-client';

export interface ProcessEvent {
  /** exit, online, stop, restart, delete, start, reload, restart overlimit… */
  event: string;
  /** Sent by an API client (an operator's command), not by PM2's own supervision. */
  manually: boolean;
  name: string;
  status: string;
  /** PM2's restart_time. */
  restarts: number;
  unstableRestarts: number;
  exitCode?: number;
  /** Backoff delay PM2 used for the previous restart (0/undefined: none yet or reset after 30 s up). */
  prevRestartDelayMs?: number;
  expBackoffRestartDelayMs?: number;
  fixedRestartDelayMs?: number;
  autorestart: boolean;
  /** The app sends a ready message (wait_ready): its `online` is not "ready" by itself. */
  waitReady: boolean;
  stopExitCodes: number[];
  /** When the run that this event is about started (pm_uptime), epoch ms. */
  startedAt?: number;
  at: number;
}

const num = (v: unknown): number | undefined => {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
};

export function parseProcessEvent(packet: Pm2BusPacket, now: number): ProcessEvent | undefined {
  const p = packet?.process as Record<string, unknown> | undefined;
  if (!packet || typeof packet.event !== 'string' || !p || typeof p.name !== 'string') return undefined;
  const stopCodes = Array.isArray(p.stop_exit_codes)
    ? p.stop_exit_codes
    : p.stop_exit_codes !== undefined
      ? [p.stop_exit_codes]
      : [];
  const ev: ProcessEvent = {
    event: packet.event,
    manually: packet.manually === true,
    name: p.name,
    status: String(p.status ?? 'unknown'),
    restarts: num(p.restart_time) ?? 0,
    unstableRestarts: num(p.unstable_restarts) ?? 0,
    autorestart: p.autorestart !== false && p.autorestart !== 'false',
    waitReady: p.wait_ready === true || p.wait_ready === 'true',
    stopExitCodes: stopCodes.map(num).filter((c): c is number => c !== undefined),
    at: num(packet.at) ?? now,
  };
  const optional: Array<[keyof ProcessEvent, unknown]> = [
    ['exitCode', p.exit_code],
    ['prevRestartDelayMs', p.prev_restart_delay],
    ['expBackoffRestartDelayMs', p.exp_backoff_restart_delay],
    ['fixedRestartDelayMs', p.restart_delay],
    ['startedAt', p.pm_uptime],
  ];
  for (const [k, v] of optional) {
    const n = num(v);
    if (n !== undefined) (ev as unknown as Record<string, number>)[k] = n;
  }
  return ev;
}

/**
 * The delay PM2 will wait before restarting after this exit (its exp backoff: first delay, then ×1.5 capped at
 * 15 s; lib/God.js handleExit). Undefined when PM2 will not restart (stop exit code, autorestart off).
 */
export function nextRestartDelayMs(ev: ProcessEvent): number | undefined {
  if (!ev.autorestart || (ev.exitCode !== undefined && ev.stopExitCodes.includes(ev.exitCode)))
    return undefined;
  if (ev.status === 'errored') return undefined;
  if (ev.expBackoffRestartDelayMs !== undefined) {
    return ev.prevRestartDelayMs
      ? Math.floor(Math.min(15_000, ev.prevRestartDelayMs * 1.5))
      : ev.expBackoffRestartDelayMs;
  }
  return ev.fixedRestartDelayMs ?? 0;
}

export { readyMessageOf } from '../../ops/pm2-client';
