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
          `CPU first: everything the paper restart pays (the bundle, logger, watchdog, state files, TCP server), ` +
          `ccxt's binance module (~0.4 s over a bare node in the startup rows), and before its first request ` +
          `undici, ccxt's HTTP client, imported on first use, with llhttp's WebAssembly compiled (--cpu-prof: ` +
          `~0.2–0.5 s); then the exchange: markets and account read together (a new connection each: ` +
          `TCP handshake + request = 2 round trips), then recovery's reads together — recent orders of each symbol, ` +
          `open orders of all symbols, the balance — on connections kept alive or new (another 1–2 round trips); ` +
          `recovery itself took ${fmtMs(f.recoveryMs.median)} (median; its reads included); from the first ` +
          `request reaching the exchange to ready ${fmtMs(f.exchangePhaseMs.median)} ` +
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
