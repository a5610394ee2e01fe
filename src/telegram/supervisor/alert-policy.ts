/**
 * PM2 process events → operator alerts. Pure: the state of each watched service is plain data passed in and
 * returned changed; time and the last-run breadcrumb come in as arguments.
 *
 * | what PM2 says                                   | alert                                                     |
 * |-------------------------------------------------|-----------------------------------------------------------|
 * | exit, not during an operator stop               | 💥 crash (high): exit code, how the run ended, restart #, next delay |
 * | exit with a stop exit code (78)                 | 🛑 not restarted: configuration error (critical)          |
 * | restart overlimit                               | 🛑 PM2 gave up restarting (critical)                      |
 * | online after any of those / a hang restart      | returned as `online`: the listener sends ✅ back online (normal) once the service is ready (readiness.ts) |
 * | stop (manually)                                 | ⏹ stopped by an operator (normal)                         |
 */
import { formatSpan } from '../../shared/format-span';
import type { LastExit } from '../../shared/ipc/protocol';
import type { ConfigFailure } from '../../shared/lifecycle/config-failure';
import { configFixHint } from '../../ops/service-state';
import { escapeHtml, type NotificationInput } from '../notify/notification';
import { nextRestartDelayMs, type ProcessEvent } from './process-event';

/** Why a service is coming back online. */
export type OnlineCause = 'crash' | 'config' | 'hang' | 'overlimit' | 'restart' | 'operator' | 'start';

export interface ServiceWatch {
  /** An operator stop/restart is in progress (an `exit` with status `stopping` was seen). */
  operatorAction?: boolean;
  /** The operator's stop completed (second `exit`, status `stopped`); a following `online` is a restart. */
  stoppedByOperator?: boolean;
  /** An outage in progress; it ends when the service is ready again (markReady), not at PM2's `online`. */
  down?: { cause: OnlineCause; since: number; exitCode?: number };
  /** `restart overlimit` was reported: the `errored` exit that follows is not a second alert. */
  overlimitAt?: number;
}

export type WatchState = Record<string, ServiceWatch>;

export interface OnlineReport {
  service: string;
  cause: OnlineCause;
  /** When the outage began, when known. */
  downSince?: number;
  /** How long the service was down (until ready), when known. */
  downMs?: number;
  at: number;
  restarts: number;
}

export interface AlertDecision {
  alerts: NotificationInput[];
  /** The event was an unplanned exit (counts towards the crash-loop policy). */
  crashed: boolean;
  /** The service came online; the listener finishes the message (recovery summary) and sends it. */
  online?: OnlineReport;
  /** An operator restart was confirmed by PM2's `restart` event (upgrades a held online report). */
  operatorRestartConfirmed?: boolean;
}

/** Exit code 75: another instance holds the state lock (see lifecycle/exit-codes.ts). */
const LOCK_HELD_EXIT = 75;

/**
 * `configFailure`: what the service recorded before an exit with a stop exit code (78), so the alert names the field.
 */
