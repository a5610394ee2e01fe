/**
 * Telegram 409 Conflict for a webhook (found in the field): a bot token that still has an outgoing webhook set — a former
 * deployment, another framework, a BotFather-era test — makes the Bot API refuse every getUpdates with 409 "Conflict:
 * can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first" (Bot API docs:
 * getUpdates "will not work if an outgoing webhook is set up"). telegraf's own launch() deletes the webhook before it
 * polls; ByNinja's poller did not, and read every 409 as "another process is polling with this token": commands
 * never reached the bot, for as long as it ran, and the operator was told to stop an instance that did not exist.
 * The bot now deletes a webhook before its first poll (bot.ts prepare) and on a 409 that names one (update-poller).
 *
 * The real telegram daemon under a real PM2, telegraf against the Bot API double (telegram-test-api behind the
 * emulator's proxy, which models the webhook), a trading stand-in on the real TCP layer. @slow
 */
import { expect } from 'chai';
import crypto from 'node:crypto';
import path from 'node:path';
import { DAEMON_SCRIPTS, Pm2Harness, eventually } from '../../harness/pm2';
import { freePort } from '../../harness/ports';
import { TelegramEmulator } from '../../harness/telegram-emulator';

const FAKE_TRADING = path.join(__dirname, '..', 'fixtures', 'supervisor', 'fake-trading.js');
const OPERATOR = '4242';

describe('telegram service on a bot token that still has a webhook set, under PM2 @slow', function () {
  this.timeout(90_000);
  let harness: Pm2Harness;
  let tg: TelegramEmulator;

  const telegramLog = (): string => harness.readLog('telegram.out.log') + harness.readLog('telegram.err.log');

  before(async () => {
    harness = Pm2Harness.create('bn-tg-webhook-');
    tg = await TelegramEmulator.start();
    tg.webhookUrl = 'https://old-deployment.example/bot-hook';
    const env = {
      BYNINJA_IPC_PORT: String(await freePort()),
      BYNINJA_IPC_TOKEN: crypto.randomBytes(24).toString('hex'),
      TELEGRAM_BOT_TOKEN: tg.token,
      TELEGRAM_API_ROOT: tg.apiRoot,
      TELEGRAM_CHAT_ID: OPERATOR,
      TELEGRAM_ALLOWED_CHAT_IDS: OPERATOR,
      BYNINJA__OUTBOX__PER_CHAT_INTERVAL_MS: '20',
    };
    await harness.startScript('trading', FAKE_TRADING, { env });
    await harness.startScript('telegram', DAEMON_SCRIPTS.telegram, { env });
    await harness.waitFor('telegram', (p) => p.status === 'online' && p.pid > 0);
    // the bot asked for updates (before the fix: refused 409 for the webhook, again and again)
    await eventually(
      () => tg.requests.some((r) => r.method === 'getUpdates' && r.status !== 0),
      30_000,
      'a getUpdates answered',
    );
  });

  after(async () => {
    await harness?.stop();
    await tg?.stop();
  });

  it('commands reach the bot: the webhook is deleted (as telegraf.launch does) and /help is answered', async () => {
    await tg.sendCommand(OPERATOR, '/help');
    await tg.waitForMessage((m) => /\/status/.test(m.text), { chatId: OPERATOR, timeoutMs: 30_000 });
    expect(tg.webhookUrl).to.equal('');
  });

  it('deletes it before the first poll (no getUpdates refused 409) and says so in the log', () => {
    const refused = tg.requests.filter((r) => r.method === 'getUpdates' && r.status === 409);
    expect(refused, JSON.stringify(refused)).to.deep.equal([]);
    expect(telegramLog()).to.match(
      /An outgoing webhook was set on this bot token .*deleted it, pending updates kept/,
    );
  });

  it('never tells the operator to stop "another bot instance" when the 409 says a webhook is set', () => {
    const log = telegramLog();
    expect(log, log.slice(-3000)).not.to.match(/Another process is polling|another bot instance is polling/);
  });
});
