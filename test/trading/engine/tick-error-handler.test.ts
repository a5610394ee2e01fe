import { expect } from 'chai';
import {
  AuthenticationError,
  NetworkError,
  OrderNotFoundError,
  PersistenceError,
} from '../../../src/shared/errors';
import { OnceLog } from '../../../src/trading/engine/log-once';
import { TickErrorHandler } from '../../../src/trading/engine/exchange-watch/tick-error-handler';
import type { PauseSource, PauseState } from '../../../src/trading/engine/state/trading-state';
import { captureLogger } from '../../support/capture-logger';

function handler(pauseFails = false) {
  const { logger, lines } = captureLogger();
  const failed: unknown[] = [];
  const pauses: Array<{ reason: string; by: PauseSource; clientOrderId?: string }> = [];
  const errors = new TickErrorHandler({
    logger,
    onceLog: new OnceLog(logger),
    health: {
      failed: (err) => {
        failed.push(err);
        return Promise.resolve();
      },
    },
    pauseEntries: (reason, by, _takeOver, clientOrderId) => {
      if (pauseFails) return Promise.reject(new PersistenceError('ENOSPC'));
      pauses.push({ reason, by, ...(clientOrderId ? { clientOrderId } : {}) });
      return Promise.resolve({ reason, by, at: 0 } as PauseState);
    },
  });
  return { errors, lines, failed, pauses };
}

describe('TickErrorHandler: the error policy carried out', () => {
  it('a temporary failure tells the exchange health and marks the tick, until the next tick begins', async () => {
    const { errors, failed } = handler();
    errors.beginTick();
    expect(errors.temporaryThisTick).to.equal(false);
    const err = new NetworkError('ECONNRESET');
    await errors.handle('BTC/USDT', err);
    expect(failed).to.deep.equal([err]);
    expect(errors.temporaryThisTick).to.equal(true);
    errors.beginTick();
    expect(errors.temporaryThisTick).to.equal(false);
  });

  it('the same failure repeated is logged once at its level', async () => {
    const { errors, lines } = handler();
    await errors.handle('BTC/USDT', new NetworkError('ECONNRESET'));
    await errors.handle('BTC/USDT', new NetworkError('ECONNRESET'));
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.message)).to.deep.equal([
      'Exchange call failed; retrying next tick',
    ]);
  });

  it('the same operational cause is logged once wherever it comes from, each still pausing; a new cause is logged', async () => {
    const { errors, lines, pauses } = handler();
    const refused = (): AuthenticationError => new AuthenticationError('bybit refuses the API key');
    await errors.handle('account', refused());
    await errors.handle('BTC/USDT', refused());
    await errors.handle('account', refused());
    await errors.handle('account', new AuthenticationError('okx refuses the API key'));
    expect(lines.filter((l) => l.level === 'error').map((l) => l.error)).to.deep.equal([
      'bybit refuses the API key',
      'okx refuses the API key',
    ]);
    expect(pauses.map((p) => p.reason)).to.deep.equal([
      'account: bybit refuses the API key',
      'BTC/USDT: bybit refuses the API key',
      'account: bybit refuses the API key',
      'account: okx refuses the API key',
    ]);
  });

  it('a failed save neither marks the exchange unreachable nor pauses', async () => {
    const { errors, failed, pauses } = handler();
    await errors.handle('archive', new PersistenceError('ENOSPC'));
    expect(failed).to.deep.equal([]);
    expect(pauses).to.deep.equal([]);
    expect(errors.temporaryThisTick).to.equal(false);
  });

  it('an order the exchange no longer shows pauses entries for that order', async () => {
    const { errors, pauses } = handler();
    await errors.handle('BTC/USDT', new OrderNotFoundError('gone', { clientOrderId: 'bn-1-7' }));
    expect(pauses).to.deep.equal([{ reason: 'BTC/USDT: gone', by: 'operational', clientOrderId: 'bn-1-7' }]);
  });

  it('a pause that cannot be saved is logged, never thrown out of the tick', async () => {
    const { errors, lines } = handler(true);
    await errors.handle('account', new OrderNotFoundError('gone'));
    expect(lines.map((l) => l.message)).to.include('Could not persist the pause');
  });

  it('a bug is thrown at once; one kept from work the tick no longer waits for is thrown at the next tick', async () => {
    const { errors } = handler();
    const bug = new TypeError('x is undefined');
    let thrown: unknown;
    await errors.handle('BTC/USDT', bug).catch((err: unknown) => (thrown = err));
    expect(thrown).to.equal(bug);
    errors.keep(bug);
    errors.keep(new Error('a later one'));
    expect(() => errors.beginTick()).to.throw(bug);
    expect(() => errors.throwIfFatal()).to.throw(bug);
  });
});
