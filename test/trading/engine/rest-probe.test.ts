import { expect } from 'chai';
import { NetworkError, OrderNotFoundError } from '../../../src/shared/errors';
import type { ExchangeOrder } from '../../../src/trading/exchange/exchange';
import { probeRest } from '../../../src/trading/engine/orders/rest-probe';

describe('the cancel sent before a limit order ends on our inference (probeRest)', () => {
  const order = { type: 'limit' as const, clientOrderId: 'bot-1', symbol: 'BTC/USDT' };
  const answer = { id: '42', status: 'canceled', filled: 0.001 } as ExchangeOrder;
  const calls: string[] = [];
  const exchange = (fromEngine: boolean, cancel: () => Promise<ExchangeOrder>) => ({
    traits: { cancelFromEngine: fromEngine } as never,
    cancelOrder: (id: string) => (calls.push(`by id ${id}`), cancel()),
    cancelOrderByClientId: (id: string) => (calls.push(`by client id ${id}`), cancel()),
  });
  const through = (_id: string, call: () => Promise<ExchangeOrder>) => call();
  const notFound = () => Promise.reject(new OrderNotFoundError('Unknown order sent.', {}));
  beforeEach(() => (calls.length = 0));

  it('a market order never rests: no cancel', async () => {
    const probe = await probeRest({ ...order, type: 'market' }, exchange(true, notFound), through);
    expect(probe).to.equal(undefined);
    expect(calls).to.deep.equal([]);
  });

  it('the cancel answers with the order: found (by its exchange id when it has one, else by our id)', async () => {
    expect(
      await probeRest(
        order,
        exchange(false, async () => answer),
        through,
      ),
    ).to.deep.equal({
      kind: 'found',
      remote: answer,
    });
    await probeRest(
      { ...order, exchangeOrderId: '42' },
      exchange(false, async () => answer),
      through,
    );
    expect(calls).to.deep.equal(['by client id bot-1', 'by id 42']);
  });

  it("'no such order' rules out a resting order only from a matching engine, or for one a read had shown", async () => {
    expect(await probeRest(order, exchange(true, notFound), through)).to.deep.equal({
      kind: 'not-found',
      restRuledOut: true,
    });
    expect(await probeRest(order, exchange(false, notFound), through)).to.deep.equal({
      kind: 'not-found',
      restRuledOut: false,
    });
    expect(await probeRest({ ...order, seenByRead: true }, exchange(false, notFound), through)).to.deep.equal(
      {
        kind: 'not-found',
        restRuledOut: true,
      },
    );
  });

  it('a cancel that does not answer ends nothing: thrown', async () => {
    const down = () => Promise.reject(new NetworkError('timeout', {}));
    let thrown: unknown;
    await probeRest(order, exchange(true, down), through).catch((err: unknown) => (thrown = err));
    expect(thrown).to.be.instanceOf(NetworkError);
  });
});
