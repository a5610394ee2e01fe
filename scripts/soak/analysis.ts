/**
 * The soak's pure parts: memory samples → growth slopes per simulated day, file sizes → growth and a bounded
 * verdict, and the "Soak" section of docs/benchmarks.md (replaced in place on each run). No I/O here.
 */

import type { MemoryParts } from './memory-probe';

export const MIB = 2 ** 20;
export const SIM_DAY_MS = 86_400_000;
/** Target of issue 16: heap and RSS grow at most this much per simulated day. */
export const SLOPE_MAX_BYTES_PER_DAY = MIB;
/** Share of the run (by simulated time) left out of the slopes: startup, JIT, caches and files filling. */
export const WARMUP_SHARE = 0.1;

/** One reading of a daemon's memory (see MemoryParts: heap used and RSS always, the other parts when readable). */
export interface MemorySample extends MemoryParts {
  /** Simulated time since the run started, ms. */
  simMs: number;
}

/** Least-squares slope of y over x; NaN with fewer than two distinct x. */
export function linearSlope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  let sx = 0;
  let sy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  return sxx === 0 ? Number.NaN : sxy / sxx;
}

/** The samples after the warm-up share of the simulated span. */
export function afterWarmup<T extends { simMs: number }>(samples: readonly T[], share = WARMUP_SHARE): T[] {
  if (samples.length === 0) return [];
  const first = samples[0].simMs;
  const last = samples[samples.length - 1].simMs;
  const cut = first + (last - first) * share;
  return samples.filter((s) => s.simMs >= cut);
}

/**
 * Windows the fitted span is cut into for the lower envelope: the smallest reading of each window is the nearest
 * to the live set (heap used saws between collections; a fit through every sample follows the saw's phase).
 */
export const ENVELOPE_WINDOWS = 20;

/** The smallest `value` of each of `windows` equal spans of simulated time, as [simMs, value] points. */
export function lowerEnvelope(
  samples: readonly MemorySample[],
  value: (s: MemorySample) => number,
  windows = ENVELOPE_WINDOWS,
): Array<[number, number]> {
  if (samples.length === 0) return [];
  const first = samples[0].simMs;
  const span = samples[samples.length - 1].simMs - first || 1;
  const mins = new Map<number, MemorySample>();
  for (const s of samples) {
    const w = Math.min(windows - 1, Math.floor(((s.simMs - first) / span) * windows));
    const cur = mins.get(w);
    if (!cur || value(s) < value(cur)) mins.set(w, s);
  }
  return [...mins.values()].sort((a, b) => a.simMs - b.simMs).map((s) => [s.simMs, value(s)]);
}

export interface MemorySlopes {
  /** Bytes per simulated day after the warm-up: fit through the lower envelope (the verdict's figure). */
  heapPerDay: number;
  rssPerDay: number;
  /** The same fitted through every sample (the saw included). */
  heapPerDayAll: number;
  rssPerDayAll: number;
  /**
   * Lower-envelope fit over the second half of the run only: a process still warming up (caches, JIT, pages of
   * the binary touched for the first time) shows a smaller slope here than over the whole run; a leak does not.
   * Reported beside the verdict's figure, never instead of it.
   */
  heapPerDaySecondHalf: number;
  rssPerDaySecondHalf: number;
  samplesUsed: number;
}

export function memorySlopes(samples: readonly MemorySample[], share = WARMUP_SHARE): MemorySlopes {
  const kept = afterWarmup(samples, share);
  const perDay = (points: Array<[number, number]>): number =>
    linearSlope(points.map(([x, y]) => [x / SIM_DAY_MS, y] as const));
  const heap = (s: MemorySample): number => s.heapUsedBytes;
  const rss = (s: MemorySample): number => s.rssBytes;
  return {
    heapPerDay: perDay(lowerEnvelope(kept, heap)),
    rssPerDay: perDay(lowerEnvelope(kept, rss)),
    heapPerDayAll: perDay(kept.map((s) => [s.simMs, heap(s)])),
    rssPerDayAll: perDay(kept.map((s) => [s.simMs, rss(s)])),
    heapPerDaySecondHalf: partSlope(samples, heap, 0.5),
    rssPerDaySecondHalf: partSlope(samples, rss, 0.5),
    samplesUsed: kept.length,
  };
}

/**
 * Bytes per simulated day of one part of memory after the first `skip` share of the run, fitted through the lower
 * envelope of the samples that have it (NaN when fewer than two do).
 */
export function partSlope(
  samples: readonly MemorySample[],
  value: (s: MemorySample) => number | undefined,
  skip = WARMUP_SHARE,
): number {
  const kept = afterWarmup(samples, skip).filter((s) => value(s) !== undefined);
  const points = lowerEnvelope(kept, (s) => value(s)!);
  return linearSlope(points.map(([x, y]) => [x / SIM_DAY_MS, y] as const));
}

