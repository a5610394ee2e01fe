/**
 * Field review 32 (repro, fails on main): the alert chat is a basic group that Telegram upgrades to a supergroup
 * (it does so when the group's history is made visible to new members, an admin gets certain rights, the group
 * gets a public link...). The chat id changes; from then on every sendMessage to the old id is answered
 * 400 "Bad Request: group chat was upgraded to a supergroup chat" with `parameters.migrate_to_chat_id` — the Bot API
 * (ResponseParameters) says which chat the group now is, "which can help to automatically handle the error".
 *
 * Production wiring as src/telegram/main.ts builds it: Outbox → FallbackSender(TelegramSender, LogSender,
 * DeliveryHealth), real telegraf against the emulator. On main the 400 is an OperationalError that is not
 * "chat not found": the outbox drops each alert "for good", DeliveryHealth still says alerts go to Telegram, and
 * the operator's phone never sees another alert.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { systemClock } from '../../../src/shared/clock';
import { Store } from '../../../src/shared/persistence/store';
import { TelegramSender } from '../../../src/telegram/bot/telegram-sender';
import { DeliveryHealth } from '../../../src/telegram/notify/delivery-health';
import { FallbackSender } from '../../../src/telegram/notify/fallback-sender';
import { LogSender } from '../../../src/telegram/notify/log-sender';
import {
  OUTBOX_STORE_NAME,
  OUTBOX_STORE_VERSION,
  Outbox,
  validateOutboxState,
} from '../../../src/telegram/notify/outbox';
import { emptyOutboxState, type OutboxState } from '../../../src/telegram/notify/outbox-queue';
import { eventually } from '../../../harness/pm2';
import { TelegramEmulator } from '../../../harness/telegram-emulator';
import { captureLogger } from '../../support/capture-logger';

const GROUP = '-4001';
const SUPERGROUP = '-1004001';

describe('alert chat upgraded to a supergroup (400 migrate_to_chat_id) — review 32 repro', function () {
  this.timeout(30_000);
  let tg: TelegramEmulator;
  let dir: string;
  let store: Store<OutboxState>;
  let outbox: Outbox;
  let health: DeliveryHealth;
  let lines: ReturnType<typeof captureLogger>['lines'];

  beforeEach(async () => {
    tg = await TelegramEmulator.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-migrated-'));
    store = await Store.open<OutboxState>({
      clock: systemClock,
      dir,
      name: OUTBOX_STORE_NAME,
      version: OUTBOX_STORE_VERSION,
      defaults: emptyOutboxState,
      validate: validateOutboxState,
    });
    const captured = captureLogger();
    lines = captured.lines;
    health = new DeliveryHealth({ logger: captured.logger, clock: systemClock });
    outbox = new Outbox({
      store,
      sender: new FallbackSender({
        telegram: new TelegramSender({ token: tg.token, apiRoot: tg.apiRoot }),
        log: new LogSender(captured.logger),
        health,
        clock: systemClock,
      }),
      settings: { maxSize: 100, perChatIntervalMs: 100, globalPerSecond: 25, coalesceWindowMs: 60_000 },
      defaultChatId: GROUP,
      logger: captured.logger,
      clock: systemClock,
      baseBackoffMs: 100,
      maxBackoffMs: 500,
    });
  });

  afterEach(async () => {
    await outbox.close();
    await store.close();
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
