/**
 * Our own crash-loop detection: PM2's max_restarts only guards a service's first seconds (min_uptime), so a
 * service that crashes every minute restarts forever. More than `count` crashes of one service inside
 * `windowMs` is a crash loop: one critical alert per episode (the episode ends when the window holds no more
 * than `count` crashes again), and with action `stop-trading` trading is stopped through PM2. Pure: the crash
 * times are plain data the caller persists.
 */
import { formatSpan } from '../../shared/format-span';
import { escapeHtml, type NotificationInput } from '../notify/notification';

export interface CrashLoopSettings {
  count: number;
  windowMs: number;
  action: 'alert' | 'stop-trading';
}

export interface CrashLoopState {
  /** Crash times per service inside the window (epoch ms, ascending). */
  crashes: Record<string, number[]>;
  /** Services in a reported loop. */
  inLoop: Record<string, boolean>;
}

export function emptyCrashLoopState(): CrashLoopState {
  return { crashes: {}, inLoop: {} };
}

export interface CrashLoopVerdict {
  alert?: NotificationInput;
  /** Stop this service through PM2 (only trading, only with action stop-trading). */
  stop?: string;
}

export function recordCrash(
  state: CrashLoopState,
  service: string,
  at: number,
  settings: CrashLoopSettings,
  tradingService = 'trading',
): CrashLoopVerdict {
  const times = (state.crashes[service] ?? []).filter((t) => t > at - settings.windowMs);
  times.push(at);
  state.crashes[service] = times;
  if (times.length <= settings.count) {
    state.inLoop[service] = false;
    return {};
  }
  if (state.inLoop[service]) return {};
  state.inLoop[service] = true;
  const stop = settings.action === 'stop-trading' && service === tradingService;
  const name = escapeHtml(service);
  const action = stop
    ? `Stopping ${name} through PM2 (supervisor.crashLoopAction = stop-trading). Fix the cause, then /restart ${name}.`
    : `PM2 keeps restarting it. Check /logs ${name}; set supervisor.crashLoopAction = stop-trading to stop it automatically.`;
  return {
    alert: {
      key: `crash-loop:${service}`,
      priority: 'critical',
      createdAt: at,
      text: `🔥 <b>${name} is in a crash loop</b>: ${times.length} crashes in ${formatSpan(at - times[0])}\n${action}`,
    },
    ...(stop ? { stop: service } : {}),
  };
}

/** Forgets crashes older than the window (keeps the persisted state small). */
export function pruneCrashes(state: CrashLoopState, now: number, windowMs: number): void {
  for (const [service, times] of Object.entries(state.crashes)) {
    const kept = times.filter((t) => t > now - windowMs);
    if (kept.length) state.crashes[service] = kept;
    else delete state.crashes[service];
  }
}
