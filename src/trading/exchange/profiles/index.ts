/** The exchanges live mode is verified on, by ccxt id. */
import { binanceProfile } from './binance';
import { bybitProfile } from './bybit';
import type { ExchangeProfile } from './exchange-profile';
import { okxProfile } from './okx';

export type { ExchangeProfile } from './exchange-profile';

export const EXCHANGE_PROFILES: Readonly<Record<string, ExchangeProfile>> = {
  binance: binanceProfile,
  bybit: bybitProfile,
  okx: okxProfile,
};

export function profileFor(exchangeId: string): ExchangeProfile | undefined {
  return Object.hasOwn(EXCHANGE_PROFILES, exchangeId) ? EXCHANGE_PROFILES[exchangeId] : undefined;
}

export function verifiedExchangeIds(): string[] {
  return Object.keys(EXCHANGE_PROFILES).sort();
}
