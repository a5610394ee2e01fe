/**
 * A revoked or invalid bot token (the Bot API answers 401) under a real PM2: the telegram service stays online and
 * keeps supervising — a SIGKILL of trading is still alerted, in its log — and `byninja status` names the problem.
 * The real telegram daemon (bundle), a trading stand-in on the real IPC layer, telegraf against the Bot API
 * emulator answering 401 to everything. @slow
 *
 * Then (stop 34, fix34t; fails on main) what the operator does next, in order on the same services: fixes the token and
 * restarts telegram — the chat gets one digest of the alerts that went to the log only meanwhile, kept across the
 * restart in telegram-outbox.json; and a chat that blocked the bot, unblocked, gets its digest with the reply to its
 * first command, not only with the next alert.
 */
import { expect } from 'chai';
import crypto from 'node:crypto';
import path from 'node:path';
import { systemClock } from '../../src/shared/clock';
import { Pm2Client } from '../../src/ops/pm2-client';
import { readDelivery } from '../../src/ops/telegram-delivery';
import { runCli } from '../support/cli';
import { DAEMON_SCRIPTS, Pm2Harness, REPO_ROOT, eventually } from '../../harness/pm2';
import { sigkillApp, waitForApp } from '../support/pm2-apps';
import { freePort } from '../../harness/ports';
import { TelegramEmulator, type SentMessage } from '../../harness/telegram-emulator';

const FAKE_TRADING = path.join(__dirname, '..', 'fixtures', 'supervisor', 'fake-trading.js');

describe('telegram service with a refused bot token (401) under PM2 @slow', function () {
  this.timeout(90_000);
  let harness: Pm2Harness;
  let tg: TelegramEmulator;
  let pm2: Pm2Client;
  let env: Record<string, string>;

  const telegramLog = (): string => harness.readLog('telegram.out.log') + harness.readLog('telegram.err.log');

  before(async () => {
    harness = Pm2Harness.create('bn-401-');
    tg = await TelegramEmulator.start();
    tg.setFault('401');
    env = {
      BYNINJA_IPC_PORT: String(await freePort()),
      BYNINJA_IPC_TOKEN: crypto.randomBytes(24).toString('hex'),
      TELEGRAM_BOT_TOKEN: tg.token,
      TELEGRAM_API_ROOT: tg.apiRoot,
      TELEGRAM_CHAT_ID: '4242',
      TELEGRAM_ALLOWED_CHAT_IDS: '4242',
      BYNINJA__OUTBOX__PER_CHAT_INTERVAL_MS: '20',
    };
    await harness.startScript('trading', FAKE_TRADING, { env });
    await harness.startScript('telegram', DAEMON_SCRIPTS.telegram, { env });
    pm2 = new Pm2Client({ pm2Home: harness.home, clock: systemClock });
  });

  after(async () => {
    await pm2?.disconnect();
    await harness?.stop();
    await tg?.stop();
  });

  it('stays online and supervising: a SIGKILL of trading is alerted in its log; status names the problem', async () => {
    const telegram = await waitForApp(pm2, 'telegram', (p) => p.status === 'online', 'online');
    // getMe at start was refused: reported, not fatal
    await eventually(
      () => readDelivery(harness.dataDir, telegram.pid)?.problem?.kind === 'unauthorized',
      20_000,
      'the 401 reported',
    );
    expect(telegramLog()).to.include('Telegram rejects the bot token (401)');
    expect(telegramLog()).not.to.include(tg.token.split(':')[1]!);

    await sigkillApp(pm2, 'trading');
    await eventually(
      () => /\[notify\] 📣 💥 trading crashed/.test(telegramLog()),
      20_000,
      'the crash alert in the log',
    );
    await eventually(
      () => /\[notify\] 📣 ✅ trading back online after a crash/.test(telegramLog()),
      20_000,
      'the back-online alert in the log',
    );
    // Telegram refused every send: nothing reached a chat
    expect(tg.sentMessages()).to.deep.equal([]);

    const now = (await pm2.list()).find((p) => p.name === 'telegram')!;
    expect(now.status).to.equal('online');
    expect(now.pid, 'never restarted').to.equal(telegram.pid);
    expect(now.restarts).to.equal(0);

    const status = await runCli(['status'], { env: harness.env(env), cwd: REPO_ROOT });
    expect(status.stdout).to.include('Telegram rejects the bot token (401)');
    expect(status.stdout).to.include('alerts go to the log only');
  });

  const CHAT = '4242';
  const isDigest = (m: SentMessage): boolean => m.text.includes('went to the log only');
  const count = (re: RegExp): number => telegramLog().match(new RegExp(re.source, 'g'))?.length ?? 0;

  it('the token fixed and telegram restarted: the chat gets one digest of the alerts that went to the log', async () => {
    // the test above left its crash alerts in the log only
    tg.setFault(null);
    await harness.pm2(['restart', 'telegram']);
    const digest = await tg.waitForMessage(isDigest, { chatId: CHAT, timeoutMs: 30_000 });
    expect(digest.text).to.include('💥 trading crashed');
    expect(digest.text).to.include('✅ trading back online after a crash');
    expect(tg.sentMessages(CHAT).filter(isDigest)).to.have.length(1);
  });

  it('a chat that blocked the bot, unblocked: the reply to its first command comes with its digest', async () => {
    tg.refuseChat(CHAT);
    const crashes = count(/\[notify\] 📣 💥 trading crashed/);
    const backs = count(/\[notify\] 📣 ✅ trading back online after a crash/);
    await sigkillApp(pm2, 'trading');
    await eventually(
      () =>
        count(/\[notify\] 📣 💥 trading crashed/) > crashes &&
        count(/\[notify\] 📣 ✅ trading back online after a crash/) > backs,
      20_000,
      'the alerts in the log while the chat refuses',
    );
    const before = tg.sentMessages(CHAT).length;
    tg.refuseChat(CHAT, null);
    await tg.sendCommand(CHAT, '/status');
    const digest = await eventually(
      () => tg.sentMessages(CHAT).slice(before).find(isDigest),
      20_000,
      'the digest after the reply',
    );
    expect(digest.text).to.include('💥 trading crashed');
    expect(tg.sentMessages(CHAT).filter(isDigest)).to.have.length(2);
  });
});
