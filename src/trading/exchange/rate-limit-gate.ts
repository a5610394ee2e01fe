/**
 * One gate for every request to an exchange. After a rate-limit refusal (HTTP 429 / 418, or the exchange's own
 * equivalent: Bybit 10006 and its HTTP 403 IP ban, OKX 50011, Kraken "EAPI:Rate limit exceeded" — ccxt's
 * RateLimitExceeded / DDoSProtection) no request leaves until the wait the exchange asked for has passed
 * (Retry-After; Binance's 418 carries the ban's length there), or the profile's documented reset or ban time, or —
 * with neither — the one backoff of retry.ts. Then one request probes first and the others wait for its answer:
 * an exchange that escalates bans for requests after a 429 (Binance: 418, 2 min → 3 days) sees one request per
 * wait, however many reads were waiting (the start's parallel reads each retried on their own before).
 *
 * The decision is pure (`gateDecision`, `gateAfter`: state, event, now → state or wait); `RateLimitGate` only
 * waits, with the injected clock. The adapter (ccxt-exchange.ts) puts it around ccxt's `fetch2`, the one method
 * every ccxt request goes through, before ccxt's own throttle and signing (a request held for a ban is signed
 * when it leaves, not before: its timestamp stays inside the exchange's receive window).
 *
 * A new order never waits out a ban: decided on the prices of its tick, it must go now or not at all (held for a
 * 418's minutes or days it would leave long after its create timeout made it `unknown`, after a pause, a close-all
 * or a kill switch). A request sent under `withGateBudget(ms, …)` waits at most `ms`; a gate closed for longer
 * refuses it unsent (RateLimitError with the wait left as retryAfterMs: the order is `rejected` and its symbol waits).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Clock } from '../../shared/clock';
import { RateLimitError } from '../../shared/errors';
import { retryDelayMs, type BackoffPolicy } from '../../shared/retry';

/** The longest a request sent inside `withGateBudget` may wait at the gate (through every ccxt call it makes). */
const budget = new AsyncLocalStorage<number>();

/** Runs `fn` so that every request it sends waits at most `maxWaitMs` at the gate, else is refused unsent. */
export function withGateBudget<T>(maxWaitMs: number, fn: () => Promise<T>): Promise<T> {
  return budget.run(maxWaitMs, fn);
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
  if (event.probe || state.kind === 'open') return { kind: 'open' };
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
  byCode?: Record<string, number>;
}

const RATE_LIMIT_CLASSES = new Set(['RateLimitExceeded', 'DDoSProtection']);

/** Is this failure the exchange refusing for rate (whatever class ccxt gave a bare 429 / 418)? (pure) */
export function isRateLimitRefusal(r: Refusal, resets?: RateLimitResets): boolean {
  if (r.httpStatus === 429 || r.httpStatus === 418) return true;
  if (r.httpStatus !== undefined && resets?.byStatus?.[r.httpStatus] !== undefined) return true;
  if (r.exchangeCode !== undefined && resets?.byCode?.[r.exchangeCode] !== undefined) return true;
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
  /** Told when the gate closes: how long, after how many refusals. */
  onClosed?: (waitMs: number, refusals: number) => void;
}

export class RateLimitGate {
  private state: GateState = { kind: 'open' };
  /** Settles when the probe's answer arrived. */
  private probeAnswered?: Promise<void>;

  constructor(private readonly opts: RateLimitGateOptions) {}

  /** Requests refused so far in a row (0: open). */
  get refusals(): number {
    return this.state.kind === 'open' ? 0 : this.state.refusals;
  }

  /**
   * Sends `request` when the gate lets it, and tells the gate what came back. Under `withGateBudget` it waits at
   * most that long, then throws RateLimitError without sending.
   */
  async send<T>(request: () => Promise<T>): Promise<T> {
    let probe = false;
    const maxWaitMs = budget.getStore();
    const deadline = maxWaitMs === undefined ? undefined : this.opts.clock.now() + maxWaitMs;
    for (;;) {
      const now = this.opts.clock.now();
      const decision = gateDecision(this.state, now);
      if (decision.kind === 'send') break;
      if (decision.kind === 'probe') {
        probe = true;
        break;
      }
      const waitMs = decision.kind === 'wait' ? decision.ms : undefined;
      if (deadline !== undefined && (now >= deadline || (waitMs !== undefined && now + waitMs > deadline))) {
        const left = this.state.kind === 'closed' ? Math.max(0, this.state.until - now) : undefined;
        throw new RateLimitError(
          `not sent: the exchange asked to wait${left === undefined ? ' (a request is probing)' : ` ${Math.ceil(left / 1000)} s more`} after a rate-limit refusal`,
          { gate: this.state.kind },
          { retryAfterMs: left },
        );
      }
      if (waitMs !== undefined) await this.opts.clock.sleep(waitMs, this.opts.signal);
      else await this.untilAborted(this.probeAnswered, deadline);
    }
    let answered!: () => void;
    if (probe) {
      this.state = gateProbing(this.state);
      this.probeAnswered = new Promise<void>((resolve) => (answered = resolve));
    }
    try {
      const result = await request();
      this.answer({ kind: 'answered', probe });
      return result;
    } catch (err) {
      const refusal = this.opts.refusal(err);
      if (refusal && isRateLimitRefusal(refusal, this.opts.resets)) {
        const waitMs = refusalWaitMs(
          refusal,
          this.refusals + 1,
          this.opts.resets,
          this.opts.random ?? Math.random,
        );
        this.answer({ kind: 'refused', waitMs, probe });
        if (this.state.kind === 'closed')
          this.opts.onClosed?.(this.state.until - this.opts.clock.now(), this.refusals);
      } else {
        this.answer({ kind: 'answered', probe });
      }
      throw err;
    } finally {
      if (probe) answered();
    }
  }

  private answer(event: GateEvent): void {
    this.state = gateAfter(this.state, event, this.opts.clock.now());
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
