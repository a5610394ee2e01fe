/**
 * The faults the chaos run injects, and for each how recovery is recognised and timed:
 *  - kill-trading:     SIGKILL trading → trading answers `status` with loopState running from a new pid.
 *  - kill-telegram:    SIGKILL telegram → PM2 marks telegram online again (wait_ready: after its own start-up).
 *  - stall-trading:    SIGUSR2 → trading's test hook blocks its event loop; the watchdog must kill it → as kill-trading.
 *  - telegram-outage:  the Bot API fails for 1–4 s (connections reset, 502s, or 429 with retry_after, drawn at
 *                      random); recovery = first message accepted after it (or none needed when nothing waited).
 *  - crash-during-outage: the Bot API is down while trading is SIGKILLed twice: both crash alerts wait in the
 *                      outbox and go out coalesced ("×2") when it is back — the coalesced counts must add up.
 * Recovery time is measured from the injection; for restarts PM2's exponential-backoff delay is reported apart.
 */
import type { TelegramFault } from '../../test/support/telegram-emulator';
import type { ChaosCluster } from './cluster';
import type { Rng } from './rng';

export const FAULT_KINDS = [
  'kill-trading',
  'kill-telegram',
  'stall-trading',
  'telegram-outage',
  'crash-during-outage',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Which service each fault makes crash, and how often (the supervisor must alert every one). */
export const CRASHES: Record<FaultKind, { service: 'trading' | 'telegram'; count: number } | null> = {
  'kill-trading': { service: 'trading', count: 1 },
  'kill-telegram': { service: 'telegram', count: 1 },
  'stall-trading': { service: 'trading', count: 1 },
  'telegram-outage': null,
  'crash-during-outage': { service: 'trading', count: 2 },
};

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
  /** For an outage: how long the Bot API was down. */
  outageMs?: number;
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
    }
  } catch (err) {
    rec.error = (err as Error).message;
  }
  return rec;
}
