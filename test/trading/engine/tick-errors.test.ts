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
  tickErrorAction,
  tickErrorHandling,
  waitableAtStart,
  type TickErrorHandling,
} from '../../../src/trading/engine/exchange-watch/tick-errors';

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

describe('tickErrorAction: what the loop says and does with an error from one place', () => {
  it('a temporary exchange failure is logged once per place as retried next tick', () => {
    const action = tickErrorAction('BTC/USDT', new NetworkError('ECONNRESET'));
    expect(action).to.deep.equal({
      handling: 'retry',
      log: {
        key: 'temp:BTC/USDT',
        level: 'warn',
        message: 'Exchange call failed; retrying next tick',
        fields: { where: 'BTC/USDT', error: 'ECONNRESET' },
      },
    });
  });

  it('a strategy failure skips the symbol, logged once under its own key', () => {
    const action = tickErrorAction('ETH/USDT', new StrategyError('indicator threw'));
    expect(action.handling).to.equal('skip-symbol');
    expect(action).to.have.nested.property('log.key', 'strategy:ETH/USDT');
  });

  it('a failed save holds new orders, logged at error level', () => {
    const action = tickErrorAction('archive', new PersistenceError('ENOSPC'));
    expect(action).to.deep.include({ handling: 'hold-orders' });
    expect(action).to.have.nested.property('log.level', 'error');
    expect(action).to.have.nested.property('log.key', 'persist:archive');
  });

  it("an operational error pauses entries with the place and the error's words, its context logged", () => {
    const action = tickErrorAction(
      'account',
      new AuthenticationError('invalid API key', { endpoint: 'balance' }),
    );
    expect(action).to.deep.equal({
      handling: 'pause-entries',
      reason: 'account: invalid API key',
      log: {
        key: 'pause:invalid API key',
        level: 'error',
        message: 'Operational error; entries paused',
        fields: { where: 'account', error: 'invalid API key', endpoint: 'balance' },
      },
    });
  });

  it('an order the exchange no longer shows names the order: its cause holds until it is settled', () => {
    const err = new OrderNotFoundError('gone', { clientOrderId: 'bn-1-7' });
    expect(tickErrorAction('BTC/USDT', err)).to.deep.include({
      handling: 'pause-entries',
      clientOrderId: 'bn-1-7',
    });
  });

  it('an operational error without an order id names none', () => {
    const action = tickErrorAction('account', new InsufficientFundsError('balance too low'));
    expect(action).to.not.have.property('clientOrderId');
  });

  it('anything else is fatal', () => {
    expect(tickErrorAction('BTC/USDT', new TypeError('x is undefined'))).to.deep.equal({ handling: 'fatal' });
  });
});
