import { expect } from 'chai';
import { silentLogger } from '../../../src/shared/logging/logger';
import { NetworkError } from '../../../src/shared/errors';
import { FEE_READ_BACKOFF_MS, FeeValuation } from '../../../src/trading/engine/books/fee-valuation';
import type { Market } from '../../../src/trading/exchange/exchange';
import type { Fill } from '../../../src/trading/engine/books/pnl';

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

describe('FeeValuation: the price a fee is valued at', () => {
  const bnb = { 'BNB/USDT': { symbol: 'BNB/USDT' } as Market };
  /** A valuation whose BNB ticker answers `last` dated `timestamp`, judged stale before `freshFrom`. */
  function valuation(answer: () => { last: number; timestamp?: number }, freshFrom = 0): FeeValuation {
    return new FeeValuation(
      { fetchTicker: async (symbol) => ({ symbol, bid: 0, ask: 0, ...answer() }) },
      () => bnb,
      silentLogger(),
      () => 1_000_000,
      (ticker) => (ticker.timestamp ?? 0) < freshFrom,
    );
  }

  it('marks a fee valued at a stale price estimated (valued all the same), and one at a fresh price not', async () => {
    let at = 500_000;
    const fees = valuation(() => ({ last: 100, timestamp: at }), 900_000);
    expect(await fees.value(fill('1'))).to.deep.equal({ feeQuote: 0.75, estimated: true });
    at = 950_000;
    expect(await fees.value(fill('2'))).to.deep.equal({ feeQuote: 0.75 });
  });

  it('takes a ticker without a usable price for a failed read: the last price read, estimated', async () => {
    let last = 100;
    const fees = valuation(() => ({ last, timestamp: 1_000_000 }));
    expect(await fees.value(fill('1'))).to.deep.equal({ feeQuote: 0.75 });
    last = NaN;
    expect(await fees.value(fill('2'))).to.deep.equal({ feeQuote: 0.75, estimated: true });
  });
});
