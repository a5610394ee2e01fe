import { expect } from 'chai';
import type { Exchange } from '../../../src/trading/exchange/exchange';
import {
  HeldObservations,
  timedExchange,
  type ExchangeCallOutcome,
} from '../../../src/trading/control/timed-exchange';

describe('timed exchange calls before the metrics exist', () => {
  it('calls made before the registry starts are held and replayed into it once, in order, with their outcome', async () => {
    const held = new HeldObservations();
    let observe = held.hold;
    const fake = {
      fetchOpenOrders: () => Promise.resolve([]),
      fetchBalance: () => Promise.reject(new Error('down')),
    } as unknown as Exchange;
    const exchange = timedExchange(fake, (method, outcome, seconds) => observe(method, outcome, seconds));

    await exchange.fetchOpenOrders();
    await exchange.fetchBalance().catch(() => undefined);
    const seen: [string, ExchangeCallOutcome][] = [];
    const registry = (method: string, outcome: ExchangeCallOutcome, seconds: number): void => {
      expect(seconds).to.be.at.least(0);
      seen.push([method, outcome]);
    };
    held.replay(registry);
    observe = registry;
    await exchange.fetchOpenOrders();
    held.replay(registry); // nothing held twice

    expect(seen).to.deep.equal([
      ['fetchOpenOrders', 'ok'],
      ['fetchBalance', 'error'],
      ['fetchOpenOrders', 'ok'],
    ]);
  });

  it('holds at most HeldObservations.MAX calls (a start retrying for hours keeps its first ones)', () => {
    const held = new HeldObservations();
    for (let i = 0; i < HeldObservations.MAX + 5; i++) held.hold('fetchTicker', 'error', 0.001);
    let n = 0;
    held.replay(() => void n++);
    expect(n).to.equal(HeldObservations.MAX);
  });
});