/** A part of a daemon's memory the soak reports on: which one grows is the diagnosis. */
export interface MemoryPart {
  name: string;
  value: (s: MemorySample) => number | undefined;
}

/**
 * RSS and its kernel split, the V8 heap (used, committed, per space) and external memory; "native" is the anonymous
 * RSS V8's heap does not account for (malloc of node, libuv, zlib, OpenSSL, native modules; thread stacks).
 */
export function memoryParts(samples: readonly MemorySample[]): MemoryPart[] {
  const parts: MemoryPart[] = [
    { name: 'RSS', value: (s) => s.rssBytes },
    { name: 'RSS anonymous', value: (s) => s.rssAnonBytes },
    { name: 'RSS file-backed', value: (s) => s.rssFileBytes },
    {
      name: 'native (RSS anonymous − heap total)',
      value: (s) =>
        s.rssAnonBytes === undefined || s.heapTotalBytes === undefined
          ? undefined
          : s.rssAnonBytes - s.heapTotalBytes,
    },
    { name: 'heap total', value: (s) => s.heapTotalBytes },
    { name: 'heap used', value: (s) => s.heapUsedBytes },
    { name: 'external', value: (s) => s.externalBytes },
  ];
  const spaces = new Set(samples.flatMap((s) => Object.keys(s.heapSpaceBytes ?? {})));
  for (const space of [...spaces].sort()) {
    const part = { name: `heap space ${space}`, value: (s: MemorySample) => s.heapSpaceBytes?.[space] };
    const used = {
      name: `heap space ${space} (used)`,
      value: (s: MemorySample) => s.heapSpaceUsedBytes?.[space],
    };
    // a space never committed all run (shared, read-only in a single isolate) says nothing: left out
    if (samples.some((s) => (part.value(s) ?? 0) > 0)) parts.push(part, used);
  }
  return parts.filter((p) => samples.some((s) => p.value(s) !== undefined));
}

export interface PartGrowth {
  name: string;
  /** First and last readings of the run (bytes). */
  start?: number;
  end?: number;
  /** Slope after the warm-up and over the second half only (bytes per simulated day, lower envelope). */
  perDay: number;
  perDaySecondHalf: number;
}

export function partGrowth(samples: readonly MemorySample[]): PartGrowth[] {
  return memoryParts(samples).map((p) => {
    const readings = samples.map(p.value).filter((v): v is number => v !== undefined);
    return {
      name: p.name,
      start: readings[0],
      end: readings[readings.length - 1],
      perDay: partSlope(samples, p.value),
      perDaySecondHalf: partSlope(samples, p.value, 0.5),
    };
  });
}

/** A slope meets the target when it was measured and is at most SLOPE_MAX_BYTES_PER_DAY. */
export function slopeMet(bytesPerDay: number): boolean {
  return Number.isFinite(bytesPerDay) && bytesPerDay <= SLOPE_MAX_BYTES_PER_DAY;
}

/** One file's size (bytes) at the start, the middle and the end of the run, and its peaks; absent = undefined. */
export interface FileSizes {
  /** Path relative to the data or logs dir, prefixed "data/" or "logs/". */
  file: string;
  start?: number;
  mid?: number;
  end?: number;
  /** Largest size seen in the first half of the run (sampled), and in the second half. */
  peakFirstHalf?: number;
  peakSecondHalf?: number;
  /** The configured size cap it must stay under (a rotated log), when it has one. */
  capBytes?: number;
}

export type FileKind = 'history' | 'capped' | 'other';

/**
 * The history journal (the record of what was traded) may grow with every trade. A log has a size cap (rotation).
 * Every other file must stop growing (event retention, outbox size, hot state).
 */
export function fileKind(f: Pick<FileSizes, 'file' | 'capBytes'>): FileKind {
  if (/history/i.test(f.file)) return 'history';
  return f.capBytes !== undefined ? 'capped' : 'other';
}

/** Room over a peak (or cap) still counted as bounded: rewrites move a capped file's size a little. */
export const FLAT_SLACK_BYTES = 16 * 1024;
export const FLAT_SLACK_SHARE = 0.1;

const slackOver = (bytes: number): number => Math.max(FLAT_SLACK_BYTES, bytes * FLAT_SLACK_SHARE);

export interface FileVerdict extends FileSizes {
  kind: FileKind;
  /** end − start, bytes. */
  growth: number;
  bytesPerTrade?: number;
  /**
   * history: grows only with trades (always true, the figure is bytes per trade); capped: never above its cap (plus
   * slack); other: its second-half peak no higher than its first-half peak (plus slack).
   */
  bounded: boolean;
}

