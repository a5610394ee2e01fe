import type { BenchContext } from '../../bench';
import { LIVE_OPEN_ORDERS, LIVE_SYMBOLS, ROUND_TRIP_MS, liveRecoveries } from '../live-recovery';
import type { BenchRow } from '../report';
import type { Summary } from '../stats';

const ROUND_TRIPS_ALLOWED = 4;

export async function liveRecoverySection(ctx: BenchContext): Promise<BenchRow[]> {
  const what = `${LIVE_SYMBOLS.length} symbols, ${LIVE_OPEN_ORDERS} open orders, ${ROUND_TRIP_MS} ms round trip`;
  const label = `live recovery (local Binance, ${what}): SIGKILL → ready, minus PM2 backoff`;
  try {
    const f = await liveRecoveries(ctx, ctx.trials(7));
    const allowance = ROUND_TRIPS_ALLOWED * ROUND_TRIP_MS;
    const floorPlus: Summary = shift(f.floor, allowance);
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
          `CPU first: everything the paper restart pays (the bundle, logger, watchdog), then ccxt's binance from ` +
          `its own code-cached bundle (dist/daemons/ccxt-binance.js with undici: ~45 ms to load, ~25 ms to ` +
          `construct, ~40 ms more for the first request, mostly module initialisation — ccxt's static crypto ` +
          `dependencies precompute their tables at load); from the restart to the first request reaching the ` +
          `exchange ${fmtMs(f.beforeExchangeMs.median)} (its one-way trip included). The state files, event log ` +
          `and TCP server open while the first reads travel. Then the exchange: the start's connections are ` +
          `opened as ccxt begins to load (to the configured API URL or the profile's restOrigin), so no read ` +
          `waits for a handshake; markets and account together (1 round trip), then recovery's reads together — ` +
          `recent orders of each symbol, open orders of all symbols, the balance (1 round trip); they need the ` +
          `markets (ccxt maps symbols to ids and parses orders with them), so only markets kept on disk could ` +
          `merge the two. Recovery itself took ${fmtMs(f.recoveryMs.median)} (median; its reads included); from ` +
          `the first request reaching the exchange to ready ${fmtMs(f.exchangePhaseMs.median)} ` +
          `(${(f.exchangePhaseMs.median / ROUND_TRIP_MS).toFixed(1)} round trips). ` +
          `Requests per restart: ${f.requests.median} (last: ${routes}); connections opened ${f.connections.median}; ` +
          `peak used weight ${f.peakWeight} of ${f.weightLimit} per minute (checked on every answer, never above)`,
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
