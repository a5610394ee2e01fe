/**
 * Test-only fault injection for the paper exchange, so fault and crash tests can exercise the engine's
 * UNKNOWN-order handling without a network. Inactive unless the PaperExchange is given a `faults` option,
 * which the factory only does when test hooks are on (config `app.testHooks`, env BYNINJA_TEST_HOOKS=1).
 *
 * - `lose-response`  the call takes effect (an order is stored durably) but the caller gets a NetworkError;
 * - `network-before` NetworkError before anything happens;
 * - `unavailable`    ExchangeUnavailableError before anything happens.
 */
import { ConfigError } from '../../shared/errors';

export type PaperFaultKind = 'lose-response' | 'network-before' | 'unavailable';
export type PaperOperation =
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

export interface PaperFaultOptions {
  /** Operations faults apply to; default `['createOrder']`. */
  operations?: PaperOperation[];
  /** Consumed first, one entry per call of a listed operation; `ok` lets a call through. */
  script?: Array<PaperFaultKind | 'ok'>;
  /** After the script: chance (0–1) that a call faults; default 0. */
  probability?: number;
  /** Kinds drawn when the probability fires; default all three. */
  kinds?: PaperFaultKind[];
  /** Seed of the draw, so a chaos run can be replayed; default 1. */
  seed?: number;
}

const ALL_KINDS: PaperFaultKind[] = ['lose-response', 'network-before', 'unavailable'];

export class PaperFaults {
  private readonly script: Array<PaperFaultKind | 'ok'>;
  private readonly operations: Set<PaperOperation>;
  private state: number;
  /** Faults fired so far, for assertions. */
  readonly fired: Array<{ operation: PaperOperation; kind: PaperFaultKind }> = [];

  constructor(private readonly options: PaperFaultOptions = {}) {
    this.script = [...(options.script ?? [])];
    this.operations = new Set(options.operations ?? ['createOrder']);
    this.state = (options.seed ?? 1) >>> 0 || 1;
  }

  /** The fault for this call of `operation`, if any. */
  next(operation: PaperOperation): PaperFaultKind | undefined {
    if (!this.operations.has(operation)) return undefined;
    let kind: PaperFaultKind | undefined;
    const scripted = this.script.shift();
    if (scripted !== undefined) {
      kind = scripted === 'ok' ? undefined : scripted;
    } else if ((this.options.probability ?? 0) > 0 && this.random() < (this.options.probability ?? 0)) {
      const kinds = this.options.kinds?.length ? this.options.kinds : ALL_KINDS;
      kind = kinds[Math.floor(this.random() * kinds.length)];
    }
    if (kind) this.fired.push({ operation, kind });
    return kind;
  }

  /** Adds scripted faults at run time (tests). */
  push(...kinds: Array<PaperFaultKind | 'ok'>): void {
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

/** Reads fault options from env `BYNINJA_PAPER_FAULTS` (JSON of PaperFaultOptions); undefined when unset. */
export function paperFaultsFromEnv(env: NodeJS.ProcessEnv = process.env): PaperFaultOptions | undefined {
  const raw = env.BYNINJA_PAPER_FAULTS;
  if (!raw) return undefined;
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as PaperFaultOptions;
  } catch (err) {
    throw new ConfigError([
      {
        field: 'BYNINJA_PAPER_FAULTS',
        value: raw.slice(0, 80),
        message: `must be a JSON object of paper fault options (${err instanceof Error ? err.message : String(err)})`,
      },
    ]);
  }
}
