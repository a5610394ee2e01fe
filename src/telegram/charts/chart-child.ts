/**
 * The chart process's entry point (spawned by chart-process.ts, one per chart): reads a PnlReport as JSON on stdin,
 * writes the equity curve's PNG on stdout, exits 0; any failure is one line on stderr and exit 1. Skia lives and
 * dies here, never in the telegram daemon.
 */
import { renderEquityChart } from '../../ops/equity-chart';
import type { PnlReport } from '../../shared/ipc/protocol';

function main(): void {
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
