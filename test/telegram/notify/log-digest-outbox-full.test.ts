/**
 * Review 34 (repro: fails on main 6f36f5d): a full digest sent as the first message after the outbox was full. The
 * digest filled one message (MAX_MESSAGE_CHARS, its "…and N more" line included); the outbox then added its
 * "N notifications dropped (outbox full)" note to it (renderEntry, as to any message sent first after a drop) and
 * cut the whole to MAX_MESSAGE_CHARS (truncateHtml): the note was cut away — and counted as told (`dropped` goes back
 * to 0 in the removal) — with the end of the digest. The operator never learned that notifications were dropped.
 * Now the digest leaves room for the notes the outbox adds.
 *
 * Real telegraf against the emulator, the alert path over a real store on disk as main.ts wires it (maxSize 100).
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventually } from '../../../harness/pm2';
import { TelegramEmulator, type SentMessage } from '../../../harness/telegram-emulator';
import { startAlertPath, type AlertPath } from '../../support/alert-path';
import { captureLogger } from '../../support/capture-logger';

const ALERTS = '5252';
const isDigest = (m: SentMessage): boolean => m.text.includes('went to the log only');

describe('a full digest sent first after the outbox was full keeps the "dropped" note', function () {
  this.timeout(60_000);
  let emu: TelegramEmulator | undefined;
  let alerts: AlertPath | undefined;
  let dir: string;

  beforeEach(async () => {
    emu = await TelegramEmulator.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-log-digest-full-'));
  });

  afterEach(async () => {
    await alerts?.close();
    await emu?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const lineChars of [172, 174, 175, 176]) {
    it(`lines of ${lineChars} characters: the note and the digest's count both reach the chat`, async () => {
      const captured = captureLogger();
      alerts = await startAlertPath({
        dir,
        apiRoot: emu!.apiRoot,
        token: emu!.token,
        logger: captured.logger,
        defaultChatId: ALERTS,
        refusalBackoffMs: 1,
      });
      const { outbox, store } = alerts;
      // 20 crashes go to the log while the chat refuses the bot: a digest that fills a message
      emu!.refuseChat(ALERTS);
      for (let i = 0; i < 20; i++)
        await outbox.notify({
          key: `crash:${i}`,
          priority: 'critical',
          text: `💥 alert ${String(i).padStart(2, '0')} ${'x'.repeat(lineChars)}`,
        });
      await eventually(() => store.data.loggedOnly[0]?.count === 20, 20_000, 'the 20 alerts noted');
      emu!.refuseChat(ALERTS, null);

      // Telegram then unreachable: 101 low notifications for a queue of 100, one dropped
      emu!.setFault('down');
      for (let i = 0; i < 101; i++)
        await outbox.notify({ key: `low:${i}`, priority: 'low', text: `low ${i}` });
      expect(store.data.dropped).to.equal(1);
      // the chat took a command's reply: its digest is queued (critical: it goes first), tried once while down
      await outbox.chatTakesMessages(ALERTS);
      await eventually(
        () => store.data.entries.some((e) => e.digest && e.attempts > 0),
        10_000,
        'the digest tried while Telegram is down',
      );
      emu!.setFault(null);

      const digest = await emu!.waitForMessage(isDigest, { chatId: ALERTS });
      expect(digest.text).to.include('1 notification dropped (outbox full)');
      expect(digest.text).to.match(/…and \d+ more: <code>pm2 logs telegram<\/code>\n/);
      expect(digest.text.length).to.be.at.most(4_096);
      await eventually(() => store.data.dropped === 0, 10_000, 'the drop told');
    });
  }

  it('the "dropped" note that went to the log (the chat refused) still reaches the chat after', async () => {
    const captured = captureLogger();
    alerts = await startAlertPath({
      dir,
      apiRoot: emu!.apiRoot,
      token: emu!.token,
      logger: captured.logger,
      defaultChatId: ALERTS,
      refusalBackoffMs: 1,
    });
    const { outbox, store } = alerts;
    emu!.setFault('down');
    for (let i = 0; i < 101; i++) await outbox.notify({ key: `low:${i}`, priority: 'low', text: `low ${i}` });
    expect(store.data.dropped).to.equal(1);
    // Telegram back, but the chat refuses the bot: the first message, with the note, goes to the log
    emu!.refuseChat(ALERTS);
    emu!.setFault(null);
    await eventually(() => store.data.loggedOnly.length === 1, 10_000, 'a message noted as logged');
    expect(
      captured.lines.some((l) => l.message.startsWith('📣') && l.message.includes('dropped (outbox full)')),
    ).to.equal(true);
    emu!.refuseChat(ALERTS, null);
    const told = await emu!.waitForMessage((m) => m.text.includes('dropped (outbox full)'), {
      chatId: ALERTS,
      timeoutMs: 5_000,
    });
    expect(told.text).to.include('1 notification dropped (outbox full)');
  });
});
