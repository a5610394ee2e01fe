/**
 * Review 33b (field: a server reboot where the data dir is not there yet — BYNINJA_DATA_DIR on a network or USB
 * mount that comes up after PM2 resurrects the pair, or a mount that failed). Real trading daemon under a real PM2,
 * real ccxt against the local Binance double.
 *
 * DEFECT (open, not fixed here; proposal in the review report): a live start whose data dir does not exist creates
 * it and starts on an empty state with a new install id. The account's positions of the hidden state then have no
 * stop-loss watch for as long as the mount is missing, the strategy may buy again on top of them, and what the
 * fresh state opens is orphaned once the mount is back (the real state adopts only OPEN orders of another install;
 * filled ones and their positions are nobody's). `npm start` creates the data dir (ecosystem.config.js) before PM2
 * starts anything, so a live trading that finds it missing at its own start is never a first install: it should
 * refuse (configuration error, exit 78, no restart loop) naming BYNINJA_DATA_DIR and the mount, and create nothing.
 * Fails on main (checked with \`it\`): trading recreates the directory, logs "No state file … starting from
 * defaults", is ready in ~150 ms and sends two orders of a new install id on the account that holds the hidden
 * state's position. Telegram makes it worse at boot: both services start at once and telegram's runService creates
 * the missing data dir too (ensurePrivateDir), so a check "dir missing" in trading alone would race it. @slow
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { systemClock } from '../../src/shared/clock';
import { Pm2Client } from '../../src/ops/pm2-client';
import { binanceKit } from '../../harness/exchanges/exchange-kits';
import type { LocalExchange } from '../../harness/exchanges/local-exchange';
import { DAEMON_SCRIPTS, Pm2Harness, eventually } from '../../harness/pm2';
import { freePort } from '../../harness/ports';
import { liveDaemonEnv } from '../support/live-engine';
import { waitForApp } from '../support/pm2-apps';

const IPC_TOKEN = 'data-dir-missing-ipc-token-012345678';

describe('a live restart whose data dir is missing (a mount not up at boot), under real PM2 @slow', function () {
  this.timeout(150_000);
  let pm2: Pm2Harness;
  let client: Pm2Client;
  let fake: LocalExchange;
  let hidden: string;
  let installBefore = '';
  /** `<botId>-<installId>-<seq>`: the install id of a clientOrderId. */
  const installOf = (clientOrderId: string): string => clientOrderId.split('-').at(-2) ?? '';

  const tradingLog = (): string => pm2.readLog('trading.out.log') + pm2.readLog('trading.err.log');

  before(async () => {
    pm2 = Pm2Harness.create('bn-nodata-');
    client = new Pm2Client({ pm2Home: pm2.home, clock: systemClock });
    fake = await binanceKit.start({ candleMs: 400, balances: { USDT: 10_000 } });
    await pm2.startScript('trading', DAEMON_SCRIPTS.trading, {
      env: {
        ...liveDaemonEnv(binanceKit, fake.url),
        BYNINJA_IPC_PORT: String(await freePort()),
        BYNINJA_IPC_TOKEN: IPC_TOKEN,
        BYNINJA__TRADING__STRATEGY__NAME: 'rsi-mean-reversion',
        BYNINJA__TRADING__STRATEGY__RSI_MEAN_REVERSION__PERIOD: '3',
        BYNINJA__TRADING__STRATEGY__RSI_MEAN_REVERSION__OVERSOLD: '55',
        BYNINJA__TRADING__STRATEGY__RSI_MEAN_REVERSION__OVERBOUGHT: '56',
        BYNINJA__TRADING__TICK_INTERVAL_MS: '200',
      },
    });
    // the state has traded: an order of its install on the exchange
    await eventually(() => fake.createRequests().length > 0, 60_000, 'a first order', 200);
    installBefore = installOf(fake.createRequests()[0]!);
    await client.stop('trading');
    await waitForApp(client, 'trading', (p) => p.status === 'stopped', 'stopped');
    // the reboot: the data dir's mount is not there (its files are not lost, only out of reach)
    hidden = `${pm2.dataDir}.unmounted`;
    fs.renameSync(pm2.dataDir, hidden);
    await client.restart('trading').catch(() => undefined);
    await eventually(
      async () =>
        /✅ trading ready/.test(tradingLog().split('\n').slice(-400).join('\n')) ||
        (await client.describe('trading'))?.status !== 'online',
      60_000,
      'trading ready on an empty state, or refusing',
    );
    // an observation window, not a timing: a fresh state that trades sends its first order within it
    await eventually(
      () => fake.createRequests().some((id) => installOf(id) !== installBefore),
      20_000,
      'an order of another install',
      200,
    ).catch(() => undefined);
  });

  after(async () => {
    await client?.disconnect();
    await pm2?.stop();
    await fake?.close();
    if (hidden) fs.rmSync(hidden, { recursive: true, force: true });
  });

  it.skip('refuses to start on an empty state it created itself, naming BYNINJA_DATA_DIR (DEFECT: trades fresh)', async () => {
    expect(fs.existsSync(path.join(pm2.dataDir, 'trading-state.json')), 'a fresh state was created').to.equal(
      false,
    );
    const app = await client.describe('trading');
    expect(app?.status, 'stopped by its configuration error, not online').to.not.equal('online');
    expect(tradingLog()).to.match(/BYNINJA_DATA_DIR/);
    const others = fake.createRequests().filter((id) => installOf(id) !== installBefore);
    expect(others, 'orders sent by a fresh install on the same account').to.deep.equal([]);
  });
});
