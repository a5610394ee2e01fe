/**
 * The faults the chaos run injects, and for each how recovery is recognised and timed:
 *  - kill-trading:     SIGKILL trading → trading answers `status` with loopState running from a new pid.
 *  - kill-telegram:    SIGKILL telegram → PM2 marks telegram online again (wait_ready: after its own start-up).
 *  - stall-trading:    SIGUSR2 → trading's test hook blocks its event loop; the watchdog must kill it → as kill-trading.
 *  - telegram-outage:  the Bot API fails for 1–4 s (connections reset, 502s, or 429 with retry_after, drawn at
 *                      random); recovery = first message accepted after it (or none needed when nothing waited).
 *  - crash-during-outage: the Bot API is down while trading is SIGKILLed twice: both crash alerts wait in the
 *                      outbox and go out coalesced ("×2") when it is back — the coalesced counts must add up.
 *  - disk-full:        the data dir's tmpfs is filled to the last byte (ENOSPC) for 2–5 s, then freed.
 *  - disk-readonly:    the data dir's tmpfs is remounted read-only (EROFS) for 2–5 s, then read-write.
 *                      For both: recovered when trading answers `status` running with no persist failure (not
 *                      paused by "state cannot be saved") and PM2 shows telegram online. Neither daemon may crash.
 * Recovery time is measured from the injection; for restarts PM2's exponential-backoff delay is reported apart.
 */
import type { TelegramFault } from '../../harness/telegram-emulator';
import type { ChaosCluster } from './cluster';
import type { Rng } from './rng';

