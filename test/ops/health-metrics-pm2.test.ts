/**
 * /health and /metrics of both daemons under real PM2: the status codes follow what happens to the service — a
 * SIGSTOP of trading (no answer at all; a monitor's timeout counts it down), an exchange that does not answer
 * (503, "waiting for binance" / "unreachable"), and back (200).
 */
import { expect } from 'chai';
import { EXCHANGE_KITS } from '../../harness/exchanges/exchange-kits';
import { httpGet, metricValue } from '../../harness/http-get';
import type { LocalExchange } from '../../harness/exchanges/local-exchange';
import { DAEMON_SCRIPTS, Pm2Harness, eventually } from '../../harness/pm2';
import { freePort } from '../../harness/ports';
import { liveDaemonEnv } from '../support/live-engine';

const TOKEN = 'health-test-token-0123456789abcdef';

describe('health and metrics endpoints under real PM2 @slow', function () {
  this.timeout(120_000);
  let pm2: Pm2Harness;
  let fake: LocalExchange | undefined;
  let stoppedPid: number | undefined;

  beforeEach(() => {
    pm2 = Pm2Harness.create('byninja-http-');
  });
  afterEach(async () => {
    if (stoppedPid) process.kill(stoppedPid, 'SIGCONT');
    stoppedPid = undefined;
    await pm2.stop();
    await fake?.close();
    fake = undefined;
  });

  it('paper pair: 200 and the metrics; trading SIGSTOPped answers nothing, SIGCONT → 200 again', async () => {
    const [ipcPort, tradingHttp, telegramHttp] = await Promise.all([freePort(), freePort(), freePort()]);
    const env = {
      BYNINJA_IPC_PORT: String(ipcPort),
      BYNINJA_IPC_TOKEN: TOKEN,
      BYNINJA__HTTP__ENABLED: 'true',
      BYNINJA__HTTP__TRADING_PORT: String(tradingHttp),
      BYNINJA__HTTP__TELEGRAM_PORT: String(telegramHttp),
      BYNINJA__TRADING__PAPER__CANDLE_MS: '100',
      BYNINJA__TRADING__TICK_INTERVAL_MS: '100',
      BYNINJA__TRADING__STRATEGY__NAME: 'rsi-mean-reversion',
      BYNINJA__TRADING__STRATEGY__RSI_MEAN_REVERSION__PERIOD: '3',
      BYNINJA__TRADING__STRATEGY__RSI_MEAN_REVERSION__OVERSOLD: '55',
      BYNINJA__TRADING__STRATEGY__RSI_MEAN_REVERSION__OVERBOUGHT: '56',
    };
    await pm2.startScript('telegram', DAEMON_SCRIPTS.telegram, { env });
    await pm2.startScript('trading', DAEMON_SCRIPTS.trading, { env });

    const ready = await eventually(
      async () => {
        const answer = await httpGet(tradingHttp, '/health');
        return answer?.status === 200 ? answer : undefined;
      },
      30_000,
      'trading /health 200',
    );
    const body = JSON.parse(ready.body) as { status: string; checks: Array<{ name: string; ok: boolean }> };
    expect(body.status).to.equal('ready');
    expect(body.checks.map((c) => c.name)).to.deep.equal(['recovered', 'ticking', 'exchange']);
    expect((await httpGet(tradingHttp, '/health/live'))?.status).to.equal(200);
    expect((await httpGet(tradingHttp, '/nope'))?.status).to.equal(404);

    // orders have been placed and filled: the engine's numbers are in the metrics
    const metrics = await eventually(
      async () => {
        const answer = await httpGet(tradingHttp, '/metrics');
        return answer && /byninja_orders\{status="filled",service="trading"\}/.test(answer.body)
          ? answer
          : undefined;
      },
      30_000,
      'a filled order in the metrics',
    );
    expect(metrics.contentType).to.match(/^text\/plain; version=0\.0\.4/);
    const m = metrics.body;
    expect(metricValue(m, 'byninja_exchange_reachable{service="trading"}')).to.equal(1);
    expect(metricValue(m, 'byninja_trading_loop_state{state="running",service="trading"}')).to.equal(1);
    expect(metricValue(m, 'byninja_trading_last_tick_age_seconds{service="trading"}')).to.be.within(0, 5);
    expect(metricValue(m, 'byninja_equity{quote="USDT",service="trading"}')).to.be.greaterThan(0);
    expect(metricValue(m, 'byninja_restarts_total{service="trading"}')).to.equal(0);
    expect(metricValue(m, 'byninja_last_exit{kind="first-start",service="trading"}')).to.equal(1);
    expect(m).to.match(
      /byninja_exchange_call_duration_seconds_count\{service="trading",method="fetchTicker",outcome="ok"\} \d+/,
    );
    // recovery's calls, made before ready (the registry starts just after it): held and counted all the same
    expect(m).to.match(
      /byninja_exchange_call_duration_seconds_count\{service="trading",method="fetchRecentOrders",outcome="ok"\} [1-9]/,
    );
    expect(m).to.match(/byninja_realized_pnl\{period="total",service="trading"\} -?\d/);
    expect(m).to.match(/byninja_open_positions\{service="trading"\} \d/);
    expect(m).to.match(/nodejs_eventloop_lag_seconds\{service="trading"\} \d/);

    const tg = await eventually(
      async () => {
        const answer = await httpGet(telegramHttp, '/metrics');
        return answer && metricValue(answer.body, 'byninja_trading_link_up{service="telegram"}') === 1
          ? answer.body
          : undefined;
      },
      30_000,
      'telegram linked to trading',
    );
    expect(metricValue(tg, 'byninja_pm2_bus_connected{service="telegram"}')).to.equal(1);
    expect(metricValue(tg, 'byninja_pm2_app_up{app="trading",service="telegram"}')).to.equal(1);
    expect(metricValue(tg, 'byninja_pm2_app_restarts{app="trading",service="telegram"}')).to.equal(0);
    expect(metricValue(tg, 'byninja_outbox_depth{service="telegram"}')).to.be.a('number');
    expect(tg).to.match(/byninja_alert_delivery_seconds_count\{service="telegram"\} \d+/);
    expect((await httpGet(telegramHttp, '/health'))?.status).to.equal(200);

    // a stopped process: the kernel accepts the connection, nobody answers — a monitor's timeout says "down"
    const trading = await pm2.waitFor('trading', (p) => p.status === 'online' && p.pid > 0);
    process.kill(trading.pid, 'SIGSTOP');
    stoppedPid = trading.pid;
    expect(await httpGet(tradingHttp, '/health', 1_500)).to.equal(null);
    expect(await httpGet(tradingHttp, '/health/live', 1_500)).to.equal(null);
    // telegram is its own process: it answers, and still ready (it alerts while trading is away)
    expect((await httpGet(telegramHttp, '/health'))?.status).to.equal(200);
    process.kill(trading.pid, 'SIGCONT');
    stoppedPid = undefined;
    await eventually(
      async () => (await httpGet(tradingHttp, '/health'))?.status === 200,
      20_000,
      '200 after SIGCONT',
    );
  });

  it('live trading: 503 while the exchange does not answer, 200 once it does, 503 when it goes away again', async () => {
    const kit = EXCHANGE_KITS[0]!;
    const [exchangePort, ipcPort, tradingHttp] = await Promise.all([freePort(), freePort(), freePort()]);
    await pm2.startScript('trading', DAEMON_SCRIPTS.trading, {
      env: {
        // nothing listens there yet
        ...liveDaemonEnv(kit, `http://127.0.0.1:${exchangePort}`),
        BYNINJA_IPC_PORT: String(ipcPort),
        BYNINJA_IPC_TOKEN: TOKEN,
        BYNINJA__HTTP__ENABLED: 'true',
        BYNINJA__HTTP__TRADING_PORT: String(tradingHttp),
        BYNINJA__TRADING__TICK_INTERVAL_MS: '200',
        BYNINJA__TRADING__SYMBOL_READ_TIMEOUT_MS: '1000',
      },
    });
    const waiting = await eventually(
      async () => {
        const answer = await httpGet(tradingHttp, '/health');
        return answer?.status === 503 && answer.body.includes('unreachable') ? answer : undefined;
      },
      30_000,
      '503 while waiting for the exchange',
    );
    const checks = (
      JSON.parse(waiting.body) as { checks: Array<{ name: string; ok: boolean; detail: string }> }
    ).checks;
    expect(checks.find((c) => c.name === 'recovered')).to.include({
      ok: false,
      detail: 'waiting for binance before recovering',
    });
    expect(checks.find((c) => c.name === 'exchange')!.ok).to.equal(false);
    const down = await httpGet(tradingHttp, '/metrics');
    expect(metricValue(down!.body, 'byninja_exchange_reachable{service="trading"}')).to.equal(0);
    expect(
      metricValue(down!.body, 'byninja_trading_loop_state{state="waiting-exchange",service="trading"}'),
    ).to.equal(1);
    // the liveness probe says alive: a restart would not bring the exchange back
    expect((await httpGet(tradingHttp, '/health/live'))?.status).to.equal(200);

    fake = await kit.start({ candleMs: 400, balances: { USDT: 10_000 }, port: exchangePort });
    await eventually(
      async () => (await httpGet(tradingHttp, '/health'))?.status === 200,
      90_000,
      '200 once it answers',
    );

    await fake.close();
    fake = undefined;
    const gone = await eventually(
      async () => {
        const answer = await httpGet(tradingHttp, '/health');
        return answer?.status === 503 ? answer : undefined;
      },
      30_000,
      '503 once the exchange is gone',
    );
    expect(gone.body).to.include('binance unreachable');
    expect((await pm2.info('trading'))!.restarts).to.equal(0);
  });
});
