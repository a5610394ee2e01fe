import type { BenchContext } from '../../bench';
import {
  LIVE_LISTED_MARKETS,
  LIVE_OPEN_ORDERS,
  LIVE_SYMBOLS,
  ROUND_TRIP_MS,
  liveRecoveries,
} from '../live-recovery';
import type { BenchRow } from '../report';
import type { Summary } from '../stats';

const ROUND_TRIPS_ALLOWED = 4;

export async function liveRecoverySection(ctx: BenchContext): Promise<BenchRow[]> {
  const what =
    `${LIVE_SYMBOLS.length} of ${LIVE_SYMBOLS.length + LIVE_LISTED_MARKETS} markets traded, ` +
    `${LIVE_OPEN_ORDERS} open orders, ${ROUND_TRIP_MS} ms round trip`;
  const label = `live recovery (local Binance, ${what}): SIGKILL → ready, minus PM2 backoff`;
  try {
    const f = await liveRecoveries(ctx, ctx.trials(7));
    const allowance = ROUND_TRIPS_ALLOWED * ROUND_TRIP_MS;
    const floorPlus: Summary = shift(f.floor, allowance);
    // when the first request must reach the exchange for the target, the exchange's part being what it was
    const needBy = f.floor.median + allowance - f.exchangePhaseMs.median;
    const routes = Object.entries(f.routes)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([route, n]) => `${route} ${n}`)
      .join(', ');
    return [
      {
        group: 'live',
        item: `live recovery floor: bare ready-at-once node under the same PM2 options, killed alternately`,
        unit: 'ms',
        summary: f.floor,
        limits:
          "PM2's exit handling, fork of a new node and node's own boot, then the ready message over PM2's IPC",
      },
      {
        group: 'live',
        item: label,
        unit: 'ms',
        summary: f.trading,
        floor: {
          item: `bare node + ${ROUND_TRIPS_ALLOWED} round trips (${allowance} ms)`,
          summary: floorPlus,
        },
        target: { ratioMax: 1, text: `≤ bare + ${ROUND_TRIPS_ALLOWED} round trips` },
        limits:
          `CPU first: everything the paper restart pays (the bundle's top level — zod schemas, our own logger —, ` +
          `lock, watchdog), then ccxt's binance from its own code-cached bundle (dist/daemons/ccxt-binance.js; ` +
          `main-thread CPU, median of 12 fresh loads: ~22 ms to load, ~12 ms to construct — half of it ` +
          `defineRestApi, one method per Binance endpoint —, ~16 ms more for the first request, undici's ` +
          `dispatcher; Starknet signing and the rest of undici, ~25 ms of it before, load on first use: ` +
          `scripts/ccxt-bundle-deps.ts); from the restart to the first request reaching the exchange ` +
          `${fmtMs(f.beforeExchangeMs.median)} (its one-way trip included). The start's connections are opened before ` +
          `ccxt loads and the event loop is given a turn right after, so they are connected when the first request ` +
          `leaves (stop 35: node makes a socket's connect call on a later tick, which ccxt's synchronous load and ` +
          `construct had held back — the proxy saw them opened ~20 ms before the first request, whose bytes then ` +
          `waited ~30 ms for the handshake; direct live starts, 10 alternated rounds against stop 34b's build: ready ` +
          `348.7 → 310.0 ms, floors 322.0 → 283.0, first request → ready 167 → 129; this section, 3 alternated runs: ` +
          `343–353 → 304–319 ms, 1.26–1.28× → 1.11–1.16×; a host name's lookup answers after that turn, so against ` +
          `a real exchange its connects go out after ccxt's load). Then markets and account together; the markets are asked for by symbol (exchangeInfo ` +
          `\`symbols\`, the profile's marketsBySymbol): the traded ones' few KB, not the whole list of ` +
          `${LIVE_LISTED_MARKETS} more (a real Binance: ~3,400, ~8 MB of JSON), which took the adapter 516–644 ms ` +
          `of CPU per load against 99–135 ms for the 5 (a probe on a busy host, first request included) and ~22 MiB ` +
          `more heap to hold, and put the start's exchange part at 5.8–7 round trips (a symbol no longer listed ` +
          `makes Binance refuse the request, -1121: the whole list is read then). ` +
          `With the traded symbols' markets the run before kept on disk (trading-markets.json, a few KB: ccxt maps ` +
          `symbols and parses orders with them), recovery's reads — recent orders of each symbol, open orders of ` +
          `all symbols, the balance — go out once the account answered, beside the markets answer (in ` +
          `${f.keptMarketsUsed} of ${f.trading.n} restarts); not with the first reads: after a 429 / 418 one gate ` +
          `holds every request (rate-limit-gate.ts), and a refused start has only those two out. The start still ` +
          `waits for the fresh markets before it recovers, sizes or places anything. The state files, ` +
          `event log and TCP server open while the reads travel. Recovery itself took ` +
          `${fmtMs(f.recoveryMs.median)} (median; its reads included); from the first request reaching the ` +
          `exchange to ready ${fmtMs(f.exchangePhaseMs.median)} ` +
          `(${(f.exchangePhaseMs.median / ROUND_TRIP_MS).toFixed(1)} round trips). ` +
          `Requests per restart: ${f.requests.median} (last: ${routes}); connections opened ${f.connections.median}; ` +
          `peak used weight ${f.peakWeight} of ${f.weightLimit} per minute (checked on every answer, never above). ` +
          `What bounds it: the exchange's part is at its floor for two waves of reads — half a round trip for the ` +
          `first answer back, one for the second wave, ~15–20 ms of CPU (account answer → second wave out ~12–15 ms ` +
          `on a busy host, its five allOrders within 1–4 ms of each other: direct live starts, 4 each) — so the ` +
          `target needs the first request at the exchange within ~${fmtMs(needBy)} of the restart (the floor ` +
          `plus the allowance less the exchange's part): ${fmtMs(f.beforeExchangeMs.median)} here, ` +
          `${fmtMs(f.beforeExchangeMs.median - needBy)} of CPU before the first request too many; all reads in ` +
          `one wave is refused (a start the exchange refuses for rate must have only two out). Where that CPU went ` +
          `(stop 32: marks in a copy of the bundle, CPU of all threads since the process began, direct live ` +
          `starts, median of 8 on a host at load ~15): the daemon bundle begins at ~95 ms (node's boot, ~55 for ` +
          `node -e 0, then the launcher and the bundle's code cache), the service at ~130 (the bundle's top ` +
          `level), trading's start at ~148 (config, locks, breadcrumb, the watchdog's worker), ccxt loaded at ` +
          `~213, constructed at ~245, the first two requests sent right after: no one part near the ~65 ms. Stop ` +
          `34 (direct live starts against this double and proxy, the main thread's CPU read when the first ` +
          `request's bytes reach the proxy, 12–16 alternated rounds): ~172–175 ms, the same with this stop's ` +
          `changes as before them; the state file is opened and checked before that first request's bytes leave ` +
          `(sendConnectReads only starts ccxt's calls), so its schemas built at their first use instead of at the ` +
          `bundle's top level (~2 ms of CPU) moved nothing (tried and left), and the build-time parser of the ` +
          `state file, used from its first parse, cost ~3 ms there (now from 200 orders, as the parser compiled ` +
          `at run time was). Stop 34b: the daemon gives the event loop one turn after sendConnectReads, so ` +
          `ccxt's way to the socket (promise jobs: the gate, the throttle's burst, the signing) runs before the ` +
          `state files' synchronous read and check, and the first requests leave before them (14 alternated ` +
          `direct live starts against main's build, no orders: first request at the proxy 167.2 → 164.2 ms, ` +
          `floor 161.2 → 159.9, main-thread CPU then 152.0 → 150.0, ready 326.5 → 323.5; a larger state file ` +
          `gains its whole check); ` +
          `node compiled its own modules from source under trading's node_args (V8 flags reject node's built-in ` +
          `code cache: see the paper restart), ~15 ms of the ccxt bundle's load alone under a profiler (since stop ` +
          `35 the memory settings are applied once ready, heap-settings.ts: no flag on the command line); in the ccxt bundle's own code (an unminified copy profiled per line, ` +
          `6 loads: ~16 ms with the constructor) noble-curves, dYdX's Long, zklink and Starknet's facade run ~1 ms ` +
          `at load (left where they are), Exchange.js ~7 (defineRestApi, and its constructor giving every property ` +
          `of the prototype chain a snake_case twin through unCamelCase's regexes, ~4). The API key's own limits (apiRestrictions: a key that cannot trade refuses a start with ` +
          `nothing open) are no longer awaited before ready when the last read of the same key (kept in ` +
          `trading-api-key.json) is under a day old and said it can trade: the fresh read goes out after ready and ` +
          `the first tick waits for it (key-watch.ts; a first start, a new key, an older read or one that said ` +
          `"cannot trade" still awaits it). Awaited (stop 29), it cost ~47 ms, one round trip (376 vs 329 ms, 7 ` +
          `alternated restarts each; sent after the first reads instead, or awaited after recovery: 378, 377 ms); ` +
          `it also slowed recovery's own reads: 4 alternated runs of this section each, on a host busy with other ` +
          `suites (absolute times 2× a quiet run's), medians of their medians: recovery 101 → 61 ms, first request ` +
          `at the exchange → ready 178 → 115 ms (3.6 → 2.3 round trips), ratio 2.02 → 1.66×. Before the first request ` +
          `(--cpu-prof of direct live starts, busy host): node's own modules compiled (child_process and the IPC ` +
          `channel as in every PM2 app; crypto, fs/promises, worker_threads; tls, https, http's server and zlib ` +
          `that ws, ccxt's websocket client, loads at the bundle's top), the two bundles' code-cache ` +
          `deserialisation, ccxt's construct (defineRestApi) and the code cache's key (now the file's bytes hashed, ` +
          `not its decoded string, which crypto encoded back to UTF-8 first: loadCcxtClass and the constructor, ` +
          `CPU of all threads, median of 30 alternated fresh loads, 48.9 → 46.4 ms); no longer ccxtVersion(), the key of the markets kept between ` +
          `starts: a constant the build writes into the daemon bundle, the bundled ccxt's (scripts/bundle.ts ` +
          `define; it was require.resolve('ccxt') and its package.json read, ~3 ms of main-thread CPU per start, ` +
          `/proc/thread-self/schedstat, 7 fresh runs; the call alone ~1.8 ms of CPU, median of 11 fresh ` +
          `processes)` +
          `; the running breadcrumb's two fsyncs, before the first request too, no longer block the main thread ` +
          `(in the thread pool, awaited before ready: 9.9 → 1.7 ms on the main thread, median of 8 paper starts)` +
          `; the watchdog's worker thread no longer has its stdout and stderr relayed (it writes its lines to ` +
          `fd 2 itself: the main thread that would relay them is the one stuck): new Worker ~3.3 → ~1.9 ms of ` +
          `main-thread time (median of 8 fresh processes, stdout already open as in a daemon; ` +
          `node:worker_threads' own load ~1.5 ms more). Left where it starts, before the service's main: ` +
          `started after the first requests it would save those ~3.5 ms but leave what runs before them — ` +
          `config, locks, breadcrumb, ccxt's load and construct, the kept markets' read — with no stall ` +
          `detection` +
          `. Stop 35, what the start runs before its first request made smaller (direct live starts against this double ` +
          `and proxy, 20 orders, with the node_args trading had then; loads in fresh processes with them; medians of ` +
          `alternated rounds): ` +
          `ccxt's implicit REST method names (two per endpoint, 822 on Binance, each built from its path with splits ` +
          `and joins) worked out by the build and kept in the exchange's bundle (ccxt-rest-names.ts: used only where ` +
          `each endpoint's inputs match, ccxt's own definition from the first that does not; the instance keeps ` +
          `exactly ccxt's properties): construct 14.3 → 10.7 ms of main-thread CPU, 12 fresh processes each; ` +
          `the rest of undici (fetch, WebSocket, caches: ~0.6 MB that ccxt never runs, it sends through ` +
          `undici.request) loaded from node_modules on fetch's first call and MEXC's protobuf messages (0.14 MB) ` +
          `left out of the bundles (ccxt-bundle-deps.ts): the binance bundle 1.87 → 1.41 MB, its load 48.2 → 42.9 ms ` +
          `(hashed, decoded and handed to V8 at each load though never run); the daemon's modules needed only ` +
          `once the first reads are sent — state files, event log, TCP server, control handlers, key watch, the ` +
          `engine, with their zod schemas — required then (daemon-parts.ts: lazy in the bundle, their top level ` +
          `runs in the first round trip's idle time): first request at the proxy 166.7 → 157.1 ms (floors 159.1 → ` +
          `152.1), main-thread CPU then 149.5 → 142.3, ready 303.4 → 290.1 (14 alternated rounds). With the ` +
          `connections' turn, this section, 4 alternated runs against stop 34b's build: 335–347 → 296–305 ms ` +
          `(1.23–1.27× → 1.09–1.12×; one more run at 380 ms on a host busy then), before the first request reaches ` +
          `the exchange 238–244 → 193–201 ms, the exchange's part the same (~100 ms); on main with its heap ` +
          `settings applied once ready, 4 alternated runs against main: 324–349 → 293–301 ms (1.21–1.29× → ` +
          `1.10–1.12×; a run of each at 389–395 / 334 on a host busy then), still ~25–30 ms above the target. ` +
          `Measured and ` +
          `not taken: node's crypto for the requests' HMAC in place of ccxt's own (noble-hashes; the 9 signatures ` +
          `of a start 2.0 → 0.2 ms, ~1 ms of it before the first request: a second HMAC beside ccxt's for that); ` +
          `the constructor's snake_case twins (its pass over the ~830 names of the prototype chain ~2 ms, warm: a ` +
          `patch of ccxt's base class for that). The kept markets are the traded symbols' (5 here, 8.7 KB: read, ` +
          `checked and put in ccxt after the first request, setMarkets ~0.5 ms), not the 3,005 listed. What is ` +
          `left before the first request (--cpu-prof): ccxt's bundle from its code cache (~25 ms of its ~43: V8 ` +
          `deserialising what the last start compiled), its construct (~11), undici's modules and the first ` +
          `request's way out (~10), the daemon bundle's top level (config schema, zod) and runService (config, ` +
          `locks, breadcrumb, watchdog, ~5 log lines), and, before stop 35's heap settings, node's own modules ` +
          `compiled from source under trading's node_args; after ` +
          `it, two waves of reads (the second once the account answered: a start refused for rate has only two ` +
          `out), each answer's parse (llhttp's first run, ccxt's) and recovery, ~25 ms of CPU in all` +
          `. Stop 36, before the first request: the config schema is not built when the configuration is the one ` +
          `this build validated last (its clean answer kept beside the code cache, keyed by the bundle's SHA-256 ` +
          `and the whole input: validated-config-cache.ts), and ws — ccxt's WebSocket client, for ccxt.pro and its ` +
          `order router — is out of the ccxt bundles, loaded from node_modules on first use (a proxy of its class; ` +
          `with it node's http, https and zlib, and tls in this section, whose proxy speaks plain HTTP: a real ` +
          `exchange's first https connection loads tls before ccxt anyway; stop 35 measured it alone at 28.3 → ` +
          `26.3 ms of main-thread CPU for ccxt's load and construct, 15 alternated fresh loads): direct live ` +
          `starts, 12 alternated rounds against stop 35's build, first request at the proxy 132.7 → 129.3 ms with ` +
          `the config cache alone (ready 264.2 → 256.6), main-thread CPU at the first request 124.6 → 118.9 with ` +
          `both (a busy host). Not done, by design: recovery's reads in the first wave (it would save the second wave's round trip, ` +
          `~50 ms here, not measured): the account's answer is the start's probe of a refusal for rate, and an IP banned by another ` +
          `client would get every read of a restart, each lengthening a Binance ban` +
          `. Tried and left: an ASCII-only bundle decoded as latin1 (with the key from the bytes, no gain in the ` +
          `load: main-thread CPU of loadCcxtClass and the constructor, 25 alternated fresh loads, median 28.0 → ` +
          `28.9 ms, wall 22.5 → 31.6; not profiled further); a V8 startup snapshot of ccxt's binance bundle (node --build-snapshot, ` +
          `to skip its ~22 ms load and ~12 ms construct): node 20.20 cannot hold node:http in a snapshot — an entry ` +
          `that only requires it fails (node:http's top level calls toSorted, absent while building; with it ` +
          `polyfilled, a fatal "global handle not serialized" for its HTTPParser binding) — and ccxt's bundle loads ` +
          `http at its top (ws, its fetch), as the daemon's bundle does: not viable without deferring every http ` +
          `load of both bundles past the snapshot, which a live start's first request needs at once anyway`,
      },
    ];
  } catch (err) {
    return [
      { group: 'live', item: label, unit: 'ms', limits: '—', error: (err as Error).message.slice(0, 300) },
    ];
  }
}

function shift(s: Summary, ms: number): Summary {
  return { n: s.n, median: s.median + ms, min: s.min + ms, max: s.max + ms, p99: s.p99 + ms };
}

function fmtMs(ms: number): string {
  return Number.isFinite(ms) ? `${Math.round(ms)} ms` : 'n/a';
}
