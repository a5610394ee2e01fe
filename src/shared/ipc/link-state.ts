/**
 * The IPC client's link to trading as one state machine. Pure: `stepLink(state, event, now, settings)` returns the
 * next state and the effects the client (client.ts, the I/O shell) carries out in order. No timers, sockets or
 * clock reads here; `now` comes in.
 *
 *             connect                  connected
 *   idle ───────────────▶ connecting ─────────────▶ up
 *                           ▲     │                  │
 *      retry-due, peer-ready│     │ lost             │ lost
 *                           │     ▼                  │
 *                          backoff ◀─────────────────┘
 *   connecting + peer-ready: remembered; the attempt lost (not refused) → connecting again at once, no backoff
 *   reconnect off: lost → down, and the app's next connect() dials again
 *   any ──close──▶ closed (final)
 *
 * An outage starts when a link is lost (or the very first attempt fails) and ends when the link is up again: the
 * app hears `down` once at its start and `up` once at its end, never once per retry.
 */

/** What the app is told (the client's `'link'` event). */
export interface LinkChange {
  up: boolean;
  /** Why the link went down (up: false). */
  reason?: string;
  /** How long the link was down (up: true); 0 on a first connect that never failed. */
  downtimeMs?: number;
}

/** Trading answered an attempt with a refusal (wrong token, too many clients, other protocol): alive, locked out. */
export interface Refusal {
  at: number;
  reason: string;
}

export interface Outage {
  since: number;
  /** Why the last attempt failed (what a call made meanwhile is told). */
  reason: string;
  /** The latest refusal of this outage, kept until the link is up. */
  refusal?: Refusal;
}

export type LinkState =
  /** Nothing tried yet. */
  | { kind: 'idle' }
  /**
   * An attempt runs: dial, hello, and with an event cursor the subscribe. `outage` unless it is the first one.
   * `peerReady`: the peer said it listens while this attempt ran (it may have dialled before): if it fails, the next
   * goes at once.
   */
  | { kind: 'connecting'; failures: number; outage?: Outage; peerReady?: boolean }
  | { kind: 'up'; since: number }
  /** Lost; the next attempt waits for its backoff (`retry-due`). */
  | { kind: 'backoff'; failures: number; outage: Outage }
  /** Lost with reconnect off: the next `connect` dials again. */
  | { kind: 'down'; failures: number; outage: Outage }
  | { kind: 'closed' };

export type LinkEvent =
  /** The app wants the link (`connect()`). */
  | { kind: 'connect' }
  /** The current attempt finished: hello answered and the stream resumed. */
  | { kind: 'connected' }
  /** The current attempt or the live link failed; `refused`: trading answered with a refusal. */
  | { kind: 'lost'; reason: string; refused?: boolean }
  /** The backoff wait is over. */
  | { kind: 'retry-due' }
  /**
   * The peer is listening now (PM2 relayed trading's `ready`, which it sends once its TCP server listens): the rest
   * of a backoff wait is skipped, the next attempt goes at once.
   */
  | { kind: 'peer-ready' }
  /** The app closes the client for good. */
  | { kind: 'close' };

export type LinkEffect =
  /** Start an attempt on a new connection. */
  | { kind: 'dial' }
  /** Close the current connection (if any) and fail what waits on it. */
  | { kind: 'drop-connection'; reason: string }
  /** Tell the app (once per change). */
  | { kind: 'report'; change: LinkChange }
  /** Deliver the event stream's notices and the replay held back while `subscribe` was answered. */
  | { kind: 'go-live' }
  | { kind: 'start-heartbeat' }
  /** Arm the re-dial after `failures` consecutive failures (the one backoff, shared/retry.ts). */
  | { kind: 'schedule-retry'; failures: number }
  | { kind: 'cancel-retry' }
  /** Settle every `connect()` waiting: resolve, or reject with `error`. */
  | { kind: 'settle-waiters'; error?: string };

export interface LinkSettings {
  /** Re-dial after a failure (the client's `reconnect` option). */
  reconnect: boolean;
}

export interface LinkStep {
  state: LinkState;
  effects: LinkEffect[];
}

export const INITIAL_LINK_STATE: LinkState = { kind: 'idle' };

