/**
 * One gate for every request to an exchange. After a rate-limit refusal (HTTP 429 / 418, or the exchange's own
 * equivalent: Bybit 10006 and its HTTP 403 IP ban, Binance's HTTP 403 WAF limit, OKX 50011, Kraken "EAPI:Rate limit
 * exceeded" — ccxt's
 * RateLimitExceeded / DDoSProtection) no request leaves until the wait the exchange asked for has passed
 * (Retry-After; Binance's 418 carries the ban's length there), or the profile's documented reset or ban time, or —
 * with neither — the one backoff of retry.ts. Then one request probes first and the others wait for its answer:
 * an exchange that escalates bans for requests after a 429 (Binance: 418, 2 min → 3 days) sees one request per
 * wait, however many reads were waiting (the start's parallel reads each retried on their own before).
 *
 * The decision is pure (`gateDecision`, `gateAfter`: state, event, now → state or wait); `RateLimitGate` only
 * waits, with the injected clock. The adapter (ccxt-exchange.ts) puts it around ccxt's `fetch2`, the one method
 * every ccxt request goes through, before the pacing and the signing (a request held for a ban is signed
 * when it leaves, not before: its timestamp stays inside the exchange's receive window). The pacing after it (ccxt's
 * throttle on Binance; the endpoint limiter on Bybit and OKX, endpoint-limiter.ts) holds what its window has no room
 * for, so requests that passed the gate together may still be held there when the first one's refusal comes back:
 * the adapter asks again as each leaves (`assertStillAdmitted`, just before ccxt sends it), and one a closing caught
 * in there goes back to the gate unsent — nothing leaves after a refusal before its wait, however many were on
 * their way to the socket.
 *
 * What a refusal closes is what its limit covers (the profile's `scopeByCode`, from each exchange's docs): an IP or
 * request-weight limit (Binance 429 -1003 / 418, Bybit's 403 IP ban) closes the gate for every request; Binance's
 * order-count limit (429 -1015 "Too many new orders", per account, no Retry-After) only stops new orders, so reads
 * and cancels — what a stop-loss flow needs to get out — keep going; a per-endpoint limit (Bybit 10006, OKX 50011)
 * closes only that endpoint (method and path). Each of those is a lane with the state machine below; a request
 * passes the lanes that cover it (every request: `all` and its endpoint's; a create also `orders`).
 *
 * The whole gate's "closed until" (`all`: an IP ban) outlives the process: a crash loop or a /restart during a
 * Binance 418 would otherwise send the start's reads straight into the ban at every start, which Binance answers by
 * lengthening it. `closedUntil` (gate-file.ts) is read before the first request leaves, and each closing is kept.
 *
 * A new order never waits out a ban: decided on the prices of its tick, it must go now or not at all (held for a
 * 418's minutes or days it would leave long after its create timeout made it `unknown`, after a pause, a close-all
 * or a kill switch). A request sent under `withGateBudget(ms, …)` waits at most `ms` in all, the gate and the pacing
 * after it: a gate closed for longer refuses it unsent (RateLimitError with the wait left as retryAfterMs: the order
 * is `rejected` and its symbol waits); so does the pacing when it has no room in time, at once (the adapter asks the
 * endpoint limiter with `budgetDeadline()`, or reads ccxt's throttle on Binance, throttle-wait.ts, and reports it
 * with `pacedPastBudget`), and a request the pacing held past its budget anyway is refused as it would leave
 * (`assertStillAdmitted`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Clock } from '../../shared/clock';
import { RateLimitError } from '../../shared/errors';
import { retryDelayMs, type BackoffPolicy } from '../../shared/retry';

/**
 * The longest a request sent inside `withGateBudget` may wait at the gate (through every ccxt call it makes), and
 * whether those requests place an order (they pass the `orders` lane).
 */
const budget = new AsyncLocalStorage<{ maxWaitMs: number; placesOrder: boolean }>();

/**
 * Runs `fn` so that every request it sends waits at most `maxWaitMs` at the gate, else is refused unsent;
 * `placesOrder`: its requests place a new order (an order-count limit holds them, not the others).
 */
export function withGateBudget<T>(
  maxWaitMs: number,
  fn: () => Promise<T>,
  opts: { placesOrder?: boolean } = {},
): Promise<T> {
  return budget.run({ maxWaitMs, placesOrder: opts.placesOrder ?? false }, fn);
}

/**
 * A request on its way from the gate to the socket: the gate it passed, its lanes, the closings seen then, and the
 * clock time it must leave by (under `withGateBudget`).
 */
