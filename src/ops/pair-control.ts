/**
 * Starting, restarting and upgrading the pair — what `npm start`, `npm restart` and `npm run upgrade` run
 * (`byninja start [--build] [--restart]`, `byninja upgrade`):
 *  - start: a service that already runs is left alone (said so, nothing rebuilt or restarted); the others are
 *    started from the current build through ecosystem.config.js. With `--build` (npm start) and nothing running,
 *    the code is built first.
 *  - restart (`--restart`): one service at a time, through the ecosystem with --update-env (the current
 *    configuration variables reach it; PM2 otherwise keeps those of the first start), each waited for until ready.
 *  - upgrade: build (a failed build stops here: nothing restarted, dist/ unchanged), then the rolling restart.
 * Telegram goes first, so the supervisor that watches trading's restart is already the new one, and a telegram
 * that does not come back stops the sequence before trading is touched.
 *
 * "Ready" is the service's own ready message on PM2's bus (trading: after recovery), never PM2's `online`.
 */
import { formatSpan } from '../shared/format-span';
import type { EventEmitter } from 'node:events';
import type { CancelTimer, Clock } from '../shared/clock';
import { NoAnswerYetError } from '../shared/errors';
import { readConfigFailure } from '../shared/lifecycle/config-failure';
import { ExitCode } from '../shared/lifecycle/exit-codes';
import { readyMessageOf, type Pm2BusPacket, type Pm2Client, type Pm2ProcessView } from './pm2-client';
import { configFixHint } from './service-state';

/** Start order: the supervisor first. */
const ORDER = ['telegram', 'trading'] as const;

export interface PairControlOptions {
  pm2: Pick<Pm2Client, 'list' | 'launchBus' | 'startFromEcosystem' | 'restartFromEcosystem' | 'stop'>;
  /** Absolute path of ecosystem.config.js. */
  ecosystem: string;
  dataDir: string;
  /** Runs `npm run build`; resolves whether it succeeded. */
  build: () => Promise<boolean>;
  out: (line: string) => void;
  /** How long a service may take to say ready (default 90 s: PM2's listen_timeout is 20 s, recovery may wait longer). */
  readyTimeoutMs?: number;
  clock: Clock;
}

type Outcome = { ok: true; pid?: number } | { ok: false; why: string };

/** Running, or PM2 will run it by itself (a backoff wait after a crash): not ours to start. */
function isRunning(p: Pm2ProcessView | undefined): boolean {
  if (!p) return false;
  if (['online', 'launching', 'stopping'].includes(p.status)) return true;
  return p.status === 'waiting restart' && p.exitCode !== ExitCode.Config;
}

export async function startPair(
  opts: PairControlOptions,
  mode: { build: boolean; restart: boolean },
): Promise<boolean> {
  const list = await opts.pm2.list();
  const byName = new Map(list.map((p) => [p.name, p]));
  if (mode.restart) return rollingRestart(opts, await opts.pm2.launchBus(), byName);

  const running = ORDER.filter((name) => isRunning(byName.get(name)));
  const toStart = ORDER.filter((name) => !running.includes(name));
  if (toStart.length === 0) {
    const what = ORDER.map((name) => describeRunning(name, byName.get(name)!)).join(', ');
    opts.out(
      `ByNinja is already running: ${what}. Nothing done (no build, no restart).\n` +
        '  `npm restart` restarts both with the current build and environment; `npm run upgrade` builds, then restarts.',
    );
    return true;
  }
  if (running.length > 0)
    opts.out(`${running.map((name) => describeRunning(name, byName.get(name)!)).join(', ')}: left as it is.`);
  if (mode.build && running.length === 0) {
    opts.out('building…');
    if (!(await opts.build())) {
      opts.out('❌ build failed: nothing started.');
      return false;
    }
  }
  const bus = await opts.pm2.launchBus();
  let ok = true;
  for (const name of toStart) {
    opts.out(`starting ${name}…`);
    const outcome = await untilReady(opts, bus, name, () =>
      opts.pm2.startFromEcosystem(opts.ecosystem, name),
    );
    ok = report(opts, name, outcome) && ok;
  }
  return ok;
}

/** What `byninja start|stop <service>` did, for --json. */
export interface ServiceControlOutcome {
  service: string;
  action: 'started' | 'already-running' | 'stopped' | 'already-stopped' | 'failed';
  ok: boolean;
  pid?: number;
  why?: string;
}

/**
 * `byninja start <service>`: one service from the current build through the ecosystem (with the current
 * environment), waited for until ready; one that runs already is left alone and said so.
 */
export async function startService(
  opts: PairControlOptions,
  name: (typeof ORDER)[number],
): Promise<ServiceControlOutcome> {
  const current = (await opts.pm2.list()).find((p) => p.name === name);
  if (isRunning(current)) {
    opts.out(`${describeRunning(name, current!)}: already running, nothing done.`);
    return {
      service: name,
      action: 'already-running',
      ok: true,
      ...(current!.pid ? { pid: current!.pid } : {}),
    };
  }
  opts.out(`starting ${name}…`);
  const outcome = await untilReady(opts, await opts.pm2.launchBus(), name, () =>
    opts.pm2.startFromEcosystem(opts.ecosystem, name),
  );
  report(opts, name, outcome);
  return outcome.ok
    ? { service: name, action: 'started', ok: true, ...(outcome.pid ? { pid: outcome.pid } : {}) }
    : { service: name, action: 'failed', ok: false, why: outcome.why };
}

