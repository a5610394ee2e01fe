import { expect } from 'chai';
import fc from 'fast-check';
import {
  checkStopLossTakeProfit,
  entryBlocker,
  evaluateRisk,
  initialRiskState,
  isOpenPosition,
  needsSettledReading,
  capPeak,
  rebaseRisk,
  resetAfterResume,
  sizeExit,
  sizeExitOrder,
  sizeOrder,
  type RiskConfig,
} from '../../../src/trading/engine/decide/risk';
import {
  floorToStep,
  largestOrderAmount,
  MARKET_VALUE_MARGIN,
  marketableSellPrice,
} from '../../../src/trading/exchange/precision';
import { BTC_MARKET, TEST_RISK } from '../../support/risk-fixtures';

const btc = BTC_MARKET;
const risk = TEST_RISK;
const DAY1 = Date.UTC(2026, 0, 1, 12);
const DAY2 = Date.UTC(2026, 0, 2, 0, 0, 1);

describe('risk: sizing', () => {
  it('turns the quote stake into a base amount floored to the amount step', () => {
    const size = sizeOrder(100, 60_000, btc);
    expect(size).to.deep.equal({ ok: true, amount: 0.00166, notional: 0.00166 * 60_000 });
  });

  it('never spends more than the stake (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 5, max: 1e5, noNaN: true }),
        fc.double({ min: 1, max: 1e5, noNaN: true }),
        (stake, price) => {
          const size = sizeOrder(stake, price, btc);
          if (!size.ok) return true;
          return size.amount * price <= stake * (1 + 1e-9) && size.amount >= btc.minAmount;
        },
      ),
    );
  });

  it('refuses an order below the minimum notional or minimum amount', () => {
    const small = sizeOrder(4, 60_000, btc);
    expect(small.ok).to.equal(false);
    expect(!small.ok && small.reason).to.match(/below the minimum 5/);
    expect(sizeOrder(0.0001, 60_000, { ...btc, minNotional: 0 }).ok).to.equal(false);
    expect(sizeOrder(100, 0, btc).ok).to.equal(false);
  });

  it('sizes an exit to the sellable part of the position', () => {
    expect(sizeExit(0.0016649, 60_000, btc)).to.include({ ok: true, amount: 0.00166 });
    expect(sizeExit(0.000009, 60_000, btc).ok).to.equal(false);
    expect(isOpenPosition(0.000009, btc, undefined)).to.equal(false);
    expect(isOpenPosition(0.00166, btc, undefined)).to.equal(true);
  });

  it('takes dust worth less than the minimum order value at the price for no position (it could not be sold)', () => {
    // a limit entry a quarter filled, then cancelled: 0.00003 BTC is 1.80 USDT at 60,000 (minimum 5)
    expect(isOpenPosition(0.00003, btc, 60_000)).to.equal(false);
    expect(sizeExit(0.00003, 60_000, btc).ok).to.equal(false);
    // the same amount worth the minimum at a higher price is a position, and sizeExit agrees
    expect(isOpenPosition(0.0001, btc, 60_000)).to.equal(true);
    expect(sizeExit(0.0001, 60_000, btc).ok).to.equal(true);
    // without a price only the step and the minimum amount are judged
    expect(isOpenPosition(0.00003, btc, undefined)).to.equal(true);
  });

  it('sizes an exit to at most the largest market order the exchange takes (MARKET_LOT_SIZE maxQty)', () => {
    const capped = { ...btc, maxOrder: { market: { amount: 0.0015 } } };
    expect(sizeExit(0.0016649, 60_000, capped)).to.include({ ok: true, amount: 0.0015 });
    // the rest (0.00016, 9.60 USDT) is sold by the next exit
    expect(sizeExit(0.0016649 - 0.0015, 60_000, capped)).to.include({ ok: true, amount: 0.00016 });
    expect(sizeExit(0.001, 60_000, capped)).to.include({ ok: true, amount: 0.001 });
  });

  it("sizes a market order on Binance's MARKET_LOT_SIZE step and minimum where listed; a limit sells the rest below them", () => {
    // a market order's own step 0.001 and minimum 0.0005 besides LOT_SIZE's 0.00001
    const lotted = { ...btc, marketLot: { step: 0.001, min: 0.0005 } };
    // a stop-loss of 0.0016649 BTC sells 0.001 (on the market step), never 0.00166 (refused -1013 every time)
    expect(sizeExit(0.0016649, 60_000, lotted)).to.include({ ok: true, amount: 0.001 });
    // a limit exit keeps LOT_SIZE's step
    expect(sizeExit(0.0016649, 60_000, lotted, 'limit')).to.include({ ok: true, amount: 0.00166 });
    // 0.0006649 BTC (40 USDT) is below the market step: no market order can sell it, a limit one can — a position
    // (it was dust riding on with no stop-loss), sold by a limit at the marketable price
    expect(sizeExit(0.0006649, 60_000, lotted).ok).to.equal(false);
    expect(isOpenPosition(0.0006649, lotted, 60_000)).to.equal(true);
    expect(isOpenPosition(0.0016649, lotted, 60_000)).to.equal(true);
    expect(sizeExitOrder(0.0006649, 60_000, lotted, 'market')).to.deep.include({
      ok: true,
      amount: 0.00066,
      type: 'limit',
      limitPrice: 58_800,
    });
    // a market exit of a holding off the market grid goes whole as one limit (0.001 at market would leave 0.00066
    // that nothing sells after a strategy exit); on the grid, at market
    expect(sizeExitOrder(0.0016649, 60_000, lotted, 'market')).to.deep.include({
      ok: true,
      amount: 0.00166,
      type: 'limit',
      limitPrice: 58_800,
    });
    expect(sizeExitOrder(0.002000001, 60_000, lotted, 'market')).to.deep.equal({
      ok: true,
      amount: 0.002,
      notional: 120,
      type: 'market',
    });
    // below LOT_SIZE's step, what is left is dust
    expect(isOpenPosition(0.0000099, lotted, 60_000)).to.equal(false);
    // a market entry is sized on the same grid: 100 USDT at 60,000 buys 0.001, not 0.00166
    expect(sizeOrder(100, 60_000, lotted)).to.include({ ok: true, amount: 0.001 });
    // and a limit entry too (every position a market order can sell whole; the case below)
    expect(sizeOrder(100, 60_000, lotted, 'limit')).to.include({ ok: true, amount: 0.001 });
    // a minimum above one market step: 0.0004 would be on the grid of 0.0001 but below 0.0005
    const high = { ...btc, marketLot: { step: 0.0001, min: 0.0005 } };
    expect(sizeExit(0.00049, 60_000, high).ok).to.equal(false);
    expect(sizeExit(0.00051, 60_000, high)).to.include({ ok: true, amount: 0.0005 });
  });

  it("sizes a limit entry on the market order's step and minimum too: the position it opens is one a stop-loss sells whole", () => {
    // review 33m: a limit entry sized on LOT_SIZE alone bought 0.00166 BTC where a market order's step is 0.001 — the
    // stop-loss (always at market) then sold 0.001 and left 0.00066 BTC (40 USDT) that no longer counted as a position,
    // riding on with no stop-loss; and below MARKET_LOT_SIZE's minimum the entry opened no position at all (the next
    // signal bought again, outside maxOpenPositions)
    const lotted = { ...btc, marketLot: { step: 0.001, min: 0.0005 } };
    expect(sizeOrder(100, 60_000, lotted, 'limit')).to.include({ ok: true, amount: 0.001 });
    const high = { ...btc, marketLot: { min: 0.0005 } };
    // 25 USDT at 60,000: 0.00041 BTC, a valid LOT_SIZE order but below the market minimum — no entry, not a non-position
    expect(sizeOrder(25, 60_000, high, 'limit').ok).to.equal(false);
    fc.assert(
      fc.property(
        fc.double({ min: 5, max: 1e4, noNaN: true }),
        fc.constantFrom(0.00001, 0.0001, 0.001, 0.01),
        fc.constantFrom(0, 0.0001, 0.0005, 0.002),
        (stake, step, min) => {
          const market = { ...btc, marketLot: { step, min } };
          const size = sizeOrder(stake, 60_000, market, 'limit');
          if (!size.ok) return;
          expect(isOpenPosition(size.amount, market, 60_000)).to.equal(true);
          expect(sizeExit(size.amount, 60_000, market)).to.include({ ok: true, amount: size.amount });
        },
      ),
    );
  });

  // review 33m: where MARKET_LOT_SIZE lists a step coarser than LOT_SIZE's, a market entry of whole market steps whose
  // buy fee Binance takes in the coin bought (0.1 %, no BNB) holds a little less than its steps, and a market order
  // sells only whole ones: an entry of one step (0.001 BTC, ~60 USDT) held 0.000999 — no position at all (no
  // stop-loss, not in maxOpenPositions, the next signal bought again); an entry of n steps left a step's worth
  // unprotected after its stop-loss. A limit order on LOT_SIZE's grid sells it (sizeExitOrder).
  it('a market entry of whole market steps, its fee paid in the coin, is a position a stop-loss sells', () => {
    const lotted = { ...btc, marketLot: { step: 0.001 } };
    const size = sizeOrder(70, 60_000, lotted);
    expect(size).to.include({ ok: true, amount: 0.001 });
    const held = 0.001 * (1 - 0.001); // Binance's 0.1 % taker fee, paid in BTC
    expect(isOpenPosition(held, lotted, 60_000)).to.equal(true);
    // the stop-loss at 58,000: a limit sell of 0.00099 at 2 % under the last price, on the tick
    expect(sizeExitOrder(held, 58_000, lotted, 'market')).to.deep.include({
      ok: true,
      amount: 0.00099,
      type: 'limit',
      limitPrice: 56_840,
    });
    // three steps: all of it in one limit, none left for an exit that is not asked again (a strategy's)
    const three = 0.003 * (1 - 0.001);
    expect(sizeExitOrder(three, 58_000, lotted, 'market')).to.deep.include({
      amount: 0.00299,
      type: 'limit',
    });
    // 0.004 at market would leave 0.00006 (3.48 USDT), more than dust and less than any order sells
    expect(sizeExitOrder(0.00406, 58_000, lotted, 'market')).to.deep.include({
      amount: 0.00406,
      type: 'limit',
    });
  });

  it('sizes an exit as a limit only where a market order has rules of its own, valued at the limit price', () => {
    // no MARKET_LOT_SIZE rules: what a market order cannot sell is dust, as before, and says why
    expect(sizeExitOrder(0.0000099, 60_000, btc, 'market')).to.deep.equal(sizeExit(0.0000099, 60_000, btc));
    expect(sizeExitOrder(0.001, 60_000, btc, 'market')).to.deep.include({ amount: 0.001, type: 'market' });
    // a limit exit asked for: at the last price on the tick
    expect(sizeExitOrder(0.001, 60_000.004, btc, 'limit')).to.deep.include({
      amount: 0.001,
      type: 'limit',
      limitPrice: 60_000,
    });
    // the rest is judged at the limit's price: one LOT_SIZE step worth 5.05 USDT at the last price but 4.95 at 2 %
    // under it, below the minimum order value of 5 — no order (the exchange would refuse it), and no position either
    const lotted = { ...btc, marketLot: { step: 0.001 } };
    const rest = 0.000015;
    expect(0.00001 * 505_000).to.be.above(btc.minNotional);
    expect(0.00001 * marketableSellPrice(505_000, btc)).to.be.below(btc.minNotional);
    expect(sizeExitOrder(rest, 505_000, lotted, 'market').ok).to.equal(false);
    expect(isOpenPosition(rest, lotted, 505_000)).to.equal(false);
    // two steps are worth it
    expect(sizeExitOrder(0.00002, 505_000, lotted, 'market')).to.deep.include({
      amount: 0.00002,
      type: 'limit',
    });
    expect(isOpenPosition(0.00002, lotted, 505_000)).to.equal(true);
  });

  it('never sells more than held, on the market step, whatever MARKET_LOT_SIZE lists (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 10, noNaN: true }),
        fc.constantFrom(0.00001, 0.0001, 0.001, 0.01, 0.1),
        fc.constantFrom(0, 0.0001, 0.001, 0.05),
        (held, step, min) => {
          const lotted = { ...btc, marketLot: { step, min } };
          const size = sizeExit(held, 60_000, lotted);
          if (!size.ok) return;
          // within float noise of a grid line counts as on it (as precision.test.ts's property)
          expect(size.amount).to.be.at.most(held + step * 1e-6 + held * 1e-13);
          expect(size.amount).to.be.at.least(min);
          expect(floorToStep(size.amount, Math.max(step, btc.amountStep))).to.equal(size.amount);
        },
      ),
    );
  });

  it('caps only a market exit, and never leaves unsellable dust behind the cap', () => {
    const capped = { ...btc, maxOrder: { market: { amount: 0.0015 } } };
    // a limit exit is not bound by the largest MARKET order
    expect(sizeExit(0.0016649, 60_000, capped, 'limit')).to.include({ ok: true, amount: 0.00166 });
    // 0.0015 would leave 0.00002 (1.20 USDT, minimum 5): sell less, so the last order sells a sellable rest
    const first = sizeExit(0.00152, 60_000, capped);
    expect(first).to.include({ ok: true, amount: 0.00143 });
    expect(sizeExit(0.00152 - 0.00143, 60_000, capped)).to.include({ ok: true, amount: 0.00009 });
  });

  it('sizes a limit exit to the largest limit order, and judges a value maximum at the order price', () => {
    // Bybit maxLimitOrderQty / OKX maxLmtSz: base
    const limitCapped = { ...btc, maxOrder: { limit: { amount: 0.001 } } };
    expect(sizeExit(0.0016649, 60_000, limitCapped, 'limit')).to.include({ ok: true, amount: 0.001 });
    expect(sizeExit(0.0016649, 60_000, limitCapped, 'market')).to.include({ ok: true, amount: 0.00166 });
    // Binance NOTIONAL maxNotional / OKX maxLmtAmt: 60 USDT at a price of 60,000.004 (tick 0.01: 60,000.01)
    const valueCapped = { ...btc, maxOrder: { limit: { value: 60 } } };
    const size = sizeExit(0.0016649, 60_000.004, valueCapped, 'limit');
    expect(size).to.include({ ok: true, amount: 0.00099 });
    expect(size.ok && size.amount * 60_000.01).to.be.at.most(60);
  });

  it('judges a market order value maximum at the last price plus the 10 % margin (the exchange values it later)', () => {
    // OKX maxMktSz 120 USDT at 60,000: 120 / 66,000 = 0.001818… BTC, floored to 0.00181
    const capped = { ...btc, maxOrder: { market: { value: 120 } } };
    expect(MARKET_VALUE_MARGIN).to.equal(0.1);
    expect(sizeExit(0.005, 60_000, capped)).to.include({ ok: true, amount: 0.00181 });
    // the smaller of a base and a value maximum binds
    const both = { ...btc, maxOrder: { market: { amount: 0.0015, value: 120 } } };
    expect(sizeExit(0.005, 60_000, both)).to.include({ ok: true, amount: 0.0015 });
  });

  it('sizes an entry above the largest order down to it, by order type (never refused for it)', () => {
    const capped = { ...btc, maxOrder: { market: { amount: 0.001 }, limit: { amount: 0.0012, value: 66 } } };
    // 100 USDT at 60,000 is 0.00166 BTC
    expect(sizeOrder(100, 60_000, capped, 'market')).to.include({ ok: true, amount: 0.001 });
    // a limit entry: the smaller of 0.0012 BTC and 66 USDT at 60,000 (0.0011)
    expect(sizeOrder(100, 60_000, capped, 'limit')).to.include({ ok: true, amount: 0.0011 });
    // a stake within the maximum is left as it is
    expect(sizeOrder(50, 60_000, capped, 'market')).to.include({ ok: true, amount: 0.00083 });
  });

  it('sells any position whole in exits within the maximums, with no unsellable rest (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.0001, max: 0.05, noNaN: true }),
        fc.double({ min: 1_000, max: 200_000, noNaN: true }),
        fc.option(fc.double({ min: 0.0002, max: 0.01, noNaN: true }), { nil: undefined }),
        fc.option(fc.double({ min: 12, max: 500, noNaN: true }), { nil: undefined }),
        fc.constantFrom<'market' | 'limit'>('market', 'limit'),
        (held, price, amount, value, type) => {
          const market = { ...btc, maxOrder: { [type]: { amount, value } } };
          let left = floorToStep(held, btc.amountStep);
          const largest = largestOrderAmount(market, type, price);
          // sellable whole, under maximums of at least twice the smallest order (below that a rest can be dust
          // whatever the sizes: 1.5 times a maximum of 1.2 smallest orders)
          const smallest = Math.max(btc.minAmount, btc.minNotional / price);
          if (!sizeExit(left, price, btc, type).ok || largest < 2 * smallest + btc.amountStep) return true;
          for (let orders = 0; orders < 10_000; orders++) {
            const size = sizeExit(left, price, market, type);
            if (!size.ok || size.amount > largest) return false;
            left = floorToStep(left - size.amount, btc.amountStep);
            if (left === 0) return true;
          }
          return false;
        },
      ),
    );
  });

  it('does not refuse a market exit below the minimum value where the minimum skips market orders (applyMinToMarket false)', () => {
    const skips = { ...btc, minNotionalOnMarket: false };
    // 0.00003 BTC is 1.80 USDT (minimum 5): a market order may sell it there, a limit order may not
    expect(sizeExit(0.00003, 60_000, skips)).to.include({ ok: true, amount: 0.00003 });
    expect(sizeExit(0.00003, 60_000, skips, 'limit').ok).to.equal(false);
    expect(isOpenPosition(0.00003, skips, 60_000)).to.equal(true);
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 0.01, noNaN: true }),
        fc.double({ min: 1_000, max: 200_000, noNaN: true }),
        (amount, price) => isOpenPosition(amount, skips, price) === sizeExit(amount, price, skips).ok,
      ),
    );
  });

  it('agrees with sizeExit on every amount and price: a position is what an exit can sell (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 0.01, noNaN: true }),
        fc.double({ min: 1_000, max: 200_000, noNaN: true }),
        (amount, price) => isOpenPosition(amount, btc, price) === sizeExit(amount, price, btc).ok,
      ),
    );
  });
});

