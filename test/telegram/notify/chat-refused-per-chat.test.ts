/**
 * Stop 33 (repro, fails on main): one chat refusing the bot sent every chat's alerts to the log. FallbackSender kept
 * one backoff for all chats: a 403 from any chat — the operator's private chat that blocked the bot, where a
 * /restart telegram is confirmed; a group the bot was removed from — sent the alert chat's alerts to the log for the
 * backoff (30 s, doubling up to 10 min), and `byninja status` said alerts go to the log. And the other way round:
 * while the alert chat refused, a message for a chat that takes it went to the log as well. A refused token (401)
 * stops every chat; a chat's refusal now stops only that chat, and only the alert chat's say where alerts go.
 *
 * Real telegraf against the emulator, which refuses a chat as the Bot API does (403 "Forbidden: bot was blocked by
 * the user"); the alert path as main.ts wires it (test/support/alert-path.ts).
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventually } from '../../../harness/pm2';
import { TelegramEmulator } from '../../../harness/telegram-emulator';
import { startAlertPath, type AlertPath } from '../../support/alert-path';
import { captureLogger } from '../../support/capture-logger';

const ALERTS = '5151';
const OTHER = '777';

describe('a chat refusing the bot (403) stops only that chat', function () {
  this.timeout(30_000);
  let emu: TelegramEmulator | undefined;
  let alerts: AlertPath | undefined;
  let dir: string | undefined;
  let captured = captureLogger();
  const logged = (text: string): boolean =>
    captured.lines.some((l) => l.message.startsWith('📣') && l.message.includes(text));

  beforeEach(async () => {
    captured = captureLogger();
    emu = await TelegramEmulator.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-chat-refused-'));
    alerts = await startAlertPath({
      dir,
      apiRoot: emu.apiRoot,
      token: emu.token,
      logger: captured.logger,
      defaultChatId: ALERTS,
    });
  });

  afterEach(async () => {
    await alerts?.close();
    await emu?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("another chat refusing: the alert chat's alerts still reach it, and alerts are said to go to Telegram", async () => {
    emu!.refuseChat(OTHER);
    await alerts!.outbox.notify({
      key: 'to-other',
      priority: 'high',
      chatId: OTHER,
      text: 'restart confirmed',
    });
    await eventually(() => logged('restart confirmed'), 10_000, "the refused chat's message in the log");
    await alerts!.outbox.notify({ key: 'crash', priority: 'critical', text: 'trading crashed' });
    await eventually(
      () => emu!.sentMessages(ALERTS).length > 0 || logged('trading crashed'),
      10_000,
      'the alert delivered',
    );
    expect(
      emu!.sentMessages(ALERTS).map((m) => m.text),
      `the alert went to the log: ${logged('trading crashed')}`,
    ).to.deep.equal(['trading crashed']);
    expect(alerts!.health.state.alerts).to.equal('telegram');
  });

  it('the alert chat refusing: its alerts go to the log, a chat that takes messages still gets its own', async () => {
    emu!.refuseChat(ALERTS);
    await alerts!.outbox.notify({ key: 'crash', priority: 'critical', text: 'trading crashed' });
    await eventually(() => logged('trading crashed'), 10_000, "the refusing alert chat's alert in the log");
    expect(alerts!.health.state).to.deep.include({ alerts: 'log' });
    await alerts!.outbox.notify({
      key: 'to-other',
      priority: 'high',
      chatId: OTHER,
      text: 'restart confirmed',
    });
    await eventually(
      () => emu!.sentMessages(OTHER).length > 0 || logged('restart confirmed'),
      10_000,
      'the other chat served',
    );
    expect(
      emu!.sentMessages(OTHER).map((m) => m.text),
      `the other chat's message went to the log: ${logged('restart confirmed')}`,
    ).to.deep.equal(['restart confirmed']);
    // the alert chat still refuses: where alerts go is its own answer
    expect(alerts!.health.state).to.deep.include({ alerts: 'log' });
    expect(alerts!.health.state.problem?.kind).to.equal('chat-refused');
  });
});
