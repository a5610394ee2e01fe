/**
 * Whether the exchange answers (pure): one alert when it has failed for `alertAfterMs`, one when it answers
 * again — never one per failed call. Used by the loop's ticks, the wait for the exchange at start and recovery.
 */

export interface Reachability {
  /** First failure of the current outage, or null while the exchange answers. */
  since: number | null;
  /** The outage has been alerted. */
  alerted: boolean;
  /** What the latest failure said. */
  lastError?: string;
  /**
   * The latest failure was the exchange refusing our API key (it answers: not an outage); a person must act (the key
   * in .env, its IP allow-list, its permissions).
   */
  keyRefused?: boolean;
  /**
   * With `keyRefused`: the refusal is about the account, its region or the symbol, not the key (the profile's
   * `accountRefusals`: a Bybit compliance ban, the Innovation Zone…) — told as that, the same effect.
   */
  accountRefused?: boolean;
}

export const REACHABLE: Reachability = { since: null, alerted: false };

/** After a failed call: the new state, and whether to alert now (once per outage). */
export function afterFailure(
  r: Reachability,
  now: number,
  error: string,
  alertAfterMs: number,
  refused?: 'key' | 'account',
): { next: Reachability; alert: boolean } {
  const since = r.since ?? now;
  const alert = !r.alerted && now - since >= alertAfterMs;
  return {
    next: {
      since,
      alerted: r.alerted || alert,
      lastError: error,
      ...(refused ? { keyRefused: true } : {}),
      ...(refused === 'account' ? { accountRefused: true } : {}),
    },
    alert,
  };
}

/** After a call that worked: reachable again, and the outage to report as over when it was alerted. */
export function afterSuccess(r: Reachability, now: number): { next: Reachability; recovered: number | null } {
  if (r.since === null) return { next: r, recovered: null };
  return { next: REACHABLE, recovered: r.alerted ? now - r.since : null };
}

/**
 * The exchange's rate limit holds every request until `until` (a ban the gate waits out), said for /health and
 * /status; undefined when no limit holds.
 */
export function rateLimitNotice(until: number | undefined, now: number): string | undefined {
  if (until === undefined) return undefined;
  const left = Math.max(0, Math.ceil((until - now) / 1000));
  return `refused for rate: no request before ${new Date(until).toISOString()} (${left} s), waiting instead of sending into the ban`;
}
