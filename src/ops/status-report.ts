/**
 * The one status report, shared by the bot's /status and `byninja status`: every service as PM2 sees it (with
 * how its last run ended), trading's own view over the TCP layer, the TCP link and the outbox depth. Each part
 * fails on its own: trading unreachable still shows PM2's view, PM2 unreachable still shows trading's.
 */
import { errorMessage } from '../shared/errors';
import type { LastExit, TradingStatus } from '../shared/ipc/protocol';
import { readConfigFailure } from '../shared/lifecycle/config-failure';
import { buildOfProcess, installRoot, type BuildView } from '../shared/lifecycle/builds';
import { ExitCode } from '../shared/lifecycle/exit-codes';
import { readRunTraces } from '../shared/lifecycle/last-exit';
import { lastRunFromBreadcrumb, readExitBreadcrumb } from './last-run';
import type { Pm2ProcessView } from './pm2-client';
import { serviceState, type ServiceState } from './service-state';
import { SERVICES } from './services';
import { readDelivery, type TelegramDelivery } from './telegram-delivery';
import type { TradingRpc } from './trading-client';

export interface ServiceReport {
  name: string;
  /** Undefined when PM2 does not manage an app of that name (or PM2 is unreachable). */
  pm2?: Pm2ProcessView;
  /** What PM2's status means (a config error with the field to fix, a crash loop with the next delay…). */
  state: ServiceState;
  /** How the last finished run ended, when known. */
  lastRun?: LastExit;
  /** The build its running process started from, and the current one when that differs (builds.ts). */
  build?: BuildView;
}

export type TradingView = { reachable: true; status: TradingStatus } | { reachable: false; reason: string };

export interface LinkView {
  up: boolean;
  reason?: string;
  /** Epoch ms of the last change. */
  since?: number;
}

export interface StatusReport {
  generatedAt: number;
  pm2: { reachable: boolean; error?: string };
  services: ServiceReport[];
  trading: TradingView;
  /** The telegram daemon's TCP link to trading (absent in the CLI, which only has a one-shot connection). */
  link?: LinkView;
  /** Notifications waiting in the outbox (telegram only). */
  outboxDepth?: number;
  /** Where telegram's alerts go and the Telegram-side problem in progress, when known. */
  telegram?: TelegramDelivery;
}

export interface StatusReportDeps {
  pm2: { list(): Promise<Pm2ProcessView[]> };
  /** Trading's control API; a function when the connection itself may fail (CLI one-shot). */
  trading: TradingRpc | (() => Promise<TradingStatus>);
  dataDir: string;
  services?: readonly string[];
  link?: LinkView;
  outboxDepth?: number;
  /** Last-exit knowledge a service holds about itself (telegram's ServiceContext.lastExit). */
  knownLastExits?: Record<string, LastExit>;
  /** The telegram service's own live view of its delivery (else read from its record in the data dir). */
  telegramDelivery?: TelegramDelivery;
  /** Services online in PM2 that have not said ready yet (the supervisor's view). */
  notReady?: string[];
  /** The install whose builds the services run (default: the one this code runs from; none outside a build). */
  installRoot?: string;
  now: number;
}

async function tradingView(trading: StatusReportDeps['trading']): Promise<TradingView> {
  try {
    if (typeof trading === 'function') return { reachable: true, status: await trading() };
    if (!trading.connected) return { reachable: false, reason: 'TCP link to trading is down' };
    return { reachable: true, status: await trading.call('status', {}) };
  } catch (err) {
    return { reachable: false, reason: errorMessage(err) };
  }
}

export async function buildStatusReport(deps: StatusReportDeps): Promise<StatusReport> {
  const names = deps.services ?? SERVICES;
  const [pm2Result, trading] = await Promise.all([
    deps.pm2.list().then(
      (list) => ({ ok: true as const, list }),
      (err: unknown) => ({ ok: false as const, error: errorMessage(err) }),
    ),
    tradingView(deps.trading),
  ]);
  const list = pm2Result.ok ? pm2Result.list : [];
  const root = deps.installRoot ?? installRoot();
  const services = await Promise.all(
    names.map(async (name): Promise<ServiceReport> => {
      const proc = list.find((p) => p.name === name);
      const crumb = await readExitBreadcrumb(deps.dataDir, name);
      const tradingSelf = name === 'trading' && trading.reachable ? trading.status : undefined;
      const selfKnown = tradingSelf ? tradingSelf.lastExit : deps.knownLastExits?.[name];
      const lastRun =
        lastRunFromBreadcrumb(crumb, proc, tradingSelf?.pid, deps.now, readRunTraces(deps.dataDir, name)) ??
        selfKnown;
      const failure =
        proc && proc.exitCode === ExitCode.Config ? readConfigFailure(deps.dataDir, name) : undefined;
      const build =
        root && proc?.status === 'online' && proc.pid ? buildOfProcess(root, proc.pid) : undefined;
      return {
        name,
        ...(proc ? { pm2: proc } : {}),
        state: serviceState(proc, failure, deps.notReady?.includes(name) ?? false),
        ...(lastRun ? { lastRun } : {}),
        ...(build ? { build } : {}),
      };
    }),
  );
  const telegramProc = list.find((p) => p.name === 'telegram' && p.status === 'online');
  const telegram =
    deps.telegramDelivery ?? (telegramProc ? readDelivery(deps.dataDir, telegramProc.pid) : undefined);
  const report: StatusReport = {
    generatedAt: deps.now,
    pm2: pm2Result.ok ? { reachable: true } : { reachable: false, error: pm2Result.error },
    services,
    trading,
  };
  if (deps.link) report.link = deps.link;
  if (deps.outboxDepth !== undefined) report.outboxDepth = deps.outboxDepth;
  if (telegram) report.telegram = telegram;
  return report;
}
