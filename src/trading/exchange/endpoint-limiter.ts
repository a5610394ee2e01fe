/**
 * The request pacing of an exchange that documents its limits per endpoint over a short window — Bybit: per UID,
 * per endpoint, "rolling time window per second"; OKX: per endpoint per 2 s — where ccxt's per-endpoint costs are
 * those documented counts scaled to its `rateLimit` (cost = window / rateLimit / the endpoint's requests per window).
 * Each endpoint keeps its own window: in any `windowMs` its requests' costs add up to at most `weight`, ccxt's count
 * for the endpoint whatever its cost; endpoints never wait for each other, so a start's reads of different
 * endpoints (markets, account, open and recent orders, balance) leave together. `overall`, where the exchange also
 * counts every request together (Bybit: 600 per 5 s per IP), caps them all, one per request.
 *
 * The exchange counts a request when it arrives, which is after it left here and before its answer came back: so a
 * request counts in the window from when it leaves until a window after its answer (or its failure) — never
 * earlier than its arrival, whatever the latency (a first burst slowed by new TLS connections, a second on warm ones,
 * would otherwise arrive closer together than they left). Then the exchange sees at most the budget in any window of
 * its own, the latency of each request anything.
 *
 * ccxt's own limiter is one queue for every endpoint: each request waited for the cost of all the requests queued
 * before it, whatever their endpoints — a live start's reads left ~100 ms apart, and ready came 1.4 s (Bybit) and
 * 1.65 s (OKX) after the first request against ~0.2 s on Binance (docs/benchmarks.md, live recovery).
 *
 * A request with a deadline (a create: decided on its tick's prices, sent within its budget or not at all,
 * rate-limit-gate.ts `withGateBudget`) is refused at once when its window cannot have room by then, and at the
 * deadline when it still waits behind its endpoint's earlier requests; either way unsent and never counted.
 *
 * The wait is pure (`windowWaitMs`); `EndpointLimiter` keeps what was sent and waits with the injected clock, each
 * endpoint's requests in the order they came.
 */
import type { Clock } from '../../shared/clock';

/** At most `weight` in any `windowMs`. */
export interface WindowBudget {
  windowMs: number;
  weight: number;
}

/** One request sent: its weight, and when its answer came back (undefined while it is on its way). */
export interface Sent {
  weight: number;
  answeredAt?: number;
}

/** Costs are fractions (OKX: 1/3, 1/2): sums that should be equal may differ by rounding. */
const EPSILON = 1e-9;

/**
 * How long from `now` until `weight` more fits in `budget`, given what was `sent`: 0 when it fits now, Infinity when
 * only an answer still on its way can make room. A request counts while on its way and for the window after its
 * answer; an answer dated after `now` (the host's clock set back since) counts as come now. A request heavier than
 * the whole budget goes alone, once the window is empty (pure).
 */
