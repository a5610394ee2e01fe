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

  it('lets an alert go at once after an ordinary message, within the burst', () => {
    const th = new SendThrottle({ perChatIntervalMs: 1000, globalPerSecond: 25, perChatBurst: 3 });
    th.record('a', t0);
    // an ordinary message keeps one interval apart; a crash alert does not wait behind it
    expect(th.nextAllowedAt('a', t0 + 10)).to.equal(t0 + 1000);
    expect(th.nextAllowedAt('a', t0 + 10, true)).to.equal(t0 + 10);
  });

  it('never lets alerts exceed the burst, then one per interval (the average stays one per interval)', () => {
    const th = new SendThrottle({ perChatIntervalMs: 1000, globalPerSecond: 25, perChatBurst: 3 });
    th.record('a', t0);
    th.record('a', t0 + 10);
    th.record('a', t0 + 20);
    // the bucket is empty: the 4th alert waits for the token that comes back one interval after the first send
    expect(th.nextAllowedAt('a', t0 + 30, true)).to.equal(t0 + 1000);
    th.record('a', t0 + 1000);
    expect(th.nextAllowedAt('a', t0 + 1000, true)).to.equal(t0 + 2000);
    expect(th.nextAllowedAt('b', t0 + 30, true)).to.equal(t0 + 30);
  });

  it('steady ordinary traffic at one per interval leaves the burst to alerts', () => {
    const th = new SendThrottle({ perChatIntervalMs: 1000, globalPerSecond: 25, perChatBurst: 3 });
    for (let i = 0; i < 10; i++) {
      expect(th.nextAllowedAt('a', t0 + i * 1000)).to.equal(t0 + i * 1000);
      th.record('a', t0 + i * 1000);
    }
    expect(th.nextAllowedAt('a', t0 + 9_010, true)).to.equal(t0 + 9_010);
    th.record('a', t0 + 9_010);
    expect(th.nextAllowedAt('a', t0 + 9_020, true)).to.equal(t0 + 9_020);
  });

  it('with a burst of 1 holds alerts to one per interval too', () => {
    const th = new SendThrottle({ perChatIntervalMs: 1000, globalPerSecond: 25, perChatBurst: 1 });
    th.record('a', t0);
    expect(th.nextAllowedAt('a', t0 + 10, true)).to.equal(t0 + 1000);
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
