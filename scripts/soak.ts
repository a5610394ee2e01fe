/**
 * `npm run soak -- --hours N`: months without growth, accelerated. The real pair (ecosystem.config.js, the
 * trading bundle that ships) under a temporary PM2_HOME, paper mode on a fast market (one 1-minute candle every
 * --candle-ms, a tick every candle) with a strategy that trades often, Telegram pointed at the local Bot API
 * emulator, and a bare app killed now and then so crash alerts go out too. Every few seconds each daemon's heap
 * and RSS are read from its /metrics; at the end: slopes per simulated day, file sizes, counts, a PNG
 * (docs/soak-rss.png) and the "Soak" section of docs/benchmarks.md.
 *
 * Usage: node dist/scripts/soak.js [--hours 24] [--candle-ms 200] [--sample-ms 2000] [--no-write] [--keep]
 *                                  [--env NAME=VALUE]…
 *   --keep     leave the run's data and logs dirs (for a look after a failure)
 *   --env      extra environment for both daemons, for an experiment (e.g. MALLOC_ARENA_MAX=2, or NODE_OPTIONS with
 *              a V8 flag — that one reaches the run's PM2 daemon too); the report lists it
 * Everything it starts (PM2 daemon in its own PM2_HOME, emulator, temp dirs) is removed at the end, on error and on
 * Ctrl-C (Pm2Session's signal hook).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../harness/pm2';
import { writeBareScript } from './bench/restart';
import { ChaosCluster, freePort } from './chaos/cluster';
import {
  replaceSoakSection,
  soakMarkdown,
  soakVerdict,
  memorySlopes,
  MIB,
  type DaemonResult,
  type FileSizes,
  type SoakResult,
} from './soak/analysis';
import { fileSizes } from './soak/files';
import { readMemory, readSeries } from './soak/memory-probe';
import { renderSoakPlot } from './soak/plot';

/** The strategy reads 1-minute candles: one candle is one simulated minute. */
const TIMEFRAME_MS = 60_000;
/** A watched bare app is SIGKILLed this often (wall), so crash alerts flow through the supervisor and outbox. */
const VICTIM_KILL_EVERY_MS = 30_000;
const PNG_NAME = 'soak-rss.png';
/**
 * Caps set small so that a run of a day or two reaches them and shows they hold (at the defaults — 10 MiB logs,
 * 10,000 events — a soak would end long before a cap is reached, and "bounded" would be untested).
 */
const CAPS = {
  logFileBytes: 256 * 1024,
  pm2LogBytes: 128 * 1024,
  eventRetention: 250,
  rememberedEventSeqs: 250,
};
/** File sizes are sampled every this many memory samples (a walk of both dirs). */
const FILE_SAMPLE_EVERY = 5;

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Every `--env NAME=VALUE` of the command line. */
function envArgs(): Record<string, string> {
  const out: Record<string, string> = {};
  process.argv.forEach((arg, i) => {
    if (arg !== '--env') return;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(process.argv[i + 1] ?? '');
    if (!m) throw new Error(`--env takes NAME=VALUE (got ${JSON.stringify(process.argv[i + 1])})`);
    out[m[1]] = m[2];
  });
  return out;
}

function positiveArg(name: string, fallback: number): number {
  const raw = argValue(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`${name} must be a positive number (got ${JSON.stringify(raw)})`);
  return n;
}