describe('risk: positions, stop-loss, take-profit', () => {
  it('blocks entries at max open positions', () => {
    expect(entryBlocker(1, risk)).to.equal(null);
    expect(entryBlocker(2, risk)).to.match(/max open positions/);
  });

  it('triggers stop-loss at -2 % and take-profit at +3 % from the average entry', () => {
    expect(checkStopLossTakeProfit(100, 98.01, risk)).to.equal(null);
    expect(checkStopLossTakeProfit(100, 98, risk)?.kind).to.equal('stop-loss');
    expect(checkStopLossTakeProfit(100, 102.99, risk)).to.equal(null);
    expect(checkStopLossTakeProfit(100, 103, risk)?.kind).to.equal('take-profit');
  });

  it('treats 0 percent as disabled', () => {
    const off = { ...risk, stopLossPct: 0, takeProfitPct: 0 };
    expect(checkStopLossTakeProfit(100, 1, off)).to.equal(null);
    expect(checkStopLossTakeProfit(100, 1000, off)).to.equal(null);
  });
});

describe('risk: kill switch', () => {
  it('tracks the equity peak and fires at the max drawdown', () => {
    let u = evaluateRisk(initialRiskState(), 10_000, 0, DAY1, risk);
    u = evaluateRisk(u.state, 12_000, 0, DAY1, risk);
    expect(u.state.equityPeak).to.equal(12_000);
    u = evaluateRisk(u.state, 9_601, 0, DAY1, risk);
    expect(u.triggered).to.equal(undefined);
    u = evaluateRisk(u.state, 9_600, 0, DAY1, risk);
    expect(u.triggered?.kind).to.equal('max-drawdown');
    expect(u.state.killSwitch?.reason).to.match(/20\.00% below its peak 12000/);
    // stays on and does not fire twice
    const again = evaluateRisk(u.state, 9_000, 0, DAY1, risk);
    expect(again.triggered).to.equal(undefined);
    expect(again.state.killSwitch?.kind).to.equal('max-drawdown');
  });

  it('fires on the realized loss of the UTC day and clears when the next day begins', () => {
    let u = evaluateRisk(initialRiskState(), 10_000, 0, DAY1, risk);
    expect(u.state.dayStartEquity).to.equal(10_000);
    u = evaluateRisk(u.state, 9_100, -999, DAY1, risk);
    expect(u.triggered).to.equal(undefined);
    u = evaluateRisk(u.state, 9_000, -1_000, DAY1, risk);
    expect(u.triggered?.kind).to.equal('daily-loss');
    u = evaluateRisk(u.state, 9_000, 0, DAY2, risk);
    expect(u.cleared?.kind).to.equal('daily-loss');
    expect(u.state.killSwitch).to.equal(null);
    expect(u.state.dayStartEquity).to.equal(9_000);
  });

  it('after an operator resume past a daily-loss kill switch, lets the day continue and keeps the peak', () => {
    let u = evaluateRisk(initialRiskState(), 10_000, 0, DAY1, risk);
    u = evaluateRisk(u.state, 9_000, -1_000, DAY1, risk);
    expect(u.triggered?.kind).to.equal('daily-loss');
    const resumed = resetAfterResume(u.state, 9_000, DAY1);
    expect(resumed.equityPeak).to.equal(10_000);
    expect(evaluateRisk(resumed, 9_000, -1_000, DAY1, risk).triggered).to.equal(undefined);
    // 20 % below the peak of 10 000 (not of the 9 000 the resume found)
    expect(evaluateRisk(resumed, 8_000, -1_000, DAY1, risk).triggered?.kind).to.equal('max-drawdown');
  });

  it('after an operator resume past a drawdown kill switch, measures the drawdown from the current equity', () => {
    let u = evaluateRisk(initialRiskState(), 10_000, 0, DAY1, risk);
    u = evaluateRisk(u.state, 8_000, 0, DAY1, risk);
    expect(u.triggered?.kind).to.equal('max-drawdown');
    const resumed = resetAfterResume(u.state, 8_000, DAY1);
    expect(resumed).to.include({ equityPeak: 8_000, killSwitch: null });
    expect(evaluateRisk(resumed, 8_000, 0, DAY1, risk).triggered).to.equal(undefined);
    expect(evaluateRisk(resumed, 6_400, 0, DAY1, risk).triggered?.kind).to.equal('max-drawdown');
  });
});

