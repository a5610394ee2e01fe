/**
 * The request pacing of an exchange that documents its limits per endpoint over a short window — Bybit: per UID,
 * per endpoint, "rolling time window per second"; OKX: per endpoint per 2 s — where ccxt's per-endpoint costs are
 * those documented counts scaled to its `rateLimit` (cost = window / rateLimit / the endpoint's requests per window).
 * Each endpoint keeps its own window: in any `windowMs` its requests' costs add up to at most `weight`, which is the
 * endpoint's documented count whatever its cost; endpoints never wait for each other, so a start's reads of
 * different endpoints (markets, account, open and recent orders, balance) leave together. `overall`, where the
 * exchange also counts every request together (Bybit: 600 per 5 s per IP), caps them all, one per request.
 *
 * ccxt's own limiter is one queue for every endpoint: each request waited for the cost of all the requests queued
 * before it, whatever their endpoints — a live start's reads left ~100 ms apart, and ready came 1.4 s (Bybit) and
 * 1.6 s (OKX) after the first request against ~0.2 s on Binance (docs/benchmarks.md, live recovery).
 *
 * The window to wait out is pure (`windowWaitMs`); `EndpointLimiter` keeps what was sent and waits with the
 * injected clock, each endpoint's requests in the order they came.
 */
import type { Clock } from '../../shared/clock';

/** At most `weight` in any `windowMs`. */
export interface WindowBudget {
  windowMs: number;
  weight: number;
}

/** One request as it left: when, and its weight. */
export interface Sent {
  at: number;
  weight: number;
}

/** Costs are fractions (OKX: 1/3, 1/2): sums that should be equal may differ by rounding. */
const EPSILON = 1e-9;

/**
 * How long from `now` until `weight` more fits in `budget`, given what was `sent` (oldest first): 0 when it fits
 * now. A request heavier than the whole budget goes alone, once the window is empty (pure).
 */
export function windowWaitMs(
  sent: readonly Sent[],
  now: number,
  budget: WindowBudget,
  weight: number,
): number {
  const from = now - budget.windowMs;
  let first = sent.length;
  let inWindow = 0;
  while (first > 0 && sent[first - 1].at > from) {
    first--;
    inWindow += sent[first].weight;
  }
  let excess = inWindow + Math.min(weight, budget.weight) - budget.weight;
  if (excess <= EPSILON) return 0;
  // the oldest requests leave the window first, each at its time plus the window
  for (let i = first; i < sent.length; i++) {
    excess -= sent[i].weight;
    if (excess <= EPSILON) return sent[i].at + budget.windowMs - now;
  }
  return sent[sent.length - 1].at + budget.windowMs - now;
}

export interface EndpointLimiterOptions {
  clock: Clock;
  /** Every endpoint's own window. */
  perEndpoint: WindowBudget;
  /** Every request counted together, one each (undefined: no such limit). */
  overall?: WindowBudget;
  /** Ends every wait (the adapter closed). */
  signal?: AbortSignal;
}

export class EndpointLimiter {
  private readonly sent = new Map<string, Sent[]>();
  private readonly all: Sent[] = [];
  /** Each endpoint's last request still waiting or leaving: the next one queues behind it. */
  private readonly tails = new Map<string, Promise<void>>();

  constructor(private readonly opts: EndpointLimiterOptions) {}

  /** Resolves when a request of `weight` to `endpoint` may leave (counted as sent then). */
  take(endpoint: string, weight: number): Promise<void> {
    const turn = (this.tails.get(endpoint) ?? Promise.resolve()).then(() => this.waitTurn(endpoint, weight));
    const tail = turn.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(endpoint, tail);
    // an endpoint with nothing queued keeps no promise
    void tail.then(() => {
      if (this.tails.get(endpoint) === tail) this.tails.delete(endpoint);
    });
    return turn;
  }

  private async waitTurn(endpoint: string, weight: number): Promise<void> {
    const { clock, perEndpoint, overall, signal } = this.opts;
    for (;;) {
      signal?.throwIfAborted();
      const now = clock.now();
      const sent = this.recent(endpoint, now);
      const waitMs = Math.max(
        windowWaitMs(sent, now, perEndpoint, weight),
        overall ? windowWaitMs(this.all, now, overall, 1) : 0,
      );
      if (waitMs <= 0) {
        sent.push({ at: now, weight });
        if (overall) this.all.push({ at: now, weight: 1 });
        return;
      }
      await clock.sleep(waitMs, signal);
    }
  }

  /** The endpoint's requests still in its window (older ones dropped), and the overall window's likewise. */
  private recent(endpoint: string, now: number): Sent[] {
    let sent = this.sent.get(endpoint);
    if (!sent) this.sent.set(endpoint, (sent = []));
    keepWindow(sent, now, this.opts.perEndpoint.windowMs);
    if (this.opts.overall) keepWindow(this.all, now, this.opts.overall.windowMs);
    return sent;
  }
}

/**
 * Drops what left the window before `now`. A request dated after `now` (the host's clock was set back since) counts
 * as sent now: it holds the next ones one window at most, not until the clock is back where it was.
 */
function keepWindow(sent: Sent[], now: number, windowMs: number): void {
  for (let i = sent.length - 1; i >= 0 && sent[i].at > now; i--) sent[i].at = now;
  let n = 0;
  while (n < sent.length && sent[n].at <= now - windowMs) n++;
  if (n > 0) sent.splice(0, n);
}
