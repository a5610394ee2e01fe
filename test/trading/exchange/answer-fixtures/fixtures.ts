/**
 * What one exchange brings to the documented-answers suite (../exchange-answers.test.ts): how to start its local
 * double and connect ccxt to it, how to serve one documented answer verbatim, its failed-create table, and its own
 * cases by group.
 */
import { expect } from 'chai';
import type { CcxtExchange, CcxtExchangeOptions } from '../../../../src/trading/exchange/ccxt-exchange';
import type { CreateOrderRequest } from '../../../../src/trading/exchange/exchange';
import type { LocalExchange } from '../../../../harness/exchanges/local-exchange';

/** A local exchange double as the suite drives it. */
export interface LocalDouble extends LocalExchange {
  clockSkewMs: number;
}

/** The suite as a case sees it: the double, the adapter on it, a fresh connection, one answer served verbatim. */
export interface AnswerSuite<F extends LocalDouble> {
  fake: F;
  ex: CcxtExchange;
  connect(overrides?: Partial<CcxtExchangeOptions>): Promise<CcxtExchange>;
  answer(route: string, body: unknown, status?: number): void;
}

export interface AnswerCase<F extends LocalDouble> {
  name: string;
  run(s: AnswerSuite<F>): Promise<void>;
}

/** A create answered with `body` (HTTP `status`): the error it must be, and whether the order may exist. */
export interface FailedCreate {
  what: string;
  status: number;
  body: unknown;
  expected: new (...args: never[]) => Error;
  outcome: 'refused' | 'unknown' | 'exists';
  /**
   * Whether the refusal is one of the symbol's trading rules (the profile's `marketRuleCodes`: the markets are due for
   * a reload, `context.marketRules`); absent: not checked.
   */
  marketRules?: boolean;
}

export interface AnswerFixtures<F extends LocalDouble> {
  /** The exchange's name as the suite's title says it. */
  title: string;
  start(): Promise<F>;
  /** ccxt id, credentials and profile of the adapter (the suite adds the double's URL, a 2 s timeout, no retry). */
  connection: Omit<CcxtExchangeOptions, 'apiUrl' | 'clock'>;
  /** Tickers read once before the cases. */
  tickers: string[];
  /** Serves `body` with HTTP `status` for the next request of `route`, in the double's own fault shape. */
  answer(fake: F, route: string, body: unknown, status: number): void;
  /** The exchange's cases by group, in order ('' for cases outside any group). */
  cases: Record<string, AnswerCase<F>[]>;
  /** The order each failed create sends. */
  failingOrder(): CreateOrderRequest;
  failedCreates: FailedCreate[];
}

export async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  expect.fail('expected the call to fail');
}

/** One documented answer served verbatim: route, body and HTTP status (200 by default). */
export type Served = [route: string, body: unknown, status?: number];

/** A case: after these answers, `call` gives a result that includes `fields` (and passes `more`, when given). */
export function answeredAs<F extends LocalDouble, R extends object>(
  name: string,
  served: Served[],
  call: (ex: CcxtExchange) => Promise<R>,
  fields: Partial<Record<keyof R, unknown>>,
  more?: (result: R, s: AnswerSuite<F>) => void,
): AnswerCase<F> {
  return {
    name,
    run: async (s) => {
      for (const [route, body, status] of served) s.answer(route, body, status);
      const result = await call(s.ex);
      expect(result).to.include(fields);
      more?.(result, s);
    },
  };
}

/** A case: after these answers, `call` fails with `expected`. */
export function failsAs<F extends LocalDouble>(
  name: string,
  served: Served[],
  call: (ex: CcxtExchange) => Promise<unknown>,
  expected: new (...args: never[]) => Error,
): AnswerCase<F> {
  return {
    name,
    run: async (s) => {
      for (const [route, body, status] of served) s.answer(route, body, status);
      expect(await caught(call(s.ex))).to.be.instanceOf(expected);
    },
  };
}