/** `byninja stop <service>`: a graceful stop through PM2 (SIGINT, shutdown steps, state flushed). */
export async function stopService(
  opts: Pick<PairControlOptions, 'pm2' | 'out'>,
  name: (typeof ORDER)[number],
): Promise<ServiceControlOutcome> {
  const current = (await opts.pm2.list()).find((p) => p.name === name);
  if (!current || current.status === 'stopped') {
    opts.out(`${name} is not running${current ? ` (${current.status})` : ' (not in PM2)'}: nothing to stop.`);
    return { service: name, action: 'already-stopped', ok: true };
  }
  try {
    await opts.pm2.stop(name);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    // past Pm2Client's deadline PM2 may still stop it: not a failure to report as one
    if (err instanceof NoAnswerYetError)
      opts.out(
        `⏳ ${name}: no answer from PM2 yet — PM2 may still be stopping it; see \`npx byninja status\`. ${why}`,
      );
    else opts.out(`❌ ${name} not stopped: ${why}`);
    return { service: name, action: 'failed', ok: false, why };
  }
  opts.out(`⏹ ${name} stopped (state saved). \`npx byninja start ${name}\` starts it again.`);
  return { service: name, action: 'stopped', ok: true };
}

export async function upgradePair(opts: PairControlOptions): Promise<boolean> {
  opts.out('building…');
  if (!(await opts.build())) {
    opts.out(
      '❌ build failed: nothing restarted and dist/ is unchanged (a stopped pair starts again on it: `npx byninja start`).',
    );
    return false;
  }
  const list = await opts.pm2.list();
  return rollingRestart(opts, await opts.pm2.launchBus(), new Map(list.map((p) => [p.name, p])));
}

async function rollingRestart(
  opts: PairControlOptions,
  bus: EventEmitter,
  byName: Map<string, Pm2ProcessView>,
): Promise<boolean> {
  for (const name of ORDER) {
    const known = byName.has(name);
    opts.out(`${known ? 'restarting' : 'starting'} ${name} with the current build and environment…`);
    const outcome = await untilReady(opts, bus, name, () =>
      known
        ? opts.pm2.restartFromEcosystem(opts.ecosystem, name)
        : opts.pm2.startFromEcosystem(opts.ecosystem, name),
    );
    if (!report(opts, name, outcome)) {
      const rest = ORDER.slice(ORDER.indexOf(name) + 1);
      if (rest.length) opts.out(`stopped here: ${rest.join(', ')} not restarted (still on what it ran).`);
      return false;
    }
  }
  return true;
}

function report(opts: PairControlOptions, name: string, outcome: Outcome): boolean {
  if (outcome.ok) opts.out(`✅ ${name} ready${outcome.pid ? ` (pid ${outcome.pid})` : ''}`);
  else opts.out(`❌ ${name}: ${outcome.why}`);
  return outcome.ok;
}

/**
 * Runs `action` (a start or restart) and waits for the service's ready message. An exit after PM2's `online` of the
 * new run means it died while starting; its config-error record says why when it exited 78.
 */
async function untilReady(
  opts: PairControlOptions,
  bus: EventEmitter,
  name: string,
  action: () => Promise<void>,
): Promise<Outcome> {
  const timeoutMs = opts.readyTimeoutMs ?? 90_000;
  let onMessage!: (p: Pm2BusPacket) => void;
  let onEvent!: (p: Pm2BusPacket) => void;
  let cancelTimer: CancelTimer | undefined;
  const settled = new Promise<Outcome>((resolve) => {
    let sawOnline = false;
    onMessage = (p) => {
      if (readyMessageOf(p) === name) resolve({ ok: true });
    };
    onEvent = (p) => {
      if (p.process?.name !== name) return;
      if (p.event === 'online') sawOnline = true;
      else if (p.event === 'exit' && sawOnline) resolve({ ok: false, why: exitReason(opts, name, p) });
    };
    cancelTimer = opts.clock.timer(timeoutMs, () =>
      resolve({
        ok: false,
        why:
          `not ready after ${formatSpan(timeoutMs)} (still recovering, or waiting for the exchange?): ` +
          'see `npx byninja status` and `npx pm2 logs`',
      }),
    );
  });
  bus.on('process:msg', onMessage);
  bus.on('process:event', onEvent);
  try {
    const failed = await action().then(
      () => undefined,
      (err: unknown) => ({ ok: false as const, why: err instanceof Error ? err.message : String(err) }),
    );
    const outcome = failed ?? (await settled);
    if (!outcome.ok) return outcome;
    const proc = (await opts.pm2.list()).find((p) => p.name === name);
    return { ok: true, ...(proc?.pid ? { pid: proc.pid } : {}) };
  } finally {
    cancelTimer?.();
    bus.off('process:msg', onMessage);
    bus.off('process:event', onEvent);
  }
}

function exitReason(opts: PairControlOptions, name: string, packet: Pm2BusPacket): string {
  const code = packet.process.exit_code;
  if (code === ExitCode.Config) {
    const failure = readConfigFailure(opts.dataDir, name);
    const problems =
      failure?.problems.map((p) => `\n   ${p.field} = ${p.value}: ${p.message}`).join('') ?? '';
    return `stopped: configuration error — ${configFixHint(name, failure)}${problems}`;
  }
  return `exited${code !== undefined ? ` with code ${code}` : ''} before it was ready: see \`npx pm2 logs ${name} --err\``;
}

function describeRunning(name: string, p: Pm2ProcessView): string {
  if (p.status === 'online')
    return `${name} online (pid ${p.pid}${p.uptimeMs !== null ? `, up ${formatSpan(p.uptimeMs)}` : ''})`;
  return `${name} ${p.status}`;
}