interface Departure {
  gate: RateLimitGate;
  keys: readonly string[];
  seen: number;
  deadline?: number;
}

const departure = new AsyncLocalStorage<Departure>();

/** Thrown by `assertStillAdmitted`: the request was not sent, and goes back to the gate (never seen outside it). */
class HeldAtGate extends Error {
  constructor() {
    super('not sent: the rate-limit gate closed while it waited in the client');
  }
}

/** Thrown by the pacing (`pacedPastBudget`) or `assertStillAdmitted`: it could not leave within its budget; not sent. */
class PastBudget extends Error {
  constructor(readonly waitMs?: number) {
    super('not sent: the request pacing held it past its budget');
  }
}

/**
 * Called as a request leaves (after the pacing and the signing, before the send): throws, unsent, when a
 * lane it passes closed since it passed the gate — `RateLimitGate.send` then holds it like any request arriving at a
 * closed gate — or when it leaves after its budget's deadline (held that long by the pacing): then `send` refuses it.
 * Outside a gated request, nothing.
 */
export function assertStillAdmitted(): void {
  const d = departure.getStore();
  if (!d) return;
  if (d.gate.closedSince(d.keys, d.seen)) throw new HeldAtGate();
  if (d.deadline !== undefined && d.gate.now() > d.deadline) throw new PastBudget();
}

/** The clock time the gated request now on its way must leave by (under `withGateBudget`), else undefined. */
export function budgetDeadline(): number | undefined {
  return departure.getStore()?.deadline;
}

/**
 * What the pacing throws for a request it cannot let out by `budgetDeadline()` (`waitMs`: how long it would still
 * have waited, when known): `RateLimitGate.send` refuses it unsent, as a gate closed past the budget does.
 */
export function pacedPastBudget(waitMs?: number): Error {
  return new PastBudget(waitMs);
}

/** What a rate limit covers: every request (IP, request weight), new orders (order count), or one endpoint. */
export type RateLimitScope = 'all' | 'orders' | 'endpoint';

/** The lanes a request passes: the whole gate, its endpoint's, and (a create) the new orders'. (pure) */
export function lanesOf(endpoint: string, placesOrder: boolean): string[] {
  return ['all', `endpoint ${endpoint}`, ...(placesOrder ? ['orders'] : [])];
}

/** The lane a refusal closes, from the limit's scope and the refused request. (pure) */
export function laneOf(scope: RateLimitScope, endpoint: string, placesOrder: boolean): string {
  if (scope === 'all') return 'all';
  // an order-count refusal of anything but a create (not documented) closes what was refused, no more
  if (scope === 'orders' && placesOrder) return 'orders';
  return `endpoint ${endpoint}`;
}

export type GateState =
  | { kind: 'open' }
  /** Nothing leaves before `until`; `refusals` in a row so far (the backoff's attempt). */
  | { kind: 'closed'; until: number; refusals: number }
  /** One request is out after a closed spell; the others wait for its answer. */
  | { kind: 'probing'; refusals: number };

export type GateEvent =
  /** A rate-limit refusal that asks for `waitMs` (see `refusalWaitMs`); `probe`: the answer to the probe. */
  | { kind: 'refused'; waitMs: number; probe: boolean }
  /** Any other answer, an error included (the exchange did not refuse for rate). */
  | { kind: 'answered'; probe: boolean };

export type GateDecision =
  { kind: 'send' } | { kind: 'probe' } | { kind: 'wait'; ms: number } | { kind: 'await-probe' };

/** What a request that wants to leave at `now` does. (pure) */
export function gateDecision(state: GateState, now: number): GateDecision {
  switch (state.kind) {
    case 'open':
      return { kind: 'send' };
    case 'probing':
      return { kind: 'await-probe' };
    case 'closed':
      return now >= state.until ? { kind: 'probe' } : { kind: 'wait', ms: state.until - now };
  }
}

/** The state after a request left as the probe. (pure) */
export function gateProbing(state: GateState): GateState {
  return { kind: 'probing', refusals: state.kind === 'open' ? 0 : state.refusals };
}

/**
 * The state after an answer at `now`. A refusal closes the gate (never shortening a wait already asked for); the
 * probe's other answers open it. Answers to requests sent before the gate closed change nothing else: they do not
 * say the limit is over. (pure)
 */
