/**
 * What `/health` answers (pure). Two questions, as monitors ask them:
 *  - alive: the process answers, so its event loop turns (a stopped or hung process does not answer at all, which a
 *    monitor's timeout counts as down);
 *  - ready: it does its job now — each service decides from its own checks (trading: recovered, ticking, the
 *    exchange reachable; telegram: started and connected to PM2's event bus).
 * `GET /health` and `/health/ready` answer 200 when ready and 503 otherwise; `/health/live` 200 whenever it answers.
 */

export interface HealthCheck {
  name: string;
  ok: boolean;
  /** What it saw, for a person reading the answer ("waiting for binance: timeout", "last tick 2s ago"). */
  detail: string;
}

export interface HealthReport {
  service: string;
  ready: boolean;
  /** They decide readiness. */
  checks: HealthCheck[];
  /** Shown, never deciding (telegram's link to trading: telegram is ready while trading is down). */
  notes: HealthCheck[];
}

/** Ready when every check passes; `notes` are information only. */
export function healthReport(
  service: string,
  checks: HealthCheck[],
  notes: HealthCheck[] = [],
): HealthReport {
  return { service, ready: checks.every((c) => c.ok), checks, notes };
}

export interface HealthAnswer {
  status: 200 | 503;
  body: Record<string, unknown>;
}

export function readinessAnswer(report: HealthReport, now: number): HealthAnswer {
  return {
    status: report.ready ? 200 : 503,
    body: {
      service: report.service,
      status: report.ready ? 'ready' : 'not-ready',
      alive: true,
      ready: report.ready,
      checks: report.checks,
      notes: report.notes,
      time: new Date(now).toISOString(),
    },
  };
}

export function livenessAnswer(service: string, now: number, uptimeMs: number): HealthAnswer {
  return {
    status: 200,
    body: { service, status: 'alive', alive: true, uptimeMs, time: new Date(now).toISOString() },
  };
}