describe('risk: a change of measure (trading.risk.capital turned on, off or changed across a restart)', () => {
  const onAccount = { ...initialRiskState(), equityPeak: 10_000, day: '2026-01-01', dayStartEquity: 10_000 };

  it('begins the peak and the day base again from the reading, instead of firing on the new measure', () => {
    // the account's peak 10,000, now judged on a capital of 2,000: an 80 % "drawdown" on the old peak
    expect(evaluateRisk(onAccount, 2_000, 0, DAY1, risk).triggered?.kind).to.equal('max-drawdown');
    const rebased = rebaseRisk(onAccount, 2_000, 2_000, 2_000)!;
    expect(rebased).to.deep.equal({ ...onAccount, equityPeak: 2_000, dayStartEquity: 2_000, capital: 2_000 });
    expect(evaluateRisk(rebased, 2_000, 0, DAY1, risk).triggered).to.equal(undefined);
    // the new measure's limits hold: 20 % of the bot's 2,000, 10 % of its day
    expect(evaluateRisk(rebased, 1_600, 0, DAY1, risk).state.killSwitch?.reason).to.match(
      /^the bot's equity \(capital 2000 \+ its PnL\) 1600\.00 is 20\.00% below its peak 2000\.00/,
    );
    expect(evaluateRisk(rebased, 1_900, -200, DAY1, risk).triggered?.kind).to.equal('daily-loss');
  });

  it('the same measure changes nothing; off again, or another capital, begins again (the peak never above what is known)', () => {
    const onCapital = { ...onAccount, equityPeak: 2_100, dayStartEquity: 2_050, capital: 2_000 };
    expect(rebaseRisk(onCapital, 2_000, 1_000, 1_000)).to.equal(null);
    expect(rebaseRisk(onAccount, undefined, 1_000, 1_000)).to.equal(null);
    const off = rebaseRisk(onCapital, undefined, 9_000, 8_800)!;
    expect(off).to.deep.equal({ ...onAccount, equityPeak: 8_800, dayStartEquity: 9_000 });
    expect('capital' in off).to.equal(false);
    expect(rebaseRisk(onCapital, 5_000, 5_100, 5_100)).to.include({
      capital: 5_000,
      equityPeak: 5_100,
    });
  });

  it('keeps a kill switch already set (the operator resumes it); a daily-loss one still ends with its day', () => {
    const killSwitch = { kind: 'max-drawdown' as const, reason: 'x', at: DAY1 };
    expect(rebaseRisk({ ...onAccount, killSwitch }, 2_000, 2_000, 2_000)!.killSwitch).to.equal(killSwitch);
    // yesterday's daily-loss kill switch, the measure changed at today's first reading: the new day ends it
    const dailyLoss = { kind: 'daily-loss' as const, reason: 'y', at: DAY1 };
    const rebased = rebaseRisk({ ...onAccount, killSwitch: dailyLoss }, 2_000, 2_000, 2_000)!;
    expect(rebased.killSwitch).to.equal(dailyLoss);
    const today = evaluateRisk(rebased, 2_000, 0, DAY2, risk);
    expect(today.cleared).to.equal(dailyLoss);
    expect(today.state).to.include({
      killSwitch: null,
      day: '2026-01-02',
      dayStartEquity: 2_000,
      equityPeak: 2_000,
    });
  });
});

