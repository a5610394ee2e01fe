import { expect } from 'chai';
import fc from 'fast-check';
import {
  amountTolerance,
  ceilToStep,
  floorToStep,
  lotOf,
  roundToStep,
  sellableAmount,
  marketableSellPrice,
  sellableByExits,
  sellableByMarketOrder,
} from '../../../src/trading/exchange/precision';

const STEPS = [1, 0.5, 0.25, 0.1, 0.01, 0.001, 0.00001, 1e-8];

describe('precision: one grid for the bot and the paper exchange', () => {
  it('floors, ceils and rounds to the step without float noise', () => {
    expect(floorToStep(0.3, 0.1)).to.equal(0.3);
    expect(floorToStep(0.29999, 0.1)).to.equal(0.2);
    expect(floorToStep(1.23456789, 0.001)).to.equal(1.234);
    expect(ceilToStep(0.30000000001, 0.1)).to.equal(0.3);
    expect(ceilToStep(0.31, 0.1)).to.equal(0.4);
    expect(roundToStep(62035.535, 0.01)).to.equal(62035.54);
    expect(floorToStep(7.3, 0.25)).to.equal(7.25);
    // a quotient of 721081145.9999999: on the grid, not one step below it
    expect(floorToStep(7210.81146, 0.00001)).to.equal(7210.81146);
    expect(ceilToStep(7210.81146, 0.00001)).to.equal(7210.81146);
  });

  it('lands on the grid, never above the value when flooring nor below it when ceiling (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e5, noNaN: true }), fc.constantFrom(...STEPS), (value, step) => {
        const down = floorToStep(value, step);
        const up = ceilToStep(value, step);
        // within float noise of a grid line counts as on it (relative 1e-14 of the quotient)
        const tolerance = step * 1e-6 + value * 1e-13;
        expect(down).to.be.at.most(value + tolerance);
        expect(up).to.be.at.least(value - tolerance);
        // on the grid: a second pass changes nothing
        expect(floorToStep(down, step)).to.equal(down);
        expect(ceilToStep(up, step)).to.equal(up);
        expect(up - down).to.be.at.most(step + tolerance);
      }),
    );
  });

  it('sells whole steps only, and nothing below the market minimum (dust stays)', () => {
    const market = { amountStep: 0.00001, minAmount: 0.0001 };
    expect(sellableAmount(0.0016384, market)).to.equal(0.00163);
    expect(sellableAmount(0.0000999, market)).to.equal(0);
    expect(sellableAmount(0.000009, { amountStep: 0.00001, minAmount: 0.00001 })).to.equal(0);
  });

  it('given a price, sells nothing worth less than the minimum order value there', () => {
    const market = { amountStep: 0.00001, minAmount: 0.00001, minNotional: 5 };
    expect(sellableAmount(0.0000399, market, 60_000)).to.equal(0); // 0.00003 × 60,000 = 1.80
    expect(sellableAmount(0.0000399, market, 200_000)).to.equal(0.00003); // 6.00
    expect(sellableAmount(0.0000399, market)).to.equal(0.00003);
  });

  it("a market order's own step and minimum (Binance MARKET_LOT_SIZE) join every order's: the common grid, the higher minimum (lotOf)", () => {
    const market = { amountStep: 0.00001, minAmount: 0.0001 };
    expect(lotOf(market, 'market')).to.equal(market);
    const lotted = { ...market, marketLot: { step: 0.001, min: 0.002 } };
    expect(lotOf(lotted, 'limit')).to.equal(lotted);
    expect(lotOf(lotted, 'market')).to.include({ amountStep: 0.001, minAmount: 0.002 });
    // a market step finer than LOT_SIZE's, a minimum lower: every order's still bind
    expect(lotOf({ ...market, marketLot: { step: 1e-8, min: 1e-8 } }, 'market')).to.include(market);
    // steps that are no multiple of each other: a quantity must be on both grids
    expect(lotOf({ amountStep: 0.1, minAmount: 0.1, marketLot: { step: 0.25 } }, 'market')).to.include({
      amountStep: 0.5,
      minAmount: 0.5,
    });
    // what a market order can sell of a held amount: on its grid, nothing below its minimum (dust stays)
    expect(sellableByMarketOrder(0.0036384, lotted, undefined)).to.equal(0.003);
    expect(sellableByMarketOrder(0.0019999, lotted, undefined)).to.equal(0);
  });

  it("what the exits sell of a held amount: whole market steps at market, the rest by a limit on every order's grid (sellableByExits)", () => {
    const market = { amountStep: 0.00001, minAmount: 0.0001, minNotional: 5, priceStep: 0.01 };
    const lotted = { ...market, marketLot: { step: 0.001, min: 0.002 } };
    // 0.003 at market, 0.00063 by a limit; below LOT_SIZE's step is dust
    expect(sellableByExits(0.0036384, lotted, undefined)).to.equal(0.00363);
    // below the market minimum, all of it by a limit
    expect(sellableByExits(0.0019999, lotted, undefined)).to.equal(0.00199);
    // the limit's part is valued at the marketable price: 0.0001 is worth 5.10 at 51,000 and 4.99 at 2 % under it
    expect(marketableSellPrice(51_000, lotted)).to.equal(49_980);
    expect(sellableByExits(0.0001, lotted, 51_000)).to.equal(0);
    expect(sellableByExits(0.00011, lotted, 51_000)).to.equal(0.00011);
    // and with nothing a market order cannot sell, it is what a market order sells
    expect(sellableByExits(0.0036384, market, 60_000)).to.equal(
      sellableByMarketOrder(0.0036384, market, 60_000),
    );
    expect(sellableByExits(0.0000999, market, 60_000)).to.equal(0);
  });

  it("an order's amounts count as the same within 1e-9 of its amount, at least 1e-12 (amountTolerance)", () => {
    expect(amountTolerance(2)).to.equal(2e-9);
    expect(amountTolerance(0.0001)).to.equal(1e-12);
    // 0.1 + 0.2 booked against a fill of 0.3: the same amount
    expect(0.1 + 0.2 - 0.3).to.be.at.most(amountTolerance(0.3));
  });
});