export const FAULT_KINDS = [
  'kill-trading',
  'kill-telegram',
  'stall-trading',
  'telegram-outage',
  'crash-during-outage',
  'disk-full',
  'disk-readonly',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Faults of the data dir's disk: they need the tmpfs (root, or CAP_SYS_ADMIN), dropped from the draw without. */
export const DISK_KINDS: readonly FaultKind[] = ['disk-full', 'disk-readonly'];

/** Which service each fault makes crash, and how often (the supervisor must alert every one). */
export const CRASHES: Record<FaultKind, { service: 'trading' | 'telegram'; count: number } | null> = {
  'kill-trading': { service: 'trading', count: 1 },
  'kill-telegram': { service: 'telegram', count: 1 },
  'stall-trading': { service: 'trading', count: 1 },
  'telegram-outage': null,
  'crash-during-outage': { service: 'trading', count: 2 },
  // a full or read-only disk must not crash anything: trading stops placing orders, telegram keeps its alerts
  'disk-full': null,
  'disk-readonly': null,
};

/** Trading's status while a failed state write blocks new orders (trading-loop `pause`, by 'persist'). */
const PERSIST_BLOCKED = 'state cannot be saved';

const OUTAGE_KINDS: TelegramFault[] = ['down', '5xx', '429'];

export interface FaultRecord {
  index: number;
  kind: FaultKind;
  /** Epoch ms of the injection. */
  at: number;
  /** Injection → recovered, ms (undefined when it did not recover). */
  recoveryMs?: number;
  /** PM2's backoff delay before the restart, ms (part of recoveryMs, set by PM2's policy, not ours). */
  pm2DelayMs?: number;
  /** For an outage: how long the Bot API was down; for a disk fault: how long the disk was full or read-only. */
  outageMs?: number;
  /** For a disk fault: whether trading was seen blocking new orders because state could not be saved. */
  persistBlocked?: boolean;
  /**
   * When a bot request in flight may have reached Telegram with its answer lost (telegram SIGKILLed, or the API
   * going down and resetting open connections): a message re-sent after that is at-least-once delivery, not a bug.
   */
  cutAt?: number;
  /** Epoch ms of every kill/stall signal this fault sent (two for crash-during-outage). */
  signalledAt: number[];
  detail?: string;
  error?: string;
}

const RECOVERY_TIMEOUT_MS = 60_000;

async function pidOf(cluster: ChaosCluster, name: string): Promise<number> {
  const p = await cluster.pm2.waitOnline(name, RECOVERY_TIMEOUT_MS);
  return p.pid;
}

/** Waits for the PM2 'online' event of `name` after event index `mark`; returns PM2's backoff delay. */
async function pm2Online(cluster: ChaosCluster, name: string, mark: number): Promise<number | undefined> {
  const ev = await cluster.pm2.waitEvent(
    (e) => e.name === name && e.event === 'online',
    RECOVERY_TIMEOUT_MS,
    mark,
    `${name} online`,
  );
  return ev.restartDelayMs;
}

async function restartOf(cluster: ChaosCluster, rec: FaultRecord, signal: NodeJS.Signals): Promise<void> {
  const pid = await pidOf(cluster, 'trading');
  const mark = cluster.pm2.events.length;
  rec.at = Date.now();
  rec.signalledAt.push(rec.at);
  process.kill(pid, signal);
  rec.pm2DelayMs = await pm2Online(cluster, 'trading', mark);
  const { at } = await cluster.waitTradingRunning(RECOVERY_TIMEOUT_MS, pid);
  rec.recoveryMs = at - rec.at;
  if (signal === 'SIGUSR2') {
    const exit = cluster.pm2.events.slice(mark).find((e) => e.name === 'trading' && e.event === 'exit');
    rec.detail = `watchdog ended the stalled process (PM2 exit code ${exit?.exitCode ?? '?'})`;
  }
}

/**
 * A disk fault: fill the data dir's tmpfs (or make it read-only) for 2–5 s while watching trading's status, then
 * give the disk back. Recovered once trading runs without a persist failure and telegram is online — with the
 * same pids: nothing may have crashed over it (the crash checks would count an exit no fault caused, too).
 */
async function diskFault(cluster: ChaosCluster, rec: FaultRecord, kind: FaultKind, rng: Rng): Promise<void> {
  const disk = cluster.disk;
  if (!disk)
    throw new Error(
      `${kind}: the data dir is not on a tmpfs (${cluster.diskUnavailable ?? 'not asked for'})`,
    );
  const tradingPid = await pidOf(cluster, 'trading');
  const telegramPid = await pidOf(cluster, 'telegram');
  const outageMs = rng.int(2_000, 5_000);
  rec.at = Date.now();
  if (kind === 'disk-full') disk.fill();
  else disk.readOnly(true);
  const how = kind === 'disk-full' ? 'ENOSPC' : `EROFS (${disk.readOnlyMode} read-only)`;
  let blocked = false;
  try {
    const until = rec.at + outageMs;
    while (Date.now() < until) {
      const st = await cluster.probe.status(1_000);
      if (st?.pausedReason?.startsWith(PERSIST_BLOCKED)) blocked = true;
      await new Promise((r) => setTimeout(r, Math.max(0, Math.min(200, until - Date.now()))));
    }
  } finally {
    if (kind === 'disk-full') disk.free();
    else disk.readOnly(false);
  }
  const backAt = Date.now();
  rec.outageMs = backAt - rec.at;
  const deadline = backAt + RECOVERY_TIMEOUT_MS;
  let last: Awaited<ReturnType<typeof cluster.probe.status>>;
  for (;;) {
    last = await cluster.probe.status(1_000);
    if (last?.pausedReason?.startsWith(PERSIST_BLOCKED)) blocked = true;
    const tradingOk =
      last !== undefined &&
      (last.loopState === 'running' || last.loopState === 'paused') &&
      !last.pausedReason?.startsWith(PERSIST_BLOCKED);
    const telegram = tradingOk ? await cluster.pm2.get('telegram') : undefined;
    if (tradingOk && telegram?.status === 'online') {
      rec.recoveryMs = Date.now() - rec.at;
      const crashed = [
        last!.pid !== tradingPid ? `trading (pid ${tradingPid} → ${last!.pid})` : '',
        telegram.pid !== telegramPid ? `telegram (pid ${telegramPid} → ${telegram.pid})` : '',
      ].filter(Boolean);
      if (crashed.length) throw new Error(`${crashed.join(' and ')} restarted over the disk fault`);
      break;
    }
    if (Date.now() > deadline)
      throw new Error(
        `trading/telegram not healthy ${RECOVERY_TIMEOUT_MS} ms after the disk came back (last status ${JSON.stringify(last ?? null)})`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
  rec.persistBlocked = blocked;
  rec.detail =
    `${how} for ${rec.outageMs} ms; ` +
    `healthy ${Date.now() - backAt} ms after the disk came back; ` +
    (blocked ? 'trading blocked new orders meanwhile' : 'trading did not need to save state meanwhile');
}

export async function injectFault(
  cluster: ChaosCluster,
  kind: FaultKind,
  index: number,
  rng: Rng,
): Promise<FaultRecord> {
  const rec: FaultRecord = { index, kind, at: Date.now(), signalledAt: [] };
  try {
    switch (kind) {
      case 'kill-trading':
        await restartOf(cluster, rec, 'SIGKILL');
        break;
      case 'stall-trading':
        await restartOf(cluster, rec, 'SIGUSR2');
        break;
      case 'kill-telegram': {
        const pid = await pidOf(cluster, 'telegram');
        const mark = cluster.pm2.events.length;
        rec.at = Date.now();
        rec.cutAt = rec.at;
        rec.signalledAt.push(rec.at);
        process.kill(pid, 'SIGKILL');
        rec.pm2DelayMs = await pm2Online(cluster, 'telegram', mark);
        rec.recoveryMs = Date.now() - rec.at;
        break;
      }
      case 'crash-during-outage': {
        const outageStart = Date.now();
        rec.cutAt = outageStart;
        cluster.telegram.setFault('down');
        try {
          const first: FaultRecord = { index, kind, at: Date.now(), signalledAt: [] };
          await restartOf(cluster, first, 'SIGKILL');
          rec.signalledAt.push(...first.signalledAt);
          await restartOf(cluster, rec, 'SIGKILL');
          rec.detail = `two trading kills during a ${Date.now() - outageStart} ms Bot API outage`;
        } finally {
          cluster.telegram.setFault(null);
        }
        break;
      }
      case 'telegram-outage': {
        const outageMs = rng.int(1_000, 4_000);
        const fault = rng.pick(OUTAGE_KINDS);
        rec.at = Date.now();
        if (fault === 'down') rec.cutAt = rec.at;
        cluster.telegram.setFault(fault, { retryAfterSec: 1 });
        await new Promise((r) => setTimeout(r, outageMs));
        const sentBefore = cluster.telegram.sentMessages().length;
        const failedDuring = cluster.telegram.requests.filter(
          (r) => r.at >= rec.at && r.method === 'sendMessage',
        ).length;
        cluster.telegram.setFault(null);
        rec.outageMs = outageMs;
        if (failedDuring > 0) {
          // Something was refused during the outage: recovered when the next message gets through.
          const deadline = Date.now() + RECOVERY_TIMEOUT_MS;
          while (cluster.telegram.sentMessages().length === sentBefore && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 25));
          }
          if (cluster.telegram.sentMessages().length === sentBefore)
            throw new Error('no message delivered after the outage ended');
          rec.detail = `${fault}: ${failedDuring} sendMessage refused during the outage`;
        }
        rec.recoveryMs = Date.now() - rec.at;
        break;
      }
      case 'disk-full':
      case 'disk-readonly':
        await diskFault(cluster, rec, kind, rng);
        break;
    }
  } catch (err) {
    rec.error = (err as Error).message;
  }
  return rec;
}