describe('risk: which readings wait for the orders in flight to be synced', () => {
  const at = DAY1;
  const settled = { ...initialRiskState(), equityPeak: 10_000, day: '2026-01-01', dayStartEquity: 10_000 };
  const limits: RiskConfig = { ...risk, maxDrawdownPct: 10 };
  const none = { buys: 0, sells: 0 };

  it('a drawdown kill switch, when buys are in flight (their cost is out of the balance, their coins not counted)', () => {
    const dip = evaluateRisk(settled, 8_500, 0, at, limits);
    expect(dip.triggered?.kind).to.equal('max-drawdown');
    expect(needsSettledReading(settled, dip, { buys: 1, sells: 0 })).to.equal(true);
    // sells in flight can only make equity read high: a dip with them is real
    expect(needsSettledReading(settled, dip, { buys: 0, sells: 2 })).to.equal(false);
    expect(needsSettledReading(settled, dip, none)).to.equal(false);
  });

  it("a new day's start equity, with any order in flight; a new peak or an unchanged state never waits", () => {
    const nextDay = evaluateRisk(settled, 10_000, 0, at + 86_400_000, limits);
    expect(needsSettledReading(settled, nextDay, { buys: 1, sells: 0 })).to.equal(true);
    expect(needsSettledReading(settled, nextDay, { buys: 0, sells: 1 })).to.equal(true);
    expect(needsSettledReading(settled, nextDay, none)).to.equal(false);
    const high = evaluateRisk(settled, 12_000, 0, at, limits);
    expect(needsSettledReading(settled, high, { buys: 3, sells: 3 })).to.equal(false);
    const same = evaluateRisk(settled, 9_900, 0, at, limits);
    expect(needsSettledReading(settled, same, { buys: 5, sells: 5 })).to.equal(false);
  });
});

