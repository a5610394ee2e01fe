import { expect } from 'chai';
import {
  AuthenticationError,
  CorruptStateError,
  ExchangeUnavailableError,
  InsufficientFundsError,
  InvalidOrderError,
  NetworkError,
  OrderNotFoundError,
  PersistenceError,
  RateLimitError,
  StrategyError,
} from '../../../src/shared/errors';
import {
  tickErrorHandling,
  waitableAtStart,
  type TickErrorHandling,
} from '../../../src/trading/engine/tick-errors';

const TABLE: Array<[Error, TickErrorHandling, boolean]> = [
  // error, what a tick does with it, whether a start step waits it out
  [new NetworkError('ECONNRESET'), 'retry', true],
  [new RateLimitError('429'), 'retry', true],
  [new ExchangeUnavailableError('503'), 'retry', true],
  [new InvalidOrderError('bad request on a read'), 'retry', true],
  [new StrategyError('indicator threw'), 'skip-symbol', false],
  [new PersistenceError('ENOSPC'), 'hold-orders', false],
  [new AuthenticationError('invalid API key'), 'pause-entries', true],
  [new InsufficientFundsError('balance too low'), 'pause-entries', true],
  [new OrderNotFoundError('the exchange does not know it'), 'pause-entries', false],
  [new CorruptStateError('a bug or a broken file'), 'fatal', false],
  [new TypeError('undefined is not a function'), 'fatal', false],
];

describe('tickErrorHandling: what a tick does with an error, by its class', () => {
  for (const [err, handling, waitable] of TABLE) {
    it(`${err.constructor.name} → ${handling}${waitable ? ', waited out at start' : ''}`, () => {
      expect(tickErrorHandling(err)).to.equal(handling);
      expect(waitableAtStart(err)).to.equal(waitable);
    });
  }

  it('a thrown non-Error is a bug: fatal', () => {
    expect(tickErrorHandling('string thrown')).to.equal('fatal');
    expect(tickErrorHandling(undefined)).to.equal('fatal');
  });
});
