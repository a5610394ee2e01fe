/**
 * restart of the real trading daemon (paper) under PM2 with ByNinja's PM2 options: SIGKILL → PM2 online again
 * (trading sends `ready` only after its state is loaded and reconciled with the exchange), minus PM2's backoff.
 * The number of open orders stays what was seeded: with none, entries are paused first (the pause is persisted); with
 * orders, every traded symbol holds a seeded resting one, so no entry is placed (an order of the symbol working
 * holds every other: placement-gate.ts) — and no pause, which would cancel those resting limit entries
 * (symbol-decision.ts). After every restart the daemon must report exactly that many open orders, proving the state
 * really was loaded.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { BenchContext } from '../bench';
import { freePort } from '../chaos/cluster';
import { Pm2Session } from '../chaos/pm2-session';
import { TradingProbe } from '../../harness/trading-probe';
import { DAEMON_SCRIPTS } from '../../harness/pm2';
import { ecosystemRuntime, measureRestarts, writeBareScript, type EcosystemRuntime } from './restart';
import { SEED_ENV, seedEvents, seedHistory, seedOpenOrders } from './seed-orders';
import { summarize, type Summary } from './stats';

export const TRADING_SCRIPT = DAEMON_SCRIPTS.trading;

export interface TradingUnderPm2 {
  session: Pm2Session;
  probe: TradingProbe;
  env: Record<string, string>;
  /** Trading's node flags and runtime env from ecosystem.config.js: start the floor app with them too. */
  runtime: EcosystemRuntime;
}

/** Starts the real trading daemon alone under a fresh PM2 home (secrets through a temp .env, as in production). */
export async function startTradingUnderPm2(
  prefix: string,
  extraEnv: Record<string, string> = {},
  beforeStart?: (dataDir: string) => Promise<void>,
): Promise<TradingUnderPm2> {
  const session = await Pm2Session.start(prefix);
  try {
    const token = crypto.randomBytes(32).toString('hex');
    fs.writeFileSync(path.join(session.harness.root, '.env'), `BYNINJA_IPC_TOKEN=${token}\n`, {
      mode: 0o600,
    });
    if (beforeStart) await beforeStart(session.harness.dataDir);
    const port = await freePort();
    const env = {
      BYNINJA_IPC_PORT: String(port),
      // one tick a minute: the loop stays out of the way of what is measured
      BYNINJA__TRADING__TICK_INTERVAL_MS: '60000',
      ...extraEnv,
    };
    const runtime = ecosystemRuntime(session.harness);
    await session.harness.startScript('trading', TRADING_SCRIPT, {
      env: { ...runtime.env, ...env },
      pm2Args: runtime.pm2Args,
    });
    const probe = new TradingProbe(port, token);
    await probe.waitRunning(120_000);
    return { session, probe, env, runtime };
  } catch (err) {
    await session.stop();
    throw err;
  }
}

export interface RestartFigures {
  trading: Summary;
  /** The bare floor app, killed alternately with trading in the same PM2. */
  floor: Summary;
  limits: string;
}