describe('risk: a new equity peak counts no sell in flight (capPeak)', () => {
  const before = { ...initialRiskState(), equityPeak: 10_000, day: '2026-01-01', dayStartEquity: 10_000 };

  it('raises the peak at most to the equity without the sells in flight, never lowers it', () => {
    const high = evaluateRisk(before, 12_000, 0, DAY1, risk);
    expect(capPeak(before, high, 12_000).state.equityPeak).to.equal(12_000); // no sell in flight
    expect(capPeak(before, high, 11_000).state.equityPeak).to.equal(11_000);
    expect(capPeak(before, high, 7_000).state.equityPeak).to.equal(10_000);
    const low = evaluateRisk(before, 9_000, 0, DAY1, risk);
    expect(capPeak(before, low, 5_000)).to.equal(low);
  });

  it('keeps what else the update says (a new day, a kill switch cleared)', () => {
    const nextDay = evaluateRisk(before, 12_000, 0, DAY2, risk);
    const capped = capPeak(before, nextDay, 11_000);
    expect(capped.state).to.include({ equityPeak: 11_000, day: nextDay.state.day, dayStartEquity: 12_000 });
  });
});

describe("risk: the exchange's clock going back across midnight", () => {
  const risk = TEST_RISK;
  const DAY1_END = Date.UTC(2026, 0, 1, 23, 59, 55);
  const DAY2_START = Date.UTC(2026, 0, 2, 0, 0, 5);
  const DAY3 = Date.UTC(2026, 0, 3, 0, 0, 5);

  it("does not end the new day's daily-loss kill switch: it ends with the day after its own", () => {
    let u = evaluateRisk(initialRiskState(), 10_000, 0, DAY2_START, risk);
    u = evaluateRisk(u.state, 9_000, -1_000, DAY2_START, risk);
    expect(u.triggered?.kind).to.equal('daily-loss');
    const back = evaluateRisk(u.state, 9_000, 0, DAY1_END, risk);
    expect(back.cleared).to.equal(undefined);
    expect(back.state.killSwitch?.kind).to.equal('daily-loss');
    const again = evaluateRisk(back.state, 9_000, -1_000, DAY2_START + 1_000, risk);
    expect(again.cleared).to.equal(undefined);
    expect(again.state.killSwitch?.kind).to.equal('daily-loss');
    expect(evaluateRisk(again.state, 9_000, 0, DAY3, risk).cleared?.kind).to.equal('daily-loss');
  });
});

