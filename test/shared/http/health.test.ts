import { expect } from 'chai';
import { readinessAnswer } from '../../../src/shared/http/health';
import { staleTickMs, tradingHealth, type TradingHealthInput } from '../../../src/trading/control/health';
import { telegramHealth } from '../../../src/telegram/health';

const NOW = 1_000_000;
const base: TradingHealthInput = {
  loopState: 'running',
  exchangeId: 'binance',
  exchangeReachable: true,
  lastTickAt: NOW - 2_000,
  now: NOW,
  staleTickMs: 30_000,
};

describe('readiness (pure)', () => {
  it('trading is ready when recovered, ticking and the exchange answers; paused is still ready', () => {
    expect(tradingHealth(base).ready).to.equal(true);
    expect(tradingHealth({ ...base, loopState: 'paused', pausedReason: 'operator' }).ready).to.equal(true);
    expect(readinessAnswer(tradingHealth(base), NOW).status).to.equal(200);
  });

  it('trading is not ready (503) while waiting for the exchange, recovering, not ticking, or the exchange fails', () => {
    const cases: Array<[Partial<TradingHealthInput>, string]> = [
      [
        { loopState: 'waiting-exchange', exchangeReachable: false, exchangeError: 'ECONNREFUSED' },
        'recovered',
      ],
      [{ loopState: 'recovering' }, 'recovered'],
      [{ lastTickAt: NOW - 31_000 }, 'ticking'],
      [{ lastTickAt: null }, 'ticking'],
      [
        { exchangeReachable: false, exchangeUnreachableSince: NOW - 40_000, exchangeError: 'timeout' },
        'exchange',
      ],
    ];
    for (const [change, failing] of cases) {
      const report = tradingHealth({ ...base, ...change });
      expect(report.ready, JSON.stringify(change)).to.equal(false);
      expect(report.checks.find((c) => !c.ok)!.name).to.equal(failing);
      expect(readinessAnswer(report, NOW).status).to.equal(503);
    }
    const down = tradingHealth({
      ...base,
      exchangeReachable: false,
      exchangeUnreachableSince: NOW - 40_000,
      exchangeError: 'timeout',
    });
    expect(down.checks[2]!.detail).to.equal('binance unreachable for 40 s: timeout');
  });

  it('an exchange refusing the API key is not ready, told as the key refused, not as unreachable', () => {
    const report = tradingHealth({
      ...base,
      loopState: 'waiting-exchange',
      exchangeReachable: false,
      exchangeUnreachableSince: NOW - 40_000,
      exchangeKeyRefused: true,
      exchangeError: 'okx refuses the API key: check EXCHANGE_API_KEY (okx 50111: Invalid OK-ACCESS-KEY.)',
    });
    expect(report.ready).to.equal(false);
    expect(report.checks[2]!.detail).to.equal(
      'binance refuses the API key for 40 s: okx refuses the API key: check EXCHANGE_API_KEY (okx 50111: Invalid OK-ACCESS-KEY.)',
    );
  });

  it("an exchange refusing the account's requests is told as that, not as the API key", () => {
    const error = "bybit refuses the account's requests (code 170224, not the API key): the Innovation Zone";
    const report = tradingHealth({
      ...base,
      loopState: 'waiting-exchange',
      exchangeReachable: false,
      exchangeUnreachableSince: NOW - 40_000,
      exchangeKeyRefused: true,
      exchangeAccountRefused: true,
      exchangeError: error,
    });
    expect(report.checks[2]!.detail).to.equal(`binance refuses the account's requests for 40 s: ${error}`);
  });

  it('a tick is stale after three rounds of tick and reads, at least 30 s', () => {
    expect(staleTickMs(2_000, 5_000)).to.equal(36_000);
    expect(staleTickMs(100, 1_000)).to.equal(30_000);
  });

  it('telegram is ready when started and on the PM2 bus; trading down or Telegram refusing are notes only', () => {
    const ok = telegramHealth({
      started: true,
      busConnected: true,
      tradingLinkUp: false,
      delivery: { alerts: 'log', logOnlyReason: 'no-token' },
    });
    expect(ok.ready).to.equal(true);
    expect(ok.notes.map((n) => [n.name, n.ok])).to.deep.equal([
      ['trading-link', false],
      ['alerts', false],
    ]);
    expect(
      telegramHealth({
        started: true,
        busConnected: false,
        tradingLinkUp: true,
        delivery: { alerts: 'telegram' },
      }).ready,
    ).to.equal(false);
    expect(
      telegramHealth({
        started: false,
        busConnected: true,
        tradingLinkUp: true,
        delivery: { alerts: 'telegram' },
      }).ready,
    ).to.equal(false);
  });
});
