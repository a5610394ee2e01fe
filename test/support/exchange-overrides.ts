/**
 * The one way tests step between the engine and an Exchange: `withOverrides` replaces some methods (a fault, a
 * lagging answer, a gate) and delegates the rest, bound to the exchange; `recordCalls` records every call made
 * through it, and which calls were still unanswered when each was sent.
 */
import type { CreateOrderRequest, Exchange } from '../../src/trading/exchange/exchange';

/** Replacements for some of an exchange's methods (the exchange's own are reached through the exchange itself). */
export type ExchangeOverrides = { [K in keyof Exchange]?: Exchange[K] };

/** `exchange` with `overrides` in place of its own methods; every other member delegates to it. */
export function withOverrides<E extends Exchange>(exchange: E, overrides: ExchangeOverrides): Exchange {
  return new Proxy(exchange, {
    get(target, prop, receiver) {
      const own = (overrides as Record<PropertyKey, unknown>)[prop];
      if (own !== undefined) return own;
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** One call made through a recorded exchange. */
export interface RecordedCall {
  method: string;
  args: unknown[];
  /** Its answer (or failure) has come back. */
  done: boolean;
  /** The calls made before it still unanswered when it was sent. */
  running: RecordedCall[];
}

/**
 * `exchange` with every method call recorded in `calls`, oldest first; `onSettled` hears each answer (or failure)
 * of a call that returns a promise as it comes back, before its caller does.
 */
export function recordCalls(
  exchange: Exchange,
  onSettled?: (call: RecordedCall) => void,
): { exchange: Exchange; calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  const proxy = new Proxy(exchange, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]): unknown => {
        const call: RecordedCall = {
          method: String(prop),
          args,
          done: false,
          running: calls.filter((c) => !c.done),
        };
        calls.push(call);
        const out = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (!(out instanceof Promise)) {
          call.done = true;
          return out;
        }
        return out.finally(() => {
          call.done = true;
          onSettled?.(call);
        });
      };
    },
  });
  return { exchange: proxy, calls };
}

/** The calls of `calls` to any of `methods`. */
export function callsTo(calls: readonly RecordedCall[], ...methods: Array<keyof Exchange>): RecordedCall[] {
  return calls.filter((c) => (methods as string[]).includes(c.method));
}

/** The symbol of a create (its request's), or of a cancel or order lookup (their second argument). */
export function symbolOf(call: RecordedCall): string {
  return call.method === 'createOrder'
    ? (call.args[0] as CreateOrderRequest).symbol
    : (call.args[1] as string);
}

/** The request of a create. */
export function requestOf(call: RecordedCall): CreateOrderRequest {
  return call.args[0] as CreateOrderRequest;
}
