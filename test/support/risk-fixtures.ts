/** The market and risk limits the pure decision tests (risk, symbol decision) share. */
import type { Market } from '../../src/trading/exchange/exchange';
import type { RiskConfig } from '../../src/trading/engine/decide/risk';

/** BTC/USDT with Binance's spot rules (amount step 0.00001, tick 0.01, 5 USDT minimum). */
export const BTC_MARKET: Market = {
  symbol: 'BTC/USDT',
  base: 'BTC',
  quote: 'USDT',
  amountStep: 0.00001,
  priceStep: 0.01,
  minAmount: 0.00001,
  minNotional: 5,
};

export const TEST_RISK: RiskConfig = {
  stakePerTrade: 100,
  maxOpenPositions: 2,
  stopLossPct: 2,
  takeProfitPct: 3,
  maxDrawdownPct: 20,
  maxDailyLossPct: 10,
};