export function windowWaitMs(
  sent: readonly Sent[],
  now: number,
  budget: WindowBudget,
  weight: number,
): number {
  const from = now - budget.windowMs;
  let inWindow = 0;
  const leaving: { at: number; weight: number }[] = [];
  for (const s of sent) {
    if (s.answeredAt === undefined) inWindow += s.weight;
    else if (s.answeredAt > from) {
      inWindow += s.weight;
      leaving.push({ at: Math.min(s.answeredAt, now), weight: s.weight });
    }
  }
  let excess = inWindow + Math.min(weight, budget.weight) - budget.weight;
  if (excess <= EPSILON) return 0;
  // the earliest answered leave the window first, each a window after its answer
  leaving.sort((a, b) => a.at - b.at);
  for (const s of leaving) {
    excess -= s.weight;
    if (excess <= EPSILON) return s.at + budget.windowMs - now;
  }
  return Number.POSITIVE_INFINITY;
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

/** Called once the request's answer came back, or it failed (sent or not): from then on it counts a window more. */
export type Answered = () => void;

/** A request that could not leave by its deadline: not sent, not counted. */
export class WindowPastDeadline extends Error {
  constructor(
    /** How long it would still have waited, when known (its window's wait; not while queued behind others). */
    readonly waitMs?: number,
  ) {
    super(
      `not sent: its endpoint's request window has no room before its deadline${waitMs === undefined ? '' : ` (${Math.ceil(waitMs)} ms more)`}`,
    );
  }
}

export class EndpointLimiter {
  private readonly sent = new Map<string, Sent[]>();
  private readonly all: Sent[] = [];
  /** Each endpoint's last request still waiting or leaving: the next one queues behind it. */
  private readonly tails = new Map<string, Promise<void>>();
  /** Requests waiting for an answer to make room: woken by the next one. */
  private readonly forAnswer = new Set<() => void>();

  constructor(private readonly opts: EndpointLimiterOptions) {}

  /**
   * Resolves when a request of `weight` to `endpoint` may leave (counted from then), with what to call at its answer.
   * With a `deadline` (clock time) it rejects with WindowPastDeadline, unsent and uncounted, when it could not leave by
   * then: at once when its window's wait ends later, or at the deadline while still queued behind earlier requests.
   */
  take(endpoint: string, weight: number, deadline?: number): Promise<Answered> {
    const dropped = { now: false };
    const turn = (this.tails.get(endpoint) ?? Promise.resolve()).then(() =>
      this.waitTurn(endpoint, weight, deadline, dropped),
    );
    const tail = turn.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(endpoint, tail);
    // an endpoint with nothing queued keeps no promise
    void tail.then(() => {
      if (this.tails.get(endpoint) === tail) this.tails.delete(endpoint);
    });
    return deadline === undefined ? turn : this.byDeadline(turn, deadline, dropped);
  }

  /**
   * `turn`, or WindowPastDeadline at `deadline` if it has not resolved by then; `dropped` then tells its wait to give
   * its turn up unsent. A turn that was granted in the same instant is handed back as answered (never leaked).
   */
  private byDeadline(
    turn: Promise<Answered>,
    deadline: number,
    dropped: { now: boolean },
  ): Promise<Answered> {
    const { clock } = this.opts;
    return new Promise<Answered>((resolve, reject) => {
      let settled = false;
      // refused once it is still waiting after its deadline: leaving at the deadline itself is in time
      const cancel = clock.timer(Math.max(0, deadline - clock.now()) + 1, () => {
        if (settled) return;
        settled = true;
        dropped.now = true;
        reject(new WindowPastDeadline());
      });
      turn.then(
        (answered) => {
          if (settled) return answered();
          settled = true;
          cancel();
          resolve(answered);
        },
        (err: unknown) => {
          if (settled) return;
          settled = true;
          cancel();
          reject(err as Error);
        },
      );
    });
  }

  private async waitTurn(
    endpoint: string,
    weight: number,
    deadline: number | undefined,
    dropped: { now: boolean },
  ): Promise<Answered> {
    const { clock, perEndpoint, overall, signal } = this.opts;
    for (;;) {
      signal?.throwIfAborted();
      // its deadline passed while it waited (queued behind its endpoint's earlier requests): the next one's turn
      if (dropped.now) throw new WindowPastDeadline();
      const now = clock.now();
      const sent = this.recent(endpoint, now);
      const endpointWait = windowWaitMs(sent, now, perEndpoint, weight);
      const overallWait = overall ? windowWaitMs(this.all, now, overall, 1) : 0;
      const waitMs = Math.max(endpointWait, overallWait);
      // a turn that comes after the deadline (timers run late on a busy loop) is given up before it is counted
      if (deadline !== undefined && now > deadline) throw new WindowPastDeadline();
      if (waitMs <= 0) return this.send(sent, weight);
      // waiting for an answer on its way, it waits a window after that answer at least
      const atLeast = Number.isFinite(waitMs)
        ? waitMs
        : Math.max(
            Number.isFinite(endpointWait) ? endpointWait : perEndpoint.windowMs,
            Number.isFinite(overallWait) ? overallWait : (overall?.windowMs ?? 0),
          );
      if (deadline !== undefined && now + atLeast > deadline) throw new WindowPastDeadline(atLeast);
      if (Number.isFinite(waitMs)) await clock.sleep(waitMs, signal);
      else await this.nextAnswer(signal);
    }
  }

  private send(sent: Sent[], weight: number): Answered {
    const mine: Sent = { weight };
    const counted: Sent | undefined = this.opts.overall ? { weight: 1 } : undefined;
    sent.push(mine);
    if (counted) this.all.push(counted);
    return () => {
      if (mine.answeredAt !== undefined) return;
      mine.answeredAt = this.opts.clock.now();
      if (counted) counted.answeredAt = mine.answeredAt;
      const waiting = [...this.forAnswer];
      this.forAnswer.clear();
      for (const wake of waiting) wake();
    };
  }

  private nextAnswer(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.forAnswer.delete(wake);
        reject((signal?.reason as Error | undefined) ?? new Error('aborted'));
      };
      const wake = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.forAnswer.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The endpoint's requests still counted (answers older than the window dropped), and the overall ones likewise. */
  private recent(endpoint: string, now: number): Sent[] {
    let sent = this.sent.get(endpoint);
    if (!sent) this.sent.set(endpoint, (sent = []));
    keepWindow(sent, now, this.opts.perEndpoint.windowMs);
    if (this.opts.overall) keepWindow(this.all, now, this.opts.overall.windowMs);
    return sent;
  }
}

/**
 * Drops the requests answered a window before `now` or earlier. An answer dated after `now` (the host's clock was set
 * back since) is dated now: it holds the next ones one window at most, not until the clock is back where it was.
 */
function keepWindow(sent: Sent[], now: number, windowMs: number): void {
  let kept = 0;
  for (const s of sent) {
    if (s.answeredAt !== undefined && s.answeredAt > now) s.answeredAt = now;
    if (s.answeredAt === undefined || s.answeredAt > now - windowMs) sent[kept++] = s;
  }
  sent.length = kept;
}