export function gateAfter(state: GateState, event: GateEvent, now: number): GateState {
  if (event.kind === 'refused') {
    // one spell of refusals counts the probes refused (the backoff's attempt), not the answers already on their way
    const refusals = state.kind === 'open' ? 1 : event.probe ? state.refusals + 1 : state.refusals;
    const until = Math.max(now + event.waitMs, state.kind === 'closed' ? state.until : 0);
    return { kind: 'closed', until, refusals };
  }
  // the probe's answer ends the spell while it is still the probe; a refusal that came back meanwhile (an answer to a
  // request sent before, a 418's ban) closed the lane again, and that wait stands: the next probe after it decides
  if (state.kind === 'open' || (event.probe && state.kind === 'probing')) return { kind: 'open' };
  return state;
}

/** What a failed request tells the gate: the HTTP status, headers and exchange code the adapter recorded. */
export interface Refusal {
  /** ccxt's error class name. */
  name?: string;
  httpStatus?: number;
  exchangeCode?: string;
  /** Retry-After, already in ms. */
  retryAfterMs?: number;
}

/** The profile's documented waits for a refusal without Retry-After: by HTTP status (a ban), by its own code. */
export interface RateLimitResets {
  byStatus?: Record<number, number>;
  /**
   * HTTP statuses that are rate-limit refusals for which the exchange documents no wait (Binance 403: its WAF limit
   * violated): the gate closes for the one backoff (GATE_BACKOFF, longer after each refused probe).
   */
  backoffStatuses?: readonly number[];
  byCode?: Record<string, number>;
  /** Where the exchange's own code is in an error answer, when the profile has no `answerCodes.field`. */
  codeField?: string;
  /** What a refusal with this exchange code covers (absent: every request, `all`). */
  scopeByCode?: Record<string, RateLimitScope>;
  /**
   * The longest wait the exchange documents (Binance: a 3-day IP ban): a kept "closed until" further away than
   * this from now is cut to it (a clock moved back, a damaged file). Absent: GATE_BACKOFF's longest wait.
   */
  longestWaitMs?: number;
}

/** What a refusal covers (pure). */
export function refusalScope(r: Refusal, resets?: RateLimitResets): RateLimitScope {
  return (r.exchangeCode !== undefined ? resets?.scopeByCode?.[r.exchangeCode] : undefined) ?? 'all';
}

const RATE_LIMIT_CLASSES = new Set(['RateLimitExceeded', 'DDoSProtection']);

/** Is this failure the exchange refusing for rate (whatever class ccxt gave a bare 429 / 418)? (pure) */
export function isRateLimitRefusal(r: Refusal, resets?: RateLimitResets): boolean {
  if (r.httpStatus === 429 || r.httpStatus === 418) return true;
  if (r.httpStatus !== undefined && resets?.byStatus?.[r.httpStatus] !== undefined) return true;
  if (r.httpStatus !== undefined && resets?.backoffStatuses?.includes(r.httpStatus)) return true;
  if (r.exchangeCode !== undefined && resets?.byCode?.[r.exchangeCode] !== undefined) return true;
  if (r.exchangeCode !== undefined && resets?.scopeByCode?.[r.exchangeCode] !== undefined) return true;
  return RATE_LIMIT_CLASSES.has(r.name ?? '');
}

/** The gate's backoff where the exchange says nothing (2 s steps — OKX counts per 2 s — doubling, at most 2 min). */
export const GATE_BACKOFF: BackoffPolicy = { baseDelayMs: 2_000, maxDelayMs: 120_000 };

/**
 * How long a refusal keeps the gate closed: the exchange's Retry-After, else the profile's documented time for its
 * status or code, else the one backoff after `refusals` refusals in a row. (pure but for `random`, as retryDelayMs)
 */
export function refusalWaitMs(
  r: Refusal,
  refusals: number,
  resets: RateLimitResets | undefined,
  random: () => number,
): number {
  if (r.retryAfterMs !== undefined) return r.retryAfterMs;
  const documented =
    (r.httpStatus !== undefined ? resets?.byStatus?.[r.httpStatus] : undefined) ??
    (r.exchangeCode !== undefined ? resets?.byCode?.[r.exchangeCode] : undefined);
  if (documented !== undefined) return documented;
  return retryDelayMs(refusals, { ...GATE_BACKOFF, random });
}

export interface RateLimitGateOptions {
  clock: Clock;
  /** The failure's refusal details when it is a rate-limit refusal, else undefined. */
  refusal: (err: unknown) => Refusal | undefined;
  resets?: RateLimitResets;
  /** Ends every wait (the adapter closing). */
  signal?: AbortSignal;
  random?: () => number;
  /** Told when a lane closes: how long, after how many refusals, which lane (`all`: every request). */
  onClosed?: (waitMs: number, refusals: number, lane: string) => void;
  /**
   * The whole gate's "closed until" kept by the last run (gate-file.ts), awaited before the first request leaves;
   * honoured only when in the future, and at most `resets.longestWaitMs` away.
   */
  closedUntil?: Promise<number | undefined>;
}

