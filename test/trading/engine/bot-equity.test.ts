import { expect } from 'chai';
import fc from 'fast-check';
import { botEquityOf } from '../../../src/trading/engine/books/bot-equity';
import { derivePositions, emptyBook, type Fill } from '../../../src/trading/engine/books/pnl';
import { writeOffFills } from '../../../src/trading/engine/decide/held-balance';
import { riskEquityOf } from '../../../src/trading/engine/tick/account-watch';

const T0 = Date.UTC(2026, 0, 1, 10);
let n = 0;
function fill(side: 'buy' | 'sell', amount: number, price: number, symbol = 'BTC/USDT'): Fill {
  n++;
  return {
    orderId: `o${n}`,
    clientOrderId: `bot-${n}`,
    tradeId: `${n}`,
    symbol,
    side,
    price,
    amount,
    feeCost: amount * price * 0.001,
    feeCurrency: 'USDT',
    timestamp: T0 + n,
  };
}
const books = (fills: Fill[]) => derivePositions({}, fills, {}, 'time');

describe("botEquityOf: capital + the bot's own realized and unrealized PnL (trading.risk.capital)", () => {
  it('adds the realized PnL of closed trades, fees included, and the open positions at their last price', () => {
    // a round trip: bought 0.01 at 50,000 (fee 0.5), sold at 55,000 (fee 0.55): +50 - 1.05
    // an open position: 1 ETH at 2,000 (fee 2), now 1,900: -102
    const positions = books([
      fill('buy', 0.01, 50_000),
      fill('sell', 0.01, 55_000),
      fill('buy', 1, 2_000, 'ETH/USDT'),
    ]);
    const equity = botEquityOf(2_000, positions, { 'BTC/USDT': 60_000, 'ETH/USDT': 1_900 }, 'USDT');
    expect(equity).to.be.closeTo(2_000 + 48.95 - 102, 1e-9);
    // before a price is read, a position counts at its entry price: no unrealized PnL
    expect(botEquityOf(2_000, positions, {}, 'USDT')).to.be.closeTo(2_000 + 48.95, 1e-9);
  });

  it("counts a position written off for a shortfall as the bot's loss of its entry cost", () => {
    const buy = fill('buy', 0.02, 50_000);
    const book = books([buy])['BTC/USDT']!;
    const writeOff = writeOffFills(book, 0.02, { amount: 0, quoteValue: 0 }, 'write-off-1', T0 + 1_000);
    const after = books([buy, ...writeOff]);
    expect(after['BTC/USDT']!.amount).to.equal(0);
    // the whole cost (1,000 + the fee 1) is lost, whatever the price now
    expect(botEquityOf(2_000, after, { 'BTC/USDT': 70_000 }, 'USDT')).to.be.closeTo(2_000 - 1_001, 1e-9);
  });

  it('leaves out books in another quote', () => {
    const positions = books([fill('buy', 1, 0.05, 'ETH/BTC')]);
    expect(botEquityOf(2_000, positions, { 'ETH/BTC': 0.01 }, 'USDT')).to.equal(2_000);
    expect(botEquityOf(2_000, { 'BTC/USDT': emptyBook('BTC/USDT') }, {}, 'USDT')).to.equal(2_000);
  });

  it("with capital set, the judged equity never moves with the account's balances (property)", () => {
    const positions = books([
      fill('buy', 0.01, 50_000),
      fill('sell', 0.005, 48_000),
      fill('buy', 1, 2_000, 'ETH/USDT'),
    ]);
    const prices = { 'BTC/USDT': 51_000, 'ETH/USDT': 2_100 };
    const amount = fc.double({ min: 0, max: 1e7, noNaN: true });
    const balance = fc.record({
      USDT: fc.record({ free: amount, used: amount, total: amount }),
      BTC: fc.record({ free: amount, used: amount, total: amount }),
      ETH: fc.record({ free: amount, used: amount, total: amount }),
    });
    const judged = riskEquityOf(2_000, {}, positions, prices, 'USDT');
    expect(judged).to.equal(botEquityOf(2_000, positions, prices, 'USDT'));
    fc.assert(
      fc.property(balance, balance, (a, b) => {
        expect(riskEquityOf(2_000, a, positions, prices, 'USDT')).to.equal(judged);
        // unset: the account's equity, which the owner's quote balance does move
        const moved =
          riskEquityOf(undefined, a, positions, prices, 'USDT') -
          riskEquityOf(undefined, b, positions, prices, 'USDT');
        expect(moved).to.be.closeTo(
          a.USDT.total - b.USDT.total,
          1e-6 * Math.max(1, a.USDT.total, b.USDT.total),
        );
      }),
    );
  });
});
