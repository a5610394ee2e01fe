import { expect } from 'chai';
import { SendThrottle } from '../../../src/telegram/notify/send-throttle';

describe('SendThrottle', () => {
  const t0 = 1_000_000;

  it('allows one message per chat per interval', () => {
    const th = new SendThrottle({ perChatIntervalMs: 1000, globalPerSecond: 25 });
    expect(th.nextAllowedAt('a', t0)).to.equal(t0);
    th.record('a', t0);
    expect(th.nextAllowedAt('a', t0 + 10)).to.equal(t0 + 1000);
    expect(th.nextAllowedAt('b', t0 + 10)).to.equal(t0 + 10);
    expect(th.nextAllowedAt('a', t0 + 1500)).to.equal(t0 + 1500);
  });

  it('caps messages across chats to the global per-second limit', () => {
    const th = new SendThrottle({ perChatIntervalMs: 1000, globalPerSecond: 3 });
    th.record('a', t0);
    th.record('b', t0 + 100);
    th.record('c', t0 + 200);
    // the 4th message waits until the first leaves the 1-second window
    expect(th.nextAllowedAt('d', t0 + 300)).to.equal(t0 + 1000);
    expect(th.nextAllowedAt('d', t0 + 1001)).to.equal(t0 + 1001);
  });

  it('holds every chat while paused (retry_after / backoff)', () => {
    const th = new SendThrottle({ perChatIntervalMs: 1000, globalPerSecond: 25 });
    th.pause(t0 + 5000);
    expect(th.nextAllowedAt('a', t0)).to.equal(t0 + 5000);
    th.pause(t0 + 1000); // a shorter pause never shortens a longer one
    expect(th.nextAllowedAt('z', t0)).to.equal(t0 + 5000);
  });
});
