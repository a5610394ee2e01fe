import { expect } from 'chai';
import fc from 'fast-check';
import { endpointLimiter } from '../../../src/trading/exchange/ccxt-exchange';
import {
  EndpointLimiter,
  WindowPastDeadline,
  windowWaitMs,
  type Answered,
  type Sent,
} from '../../../src/trading/exchange/endpoint-limiter';
import { bybitProfile } from '../../../src/trading/exchange/profiles/bybit';
import { FakeClock, flush } from '../../support/fake-clock';

const T0 = 1_000_000;

describe('endpoint limiter: each endpoint its count in any window, endpoints apart, counted until a window after the answer', () => {
  describe('windowWaitMs (pure)', () => {
    const budget = { windowMs: 1_100, weight: 50 };
    /** `n` requests of `weight` answered at T0, T0 + step, … */
    const answered = (n: number, weight: number, step = 0): Sent[] =>
      Array.from({ length: n }, (_, i) => ({ weight, answeredAt: T0 + i * step }));

    it('fits now while the window holds room for it', () => {
      expect(windowWaitMs([], T0, budget, 5)).to.equal(0);
      expect(windowWaitMs(answered(9, 5, 1), T0 + 10, budget, 5)).to.equal(0);
    });

    it('waits for the earliest answered to leave the window, a window after their answers, as many as it needs room', () => {
      const sent = answered(10, 5, 10);
      // full: the first one leaves at T0 + 1,100
      expect(windowWaitMs(sent, T0 + 200, budget, 5)).to.equal(900);
      // twice the room: the second one too
      expect(windowWaitMs(sent, T0 + 200, budget, 10)).to.equal(910);
      // answers older than the window do not count: the first one has left, the second leaves 10 ms later
      expect(windowWaitMs(sent, T0 + 1_100, budget, 5)).to.equal(0);
      expect(windowWaitMs(sent, T0 + 1_100, budget, 10)).to.equal(10);
    });

    it('a request on its way counts until its answer: with the window full of them only an answer makes room', () => {
      const onTheirWay: Sent[] = Array.from({ length: 10 }, () => ({ weight: 5 }));
      expect(windowWaitMs(onTheirWay, T0 + 60_000, budget, 5)).to.equal(Number.POSITIVE_INFINITY);
      // one answered late: a window from its answer, not from when it left
      onTheirWay[0].answeredAt = T0 + 60_000;
      expect(windowWaitMs(onTheirWay, T0 + 60_000, budget, 5)).to.equal(1_100);
    });

    it('costs in thirds add up to the count they stand for (OKX: 1/3 each, 60 per window)', () => {
      const third = { windowMs: 2_200, weight: 20 };
      const sent = answered(59, 1 / 3);
      expect(windowWaitMs(sent, T0, third, 1 / 3)).to.equal(0);
      expect(windowWaitMs([...sent, { weight: 1 / 3, answeredAt: T0 }], T0, third, 1 / 3)).to.equal(2_200);
    });

    it('a request heavier than the whole window goes alone, once the window is empty', () => {
      expect(windowWaitMs(answered(1, 1), T0 + 100, budget, 80)).to.equal(1_000);
      expect(windowWaitMs([], T0, budget, 80)).to.equal(0);
    });

    it('an answer dated after now (the clock set back since) counts as come now: one window at most', () => {
      expect(windowWaitMs(answered(10, 5), T0 - 3_600_000, budget, 5)).to.equal(1_100);
    });

    it("whatever each request's latency, the exchange never counts more than the budget in a window of arrivals", () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.record({
              gap: fc.integer({ min: 0, max: 400 }),
              cost: fc.constantFrom(1 / 3, 1 / 2, 1, 2, 5),
              // to the exchange, and from it back: a slow first burst and fast later ones included
              there: fc.integer({ min: 0, max: 3_000 }),
              back: fc.integer({ min: 0, max: 3_000 }),
            }),
            { maxLength: 60 },
          ),
          (requests) => {
            const out: { left: number; arrived: number; answered: number; weight: number }[] = [];
            let now = T0;
            for (const r of requests) {
              now += r.gap;
              // leaves at the first moment it fits, given the answers come by then
              for (;;) {
                const sent: Sent[] = out.map((o) => ({
                  weight: o.weight,
                  ...(o.answered <= now ? { answeredAt: o.answered } : {}),
                }));
                const wait = windowWaitMs(sent, now, budget, r.cost);
                if (wait <= 0) break;
                now = Number.isFinite(wait)
                  ? now + wait
                  : Math.min(...out.map((o) => o.answered).filter((a) => a > now));
              }
              out.push({
                left: now,
                arrived: now + r.there,
                answered: now + r.there + r.back,
                weight: r.cost,
              });
            }
            for (const o of out) {
              const arriving = out.filter(
                (x) => x.arrived >= o.arrived && x.arrived < o.arrived + budget.windowMs,
              );
              expect(arriving.reduce((sum, x) => sum + x.weight, 0)).to.be.at.most(budget.weight + 1e-9);
            }
          },
        ),
      );
    });
  });

  describe('EndpointLimiter (fake clock)', () => {
    let clock: FakeClock;
    let limiter: EndpointLimiter;
    let order: string[];
    /** A request that is answered as soon as it leaves, unless `held` keeps its answer for the test. */
    const take = (endpoint: string, weight = 5, held?: Answered[]): Promise<void> =>
      limiter.take(endpoint, weight).then((answered) => {
        order.push(endpoint);
        if (held) held.push(answered);
        else answered();
      });

    beforeEach(() => {
      clock = new FakeClock(T0);
      order = [];
      limiter = new EndpointLimiter({
        clock,
        perEndpoint: { windowMs: 1_100, weight: 50 },
        overall: { windowMs: 5_500, weight: 12 },
      });
    });

    it("an endpoint at its limit holds only its own requests: another endpoint's go at once", async () => {
      for (let i = 0; i < 11; i++) void take('GET private order/realtime');
      void take('GET private account/wallet-balance', 1);
      await flush();
      expect(order.filter((e) => e.includes('realtime'))).to.have.length(10);
      expect(order).to.include('GET private account/wallet-balance');
      await clock.advance(1_099);
      expect(order).to.have.length(11);
      await clock.advance(1);
      expect(order).to.have.length(12);
    });

    it('a window of slow answers holds the next request a window from the answers, not from when they left', async () => {
      const held: Answered[] = [];
      for (let i = 0; i < 11; i++) void take('GET private order/realtime', 5, held);
      await flush();
      expect(order).to.have.length(10);
      await clock.advance(1_500);
      expect(order, 'answers still on their way').to.have.length(10);
      for (const answered of held) answered();
      await clock.advance(1_099);
      expect(order).to.have.length(10);
      await clock.advance(1);
      expect(order).to.have.length(11);
    });

    it("each endpoint's requests leave in the order they came", async () => {
      const weights = [40, 20, 5, 5];
      const done: number[] = [];
      weights.forEach(
        (w, i) =>
          void limiter.take('GET public x', w).then((answered) => {
            done.push(i);
            answered();
          }),
      );
      await flush();
      expect(done).to.deep.equal([0]);
      await clock.advance(1_100);
      // the 20 goes first even though the 5s would have fitted beside it
      expect(done).to.deep.equal([0, 1, 2, 3]);
    });

    it('every request counts one towards the overall window, whatever its endpoint', async () => {
      for (let i = 0; i < 14; i++) void take(`GET private e${i}`, 1);
      await flush();
      expect(order).to.have.length(12);
      await clock.advance(5_500);
      expect(order).to.have.length(14);
    });

    it('a clock set back holds a request at most one window, not until the clock catches up', async () => {
      for (let i = 0; i < 10; i++) void take('GET private order/realtime');
      await flush();
      expect(order).to.have.length(10);
      // the host's clock stepped back an hour (NTP, a VM resumed): what was answered is now "in the future"
      clock.time = T0 - 3_600_000;
      void take('GET private order/realtime');
      await flush();
      await clock.advance(1_100);
      expect(order).to.have.length(11);
    });

    describe('with a deadline (a create sent within its budget or not at all)', () => {
      /** What became of a take with a deadline: 'left' at the clock time it left, or refused with how long it waited. */
      const outcome = (p: Promise<Answered>, hold = false): Promise<string> =>
        p.then(
          (answered) => {
            if (!hold) answered();
            return `left at +${clock.now() - T0}`;
          },
          (err: unknown) =>
            err instanceof WindowPastDeadline
              ? `refused at +${clock.now() - T0}${err.waitMs === undefined ? '' : ` (${err.waitMs} ms more)`}`
              : `failed: ${String(err)}`,
        );

      /** The create endpoint's window filled at T0 (two of half its weight: the overall count stays low). */
      const fill = (held?: Answered[]): void => {
        for (let i = 0; i < 2; i++) void take('POST private order/create', 25, held);
      };

      it('refused at once, unsent and uncounted, when its window has no room before the deadline', async () => {
        fill();
        await flush();
        await clock.advance(100);
        // the window is full until T0 + 1,100: 1,000 ms more, past a deadline 900 ms from now
        const late = outcome(limiter.take('POST private order/create', 5, clock.now() + 900));
        await flush();
        expect(await late).to.equal('refused at +100 (1000 ms more)');
        // it took no room: the next one leaves as soon as the window has some
        const next = outcome(limiter.take('POST private order/create', 5));
        await clock.advance(1_000);
        expect(await next).to.equal('left at +1100');
      });

      it('waits when its window has room in time, and leaves then, at its deadline too', async () => {
        fill();
        await flush();
        const inTime = outcome(limiter.take('POST private order/create', 5, T0 + 1_100));
        await clock.advance(1_100);
        expect(await inTime).to.equal('left at +1100');
      });

      it('with only answers on their way to make room, it waits for them if a window after one could still come in time', async () => {
        const held: Answered[] = [];
        fill(held);
        await flush();
        // the earliest it could leave is a window after an answer not yet come: 1,100 ms at least
        expect(await outcome(limiter.take('POST private order/create', 5, T0 + 1_000))).to.equal(
          'refused at +0 (1100 ms more)',
        );
        const patient = outcome(limiter.take('POST private order/create', 5, T0 + 3_000));
        await clock.advance(500);
        held.forEach((answered) => answered());
        // a window after those answers: +1,600, before its deadline
        await clock.advance(1_100);
        expect(await patient).to.equal('left at +1600');
      });

      it("queued behind its endpoint's earlier requests past the deadline: refused then, and gives its turn to the next", async () => {
        fill();
        await flush();
        // two ahead of it wait for the window (until +1,100); its deadline comes first
        const ahead = [0, 1].map(() => outcome(limiter.take('POST private order/create', 5)));
        const queued = outcome(limiter.take('POST private order/create', 5, T0 + 500));
        const after = outcome(limiter.take('POST private order/create', 5));
        await clock.advance(501);
        expect(await queued).to.equal('refused at +501');
        await clock.advance(599);
        expect(await Promise.all(ahead)).to.deep.equal(['left at +1100', 'left at +1100']);
        // the refused one took no room: the one after it leaves with them
        expect(await after).to.equal('left at +1100');
      });
    });

    it('a closed adapter ends the waits, for a window or for an answer', async () => {
      const closed = new AbortController();
      limiter = new EndpointLimiter({
        clock,
        perEndpoint: { windowMs: 1_100, weight: 5 },
        signal: closed.signal,
      });
      (await limiter.take('GET private x', 5))();
      // x waits for its window (the one before answered), z for an answer (the one before still on its way)
      await limiter.take('GET private z', 5);
      const forWindow = limiter.take('GET private x', 5);
      const forAnswer = limiter.take('GET private z', 5);
      closed.abort(new Error('closed'));
      await clock.advance(10);
      for (const waiting of [forWindow, forAnswer]) {
        let failed: unknown;
        await waiting.catch((err: unknown) => (failed = err));
        expect((failed as Error).message).to.equal('closed');
      }
    });
  });

  describe("Bybit's pacing as the adapter builds it (endpointLimiter, ccxt's rateLimit 20)", () => {
    it('600 requests per IP in 5 s kept with the same 10 % margin as each endpoint: the 601st waits 5.5 s', async () => {
      const clock = new FakeClock(T0);
      const limiter = endpointLimiter(bybitProfile.endpointWindows!, 20, clock);
      // every request to its own endpoint: only the overall window holds them
      const first = Array.from({ length: 600 }, (_, i) => limiter.take(`GET public e${i}`, 1));
      for (const answered of await Promise.all(first)) answered();
      let left = false;
      void limiter.take('GET public e600', 1).then(() => (left = true));
      await clock.advance(5_499, 100);
      expect(left, '601 requests within 5.5 s').to.equal(false);
      await clock.advance(1);
      expect(left).to.equal(true);
    });
  });
});
