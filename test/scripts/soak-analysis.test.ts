import { expect } from 'chai';
import {
  fileVerdict,
  linearSlope,
  lowerEnvelope,
  memorySlopes,
  MIB,
  partGrowth,
  soakMarkdown,
  replaceSoakSection,
  SIM_DAY_MS,
  soakSectionOf,
  soakVerdict,
  type MemorySample,
  type SoakResult,
} from '../../scripts/soak/analysis';
import { memoryOfMetrics } from '../../scripts/soak/memory-probe';
import { isWriteInFlight } from '../../scripts/soak/files';

const HOUR = 3_600_000;

/** Samples every 10 simulated minutes over `days`: a steady line plus a GC-like saw of `saw` bytes. */
function samples(days: number, perDay: number, saw = 0, base = 50 * MIB): MemorySample[] {
  const out: MemorySample[] = [];
  for (let t = 0; t <= days * SIM_DAY_MS; t += 10 * 60_000) {
    const phase = (t / (10 * 60_000)) % 7;
    const y = base + (perDay * t) / SIM_DAY_MS + (saw * phase) / 6;
    out.push({ simMs: t, heapUsedBytes: y, rssBytes: y * 2 });
  }
  return out;
}

function result(over: Partial<SoakResult> = {}): SoakResult {
  return {
    startedAt: new Date(0),
    hours: 48,
    candleMs: 200,
    acceleration: 300,
    wallMs: 10 * 60_000,
    simulatedMs: 48 * HOUR,
    sampleEveryMs: 2_000,
    daemons: [{ name: 'trading', samples: samples(2, 0, 4 * MIB), restarts: 0 }],
    files: [],
    trades: 100,
    fills: 200,
    events: 1_000,
    messagesSent: 300,
    crashAlerts: 20,
    notes: [],
    ...over,
  };
}

