/**
 * Review 33b (field: a server reboot where the data dir is not there yet — BYNINJA_DATA_DIR on a network or USB
 * mount that comes up after PM2 resurrects the pair, or a mount that failed). Real trading daemon under a real PM2,
 * real ccxt against the local Binance double; the late mount is a swap of two real directories under the running
 * daemon (what the mount does to path lookups).
 *
 * 1. FIXED (was: a live start whose data dir does not exist created it and traded on an empty state with a new
 *    install id — "No state file … starting from defaults", ready in ~150 ms, two orders of the new install sent on
 *    the account holding the hidden state's position; the hidden positions had no stop-loss watch, the strategy
 *    could buy again on top of them, and what the fresh state filled was nobody's once the real state was back).
 *    `npm start` creates the data dir, and telegram's runService creates a missing one too, so "the dir is missing"
 *    is no evidence; the exchange is: a live start on a new state whose recovery reads show orders of this bot from
 *    ANOTHER install pauses entries with its own cause until /resume (hidden-state.ts), says so in the log, the
 *    event log (→ Telegram) and `byninja status`, naming BYNINJA_DATA_DIR. Exits and adopted orders run on.
 * 2. FIXED: once the mount came up, the fresh trading's next commit (by path: temp file, rename) replaced the real
 *    trading-state.json with the fresh state — the real positions and orders gone from the file, not only hidden.
 *    Failed on main (the file's install id became the fresh one within the window). Now every Store pins its
 *    directory at open and refuses a write into another one (durable-json-adapter.ts): persist.failed, no new orders,
 *    the log says to restart. @slow
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
import { statusOnceItSays, type DaemonEnv } from '../support/pm2-trading';

const IPC_TOKEN = 'data-dir-missing-ipc-token-012345678';

describe('a live restart whose data dir is missing (a mount not up at boot), under real PM2 @slow', function () {
  this.timeout(150_000);
  let pm2: Pm2Harness;
  let client: Pm2Client;
  let fake: LocalExchange;
  let hidden: string;
  let installBefore = '';
  let env: DaemonEnv = {};
  /** `<botId>-<installId>-<seq>`: the install id of a clientOrderId. */
  const installOf = (clientOrderId: string): string => clientOrderId.split('-').at(-2) ?? '';

  const tradingLog = (): string => pm2.readLog('trading.out.log') + pm2.readLog('trading.err.log');

  before(async () => {
    pm2 = Pm2Harness.create('bn-nodata-');
    client = new Pm2Client({ pm2Home: pm2.home, clock: systemClock });
    fake = await binanceKit.start({ candleMs: 400, balances: { USDT: 10_000 } });
    env = {
      ...liveDaemonEnv(binanceKit, fake.url),
      BYNINJA_IPC_PORT: String(await freePort()),
      BYNINJA_IPC_TOKEN: IPC_TOKEN,
      BYNINJA__TRADING__STRATEGY__NAME: 'rsi-mean-reversion',
      BYNINJA__TRADING__STRATEGY__RSI_MEAN_REVERSION__PERIOD: '3',
      BYNINJA__TRADING__STRATEGY__RSI_MEAN_REVERSION__OVERSOLD: '55',
      BYNINJA__TRADING__STRATEGY__RSI_MEAN_REVERSION__OVERBOUGHT: '56',
      BYNINJA__TRADING__TICK_INTERVAL_MS: '200',
    };
    await pm2.startScript('trading', DAEMON_SCRIPTS.trading, { env });
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

  it("trades no entry on a new state while the exchange has another install's orders, and tells the operator why", async () => {
    // the start was not refused: exits and the orders it adopts are watched (a lost data dir must not stop them)
    expect((await client.describe('trading'))?.status).to.equal('online');
    const others = fake.createRequests().filter((id) => installOf(id) !== installBefore);
    expect(others, 'orders sent by a fresh install on the same account').to.deep.equal([]);
    // the operator is told: the log names what was seen, BYNINJA_DATA_DIR and its path, and the two ways on
    const log = tradingLog();
    expect(log).to.match(/Trading state missing or hidden; new entries paused/);
    expect(log).to.include(`from install ${installBefore}`);
    expect(log).to.include(`BYNINJA_DATA_DIR is ${pm2.dataDir}`);
    expect(log).to.match(/npx byninja restart trading/);
    expect(log).to.match(/\/resume/);
    // ...the event log Telegram reads (a trading.paused alert)...
    const events = fs.readFileSync(path.join(pm2.dataDir, 'events.jsonl'), 'utf8');
    expect(events).to.match(/"type":"trading\.paused"[^\n]*state missing or hidden/);
    // ...and `byninja status`
    const status = await statusOnceItSays(pm2, env, /paused/, 'a paused trading');
    expect(status.stdout).to.match(/state missing or hidden/);
  });

  it('never writes its fresh state over the real one once the mount is back, and says why (fixed: it did)', async () => {
    // the mount comes up under the running fresh trading: the path now leads to the real data dir (a swap of the
    // two directories does to path lookups what the mount does)
    const fresh = `${pm2.dataDir}.fresh`;
    fs.renameSync(pm2.dataDir, fresh);
    fs.renameSync(hidden, pm2.dataDir);
    hidden = fresh;
    const stateFile = path.join(pm2.dataDir, 'trading-state.json');
    const installInFile = (): string =>
      (JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { data: { installId: string } }).data.installId;
    expect(installInFile()).to.equal(installBefore);
    // an observation window: the fresh trading commits its state at least once a tick while it trades
    await eventually(
      () => installInFile() !== installBefore,
      20_000,
      'a commit of the fresh state',
      200,
    ).catch(() => undefined);
    expect(installInFile(), 'the real state file now holds the fresh install').to.equal(installBefore);
    // the operator is told, in the log (and by the persist.failed alert: no new orders until a restart)
    await eventually(
      () => /is no longer the directory this service opened/.test(tradingLog()),
      20_000,
      'the refused write logged',
    );
  });
});
