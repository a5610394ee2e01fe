/** A daemon's heap and RSS, read from its own /metrics (prom-client's default metrics): no hook in shipped code. */
import { httpGet, metricValue } from '../../harness/http-get';

export interface MemoryReading {
  heapUsedBytes: number;
  rssBytes: number;
}

/** `service` is the label every series of that daemon carries (trading, telegram). */
export async function readMemory(port: number, service: string): Promise<MemoryReading | undefined> {
  const answer = await httpGet(port, '/metrics', 3_000);
  if (!answer || answer.status !== 200) return undefined;
  const heapUsedBytes = metricValue(answer.body, `nodejs_heap_size_used_bytes{service="${service}"}`);
  const rssBytes = metricValue(answer.body, `process_resident_memory_bytes{service="${service}"}`);
  if (heapUsedBytes === undefined || rssBytes === undefined) return undefined;
  return { heapUsedBytes, rssBytes };
}

/** One series of a /metrics page, labels included (e.g. `byninja_events_last_seq{service="trading"}`), or undefined. */
export async function readSeries(port: number, series: string): Promise<number | undefined> {
  const answer = await httpGet(port, '/metrics', 3_000);
  return answer?.status === 200 ? metricValue(answer.body, series) : undefined;
}
