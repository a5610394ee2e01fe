/**
 * The exchange-wide rate-limit gate: its decision (pure, every state and event), how long a refusal closes it
 * (Retry-After, the profile's documented time, else the one backoff), and the shell with a fake clock — many
 * waiting requests, one probe, the rest after its answer.
 */
import { expect } from 'chai';
import {
  RateLimitGate,
  gateAfter,
  gateDecision,
  gateProbing,
  isRateLimitRefusal,
  refusalWaitMs,
  type GateState,
  type Refusal,
} from '../../../src/trading/exchange/rate-limit-gate';
import { binanceProfile } from '../../../src/trading/exchange/profiles/binance';
import { bybitProfile } from '../../../src/trading/exchange/profiles/bybit';
import { FakeClock, FAKE_CLOCK_START } from '../../support/fake-clock';

const T = 1_000_000;
const open: GateState = { kind: 'open' };

describe('rate-limit gate decision (pure)', () => {
  it('lets every request out while open', () => {
    expect(gateDecision(open, T)).to.deep.equal({ kind: 'send' });
  });

  it('holds every request until the wait asked for, then one probes and the rest wait for its answer', () => {
    const closed = gateAfter(open, { kind: 'refused', waitMs: 2_000, probe: false }, T);
    expect(closed).to.deep.equal({ kind: 'closed', until: T + 2_000, refusals: 1 });
    expect(gateDecision(closed, T + 500)).to.deep.equal({ kind: 'wait', ms: 1_500 });
    expect(gateDecision(closed, T + 2_000)).to.deep.equal({ kind: 'probe' });
    const probing = gateProbing(closed);
    expect(gateDecision(probing, T + 2_001)).to.deep.equal({ kind: 'await-probe' });
    // the probe's answer opens it...
    expect(gateAfter(probing, { kind: 'answered', probe: true }, T + 2_050)).to.deep.equal(open);
    // ...or its refusal closes it again, one refusal more
    expect(gateAfter(probing, { kind: 'refused', waitMs: 120_000, probe: true }, T + 2_050)).to.deep.equal({
      kind: 'closed',
      until: T + 122_050,
      refusals: 2,
    });
  });

  it('takes answers to requests sent before it closed as no sign the limit is over, and never shortens a wait', () => {
    const closed: GateState = { kind: 'closed', until: T + 120_000, refusals: 1 };
    expect(gateAfter(closed, { kind: 'answered', probe: false }, T + 10)).to.equal(closed);
    // a 429 with a shorter Retry-After arriving after a 418 ban: the ban stands
    expect(gateAfter(closed, { kind: 'refused', waitMs: 1_000, probe: false }, T + 10)).to.deep.equal(closed);
    expect(gateAfter(closed, { kind: 'refused', waitMs: 200_000, probe: false }, T + 10)).to.deep.equal({
      kind: 'closed',
      until: T + 200_010,
      refusals: 1,
    });
    // a late refusal while the probe is out closes it; the probe's own answer decides after
    const probing = gateProbing(closed);
    const again = gateAfter(probing, { kind: 'refused', waitMs: 1_000, probe: false }, T + 5);
    expect(again).to.deep.equal({ kind: 'closed', until: T + 1_005, refusals: 1 });
    expect(gateAfter(again, { kind: 'answered', probe: true }, T + 6)).to.deep.equal(open);
  });
});

