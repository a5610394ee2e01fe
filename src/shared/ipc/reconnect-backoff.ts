/**
 * Delay before reconnect attempt `attempt` (0-based): exponential from `initialMs` (default 100 ms), capped at
 * `maxMs` (default 5 s), with "equal jitter" — half fixed, half random — so clients that lost the same server
 * do not all knock at once, while the delay never drops below half the nominal backoff.
 * Pure: the random draw in [0, 1) comes in as an argument.
 */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_RECONNECT_BACKOFF: BackoffPolicy = { initialMs: 100, maxMs: 5_000 };

export function reconnectDelayMs(
  attempt: number,
  random: number,
  policy: BackoffPolicy = DEFAULT_RECONNECT_BACKOFF,
): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), 30);
  const nominal = Math.min(policy.maxMs, policy.initialMs * 2 ** exponent);
  const r = Math.min(Math.max(random, 0), 1);
  return Math.round(nominal / 2 + (nominal / 2) * r);
}