export async function tradingRestarts(
  ctx: BenchContext,
  openOrders: number,
  trials: number,
  historyOrders = 0,
  events = 0,
): Promise<RestartFigures> {
  let seedMs = 0;
  const t = await startTradingUnderPm2('byninja-bench-rs-', SEED_ENV, async (dataDir) => {
    if (events > 0) {
      ctx.log(`seeding ${events} events in the event log…`);
      await seedEvents(dataDir, events);
    }
    if (historyOrders > 0) {
      ctx.log(`seeding ${historyOrders} closed orders in the history journal…`);
      await seedHistory(dataDir, historyOrders);
    }
    if (openOrders === 0) return;
    ctx.log(`seeding ${openOrders} open orders…`);
    const t0 = Date.now();
    await seedOpenOrders(dataDir, openOrders);
    seedMs = Date.now() - t0;
  });
  try {
    // a generous answer time: right after ready the first tick runs
    if (openOrders === 0) await t.probe.call('pause', { reason: 'benchmark' }, 30_000);
    await t.session.harness.startScript('bare', writeBareScript(t.session.harness.root), {
      env: t.runtime.env,
      pm2Args: t.runtime.pm2Args,
    });
    const samples = await measureRestarts(
      t.session,
      {
        trading: {
          readyTimeoutMs: 180_000,
          beforeKill: async () => {
            const { status } = await t.probe.waitRunning(60_000);
            if (status.openOrders !== openOrders) {
              throw new Error(
                `trading reports ${status.openOrders} open orders after restart, expected ${openOrders}`,
              );
            }
          },
        },
        bare: {},
      },
      trials,
    );
    const eventsLimits =
      `as with 0 open orders, plus reading back an event log at its retention (${events.toLocaleString('en-US')} ` +
      `events, ${(fs.statSync(path.join(t.session.harness.dataDir, 'events.jsonl')).size / 2 ** 20).toFixed(1)} ` +
      'MiB, kept for telegram to catch up after an outage): its tail read back to the retention and kept as the ' +
      'one string it was read into, each line parsed for its seq and eventKey (a replay needs the seq, the outbox ' +
      'dedup the key); each is checked against the event schema only when first replayed (checking them all at ' +
      'open was ~40 ms of every such start)';
    const limits =
      events > 0
        ? eventsLimits
        : historyOrders > 0
          ? `as with 0 open orders, plus opening a history journal of ${historyOrders.toLocaleString('en-US')} closed orders ` +
            `(${(fs.statSync(path.join(t.session.harness.dataDir, 'trading-history.jsonl')).size / 2 ** 20).toFixed(0)} MiB): ` +
            'its open reads back from the end only to the last newline (the torn-line repair; counting its lines read ' +
            'the whole file, 20–40 ms of every start, and nothing used the count), and recovery reads only its last 16 ' +
            'entries (their seq bounds every clientOrderId), parsed from the end of the 64 KiB chunk it reads (all ~140 ' +
            'lines of that chunk were parsed and validated): main-thread CPU to ready 158 → 144 ms, as with an empty ' +
            'history (lower-half mean of 31 starts each, alternated)'
          : openOrders === 0
            ? 'node boot and PM2 are the floor; above it (--cpu-prof of the bundle, and CPU time to ready per thread): ' +
              "PM2 turns node's source maps on in what it forks (ProcessContainerFork), and node then read and parsed " +
              'the .map of each of the four tsc modules the launcher required: since stop 40 the launcher is one ' +
              'bundled file with no source map (scripts/bundle.ts writeLauncher; the bundle itself, compiled by ' +
              'vm.Script, never had its map read) — SIGKILL → ready under PM2 split at the new process (its ' +
              "performance.timeOrigin and a preload's first line), 1,000 orders, medians of 9–12: our JavaScript " +
              '82–85 → 75 ms, the rest (teardown 6, PM2 to the fork 8–9, node boot ~51, the ready relay 1) as the ' +
              "bare app's but teardown (4); alternated under one PM2 daemon: 144 → 138.5, 150.5 → 147.5 ms; " +
              "direct starts with PM2's source-map switch: 135.3 → 130.5 ms; " +
              'loading the one-file bundle (dist/daemons, ~590 KiB: our code, zod, json-rpc-2.0; no winston: our own ' +
              'logger writes a line in one synchronous pass, ~16 ms of CPU less per start) from its V8 ' +
              'code cache (written right after the first ready: written 3 s after start, it never existed for these ' +
              'restarts, ~40 ms more CPU each), then running its top level: every zod schema built, module initialisers ' +
              "(zod, dotenv) and esbuild's keepNames helper naming every function (~15 ms of wall time in all, timed " +
              'per module: the config schema ~6, the state schemas ~2; keepNames off measured no CPU difference; ' +
              'since stop 36 the config schema is built only for a configuration this build has not validated ' +
              "before — its last clean answer is kept beside the code cache, keyed by the bundle's SHA-256 and the " +
              "whole input, validated-config-cache.ts — and the IPC methods' params schemas on their first request: " +
              'direct starts, 14 alternated rounds, ready 104.9 → 100.5 ms, main-thread CPU 97.1 → 93.3) ' +
              "— esbuild's CommonJS interop no longer copies node's modules: its __toESM copied each built-in a file " +
              'imports (47 times, ~1 MiB of getters at every start), replaced at build time by one reading through ' +
              'the module as prototype (scripts/bundle-interop.ts; direct starts: ~5 ms less CPU of all threads, ' +
              "~2–3 ms to ready); node's own " +
              'modules it needs (crypto, fs/promises, net with dns and cluster for the TCP listen; not tls, loaded with a live ' +
              "exchange's first https connection: ~1 ms of every start, median of 15 fresh loads), from node's " +
              "built-in code cache: since stop 35 no V8 flag is on the command line, V8's memory settings are applied " +
              'once the daemon is ready (src/shared/lifecycle/heap-settings.ts, docs/operations.md, Memory) — any flag ' +
              "there (trading's node_args were the fixed young generation and compaction) changes V8's flag hash, node's " +
              'cache was rejected and each of those modules compiled from source (node 20.20, V8 11.3; V8 ignores ' +
              'memory-tuning flags in the hash only from commit 87356585659b, 2025): ~3 ms of CPU with the cache, ~10 ' +
              "without (fresh processes), and the watchdog worker's boot ~18 against ~38 ms on the other core. Direct " +
              'starts with 1,000 orders, 8 alternated rounds against the same build started with the old node_args: ' +
              'spawn → ready 157.5 → 139.3 ms, main-thread CPU 136.4 → 124.0, the worker thread 36.7 → 19.7; under PM2 ' +
              'the floor app gains as well (its child_process and IPC channel also come from the cache: ~76 → ~66 ms), ' +
              'so the ratios move less than the times. The ' +
              'worker loads node:crypto only for a breadcrumb it writes (its boot 41.5 → 38.1 ms, 9 alternated fresh ' +
              'processes); ~7 scavenges to ready with 1,000 orders (~9.5 ms; V8 grows the young generation during the ' +
              'start, to 8 MiB semi-spaces, as nearly every object a start makes survives: under the old fixed ' +
              '2 MiB semi-spaces 10 scavenges, ~11 ms; the settings applied at ready stop it growing, and V8 shrinks ' +
              'it once allocation slows); the config and state parsed by zod (jitless); and our ' +
              "own start (the log's startupMs): the service lock and the last-exit breadcrumb (put in place at once, its " +
              'two fsyncs in the thread pool beside the start, awaited before ready: the breadcrumb on the main ' +
              'thread 9.9 → 1.7 ms, median of 8 alternated direct starts each on a host at load ~10, its fsyncs done ' +
              '1–39 ms before ready in every one), the state lock, ' +
              'store and history journal, the event log tail, the paper exchange and its account file, the TCP server, ' +
              'recovery with nothing to fetch — their file calls synchronous (the two stale locks taken over, ~20 ' +
              "calls each, each store's generation reads and blocked marker, each journal's scan for its last line: " +
              'as async calls they were ~100 thread-pool round trips, ~0.1–0.3 ms each on the critical path; direct ' +
              'starts outside PM2 (spawn → ready, median of 6 alternated rounds of 5) ~140 → ~127 ms with no orders, ~163 → ~152 with 1,000, ~9 ms ' +
              'less CPU of all threads); the watchdog worker thread boots beside it (a few KiB, no schema code). Not ' +
              'before ready any more: prom-client with /health and /metrics (right after ready, or after 2 s of a start ' +
              'not yet ready) and the first tick. Tried and left: a V8 startup snapshot of the initialised bundle ' +
              "(node --build-snapshot, which would skip the top level's ~60 ms): node 20 refuses to build it " +
              '("Unknown external reference") with worker_threads, tls, vm and module loaded, warns that these are "not ' +
              'yet fully verified" in a snapshot, and a blob from another node version stops the daemon before any of ' +
              'our code runs — a node upgrade would leave trading down; and node 20.20 cannot snapshot node:http at ' +
              'all (an entry that only requires it fails: toSorted absent while building, then, polyfilled, a fatal ' +
              '"global handle not serialized" for its HTTPParser binding), which the bundle loads at its top (ws)'
            : `as above, plus reading and validating a state file and a paper account with ${openOrders.toLocaleString('en-US')} ` +
              'orders each: JSON.parse of ~0.5 MiB each (~3 ms for the two, indented or not: whitespace is not the ' +
              'cost), then parsers zod generates once a file holds 200 orders (shared/config/zod-compiled.ts: the ' +
              'parser only, installed with z.withParser — z.compile also generated an assert-only validator nothing ' +
              'calls, as much code again: ~10 ms of CPU of all threads and one scavenge less; ~2–3 ms to check each ' +
              "file in one walk, where zod's runtime parser took ~44 ms for the two); the orders loaded are live " +
              "through the 2 MiB young generation's scavenges (10 before ready, 5 with no orders: each copies what is " +
              'live; a sampled allocation profile to ready: ~21 MiB against ~10 with no orders — the parsed copies ' +
              '2 MiB, JSON.parse 1.4, the arrays and iterators of ~30 passes over the orders ~2.6, each pass small, ' +
              "the paper exchange's matching and order lists ~1.5); and recovery (~21 ms, its durationMs, median; was ~40): one " +
              'fetchRecentOrders per symbol and one fetchOpenOrders for all symbols, each matching only the resting' +
              ' orders it answers for (a pass that fills nothing writes nothing before its answer: the moved ' +
              'checked periods go with the next write), then one synchronous check per order the open list shows as' +
              ' state has it (no object built, no call, no commit). Its counts (orders, open, pending, fills) are ' +
              'one pass over the orders, not five, and the archive it ends with returns from a count when there are ' +
              'no more final orders than stay hot anyway (it sorted all 1,000 orders, derived the positions and ' +
              'replayed every fill to move nothing, at every tick too): recovery’s main-thread CPU ~2.3 → ~1.3 ms ' +
              '(--cpu-prof to ready, 6 alternated direct starts each; whole starts, 12 alternated on a host at load ' +
              '7: main-thread CPU median 145 → 142 ms, within noise).' +
              " Stop 34: the two files' parsers are generated at build time (scripts/zod-prebuild.ts writes zod's " +
              'compileFn code into the bundle, its constants as expressions over the same schema; a constant it cannot ' +
              'write fails the build), used from 200 orders as the one compiled at run time was, and put in front of ' +
              "the schema's parse, not installed with z.withParser (its clone and walk for reference cycles): no code " +
              "generation nor new Function at a start, the parser from the bundle's code cache once a start with " +
              "that many orders wrote it — direct starts with the node_args, 10 alternated rounds against stop 33's " +
              'build: spawn → ready 183 → 172.5 ms, main-thread CPU 156.7 → 150.3 (no orders: 135.6 → 133.4, ' +
              'the same CPU). Node compiling its own modules (above) is the largest single part. Stop 34b: the hot ' +
              'orders are listed and sorted once per version of the state, not at each hotOrders and pendingOrders ' +
              '(~15 calls before ready — recovery, the watched symbols, the account refresh — and more at every ' +
              'tick, each ~1 ms with 1,000 orders): the order book keeps the sorted list (and the pending ones) until ' +
              "a change moves the state's version (Store counts each mutation; counted-store.ts), each caller given " +
              'a copy or its filter of it — their inclusive CPU under --cpu-prof ~11.4 → ~1.4 ms a start (6 direct ' +
              "starts each, the first tick's beginning included); direct starts with the node_args, 20 alternated " +
              'rounds against stop 34: spawn → ready 162.8 → 156.9 ms (floors 156.8 → 149.5), main-thread CPU ' +
              '138.7 → 134.4 (floors 135.2 → 130.1).' +
              ' Stop 36, the passes over the orders a start made more than once: the positions are derived once ' +
              'per version of the state and load of the markets (they replayed every hot order at each of several ' +
              "calls before ready: recovery, the watched symbols, the account's reading, the unsellable watch), the " +
              "pending orders' symbols kept with the pending orders (the watched symbols, the busy coins and the " +
              'unsellable and shortfall watches each walked every pending order for them), each symbol split once ' +
              '(splitSymbol: up to two splits per order at each balance reading), the paper exchange answers its ' +
              'open and recent orders reads from the listing it matched (each listed and sorted every order ' +
              'twice), and recovery ' +
              'looks the open list up by symbol then id (no key string per order) — inclusive CPU under --cpu-prof ' +
              "to ready, 12 alternated direct starts each: positions 1.55 → 0.56 ms, the account refresh's reading " +
              'observed 2.18 → 0.39, busyCoins 1.44 → 0.08, the watched symbols 1.41 → 0.91, the paper matching ' +
              'pass 1.91 → 0.92, its open-orders listing 1.68 → 0.95; direct starts without node flags, 20–40 ' +
              'alternated rounds on a quiet host (load < 1), three runs: main-thread CPU −3.6, −2.0, −1.8 ms ' +
              '(~120 ms), spawn → ready −2.4, −2.0, +0.3 ms (within noise); no orders unchanged. Allocated to ready ' +
              '(sampled) 21.5 → 20.3 MiB, and the scavenges come at the same heap sizes, 8 before ready in both: ' +
              'with the young generation grown to 8 MiB by then, that much less moves none.' +
              " What is above 0 orders now (main-thread, --cpu-prof to ready, 1,000 against 0 open orders, 4 direct starts each, ~30 ms in all under the profiler): the two files read and checked ~13 ms (JSON.parse ~2, zod's parser generated at each start ~2 per schema — at build time since stop 34 —, the generated checks ~4.5), the paper exchange's open and first reads ~5–7 (its matching passes, toExchangeOrder, the open-orders sort: since stop 36 one listing per read), recovery ~5, the watched symbols worked out twice before ready ~1.5 (each sorted every pending order: since stop 34b the kept list), the garbage collector ~2, the rest small passes of well under 1 ms each; with the check kept complete, no duplicate left to remove is near the ~30 ms the target needs." +
              ' Measured again at stop 32 by taking parts out of a copy of the bundle (ablations, not shipped; ' +
              'main-thread CPU to ready from /proc, direct starts with the node flags PM2 gives trading, medians of ' +
              '25–30 alternated starts on a host at load 10–16): 1,000 open orders ~186 ms against ~147 with none; ' +
              "without the two files' schema checks, compile included, ~12 ms less (~25 of all threads: V8 " +
              "optimises the generated parsers on its helper threads), without the paper exchange's matching ~3, " +
              'without the account refresh ~1; the ~20 ms left are the two files read and parsed, the garbage ' +
              "collector (~24 MiB allocated to ready against ~10 with no orders, sampled: the parsed copies ~2.8, zod's " +
              'code generation ~2.4, the two texts and JSON.parse ~1.9, the passes over the orders their arrays and ' +
              'iterators), recovery and the watched symbols. The paper account is written ~200 ms after a start ' +
              "(its orders' matched periods moved), so each restart here matches 1–2 periods; a start 15 minutes " +
              'after the last matched period walked every order over ~450 periods at each full read, and now skips ' +
              "the orders no period reached (paper-matching.ts rangeReach): 219 → 212 ms. Stop 31's additions (seenByRead, the rest probe, " +
              "the watchdog's alive touch and boot id, the new fields) cost nothing measurable: stop 30's build " +
              'against this one, 30 alternated starts each, 184 against 186 ms with 1,000 orders, 155 against 153 ' +
              'with none (2.47× → 2.63× between the two benches was the host).' +
              ' Main-thread CPU to ready ~205 → ~175 ms, ~25 ms' +
              ' above 0 orders where it was ~50 (lower-half mean of 31 starts each, alternated); with the node_args ' +
              'PM2 gives trading ~144 → ~142 ms against ~112 with no orders, and of all threads ~212 → ~200 against ' +
              "~146 (median of 9 starts, 4 rounds alternated, outside PM2): V8's GC helpers and background " +
              'compiler need the second core, which this host shares. Tried and left: a larger young generation ' +
              '(8 or 16 MiB semi-spaces: 1–2 scavenges, CPU within noise, 12–28 MiB more RSS, and the soak ruled out ' +
              "even 4 MiB: docs/operations.md, Memory); --single-threaded-gc (within noise); zod's assert-only " +
              "validator with no parsed copy (same check time, same scavenges); skipping, in the paper exchange's " +
              "reads, orders already matched up to the last period (dry-run's feed samples the ticker at each read: " +
              'it would change dry-run fills); recovery sorting (oldest first) only the orders it must act on, not ' +
              'the 1,000 the open list shows as state has them (recovery’s own CPU ~9 ms either way, --cpu-prof of ' +
              '6 direct starts each, alternated). After ready, the ' +
              'first tick refreshes each order with its own fetchOrder, which matches only that order: ~50 ms of ' +
              'CPU for the tick (a pass over every resting order per fetch made it ~700 ms)' +
              "; and each symbol's decision counts the position slots held, where each other symbol's inferred-order hold is now judged once (it was judged per entry order, each judgement a pass over every order: with 1,000 open entries ~125 ms of a tick's CPU, now ~2; the decision ~135 → ~14 ms, --cpu-prof of 5 alternated direct starts each, the first tick included)" +
              '. Waits on the way to ready (1,000- and 0-order starts timelined: --cpu-prof idle gaps to ready and ' +
              "the main thread's file calls, direct starts): the running breadcrumb's two fsyncs were the one wait of " +
              "every start (now in the thread pool, see above), and an awaited mkdir of the paper account's directory " +
              "that its lock makes anyway; left: the recovery event's durable event-log write, which recovery awaits " +
              'before the account refresh and ready (1–2 ms on a quiet disk, 2–9 ms idle in 3 of 4 profiled starts with ' +
              "other suites on the disk: recovery.ts), and the event log's and history journal's tail reads in the " +
              'thread pool (~2 ms each under load); a steady restart writes neither the state nor the account before ' +
              'ready. The top level before main, per module (a mark at each module of an unminified bundle run from ' +
              "its code cache, median of 6 starts): the config schema 8.4 ms, the trading state's schemas 5.6, the " +
              'config loader with dotenv 2.4, every other module under 0.5. Tried and left: the config sections a ' +
              'daemon does not validate built on first use (getters, a scoped schema instead of pick, which resolves ' +
              "every getter): nothing measurable off trading's start (main-thread CPU from the first module to the " +
              "config loaded 19.0 → 18.8 ms, 11 alternated starts each: telegram's, the supervisor's and the outbox's " +
              'sections are small); the whole schema skipped on an unchanged configuration (stop 36, above) took ~3 ms ' +
              'of main-thread CPU off (1,000 orders: 117.5 → 114.9 ms, 14 alternated direct starts; the code cache ' +
              "868 → 804 KB). Beside the main thread: the watchdog's worker thread boots on the other core " +
              "(~38 ms of CPU, a bare node 20 worker alone; it must start before anything that could block), V8's " +
              'GC and compiler threads ~20 ms: on this 2-core host shared with other builds the main thread waited ' +
              'longer for a core (run queue) than for the disk ' +
              `(seeding took ${(seedMs / 1000).toFixed(1)} s). ` +
              'Stop 38, what the last ~15 ms are (copies of the bundle with one part taken out, not shipped; this ' +
              'bench alternated with the build, 2–3 runs each, floors 62–67 ms): the watchdog worker started after ' +
              'ready instead of before the start, 1,000 orders 146/140/152 → 133/136 ms (~2.08×; direct starts ' +
              '−7 ms: its ~18 ms boot, a bare node 20 worker, takes the second core from the GC helpers and PM2, ' +
              'and the main thread waits ~5 ms more in the run queue) — kept before the start, the only stall ' +
              'detection of a start when telegram is down; the worker thread at nice 19, created before the bundle ' +
              'loads, or after the state files are read: no gain (the overlap is the cost, wherever it falls); the ' +
              "worker's options (shared env, resource limits) change its boot by < 1 ms; no schema check of the two " +
              'files at all: −7 ms direct (check and copy; kept: a file is trusted only once its full schema passed); ' +
              'no console lines before ready (PM2 relays each): no difference (141/136/141/140 against 140/140/139/136); ' +
              "node's --v8-pool-size 1 or 2: no difference. Direct starts, 1,000 against 0 orders (+~22 ms): the paper " +
              'account read and checked ~7, the state file ~6, recovery ~12 (its paper reads ~6 of them, its passes ' +
              '~3.5, the recovery event’s durable write ~1.5 more) — each already a single pass. Stop 41: the ' +
              "generated parsers ran each optional field's check as an arrow made and called on the spot (zod's " +
              'code shape: ~25 closures per order of the state file, cold in the interpreter); in the bundles each ' +
              'is a labelled block of the same meaning (scripts/zod-prebuild-inline.ts): the trading state checked ' +
              'in a fresh process ~7.8 → ~4.9 ms (first run, 1,000 orders, median of 4), its check in a start ' +
              'under --cpu-prof 11.9 → 6.5 ms (7 and 10 direct starts), 7 → 6 scavenges to ready. And the bundles ' +
              'use that parser from the first file, so the state file’s zod schemas are built only for a file it ' +
              'refuses (trading-state-schema.ts stateSchemas; each order’s key checked after the schema, ' +
              'misfiledKeys): the top level’s module initialisers 10.7 → 8.2 ms under --cpu-prof; main-thread CPU ' +
              'to ready 149.3 → 142.9 ms (lower-half mean, 20 alternated direct starts), no orders 136.9 → 135.9';
    return {
      trading: summarize(samples.trading.map((s) => s.ms)),
      floor: summarize(samples.bare.map((s) => s.ms)),
      limits,
    };
  } finally {
    await t.session.stop();
  }
}
