import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TelegramSender } from '../../../src/telegram/bot/telegram-sender';
import { DeliveryHealth } from '../../../src/telegram/notify/delivery-health';
import { Outbox } from '../../../src/telegram/notify/outbox';
import { eventually } from '../../../harness/pm2';
import { TelegramEmulator } from '../../../harness/telegram-emulator';
import { captureLogger } from '../../support/capture-logger';
import { startAlertPath, type AlertPath } from '../../support/alert-path';

const GROUP = '-4001';
const SUPERGROUP = '-1004001';

describe('alert chat upgraded to a supergroup (400 migrate_to_chat_id) — review 32 repro', function () {
  this.timeout(30_000);
  let tg: TelegramEmulator;
  let dir: string;
  let outbox: Outbox;
  let health: DeliveryHealth;
  let lines: ReturnType<typeof captureLogger>['lines'];
  let alerts: AlertPath;

  beforeEach(async () => {
    tg = await TelegramEmulator.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-migrated-'));
    const captured = captureLogger();
    lines = captured.lines;
    alerts = await startAlertPath({
      dir,
      apiRoot: tg.apiRoot,
      token: tg.token,
      logger: captured.logger,
      defaultChatId: GROUP,
      start: false,
    });
    ({ outbox, health } = alerts);
  });

  afterEach(async () => {
    await alerts.close();
    await tg.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the emulator answers a send to the old group as the Bot API does', async () => {
    tg.migrateChat(GROUP, SUPERGROUP);
    const sender = new TelegramSender({ token: tg.token, apiRoot: tg.apiRoot });
    const err = await sender.send(GROUP, 'x', {}).then(
      () => undefined,
      (e: unknown) => e as Error & { context?: Record<string, unknown> },
    );
    expect(err, 'a send to the old group id is refused').to.not.equal(undefined);
    expect(err!.message).to.match(/400 Bad Request: group chat was upgraded to a supergroup chat/);
    await sender.send(SUPERGROUP, 'y', {});
    expect(tg.sentMessages(SUPERGROUP).map((m) => m.text)).to.deep.equal(['y']);
  });

  it('a crash alert for the upgraded group reaches the supergroup Telegram names, and the log says to update TELEGRAM_CHAT_ID', async () => {
    tg.migrateChat(GROUP, SUPERGROUP);
    outbox.start();
    await outbox.notify({ key: 'crash:trading', priority: 'critical', text: '🔴 <b>trading crashed</b>' });
    // the outbox settles the alert one way or the other: sent, kept for a retry, or dropped
    await eventually(
      () => tg.requests.some((r) => r.method === 'sendMessage' && r.status === 400),
      10_000,
      'the send to the old group id',
    );
    await eventually(() => outbox.depth() === 0, 10_000, 'the outbox settled the alert');
    const delivered = tg.sentMessages(SUPERGROUP).map((m) => m.text);
    const dropped = lines
      .filter((l) => /refused a notification for good/.test(l.message))
      .map((l) => l.message);
    expect(
      delivered,
      `the crash alert is in the supergroup the group became (health: ${JSON.stringify(health.state)}; dropped: ${JSON.stringify(dropped)})`,
    ).to.deep.equal(['🔴 <b>trading crashed</b>']);
    expect(
      lines.some(
        (l) => l.level === 'error' && l.message.includes(SUPERGROUP) && /TELEGRAM_CHAT_ID/.test(l.message),
      ),
      'an error line names the new chat id to put in TELEGRAM_CHAT_ID',
    ).to.equal(true);
  });
});
