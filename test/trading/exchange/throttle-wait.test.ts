import { expect } from 'chai';
import { throttleWaitMs } from '../../../src/trading/exchange/throttle-wait';

describe("throttleWaitMs: how long ccxt's leaky bucket holds a request sent now (pure)", () => {
  // 1 token every 50 ms
  const refillRate = 1 / 50;

  it('none while the tokens cover what is queued before it (the bucket lets a request out at zero or more)', () => {
    expect(throttleWaitMs({ tokens: 10, refillRate, queued: [] })).to.equal(0);
    expect(throttleWaitMs({ tokens: 10, refillRate, queued: [4, 6] })).to.equal(0);
    expect(throttleWaitMs({ tokens: 0, refillRate, queued: [] })).to.equal(0);
  });

  it('the refill of what the queued costs take beyond the tokens', () => {
    expect(throttleWaitMs({ tokens: 10, refillRate, queued: [8, 8] })).to.equal(6 * 50);
    // tokens already below zero (the last request took more than there were): that debt first
    expect(throttleWaitMs({ tokens: -4, refillRate, queued: [] })).to.equal(4 * 50);
  });

  it('forever without a refill', () => {
    expect(throttleWaitMs({ tokens: 0, refillRate: 0, queued: [1] })).to.equal(Number.POSITIVE_INFINITY);
  });
});