export function fileVerdict(f: FileSizes, trades: number): FileVerdict {
  const kind = fileKind(f);
  const growth = (f.end ?? 0) - (f.start ?? 0);
  const bytesPerTrade = trades > 0 ? growth / trades : undefined;
  const peak = Math.max(f.peakFirstHalf ?? 0, f.peakSecondHalf ?? 0, f.end ?? 0);
  let bounded: boolean;
  if (kind === 'history') bounded = true;
  else if (kind === 'capped') bounded = peak <= f.capBytes! + slackOver(f.capBytes!);
  else {
    const first = f.peakFirstHalf ?? 0;
    bounded = Math.max(f.peakSecondHalf ?? 0, f.end ?? 0) <= first + slackOver(first);
  }
  return { ...f, kind, growth, bytesPerTrade, bounded };
}

export interface DaemonResult {
  name: string;
  samples: MemorySample[];
  /** PM2 restarts during the run (a restart resets memory: the slope then means little). */
  restarts: number;
}

export interface SoakResult {
  startedAt: Date;
  hours: number;
  candleMs: number;
  /** Simulated ms per wall ms. */
  acceleration: number;
  wallMs: number;
  simulatedMs: number;
  sampleEveryMs: number;
  daemons: DaemonResult[];
  files: FileSizes[];
  /** Round trips closed (Position closed messages). */
  trades: number;
  /** Orders filled (Order filled messages). */
  fills: number;
  events: number;
  messagesSent: number;
  crashAlerts: number;
  notes: string[];
}

const mib = (b: number | undefined): string => (b === undefined ? '—' : `${(b / MIB).toFixed(2)} MiB`);
const bytes = (b: number | undefined): string =>
  b === undefined ? '—' : b < 10 * 1024 ? `${b} B` : `${(b / 1024).toFixed(1)} KiB`;
const signedMib = (b: number): string =>
  Number.isFinite(b) ? `${b >= 0 ? '+' : ''}${(b / MIB).toFixed(2)} MiB` : 'n/a';

export interface SoakVerdict {
  slopesMet: boolean;
  filesBounded: boolean;
  met: boolean;
}

export function soakVerdict(r: SoakResult): SoakVerdict {
  const slopesMet = r.daemons.every((d) => {
    const s = memorySlopes(d.samples);
    return d.restarts === 0 && slopeMet(s.heapPerDay) && slopeMet(s.rssPerDay);
  });
  const filesBounded = r.files.every((f) => fileVerdict(f, r.trades).bounded);
  return { slopesMet, filesBounded, met: slopesMet && filesBounded };
}

export const SOAK_HEADING = '## Soak';