export function decide(
  state: WatchState,
  ev: ProcessEvent,
  lastRun?: LastExit,
  configFailure?: ConfigFailure,
): AlertDecision {
  const watch = (state[ev.name] ??= {});
  const name = escapeHtml(ev.name);
  const none: AlertDecision = { alerts: [], crashed: false };

  switch (ev.event) {
    case 'exit': {
      if (ev.status === 'stopping') {
        watch.operatorAction = true;
        return none;
      }
      if (watch.operatorAction && ev.status === 'stopped') {
        // second packet of an operator stop; a crash after this (e.g. during the restart) is a crash again
        watch.operatorAction = false;
        watch.stoppedByOperator = true;
        return none;
      }
      if (ev.status === 'errored' && watch.overlimitAt !== undefined) return { alerts: [], crashed: true };
      // a run that died before it was ready did not end the outage: it goes on from where it began
      const configError = ev.exitCode !== undefined && ev.stopExitCodes.includes(ev.exitCode);
      watch.down = {
        cause: configError ? 'config' : 'crash',
        since: watch.down?.since ?? ev.at,
        ...(ev.exitCode !== undefined ? { exitCode: ev.exitCode } : {}),
      };
      return { alerts: [crashAlert(ev, lastRun, configFailure)], crashed: true };
    }
    case 'restart overlimit': {
      watch.overlimitAt = ev.at;
      watch.down = { cause: 'overlimit', since: watch.down?.since ?? ev.at };
      return {
        alerts: [
          {
            key: `overlimit:${ev.name}`,
            priority: 'critical',
            createdAt: ev.at,
            text:
              `🛑 <b>${name} stopped by PM2</b>: ${ev.unstableRestarts || 'too many'} unstable restarts in a row, ` +
              `PM2 will not restart it again.\nFix the cause, then /restart ${name}.`,
          },
        ],
        crashed: false,
      };
    }
    case 'online': {
      const cause: OnlineCause =
        watch.down?.cause ?? (watch.operatorAction || watch.stoppedByOperator ? 'restart' : 'start');
      const since = watch.down?.since;
      // the outage (`down`) stays until the service is ready: a run that dies while starting continues it
      state[ev.name] = watch.down ? { down: watch.down } : {};
      return {
        alerts: [],
        crashed: false,
        online: {
          service: ev.name,
          cause,
          at: ev.at,
          restarts: ev.restarts,
          ...(since !== undefined ? { downSince: since } : {}),
        },
      };
    }
    case 'stop': {
      if (!ev.manually) return none;
      state[ev.name] = {};
      return {
        alerts: [
          {
            key: `stop:${ev.name}`,
            priority: 'normal',
            createdAt: ev.at,
            text: `⏹ <b>${name} stopped by an operator</b>`,
          },
        ],
        crashed: false,
      };
    }
    case 'restart':
    case 'reload':
      return ev.manually ? { alerts: [], crashed: false, operatorRestartConfirmed: true } : none;
    case 'delete':
      if (!ev.manually) return none;
      delete state[ev.name];
      return {
        alerts: [
          {
            key: `delete:${ev.name}`,
            priority: 'normal',
            createdAt: ev.at,
            text: `🗑 <b>${name} removed from PM2</b> by an operator`,
          },
        ],
        crashed: false,
      };
    default:
      return none;
  }
}

/** The service said ready after its online: its outage is over. */
export function markReady(state: WatchState, service: string): void {
  if (state[service]) delete state[service].down;
}

/** Marks a restart the supervisor itself ordered (hang), so its `online` is reported as recovery from a hang. */
export function markHangRestart(state: WatchState, service: string, at: number): void {
  state[service] = { ...(state[service] ?? {}), down: { cause: 'hang', since: at } };
}

function crashAlert(
  ev: ProcessEvent,
  lastRun: LastExit | undefined,
  configFailure: ConfigFailure | undefined,
): NotificationInput {
  const code = ev.exitCode;
  if (code !== undefined && ev.stopExitCodes.includes(code)) return configErrorAlert(ev, configFailure);
  const name = escapeHtml(ev.name);
  const delay = nextRestartDelayMs(ev);
  const lines: string[] = [];
  const title =
    code === LOCK_HELD_EXIT
      ? `💥 <b>${name} refused to start</b>: another instance holds its state lock (exit 75)`
      : `💥 <b>${name} crashed</b>`;

  const how = describeLastRun(lastRun, code);
  lines.push(how);
  const uptime = ev.startedAt !== undefined ? ` after ${formatSpan(ev.at - ev.startedAt)} up` : '';
  if (delay === undefined) {
    lines.push(`not restarted${uptime} (restarts so far: ${ev.restarts})`);
  } else {
    lines.push(`restart #${ev.restarts + 1} in ${formatSpan(delay)}${uptime}`);
  }
  return { key: `crash:${ev.name}`, priority: 'high', createdAt: ev.at, text: [title, ...lines].join('\n') };
}