export function stepLink(state: LinkState, event: LinkEvent, now: number, settings: LinkSettings): LinkStep {
  const same: LinkStep = { state, effects: [] };
  if (state.kind === 'closed') return same;
  switch (event.kind) {
    case 'connect':
      if (state.kind === 'idle')
        return { state: { kind: 'connecting', failures: 0 }, effects: [{ kind: 'dial' }] };
      if (state.kind === 'down')
        return {
          state: { kind: 'connecting', failures: state.failures, outage: state.outage },
          effects: [{ kind: 'dial' }],
        };
      // an attempt runs or is scheduled (the caller waits for it), or the link is up already
      return same;

    case 'connected': {
      if (state.kind !== 'connecting') return same;
      const downtimeMs = state.outage ? Math.max(0, now - state.outage.since) : 0;
      return {
        state: { kind: 'up', since: now },
        effects: [
          { kind: 'report', change: { up: true, downtimeMs } },
          { kind: 'go-live' },
          { kind: 'start-heartbeat' },
          { kind: 'settle-waiters' },
        ],
      };
    }

    case 'lost': {
      if (state.kind !== 'connecting' && state.kind !== 'up') return same; // a connection already given up
      const previous = state.kind === 'connecting' ? state.outage : undefined;
      const refusal = event.refused ? { at: now, reason: event.reason } : previous?.refusal;
      const outage: Outage = {
        since: previous?.since ?? now,
        reason: event.reason,
        ...(refusal ? { refusal } : {}),
      };
      const failures = (state.kind === 'connecting' ? state.failures : 0) + 1;
      const effects: LinkEffect[] = [{ kind: 'drop-connection', reason: event.reason }];
      if (!previous) effects.push({ kind: 'report', change: { up: false, reason: event.reason } });
      effects.push({ kind: 'settle-waiters', error: `Cannot reach trading: ${event.reason}` });
      if (!settings.reconnect) return { state: { kind: 'down', failures, outage }, effects };
      // the peer said it listens since this attempt dialled: the next goes now (once: a refusal is an answer, and the
      // attempt that follows waits its backoff if it fails too)
      if (state.kind === 'connecting' && state.peerReady && !event.refused) {
        effects.push({ kind: 'dial' });
        return { state: { kind: 'connecting', failures, outage }, effects };
      }
      effects.push({ kind: 'schedule-retry', failures });
      return { state: { kind: 'backoff', failures, outage }, effects };
    }

    case 'retry-due':
      if (state.kind !== 'backoff') return same;
      return {
        state: { kind: 'connecting', failures: state.failures, outage: state.outage },
        effects: [{ kind: 'dial' }],
      };

    case 'peer-ready':
      // a scheduled retry is brought forward; an attempt that runs remembers it (it may have dialled before the peer
      // listened: if it fails, the next goes at once); a link that is up or one the app dials itself (reconnect off)
      // is left as it is
      if (state.kind === 'connecting' && settings.reconnect && !state.peerReady)
        return { state: { ...state, peerReady: true }, effects: [] };
      if (state.kind !== 'backoff') return same;
      return {
        state: { kind: 'connecting', failures: state.failures, outage: state.outage },
        effects: [{ kind: 'cancel-retry' }, { kind: 'dial' }],
      };

    case 'close':
      return {
        state: { kind: 'closed' },
        effects: [
          { kind: 'cancel-retry' },
          { kind: 'drop-connection', reason: 'IPC client closed' },
          { kind: 'settle-waiters', error: 'IPC client closed' },
        ],
      };
  }
}

/** Why a call cannot be made now (the link is not up). */
export function unreachableReason(state: LinkState): string {
  if (state.kind === 'closed') return 'IPC client is closed';
  if (state.kind === 'up') return 'link is up';
  if (state.kind === 'idle' || !state.outage) return 'not connected yet';
  return state.outage.reason;
}

/** Trading's latest refusal while the link is not up (cleared once it is). */
export function refusalOf(state: LinkState): Refusal | null {
  if (state.kind === 'connecting' || state.kind === 'backoff' || state.kind === 'down')
    return state.outage?.refusal ?? null;
  return null;
}
