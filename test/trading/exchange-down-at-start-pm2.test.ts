/**
 * Network missing at boot (found in the field, review 31f): trading starts live under a real PM2 while the exchange's host
 * refuses connections (nothing listens on its port yet), then the exchange comes up on that port. Real ccxt against
 * the local Binance double. Trading must stay up (no crash loop), say what it waits for, place nothing before the
 * exchange has answered, and trade once it answers (sound on main).
 *
 * The start step logs its wait once per read and change of its error (start-up.ts). It logged under one once-log key
 * for both reads, each failing with its own words (its URL), so the two took turns and every retry of either was a
 * new warn line: about two lines per backoff step for the whole outage (a night without network: two lines a minute
 * at the 60 s cap). @slow
 */
import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { binanceKit } from '../../harness/exchanges/exchange-kits';
import type { LocalExchange } from '../../harness/exchanges/local-exchange';
import { Pm2Harness, eventually } from '../../harness/pm2';
import { freePort } from '../../harness/ports';
import { liveDaemonEnv } from '../support/live-engine';
import { startShippedTrading, tradingLogs } from '../support/pm2-trading';

const IPC_TOKEN = 'exchange-down-ipc-token-0123456789';
/** At least four attempts of each read (backoff 1, 2, 4 s). */
const OUTAGE_MS = 9_000;

describe('a live start with the exchange refusing connections, then back, under real PM2 @slow', function () {
  this.timeout(120_000);
  let pm2: Pm2Harness;
  let fake: LocalExchange | undefined;
  let waitLinesDuringOutage: string[] = [];
  let restartsDuringOutage = -1;

  const tradingLog = (): string => tradingLogs(pm2);

  before(async () => {
    pm2 = Pm2Harness.create('bn-exdown-');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    await startShippedTrading(
      pm2,
      {
        ...liveDaemonEnv(binanceKit, url),
        BYNINJA__TRADING__STRATEGY__NAME: 'rsi-mean-reversion',
        BYNINJA__TRADING__STRATEGY__RSI_MEAN_REVERSION__PERIOD: '3',
        BYNINJA__TRADING__STRATEGY__RSI_MEAN_REVERSION__OVERSOLD: '55',
        BYNINJA__TRADING__STRATEGY__RSI_MEAN_REVERSION__OVERBOUGHT: '56',
        BYNINJA__TRADING__TICK_INTERVAL_MS: '200',
      },
      IPC_TOKEN,
    );
    await eventually(() => /Waiting for binance/.test(tradingLog()), 30_000, 'the wait said');
    await sleep(OUTAGE_MS);
    waitLinesDuringOutage = tradingLog()
      .split('\n')
      .filter((l) => /warn .*Waiting for binance/.test(l));
    restartsDuringOutage = (await pm2.info('trading'))!.restarts;
    // the network is back: the exchange answers on the port trading was told
    fake = await binanceKit.start({ candleMs: 400, balances: { USDT: 10_000 }, port });
  });

  after(async () => {
    await pm2?.stop();
    await fake?.close();
  });

  it('stays up, says what it waits for, sends no order before the exchange answered, then trades (sound)', async () => {
    expect(restartsDuringOutage).to.equal(0);
    expect(waitLinesDuringOutage.join('\n')).to.match(/ECONNREFUSED/);
    await eventually(
      () => /✅ trading ready/.test(tradingLog()),
      60_000,
      'trading ready once the exchange answers',
    );
    await eventually(
      () => fake!.createRequests().length > 0,
      60_000,
      'an order placed after the outage',
      200,
    );
    expect(tradingLog()).to.match(/Exchange reachable again/);
  });

  it('logs the wait once while the failure stays the same (not once per retry of each read)', () => {
    expect(waitLinesDuringOutage.length, waitLinesDuringOutage.join('\n')).to.be.at.most(2);
  });
});
