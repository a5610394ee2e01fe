/**
 * Summary statistics of repeated trials. Benchmarks report medians with min/max (these machines are noisy) and
 * compare ratios to a floor measured in the same run, never absolute numbers across runs.
 */

export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  p99: number;
}

/** Nearest-rank percentile of already sorted samples (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0)
    return { n: 0, median: Number.NaN, min: Number.NaN, max: Number.NaN, p99: Number.NaN };
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return {
    n: sorted.length,
    median,
    min: sorted[0],
    max: sorted[sorted.length - 1],
    p99: percentile(sorted, 99),
  };
}

/** High-resolution wall time in milliseconds. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export function fmt(value: number, unit: string): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (unit === 'ms')
    return value < 1
      ? `${value.toFixed(3)} ms`
      : value < 100
        ? `${value.toFixed(2)} ms`
        : `${value.toFixed(0)} ms`;
  if (unit === 'µs') return `${value.toFixed(1)} µs`;
  if (unit === 'MiB') return `${value.toFixed(1)} MiB`;
  if (unit === 'ev/s') return `${Math.round(value).toLocaleString('en-US')} ev/s`;
  return `${value.toFixed(2)} ${unit}`;
}
