/**
 * Review 34 — DEFECT, open (it.skip; fails on main 6f36f5d and on this branch): the alert chat was wrong
 * (TELEGRAM_CHAT_ID with a typo: Telegram answers 400 "Bad Request: chat not found", a refusal of the whole chat), so
 * every alert went to the log and was noted under the wrong id. operations.md tells the operator to check
 * TELEGRAM_CHAT_ID; fixed and telegram restarted, the right chat never gets the digest: the record stays under the
 * wrong id, and each start makes a digest for it, which that id refuses, so it goes to the log again and back into
 * the record — for good (telegram-outbox.json keeps it, every start logs it once more). "Nothing that went to the
 * log only is kept from the chat" does not hold for the case the docs name first.
 *
 * A fix needs a decision (not taken here): a record could note that its alerts went to the alert chat (the entry's
 * chat was the default one when noted) and follow TELEGRAM_CHAT_ID at start, as a chat move does; or a record under
 * an id no setting names could be given up with a log line. Either changes "a chat only ever sees its own alerts".
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

  it.skip('DEFECT (review34t): reach the right chat once TELEGRAM_CHAT_ID is fixed, and leave no record behind', async () => {
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
