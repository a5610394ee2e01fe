/**
 * `npm run bench`: every ByNinja benchmark side by side in one run, each beside its floor, printed as a table and
 * written to docs/benchmarks.md. Usage: node dist/scripts/bench.js [--only a,b] [--quick] [--no-write]
 *   --only     sections: commit, tcp (also `ipc`: round trip and event throughput), restart, shutdown, pair (RSS +
 *              alert latency), startup, tick, live (live recovery against the local Binance behind a 50 ms latency
 *              proxy), venues (the same against the local Bybit and OKX)
 *   --quick    fewer trials (a smoke run; figures are noisier)
 *   --no-write print only, keep docs/benchmarks.md
 * Everything runs in temp dirs with temp PM2 homes and random ports; nothing touches the operator's PM2.
 */
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../harness/pm2';
import { consoleTable, markdownReport, verdictOf, type BenchRow } from './bench/report';
import { replaceSoakSection, soakSectionOf } from './soak/analysis';

export interface BenchContext {
  quick: boolean;
  /** Trials for a figure: the full count, or a third of it with --quick (at least 3). */
  trials(full: number): number;
  log(msg: string): void;
  notes: string[];
}

type Section = (ctx: BenchContext) => Promise<BenchRow[]>;

const SECTIONS: Record<string, () => Promise<Section>> = {
  commit: async () => (await import('./bench/sections/commit-section.js')).commitSection,
  tcp: async () => (await import('./bench/sections/tcp-section.js')).tcpSection,
  restart: async () => (await import('./bench/sections/restart-section.js')).restartSection,
  shutdown: async () => (await import('./bench/sections/shutdown-section.js')).shutdownSection,
  pair: async () => (await import('./bench/sections/pair-section.js')).pairSection,
  startup: async () => (await import('./bench/sections/startup-section.js')).startupSection,
  tick: async () => (await import('./bench/sections/tick-section.js')).tickSection,
  live: async () => (await import('./bench/sections/live-recovery-section.js')).liveRecoverySection,
  venues: async () =>
    (await import('./bench/sections/live-recovery-section.js')).otherVenuesLiveRecoverySection,
};

/** Other names `--only` takes for a section. */
const SECTION_ALIASES: Record<string, string> = { ipc: 'tcp' };

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const quick = process.argv.includes('--quick');
  const only = argValue('--only')
    ?.split(',')
    .map((s) => SECTION_ALIASES[s.trim()] ?? s.trim());
  const ctx: BenchContext = {
    quick,
    trials: (full) => (quick ? Math.max(3, Math.round(full / 3)) : full),
    log: (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`),
    notes: [
      "restart: the floor app and trading are SIGKILLed alternately under the same PM2 daemon; the instants are PM2's " +
        "own (bus packet `at` of the `online` that follows the app's `ready`), and the exponential-backoff delay PM2 " +
        "applied (its `prev_restart_delay`) is subtracted. Both apps run with trading's node_args (none since stop 35: " +
        "V8's memory settings are applied by the daemon once ready) and MALLOC_ARENA_MAX from ecosystem.config.js, " +
        "as PM2 runs trading (PM2 options, so the floor app gets them too). With no open orders seeded trading's entries are paused (with orders, each traded symbol holds one, which holds entries; a pause would cancel resting entries), and after every restart trading " +
        'must report exactly the seeded number of open orders.',
      '1,000 open orders are seeded far below the market: one per symbol through the real OrderManager and paper ' +
        'exchange, the rest cloned into both files with fresh ids and funds reserved (placing them one by one takes minutes).',
      'shutdown: each daemon is started directly with an IPC channel (as PM2 starts it), SIGINTed 1 s after `ready`; ' +
        'after every exit the shutdown log lines and a parseable state file are checked.',
      'alert: a bare app "victim" (watched by the supervisor like any PM2 app) is SIGKILLed 100 times with trading ' +
        'paused, each kill 1.2 s after the previous "back online" went out; trading events still flow to the same chat. ' +
        'The p99 is nearest-rank (with 100 samples: the 2nd slowest). A crash alert may use the per-chat burst ' +
        '(outbox.perChatBurst, default 3, refilled one per second), so it never waits behind the event sent just before it.',
      'tick: the real TradingLoop/OrderManager/strategy over an in-memory exchange and state store (commits still ' +
        'serialise the state), a manual clock moving one candle per tick.',
      'live recovery: the shipped trading daemon in live mode under PM2 (key and secret in its .env) against the local ' +
        "Binance double (harness/exchanges/fake-binance.ts: Binance's REQUEST_WEIGHT of 6,000 per minute enforced) behind " +
        'harness/latency-proxy.ts (25 ms each way on every byte, one more round trip to open a connection; no TLS). ' +
        "20 limit buys at half the market on 5 symbols are placed first by the engine's own OrderManager through the " +
        'live adapter (each symbol holding resting orders places no entry); after every restart trading must report exactly 20 open orders. Killed ' +
        'alternately with the bare floor app, measured as restart is; the target is the floor plus 4 round trips ' +
        '(ratio ≤ 1). The used weight of every answer is read off the proxy: above the limit fails the section. ' +
        'The same against the local Bybit and OKX doubles (their documented per-endpoint limits enforced: any ' +
        'refusal for rate, 10006 / 403 / 50011 / 429, fails the section), shown beside the same floor, not judged by it.',
      'This host runs other builds and test suites at the same time: absolute figures move between runs, ratios to ' +
        'floors measured alongside move much less.',
    ],
  };
  const rows: BenchRow[] = [];
  for (const [name, load] of Object.entries(SECTIONS)) {
    if (only && !only.includes(name)) continue;
    ctx.log(`${name}…`);
    try {
      rows.push(...(await (await load())(ctx)));
    } catch (err) {
      ctx.log(`${name} failed: ${(err as Error).stack ?? String(err)}`);
      rows.push({
        group: name,
        item: name,
        unit: 'ms',
        limits: '—',
        error: (err as Error).message.split('\n')[0].slice(0, 300),
      });
    }
  }
  const durationMs = Date.now() - startedAt.getTime();
  process.stdout.write('\n' + consoleTable(rows) + '\n\n');
  for (const r of rows) process.stdout.write(`- ${r.item}: ${r.limits}\n`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pm2Version = (require('pm2/package.json') as { version: string }).version;
  const md = markdownReport(rows, { startedAt, durationMs, pm2Version, notes: ctx.notes });
  // a run of some sections leaves docs/benchmarks.md alone: their markdown is printed for a look (or a full run)
  if (only) process.stdout.write(`\n${md}\n`);
  if (!process.argv.includes('--no-write') && !only) {
    const out = path.join(REPO_ROOT, 'docs/benchmarks.md');
    // the Soak section is written by `npm run soak` (a run of its own): carried over as it is
    const soak = fs.existsSync(out) ? soakSectionOf(fs.readFileSync(out, 'utf8')) : undefined;
    fs.writeFileSync(out, soak ? replaceSoakSection(md, soak) : md);
    process.stdout.write(`\nwrote ${out}\n`);
  }
  const missed = rows.filter((r) => verdictOf(r) === 'MISSED').length;
  const failed = rows.filter((r) => r.error).length;
  process.stdout.write(
    `\n${rows.length} figures, ${missed} target(s) missed, ${failed} not measured, ${(durationMs / 1000).toFixed(0)} s\n`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
