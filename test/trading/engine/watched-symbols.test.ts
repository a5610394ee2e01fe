import { expect } from 'chai';
import { watchedSymbols } from '../../../src/trading/engine/tick/watched-symbols';

describe('watchedSymbols: which symbols the engine works on (pure)', () => {
  it('the configured symbols, in their order, when nothing else is held', () => {
    expect(watchedSymbols(['BTC/USDT', 'ETH/USDT'], [], [])).to.deep.equal({
      symbols: ['BTC/USDT', 'ETH/USDT'],
      untraded: [],
    });
  });

  it('adds a symbol no longer configured that still has orders or any amount held (dust too), once', () => {
    const orders = ['SOL/USDT', 'BTC/USDT'];
    const positions = [
      { symbol: 'XRP/USDT', amount: 0.0001 },
      { symbol: 'BTC/USDT', amount: 1 },
      { symbol: 'ADA/USDT', amount: 0 },
      { symbol: 'SOL/USDT', amount: 2 },
    ];
    expect(watchedSymbols(['BTC/USDT'], orders, positions)).to.deep.equal({
      symbols: ['BTC/USDT', 'SOL/USDT', 'XRP/USDT'],
      untraded: ['SOL/USDT', 'XRP/USDT'],
    });
  });
});
