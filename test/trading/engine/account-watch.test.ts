import { expect } from 'chai';
import { equityOf } from '../../../src/trading/engine/tick/account-watch';
import { emptyBook, type PositionBook } from '../../../src/trading/engine/books/pnl';

function held(symbol: string, amount: number, entry: number): PositionBook {
  return { ...emptyBook(symbol), amount, costBasis: amount * entry, openedAt: 1 };
}

describe('equityOf: the quote balance plus the positions held in that quote', () => {
  const balance = { USDT: { free: 900, used: 100, total: 1000 }, BTC: { free: 0.01, used: 0, total: 0.01 } };

  it('values each position at its last price, or at its entry price before one is read', () => {
    const positions = { 'BTC/USDT': held('BTC/USDT', 0.01, 50_000), 'ETH/USDT': held('ETH/USDT', 1, 2_000) };
    expect(equityOf(balance, positions, { 'BTC/USDT': 60_000 }, 'USDT')).to.equal(1000 + 600 + 2_000);
  });

  it('leaves out positions in another quote and counts a missing quote balance as 0', () => {
    const positions = { 'ETH/BTC': held('ETH/BTC', 1, 0.05) };
    expect(equityOf(balance, positions, { 'ETH/BTC': 0.06 }, 'USDT')).to.equal(1000);
    expect(equityOf({}, {}, {}, 'USDT')).to.equal(0);
  });
});
