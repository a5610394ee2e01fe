/**
 * What createTradingMetrics reads, for tests of the metrics alone: an idle paper engine (running, no orders, no
 * positions) on the real clock, each part replaceable.
 */
import { systemClock } from '../../src/shared/clock';
import type { TradingMetricsDeps } from '../../src/trading/control/metrics';

export function tradingMetricsDeps(over: Partial<TradingMetricsDeps> = {}): TradingMetricsDeps {
  return {
    loop: {
      snapshot: () => ({
        loopState: 'running',
        pause: null,
        lastTickAt: 0,
        exchangeReachable: true,
        equity: 1,
        quoteCurrency: 'USDT',
        lastPrices: {},
        balance: null,
        announcedStale: {},
      }),
    },
    orderBook: { hotOrders: () => [], positions: () => ({}), openPositions: () => [] },
    lastExit: { kind: 'clean' },
    mode: 'paper',
    exchangeId: 'paper',
    version: '1',
    ipcClients: () => 0,
    lastEventSeq: () => 0,
    clock: systemClock,
    exchangeClock: systemClock,
    ...over,
  };
}
