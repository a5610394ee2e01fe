import { expect } from 'chai';
import fc from 'fast-check';
import {
  InvalidOrderError,
  NetworkError,
  OperationalError,
  RateLimitError,
  TemporaryError,
} from '../../src/shared/errors';
import { retry, retryDelayMs } from '../../src/shared/retry';
import { FakeClock } from '../support/fake-clock';

function failing(errors: unknown[], result = 'ok'): { fn: () => Promise<string>; calls: () => number } {
  let n = 0;
  return {
    fn: async () => {
      const e = errors[n++];
      if (e !== undefined) throw e;
      return result;
    },
    calls: () => n,
  };
}

describe('retry', () => {
  it('returns the first success without waiting', async () => {
    const clock = new FakeClock(0, { sleep: 'advances' });
    const f = failing([]);
    expect(await retry(f.fn, { clock })).to.equal('ok');
    expect(f.calls()).to.equal(1);
    expect(clock.sleeps).to.deep.equal([]);
  });

  it('retries temporary errors with growing delays until success', async () => {
    const clock = new FakeClock(0, { sleep: 'advances' });
    const f = failing([new NetworkError('reset'), new NetworkError('reset'), new NetworkError('reset')]);
    const result = await retry(f.fn, { clock, baseDelayMs: 100, random: () => 1, maxAttempts: 5 });
    expect(result).to.equal('ok');
    expect(f.calls()).to.equal(4);
    expect(clock.sleeps).to.deep.equal([100, 200, 400]);
  });

  it('never retries non-temporary errors', async () => {
    for (const err of [
      new OperationalError('bad key'),
      new InvalidOrderError('min notional'),
      new Error('bug'),
    ]) {
      const clock = new FakeClock(0, { sleep: 'advances' });
      const f = failing([err]);
      const thrown = await retry(f.fn, { clock }).catch((e: unknown) => e);
      expect(thrown).to.equal(err);
      expect(f.calls()).to.equal(1);
      expect(clock.sleeps).to.deep.equal([]);
    }
  });

  it('gives up after maxAttempts and throws the last error', async () => {
    const clock = new FakeClock(0, { sleep: 'advances' });
    const errors = [1, 2, 3, 4].map((i) => new TemporaryError(`t${i}`));
    const f = failing(errors);
    const thrown = await retry(f.fn, { clock, maxAttempts: 3 }).catch((e: unknown) => e);
    expect(thrown).to.equal(errors[2]);
    expect(f.calls()).to.equal(3);
    expect(clock.sleeps).to.have.length(2);
  });

  it('waits at least retryAfterMs when the other side asks for it', async () => {
    const clock = new FakeClock(0, { sleep: 'advances' });
    const f = failing([new RateLimitError('429', {}, { retryAfterMs: 7_000 })]);
    await retry(f.fn, { clock, baseDelayMs: 100, random: () => 0 });
    expect(clock.sleeps).to.deep.equal([7_000]);
  });

  it('caps every wait, retryAfterMs included, at maxDelayMs', async () => {
    const clock = new FakeClock(0, { sleep: 'advances' });
    const f = failing([
      new RateLimitError('429', {}, { retryAfterMs: 600_000 }),
      new NetworkError('x'),
      new NetworkError('x'),
    ]);
    await retry(f.fn, { clock, baseDelayMs: 4_000, factor: 10, maxDelayMs: 5_000, random: () => 1 });
    expect(clock.sleeps).to.deep.equal([5_000, 5_000, 5_000]);
  });

  it('with maxRetryAfterMs, waits retryAfterMs out in full past maxDelayMs, backoffs still capped', async () => {
    const clock = new FakeClock(0, { sleep: 'advances' });
    const f = failing([new RateLimitError('429', {}, { retryAfterMs: 40_000 }), new NetworkError('x')]);
    await retry(f.fn, {
      clock,
      baseDelayMs: 4_000,
      factor: 10,
      maxDelayMs: 15_000,
      maxRetryAfterMs: 120_000,
      random: () => 1,
    });
    expect(clock.sleeps).to.deep.equal([40_000, 15_000]);
  });

  it('with maxRetryAfterMs, a retryAfterMs beyond it is not waited: the error is thrown at once', async () => {
    const clock = new FakeClock(0, { sleep: 'advances' });
    const flood = new RateLimitError('429', {}, { retryAfterMs: 600_000 });
    const f = failing([flood]);
    const thrown = await retry(f.fn, { clock, maxDelayMs: 15_000, maxRetryAfterMs: 120_000 }).catch(
      (e: unknown) => e,
    );
    expect(thrown).to.equal(flood);
    expect(f.calls()).to.equal(1);
    expect(clock.sleeps).to.deep.equal([]);
  });

  it('stops at once when the signal is already aborted', async () => {
    const ac = new AbortController();
    ac.abort(new Error('stopping'));
    const f = failing([]);
    const thrown = await retry(f.fn, {
      clock: new FakeClock(0, { sleep: 'advances' }),
      signal: ac.signal,
    }).catch((e: unknown) => e);
    expect((thrown as Error).message).to.equal('stopping');
    expect(f.calls()).to.equal(0);
  });

  it('an abort during a backoff wait ends the wait with the abort reason and no further attempt', async () => {
    const ac = new AbortController();
    const clock = new FakeClock(0); // its sleeps wait for an advance() that never comes
    const f = failing([new NetworkError('down'), new NetworkError('down')]);
    const pending = retry(f.fn, { clock, signal: ac.signal }).catch((e: unknown) => e);
    while (clock.pendingTimers === 0) await new Promise((r) => setImmediate(r));
    ac.abort(new Error('shutdown'));
    const thrown = await pending;
    expect((thrown as Error).message).to.equal('shutdown');
    expect(f.calls()).to.equal(1);
  });

  it('shouldRetry can veto retrying a temporary error', async () => {
    const clock = new FakeClock(0, { sleep: 'advances' });
    const err = new NetworkError('create timed out: outcome unknown');
    const f = failing([err]);
    const thrown = await retry(f.fn, { clock, shouldRetry: () => false }).catch((e: unknown) => e);
    expect(thrown).to.equal(err);
    expect(f.calls()).to.equal(1);
  });

  it('reports each retry with attempt, error and delay', async () => {
    const seen: Array<{ attempt: number; delayMs: number }> = [];
    const f = failing([new NetworkError('a'), new NetworkError('b')]);
    await retry(f.fn, {
      clock: new FakeClock(0, { sleep: 'advances' }),
      baseDelayMs: 10,
      random: () => 1,
      onRetry: (i) => seen.push(i),
    });
    expect(seen.map((s) => [s.attempt, s.delayMs])).to.deep.equal([
      [1, 10],
      [2, 20],
    ]);
  });

  it('delay always lies within [step/2, maxDelay] and honours retryAfterMs up to the cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 120_000 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        fc.option(fc.integer({ min: 0, max: 300_000 }), { nil: undefined }),
        (attempt, base, maxDelay, r, retryAfter) => {
          const d = retryDelayMs(attempt, {
            baseDelayMs: base,
            maxDelayMs: maxDelay,
            factor: 2,
            random: () => r,
            retryAfterMs: retryAfter,
          });
          const step = Math.min(maxDelay, base * 2 ** (attempt - 1));
          expect(d).to.be.at.most(maxDelay);
          expect(d).to.be.at.least(Math.min(maxDelay, Math.floor(step / 2)));
          if (retryAfter !== undefined) expect(d).to.be.at.least(Math.min(retryAfter, maxDelay));
        },
      ),
    );
  });
});
