/**
 * The alert chat is a forum supergroup whose General topic an admin closed (review 44g). The Bot API then refuses every
 * sendMessage without message_thread_id with 400 "Bad Request: TOPIC_CLOSED" (as bots meet it:
 * rteixeirax/qbittorrent_telegram_notification#12 `{"ok":false,"error_code":400,"description":"Bad Request:
 * TOPIC_CLOSED"}`; userbotindo/Anjani#366 "This error occurs when a group general topic is closed") — a refusal of
 * the whole chat, like "have no rights to send a message", until someone reopens the topic: one of CHAT_REFUSALS
 * (telegram-errors.ts). Before, it was not: each alert was an ordinary 400, "a message Telegram will never take",
 * dropped one after the other — no log-only record, no digest when the topic reopened, and delivery health never said
 * the chat refused (/status: "alerts delivered to the chat").
 *
 * Real telegraf against the emulator (a "Bad Request" refusal answered 400, as the Bot API does), the alert path as
 * main.ts wires it.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventually } from '../../../harness/pm2';
import { TelegramEmulator } from '../../../harness/telegram-emulator';
import { startAlertPath, type AlertPath } from '../../support/alert-path';
import { captureLogger } from '../../support/capture-logger';

const FORUM = '-1004242';

describe('the alert chat refuses with 400 TOPIC_CLOSED (a forum whose General topic is closed)', function () {
  this.timeout(30_000);
  let emu: TelegramEmulator | undefined;
  let alerts: AlertPath | undefined;
  let dir: string;
  const captured = captureLogger();

  beforeEach(async () => {
    emu = await TelegramEmulator.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-review44g-topic-'));
  });

  afterEach(async () => {
    await alerts?.close();
    await emu?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is a refusal of the chat: the alert goes to the log, is owed to the chat, and reaches it once the topic reopens', async () => {
    emu!.refuseChat(FORUM, 'Bad Request: TOPIC_CLOSED');
    alerts = await startAlertPath({
      dir,
      apiRoot: emu!.apiRoot,
      token: emu!.token,
      logger: captured.logger,
      defaultChatId: FORUM,
      refusalBackoffMs: 1,
    });
    await alerts.outbox.notify({
      key: 'crash:trading',
      priority: 'critical',
      text: '💥 <b>trading crashed</b>',
    });
    await eventually(() => emu!.requests.some((r) => r.method === 'sendMessage'), 10_000, 'a send tried');
    await eventually(() => alerts!.outbox.depth() === 0, 10_000, 'the send settled');
    expect(alerts.health.state.problem?.kind, 'delivery health: the chat refuses').to.equal('chat-refused');
    expect(
      alerts.store.data.loggedOnly.map((r) => r.count),
      'the crash alert is owed to the chat (a digest once it takes messages)',
    ).to.deep.equal([1]);

    emu!.refuseChat(FORUM, null);
    await alerts.outbox.notify({ key: 'online:trading', priority: 'normal', text: '✅ trading back online' });
    const digest = await emu!.waitForMessage((m) => m.text.includes('went to the log only'), {
      chatId: FORUM,
      timeoutMs: 10_000,
    });
    expect(digest.text).to.include('💥 trading crashed');
  });
});
