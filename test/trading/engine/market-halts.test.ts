import { expect } from 'chai';
import { marketStatus, statusChanges } from '../../../src/trading/engine/market-halts';
import type { Market } from '../../../src/trading/exchange/exchange';

const market = (symbol: string, halted?: boolean): Market => ({
  symbol,
  base: symbol.split('/')[0],
  quote: 'USDT',
  amountStep: 0.0001,
  priceStep: 0.01,
  minAmount: 0.0001,
  minNotional: 5,
  ...(halted === undefined ? {} : { halted }),
});

describe('traded symbols halted or gone at a markets load (pure)', () => {
  it('tells trading, halted (listed, not trading) and delisted (gone from the list) apart', () => {
    const markets = { 'BTC/USDT': market('BTC/USDT'), 'ETH/USDT': market('ETH/USDT', true) };
    expect(marketStatus('BTC/USDT', markets)).to.equal('trading');
    expect(marketStatus('ETH/USDT', markets)).to.equal('halted');
    expect(marketStatus('SOL/USDT', markets)).to.equal('delisted');
  });

  it('reports each change once: halted, still halted (nothing), trading again; a first load counts from trading', () => {
    const first = new Map([
      ['BTC/USDT', 'trading' as const],
      ['ETH/USDT', 'halted' as const],
    ]);
    expect(statusChanges(new Map(), first)).to.deep.equal([
      { symbol: 'ETH/USDT', from: 'trading', to: 'halted' },
    ]);
    expect(statusChanges(first, first)).to.deep.equal([]);
    const later = new Map([
      ['BTC/USDT', 'delisted' as const],
      ['ETH/USDT', 'trading' as const],
    ]);
    expect(statusChanges(first, later)).to.deep.equal([
      { symbol: 'BTC/USDT', from: 'trading', to: 'delisted' },
      { symbol: 'ETH/USDT', from: 'halted', to: 'trading' },
    ]);
  });
});
