import { expect } from 'chai';
import fc from 'fast-check';
import { endpointLimiter } from '../../../src/trading/exchange/ccxt-exchange';
import { EndpointLimiter, windowWaitMs, type Sent } from '../../../src/trading/exchange/endpoint-limiter';
import { bybitProfile } from '../../../src/trading/exchange/profiles/bybit';
import { FakeClock, flush } from '../../support/fake-clock';

const T0 = 1_000_000;

describe('endpoint limiter: each endpoint its documented count in any window, endpoints apart', () => {
  describe('windowWaitMs (pure)', () => {
    const budget = { windowMs: 1_100, weight: 50 };

    it('fits now while the window holds room for it', () => {
      expect(windowWaitMs([], T0, budget, 5)).to.equal(0);
      const sent = Array.from({ length: 9 }, (_, i) => ({ at: T0 + i, weight: 5 }));
      expect(windowWaitMs(sent, T0 + 10, budget, 5)).to.equal(0);
    });

    it('waits for the oldest requests to leave the window, as many as it needs room', () => {
      const sent = Array.from({ length: 10 }, (_, i) => ({ at: T0 + i * 10, weight: 5 }));
      // full: the first one leaves at T0 + 1,100
      expect(windowWaitMs(sent, T0 + 200, budget, 5)).to.equal(900);
      // twice the room: the second one too
      expect(windowWaitMs(sent, T0 + 200, budget, 10)).to.equal(910);
      // requests older than the window do not count: the first one has left, the second leaves 10 ms later
      expect(windowWaitMs(sent, T0 + 1_100, budget, 5)).to.equal(0);
      expect(windowWaitMs(sent, T0 + 1_100, budget, 10)).to.equal(10);
    });

    it('costs in thirds add up to the count they stand for (OKX: 1/3 each, 60 per window)', () => {
      const third = { windowMs: 2_200, weight: 20 };
      const sent = Array.from({ length: 59 }, () => ({ at: T0, weight: 1 / 3 }));
      expect(windowWaitMs(sent, T0, third, 1 / 3)).to.equal(0);
      expect(windowWaitMs([...sent, { at: T0, weight: 1 / 3 }], T0, third, 1 / 3)).to.equal(2_200);
    });

    it('a request heavier than the whole window goes alone, once the window is empty', () => {
      const sent = [{ at: T0, weight: 1 }];
      expect(windowWaitMs(sent, T0 + 100, budget, 80)).to.equal(1_000);
      expect(windowWaitMs([], T0, budget, 80)).to.equal(0);
    });

    it('whatever the requests, sending each once it fits never puts more than the budget in a window', () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.record({
              gap: fc.integer({ min: 0, max: 400 }),
              cost: fc.constantFrom(1 / 3, 1 / 2, 1, 2, 5),
            }),
            {
              maxLength: 80,
            },
          ),
          (requests) => {
            const sent: Sent[] = [];
            let now = T0;
            for (const r of requests) {
              now += r.gap;
              now += windowWaitMs(sent, now, budget, r.cost);
              sent.push({ at: now, weight: r.cost });
            }
            for (const s of sent) {
              const inWindow = sent.filter((x) => x.at >= s.at && x.at < s.at + budget.windowMs);
              expect(inWindow.reduce((sum, x) => sum + x.weight, 0)).to.be.at.most(budget.weight + 1e-9);
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
    const take = (endpoint: string, weight = 5): Promise<void> =>
      limiter.take(endpoint, weight).then(() => void order.push(endpoint));

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

    it("each endpoint's requests leave in the order they came", async () => {
      const weights = [40, 20, 5, 5];
      const done: number[] = [];
      weights.forEach((w, i) => void limiter.take('GET public x', w).then(() => done.push(i)));
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
      // the host's clock stepped back an hour (NTP, a VM resumed): what was sent is now "in the future"
      clock.time = T0 - 3_600_000;
      void take('GET private order/realtime');
      await flush();
      await clock.advance(1_100);
      expect(order).to.have.length(11);
    });

    it('a closed adapter ends the waits', async () => {
      const closed = new AbortController();
      limiter = new EndpointLimiter({
        clock,
        perEndpoint: { windowMs: 1_100, weight: 5 },
        signal: closed.signal,
      });
      await limiter.take('GET private x', 5);
      const waiting = limiter.take('GET private x', 5);
      closed.abort(new Error('closed'));
      await clock.advance(10);
      let failed: unknown;
      await waiting.catch((err: unknown) => (failed = err));
      expect((failed as Error).message).to.equal('closed');
    });
  });

  describe("Bybit's pacing as the adapter builds it (endpointLimiter, ccxt's rateLimit 20)", () => {
    it('600 requests per IP in 5 s kept with the same 10 % margin as each endpoint: the 601st waits 5.5 s', async () => {
      const clock = new FakeClock(T0);
      const limiter = endpointLimiter(bybitProfile.endpointWindows!, 20, clock);
      // every request to its own endpoint: only the overall window holds them
      const first = Array.from({ length: 600 }, (_, i) => limiter.take(`GET public e${i}`, 1));
      await Promise.all(first);
      let left = false;
      void limiter.take('GET public e600', 1).then(() => (left = true));
      await clock.advance(5_499, 100);
      expect(left, '601 requests within 5.5 s').to.equal(false);
      await clock.advance(1);
      expect(left).to.equal(true);
    });
  });
});
