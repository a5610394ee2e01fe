/**
 * How a service's last run ended, as an outside observer (status report) sees it: the lifecycle breadcrumb
 * `<dataDir>/<service>.last-exit.json` (shared/lifecycle/last-exit.ts) read against PM2's view of the process.
 * The breadcrumb says `running` while a run is alive; a `running` breadcrumb whose pid is not the live process
 * means that run was killed (SIGKILL, OOM) — PM2's own exit code cannot tell: it records a signal as 0.
 */
import type { LastExit } from '../shared/lifecycle/last-exit';
import {
  breadcrumbPath,
  interpretBreadcrumb,
  readBreadcrumb,
  type Breadcrumb,
  type RunTraces,
} from '../shared/lifecycle/last-exit';
import type { Pm2ProcessView } from './pm2-client';

/** Undefined when missing or unreadable (a torn breadcrumb is no reason to fail a status). */
export async function readExitBreadcrumb(dataDir: string, service: string): Promise<Breadcrumb | undefined> {
  const crumb = readBreadcrumb(breadcrumbPath(dataDir, service));
  return typeof crumb === 'string' ? undefined : crumb;
}

/**
 * What the breadcrumb says about the last run that ended, given the live process now (PM2's view, and the pid the
 * service itself reports — it may run outside PM2). Undefined while the breadcrumb only describes the run in
 * progress (then the service's own report of its previous run — trading's `status.lastExit`, telegram's
 * `ServiceContext.lastExit` — is the source) or when there is none.
 */
export function lastRunFromBreadcrumb(
  crumb: Breadcrumb | undefined,
  proc: Pm2ProcessView | undefined,
  selfReportedPid: number | undefined,
  now: number,
  traces?: RunTraces,
): LastExit | undefined {
  if (!crumb) return undefined;
  const online = proc?.status === 'online';
  const livePids = [online ? proc.pid : undefined, selfReportedPid];
  const stillThatRun = crumb.kind === 'running' && livePids.includes(crumb.pid);
  // a killed run died before PM2 started the run that is online now (within PM2's restart delay, after a kill under
  // a running PM2; its last sign of life in `traces` dates it when the whole server was down meanwhile)
  const restartedAt = online && proc.uptimeMs !== null ? now - proc.uptimeMs : undefined;
  return stillThatRun ? undefined : interpretBreadcrumb(crumb, restartedAt, traces);
}
