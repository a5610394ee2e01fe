/**
 * Is trading ready (pure)? Recovered and trading (running, or paused by someone: a pause is a decision, not a
 * fault), its loop ticking, the exchange answering. "waiting-exchange", "recovering", a loop that stopped ticking
 * while the event loop still turns, or an exchange that fails are all "not ready" (HTTP 503).
 */
import { formatSpan } from '../../shared/format-span';
import { healthReport, type HealthCheck, type HealthReport } from '../../shared/http/health';
import type { LoopState } from '../../shared/ipc/protocol';

export interface TradingHealthInput {
  loopState: LoopState;
  exchangeId: string;
  exchangeReachable: boolean;
  exchangeError?: string;
  exchangeUnreachableSince?: number;
  /** The exchange's latest failure refused our API key: it answers, so it is told as that, not as unreachable. */
  exchangeKeyRefused?: boolean;
  /** With it: the account's refusal (its region, the symbol…), not the key's: told as that. */
  exchangeAccountRefused?: boolean;
  lastTickAt: number | null;
  now: number;
  /** A tick older than this means the loop is stuck (default: see `staleTickMs`). */
  staleTickMs: number;
  pausedReason?: string;
}

/**
 * How old the last tick may be: a tick runs every `tickIntervalMs`, and its reads wait at most
 * `symbolReadTimeoutMs` twice (account, then symbols); three such rounds, at least 30 s.
 */
export function staleTickMs(tickIntervalMs: number, symbolReadTimeoutMs: number): number {
  return Math.max(30_000, 3 * (tickIntervalMs + 2 * symbolReadTimeoutMs));
}

export function tradingHealth(h: TradingHealthInput): HealthReport {
  const checks: HealthCheck[] = [];
  const trading = h.loopState === 'running' || h.loopState === 'paused';
  checks.push({
    name: 'recovered',
    ok: trading,
    detail:
      h.loopState === 'waiting-exchange'
        ? `waiting for ${h.exchangeId} before recovering`
        : trading
          ? h.loopState === 'paused'
            ? `paused${h.pausedReason ? `: ${h.pausedReason}` : ''} (exits still run)`
            : 'running'
          : h.loopState,
  });
  const age = h.lastTickAt === null ? null : Math.max(0, h.now - h.lastTickAt);
  checks.push({
    name: 'ticking',
    ok: trading && age !== null && age <= h.staleTickMs,
    detail:
      age === null
        ? 'no tick yet'
        : `last tick ${formatSpan(age)} ago (stale after ${formatSpan(h.staleTickMs)})`,
  });
  const downFor =
    h.exchangeUnreachableSince !== undefined ? ` for ${formatSpan(h.now - h.exchangeUnreachableSince)}` : '';
  checks.push({
    name: 'exchange',
    ok: h.exchangeReachable && h.loopState !== 'waiting-exchange',
    detail:
      h.exchangeReachable && h.loopState !== 'waiting-exchange'
        ? `${h.exchangeId} reachable`
        : h.exchangeKeyRefused
          ? `${h.exchangeId} refuses ${h.exchangeAccountRefused ? "the account's requests" : 'the API key'}${downFor}${h.exchangeError ? `: ${h.exchangeError}` : ''}`
          : `${h.exchangeId} unreachable${downFor}${h.exchangeError ? `: ${h.exchangeError}` : ''}`,
  });
  return healthReport('trading', checks);
}
