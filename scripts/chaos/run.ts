/**
 * One chaos run: start the pair, let it trade, inject faults at random (each after the previous one recovered),
 * then quiesce and check the invariants. Returns everything the report prints; never throws for a violation
 * (a violation is a failed check), only for a harness failure.
 */
import { ChaosCluster } from './cluster';
import { runChecks, type CheckRow } from './checks';
import { CRASHES, DISK_KINDS, injectFault, type FaultKind, type FaultRecord } from './faults';
import type { ChaosOptions } from './options';
import { Rng } from './rng';

export interface ChaosResult {
  options: ChaosOptions;
  faults: FaultRecord[];
  checks: CheckRow[];
  /** Crashes we caused, per service. */
  crashes: Record<'trading' | 'telegram', number>;
  durationMs: number;
  dataDir?: string;
  /** Set when disk faults were asked for but could not be injected here (they were dropped from the draw). */
  diskSkipped?: string;
}

/** Paper exchange faults active for the whole run (test hook of the paper exchange). */
function paperFaults(seed: number): string {
  return JSON.stringify({
    operations: ['createOrder', 'cancelOrder', 'fetchOrder'],
    probability: 0.05,
    kinds: ['lose-response', 'network-before', 'unavailable'],
    seed,
  });
}

/** Settings that make a short run meaningful: every event notified, Telegram's flood limits relaxed. */
export const CHAOS_ENV: Record<string, string> = {
  BYNINJA__OUTBOX__PER_CHAT_INTERVAL_MS: '50',
  BYNINJA__OUTBOX__GLOBAL_PER_SECOND: '30',
  BYNINJA__OUTBOX__MAX_SIZE: '100000',
  BYNINJA__TELEGRAM__NOTIFICATIONS__ORDER_PLACED: 'on',
  BYNINJA__TELEGRAM__NOTIFICATIONS__ORDER_CANCELLED: 'on',
  BYNINJA__TELEGRAM__NOTIFICATIONS__POSITION_OPENED: 'on',
  // Crash loops are expected here (faults come every few seconds): alert, never stop trading.
  BYNINJA__SUPERVISOR__CRASH_LOOP_ACTION: 'alert',
};

/** A random fault of the allowed kinds; one that spares trading while its PM2 backoff is above the cap. */
async function drawFault(
  cluster: ChaosCluster,
  kinds: readonly FaultKind[],
  options: ChaosOptions,
  rng: Rng,
): Promise<FaultKind> {
  const kind = rng.pick(kinds);
  const crash = CRASHES[kind];
  if (options.backoffCapMs === undefined || crash?.service !== 'trading') return kind;
  const delay = (await cluster.pm2.get('trading'))?.restartDelayMs ?? 0;
  const next = Math.max(delay, 100) * 1.5 ** crash.count;
  if (next <= options.backoffCapMs) return kind;
  const spare = kinds.filter((k) => CRASHES[k]?.service !== 'trading');
  return spare.length ? rng.pick(spare) : kind;
}

export async function runChaos(options: ChaosOptions, log: (msg: string) => void): Promise<ChaosResult> {
  const startedAt = Date.now();
  const rng = new Rng(options.seed);
  const wantsDisk = options.kinds.some((k) => DISK_KINDS.includes(k));
  const cluster = await ChaosCluster.start({
    env: { ...CHAOS_ENV, BYNINJA_PAPER_FAULTS: paperFaults(options.seed) },
    diskFaults: wantsDisk,
  });
  const faults: FaultRecord[] = [];
  const crashes = { trading: 0, telegram: 0 };
  // Disk faults need the data dir on a tmpfs; where mounting is not allowed they are left out of the draw.
  const diskSkipped = cluster.diskUnavailable;
  const kinds = diskSkipped ? options.kinds.filter((k) => !DISK_KINDS.includes(k)) : options.kinds;
  try {
    log(`pair starting (PM2_HOME ${cluster.pm2.harness.home}, IPC port ${cluster.ipcPort})`);
    if (cluster.disk) log(`data dir on a ${cluster.disk.dir} tmpfs (disk faults on)`);
    if (diskSkipped) log(`disk faults not injected: ${diskSkipped}`);
    await cluster.waitTradingRunning(90_000);
    await cluster.pm2.waitOnline('telegram', 60_000);
    log('pair running; warming up');
    await new Promise((r) => setTimeout(r, 3_000));

    const deadline = options.durationSec ? Date.now() + options.durationSec * 1000 : Infinity;
    for (
      let i = 0;
      kinds.length > 0 && (options.faults === undefined || i < options.faults) && Date.now() < deadline;
      i++
    ) {
      const kind = await drawFault(cluster, kinds, options, rng);
      const rec = await injectFault(cluster, kind, i, rng);
      faults.push(rec);
      const crashed = CRASHES[kind];
      log(
        `fault ${i + 1}${options.faults ? `/${options.faults}` : ''} ${kind}: ` +
          (rec.error
            ? `FAILED ${rec.error}`
            : `recovered in ${rec.recoveryMs} ms${rec.pm2DelayMs ? ` (PM2 backoff ${rec.pm2DelayMs} ms)` : ''}`),
      );
      // counted even when recovery failed: the kill itself happened (a failed fault ends the run anyway)
      if (crashed) crashes[crashed.service] += crashed.count;
      if (rec.error) break;
      // Let trading trade a little between faults (random, so faults land in different phases of a tick).
      await new Promise((r) => setTimeout(r, rng.int(200, 2_500)));
    }
    log('faults done; quiescing and checking');
    const checks: CheckRow[] = await runChecks(cluster, { crashes, faults, log });
    return {
      options,
      faults,
      checks,
      crashes,
      durationMs: Date.now() - startedAt,
      dataDir: options.keep ? cluster.dataDir : undefined,
      diskSkipped,
    };
  } finally {
    await cluster.stop({ keepFiles: options.keep });
  }
}