describe('soak analysis (scripts/soak)', () => {
  it('fits the least-squares slope of a line and is NaN without two distinct x', () => {
    expect(
      linearSlope([
        [0, 1],
        [1, 3],
        [2, 5],
      ]),
    ).to.equal(2);
    expect(linearSlope([[1, 1]])).to.be.NaN;
    expect(
      linearSlope([
        [1, 1],
        [1, 2],
      ]),
    ).to.be.NaN;
  });

  it('reports a steady leak per simulated day, skipping the warm-up', () => {
    const leaking = samples(2, 3 * MIB);
    // a startup burst in the first 10 % must not count
    leaking[0] = { ...leaking[0], heapUsedBytes: 500 * MIB, rssBytes: 900 * MIB };
    const s = memorySlopes(leaking);
    expect(s.heapPerDay / MIB).to.be.closeTo(3, 0.01);
    expect(s.rssPerDay / MIB).to.be.closeTo(6, 0.01);
    expect(s.samplesUsed).to.be.lessThan(leaking.length);
  });

  it('does not take the garbage-collection saw for growth: the envelope follows the live set', () => {
    // live set flat at 50 MiB; garbage piles higher between collections as the run goes on (V8 collects old
    // space less often as it grows): every-sample fit leans up, the lower envelope stays flat
    const saw: MemorySample[] = [];
    for (let t = 0; t <= 2 * SIM_DAY_MS; t += 10 * 60_000) {
      const phase = (t / (10 * 60_000)) % 7;
      const y = 50 * MIB + (8 * MIB * phase * t) / (6 * 2 * SIM_DAY_MS);
      saw.push({ simMs: t, heapUsedBytes: y, rssBytes: y });
    }
    const env = lowerEnvelope(saw, (s) => s.heapUsedBytes);
    expect(env.length).to.equal(20);
    const s = memorySlopes(saw);
    expect(s.heapPerDayAll / MIB).to.be.greaterThan(1);
    expect(s.heapPerDay / MIB).to.be.closeTo(0, 0.1);
  });

  it('verdict: met for a flat pair, MISSED for a 2 MiB/day leak or a restart', () => {
    expect(soakVerdict(result()).slopesMet).to.equal(true);
    const leak = result({ daemons: [{ name: 'telegram', samples: samples(2, 2 * MIB), restarts: 0 }] });
    expect(soakVerdict(leak).slopesMet).to.equal(false);
    const restarted = result({ daemons: [{ name: 'trading', samples: samples(2, 0), restarts: 1 }] });
    expect(soakVerdict(restarted).met).to.equal(false);
  });

  it('files: a log above its cap, or a file still climbing in the second half, is unbounded; history grows per trade', () => {
    const cap = 128 * 1024;
    expect(
      fileVerdict(
        { file: 'logs/trading.out.log', end: 10, peakFirstHalf: cap, peakSecondHalf: cap, capBytes: cap },
        1,
      ).bounded,
    ).to.equal(true);
    expect(
      fileVerdict({ file: 'logs/trading.out.log', end: 10, peakSecondHalf: 3 * cap, capBytes: cap }, 1)
        .bounded,
    ).to.equal(false);
    expect(
      fileVerdict(
        {
          file: 'data/events.jsonl',
          start: 0,
          peakFirstHalf: 300_000,
          peakSecondHalf: 310_000,
          end: 200_000,
        },
        1,
      ).bounded,
    ).to.equal(true);
    expect(
      fileVerdict(
        {
          file: 'data/events.jsonl',
          start: 0,
          peakFirstHalf: 100_000,
          peakSecondHalf: 200_000,
          end: 200_000,
        },
        1,
      ).bounded,
    ).to.equal(false);
    const history = fileVerdict(
      { file: 'data/trading-history.jsonl', start: 0, end: 50_000, peakSecondHalf: 50_000 },
      50,
    );
    expect(history.bounded).to.equal(true);
    expect(history.bytesPerTrade).to.equal(1_000);
    expect(
      soakVerdict(
        result({
          files: [{ file: 'data/x.json', peakFirstHalf: 1, peakSecondHalf: 10 * MIB, end: 10 * MIB }],
        }),
      ).filesBounded,
    ).to.equal(false);
  });

  it('replaces the Soak section in place (before a later section), appends it when absent, and reads it back', () => {
    const doc = '# Benchmarks\n\n## Notes\n\n- a\n\n## Soak\n\nold figures\n\n## Later\n\nkept\n';
    const out = replaceSoakSection(doc, '## Soak\n\nnew figures\n');
    expect(out).to.equal('# Benchmarks\n\n## Notes\n\n- a\n\n## Soak\n\nnew figures\n\n## Later\n\nkept\n');
    expect(replaceSoakSection('# Benchmarks\n', '## Soak\n\nx\n')).to.equal('# Benchmarks\n\n## Soak\n\nx\n');
    expect(soakSectionOf(out)).to.equal('## Soak\n\nnew figures\n');
    expect(soakSectionOf('# Benchmarks\n')).to.equal(undefined);
  });

  it('reports the second-half slope beside the fit: a warming process flattens there, a leak does not', () => {
    // rises 20 MiB over the first simulated day, then flat for two: a warm-up, not a leak
    const warming: MemorySample[] = [];
    for (let t = 0; t <= 3 * SIM_DAY_MS; t += 10 * 60_000) {
      const y = 80 * MIB + 20 * MIB * Math.min(1, t / SIM_DAY_MS);
      warming.push({ simMs: t, heapUsedBytes: y, rssBytes: y });
    }
    const w = memorySlopes(warming);
    expect(w.rssPerDay / MIB).to.be.greaterThan(1);
    expect(w.rssPerDaySecondHalf / MIB).to.be.closeTo(0, 0.01);
    const leak = memorySlopes(samples(3, 5 * MIB));
    expect(leak.rssPerDaySecondHalf / MIB).to.be.closeTo(10, 0.01);
    expect(leak.heapPerDaySecondHalf / MIB).to.be.closeTo(5, 0.01);
  });

  it('says which part of memory grows: native vs V8 heap vs file-backed pages, per heap space', () => {
    const day = SIM_DAY_MS;
    const parts: MemorySample[] = [];
    for (let t = 0; t <= 2 * day; t += 10 * 60_000) {
      const native = 20 * MIB + (4 * MIB * t) / day; // malloc growing 4 MiB a day
      const heapTotal = 40 * MIB;
      parts.push({
        simMs: t,
        heapUsedBytes: 30 * MIB,
        heapTotalBytes: heapTotal,
        externalBytes: 2 * MIB,
        heapSpaceBytes: { old: 30 * MIB, new: 8 * MIB, shared: 0 },
        heapSpaceUsedBytes: { old: 20 * MIB + (MIB * t) / day, new: 2 * MIB },
        rssAnonBytes: heapTotal + native,
        rssFileBytes: 45 * MIB,
        rssBytes: heapTotal + native + 45 * MIB,
      });
    }
    const byName = new Map(partGrowth(parts).map((p) => [p.name, p]));
    expect(byName.get('native (RSS anonymous − heap total)')!.perDay / MIB).to.be.closeTo(4, 0.01);
    expect(byName.get('RSS')!.perDay / MIB).to.be.closeTo(4, 0.01);
    expect(byName.get('heap total')!.perDay / MIB).to.be.closeTo(0, 0.01);
    expect(byName.get('RSS file-backed')!.perDay / MIB).to.be.closeTo(0, 0.01);
    expect(byName.get('heap space old')!.end).to.equal(30 * MIB);
    expect(byName.get('heap space old (used)')!.perDay / MIB).to.be.closeTo(1, 0.01);
    expect(byName.has('heap space shared')).to.equal(false);
    // parts never read (an old run's samples) are left out, not shown as zero
    expect(partGrowth(samples(1, 0)).map((p) => p.name)).to.deep.equal(['RSS', 'heap used']);
    const md = soakMarkdown(
      result({ daemons: [{ name: 'telegram', samples: parts, restarts: 0 }] }),
      'x.png',
    );
    expect(md).to.match(
      /\| telegram \| native \(RSS anonymous − heap total\) \| 20\.00 MiB \| 28\.00 MiB \| \+4\.00 MiB \|/,
    );
  });

  it("reads a daemon's memory parts from its /metrics page, its own service label only", () => {
    const page = [
      '# HELP nodejs_heap_size_used_bytes x',
      'nodejs_heap_size_used_bytes{service="telegram"} 1',
      'nodejs_heap_size_used_bytes{service="trading"} 100',
      'nodejs_heap_size_total_bytes{service="trading"} 200',
      'nodejs_external_memory_bytes{service="trading"} 30',
      'process_resident_memory_bytes{service="trading"} 400',
      'nodejs_heap_space_size_total_bytes{space="old",service="trading"} 150',
      'nodejs_heap_space_size_total_bytes{space="new",service="trading"} 40',
      'nodejs_heap_space_size_used_bytes{space="old",service="trading"} 90',
      'nodejs_heap_space_size_total_bytes{space="new",service="telegram"} 7',
    ].join('\n');
    expect(memoryOfMetrics(page, 'trading')).to.deep.equal({
      heapUsedBytes: 100,
      rssBytes: 400,
      heapTotalBytes: 200,
      externalBytes: 30,
      heapSpaceBytes: { old: 150, new: 40 },
      heapSpaceUsedBytes: { old: 90 },
    });
    expect(memoryOfMetrics(page, 'telegram')).to.equal(undefined);
  });

  it('leaves the temp file of a write in flight out of the file samples (it lives for one write)', () => {
    expect(isWriteInFlight('.trading-state.json.prev.tmp-29957-a29ef82eedcf')).to.equal(true);
    expect(isWriteInFlight('.trading.service.lock.tmp-24663-353d3c16cbf3')).to.equal(true);
    expect(isWriteInFlight('trading.last-exit.json.24663.33ded675b011.tmp')).to.equal(true);
    for (const kept of [
      'trading-state.json',
      'trading-state.json.prev',
      'events.jsonl',
      'trading.log.1',
      'tmp-notes.json',
    ])
      expect(isWriteInFlight(kept), kept).to.equal(false);
  });
});
