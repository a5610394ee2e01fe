/**
 * startup: what trading's start pays to load its exchange library — all of ccxt (`require('ccxt')`) vs only the
 * configured exchange's ES module (ccxt-exchange.ts loadCcxtClass, what live and dry-run modes do) — as the
 * spawn → exit time of a node that loads it, beside a bare `node -e 0`. Trials alternate, so noise hits all three.
 * Paper mode loads neither; its start is in the restart figures.
 */
import path from 'node:path';
import { REPO_ROOT } from '../../../harness/pm2';
import type { BenchContext } from '../../bench';
import type { BenchRow } from '../report';
import { rssOfNode, timeNode } from '../spawn';
import { summarize } from '../stats';

const CCXT_EXCHANGE = path.join(REPO_ROOT, 'dist/src/trading/exchange/ccxt-exchange.js');
const EXCHANGE_ID = 'binance';

export async function startupSection(ctx: BenchContext): Promise<BenchRow[]> {
  const scripts = {
    bare: '0',
    all: "require('ccxt')",
    single:
      `require(${JSON.stringify(CCXT_EXCHANGE)}).loadCcxtClass('${EXCHANGE_ID}')` +
      ".then((r) => { if (r.info.via !== 'esm-single') { console.error('loaded via ' + r.info.via); process.exit(3); } })",
  };
  const samples: Record<keyof typeof scripts, number[]> = { bare: [], all: [], single: [] };
  const trials = ctx.trials(9);
  for (let i = -1; i < trials; i++) {
    for (const [k, code] of Object.entries(scripts) as Array<[keyof typeof scripts, string]>) {
      const ms = await timeNode(['-e', code], process.env, REPO_ROOT);
      if (i >= 0) samples[k].push(ms);
    }
  }
  const rss = {
    all: await rssOfNode(scripts.all),
    single: await rssOfNode(scripts.single),
    bare: await rssOfNode(scripts.bare),
  };
  const floor = { item: 'node -e 0', summary: summarize(samples.bare) };
  const mib = (b: number | undefined): string => (b === undefined ? '?' : `${(b / 2 ** 20).toFixed(0)} MiB`);
  return [
    {
      group: 'startup',
      item: 'start floor: node -e 0 (spawn → exit)',
      unit: 'ms',
      summary: floor.summary,
      limits: "node's own boot on this machine",
    },
    {
      group: 'startup',
      item: `start with all of ccxt: require('ccxt') (spawn → exit)`,
      unit: 'ms',
      summary: summarize(samples.all),
      floor,
      limits: `parsing and running ccxt's whole CommonJS bundle (every exchange); RSS after load ${mib(rss.all)} vs bare ${mib(rss.bare)}`,
    },
    {
      group: 'startup',
      item: `start with only the configured exchange: loadCcxtClass('${EXCHANGE_ID}') (spawn → exit)`,
      unit: 'ms',
      summary: summarize(samples.single),
      floor,
      limits: `the exchange's ES module and the ccxt base classes it imports; RSS after load ${mib(rss.single)}`,
    },
  ];
}