describe('what a refusal is, and how long it closes the gate (pure)', () => {
  const none = (): number => 0;

  it("knows each profile's rate-limit answers, whatever class ccxt gave them", () => {
    const refusals: Array<[Refusal, boolean]> = [
      [{ httpStatus: 429, name: 'RateLimitExceeded' }, true],
      [{ httpStatus: 418, name: 'DDoSProtection' }, true],
      // OKX: a bare 429 is ccxt's ExchangeNotAvailable
      [{ httpStatus: 429, name: 'ExchangeNotAvailable' }, true],
      // Bybit 10006 (HTTP 200), OKX 50011, Kraken EAPI:Rate limit exceeded
      [{ httpStatus: 200, name: 'RateLimitExceeded', exchangeCode: '10006' }, true],
      [{ httpStatus: 200, name: 'RateLimitExceeded' }, true],
      [{ name: 'DDoSProtection' }, true],
      [{ httpStatus: 500, name: 'ExchangeNotAvailable' }, false],
      [{ httpStatus: 400, name: 'InvalidOrder' }, false],
      [{ name: 'NetworkError' }, false],
    ];
    for (const [r, is] of refusals) expect(isRateLimitRefusal(r), JSON.stringify(r)).to.equal(is);
    // Bybit's HTTP 403 is its IP ban (ccxt: RateLimitExceeded as well); by status alone, from the profile
    expect(isRateLimitRefusal({ httpStatus: 403 }, bybitProfile.rateLimitResets)).to.equal(true);
    expect(isRateLimitRefusal({ httpStatus: 403 }, binanceProfile.rateLimitResets)).to.equal(false);
  });

  it("waits the Retry-After first, else the profile's documented time, else the one backoff", () => {
    expect(
      refusalWaitMs({ httpStatus: 418, retryAfterMs: 300_000 }, 1, binanceProfile.rateLimitResets, none),
    ).to.equal(300_000);
    expect(refusalWaitMs({ httpStatus: 418 }, 1, binanceProfile.rateLimitResets, none)).to.equal(120_000);
    expect(refusalWaitMs({ httpStatus: 403 }, 1, bybitProfile.rateLimitResets, none)).to.equal(600_000);
    expect(
      refusalWaitMs({ httpStatus: 200, exchangeCode: '10006' }, 1, bybitProfile.rateLimitResets, none),
    ).to.equal(1_000);
    // retry.ts's backoff (equal jitter, random 0: half the step): 2 s steps doubling, at most 2 min
    expect(refusalWaitMs({ name: 'DDoSProtection' }, 1, undefined, none)).to.equal(1_000);
    expect(refusalWaitMs({ name: 'DDoSProtection' }, 3, undefined, none)).to.equal(4_000);
    expect(refusalWaitMs({ name: 'DDoSProtection' }, 30, undefined, () => 0.999_999)).to.equal(120_000);
  });
});

describe('RateLimitGate (fake clock)', () => {
  const refused = Object.assign(new Error('429'), { httpStatus: 429, retryAfterMs: 2_000 });
  const refusal = (err: unknown): Refusal | undefined =>
    err === refused ? { httpStatus: 429, retryAfterMs: 2_000 } : undefined;

  async function settle(): Promise<void> {
    for (let i = 0; i < 20; i++) await Promise.resolve();
  }

  it('after a refusal sends nothing until Retry-After, then one probe, then the others once it answered', async () => {
    const clock = new FakeClock();
    const gate = new RateLimitGate({ clock, refusal });
    const sent: number[] = [];
    let answerProbe!: () => void;
    const request = (i: number, answer: 'refuse' | 'ok' | 'hold') => (): Promise<number> => {
      sent.push(i);
      if (answer === 'refuse') return Promise.reject(refused);
      if (answer === 'hold') return new Promise((resolve) => (answerProbe = () => resolve(i)));
      return Promise.resolve(i);
    };
    await gate.send(request(0, 'refuse')).catch(() => undefined);
    const waiting = [1, 2, 3, 4].map((i) => gate.send(request(i, i === 1 ? 'hold' : 'ok')));
    await settle();
    expect(sent).to.deep.equal([0]);
    await clock.advance(1_999);
    await settle();
    expect(sent).to.deep.equal([0]);
    await clock.advance(1);
    await settle();
    // one probe, the others wait for its answer
    expect(sent).to.deep.equal([0, 1]);
    await clock.advance(10_000);
    await settle();
    expect(sent).to.deep.equal([0, 1]);
    answerProbe();
    expect(await Promise.all(waiting)).to.deep.equal([1, 2, 3, 4]);
    expect(sent).to.deep.equal([0, 1, 2, 3, 4]);
    expect(clock.now()).to.equal(FAKE_CLOCK_START + 12_000);
  });

  it('ends its waits when the adapter closes', async () => {
    const clock = new FakeClock();
    const closed = new AbortController();
    const gate = new RateLimitGate({ clock, refusal, signal: closed.signal });
    await gate.send(() => Promise.reject(refused)).catch(() => undefined);
    const waiting = gate.send(() => Promise.resolve(1));
    closed.abort(new Error('closed'));
    await waiting.then(
      () => expect.fail('sent after close'),
      (err: Error) => expect(err.message).to.equal('closed'),
    );
  });
});
