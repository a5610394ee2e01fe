/** The answer timeouts trading sends in its hello: sums of the deadlines that bound each operator action. */
import { expect } from 'chai';
import { configSchema } from '../../../src/shared/config/schema';
import { answerTimeoutsMs } from '../../../src/trading/control/answer-timeouts';

const trading = (over: Record<string, unknown> = {}) => configSchema().parse({ trading: over }).trading;

describe('answerTimeoutsMs', () => {
  it('gives every operator action more than a request on the default settings; close-all the most', () => {
    const t = answerTimeoutsMs(trading());
    const request = configSchema().parse({}).ipc.requestTimeoutMs;
    for (const method of ['closeAll', 'settleOrder', 'reconcile', 'report'] as const)
      expect(t[method], method).to.be.greaterThan(request);
    expect(t.closeAll).to.be.greaterThan(t.settleOrder!);
  });

  it('follows the settings that bound close-all: the read deadline, the create timeout, the symbols', () => {
    const base = answerTimeoutsMs(trading()).closeAll!;
    expect(answerTimeoutsMs(trading({ symbolReadTimeoutMs: 10_000 })).closeAll).to.be.greaterThan(base);
    expect(answerTimeoutsMs(trading({ orders: { createTimeoutMs: 20_000 } })).closeAll).to.be.greaterThan(
      base,
    );
    expect(
      answerTimeoutsMs(trading({ symbols: ['BTC/USDT', 'ETH/USDT', 'SOL/USDT'] })).closeAll,
    ).to.be.greaterThan(base);
    // the worst case of its steps: the tick before it, the busy wait, a cancel per symbol, the balance, then per
    // position a ticker, a sell and its lookups
    const read = 5_000;
    const create = 10_000;
    expect(base).to.be.at.least(read + 2 * read + read + 2 * (read + create + 3 * read));
  });

  it("gives the write-off the tick before it, the busy symbol's wait and its markets read", () => {
    const read = 5_000;
    expect(answerTimeoutsMs(trading()).writeOff).to.be.at.least(3 * read + read + read);
  });
});
