import type { BenchContext } from '../../bench';
import { benchCommit } from '../commit';
import type { BenchRow } from '../report';

const FLOOR = 'raw 4 KiB write+fsync+rename+dir fsync';

export async function commitSection(ctx: BenchContext): Promise<BenchRow[]> {
  const figures = await benchCommit(ctx.trials(150));
  const rows: BenchRow[] = [
    {
      group: 'commit',
      item: `commit floor: ${FLOOR}`,
      unit: 'ms',
      summary: figures.floor,
      limits:
        'the disk: two fsyncs (file, directory) dominate; the least any crash-safe replace of a file costs here',
    },
  ];
  const ratios: number[] = [];
  for (const { history, summary, floor } of figures.byHistory) {
    ratios.push(summary.median / floor.median);
    rows.push({
      group: 'commit',
      item: `commit: one order transition (Store.commit), ${history.toLocaleString('en-US')} closed orders in history`,
      unit: 'ms',
      summary,
      floor: { item: `${FLOOR} (interleaved)`, summary: floor },
      target: { ratioMax: 2, text: '≤ 2× floor' },
      limits:
        'the same two fsyncs (plus the .prev generation rename) and JSON.stringify of the small hot state; closed ' +
        'orders live in the append-only trading-history journal, so history size is not on the commit path',
    });
  }
  if (ratios.length > 1) {
    rows.push({
      group: 'commit',
      item: `commit growth 0 → ${figures.byHistory[figures.byHistory.length - 1].history.toLocaleString('en-US')} history (ratio to floor)`,
      unit: '×',
      summary: {
        n: 1,
        median: ratios[ratios.length - 1] / ratios[0],
        min: Number.NaN,
        max: Number.NaN,
        p99: Number.NaN,
      },
      target: { absMax: 1.2, text: '≤ 1.2×' },
      limits:
        'disk noise only: the hot file has the same size at every history length (each ratio is to a floor interleaved with it)',
    });
  }
  return rows;
}