describe('risk: an urgent exit after a refusal as too large for the book (sizeExitOrder depthCap)', () => {
  // at 50 000 the smallest sellable piece is 0.0001 BTC (the minimum order value 5)
  const PRICE = 50_000;
  const SMALLEST = 0.0001;

  it('sells at most half the refused piece while the rest stays sellable', () => {
    const size = sizeExitOrder(0.01, PRICE, btc, 'market', false, 0.002);
    expect(size).to.include({ ok: true, amount: 0.002, type: 'market' });
  });

  it('sells the last rest whole where no split leaves two sellable pieces and it is below the refused piece', () => {
    // 0.00015 held after a refusal of 0.0002 (cap 0.0001): a 0.0001 piece would leave 0.00005, dust no order sells
    const size = sizeExitOrder(0.00015, PRICE, btc, 'market', false, 0.0002 / 2);
    expect(size).to.include({ ok: true, amount: 0.00015, type: 'market' });
  });

  it('leaves such a rest in pieces no larger than the one refused (a whole as large was refused)', () => {
    // the smallest piece itself refused: the whole (larger than it) is not tried, the smallest piece is
    const size = sizeExitOrder(0.00015, PRICE, btc, 'market', false, SMALLEST / 2);
    expect(size).to.include({ ok: true, amount: SMALLEST, type: 'market' });
  });
});