/** The kept "closed until" as the gate honours it at `now`: only a future time, at most `longestMs` away. (pure) */
export function keptClosedUntil(
  until: number | undefined,
  now: number,
  longestMs: number,
): number | undefined {
  if (until === undefined || !(until > now)) return undefined;
  return Math.min(until, now + longestMs);
}

/** One lane: its state, the probe's answer while one is out, and the gate's count of closings at its last. */
interface Lane {
  state: GateState;
  probeAnswered?: Promise<void>;
  /** Who probes it now (one token per admitted request): only that request's answer or hold ends the probe. */
  prober?: object;
  closedAt?: number;
}

export class RateLimitGate {
  private readonly lanes = new Map<string, Lane>();
  /** Refusals that closed a lane so far (each lane keeps the count at its last: `closedSince`). */
  private closings = 0;
  /** Settles once the kept "closed until" was read (and put on the `all` lane). */
  private loaded?: Promise<void>;

  constructor(private readonly opts: RateLimitGateOptions) {
    const kept = opts.closedUntil;
    if (kept) {
      this.loaded = kept.then(
        (until) => {
          const longest = opts.resets?.longestWaitMs ?? GATE_BACKOFF.maxDelayMs;
          const honoured = keptClosedUntil(until, opts.clock.now(), longest);
          if (honoured !== undefined)
            this.lane('all').state = { kind: 'closed', until: honoured, refusals: 1 };
        },
        () => undefined,
      );
    }
  }

  /** Requests refused so far in a row on the whole gate (0: open). */
  get refusals(): number {
    const all = this.lanes.get('all')?.state;
    return !all || all.kind === 'open' ? 0 : all.refusals;
  }

  /** Until when the whole gate holds every request (a kept or fresh ban), or undefined when it does not now. */
  closedUntil(now = this.opts.clock.now()): number | undefined {
    const all = this.lanes.get('all')?.state;
    return all?.kind === 'closed' && all.until > now ? all.until : undefined;
  }

  /** The gate's clock (assertStillAdmitted's budget check). */
  now(): number {
    return this.opts.clock.now();
  }

  /** Whether one of the lanes `keys` closed after `seen` closings and is not open again (assertStillAdmitted). */
  closedSince(keys: readonly string[], seen: number): boolean {
    return keys.some((key) => {
      const lane = this.lanes.get(key);
      return lane !== undefined && lane.state.kind !== 'open' && (lane.closedAt ?? 0) > seen;
    });
  }

