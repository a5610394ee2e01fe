/**
 * Each service fails alone on configuration, under a real PM2 (temp PM2_HOME) running the real pair from
 * ecosystem.config.js: a Telegram setting never stops trading; a trading setting stops trading only, and the
 * telegram service — still running — alerts it through the Bot API emulator naming the field to fix, as
 * `byninja status` does instead of PM2's "waiting restart"; after the fix, `npm start` starts trading alone.
 * Also: "… ago" of a SIGKILLed run counts from its death. @slow
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { systemClock } from '../../src/shared/clock';
import { ALIVE_EVERY_MS } from '../../src/shared/lifecycle/last-exit';
import { Pm2Client } from '../../src/ops/pm2-client';
import { runCli } from '../support/cli';
import { readTradingEvents } from '../support/event-delivery';
import { Pm2Harness, REPO_ROOT, eventually } from '../../harness/pm2';
import { sigkillApp, waitForApp } from '../support/pm2-apps';
import { freePort } from '../../harness/ports';
import { TelegramEmulator } from '../../harness/telegram-emulator';

const CHAT = '7007';
const FAST_MARKET = {
  BYNINJA__TRADING__PAPER__CANDLE_MS: '200',
  BYNINJA__TRADING__TICK_INTERVAL_MS: '200',
  BYNINJA__OUTBOX__PER_CHAT_INTERVAL_MS: '20',
  BYNINJA__OUTBOX__GLOBAL_PER_SECOND: '30',
};

describe('configuration isolation under PM2 (the real pair) @slow', function () {
  this.timeout(120_000);
  let harness: Pm2Harness;
  let tg: TelegramEmulator;
  let pm2: Pm2Client;

  beforeEach(async () => {
    harness = Pm2Harness.create('bn-iso-');
    tg = await TelegramEmulator.start();
    // the token can only come from .env under PM2 (filter_env)
    fs.writeFileSync(path.join(harness.root, '.env'), `TELEGRAM_BOT_TOKEN=${tg.token}\n`);
    pm2 = new Pm2Client({ pm2Home: harness.home, clock: systemClock });
  });

  afterEach(async () => {
    await pm2?.disconnect();
    await harness?.stop({ keepFiles: process.env.BYNINJA_KEEP_TEST_FILES === '1' });
    await tg?.stop();
  });

  const cli = (args: string[], env: Record<string, string | undefined>) =>
    runCli(args, { env: harness.env(env), cwd: REPO_ROOT });

  it('TELEGRAM_BOT_TOKEN without TELEGRAM_CHAT_ID: trading trades, telegram runs its bot and logs alerts', async () => {
    const env = { BYNINJA_IPC_PORT: String(await freePort()), TELEGRAM_API_ROOT: tg.apiRoot, ...FAST_MARKET };
    await harness.startEcosystem(env);
    await eventually(
      () => readTradingEvents(harness.dataDir).some((e) => e.type === 'order.filled'),
      60_000,
      'trading filled an order',
    );
    for (const name of ['trading', 'telegram']) {
      const p = (await pm2.list()).find((x) => x.name === name)!;
      expect(p.status, name).to.equal('online');
      expect(p.restarts, name).to.equal(0);
    }
    const status = await cli(['status'], env);
    expect(status.code, status.stderr).to.equal(0);
    expect(status.stdout).to.include('TELEGRAM_CHAT_ID not set: alerts go to the log only');

    // "… ago" of a killed run counts from its death, not from that run's start (it had run for a while): from its
    // last sign of life, touched every ALIVE_EVERY_MS while it ran (a scheduling delay of its watchdog thread allowed)
    const killedAt = Date.now();
    await sigkillApp(pm2, 'trading');
    const report = await eventually(
      async () => {
        const r = await cli(['status', '--json'], env);
        return r.code === 0
          ? (JSON.parse(r.stdout) as {
              services: Array<{ name: string; lastRun?: { kind: string; at?: number } }>;
            })
          : undefined;
      },
      30_000,
      'trading reachable after the kill',
    );
    const lastRun = report.services.find((s) => s.name === 'trading')!.lastRun!;
    expect(lastRun.kind).to.equal('killed');
    expect(lastRun.at).to.be.at.least(killedAt - 2 * ALIVE_EVERY_MS);
    const text = (await cli(['status'], env)).stdout;
    // formatSpan: "350 ms", "4.2 s", "12 s"
    const said = /last run: killed \(.*\), ([\d.]+) (ms|s) ago/.exec(text);
    const ago = said ? Number(said[1]) / (said[2] === 'ms' ? 1000 : 1) : NaN;
    expect(ago, text).to.be.at.most(Math.ceil((Date.now() - killedAt + 2 * ALIVE_EVERY_MS) / 1000));
  });

  it('a trading configuration error stops trading only; telegram alerts it naming the field; fixed, npm start starts trading alone', async () => {
    const base = {
      BYNINJA_IPC_PORT: String(await freePort()),
      TELEGRAM_API_ROOT: tg.apiRoot,
      TELEGRAM_CHAT_ID: CHAT,
      ...FAST_MARKET,
    };
    await harness.startEcosystem({ ...base, BYNINJA__TRADING__RISK__STAKE_PER_TRADE: '-5' });
    const alert = await tg.waitForMessage((m) => m.text.includes('trading stopped: configuration error'), {
      chatId: CHAT,
      timeoutMs: 30_000,
    });
    expect(alert.text).to.include('fix trading.risk.stakePerTrade, then `npm start`');
    expect(alert.text).to.include(
      'trading.risk.stakePerTrade (env BYNINJA__TRADING__RISK__STAKE_PER_TRADE) = -5',
    );
    const trading = await waitForApp(pm2, 'trading', (p) => p.exitCode === 78, 'exited 78');
    expect(trading.pid).to.equal(0);
    const telegram = (await pm2.list()).find((p) => p.name === 'telegram')!;
    expect(telegram.status).to.equal('online');
    // where `pm2 logs` shows it
    expect(harness.readLog('trading.err.log')).to.include('trading.risk.stakePerTrade');

    const status = await cli(['status'], base);
    expect(status.stdout).to.include(
      '🔴 trading — stopped: configuration error — fix trading.risk.stakePerTrade, then `npm start`',
    );
    expect(status.stdout).not.to.include('waiting restart');

    const telegramPid = telegram.pid;
    const started = await cli(['start'], base);
    expect(started.code, started.stdout + started.stderr).to.equal(0);
    expect(started.stdout)
      .to.include('telegram online')
      .and.include('left as it is')
      .and.include('✅ trading ready');
    expect((await pm2.list()).find((p) => p.name === 'telegram')!.pid).to.equal(telegramPid);
    await tg.waitForMessage((m) => m.text.includes('trading running again after its configuration error'), {
      chatId: CHAT,
      timeoutMs: 20_000,
    });
  });
});
