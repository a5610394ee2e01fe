import { expect } from 'chai';
import { createTradingMetrics } from '../../../src/trading/control/metrics';
import { emptyBook } from '../../../src/trading/engine/books/pnl';
import { FakeClock } from '../../support/fake-clock';
import { tradingMetricsDeps } from '../../support/trading-metrics-deps';

describe('trading metrics', () => {
  it("counts today's realized PnL on the exchange's day, the day fills are dated on", async () => {
    // the host 2 min ahead: host 00:01:40 on Dec 3, the exchange 23:59:40 on Dec 2
    const host = new FakeClock(Date.UTC(2026, 11, 3, 0, 1, 40));
    const books = {
      'BTC/USDT': { ...emptyBook('BTC/USDT'), realizedPnl: -30, realizedByDay: { '2026-12-02': -30 } },
    };
    const { registry } = createTradingMetrics(
      tradingMetricsDeps({
        orderBook: { hotOrders: () => [], positions: () => books, openPositions: () => [] },
        mode: 'live',
        exchangeId: 'binance',
        clock: host,
        exchangeClock: new FakeClock(host.now() - 120_000),
      }),
    );
    const pnl = (await registry.getMetricsAsJSON()).find((m) => m.name === 'byninja_realized_pnl')!;
    const today = pnl.values.find((v) => v.labels.period === 'today')!;
    expect(today.value).to.equal(-30);
  });
});
