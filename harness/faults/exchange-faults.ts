/**
 * Test-only fault injection around any Exchange, so fault, crash and chaos tests can exercise the engine's
 * UNKNOWN-order handling and its error policy without a network. Wired only by test code (the engine harness,
 * the test daemon in harness/daemons/): the shipped daemons contain none of it (a test checks their bundles).
 *
 * - `lose-response`  the call takes effect (an order is stored) but the caller gets a NetworkError;
 * - `network-before` NetworkError before anything happens;
 * - `unavailable`    ExchangeUnavailableError before anything happens.
 */
import { ConfigError, ExchangeUnavailableError, NetworkError } from '../../src/shared/errors';
import type { Exchange } from '../../src/trading/exchange/exchange';

export type ExchangeFaultKind = 'lose-response' | 'network-before' | 'unavailable';
export type ExchangeOperation =
  | 'createOrder'
  | 'cancelOrder'
  | 'fetchOrder'
  | 'fetchOrderByClientId'
  | 'fetchOpenOrders'
  | 'fetchRecentOrders'
  | 'fetchOrderTrades'
  | 'fetchBalance'
  | 'fetchTicker'
  | 'fetchCandles'
  | 'loadMarkets';

export interface ExchangeFaultOptions {
  /** Operations faults apply to; default `['createOrder']`. */
  operations?: ExchangeOperation[];
  /** Consumed first, one entry per call of a listed operation; `ok` lets a call through. */
  script?: Array<ExchangeFaultKind | 'ok'>;
  /** After the script: chance (0–1) that a call faults; default 0. */
  probability?: number;
  /** Kinds drawn when the probability fires; default all three. */
  kinds?: ExchangeFaultKind[];
  /** Seed of the draw, so a chaos run can be replayed; default 1. */
  seed?: number;
}

const ALL_KINDS: ExchangeFaultKind[] = ['lose-response', 'network-before', 'unavailable'];

export class ExchangeFaults {
  private readonly script: Array<ExchangeFaultKind | 'ok'>;
  private readonly operations: Set<string>;
  private state: number;
  /** Faults fired so far, for assertions. */
  readonly fired: Array<{ operation: ExchangeOperation; kind: ExchangeFaultKind }> = [];

  constructor(private readonly options: ExchangeFaultOptions = {}) {
    this.script = [...(options.script ?? [])];
    this.operations = new Set(options.operations ?? ['createOrder']);
    this.state = (options.seed ?? 1) >>> 0 || 1;
  }

  /** Whether calls of `operation` may fault (one of `options.operations`). */
  covers(operation: string): boolean {
    return this.operations.has(operation);
  }

  /** The fault for this call of `operation`, if any. */
  next(operation: string): ExchangeFaultKind | undefined {
    if (!this.covers(operation)) return undefined;
    let kind: ExchangeFaultKind | undefined;
    const scripted = this.script.shift();
    if (scripted !== undefined) {
      kind = scripted === 'ok' ? undefined : scripted;
    } else if ((this.options.probability ?? 0) > 0 && this.random() < (this.options.probability ?? 0)) {
      const kinds = this.options.kinds?.length ? this.options.kinds : ALL_KINDS;
      kind = kinds[Math.floor(this.random() * kinds.length)];
    }
    if (kind) this.fired.push({ operation: operation as ExchangeOperation, kind });
    return kind;
  }

  /** Adds scripted faults at run time (tests). */
  push(...kinds: Array<ExchangeFaultKind | 'ok'>): void {
    this.script.push(...kinds);
  }

  /** xorshift32: a tiny seeded PRNG, enough for fault draws. */
  private random(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state / 2 ** 32;
  }
}

/** `exchange` with `faults` injected into its calls. */
export function withFaults(exchange: Exchange, faults: ExchangeFaults): Exchange {
  return new Proxy(exchange, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      const operation = String(prop);
      // only the calls faults may hit are wrapped (each then async): the rest as they are — a synchronous one made
      // async answered a promise (the exchange's clock offset: NaN times, a start refused "Invalid time value")
      if (typeof value !== 'function') return value;
      if (!faults.covers(operation)) return (value as (...a: unknown[]) => unknown).bind(target);
      return async (...args: unknown[]) => {
        const fault = faults.next(operation);
        if (fault === 'network-before')
          throw new NetworkError('injected network failure before the request', { operation });
        if (fault === 'unavailable')
          throw new ExchangeUnavailableError('injected exchange unavailable', { operation });
        const result: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        if (fault === 'lose-response')
          throw new NetworkError('injected network failure: request done, response lost', { operation });
        return result;
      };
    },
  });
}

/** Fault options from env `BYNINJA_PAPER_FAULTS` (JSON of ExchangeFaultOptions); undefined when unset. */
export function exchangeFaultsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): ExchangeFaultOptions | undefined {
  const raw = env.BYNINJA_PAPER_FAULTS;
  if (!raw) return undefined;
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as ExchangeFaultOptions;
  } catch (err) {
    throw new ConfigError([
      {
        field: 'BYNINJA_PAPER_FAULTS',
        value: raw.slice(0, 80),
        message: `must be a JSON object of exchange fault options (${err instanceof Error ? err.message : String(err)})`,
      },
    ]);
  }
}
