/**
 * A daemon's memory, read from outside: its own /metrics (prom-client's default metrics) for what V8 sees, and
 * /proc/<pid>/status for how the kernel counts the RSS (anonymous pages vs pages of mapped files). No hook in
 * shipped code.
 */
import fs from 'node:fs';
import { httpGet, metricValue } from '../../harness/http-get';

/** The parts of a daemon's memory the soak follows (bytes); every part but heap used and RSS may be unreadable. */
export interface MemoryParts {
  heapUsedBytes: number;
  rssBytes: number;
  /** V8's committed heap (process.memoryUsage().heapTotal): grows when V8 keeps pages it does not use. */
  heapTotalBytes?: number;
  /** C++ objects tied to JS ones: Buffers, ArrayBuffers, native modules' memory (memoryUsage().external). */
  externalBytes?: number;
  /** Committed size of each V8 heap space (old, new, code, large_object, …), `_space` dropped as prom-client does. */
  heapSpaceBytes?: Record<string, number>;
  /** Bytes of live objects and not yet collected garbage in each V8 heap space. */
  heapSpaceUsedBytes?: Record<string, number>;
  /** RSS of anonymous pages: V8's heap, malloc (native modules, libuv, zlib, OpenSSL), stacks. */
  rssAnonBytes?: number;
  /** RSS of file-backed pages: the node binary and shared libraries as far as they have been paged in. */
  rssFileBytes?: number;
}

export type MemoryReading = MemoryParts;

/** Every series of a Prometheus page as name → list of (labels, value). */
export function parseMetrics(
  text: string,
): Map<string, Array<{ labels: Record<string, string>; value: number }>> {
  const out = new Map<string, Array<{ labels: Record<string, string>; value: number }>>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    const list = out.get(m[1]) ?? [];
    list.push({ labels, value: Number(m[3]) });
    out.set(m[1], list);
  }
  return out;
}

/** The memory parts of one daemon's /metrics page (`service` is the label every series of that daemon carries). */
export function memoryOfMetrics(text: string, service: string): MemoryParts | undefined {
  const series = parseMetrics(text);
  const one = (name: string): number | undefined =>
    series.get(name)?.find((s) => s.labels.service === service)?.value;
  const heapUsedBytes = one('nodejs_heap_size_used_bytes');
  const rssBytes = one('process_resident_memory_bytes');
  if (heapUsedBytes === undefined || rssBytes === undefined) return undefined;
  const perSpace = (name: string): Record<string, number> | undefined => {
    const spaces = (series.get(name) ?? []).filter((s) => s.labels.service === service && s.labels.space);
    return spaces.length ? Object.fromEntries(spaces.map((s) => [s.labels.space, s.value])) : undefined;
  };
  return {
    heapUsedBytes,
    rssBytes,
    heapTotalBytes: one('nodejs_heap_size_total_bytes'),
    externalBytes: one('nodejs_external_memory_bytes'),
    heapSpaceBytes: perSpace('nodejs_heap_space_size_total_bytes'),
    heapSpaceUsedBytes: perSpace('nodejs_heap_space_size_used_bytes'),
  };
}

/** RssAnon and RssFile of /proc/<pid>/status (kB there), or undefined when the process is gone. */
export function readProcRss(pid: number): Pick<MemoryParts, 'rssAnonBytes' | 'rssFileBytes'> | undefined {
  let status: string;
  try {
    status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (field: string): number | undefined => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  return { rssAnonBytes: kb('RssAnon'), rssFileBytes: kb('RssFile') };
}

/** A daemon's memory from its /metrics, with the kernel's split of its RSS when its pid is known. */
export async function readMemory(
  port: number,
  service: string,
  pid?: number,
): Promise<MemoryReading | undefined> {
  const answer = await httpGet(port, '/metrics', 3_000);
  if (!answer || answer.status !== 200) return undefined;
  const parts = memoryOfMetrics(answer.body, service);
  if (!parts) return undefined;
  return pid ? { ...parts, ...readProcRss(pid) } : parts;
}

/** One series of a /metrics page, labels included (e.g. `byninja_events_last_seq{service="trading"}`), or undefined. */
export async function readSeries(port: number, series: string): Promise<number | undefined> {
  const answer = await httpGet(port, '/metrics', 3_000);
  return answer?.status === 200 ? metricValue(answer.body, series) : undefined;
}