/** Exit with a stop exit code (78): PM2 will not restart it; the alert names what to fix (the service's record). */
function configErrorAlert(ev: ProcessEvent, failure: ConfigFailure | undefined): NotificationInput {
  return configErrorNotification(ev.name, ev.exitCode, failure, ev.at);
}

/** "🛑 trading stopped: configuration error … fix <field>, then `npm start`", with each recorded problem. */
export function configErrorNotification(
  service: string,
  exitCode: number | undefined,
  failure: ConfigFailure | undefined,
  at: number,
): NotificationInput {
  const name = escapeHtml(service);
  const lines = [
    `🛑 <b>${name} stopped: configuration error</b> (exit ${exitCode ?? '?'}) — PM2 will not restart it`,
    escapeHtml(configFixHint(service, failure)),
  ];
  for (const p of failure?.problems.slice(0, 10) ?? [])
    lines.push(`• ${escapeHtml(truncate(`${p.field} = ${p.value}: ${p.message}`, 400))}`);
  return { key: `config-error:${service}`, priority: 'critical', createdAt: at, text: lines.join('\n') };
}

/** "exit code 1 · crash: Error: boom" — PM2 reports a death by signal as 0, so the breadcrumb decides. */
export function describeLastRun(lastRun: LastExit | undefined, exitCode: number | undefined): string {
  const codeText = exitCode === undefined ? 'exit code unknown' : `exit code ${exitCode}`;
  const reason = lastRun?.reason ? `: ${escapeHtml(truncate(lastRun.reason, 300))}` : '';
  switch (lastRun?.kind) {
    case 'crash':
      return `${codeText} · crashed${reason}`;
    case 'stall':
      return `${codeText} · killed by its watchdog (event loop stalled)${reason}`;
    case 'killed':
      return `killed by a signal (SIGKILL, OOM…): no shutdown ran${exitCode === 0 ? ' (PM2 reports code 0)' : ` · ${codeText}`}`;
    case 'clean':
      return `${codeText} · shut down cleanly but not through PM2 (a signal from outside?)${reason}`;
    default:
      return exitCode === 0 ? 'exit code 0 with no breadcrumb: most likely killed by a signal' : codeText;
  }
}

function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  // never half an emoji: a lone surrogate is not UTF-8, and Telegram refuses the text (review 44g)
  return s.slice(0, max - 1).replace(/[\ud800-\udbff]$/, '') + '…';
}

const ONLINE_TITLE: Record<OnlineCause, string> = {
  crash: 'back online after a crash',
  config: 'running again after its configuration error',
  hang: 'back online after the hang restart',
  overlimit: 'back online (it had been stopped by PM2)',
  restart: 'restarted and online (not by a /restart: PM2 memory limit or reload?)',
  operator: 'restarted by an operator and online',
  start: 'started',
};

/** The online message; `recoveryText` (trading's recovery summary, already HTML) is appended when known. */
export function onlineAlert(
  report: OnlineReport,
  recoveryText?: string,
  recoveryEventSeq?: number,
): NotificationInput {
  const name = escapeHtml(report.service);
  const down = report.downMs !== undefined ? ` (down ${formatSpan(report.downMs)})` : '';
  const icon = report.cause === 'start' ? '▶️' : '✅';
  const lines = [`${icon} <b>${name} ${ONLINE_TITLE[report.cause]}</b>${down}`];
  if (recoveryText) lines.push(recoveryText);
  return {
    key: `online:${report.service}`,
    priority: report.cause === 'start' ? 'low' : 'normal',
    silent: report.cause === 'start',
    createdAt: report.at,
    text: lines.join('\n'),
    ...(recoveryEventSeq !== undefined ? { eventSeq: recoveryEventSeq } : {}),
  };
}
