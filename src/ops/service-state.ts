/**
 * What a service's PM2 status really means, in the operator's words. PM2's own words mislead in two places:
 * an app stopped by a stop exit code (78: configuration error) shows "waiting restart" forever (pm2 sets that
 * status before its stop_exit_codes check), and "waiting restart" after a crash does not say whether this is one
 * crash or a loop, nor when the next try comes. Pure: PM2's view, the service's config-error record and the time
 * come in as arguments. Shared by `byninja status`, /status and the supervisor's alerts.
 */
import { formatSpan } from '../shared/format-span';
import { fieldsToFix, type ConfigFailure } from '../shared/lifecycle/config-failure';
import { ExitCode } from '../shared/lifecycle/exit-codes';
import type { Pm2ProcessView } from './pm2-client';

export type ServiceState =
  | { kind: 'online' }
  /** PM2 says online (after its listen_timeout) but the service has not said ready: recovering, waiting for the exchange. */
  | { kind: 'not-ready' }
  | { kind: 'not-in-pm2' }
  /** Exit 78: PM2 will not restart it; `failure` names what to fix when the service recorded it. */
  | { kind: 'config-error'; failure?: ConfigFailure }
  /** Crashed; PM2 restarts it after `delayMs` (its exponential backoff). `loop`: several quick crashes in a row. */
  | { kind: 'restarting'; delayMs?: number; loop: boolean; restarts: number; exitCode?: number }
  /** PM2 gave up after max_restarts unstable restarts. */
  | { kind: 'gave-up'; unstableRestarts: number }
  | { kind: 'stopped' }
  | { kind: 'starting' | 'stopping' }
  | { kind: 'other'; status: string };

/**
 * Consecutive quick crashes before "restarting" is called a loop: PM2 multiplies its delay by 1.5 per crash that
 * came within 30 s of the previous start, so a delay ≥ base × 1.5² means at least three in a row.
 */
const LOOP_FACTOR = 1.5 ** 2;

export function serviceState(
  proc: Pm2ProcessView | undefined,
  failure?: ConfigFailure,
  notReady = false,
): ServiceState {
  if (!proc) return { kind: 'not-in-pm2' };
  switch (proc.status) {
    case 'online':
      return notReady ? { kind: 'not-ready' } : { kind: 'online' };
    case 'launching':
      return { kind: 'starting' };
    case 'stopping':
      return { kind: 'stopping' };
  }
  if (proc.exitCode === ExitCode.Config && proc.status !== 'launching')
    return { kind: 'config-error', ...(failure ? { failure } : {}) };
  if (proc.status === 'errored') return { kind: 'gave-up', unstableRestarts: proc.unstableRestarts };
  if (proc.status === 'waiting restart') {
    const base = proc.backoffBaseMs;
    const delay = proc.restartDelayMs;
    const loop =
      proc.unstableRestarts > 0 || (base !== undefined && delay !== undefined && delay >= base * LOOP_FACTOR);
    return {
      kind: 'restarting',
      loop,
      restarts: proc.restarts,
      ...(delay !== undefined ? { delayMs: delay } : {}),
      ...(proc.exitCode !== undefined ? { exitCode: proc.exitCode } : {}),
    };
  }
  if (proc.status === 'stopped') return { kind: 'stopped' };
  return { kind: 'other', status: proc.status };
}

/** "fix trading.symbols, then `npm start`" — or where to look when the service could not record its problem. */
export function configFixHint(service: string, failure?: ConfigFailure): string {
  const fields = failure ? fieldsToFix(failure) : [];
  return fields.length
    ? `fix ${fields.join(', ')}, then \`npm start\``
    : `see \`npx pm2 logs ${service} --err\`, fix the setting it names, then \`npm start\``;
}

/** One short phrase for a service's state (plain text; callers escape it for HTML). */
export function describeServiceState(service: string, state: ServiceState): string {
  switch (state.kind) {
    case 'online':
      return 'online';
    case 'not-ready':
      return 'running but not ready yet (recovering its state or waiting for the exchange)';
    case 'not-in-pm2':
      return 'not managed by PM2';
    case 'config-error':
      return `stopped: configuration error — ${configFixHint(service, state.failure)}`;
    case 'restarting': {
      const next =
        state.delayMs !== undefined ? `next restart in ≤ ${formatSpan(state.delayMs)}` : 'restart due';
      const code = state.exitCode !== undefined ? `, last exit code ${state.exitCode}` : '';
      return state.loop
        ? `crash-looping (${state.restarts} restarts): ${next}${code}`
        : `restarting after a crash: ${next}${code}`;
    }
    case 'gave-up':
      return `stopped by PM2 after ${state.unstableRestarts} quick crashes in a row — fix the cause, then \`npm start\``;
    case 'stopped':
      return 'stopped';
    case 'starting':
      return 'starting';
    case 'stopping':
      return 'stopping';
    default:
      return state.status;
  }
}
