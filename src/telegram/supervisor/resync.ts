/**
 * Re-sync with PM2: the bus drops events while PM2's socket or telegram itself is away, so on telegram's start
 * and on every bus reconnect `pm2.list()` is compared with the persisted snapshot of restart counts. Restarts
 * and status changes nobody reported are reported now; telegram's own unclean end and a requested self-restart
 * are reported at start. Pure: the caller reads PM2, the breadcrumbs and the marker.
 */
import { formatSpan } from '../../shared/format-span';
import type { LastExit } from '../../shared/ipc/protocol';
import type { ConfigFailure } from '../../shared/lifecycle/config-failure';
import type { Pm2ProcessView } from '../../ops/pm2-client';
import { describeServiceState, serviceState } from '../../ops/service-state';
import { escapeHtml, type NotificationInput } from '../notify/notification';
import { configErrorNotification, describeLastRun } from './alert-policy';
import type { SelfRestartMarker } from './self-restart-marker';
import type { ProcessSnapshot } from './supervisor-state';

export type ResyncReason = 'start' | 'bus-reconnect';

export interface ResyncResult {
  alerts: NotificationInput[];
  snapshot: Record<string, ProcessSnapshot>;
}

const AWAY: Record<ResyncReason, string> = {
  start: 'while telegram was not running',
  'bus-reconnect': 'while the PM2 event bus was disconnected',
};

export function snapshotOf(p: Pm2ProcessView, now: number): ProcessSnapshot {
  return {
    restarts: p.restarts,
    status: p.status,
    ...(p.uptimeMs !== null ? { startedAt: now - p.uptimeMs } : {}),
    ...(p.exitCode !== undefined ? { exitCode: p.exitCode } : {}),
    seenAt: now,
  };
}

export function compareWithSnapshot(
  previous: Record<string, ProcessSnapshot>,
  list: Pm2ProcessView[],
  opts: {
    self: string;
    reason: ResyncReason;
    now: number;
    lastRuns: Record<string, LastExit | undefined>;
    /** What services that exited 78 recorded about their configuration. */
    configFailures?: Record<string, ConfigFailure | undefined>;
  },
): ResyncResult {
  const alerts: NotificationInput[] = [];
  const snapshot: Record<string, ProcessSnapshot> = {};
  const away = AWAY[opts.reason];
  for (const p of list) {
    snapshot[p.name] = snapshotOf(p, opts.now);
    const before = previous[p.name];
    if (p.name === opts.self) continue;
    const state = serviceState(p, opts.configFailures?.[p.name]);
    if (!before) {
      // first sight of it (telegram's first start, or it started after the service failed): a service PM2 will not
      // restart by itself is worth telling; one running or restarting is PM2's business
      if (state.kind === 'config-error')
        alerts.push(configErrorNotification(p.name, p.exitCode, state.failure, opts.now));
      else if (state.kind === 'gave-up')
        alerts.push({
          key: `missed-stop:${p.name}`,
          priority: 'critical',
          createdAt: opts.now,
          text: `⚠️ <b>${escapeHtml(p.name)} is ${escapeHtml(describeServiceState(p.name, state))}</b>`,
        });
      continue;
    }
    const name = escapeHtml(p.name);
    const startedAt = snapshot[p.name].startedAt;
    // a new run started since we looked: more restarts, or the counter was reset but the run is a new one
    const missed =
      p.restarts > before.restarts
        ? p.restarts - before.restarts
        : p.restarts < before.restarts &&
            startedAt !== undefined &&
            before.startedAt !== undefined &&
            Math.abs(startedAt - before.startedAt) > 2000
          ? 1
          : 0;
    const how = describeLastRun(opts.lastRuns[p.name], p.exitCode);
    if (missed > 0) {
      alerts.push({
        key: `missed-restart:${p.name}`,
        priority: 'high',
        createdAt: opts.now,
        text:
          `⚠️ <b>${name} restarted ${missed === 1 ? 'once' : `${missed} times`} ${away}</b> (missed alert${missed === 1 ? '' : 's'})\n` +
          `last exit: ${how}\nnow: ${escapeHtml(p.status)}${p.uptimeMs !== null ? `, up ${formatSpan(p.uptimeMs)}` : ''}, restarts ${p.restarts}`,
      });
    } else if (before.status === 'online' && p.status !== 'online' && p.status !== 'launching') {
      alerts.push({
        key: `missed-stop:${p.name}`,
        priority: state.kind === 'gave-up' || state.kind === 'config-error' ? 'critical' : 'high',
        createdAt: opts.now,
        text: `⚠️ <b>${name} is ${escapeHtml(describeServiceState(p.name, state))}</b> — it changed ${away}\nlast exit: ${how}`,
      });
    }
  }
  for (const [nameRaw, before] of Object.entries(previous)) {
    if (nameRaw === opts.self || snapshot[nameRaw] || before.status === 'deleted') continue;
    alerts.push({
      key: `missed-delete:${nameRaw}`,
      priority: 'high',
      createdAt: opts.now,
      text: `⚠️ <b>${escapeHtml(nameRaw)} is no longer in PM2</b> — removed ${away}`,
    });
  }
  return { alerts, snapshot };
}

/** What telegram says about its own start: a requested restart confirmed, or an unclean end reported. */
export function selfStartAlerts(
  self: string,
  lastExit: LastExit,
  marker: SelfRestartMarker | undefined,
  now: number,
): NotificationInput[] {
  const name = escapeHtml(self);
  if (marker) {
    return [
      {
        key: `self-restart:${self}`,
        priority: 'normal',
        createdAt: now,
        ...(marker.chatId ? { chatId: marker.chatId } : {}),
        text: `✅ <b>${name} restarted as requested</b> (back after ${formatSpan(Math.max(0, now - marker.requestedAt))})`,
      },
    ];
  }
  if (lastExit.kind === 'crash' || lastExit.kind === 'stall' || lastExit.kind === 'killed') {
    const reason = lastExit.reason ? `: ${escapeHtml(lastExit.reason)}` : '';
    const when = lastExit.at !== undefined ? ` (${formatSpan(Math.max(0, now - lastExit.at))} ago)` : '';
    return [
      {
        key: `self-crash:${self}`,
        priority: 'high',
        createdAt: now,
        text:
          `⚠️ <b>${name} restarted after an unclean end</b> — last run: ${escapeHtml(lastExit.kind)}${reason}${when}\n` +
          'Alerts it missed meanwhile are re-checked from PM2 and trading’s event stream.',
      },
    ];
  }
  return [];
}
