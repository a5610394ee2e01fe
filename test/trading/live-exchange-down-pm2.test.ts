/**
 * Live mode under real PM2 with the exchange down at start (nothing listens on its port): trading comes up and
 * waits — no restart, one alert, its status says so — and trades once the exchange answers. (It was the last suite
 * of live-exchanges-pm2.test.ts, in a file of its own so mocha's workers can run it beside the exchanges' ones.)
 */
import { expect } from 'chai';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TradingEvent } from '../../src/shared/ipc/protocol';
import { EXCHANGE_KITS } from '../../harness/exchanges/exchange-kits';
import type { LocalExchange } from '../../harness/exchanges/local-exchange';
import { DAEMON_SCRIPTS, Pm2Harness, eventually } from '../../harness/pm2';
import { freePort } from '../../harness/ports';
import { liveDaemonEnv } from '../support/live-engine';
import { callOverTcp, readJsonl } from '../support/trading-files';

const TOKEN = 'pm2-live-token-0123456789abcdef';

describe('live mode with the exchange down at start, under real PM2 @slow', function () {
  this.timeout(120_000);
  const kit = EXCHANGE_KITS[0];
  let pm2: Pm2Harness;
  let fake: LocalExchange | undefined;

  before(() => {
    pm2 = Pm2Harness.create('byninja-down-');
  });
  after(async () => {
    await pm2.stop();
    await fake?.close();
  });

  it('comes up and waits (0 restarts, one alert, status says so), then trades once the exchange answers', async () => {
    const exchangePort = await freePort();
    const port = await freePort();
    await pm2.startScript('trading', DAEMON_SCRIPTS.trading, {
      env: {
        // nothing listens there yet: the network or the exchange is down at boot
        ...liveDaemonEnv(kit, `http://127.0.0.1:${exchangePort}`),
        BYNINJA_IPC_PORT: String(port),
        BYNINJA_IPC_TOKEN: TOKEN,
        BYNINJA__TRADING__UNREACHABLE_ALERT_MS: '1000',
        BYNINJA__TRADING__STRATEGY__NAME: 'rsi-mean-reversion',
        BYNINJA__TRADING__STRATEGY__RSI_MEAN_REVERSION__PERIOD: '3',
        BYNINJA__TRADING__STRATEGY__RSI_MEAN_REVERSION__OVERSOLD: '55',
        BYNINJA__TRADING__STRATEGY__RSI_MEAN_REVERSION__OVERBOUGHT: '56',
        BYNINJA__TRADING__TICK_INTERVAL_MS: '200',
      },
    });
    // its TCP layer answers while it waits, and says what it waits for
    const waiting = await eventually(
      async () => {
        const status = await callOverTcp(port, TOKEN, (client) => client.call('status', {}));
        return status.loopState === 'waiting-exchange' && status.exchangeError ? status : undefined;
      },
      30_000,
      'status "waiting-exchange"',
      300,
    );
    expect(waiting.exchangeReachable).to.equal(false);
    const events = (): TradingEvent[] => readJsonl<TradingEvent>(path.join(pm2.dataDir, 'events.jsonl'));
    await eventually(() => events().some((e) => e.type === 'exchange.unreachable'), 20_000, 'one alert');
    await sleep(4_000);
    expect((await pm2.info('trading'))!.restarts, 'restarts while waiting').to.equal(0);
    expect(events().filter((e) => e.type === 'exchange.unreachable')).to.have.length(1);

    fake = await kit.start({ candleMs: 400, balances: { USDT: 10_000 }, port: exchangePort });
    await eventually(() => fake!.createRequests().length > 0, 60_000, 'an order once the exchange answers');
    const status = await callOverTcp(port, TOKEN, (client) => client.call('status', {}));
    expect(status.loopState).to.be.oneOf(['running', 'paused']);
    expect(status.exchangeReachable).to.equal(true);
    expect(events().filter((e) => e.type === 'exchange.unreachable')).to.have.length(1);
    expect(events().filter((e) => e.type === 'exchange.recovered')).to.have.length(1);
    expect((await pm2.info('trading'))!.restarts).to.equal(0);
  });
});
