/**
 * Review 34 (failed on 6f36f5d): the alert chat was wrong (TELEGRAM_CHAT_ID with a typo: Telegram answers 400 "Bad
 * Request: chat not found", a refusal of the whole chat), so every alert went to the log and was noted under the
 * wrong id. operations.md tells the operator to check TELEGRAM_CHAT_ID; fixed and telegram restarted, the right chat
 * never got the digest: the record stayed under the wrong id, and each start made a digest for it, which that id
 * refused, so it went to the log again and back into the record — for good. Now a record of the alert chat's alerts
 * follows TELEGRAM_CHAT_ID (log-digest.ts `alertChat`): the alerts were the alert chat's, wherever that is now.
 *
 * Real telegraf against the emulator, the alert path over a real store on disk, two runs of the service.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventually } from '../../../harness/pm2';
import { TelegramEmulator, type SentMessage } from '../../../harness/telegram-emulator';
import { startAlertPath, type AlertPath } from '../../support/alert-path';
import { captureLogger } from '../../support/capture-logger';

const TYPO = '515';
const ALERTS = '5151';
const isDigest = (m: SentMessage): boolean => m.text.includes('went to the log only');

describe('TELEGRAM_CHAT_ID was wrong, then fixed: the alerts that went to the log meanwhile', function () {
  this.timeout(30_000);
  let emu: TelegramEmulator | undefined;
  const paths: AlertPath[] = [];
  let dir: string;
  const captured = captureLogger();

  async function run(alertChat: string): Promise<AlertPath> {
    const p = await startAlertPath({
      dir,
      apiRoot: emu!.apiRoot,
      token: emu!.token,
      logger: captured.logger,
      defaultChatId: alertChat,
      refusalBackoffMs: 1,
    });
    paths.push(p);
    return p;
  }

  beforeEach(async () => {
    emu = await TelegramEmulator.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-log-digest-chat-fixed-'));
  });

  afterEach(async () => {
    for (const p of paths.splice(0)) await p.close();
    await emu?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reach the right chat once TELEGRAM_CHAT_ID is fixed, and leave no record behind', async () => {
    emu!.refuseChat(TYPO, 'Bad Request: chat not found');
    const first = await run(TYPO);
    await first.outbox.notify({
      key: 'crash:trading',
      priority: 'critical',
      text: '💥 <b>trading crashed</b>',
    });
    await eventually(() => first.store.data.loggedOnly.length === 1, 10_000, 'the alert noted');
    await first.close();

    const second = await run(ALERTS);
    await second.outbox.notify({ key: 'online:trading', priority: 'normal', text: '✅ trading back online' });
    await emu!.waitForMessage((m) => m.text === '✅ trading back online', { chatId: ALERTS });
    const digest = await emu!.waitForMessage(isDigest, { chatId: ALERTS, timeoutMs: 5_000 });
    expect(digest.text).to.include('💥 trading crashed');
    await eventually(() => second.outbox.depth() === 0, 10_000, 'the outbox empty');
    expect(second.store.data.loggedOnly).to.deep.equal([]);
  });
});
