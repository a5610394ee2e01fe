import type { BenchContext } from '../../bench';
import type { BenchRow } from '../report';
import { rawTcpEchoRoundTrip } from '../tcp-floor';

export async function tcpSection(ctx: BenchContext): Promise<BenchRow[]> {
  const n = ctx.trials(3_000);
  const floorSummary = await rawTcpEchoRoundTrip(n);
  const floor = { item: 'raw TCP echo', summary: floorSummary };
  const rows: BenchRow[] = [
    {
      group: 'tcp',
      item: 'raw TCP echo round trip (loopback, one JSON line)',
      unit: 'ms',
      summary: floorSummary,
      showP99: true,
      limits: 'loopback syscalls and two event-loop turns; the least a request/response over TCP costs here',
    },
  ];
  const ipc = await import('../ipc.js');
  const rt = await ipc.measureRoundTrip(n);
  rows.push({
    group: 'tcp',
    item: 'IPC round trip (ping over IpcClient → IpcServer)',
    unit: 'ms',
    summary: rt,
    showP99: true,
    floor,
    target: { ratioMax: 2, text: '≤ 2× floor' },
    limits:
      'JSON-RPC encode/decode (json-rpc-2.0), params checks, framing and the per-request timeout timer on both ' +
      'sides, on top of the floor; both measured after 3,000 warm-up calls (steady state: before V8 has optimised ' +
      'this path the first thousands of calls take ~2× the floor)',
  });
  const tp = await ipc.measureEventThroughput(ctx.trials(30_000));
  rows.push({
    group: 'tcp',
    item: 'IPC event throughput (publish → subscriber receives)',
    unit: 'ev/s',
    summary: tp,
    target: { absMin: 100_000, text: '≥ 100,000 ev/s' },
    limits:
      'CPU per event, publisher and subscriber on one thread here (two processes in production): one ' +
      'JSON.stringify per event (its journal line, reused inside every stream frame) and one JSON.parse of the ' +
      'event alone on the client, about a quarter of the CPU together; the GC, which copies the 10,000 events ' +
      'kept for replay; redacting the event (a copy; key verdicts remembered, strings without ":" or "=" skip the ' +
      "secret-shape scans). Then the journal's fdatasync: one per group commit, which takes every publish of its " +
      'event-loop turn (all 1,000 in flight here), and the publisher waits for it once the client has parsed the ' +
      'group before; compaction copies the kept tail as bytes (nothing re-parsed)',
  });
  return rows;
}
