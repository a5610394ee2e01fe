/**
 * The exchange-wide rate-limit gate: its decision (pure, every state and event), how long a refusal closes it
 * (Retry-After, the profile's documented time, else the one backoff), and the shell with a fake clock — many
 * waiting requests, one probe, the rest after its answer.
 */
import { expect } from 'chai';
import {
  RateLimitGate,
  assertStillAdmitted,
  budgetDeadline,
  pacedPastBudget,
  withGateBudget,
  gateAfter,
  gateDecision,
  gateProbing,
  isRateLimitRefusal,
  laneOf,
  lanesOf,
  refusalScope,
  refusalWaitMs,
  type GateState,
  type Refusal,
} from '../../../src/trading/exchange/rate-limit-gate';
import { binanceProfile } from '../../../src/trading/exchange/profiles/binance';
import { bybitProfile } from '../../../src/trading/exchange/profiles/bybit';
import { okxProfile } from '../../../src/trading/exchange/profiles/okx';
import { FakeClock, FAKE_CLOCK_START } from '../../support/fake-clock';
import { RateLimitError } from '../../../src/shared/errors';

/**
 * The tests' clock, which fails a test that makes the gate spin: the gate reads the clock at each look at its lanes,
 * and a request that waits for an answer already given (a probe's hand-on lost) would loop on resolved promises —
 * which no timer, mocha's timeout included, can interrupt. A test's run reads it a few hundred times.
 */
