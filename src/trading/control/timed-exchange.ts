/**
 * The Exchange port measured: every call's duration and outcome go to `observe` (the metrics module), nothing
 * else changes — same answers, same errors, same `this`. A decorator, so the adapters stay unaware of metrics.
 */
import type { Exchange } from '../exchange/exchange';

export type ExchangeCallOutcome = 'ok' | 'error';

export type ObserveExchangeCall = (method: string, outcome: ExchangeCallOutcome, seconds: number) => void;

/** Calls that do not reach the exchange: not measured. */
const LOCAL = new Set([
  'close',
  'constructor',
  'keptMarkets',
  'refusedLately',
  'rateLimitedUntil',
  'onClockSkew',
  'clockOffsetMs',
]);

export function timedExchange(exchange: Exchange, observe: ObserveExchangeCall): Exchange {
  return new Proxy(exchange, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string' || LOCAL.has(prop)) return value;
      return function measured(this: unknown, ...args: unknown[]): unknown {
        const started = process.hrtime.bigint();
        const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (!(result instanceof Promise)) return result;
        return result.then(
          (answer: unknown) => {
            observe(prop, 'ok', seconds());
            return answer;
          },
          (err: unknown) => {
            observe(prop, 'error', seconds());
            throw err;
          },
        );
      };
    },
  });
}

/**
 * The exchange calls made before the metrics exist (recovery's, the metrics start just after `ready`): held and
 * replayed into the registry once it is there, so /metrics counts every call of the run. Bounded: a start that
 * retries for hours keeps its first calls only (the rest are logged as retries anyway).
 */
export class HeldObservations {
  static readonly MAX = 10_000;
  private held: [string, ExchangeCallOutcome, number][] = [];

  readonly hold: ObserveExchangeCall = (method, outcome, seconds) => {
    if (this.held.length < HeldObservations.MAX) this.held.push([method, outcome, seconds]);
  };

  replay(observe: ObserveExchangeCall): void {
    const held = this.held;
    this.held = [];
    for (const [method, outcome, seconds] of held) observe(method, outcome, seconds);
  }
}
