/**
 * shutdown: SIGINT → exit 0 of each daemon, started directly (not under PM2, so PM2's own handling is not in
 * the figure) with an IPC channel as PM2 gives it, after it sent `ready`. "State durable" is checked after every
 * exit: the shutdown log lines were written and the state file parses. Floor: a bare `node -e 0` spawn → exit,
 * alternated with the daemon runs.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DAEMON_SCRIPTS, REPO_ROOT } from '../../../harness/pm2';
import { TelegramEmulator } from '../../../harness/telegram-emulator';
import type { BenchContext } from '../../bench';
import { ALERT_CHAT_ID, freePort } from '../../chaos/cluster';
import { readEnvelope, readTradingState } from '../../chaos/files';
import { Pm2Session } from '../../chaos/pm2-session';
import type { BenchRow } from '../report';
import { spawnReady, timeNode, timeSignalToExit } from '../spawn';
import { summarize } from '../stats';

interface Daemon {
  name: 'trading' | 'telegram';
  script: string;
  env: NodeJS.ProcessEnv;
  dataDir: string;
  /** Throws when the state is not durable after the exit. */
  verify(output: string): void;
}

function verifyLog(output: string): void {
  for (const line of ['Shutdown signal received', 'Forcing save to disk', 'PersistentMap stopped']) {
    if (!output.includes(line)) throw new Error(`shutdown log lacks "${line}": ${output.slice(-800)}`);
  }
}

export async function shutdownSection(ctx: BenchContext): Promise<BenchRow[]> {
  const session = await Pm2Session.start('byninja-bench-sd-');
  const telegram = await TelegramEmulator.start();
  try {
    const root = session.harness.root;
    const token = crypto.randomBytes(32).toString('hex');
    const envFile = path.join(root, '.env');
    fs.writeFileSync(envFile, `BYNINJA_IPC_TOKEN=${token}\nTELEGRAM_BOT_TOKEN=${telegram.token}\n`, {
      mode: 0o600,
    });
    // both daemons load the one config: a bot token needs its alert chat, for trading too
    const base = session.harness.env({
      BYNINJA_IPC_PORT: String(await freePort()),
      BYNINJA_ENV_FILE: envFile,
      TELEGRAM_CHAT_ID: ALERT_CHAT_ID,
      TELEGRAM_ALLOWED_CHAT_IDS: ALERT_CHAT_ID,
      TELEGRAM_API_ROOT: telegram.apiRoot,
    });
    const daemons: Daemon[] = [
      {
        name: 'trading',
        script: DAEMON_SCRIPTS.trading,
        env: { ...base, BYNINJA_DATA_DIR: path.join(root, 'data-trading') },
        dataDir: path.join(root, 'data-trading'),
        verify(output) {
          verifyLog(output);
          readTradingState(this.dataDir);
        },
      },
      {
        name: 'telegram',
        script: DAEMON_SCRIPTS.telegram,
        env: {
          ...base,
          BYNINJA_DATA_DIR: path.join(root, 'data-telegram'),
        },
        dataDir: path.join(root, 'data-telegram'),
        verify(output) {
          verifyLog(output);
          readEnvelope(path.join(this.dataDir, 'telegram-outbox.json'));
        },
      },
    ];
    const samples: Record<string, number[]> = { floor: [], trading: [], telegram: [] };
    const errors: Record<string, string> = {};
    const trials = ctx.trials(7);
    for (let i = 0; i < trials; i++) {
      samples.floor.push(await timeNode(['-e', '0']));
      for (const d of daemons) {
        if (errors[d.name]) continue;
        try {
          const ready = await spawnReady(d.script, d.env, 60_000, REPO_ROOT);
          // let it settle into its steady state (loop ticking, bot polling) before asking it to stop
          await new Promise((r) => setTimeout(r, 1_000));
          const { ms, code } = await timeSignalToExit(ready.child, 'SIGINT');
          if (code !== 0) throw new Error(`exit code ${code} after SIGINT: ${ready.output().slice(-800)}`);
          d.verify(ready.output());
          samples[d.name].push(ms);
        } catch (err) {
          errors[d.name] = (err as Error).message.slice(0, 300);
        }
      }
    }
    const floor = { item: 'node -e 0 spawn → exit', summary: summarize(samples.floor) };
    const rows: BenchRow[] = [
      {
        group: 'shutdown',
        item: 'shutdown floor: bare node spawn → exit (node -e 0)',
        unit: 'ms',
        summary: floor.summary,
        limits: "node's boot and teardown on this machine",
      },
    ];
    for (const d of daemons) {
      rows.push({
        group: 'shutdown',
        item: `shutdown ${d.name}: SIGINT → exit 0 with state durable`,
        unit: 'ms',
        summary: errors[d.name] ? undefined : summarize(samples[d.name]),
        floor,
        target: { ratioMax: 2, text: '≤ 2× floor' },
        error: errors[d.name],
        limits:
          d.name === 'trading'
            ? 'stop the loop and wait for the tick in flight, commit state (fsync), close TCP server, event log, paper exchange ' +
              '(its own fsync), journal and lock, flush the logger'
            : 'stop the bot (ends the pending long poll), hang watch, TCP client, PM2 bus, flush outbox and supervisor stores ' +
              '(fsync), disconnect from PM2, flush the logger',
      });
    }
    return rows;
  } finally {
    await telegram.stop().catch(() => undefined);
    await session.stop();
  }
}
