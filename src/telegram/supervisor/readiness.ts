/**
 * "Back online" means ready. PM2's `online` is not: with wait_ready PM2 also says `online` when the ready message
 * never came (listen_timeout) and, just before its `exit`, for a process that died while starting (a missing
 * module, a config error). So the "✅ back online" alert waits for the service's own `ready` message (PM2 forwards
 * it on its bus as `process:msg` — before its `online` of the same run), and for trading also for its `recovery`
 * summary from the TCP event stream (published just before ready; the link may deliver it a little later), so the
 * operator gets one message that says what recovery found. A run that exits before ready gets no "back online"
 * (its exit is a crash alert of its own). An online caused by a restart with no crash before it waits a moment
 * after ready for PM2's `restart` event of an operator (which PM2 sends only after ready) to name the cause.
 *
 * Pure: `stepReadiness(state, event, now, settings)` changes the state and says what is due; the bus listener
 * queues the alerts, notifies recoveries that were not merged on their own, and calls again at `wakeAt`.
 */
import type { TradingEvent } from '../../shared/ipc/protocol';
import type { OnlineReport } from './alert-policy';

export interface PendingOnline {
  report: OnlineReport;
  /** When the service said ready; undefined until then. */
  readyAt?: number;
  /** trading's recovery summary of this run, and when it came (it waits for ready at most recoveryWaitMs). */
  recovery?: TradingEvent;
  recoveryAt?: number;
}

export interface ReadinessState {
  pending: Record<string, PendingOnline>;
  /** A ready that came before PM2's online of the same run (PM2 forwards the message first). */
  readyBeforeOnline: Record<string, number>;
  /** trading's recovery that came before its online, and when it came. */
  earlyRecovery?: { event: TradingEvent; at: number };
}

export function emptyReadinessState(): ReadinessState {
  return { pending: {}, readyBeforeOnline: {} };
}

export type ReadinessEvent =
  /** PM2 says online; `waitsForReady`: the app has wait_ready (else online is all there is). */
  | { kind: 'online'; report: OnlineReport; waitsForReady: boolean }
  | { kind: 'ready'; service: string }
  /** `onlineDue`: PM2 reported trading down (or an operator restarting it), so an online of its is expected. */
  | { kind: 'recovery'; event: TradingEvent; onlineDue: boolean }
  /** PM2's `restart` event sent by an operator's command (it follows the online). */
  | { kind: 'operator-restart'; service: string }
  | { kind: 'exit'; service: string }
  /** Time passed (called at `wakeAt`). */
  | { kind: 'tick' }
  /** The listener closes: what is ready goes out now, the rest is dropped. */
  | { kind: 'close' };

export interface ReadinessSettings {
  /** PM2 name of the trading service (its online waits for the recovery summary). */
  trading: string;
  /** How long trading's ready waits for its recovery event, and how long a recovery waits for its run's online. */
  recoveryWaitMs: number;
  /** How long a restart-caused online waits after ready for an operator's `restart` event. */
  operatorConfirmMs: number;
}

export interface ReadinessOutcome {
  /** "Back online" alerts due now, with trading's recovery summary when it was merged. */
  online: Array<{ report: OnlineReport; recovery?: TradingEvent }>;
  /** Recovery events that will not be merged into a back-online alert: notify them on their own. */
  unmerged: TradingEvent[];
  /** When to call again with `tick`, if anything waits on time. */
  wakeAt?: number;
}