  /** The lane `key`, opened (as `open`) when it has none yet. */
  private lane(key: string): Lane {
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { state: { kind: 'open' } };
      this.lanes.set(key, lane);
    }
    return lane;
  }

  /**
   * Sends `request` (to `endpoint`, `METHOD path`) when every lane it passes lets it, and tells the lanes what came
   * back. Under `withGateBudget` it waits at most that long, then throws RateLimitError without sending.
   */
  async send<T>(request: () => Promise<T>, endpoint = ''): Promise<T> {
    if (this.loaded) await this.loaded;
    const context = budget.getStore();
    const placesOrder = context?.placesOrder ?? false;
    const keys = lanesOf(endpoint, placesOrder);
    const deadline = context === undefined ? undefined : this.opts.clock.now() + context.maxWaitMs;
    for (;;) {
      const { probes, answered, seen, prober } = await this.admit(keys, deadline);
      // a lane this request probes and still does: refused again and probed by another since, it is that one's probe
      const probing = (lane: Lane): boolean => lane.prober === prober;
      // every lane the request passed hears the answer (a probe's lane reopens on anything but a refusal)
      const answerAll = (except?: string): void => {
        for (const key of keys) {
          const lane = this.lanes.get(key);
          if (lane && key !== except) this.answer(key, { kind: 'answered', probe: probing(lane) });
        }
      };
      try {
        const result = await departure.run({ gate: this, keys, seen, deadline }, request);
        answerAll();
        return result;
      } catch (err) {
        if (err instanceof HeldAtGate || err instanceof PastBudget) {
          // never sent: a lane it still probes waits for a new probe, at once (not one another request probes now)
          const now = this.opts.clock.now();
          for (const lane of probes) {
            if (lane.state.kind === 'probing' && probing(lane))
              lane.state = { kind: 'closed', until: now, refusals: lane.state.refusals };
          }
          if (err instanceof HeldAtGate) continue;
          throw new RateLimitError(
            `not sent: the exchange's request pacing would hold it past its ${context?.maxWaitMs ?? 0} ms`,
            // `gate`: refused unsent (order-manager.ts marks the order never sent)
            { gate: 'pacing' },
            { retryAfterMs: err.waitMs },
          );
        }
        const refusal = this.opts.refusal(err);
        if (refusal && isRateLimitRefusal(refusal, this.opts.resets)) {
          const closes = laneOf(refusalScope(refusal, this.opts.resets), endpoint, placesOrder);
          answerAll(closes);
          const lane = this.lane(closes);
          const refusals = lane.state.kind === 'open' ? 1 : lane.state.refusals + 1;
          const waitMs = refusalWaitMs(refusal, refusals, this.opts.resets, this.opts.random ?? Math.random);
          this.answer(closes, { kind: 'refused', waitMs, probe: probing(lane) });
          lane.closedAt = ++this.closings;
          if (lane.state.kind === 'closed')
            this.opts.onClosed?.(lane.state.until - this.opts.clock.now(), lane.state.refusals, closes);
        } else {
          answerAll();
        }
        throw err;
      } finally {
        for (const done of answered) done();
      }
    }
  }

  /**
   * Waits until every lane of `keys` lets a request out (a wait asked for, another's probe), or throws RateLimitError
   * past `deadline`. The lanes this request probes (each was closed and its wait is over) are probing when it
   * returns — in the same turn as the decision, so no other request probes them too — with what ends each probe,
   * and the closings so far (a closing after the decision holds the request: assertStillAdmitted).
   */
  private async admit(
    keys: readonly string[],
    deadline: number | undefined,
  ): Promise<{ probes: Lane[]; answered: Array<() => void>; seen: number; prober: object }> {
    for (;;) {
      const now = this.opts.clock.now();
      const probes: Lane[] = [];
      let waitMs: number | undefined;
      let awaiting: Lane | undefined;
      for (const key of keys) {
        const lane = this.lanes.get(key);
        if (!lane) continue;
        const decision = gateDecision(lane.state, now);
        if (decision.kind === 'probe') probes.push(lane);
        else if (decision.kind === 'wait') waitMs = Math.max(waitMs ?? 0, decision.ms);
        else if (decision.kind === 'await-probe') awaiting ??= lane;
      }
      if (waitMs === undefined && awaiting === undefined) {
        const answered: Array<() => void> = [];
        const prober = {};
        for (const lane of probes) {
          lane.state = gateProbing(lane.state);
          lane.prober = prober;
          lane.probeAnswered = new Promise<void>((resolve) => answered.push(resolve));
        }
        return { probes, answered, seen: this.closings, prober };
      }
      if (deadline !== undefined && (now >= deadline || (waitMs !== undefined && now + waitMs > deadline))) {
        throw new RateLimitError(
          `not sent: the exchange asked to wait${waitMs === undefined ? ' (a request is probing)' : ` ${Math.ceil(waitMs / 1000)} s more`} after a rate-limit refusal`,
          { gate: waitMs === undefined ? 'probing' : 'closed' },
          { retryAfterMs: waitMs },
        );
      }
      if (waitMs !== undefined) await this.opts.clock.sleep(waitMs, this.opts.signal);
      else await this.untilAborted(awaiting!.probeAnswered, deadline);
    }
  }

  private answer(key: string, event: GateEvent): void {
    const lane = this.lanes.get(key);
    if (!lane) return;
    lane.state = gateAfter(lane.state, event, this.opts.clock.now());
    // an open endpoint lane is forgotten: the map holds only what is closed or probing (and `all`, `orders`)
    if (lane.state.kind === 'open' && key.startsWith('endpoint ')) this.lanes.delete(key);
  }

  /** Waits for `wait` (the probe's answer), at most until `deadline`, ended by the adapter's signal. */
  private untilAborted(wait: Promise<void> | undefined, deadline?: number): Promise<void> {
    if (deadline !== undefined) {
      const left = Math.max(0, deadline - this.opts.clock.now());
      const controller = new AbortController();
      const timer = this.opts.clock.sleep(left, controller.signal).catch(() => undefined);
      wait = Promise.race([wait ?? Promise.resolve(), timer]).finally(() => controller.abort());
    }
    const signal = this.opts.signal;
    if (!signal) return wait ?? Promise.resolve();
    if (signal.aborted) return Promise.reject(signal.reason ?? new Error('aborted'));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason ?? new Error('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      void (wait ?? Promise.resolve()).then(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }
}
