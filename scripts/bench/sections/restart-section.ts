import type { BenchContext } from '../../bench';
import type { BenchRow } from '../report';
import { tradingRestarts } from '../trading-restart';

const FLOOR = 'bare ready-at-once node under the same PM2 options, killed alternately';

export async function restartSection(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const openOrders of [0, 1_000]) {
    const label = `restart trading (paper), ${openOrders.toLocaleString('en-US')} open orders: SIGKILL → ready, minus PM2 backoff`;
    try {
      // with 1,000 open orders each restart takes many seconds: fewer rounds keep the whole bench under 10 min
      // as many trials with 1,000 orders as without: with 3, one noisy floor sample moved the ratio by ±0.3
      const f = await tradingRestarts(ctx, openOrders, ctx.trials(7));
      rows.push({
        group: 'restart',
        item: `restart floor (${openOrders.toLocaleString('en-US')}-order run): ${FLOOR}`,
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
        target: { ratioMax: 3, text: '≤ 3× floor' },
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
