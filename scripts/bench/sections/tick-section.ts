import type { BenchContext } from '../../bench';
import type { BenchRow } from '../report';
import { summarize } from '../stats';
import { benchTick } from '../tick';

export async function tickSection(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const symbols of [1, 20, 100]) {
    const f = await benchTick(symbols, ctx.trials(symbols >= 100 ? 60 : 200));
    const perSymbol = summarize([f.perTick.median / symbols]);
    rows.push({
      group: 'tick',
      item: `engine tick, ${symbols} symbol${symbols > 1 ? 's' : ''} (exchange and disk I/O excluded), per tick`,
      unit: 'ms',
      summary: f.perTick,
      limits:
        `per symbol: settle pending orders, fetch candles/ticker (in memory here), stop-loss/take-profit, strategy over ` +
        `the default 100 candles, risk; then balance/equity once; ${f.ordersPlaced} orders placed during the run (each commit ` +
        'serialises the hot state)',
    });
    rows.push({
      group: 'tick',
      item: `engine tick, ${symbols} symbol${symbols > 1 ? 's' : ''}: cost per symbol`,
      unit: 'ms',
      summary: { ...perSymbol, n: f.perTick.n, min: f.perTick.min / symbols, max: f.perTick.max / symbols },
      target: { absMax: 1, text: '≤ 1 ms per symbol' },
      limits: 'the strategy (indicator over the candle window) and order bookkeeping, per symbol',
    });
  }
  return rows;
}
