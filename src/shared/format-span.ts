/**
 * A span of time in words for the operator (pure): the one way both daemons, the CLI and /status say a span — an
 * alert's "down for", an uptime, a button's expiry, a recovery's duration.
 */
/**
 * "350 ms", "4.2 s", "42 s", "2 min", "1 h 5 min", "3 d 4 h": the two largest units, the smaller one left out when
 * it is 0 (minutes rounded; under 10 s one decimal). A negative span is 0 ms.
 */
export function formatSpan(ms: number): string {
  const span = Math.max(0, ms);
  if (span < 999.5) return `${Math.round(span)} ms`;
  if (span < 9_950) return `${Number((span / 1000).toFixed(1))} s`;
  const s = Math.round(span / 1000);
  if (s < 60) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 24) return min % 60 ? `${h} h ${min % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}
