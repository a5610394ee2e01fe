import { expect } from 'chai';
import { silentLogger } from '../../../src/shared/logging/logger';
import { NetworkError } from '../../../src/shared/errors';
import { FEE_READ_BACKOFF_MS, FeeValuation } from '../../../src/trading/engine/fee-valuation';
import type { Market } from '../../../src/trading/exchange/exchange';
import type { Fill } from '../../../src/trading/engine/pnl';

const fill = (tradeId: string): Fill => ({
  orderId: '1',
  clientOrderId: 'bot-tst000-1',
  tradeId,
  symbol: 'BTC/USDT',
  side: 'buy',
  price: 60_000,
  amount: 0.01,
  feeCost: 0.0075,
  feeCurrency: 'BNB',
  timestamp: 0,
});

describe('FeeValuation: a fee market that cannot be looked up', () => {
  it('is not looked up again for a while: later fills do not wait for a lookup that keeps failing', async () => {
    let now = 1_000_000;
    let lookups = 0;
    let failing = true;
    const bnb = { symbol: 'BNB/USDT' } as Market;
    const fees = new FeeValuation(
      {
        findMarket: async () => {
          lookups++;
          if (failing) throw new NetworkError('exchangeInfo timed out');
          return bnb;
        },
        fetchTicker: async (symbol) => ({ symbol, last: 100, bid: 100, ask: 100, timestamp: now }),
      },
      () => ({}),
      silentLogger(),
      () => now,
    );
    expect(await fees.value(fill('1'))).to.deep.equal({ feeQuote: undefined, estimated: true });
    expect(await fees.value(fill('2'))).to.deep.equal({ feeQuote: undefined, estimated: true });
    expect(lookups).to.equal(1);
    now += FEE_READ_BACKOFF_MS;
    failing = false;
    expect((await fees.value(fill('3'))).feeQuote).to.be.closeTo(0.75, 1e-12);
    expect(lookups).to.equal(2);
  });
});
