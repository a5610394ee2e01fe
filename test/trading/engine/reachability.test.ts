import { expect } from 'chai';
import {
  REACHABLE,
  afterFailure,
  afterSuccess,
  rateLimitNotice,
} from '../../../src/trading/engine/exchange-watch/reachability';

const T0 = 1_700_000_000_000;
const ALERT_AFTER = 60_000;

describe('reachability: one alert per exchange outage, one when it ends (pure)', () => {
  it('a first failure starts the outage without alerting', () => {
    const { next, alert } = afterFailure(REACHABLE, T0, 'ECONNRESET', ALERT_AFTER);
    expect(alert).to.equal(false);
    expect(next).to.deep.equal({ since: T0, alerted: false, lastError: 'ECONNRESET' });
  });

  it('alerts once the outage has lasted alertAfterMs, and only once', () => {
    let r = afterFailure(REACHABLE, T0, 'a', ALERT_AFTER).next;
    const before = afterFailure(r, T0 + ALERT_AFTER - 1, 'b', ALERT_AFTER);
    expect(before.alert).to.equal(false);
    const at = afterFailure(before.next, T0 + ALERT_AFTER, 'c', ALERT_AFTER);
    expect(at.alert).to.equal(true);
    expect(at.next).to.deep.equal({ since: T0, alerted: true, lastError: 'c' });
    r = at.next;
    expect(afterFailure(r, T0 + 10 * ALERT_AFTER, 'd', ALERT_AFTER).alert).to.equal(false);
  });

  it('an answer after an alerted outage reports how long it lasted', () => {
    const down = afterFailure(
      afterFailure(REACHABLE, T0, 'a', ALERT_AFTER).next,
      T0 + ALERT_AFTER,
      'b',
      ALERT_AFTER,
    ).next;
    expect(afterSuccess(down, T0 + 90_000)).to.deep.equal({ next: REACHABLE, recovered: 90_000 });
  });

  it('an answer after a short outage (never alerted) reports nothing, and forgets it', () => {
    const down = afterFailure(REACHABLE, T0, 'a', ALERT_AFTER).next;
    expect(afterSuccess(down, T0 + 5_000)).to.deep.equal({ next: REACHABLE, recovered: null });
  });

  it('an answer while reachable changes nothing', () => {
    expect(afterSuccess(REACHABLE, T0)).to.deep.equal({ next: REACHABLE, recovered: null });
  });
});

describe('rateLimitNotice: what /health and /status say while the rate limit holds (pure)', () => {
  it('says nothing without a limit', () => {
    expect(rateLimitNotice(undefined, T0)).to.equal(undefined);
  });

  it('says until when, and the seconds left rounded up', () => {
    expect(rateLimitNotice(T0 + 1_500, T0)).to.equal(
      `refused for rate: no request before ${new Date(T0 + 1_500).toISOString()} (2 s), waiting instead of sending into the ban`,
    );
  });

  it('never counts below zero seconds once the end has passed', () => {
    expect(rateLimitNotice(T0 - 5_000, T0)).to.contain('(0 s)');
  });
});
