import { expect } from 'chai';
import { marketOrderLot, minimumAmount, orderMaximums } from '../../../src/trading/exchange/order-maximums';

/**
 * Each exchange's documented instrument answer, as ccxt 4.5 parses it into `limits` (binance.js, bybit.js
 * fetchSpotMarkets, okx.js parseMarket) with the answer kept in `info`.
 */
describe('order maximums: the largest order per type, read where each exchange documents it', () => {
  const binanceFilters = (applyMaxToMarket: boolean): unknown => ({
    filters: [
      { filterType: 'LOT_SIZE', minQty: '0.00001000', maxQty: '9000.00000000', stepSize: '0.00001000' },
      { filterType: 'MARKET_LOT_SIZE', minQty: '0.00000000', maxQty: '63.10000000', stepSize: '0.00000000' },
      {
        filterType: 'NOTIONAL',
        minNotional: '5.00000000',
        applyMinToMarket: true,
        maxNotional: '9000000.00000000',
        applyMaxToMarket,
        avgPriceMins: 5,
      },
    ],
  });
  const binanceLimits = {
    amount: { max: 9000 },
    market: { max: 63.1 },
    cost: { max: 9_000_000 },
  };

  it('Binance: LOT_SIZE binds every order, MARKET_LOT_SIZE a market one, maxNotional a market one only with applyMaxToMarket', () => {
    expect(orderMaximums('binance', { limits: binanceLimits, info: binanceFilters(false) })).to.deep.equal({
      limit: { amount: 9000, value: 9_000_000 },
      market: { amount: 63.1 },
    });
    expect(orderMaximums('binance', { limits: binanceLimits, info: binanceFilters(true) })).to.deep.equal({
      limit: { amount: 9000, value: 9_000_000 },
      market: { amount: 63.1, value: 9_000_000 },
    });
  });

  it("Binance: MARKET_LOT_SIZE minQty and stepSize as a market order's own rules, 0 for none; none elsewhere", () => {
    expect(marketOrderLot('binance', { info: binanceFilters(false) })).to.equal(undefined);
    const listed = {
      filters: [
        { filterType: 'MARKET_LOT_SIZE', minQty: '0.01000000', maxQty: '63.1', stepSize: '0.00100000' },
      ],
    };
    expect(marketOrderLot('binance', { info: listed })).to.deep.equal({ step: 0.001, min: 0.01 });
    const stepOnly = { filters: [{ filterType: 'MARKET_LOT_SIZE', minQty: '0', stepSize: '0.1' }] };
    expect(marketOrderLot('binance', { info: stepOnly })).to.deep.equal({ step: 0.1 });
    // Bybit and OKX list every order's step and minimum only
    expect(marketOrderLot('bybit', { info: listed })).to.equal(undefined);
    expect(marketOrderLot('okx', { info: listed })).to.equal(undefined);
  });

  it('Bybit: maxLimitOrderQty and maxMarketOrderQty by order type; the deprecated maxOrderQty/maxOrderAmt only without them', () => {
    // docs/v5/market/instrument.mdx, spot response example
    const lotSizeFilter = {
      basePrecision: '0.000001',
      quotePrecision: '0.0000001',
      minOrderQty: '0.000011',
      maxOrderQty: '83',
      minOrderAmt: '5',
      maxOrderAmt: '8000000',
      maxLimitOrderQty: '83',
      maxMarketOrderQty: '41.5',
      postOnlyMaxLimitOrderSize: '60000',
    };
    const limits = { amount: { max: 83 }, cost: { max: 8_000_000 } };
    expect(orderMaximums('bybit', { limits, info: { lotSizeFilter } })).to.deep.equal({
      limit: { amount: 83 },
      market: { amount: 41.5 },
    });
    // an older answer (ccxt's bybit.js example): maxOrderQty 63.01197227, maxOrderAmt 100000 for every order
    const older = { maxOrderQty: '63.01197227', maxOrderAmt: '100000' };
    expect(
      orderMaximums('bybit', {
        limits: { amount: { max: 63.01197227 }, cost: { max: 100_000 } },
        info: { lotSizeFilter: older },
      }),
    ).to.deep.equal({
      limit: { amount: 63.01197227, value: 100_000 },
      market: { amount: 63.01197227, value: 100_000 },
    });
  });

  it('OKX: maxLmtSz in base for a limit order, maxMktSz (USDT) and the USD amounts as values on a dollar quote only', () => {
    // public/instruments SPOT (maxMktSz "the quantity in USDT"; ccxt puts it in limits.cost.max)
    const info = {
      instId: 'BTC-USDT',
      maxLmtAmt: '20000000',
      maxLmtSz: '9999999999',
      maxMktAmt: '1000000',
      maxMktSz: '500000',
    };
    const limits = { amount: { max: 9_999_999_999 }, cost: { max: 500_000 } };
    expect(orderMaximums('okx', { quote: 'USDT', limits, info })).to.deep.equal({
      limit: { amount: 9_999_999_999, value: 20_000_000 },
      market: { value: 500_000 },
    });
    // BTC-EUR: USD and USDT maximums need a conversion the bot does not make; left out
    expect(
      orderMaximums('okx', { quote: 'EUR', limits, info: { ...info, instId: 'BTC-EUR' } }),
    ).to.deep.equal({
      limit: { amount: 9_999_999_999 },
    });
  });

  it('takes an empty, zero or missing maximum for none', () => {
    expect(orderMaximums('okx', { quote: 'USDT', info: { maxLmtSz: '', maxMktSz: '0' } })).to.equal(
      undefined,
    );
    expect(orderMaximums('bybit', { info: { lotSizeFilter: {} } })).to.equal(undefined);
    expect(orderMaximums('binance', { limits: {}, info: { filters: [] } })).to.equal(undefined);
    expect(orderMaximums('kraken', { limits: { amount: { max: 10 }, market: { max: 2 } } })).to.deep.equal({
      limit: { amount: 10 },
      market: { amount: 2 },
    });
  });

  it("the least amount: ccxt's limits.amount.min on Binance and OKX; one step on Bybit, whose minOrderQty is no longer checked", () => {
    const m = { limits: { amount: { min: 0.000011 } } };
    expect(minimumAmount('binance', m, 0.00001)).to.equal(0.000011);
    expect(minimumAmount('okx', m, 0.00001)).to.equal(0.000011);
    // instrument.mdx: minOrderQty "deprecated, no longer check minOrderQty, check minOrderAmt instead"
    expect(minimumAmount('bybit', m, 0.000001)).to.equal(0.000001);
    // none listed, or 0: one step
    expect(minimumAmount('binance', {}, 0.001)).to.equal(0.001);
    expect(minimumAmount('okx', { limits: { amount: { min: 0 } } }, 0.001)).to.equal(0.001);
  });
});
