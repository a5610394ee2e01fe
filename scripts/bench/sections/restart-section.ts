import type { BenchContext } from '../../bench';
import type { BenchRow } from '../report';
import { tradingRestarts } from '../trading-restart';

const FLOOR = 'bare ready-at-once node under the same PM2 options, killed alternately';

export async function restartSection(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  // the three targets, and (no target: what a trading that ran for weeks pays) a full event log
  const runs: Array<{ openOrders: number; history: number; events: number; ratioMax?: number }> = [
    { openOrders: 0, history: 0, events: 0, ratioMax: 2 },
    { openOrders: 1_000, history: 0, events: 0, ratioMax: 2 },
    { openOrders: 0, history: 100_000, events: 0, ratioMax: 2.2 },
    { openOrders: 0, history: 0, events: 10_000 },
  ];
  for (const { openOrders, history, events, ratioMax } of runs) {
    const what =
      events > 0
        ? `${events.toLocaleString('en-US')} events in the event log`
        : history > 0
          ? `${history.toLocaleString('en-US')} history orders`
          : `${openOrders.toLocaleString('en-US')} open orders`;
    const label = `restart trading (paper), ${what}: SIGKILL → ready, minus PM2 backoff`;
    try {
      // as many trials with 1,000 orders as without: with 3, one noisy floor sample moved the ratio by ±0.3. More
      // than 7 cost much more than they add: PM2's exponential backoff grows ×1.5 at each consecutive restart of an
      // app (to 15 s), so 15 rounds waited ~70 s per app and run — the section took ~9.5 min instead of 1 — and its
      // worker's reset of the delay after 30 s of uptime, landing between an exit and the next start, leaves a sample
      // with the whole delay in it (the 15 s maxima); the median is robust to those
      const f = await tradingRestarts(ctx, openOrders, ctx.trials(7), history, events);
      rows.push({
        group: 'restart',
        item: `restart floor (${what} run): ${FLOOR}`,
        unit: 'ms',
        summary: f.floor,
        limits:
          "PM2's exit handling, fork of a new node and node's own boot, then the ready message over PM2's IPC",
      });
      rows.push({
        group: 'restart',
        item: label,
        unit: 'ms',
        summary: f.trading,
        floor: { item: 'bare node', summary: f.floor },
        ...(ratioMax !== undefined ? { target: { ratioMax, text: `≤ ${ratioMax}× floor` } } : {}),
        limits: f.limits,
      });
    } catch (err) {
      rows.push({
        group: 'restart',
        item: label,
        unit: 'ms',
        limits: '—',
        error: (err as Error).message.slice(0, 300),
      });
    }
  }
  return rows;
}
