/** Pure: what the API key's own limits mean to the operator, and when they are looked at again (key-limits.ts). */
import { expect } from 'chai';
import type { ApiKeyLimits } from '../../../src/trading/exchange/exchange';
import {
  freshNotices,
  judgeKeyLimits,
  keyNoticeText,
  nextKeyCheckInMs,
  storedReadTrusted,
  type KeyNotices,
} from '../../../src/trading/engine/exchange-watch/key-limits';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 11, 4);
const KEY = 'key:0123456789abcdef';
const TRADES: ApiKeyLimits = { spotTrade: true, withdraw: false, ipBound: false };
const ending = (at: number): ApiKeyLimits => ({ ...TRADES, expiresAt: at, expiryField: 'Bybit expiredAt' });

/** Judges `limits` at each time in turn, carrying what was told; the notices of each look. */
function looks(limits: (now: number) => ApiKeyLimits | undefined, times: number[], told?: KeyNotices) {
  const out: string[][] = [];
  let kept = told;
  for (const now of times) {
    const j = judgeKeyLimits(limits(now), kept, KEY, now);
    kept = j.told;
    out.push(j.notices.map((n) => (n.kind === 'expires' ? `expires:${n.days}` : n.kind)));
  }
  return { out, told: kept };
}

describe('API key limits (pure)', () => {
  it('tells an end 14, 3 and 1 day(s) ahead, each once, then once that it passed', () => {
    const end = T0 + 20 * DAY;
    const times = [0, 6, 6.5, 7, 10, 16.9, 17, 18, 19, 19.5, 20, 21].map((d) => T0 + d * DAY);
    const { out } = looks(() => ending(end), times);
    expect(out).to.deep.equal([
      [],
      ['expires:14'],
      [],
      [],
      [],
      [],
      ['expires:3'],
      [],
      ['expires:1'],
      [],
      ['expired'],
      [],
    ]);
  });

  it('an end first seen 2 days ahead: one notice (the 3-day one), the 14-day one counted as told', () => {
    const end = T0 + 2 * DAY;
    const { out, told } = looks(() => ending(end), [T0, T0 + 0.5 * DAY, T0 + DAY + 1]);
    expect(out).to.deep.equal([['expires:3'], [], ['expires:1']]);
    expect(told?.expiryToldDays).to.deep.equal([14, 3, 1]);
  });

  it('what was told is not told again after a restart (the kept notices given back)', () => {
    const end = T0 + 10 * DAY;
    const first = judgeKeyLimits(ending(end), undefined, KEY, T0);
    expect(first.notices.map((n) => n.kind)).to.deep.equal(['expires']);
    const again = judgeKeyLimits(ending(end), first.told, KEY, T0 + 1000);
    expect(again.notices).to.deep.equal([]);
  });

  it("another key's notices do not count: a new key is told afresh", () => {
    const told = judgeKeyLimits({ ...TRADES, withdraw: true }, undefined, KEY, T0).told;
    const other = judgeKeyLimits({ ...TRADES, withdraw: true }, told, 'key:fedcba9876543210', T0);
    expect(other.notices.map((n) => n.kind)).to.deep.equal(['withdrawals']);
  });

  it('a renewed key (a new end, or none) starts the count again', () => {
    const told = looks(() => ending(T0 + 2 * DAY), [T0]).told;
    const later = judgeKeyLimits(ending(T0 + 12 * DAY), told, KEY, T0 + DAY);
    expect(later.notices.map((n) => (n.kind === 'expires' ? n.days : n.kind))).to.deep.equal([14]);
    const bound = judgeKeyLimits(TRADES, later.told, KEY, T0 + DAY);
    expect(bound.told.expiresAt).to.equal(undefined);
    expect(bound.told.expiryToldDays).to.deep.equal([]);
  });

  it('a read that failed judges by the end last known: past it, "expired" once', () => {
    const told = looks(() => ending(T0 + DAY / 2), [T0]).told;
    const failed = judgeKeyLimits(undefined, told, KEY, T0 + DAY);
    expect(failed.expired).to.equal(true);
    expect(failed.notices.map((n) => n.kind)).to.deep.equal(['expired']);
    expect(judgeKeyLimits(undefined, failed.told, KEY, T0 + 2 * DAY).notices).to.deep.equal([]);
  });

  it('withdrawals: one warning per key; told again only after they were turned off and on', () => {
    const { out } = looks(
      (now) => ({ ...TRADES, withdraw: now !== T0 + 2 }),
      [T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4],
    );
    expect(out).to.deep.equal([['withdrawals'], [], [], ['withdrawals'], []]);
  });

  it('a key that cannot trade spot: said (and told once); unknown is not "cannot"', () => {
    const j = judgeKeyLimits({ ...TRADES, spotTrade: false }, undefined, KEY, T0);
    expect(j.cannotTrade).to.equal(true);
    expect(j.notices.map((n) => n.kind)).to.deep.equal(['cannot-trade']);
    expect(judgeKeyLimits({ ...TRADES, spotTrade: false }, j.told, KEY, T0 + 1).notices).to.deep.equal([]);
    expect(judgeKeyLimits({ ...TRADES, spotTrade: undefined }, undefined, KEY, T0).cannotTrade).to.equal(
      false,
    );
    expect(judgeKeyLimits(undefined, undefined, KEY, T0).cannotTrade).to.equal(false);
  });

  it('looks again in a day, or at the next notice day or the end when sooner (never under a minute)', () => {
    const none = freshNotices(KEY);
    expect(nextKeyCheckInMs(none, T0)).to.equal(DAY);
    const end = T0 + 14 * DAY + 3_600_000;
    expect(nextKeyCheckInMs({ ...none, expiresAt: end }, T0)).to.equal(3_600_000);
    const told14 = { ...none, expiresAt: end, expiryToldDays: [14] };
    expect(nextKeyCheckInMs(told14, T0 + 10 * DAY + 3_600_000)).to.equal(DAY);
    expect(nextKeyCheckInMs(told14, T0 + 11 * DAY + 3_600_000 - 5_000)).to.equal(60_000);
    const allTold = { ...none, expiresAt: end, expiryToldDays: [14, 3, 1] };
    expect(nextKeyCheckInMs(allTold, end - 3_600_000)).to.equal(3_600_000);
    expect(nextKeyCheckInMs(allTold, end + 1)).to.equal(DAY);
  });

  it('a start goes on on the kept read only when it is this key, under a day old, said "can trade" and the end has not passed', () => {
    const read = judgeKeyLimits(TRADES, undefined, KEY, T0).told;
    expect(read).to.include({ readAt: T0, spotTrade: true });
    expect(storedReadTrusted(read, KEY, T0 + DAY - 1)).to.equal(true);
    // a first start, another key, a day old, a clock set back before the read
    expect(storedReadTrusted(undefined, KEY, T0)).to.equal(false);
    expect(storedReadTrusted(read, 'key:fedcba9876543210', T0 + 1)).to.equal(false);
    expect(storedReadTrusted(read, KEY, T0 + DAY)).to.equal(false);
    expect(storedReadTrusted(read, KEY, T0 - 1)).to.equal(false);
    // a read that said it cannot trade, or did not say
    const cannot = judgeKeyLimits({ ...TRADES, spotTrade: false }, undefined, KEY, T0).told;
    expect(storedReadTrusted(cannot, KEY, T0 + 1)).to.equal(false);
    const unknown = judgeKeyLimits({ ...TRADES, spotTrade: undefined }, undefined, KEY, T0).told;
    expect(storedReadTrusted(unknown, KEY, T0 + 1)).to.equal(false);
    // a file from before reads were kept
    expect(storedReadTrusted(freshNotices(KEY), KEY, T0)).to.equal(false);
    // its end: before it, trusted; at it, not
    const ends = judgeKeyLimits(ending(T0 + 3_600_000), undefined, KEY, T0).told;
    expect(storedReadTrusted(ends, KEY, T0 + 3_599_999)).to.equal(true);
    expect(storedReadTrusted(ends, KEY, T0 + 3_600_000)).to.equal(false);
    // a failed read keeps the last answer's time: it does not make the kept read newer
    expect(judgeKeyLimits(undefined, read, KEY, T0 + DAY).told.readAt).to.equal(T0);
  });

  it("the operator's text names the exchange's field and the date, never more", () => {
    const text = keyNoticeText(
      { kind: 'expires', days: 3, expiresAt: T0, field: 'Binance tradingAuthorityExpirationTime' },
      'binance',
    );
    expect(text).to.include('2026-12-04T00:00:00.000Z');
    expect(text).to.include('Binance tradingAuthorityExpirationTime');
    expect(text).to.include('within 3 days');
    expect(keyNoticeText({ kind: 'expired', expiresAt: T0, field: 'Bybit expiredAt' }, 'bybit')).to.include(
      'trading stopped',
    );
  });
});