/** The "Soak" section of docs/benchmarks.md, from its heading to the end of the section. */
export function soakMarkdown(r: SoakResult, pngName: string): string {
  const v = soakVerdict(r);
  const simH = r.simulatedMs / 3_600_000;
  const lines = [
    SOAK_HEADING,
    '',
    'Generated by `npm run soak -- --hours N` (`scripts/soak.ts`); do not edit by hand — rerun it. The real pair under',
    'a temporary PM2_HOME (paper mode, accelerated market, Telegram emulator), memory read from each daemon’s /metrics.',
    '',
    `- Run: ${r.startedAt.toISOString()}; ${simH.toFixed(1)} simulated hours (asked ${r.hours}) in ` +
      `${(r.wallMs / 60_000).toFixed(1)} wall minutes: one 1-minute candle every ${r.candleMs} ms, ` +
      `a tick every candle (${r.acceleration.toFixed(0)}× real time)`,
    `- Memory sampled every ${(r.sampleEveryMs / 1000).toFixed(0)} s wall (${(
      (r.sampleEveryMs * r.acceleration) /
      60_000
    ).toFixed(0)} simulated minutes). Slopes are least-squares fits over the run after the first ` +
      `${(WARMUP_SHARE * 100).toFixed(0)} % of simulated time (warm-up: startup, JIT, caches and files filling), ` +
      `through the lower envelope (the smallest reading of each of ${ENVELOPE_WINDOWS} equal windows: the live set, ` +
      'not the phase of the garbage-collection saw); the fit through every sample is shown in brackets',
    `- Trades made: ${r.trades} round trips (${r.fills} orders filled), counted from the Telegram messages; trading events published: ${r.events}; Telegram messages accepted by the emulator: ` +
      `${r.messagesSent} (of which ${r.crashAlerts} crash alerts of a watched bare app killed during the run)`,
    `- **Verdict: ${v.met ? 'met' : 'MISSED'}** — slopes ≤ 1 MiB per simulated day: ${v.slopesMet ? 'met' : 'MISSED'}; ` +
      `every file bounded: ${v.filesBounded ? 'met' : 'MISSED'}`,
    '',
    '| Daemon | Heap used (start → end) | Heap slope / sim. day | Heap, 2nd half | RSS (start → end) | RSS slope / sim. day | RSS, 2nd half | Samples (fitted) | Restarts | Verdict |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const d of r.daemons) {
    const s = memorySlopes(d.samples);
    const first = d.samples[0];
    const last = d.samples[d.samples.length - 1];
    const ok = d.restarts === 0 && slopeMet(s.heapPerDay) && slopeMet(s.rssPerDay);
    lines.push(
      `| ${d.name} | ${mib(first?.heapUsedBytes)} → ${mib(last?.heapUsedBytes)} | ` +
        `${signedMib(s.heapPerDay)} (${signedMib(s.heapPerDayAll)}) | ${signedMib(s.heapPerDaySecondHalf)} | ` +
        `${mib(first?.rssBytes)} → ${mib(last?.rssBytes)} | ${signedMib(s.rssPerDay)} (${signedMib(s.rssPerDayAll)}) | ` +
        `${signedMib(s.rssPerDaySecondHalf)} | ` +
        `${d.samples.length} (${s.samplesUsed}) | ` +
        `${d.restarts} | ${ok ? 'met' : 'MISSED'} |`,
    );
  }
  lines.push(
    '',
    'Which memory grows: each part of each daemon’s memory, first and last reading, slope per simulated day after',
    'the warm-up and over the second half only (lower envelope, as above). RSS = anonymous + file-backed pages',
    '(/proc/<pid>/status); native = anonymous RSS that V8’s committed heap does not account for (malloc: node,',
    'libuv, zlib, OpenSSL, native modules; stacks); heap spaces are V8’s committed size per space and, marked',
    '(used), the bytes in it (/metrics); spaces never committed during the run are left out.',
    '',
    '| Daemon | Part | Start | End | Slope / sim. day | 2nd half |',
    '|---|---|---|---|---|---|',
  );
  for (const d of r.daemons)
    for (const p of partGrowth(d.samples))
      lines.push(
        `| ${d.name} | ${p.name} | ${mib(p.start)} | ${mib(p.end)} | ${signedMib(p.perDay)} | ` +
          `${signedMib(p.perDaySecondHalf)} |`,
      );
  lines.push(
    '',
    `![RSS and heap over simulated time](${pngName})`,
    '',
    'Files (data dir and logs dir) at the start (both daemons ready), at mid-run and at the end, and their peaks per half',
    '(sampled). Bounded: a log never above its rotation cap; any other file’s second-half peak no higher than its',
    `first-half peak (slack: ${FLAT_SLACK_BYTES / 1024} KiB or ${FLAT_SLACK_SHARE * 100} %); the history journal may grow with ` +
      'trades only (bytes per trade shown). The temp file of a write in flight (an atomic replace, a breadcrumb) is ' +
      'left out of the samples: it lives for one write.',
    '',
    '| File | Start | Mid | End | Peak 1st half | Peak 2nd half | Cap | Growth | Per trade | Bounded |',
    '|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const f of r.files.map((x) => fileVerdict(x, r.trades))) {
    lines.push(
      `| ${f.file} | ${bytes(f.start)} | ${bytes(f.mid)} | ${bytes(f.end)} | ${bytes(f.peakFirstHalf)} | ` +
        `${bytes(f.peakSecondHalf)} | ${bytes(f.capBytes)} | ${bytes(f.growth)} | ` +
        `${f.bytesPerTrade === undefined ? '—' : `${f.bytesPerTrade.toFixed(0)} B`} | ` +
        `${f.kind === 'history' ? 'per trade' : f.bounded ? 'yes' : 'NO'} |`,
    );
  }
  if (r.notes.length) lines.push('', ...r.notes.map((n) => `- ${n}`));
  lines.push('');
  return lines.join('\n');
}

/**
 * `doc` with its Soak section replaced by `section` (or appended when it has none). The section runs from its
 * heading to the next level-2 heading or the end.
 */
export function replaceSoakSection(doc: string, section: string): string {
  const body = section.endsWith('\n') ? section : section + '\n';
  const at = doc.search(/^## Soak\s*$/m);
  if (at === -1) return (doc.endsWith('\n') ? doc : doc + '\n') + '\n' + body;
  const rest = doc.slice(at + SOAK_HEADING.length);
  const next = rest.search(/^## /m);
  const tail = next === -1 ? '' : '\n' + rest.slice(next);
  return doc.slice(0, at) + body + tail;
}

/** The Soak section of `doc` (to carry it over when `npm run bench` rewrites the file), or undefined. */
export function soakSectionOf(doc: string): string | undefined {
  const at = doc.search(/^## Soak\s*$/m);
  if (at === -1) return undefined;
  const rest = doc.slice(at + SOAK_HEADING.length);
  const next = rest.search(/^## /m);
  return doc.slice(at, next === -1 ? undefined : at + SOAK_HEADING.length + next).trimEnd() + '\n';
}
