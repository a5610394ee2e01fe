/**
 * The chart process's entry point (spawned by chart-process.ts, one per chart): reads a PnlReport as JSON on stdin,
 * writes the equity curve's PNG on stdout, exits 0; any failure is one line on stderr and exit 1; past its own
 * deadline it exits 2. Skia lives and
 * dies here, never in the telegram daemon.
 */
import { renderEquityChart } from '../../ops/equity-chart';
import type { PnlReport } from '../../shared/ipc/protocol';

/** Its own deadline (argv[2], ms): a child whose parent died before killing it never lingers. */
const SELF_DEADLINE_MS = Number(process.argv[2]) > 0 ? Number(process.argv[2]) : 60_000;

function main(): void {
  setTimeout(() => process.exit(2), SELF_DEADLINE_MS).unref();
  const chunks: Buffer[] = [];
  process.stdin.on('data', (c: Buffer) => chunks.push(c));
  process.stdin.on('end', () => {
    try {
      const report = JSON.parse(Buffer.concat(chunks).toString('utf8')) as PnlReport;
      const png = renderEquityChart(report);
      process.stdout.write(png, () => process.exit(0));
    } catch (err) {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`, () => process.exit(1));
    }
  });
}

main();
