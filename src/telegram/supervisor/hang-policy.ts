/**
 * Hang detection: trading is `online` in PM2 but does not answer its TCP heartbeat (ping) for longer than
 * `hangTimeoutMs` — a live process that no longer works (deadlock, stuck await, event loop pinned below the
 * watchdog's threshold). One verdict per episode: after a hang is declared, the next needs a successful ping
 * in between (so a trading that never answers is not restarted in a loop). Pure: observations come in with `now`.
 */
export interface HangState {
  /** Last successful ping, or when watching began (online seen / telegram started). */
  lastAliveAt: number;
  /** A hang was declared and no ping succeeded since. */
  declared: boolean;
}

export function startWatching(now: number): HangState {
  return { lastAliveAt: now, declared: false };
}

/**
 * `refused`: the ping failed, but trading itself answered our connection with a refusal (too many clients, wrong
 * token) — it is alive and we are locked out: never a hang, never a restart (a restart would not let us in, and
 * would punish trading for someone else's sockets).
 */
export type HangObservation =
  | { kind: 'ping-ok' }
  | { kind: 'ping-failed' }
  | { kind: 'refused' }
  | { kind: 'not-online' }
  | { kind: 'online' };

/** Applies one observation; returns true when a hang is declared now. */
export function observe(state: HangState, obs: HangObservation, now: number, hangTimeoutMs: number): boolean {
  switch (obs.kind) {
    case 'ping-ok':
      state.lastAliveAt = now;
      state.declared = false;
      return false;
    case 'refused':
      // alive (it answered), so the silence clock restarts; a declared hang stays declared until a ping succeeds
      state.lastAliveAt = now;
      return false;
    case 'online':
    case 'not-online':
      // A (re)start or an outage PM2 already reports: the clock of silence starts again (a declared hang stays
      // declared until a ping succeeds, so a trading that never answers is not restarted in a loop).
      state.lastAliveAt = now;
      return false;
    case 'ping-failed':
      if (state.declared || now - state.lastAliveAt <= hangTimeoutMs) return false;
      state.declared = true;
      return true;
  }
}
