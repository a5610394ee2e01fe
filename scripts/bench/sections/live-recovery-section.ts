import type { BenchContext } from '../../bench';
import {
  BYBIT_VENUE,
  LIVE_LISTED_MARKETS,
  LIVE_OPEN_ORDERS,
  LIVE_SYMBOLS,
  OKX_VENUE,
  ROUND_TRIP_MS,
  liveRecoveries,
  type LiveRecoveryFigures,
  type LiveVenue,
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
          `CPU first: node's boot and the daemon bundle from its code cache (zod schemas, the logger), the config ` +
          `(its validated answer kept: validated-config-cache.ts), locks, breadcrumb, the watchdog's worker. Then ` +
          `the start opens its connections (spare-connections.ts) and — with the traded symbols' markets the run ` +
          `before kept (trading-markets.json: their ids) and no refusal for rate kept within the last day ` +
          `(trading-rate-limit.json) — sends its reads on them before ccxt is loaded (early-reads.ts, signed as ` +
          `Binance documents; stop 46): the markets (the traded symbols' only, exchangeInfo \`symbols\`: not the ` +
          `${LIVE_LISTED_MARKETS} others listed, which a real Binance answers with ~8 MB of JSON), the account, the ` +
          `recent orders of each symbol, the open orders, the balance — one wave (with the first reads in ` +
          `${f.withFirstReads} of ${f.trading.n} restarts, kept markets used in ${f.keptMarketsUsed}). ccxt's ` +
          `binance loads from its own code-cached bundle meanwhile (dist/daemons/ccxt-binance.js: ~20 ms to load, ` +
          `~20 to construct, ~10 for undici's modules), and its own requests for those reads take their answers: ` +
          `none is sent twice. Before stop 46 the reads left once ccxt was loaded and its HTTP client's first ` +
          `request on its way (~50 ms of CPU after the connections were opened, more under PM2: the CPU, not the ` +
          `handshake, decided when), recovery's 10–25 ms behind the first ones (direct live starts, 12 alternated ` +
          `rounds against that build: config → ready 178 → 151 ms). From the restart to the first request reaching ` +
          `the exchange ${fmtMs(f.beforeExchangeMs.median)} (its one-way trip and the connection's own round trip ` +
          `included). After a refusal for rate nothing leaves before ccxt: markets and account first, the rest once ` +
          `the account answered, one round trip more (stop 36, with every start so: 283 ms, 1.08×). The start ` +
          `still waits for the fresh markets and the identity check before it recovers, sizes or places anything. ` +
          `The state files, event log and TCP server open while the reads travel. Recovery itself took ` +
          `${fmtMs(f.recoveryMs.median)} (median, from its start: its reads had left before it began); from the ` +
          `first request reaching the exchange to ready ${fmtMs(f.exchangePhaseMs.median)} ` +
          `(${(f.exchangePhaseMs.median / ROUND_TRIP_MS).toFixed(1)} round trips). ` +
          `Requests per restart: ${f.requests.median} (last: ${routes}); connections opened ${f.connections.median} ` +
          `(the spares for ccxt's later requests, and one for each early read); peak used weight ${f.peakWeight} ` +
          `of ${f.weightLimit} per minute (checked on every answer, never above). What bounds it: node's boot and ` +
          `our start's CPU up to the connections (the target wants the first request at the exchange within ` +
          `~${fmtMs(needBy)} of the restart, the exchange's part being what it was: ` +
          `${fmtMs(f.beforeExchangeMs.median)} here), the connection's round trip, then the reads' round trip, ` +
          `each answer's parse and recovery. Tried and left (stops 34–36): a V8 startup snapshot of ccxt's bundle ` +
          `(node 20.20 cannot hold node:http in one), an ASCII bundle decoded as latin1 (no gain), the watchdog's ` +
          `worker started after the first requests (~3.5 ms, no stall detection before them)`,
      },
    ];
  } catch (err) {
    return [
      { group: 'live', item: label, unit: 'ms', limits: '—', error: (err as Error).message.slice(0, 300) },
    ];
  }
}

/** What each of the other verified exchanges' recovery needs in round trips one after the other, from their docs. */
const DEPENDENT_READS: Record<string, string> = {
  Bybit:
    "each symbol's recent orders are its open list (/v5/order/realtime), then — once that answered — its history " +
    '(/v5/order/history: read in the other order or together, an order that ended between the two could be in ' +
    'neither): one round trip more than Binance, whose allOrders lists both at once',
  OKX:
    "each symbol's recent orders are its pending list (trade/orders-pending), then — once that answered — its " +
    'filled and its cancelled history together (trade/orders-history, state=filled and state=canceled: no list of ' +
    'all orders), one round trip more than Binance',
};

/**
 * Bybit and OKX, the same restart as Binance's through their doubles (documented per-endpoint limits enforced): a
 * figure beside the target, not judged by it — their recovery reads one list after another where Binance has one.
 */
export async function otherVenuesLiveRecoverySection(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const venue of [BYBIT_VENUE, OKX_VENUE]) rows.push(await venueRow(ctx, venue));
  return rows;
}

async function venueRow(ctx: BenchContext, venue: LiveVenue): Promise<BenchRow> {
  const label =
    `live recovery (local ${venue.name}, ${LIVE_SYMBOLS.length} symbols, ${LIVE_OPEN_ORDERS} open orders, ` +
    `${ROUND_TRIP_MS} ms round trip): SIGKILL → ready, minus PM2 backoff`;
  try {
    const f: LiveRecoveryFigures = await liveRecoveries(ctx, ctx.trials(7), venue);
    const allowance = ROUND_TRIPS_ALLOWED * ROUND_TRIP_MS;
    const routes = Object.entries(f.routes)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([route, n]) => `${route} ${n}`)
      .join(', ');
    return {
      group: 'live',
      item: label,
      unit: 'ms',
      summary: f.trading,
      floor: {
        item: `bare node (${fmtMs(f.floor.median)}) + ${ROUND_TRIPS_ALLOWED} round trips`,
        summary: shift(f.floor, allowance),
      },
      limits:
        `as Binance's (above), through ${venue.name}'s double, none of its requests refused for rate. Its requests ` +
        `are paced per endpoint to the documented counts (exchange/endpoint-limiter.ts): each endpoint on its own, ` +
        `so the start's reads leave together (with the first reads in ${f.withFirstReads} of ${f.trading.n} ` +
        `restarts) — with ccxt's own limiter, one queue for every endpoint, they left ~100 ms apart and a direct ` +
        `start was ready 1.4 s (Bybit) and 1.65 s (OKX) after its first request, ~0.3 s now. Then ` +
        `${DEPENDENT_READS[venue.name]}. From the first request reaching the exchange to ready ` +
        `${fmtMs(f.exchangePhaseMs.median)} (${(f.exchangePhaseMs.median / ROUND_TRIP_MS).toFixed(1)} round ` +
        `trips); before it ${fmtMs(f.beforeExchangeMs.median)}; recovery ${fmtMs(f.recoveryMs.median)}. Requests ` +
        `per restart: ${f.requests.median} (last: ${routes})`,
    };
  } catch (err) {
    return {
      group: 'live',
      item: label,
      unit: 'ms',
      limits: '—',
      error: (err as Error).message.slice(0, 300),
    };
  }
}

function shift(s: Summary, ms: number): Summary {
  return { n: s.n, median: s.median + ms, min: s.min + ms, max: s.max + ms, p99: s.p99 + ms };
}

function fmtMs(ms: number): string {
  return Number.isFinite(ms) ? `${Math.round(ms)} ms` : 'n/a';
}
