/**
 * The TCP link between telegram and trading: one alert when it goes down, one when it comes back — never one
 * per reconnect attempt. A link drop that PM2 already explains (trading crashed, stopped, restarting) is not a
 * second alert: the crash/online alerts say it. A drop shorter than the grace period is a blip, not an alert.
 * Pure: the caller passes what it knows with `now`.
 */
import { formatSpan } from '../../shared/format-span';
import { escapeHtml, type NotificationInput } from '../notify/notification';

export interface LinkDownContext {
  /** Still down when the grace period ended. */
  stillDown: boolean;
  /** PM2's status of trading now (undefined: PM2 unreachable or no such app). */
  tradingStatus?: string;
  /** Last time PM2 reported trading exiting or (re)starting. */
  lastLifecycleAt?: number;
  now: number;
  graceMs: number;
}

/** True when a link-down alert must go out. */
export function shouldReportLinkDown(ctx: LinkDownContext): boolean {
  if (!ctx.stillDown) return false;
  if (ctx.tradingStatus !== 'online') return false; // PM2's crash/stop alert already tells the story
  if (ctx.lastLifecycleAt !== undefined && ctx.now - ctx.lastLifecycleAt < ctx.graceMs * 2) return false;
  return true;
}

export function linkDownAlert(at: number, reason: string | undefined): NotificationInput {
  return {
    key: 'link-down:trading',
    priority: 'high',
    createdAt: at,
    text:
      `🔌 <b>TCP link to trading is down</b>${reason ? `: ${escapeHtml(reason)}` : ''}\n` +
      'PM2 says trading is online; reconnecting with backoff. Commands that need trading fail until it is back.',
  };
}

export function linkUpAlert(at: number, downMs: number | undefined): NotificationInput {
  return {
    key: 'link-up:trading',
    priority: 'normal',
    createdAt: at,
    text: `🔗 <b>TCP link to trading restored</b>${downMs !== undefined ? ` after ${formatSpan(downMs)}` : ''}`,
  };
}
