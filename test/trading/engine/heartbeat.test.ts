import { expect } from 'chai';
import { Heartbeat, heartbeatFields, type HeartbeatFacts } from '../../../src/trading/engine/heartbeat';
import { emptyBook } from '../../../src/trading/engine/books/pnl';
import { captureLogger } from '../../support/capture-logger';

function facts(over: Partial<HeartbeatFacts> = {}): HeartbeatFacts {
  return {
    state: 'running',
    ticks: 12,
    equity: 1000.004,
    positions: [],
    lastPrices: {},
    openPositions: 0,
    openOrders: 0,
    pause: null,
    exchangeReachable: true,
    ...over,
  };
}

describe('heartbeatFields: how trading stands, in one log line (pure)', () => {
  it('says the state, ticks, equity to the cent, what is open, and no pause', () => {
    expect(heartbeatFields(facts({ openPositions: 1, openOrders: 2 }))).to.deep.equal({
      state: 'running',
      ticks: 12,
      equity: 1000,
      openPositions: 1,
      openOrders: 2,
      unrealizedPnl: 0,
      paused: undefined,
      exchangeReachable: true,
    });
  });

  it("adds the bot's own equity the risk limits judge, to the cent, only when trading.risk.capital is set", () => {
    expect(heartbeatFields(facts({ riskEquity: 1_980.126 }))).to.include({
      equity: 1000,
      riskEquity: 1980.13,
    });
    expect(heartbeatFields(facts())).not.to.have.property('riskEquity');
  });

  it('sums the unrealized PnL of the positions at their last prices', () => {
    const btc = { ...emptyBook('BTC/USDT'), amount: 0.01, costBasis: 500 };
    const eth = { ...emptyBook('ETH/USDT'), amount: 1, costBasis: 2000 };
    const fields = heartbeatFields(
      facts({ positions: [btc, eth], lastPrices: { 'BTC/USDT': 51_000, 'ETH/USDT': 1_999.994 } }),
    );
    // 0.01 × 51,000 − 500 = 10; 1 × 1,999.994 − 2,000 = −0.006
    expect(fields.unrealizedPnl).to.equal(9.99);
  });

  it('values a position without a price yet at 0 (its whole cost unrealized)', () => {
    const btc = { ...emptyBook('BTC/USDT'), amount: 0.01, costBasis: 500 };
    expect(heartbeatFields(facts({ positions: [btc] })).unrealizedPnl).to.equal(-500);
  });

  it('says the pause with its cause', () => {
    const fields = heartbeatFields(
      facts({ state: 'paused', pause: { by: 'operator', reason: 'maintenance', at: 0 } }),
    );
    expect(fields.paused).to.be.a('string').and.contain('maintenance');
  });
});

describe('Heartbeat: once every heartbeatMs', () => {
  it('beats at the first tick, then only once the interval has passed', () => {
    const { logger, lines } = captureLogger();
    const beats = new Heartbeat(logger, 60_000);
    const T0 = 1_700_000_000_000;
    let read = 0;
    const at = (now: number): void => beats.beat(now, () => (read++, facts()));
    const beatsSoFar = (): number => lines.filter((l) => l.message === 'Heartbeat').length;
    at(T0);
    expect(beatsSoFar()).to.equal(1);
    at(T0 + 59_999);
    expect(beatsSoFar()).to.equal(1);
    at(T0 + 60_000);
    expect(beatsSoFar()).to.equal(2);
    at(T0 + 60_001);
    expect(beatsSoFar()).to.equal(2);
    expect(read, 'facts read only for a beat').to.equal(2);
  });
});