const log = (msg: string): void => {
  process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function soakEnv(candleMs: number, tradingPort: number, telegramPort: number): Record<string, string> {
  return {
    BYNINJA__TRADING__PAPER__CANDLE_MS: String(candleMs),
    BYNINJA__TRADING__TICK_INTERVAL_MS: String(Math.max(50, candleMs)),
    // trades often: short averages cross every few candles, exits close on small moves
    BYNINJA__TRADING__STRATEGY__SMA_CROSSOVER__FAST: '3',
    BYNINJA__TRADING__STRATEGY__SMA_CROSSOVER__SLOW: '8',
    BYNINJA__TRADING__RISK__STOP_LOSS_PCT: '0.5',
    BYNINJA__TRADING__RISK__TAKE_PROFIT_PCT: '0.5',
    // a loaded host must not turn a slow moment into a restart: a restart would reset the memory being measured
    BYNINJA__LIFECYCLE__WATCHDOG_STALL_MS: '10000',
    // the victim's kills are the load, not a crash loop to escalate
    BYNINJA__SUPERVISOR__CRASH_LOOP_COUNT: '100000',
    BYNINJA__LOGGING__FILE_MAX_BYTES: String(CAPS.logFileBytes),
    BYNINJA__LOGGING__PM2_LOG_MAX_BYTES: String(CAPS.pm2LogBytes),
    BYNINJA__LOGGING__PM2_LOG_CHECK_MS: '1000',
    BYNINJA__IPC__EVENT_RETENTION: String(CAPS.eventRetention),
    BYNINJA__OUTBOX__REMEMBERED_EVENT_SEQS: String(CAPS.rememberedEventSeqs),
    // Telegram's pace scaled with the market: at one message per second per chat an accelerated day of
    // notifications would only pile up in the outbox (the emulator has no rate limit; the global cap still holds)
    BYNINJA__OUTBOX__PER_CHAT_INTERVAL_MS: '100',
    BYNINJA__HTTP__ENABLED: 'true',
    BYNINJA__HTTP__TRADING_PORT: String(tradingPort),
    BYNINJA__HTTP__TELEGRAM_PORT: String(telegramPort),
  };
}

async function main(): Promise<void> {
  const hours = positiveArg('--hours', 24);
  const candleMs = Math.round(positiveArg('--candle-ms', 200));
  const sampleEveryMs = Math.round(positiveArg('--sample-ms', 2_000));
  const write = !process.argv.includes('--no-write');
  const keepFiles = process.argv.includes('--keep');
  const extraEnv = envArgs();
  const acceleration = TIMEFRAME_MS / candleMs;
  const wallMs = Math.ceil((hours * 3_600_000) / acceleration);
  log(
    `${hours} simulated hours at ${acceleration.toFixed(0)}× (a 1-minute candle every ${candleMs} ms) = ` +
      `${(wallMs / 60_000).toFixed(1)} wall minutes, plus start-up and report`,
  );

  const ports = { trading: await freePort(), telegram: await freePort() };
  const cluster = await ChaosCluster.start({
    env: { ...soakEnv(candleMs, ports.trading, ports.telegram), ...extraEnv },
    prefix: 'byninja-soak-',
    shippedTrading: true,
  });
  let result: SoakResult;
  try {
    result = await soak(cluster, { hours, candleMs, acceleration, wallMs, sampleEveryMs, ports, extraEnv });
  } finally {
    log(
      keepFiles
        ? `stopping the pair; files kept in ${cluster.pm2.harness.root}`
        : 'stopping the pair and removing its temp dirs…',
    );
    await cluster.stop({ keepFiles });
  }
  report(result, write);
}

interface SoakPlan {
  hours: number;
  candleMs: number;
  acceleration: number;
  wallMs: number;
  sampleEveryMs: number;
  ports: { trading: number; telegram: number };
  extraEnv: Record<string, string>;
}

async function soak(cluster: ChaosCluster, plan: SoakPlan): Promise<SoakResult> {
  await cluster.waitTradingRunning(120_000);
  await cluster.pm2.waitOnline('telegram', 60_000);
  for (const [name, port] of Object.entries(plan.ports)) {
    const deadline = Date.now() + 30_000;
    while (!(await readMemory(port, name))) {
      if (Date.now() > deadline) throw new Error(`${name} /metrics on port ${port} did not answer`);
      await sleep(200);
    }
  }
  await cluster.pm2.harness.startScript('victim', writeBareScript(cluster.pm2.harness.root), {
    pm2Args: ['--max-restarts', '100000'],
  });
  await cluster.pm2.waitOnline('victim', 30_000);
  const restartsAtStart = Object.fromEntries(
    (await cluster.pm2.list()).map((p) => [p.name, p.restarts] as const),
  );

  const startedAt = new Date();
  const loadAtStart = os.loadavg()[0];
  const t0 = Date.now();
  const simOf = (at: number): number => (at - t0) * plan.acceleration;
  const snapshot = (): Map<string, number> =>
    new Map([...fileSizes(cluster.dataDir, 'data'), ...fileSizes(cluster.logDir, 'logs')]);
  const atStart = snapshot();
  let atMid: Map<string, number> | undefined;
  const peaks = [new Map<string, number>(), new Map<string, number>()];
  const notePeaks = (sizes: Map<string, number>, half: number): void => {
    for (const [file, size] of sizes) peaks[half].set(file, Math.max(size, peaks[half].get(file) ?? 0));
  };
  notePeaks(atStart, 0);
  let round = 0;
  const samples: Record<string, DaemonResult['samples']> = { trading: [], telegram: [] };
  // pids for /proc/<pid>/status (the kernel's split of the RSS); refreshed with the file sizes in case of a restart
  const pidsNow = async (): Promise<Record<string, number>> =>
    Object.fromEntries((await cluster.pm2.list()).map((p) => [p.name, p.pid] as const));
  let pids = await pidsNow();
  let nextKill = t0 + VICTIM_KILL_EVERY_MS;
  let nextProgress = t0 + 60_000;
  let missedReadings = 0;

  while (Date.now() - t0 < plan.wallMs) {
    const tick = Date.now();
    for (const [name, port] of Object.entries(plan.ports)) {
      const m = await readMemory(port, name, pids[name]);
      if (m) samples[name].push({ simMs: simOf(Date.now()), ...m });
      else missedReadings += 1;
    }
    const secondHalf = Date.now() - t0 >= plan.wallMs / 2;
    if (!atMid && secondHalf) {
      atMid = snapshot();
      notePeaks(atMid, 1);
    } else if (++round % FILE_SAMPLE_EVERY === 0) {
      notePeaks(snapshot(), secondHalf ? 1 : 0);
      pids = await pidsNow();
    }
    if (Date.now() >= nextKill) {
      nextKill += VICTIM_KILL_EVERY_MS;
      const victim = await cluster.pm2.get('victim');
      if (victim && victim.status === 'online' && victim.pid > 0) process.kill(victim.pid, 'SIGKILL');
    }
    if (Date.now() >= nextProgress) {
      nextProgress += 60_000;
      const t = samples.trading[samples.trading.length - 1];
      const g = samples.telegram[samples.telegram.length - 1];
      log(
        `${(simOf(Date.now()) / 3_600_000).toFixed(1)} simulated h: trading RSS ${((t?.rssBytes ?? 0) / MIB).toFixed(1)} MiB, ` +
          `telegram RSS ${((g?.rssBytes ?? 0) / MIB).toFixed(1)} MiB, ${cluster.telegram.sentMessages().length} messages sent`,
      );
    }
    await sleep(Math.max(0, plan.sampleEveryMs - (Date.now() - tick)));
  }
  const wallMs = Date.now() - t0;
  const atEnd = snapshot();
  notePeaks(atEnd, 1);

  const events = (await readSeries(plan.ports.trading, 'byninja_events_last_seq{service="trading"}')) ?? 0;
  const messages = cluster.telegram.sentMessages();
  const crashAlerts = messages.filter((m) => m.text.includes('<b>victim crashed</b>')).length;
  // a trade is a round trip, counted where it was announced: every close is one "Position closed" message
  const trades = messages.filter((m) => m.text.includes('<b>Position closed</b>')).length;
  const fills = messages.filter((m) => m.text.includes('<b>Order filled</b>')).length;
  const list = await cluster.pm2.list();
  const restarts = (name: string): number =>
    (list.find((p) => p.name === name)?.restarts ?? 0) - (restartsAtStart[name] ?? 0);

  const names = new Set([...atStart.keys(), ...(atMid?.keys() ?? []), ...atEnd.keys()]);
  const files: FileSizes[] = [...names].sort().map((file) => ({
    file,
    start: atStart.get(file),
    mid: atMid?.get(file),
    end: atEnd.get(file),
    peakFirstHalf: peaks[0].get(file),
    peakSecondHalf: peaks[1].get(file),
    capBytes: file.startsWith('logs/')
      ? /\.(out|err)\b/.test(file)
        ? CAPS.pm2LogBytes
        : CAPS.logFileBytes
      : undefined,
  }));
  const notes = [
    'Simulated time is wall time × the acceleration: the paper market moves one candle per `trading.paper.candleMs` ' +
      'whatever the load, and trading ticks once per candle (`trading.tickIntervalMs`).',
    'Heap is prom-client’s `nodejs_heap_size_used_bytes` (live objects plus garbage not yet collected: it saws ' +
      'between collections), RSS is `process_resident_memory_bytes`, both from the daemon’s own /metrics; heap ' +
      'total, external and the heap spaces are prom-client’s `nodejs_heap_size_total_bytes`, ' +
      '`nodejs_external_memory_bytes`, `nodejs_heap_space_size_{total,used}_bytes`; the anonymous/file-backed split ' +
      'is RssAnon/RssFile of /proc/<pid>/status.',
    'Strategy: sma-crossover 3/8, stop-loss and take-profit 0.5 %, 2 symbols; every fill and close is a Telegram ' +
      `message (default notification settings) and a bare app watched by the supervisor is SIGKILLed every ${VICTIM_KILL_EVERY_MS / 1000} s wall.`,
  ];
  notes.push(
    `Caps set small so the run reaches them: JSON logs rotate at ${CAPS.logFileBytes / 1024} KiB ` +
      `(logging.fileMaxBytes), PM2 out/err at ${CAPS.pm2LogBytes / 1024} KiB checked every second ` +
      `(logging.pm2LogMaxBytes, pm2LogCheckMs), ${CAPS.eventRetention} events kept (ipc.eventRetention), ` +
      `${CAPS.rememberedEventSeqs} event seqs remembered by the outbox (outbox.rememberedEventSeqs); ` +
      'outbox.perChatIntervalMs 100 ms so Telegram keeps pace with the accelerated market.',
  );
  // other work on the host stretches wall time, not simulated time (the market moves per candleMs of wall time)
  notes.push(
    `Host: ${os.cpus().length} cores, 1-minute load average ${loadAtStart.toFixed(1)} at the start and ` +
      `${os.loadavg()[0].toFixed(1)} at the end of the run.`,
  );
  const extra = Object.entries(plan.extraEnv);
  if (extra.length)
    notes.push(
      `Experiment: both daemons ran with ${extra.map(([k, v]) => `\`${k}=${v}\``).join(', ')} (--env).`,
    );
  if (missedReadings) notes.push(`${missedReadings} /metrics readings got no answer in 3 s (skipped).`);
  return {
    startedAt,
    hours: plan.hours,
    candleMs: plan.candleMs,
    acceleration: plan.acceleration,
    wallMs,
    simulatedMs: simOf(t0 + wallMs),
    sampleEveryMs: plan.sampleEveryMs,
    daemons: ['trading', 'telegram'].map((name) => ({
      name,
      samples: samples[name],
      restarts: restarts(name),
    })),
    files,
    trades,
    fills,
    events,
    messagesSent: messages.length,
    crashAlerts,
    notes,
  };
}

function report(result: SoakResult, write: boolean): void {
  for (const d of result.daemons) {
    const s = memorySlopes(d.samples);
    process.stdout.write(
      `${d.name}: heap ${(s.heapPerDay / MIB).toFixed(2)} MiB/sim-day (all samples ${(s.heapPerDayAll / MIB).toFixed(2)}), ` +
        `RSS ${(s.rssPerDay / MIB).toFixed(2)} MiB/sim-day (all samples ${(s.rssPerDayAll / MIB).toFixed(2)}) ` +
        `(${s.samplesUsed} of ${d.samples.length} samples after warm-up), ${d.restarts} restarts\n`,
    );
  }
  const md = soakMarkdown(result, PNG_NAME);
  process.stdout.write('\n' + md + '\n');
  const v = soakVerdict(result);
  if (write) {
    const png = renderSoakPlot(
      result.daemons,
      `ByNinja soak: ${(result.simulatedMs / 3_600_000).toFixed(1)} simulated hours in ${(result.wallMs / 60_000).toFixed(1)} min`,
    );
    fs.writeFileSync(path.join(REPO_ROOT, 'docs', PNG_NAME), png);
    const doc = path.join(REPO_ROOT, 'docs/benchmarks.md');
    fs.writeFileSync(doc, replaceSoakSection(fs.readFileSync(doc, 'utf8'), md));
    process.stdout.write(`wrote docs/${PNG_NAME} and the Soak section of docs/benchmarks.md\n`);
  }
  process.stdout.write(`verdict: ${v.met ? 'met' : 'MISSED'}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`soak failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
