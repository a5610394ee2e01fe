/**
 * The verified exchanges as the live tests see them: each kit starts that exchange's local double (built from its
 * public API documentation) and knows its profile. Every kit runs the same live tests.
 */
import { binanceProfile } from '../../src/trading/exchange/profiles/binance';
import { bybitProfile } from '../../src/trading/exchange/profiles/bybit';
import { okxProfile } from '../../src/trading/exchange/profiles/okx';
import { FakeBinance } from './fake-binance';
import { FakeBybit } from './fake-bybit';
import { FakeOkx } from './fake-okx';
import type { FakeExchangeOptions } from './fake-exchange-server';
import type { ExchangeKit, LocalExchangeOptions } from './local-exchange';

/** What every double takes alike from the exchange-neutral options. */
function shellOptions(o: LocalExchangeOptions): FakeExchangeOptions {
  return {
    balances: o.balances,
    symbols: o.symbols,
    candleMs: o.candleMs,
    lookupLagMs: o.lookupLagMs,
    balanceLagMs: o.balanceLagMs,
    limitFillSlices: o.limitFillSlices,
    marketFillParts: o.marketFillParts,
    marketBookShare: o.marketBookShare,
    matchIntervalMs: o.matchIntervalMs,
    makerFeeRate: o.makerFeeRate,
    port: o.port,
  };
}

const BINANCE_CREDENTIALS = { apiKey: 'kit-binance-key-0123456789', secret: 'kit-binance-secret-0123456789' };

export const binanceKit: ExchangeKit = {
  id: 'binance',
  profile: binanceProfile,
  credentials: BINANCE_CREDENTIALS,
  start: (o) =>
    FakeBinance.start({
      ...BINANCE_CREDENTIALS,
      ...shellOptions(o),
      feeAsset: o.thirdCurrencyFees ? 'BNB' : 'received',
      lotMaxQty: o.maxOrder?.limit,
      marketMaxQty: o.maxOrder?.market,
    }),
  thirdCurrency: { asset: 'BNB', market: 'BNB/USDT' },
  marketMaximumIn: 'base',
  withRecvWindow: (ms) => ({
    ...binanceProfile,
    recvWindowMs: ms,
    ccxtOptions: { ...binanceProfile.ccxtOptions, recvWindow: ms },
  }),
};

const BYBIT_CREDENTIALS = { apiKey: 'kit-bybit-key-0123456789', secret: 'kit-bybit-secret-0123456789' };

export const bybitKit: ExchangeKit = {
  id: 'bybit',
  profile: bybitProfile,
  credentials: BYBIT_CREDENTIALS,
  start: (o) =>
    FakeBybit.start({
      ...BYBIT_CREDENTIALS,
      ...shellOptions(o),
      maxLimitOrderQty: o.maxOrder?.limit,
      maxMarketOrderQty: o.maxOrder?.market,
    }),
  // Bybit spot takes fees in the coin received only: no third currency
  marketMaximumIn: 'base',
  withRecvWindow: (ms) => ({
    ...bybitProfile,
    recvWindowMs: ms,
    ccxtOptions: { ...bybitProfile.ccxtOptions, recvWindow: ms },
  }),
};

const OKX_CREDENTIALS = {
  apiKey: 'kit-okx-key-0123456789',
  secret: 'kit-okx-secret-0123456789',
  password: 'kit-okx-passphrase-0123',
};

export const okxKit: ExchangeKit = {
  id: 'okx',
  profile: okxProfile,
  credentials: OKX_CREDENTIALS,
  start: (o) =>
    FakeOkx.start({
      apiKey: OKX_CREDENTIALS.apiKey,
      secret: OKX_CREDENTIALS.secret,
      passphrase: OKX_CREDENTIALS.password,
      ...shellOptions(o),
      maxLmtSz: o.maxOrder?.limit,
      maxMktSz: o.maxOrder?.market,
    }),
  // OKX takes spot fees in the currency received (or all in the quote): no third fee currency
  thirdCurrency: undefined,
  marketMaximumIn: 'quote',
  // OKX's request window is fixed (30 s, not sent by the client): a test only shortens the grace the rule adds
  withRecvWindow: (ms) => ({ ...okxProfile, recvWindowMs: ms }),
};

export const EXCHANGE_KITS: readonly ExchangeKit[] = [binanceKit, bybitKit, okxKit];
