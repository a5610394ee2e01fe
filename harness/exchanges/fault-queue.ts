/**
 * One-shot faults a local exchange double serves instead of (or after) a request's normal answer: each queued
 * fault is taken by the first request it matches, oldest first.
 */
export class FaultQueue<F> {
  private readonly queued: Array<{ match: string; fault: F; params?: Record<string, string> }> = [];

  /**
   * Queues `fault` for the next request matching `match` (route name, path, `METHOD path` or `*`) and, when
   * given, carrying these parameters (e.g. `{ symbol: 'ETHUSDT' }`).
   */
  next(match: string, fault: F, params?: Record<string, string>): void {
    this.queued.push({ match, fault, params });
  }

  clear(): void {
    this.queued.length = 0;
  }

  get pending(): number {
    return this.queued.length;
  }

  take(method: string, path: string, route: string | undefined, params: URLSearchParams): F | undefined {
    const index = this.queued.findIndex(
      (q) =>
        (q.match === '*' || q.match === route || q.match === path || q.match === `${method} ${path}`) &&
        Object.entries(q.params ?? {}).every(([k, v]) => params.get(k) === v),
    );
    if (index < 0) return undefined;
    return this.queued.splice(index, 1)[0].fault;
  }
}
