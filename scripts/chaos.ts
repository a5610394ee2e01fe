/**
 * `npm run chaos`: the real pair under PM2 with random faults, then the invariants as a table.
 * Usage: node dist/scripts/chaos.js [--faults N] [--duration S] [--seed X] [--kinds a,b] [--keep] [--quiet]
 * Exits 0 when every check holds, 1 on any violation, 2 on a usage error. See docs/chaos.md.
 */
import { parseChaosArgs, type ChaosOptions } from './chaos/options';
import { formatChaosReport } from './chaos/report';
import { runChaos } from './chaos/run';

async function main(): Promise<number> {
  let options: ChaosOptions;
  try {
    options = parseChaosArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const log = (msg: string): void => {
    if (options.verbose) process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
  };
  log(
    `seed ${options.seed}${options.faults ? `, ${options.faults} faults` : ''}${options.durationSec ? `, ${options.durationSec} s` : ''}`,
  );
  const result = await runChaos(options, log);
  const { text, ok } = formatChaosReport(result);
  process.stdout.write(text + '\n');
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`chaos harness failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