export function stepReadiness(
  state: ReadinessState,
  event: ReadinessEvent,
  now: number,
  settings: ReadinessSettings,
): ReadinessOutcome {
  const out: ReadinessOutcome = { online: [], unmerged: [] };
  const dropRecovery = (recovery: TradingEvent | undefined): void => {
    if (recovery) out.unmerged.push(recovery);
  };

  switch (event.kind) {
    case 'online': {
      const service = event.report.service;
      const stale = state.pending[service];
      if (stale) dropRecovery(stale.recovery); // its run never said ready and PM2 started another
      const readyBefore = state.readyBeforeOnline[service];
      delete state.readyBeforeOnline[service];
      const readyAt = event.waitsForReady ? readyBefore : now;
      const pending: PendingOnline = { report: event.report, ...(readyAt !== undefined ? { readyAt } : {}) };
      if (service === settings.trading && state.earlyRecovery) {
        pending.recovery = state.earlyRecovery.event;
        pending.recoveryAt = state.earlyRecovery.at;
        delete state.earlyRecovery;
      }
      state.pending[service] = pending;
      break;
    }
    case 'ready': {
      const pending = state.pending[event.service];
      if (pending && pending.readyAt === undefined) pending.readyAt = now;
      else if (!pending) state.readyBeforeOnline[event.service] = now;
      break;
    }
    case 'recovery': {
      const pending = state.pending[settings.trading];
      // a recovery replayed long after (telegram was away), or with no outage known, belongs to a run whose online
      // this listener will not see: it goes out on its own
      const fresh = now - event.event.ts < settings.recoveryWaitMs;
      if (!fresh || (!pending && !event.onlineDue)) dropRecovery(event.event);
      else if (pending && !pending.recovery) {
        pending.recovery = event.event;
        pending.recoveryAt = now;
      } else {
        dropRecovery(state.earlyRecovery?.event);
        state.earlyRecovery = { event: event.event, at: now };
      }
      break;
    }
    case 'operator-restart': {
      const pending = state.pending[event.service];
      if (pending?.report.cause === 'restart') pending.report.cause = 'operator';
      break;
    }
    case 'exit': {
      // a run that ended before it was ready gets no "back online"; one that was ready (still waiting for its
      // recovery summary or an operator's confirmation) gets it now, before its exit is reported
      const pending = state.pending[event.service];
      delete state.pending[event.service];
      delete state.readyBeforeOnline[event.service];
      if (pending?.readyAt !== undefined) out.online.push(emitted(pending));
      else dropRecovery(pending?.recovery);
      if (event.service === settings.trading && state.earlyRecovery) {
        dropRecovery(state.earlyRecovery.event);
        delete state.earlyRecovery;
      }
      break;
    }
    case 'tick':
      break;
    case 'close': {
      for (const [service, pending] of Object.entries(state.pending)) {
        delete state.pending[service];
        if (pending.readyAt !== undefined) out.online.push(emitted(pending));
        else dropRecovery(pending.recovery);
      }
      dropRecovery(state.earlyRecovery?.event);
      delete state.earlyRecovery;
      return out;
    }
  }

  let wakeAt: number | undefined;
  const wake = (at: number): void => {
    wakeAt = wakeAt === undefined ? at : Math.min(wakeAt, at);
  };
  for (const [service, pending] of Object.entries(state.pending)) {
    if (pending.readyAt === undefined) {
      // a run slow to get ready (waiting for the exchange) must not hold the event stream behind its recovery
      if (pending.recovery && pending.recoveryAt !== undefined) {
        const releaseAt = pending.recoveryAt + settings.recoveryWaitMs;
        if (releaseAt <= now) {
          dropRecovery(pending.recovery);
          delete pending.recovery;
          delete pending.recoveryAt;
        } else wake(releaseAt);
      }
      continue;
    }
    const due = dueAt(service, pending, settings);
    if (due <= now) {
      delete state.pending[service];
      out.online.push(emitted(pending));
    } else wake(due);
  }
  if (state.earlyRecovery) {
    const expires = state.earlyRecovery.at + settings.recoveryWaitMs;
    if (expires <= now) {
      dropRecovery(state.earlyRecovery.event);
      delete state.earlyRecovery;
    } else wake(expires);
  }
  if (wakeAt !== undefined) out.wakeAt = wakeAt;
  return out;
}

/** When a ready pending online may go: at once, or after waiting for the recovery / an operator's confirmation. */
function dueAt(service: string, pending: PendingOnline, settings: ReadinessSettings): number {
  const readyAt = pending.readyAt!;
  let due = readyAt;
  if (service === settings.trading && !pending.recovery)
    due = Math.max(due, readyAt + settings.recoveryWaitMs);
  if (pending.report.cause === 'restart') due = Math.max(due, readyAt + settings.operatorConfirmMs);
  return due;
}

/** The report as sent: back at the ready, down since the outage began. */
function emitted(pending: PendingOnline): { report: OnlineReport; recovery?: TradingEvent } {
  const readyAt = pending.readyAt!;
  const { downSince, ...rest } = pending.report;
  const report: OnlineReport = {
    ...rest,
    at: readyAt,
    ...(downSince !== undefined ? { downSince, downMs: Math.max(0, readyAt - downSince) } : {}),
  };
  return { report, ...(pending.recovery ? { recovery: pending.recovery } : {}) };
}
