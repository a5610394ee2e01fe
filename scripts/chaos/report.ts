/** The chaos run's result as a table: one line per invariant, then the faults and recovery times. */
import { summarize } from '../bench/stats';
import type { FaultKind } from './faults';
import type { ChaosResult } from './run';

function table(head: string[], rows: string[][]): string {
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.min(90, Math.max(...all.map((r) => (r[i] ?? '').length))));
  const line = (r: string[]): string => r.map((c, i) => (c ?? '').slice(0, 90).padEnd(widths[i])).join(' │ ');
  return [line(head), widths.map((w) => '─'.repeat(w)).join('─┼─'), ...rows.map(line)].join('\n');
}

export function formatChaosReport(result: ChaosResult): { text: string; ok: boolean } {
  const failedFaults = result.faults.filter((f) => f.error);
  const ok = result.checks.length > 0 && result.checks.every((c) => c.ok) && failedFaults.length === 0;
  const checkTable = table(
    ['Check', 'Found', 'Expected', 'Result', 'Detail'],
    result.checks.map((c) => [c.name, c.found, c.expected, c.ok ? 'ok' : 'VIOLATION', c.detail ?? '']),
  );
  const kinds = [...new Set(result.faults.map((f) => f.kind))] as FaultKind[];
  const faultTable = table(
    ['Fault', 'Count', 'Failed', 'Recovery median', 'Recovery max', 'PM2 backoff median'],
    kinds.map((k) => {
      const of = result.faults.filter((f) => f.kind === k);
      const rec = summarize(of.filter((f) => f.recoveryMs !== undefined).map((f) => f.recoveryMs!));
      const delay = summarize(of.filter((f) => f.pm2DelayMs !== undefined).map((f) => f.pm2DelayMs!));
      const ms = (v: number): string => (Number.isFinite(v) ? `${Math.round(v)} ms` : '—');
      return [
        k,
        String(of.length),
        String(of.filter((f) => f.error).length),
        ms(rec.median),
        ms(rec.max),
        ms(delay.median),
      ];
    }),
  );
  const lines = [
    '',
    `Chaos run: seed ${result.options.seed}, ${result.faults.length} faults, ${(result.durationMs / 1000).toFixed(0)} s; ` +
      `crashes caused: trading ${result.crashes.trading}, telegram ${result.crashes.telegram}`,
    '',
    faultTable,
    '',
    checkTable,
    '',
    '* A message Telegram stored whose answer was lost (telegram SIGKILLed, or the API cutting open connections, within',
    '  3 s of it) is re-sent by the outbox: at-least-once, the only honest promise without an idempotency key on',
    "  Telegram's side. Such duplicates are counted and shown; any other duplicate or any missing one is a violation.",
    '',
    ...(result.diskSkipped ? [`disk faults not injected: ${result.diskSkipped}`] : []),
    ...failedFaults.map((f) => `fault ${f.index + 1} (${f.kind}) did not recover: ${f.error}`),
    ...(result.dataDir ? [`files kept in ${result.dataDir}`] : []),
    ok ? 'RESULT: all invariants hold' : 'RESULT: VIOLATIONS (see above)',
  ];
  return { text: lines.join('\n'), ok };
}