class GateClock extends FakeClock {
  private reads = 0;
  override now(): number {
    if (++this.reads > 100_000) throw new Error('the gate read the clock 100,000 times: it spins');
    return super.now();
  }
}

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
    // a late refusal while the probe is out closes it again, and its wait stands: the probe's answer, come after it,
    // does not end it (a 418's ban arriving late would otherwise be cut short by a probe the exchange took before it)
    const probing = gateProbing(closed);
    expect(gateAfter(probing, { kind: 'answered', probe: true }, T + 5)).to.deep.equal(open);
    const again = gateAfter(probing, { kind: 'refused', waitMs: 1_000, probe: false }, T + 5);
    expect(again).to.deep.equal({ kind: 'closed', until: T + 1_005, refusals: 1 });
    expect(gateAfter(again, { kind: 'answered', probe: true }, T + 6)).to.equal(again);
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
    // Binance's HTTP 403 is its WAF limit violated: a refusal for rate too, whatever class ccxt gave it
    expect(isRateLimitRefusal({ httpStatus: 403 }, binanceProfile.rateLimitResets)).to.equal(true);
    expect(isRateLimitRefusal({ httpStatus: 403 }, okxProfile.rateLimitResets)).to.equal(false);
  });

  it("waits the Retry-After first, else the profile's documented time, else the one backoff", () => {
    expect(
      refusalWaitMs({ httpStatus: 418, retryAfterMs: 300_000 }, 1, binanceProfile.rateLimitResets, none),
    ).to.equal(300_000);
    expect(refusalWaitMs({ httpStatus: 418 }, 1, binanceProfile.rateLimitResets, none)).to.equal(120_000);
    expect(refusalWaitMs({ httpStatus: 403 }, 1, bybitProfile.rateLimitResets, none)).to.equal(600_000);
    // Binance documents no wait for its WAF 403: the one backoff, longer after each refused probe
    expect(refusalWaitMs({ httpStatus: 403 }, 1, binanceProfile.rateLimitResets, () => 1)).to.equal(2_000);
    expect(refusalWaitMs({ httpStatus: 403 }, 3, binanceProfile.rateLimitResets, () => 1)).to.equal(8_000);
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
    const clock = new GateClock();
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

  it("holds a request that passed it open but still waits in the client's own throttle when a refusal closes it: back to the gate, never sent into the wait", async () => {
    const clock = new GateClock();
    const gate = new RateLimitGate({ clock, refusal });
    const sent: number[] = [];
    let release!: () => void;
    const throttled = new Promise<void>((resolve) => (release = resolve));
    // as ccxt's fetch2 runs a request: its own throttle first (Bybit's and OKX's space requests by their cost), then
    // the signing and the send, where the adapter asks the gate again (ccxt-exchange.ts gateRequests)
    const request =
      (i: number, answer: 'refuse' | 'ok', throttle?: Promise<void>) => async (): Promise<number> => {
        if (throttle) await throttle;
        assertStillAdmitted();
        sent.push(i);
        if (answer === 'refuse') throw refused;
        return i;
      };
    const first = gate.send(request(0, 'refuse'));
    // passed while the gate was open, still in the client's throttle when the first one's refusal comes back
    const queued = [1, 2].map((i) => gate.send(request(i, 'ok', throttled)));
    expect(await first.catch((err: unknown) => err)).to.equal(refused);
    release();
    await settle();
    expect(sent).to.deep.equal([0]);
    expect(gate.refusals).to.equal(1);
    await clock.advance(1_999);
    await settle();
    expect(sent).to.deep.equal([0]);
    // the wait over: one probe, the other after its answer
    await clock.advance(1);
    expect(await Promise.all(queued)).to.deep.equal([1, 2]);
    expect(sent).to.deep.equal([0, 1, 2]);
    expect(gate.refusals).to.equal(0);
  });

  it('a probe held so leaves its lane to the next probe: no request waits for the answer of one never sent', async () => {
    const clock = new GateClock();
    const busy = new Error('10006');
    const gate = new RateLimitGate({
      clock,
      refusal: (err) =>
        err === refused
          ? { httpStatus: 429, retryAfterMs: 2_000 }
          : err === busy
            ? { exchangeCode: '10006' }
            : undefined,
      // Bybit: 10006 is one endpoint's limit, 1 s
      resets: { byCode: { '10006': 1_000 }, scopeByCode: { '10006': 'endpoint' } },
    });
    const sent: string[] = [];
    let release!: () => void;
    const throttled = new Promise<void>((resolve) => (release = resolve));
    const request =
      (name: string, answer: 'refuse' | 'busy' | 'ok', throttle?: Promise<void>) =>
      async (): Promise<string> => {
        if (throttle) await throttle;
        assertStillAdmitted();
        sent.push(name);
        if (answer === 'refuse') throw refused;
        if (answer === 'busy') throw busy;
        return name;
      };
    await gate.send(request('e0', 'busy'), 'GET e').catch(() => undefined);
    await clock.advance(1_000);
    // the endpoint's wait is over: this one probes it, but waits in the client's throttle...
    const probe = gate.send(request('e1', 'ok', throttled), 'GET e');
    await settle();
    // ...while another endpoint's request is refused for the IP: the whole gate closes
    await gate.send(request('f0', 'refuse'), 'GET f').catch(() => undefined);
    release();
    await settle();
    const next = gate.send(request('e2', 'ok'), 'GET e');
    await settle();
    expect(sent).to.deep.equal(['e0', 'f0']);
    await clock.advance(2_000);
    expect(await Promise.all([probe, next])).to.deep.equal(['e1', 'e2']);
    expect(sent).to.have.members(['e0', 'f0', 'e1', 'e2']);
  });

  it('never holds a new order through a ban: a create that would wait longer than its budget is refused unsent', async () => {
    const clock = new GateClock();
    const banned = Object.assign(new Error('403'), { httpStatus: 403 });
    const gate = new RateLimitGate({
      clock,
      refusal: (err) => (err === banned ? { httpStatus: 403 } : undefined),
      resets: { byStatus: { 403: 600_000 } }, // Bybit: an IP ban of 10 minutes
    });
    await gate.send(() => Promise.reject(banned)).catch(() => undefined);
    let sent = 0;
    const create = (): Promise<string> =>
      withGateBudget(1_000, () => gate.send(async () => (sent++, 'order')));
    const refusedAt = await create().then(
      () => expect.fail('a create left during the ban'),
      (err: unknown) => err,
    );
    expect(refusedAt).to.be.instanceOf(RateLimitError);
    expect((refusedAt as RateLimitError).retryAfterMs).to.equal(600_000);
    expect((refusedAt as Error).message).to.match(/not sent/);
    // a read waits the ban out and is then the probe; the refused create is never sent later
    const read = gate.send(async () => 'read');
    await clock.advance(600_000);
    expect(await read).to.equal('read');
    await settle();
    expect(sent).to.equal(0);
    // open again: a create goes at once
    expect(await create()).to.equal('order');
    expect(sent).to.equal(1);
  });

  it("waits for the probe's answer at most its budget, then refuses unsent; a short wait (Bybit's second) it waits out", async () => {
    const clock = new GateClock();
    const gate = new RateLimitGate({ clock, refusal });
    await gate.send(() => Promise.reject(refused)).catch(() => undefined);
    let answerProbe!: () => void;
    const probe = gate.send(() => new Promise<string>((resolve) => (answerProbe = () => resolve('probe'))));
    await clock.advance(2_000);
    await settle();
    let sent = 0;
    const create = withGateBudget(1_000, () => gate.send(async () => (sent++, 'order')));
    const outcome = create.then(
      () => 'sent',
      (err: unknown) => (err instanceof RateLimitError ? 'refused' : 'other'),
    );
    await clock.advance(1_000);
    await settle();
    expect(await outcome).to.equal('refused');
    answerProbe();
    expect(await probe).to.equal('probe');
    expect(sent).to.equal(0);
    // closed for 500 ms: within a 1 s budget the create waits and goes
    const quick = new RateLimitGate({
      clock,
      refusal: (err) => (err === refused ? { httpStatus: 429, retryAfterMs: 500 } : undefined),
    });
    await quick.send(() => Promise.reject(refused)).catch(() => undefined);
    const later = withGateBudget(1_000, () => quick.send(async () => 'order'));
    await clock.advance(500);
    expect(await later).to.equal('order');
  });

  it("bounds the pacing's wait by the budget too: a create the client's throttle held past it is refused as it would leave, unsent", async () => {
    const clock = new GateClock();
    const gate = new RateLimitGate({ clock, refusal });
    const sent: string[] = [];
    // as ccxt's fetch2 runs a request on Binance: its own throttle first, then the send, where the adapter asks again
    const request = (name: string, throttleMs: number) => async (): Promise<string> => {
      await clock.sleep(throttleMs);
      assertStillAdmitted();
      sent.push(name);
      return name;
    };
    const held = withGateBudget(1_000, () => gate.send(request('held', 1_500)), { placesOrder: true });
    const inTime = withGateBudget(1_000, () => gate.send(request('in time', 1_000)), { placesOrder: true });
    // a read has no budget: it waits as long as the pacing holds it
    const read = gate.send(request('read', 1_500));
    const heldOutcome = held.catch((e: unknown) => e);
    await settle();
    await clock.advance(1_500);
    const err = await heldOutcome;
    expect(err).to.be.instanceOf(RateLimitError);
    expect((err as Error).message).to.match(
      /not sent: the exchange's request pacing would hold it past its 1000 ms/,
    );
    expect(await inTime).to.equal('in time');
    expect(await read).to.equal('read');
    expect(sent).to.deep.equal(['in time', 'read']);
  });

  it('the pacing refuses a create it cannot let out within its budget at once, given the deadline (budgetDeadline, pacedPastBudget)', async () => {
    const clock = new GateClock();
    const gate = new RateLimitGate({ clock, refusal });
    const deadlines: Array<number | undefined> = [];
    const create = withGateBudget(
      1_000,
      () =>
        gate.send(async () => {
          deadlines.push(budgetDeadline());
          // the endpoint limiter's answer: its window has no room for 1,400 ms more
          throw pacedPastBudget(1_400);
        }),
      { placesOrder: true },
    );
    const err = await create.catch((e: unknown) => e);
    expect(deadlines).to.deep.equal([FAKE_CLOCK_START + 1_000]);
    expect(err).to.be.instanceOf(RateLimitError);
    expect((err as RateLimitError).retryAfterMs).to.equal(1_400);
    // as the gate's own refusals: the order manager marks the order never sent (nothing to look up later)
    expect((err as RateLimitError).context.gate).to.equal('pacing');
    // nothing was refused by the exchange: the gate stays open, and a read outside a budget has no deadline
    expect(gate.refusals).to.equal(0);
    expect(await gate.send(async () => budgetDeadline())).to.equal(undefined);
  });

  it('a probe the pacing held past its budget leaves its lane to the next probe at once', async () => {
    const clock = new GateClock();
    const gate = new RateLimitGate({ clock, refusal });
    await gate.send(() => Promise.reject(refused)).catch(() => undefined);
    await clock.advance(2_000);
    // the wait is over: the create probes, but the pacing would hold it past its budget
    const create = withGateBudget(1_000, () => gate.send(() => Promise.reject(pacedPastBudget())), {
      placesOrder: true,
    });
    expect(await create.catch((e: unknown) => e)).to.be.instanceOf(RateLimitError);
    // never sent, so no answer to wait for: the next request probes at once
    expect(await gate.send(async () => 'read')).to.equal('read');
  });

  /**
   * B leaves while the gate is open and its answer comes late (`failB` refuses it with `err`); then a 429 closes the
   * gate and its 2 s pass: the next request probes.
   */
  async function lateAnswerAcrossAClosing(
    gate: RateLimitGate,
    clock: FakeClock,
    sent: string[],
    err: Error,
  ): Promise<{ b: Promise<string>; failB: () => void }> {
    let failB!: () => void;
    const b = gate.send(() => {
      sent.push('b');
      return new Promise<string>((_, reject) => (failB = () => reject(err)));
    });
    await gate.send(() => Promise.reject(refused)).catch(() => undefined);
    await clock.advance(2_000);
    return { b, failB };
  }

  it('a request held after its lane was refused again and is probed by another leaves that probe alone: never two probes out', async () => {
    const clock = new GateClock();
    const gate = new RateLimitGate({ clock, refusal });
    const sent: string[] = [];
    const { b, failB: refuseB } = await lateAnswerAcrossAClosing(gate, clock, sent, refused);
    // A probes the reopened gate, but waits in the client's throttle...
    let releaseA!: () => void;
    const throttleA = new Promise<void>((resolve) => (releaseA = resolve));
    const a = gate.send(async () => {
      await throttleA;
      assertStillAdmitted();
      sent.push('a');
      return 'a';
    });
    await settle();
    // ...when B's refusal closes it again; once that wait is over, C probes and is out
    refuseB();
    expect(await b.catch((err: unknown) => err)).to.equal(refused);
    await clock.advance(2_000);
    let answerC!: (v: string) => void;
    const c = gate.send(() => {
      sent.push('c');
      return new Promise<string>((resolve) => (answerC = resolve));
    });
    await settle();
    expect(sent).to.deep.equal(['b', 'c']);
    // A leaves its throttle: held (the gate closed since it passed), it waits for C's answer, not probing beside it
    releaseA();
    await settle();
    expect(sent).to.deep.equal(['b', 'c']);
    answerC('c');
    expect(await Promise.all([c, a])).to.deep.equal(['c', 'a']);
    expect(sent).to.deep.equal(['b', 'c', 'a']);
  });

  it("a probe's success after a late ban does not lift the ban: the next request waits it out (review39b)", async () => {
    const clock = new GateClock();
    const banned = Object.assign(new Error('418'), { httpStatus: 418, retryAfterMs: 120_000 });
    const gate = new RateLimitGate({
      clock,
      refusal: (err) =>
        err === refused
          ? { httpStatus: 429, retryAfterMs: 2_000 }
          : err === banned
            ? { httpStatus: 418, retryAfterMs: 120_000 }
            : undefined,
    });
    const sent: string[] = [];
    const { b, failB: banB } = await lateAnswerAcrossAClosing(gate, clock, sent, banned);
    // A probes; before its answer, B's 418 comes back: banned for 2 minutes
    let answerA!: (v: string) => void;
    const a = gate.send(() => {
      sent.push('a');
      return new Promise<string>((resolve) => (answerA = resolve));
    });
    await settle();
    banB();
    expect(await b.catch((err: unknown) => err)).to.equal(banned);
    answerA('a');
    expect(await a).to.equal('a');
    // the ban stands: D waits it out, then probes
    const d = gate.send(async () => (sent.push('d'), 'd'));
    await clock.advance(119_000);
    expect(sent).to.deep.equal(['b', 'a']);
    await clock.advance(1_000);
    expect(await d).to.equal('d');
    expect(sent).to.deep.equal(['b', 'a', 'd']);
  });

  it('ends its waits when the adapter closes', async () => {
    const clock = new GateClock();
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

describe('what a rate-limit refusal closes: what its limit covers (pure, and the shell)', () => {
  const binance = binanceProfile.rateLimitResets;
  it("reads each profile's documented scope: Binance -1015 new orders, Bybit 10006 and OKX 50011 one endpoint, the rest everything", () => {
    expect(refusalScope({ httpStatus: 429, exchangeCode: '-1015' }, binance)).to.equal('orders');
    expect(refusalScope({ httpStatus: 429, exchangeCode: '-1003' }, binance)).to.equal('all');
    expect(refusalScope({ httpStatus: 418 }, binance)).to.equal('all');
    expect(refusalScope({ exchangeCode: '10006' }, bybitProfile.rateLimitResets)).to.equal('endpoint');
    expect(refusalScope({ httpStatus: 403 }, bybitProfile.rateLimitResets)).to.equal('all');
    expect(refusalScope({ httpStatus: 429, exchangeCode: '50011' }, okxProfile.rateLimitResets)).to.equal(
      'endpoint',
    );
    expect(refusalScope({ httpStatus: 429, exchangeCode: '50013' }, okxProfile.rateLimitResets)).to.equal(
      'all',
    );
    // a -1015 is a rate-limit refusal whatever class ccxt gave it
    expect(isRateLimitRefusal({ exchangeCode: '-1015' }, binance)).to.equal(true);
  });

  it('puts a create on the orders lane, every request on everything and its endpoint', () => {
    expect(lanesOf('POST private order', true)).to.deep.equal([
      'all',
      'endpoint POST private order',
      'orders',
    ]);
    expect(lanesOf('DELETE private order', false)).to.deep.equal(['all', 'endpoint DELETE private order']);
    expect(laneOf('orders', 'POST private order', true)).to.equal('orders');
    expect(laneOf('endpoint', 'POST private order', true)).to.equal('endpoint POST private order');
    expect(laneOf('all', 'GET private account', false)).to.equal('all');
  });

  it('after a per-endpoint refusal only that endpoint waits; another goes at once', async () => {
    const clock = new GateClock();
    const limited = Object.assign(new Error('10006'), { exchangeCode: '10006' });
    const gate = new RateLimitGate({
      clock,
      refusal: (err) => (err === limited ? { exchangeCode: '10006' } : undefined),
      resets: bybitProfile.rateLimitResets,
    });
    await gate.send(() => Promise.reject(limited), 'GET private v5/order/realtime').catch(() => undefined);
    expect(await gate.send(async () => 'cancel', 'POST private v5/order/cancel')).to.equal('cancel');
    expect(gate.closedUntil()).to.equal(undefined);
    let sent = 0;
    const again = gate.send(async () => (sent++, 'read'), 'GET private v5/order/realtime');
    for (let i = 0; i < 20; i++) await Promise.resolve();
    expect(sent).to.equal(0);
    await clock.advance(1_000);
    expect(await again).to.equal('read');
  });
});
