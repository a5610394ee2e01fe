import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PersistenceError } from '../../../src/shared/errors';
import { writeFileDurable } from '../../../src/shared/persistence/durable-file';
import type { ChatSettings } from '../../../src/telegram/notify/chat-moves';
import { eventually } from '../../../harness/pm2';
import { TelegramEmulator } from '../../../harness/telegram-emulator';
import { captureLogger } from '../../support/capture-logger';
import { startAlertPath, type AlertPath } from '../../support/alert-path';

const GROUP = '-4001';
const SUPERGROUP = '-1004001';
const NOTICE = "This chat's id changed";

describe('a group upgraded to a supergroup while the disk is full — review 32g repro', function () {
  this.timeout(30_000);
  let tg: TelegramEmulator;
  let dir: string;
  let full = false;
  const captured = captureLogger();
  const closers: Array<() => Promise<void>> = [];

  async function startService(settings: ChatSettings): Promise<AlertPath> {
    const service = await startAlertPath({
      dir,
      apiRoot: tg.apiRoot,
      token: tg.token,
      logger: captured.logger,
      settings,
      writer: (p, d) =>
        full
          ? Promise.reject(new PersistenceError(`cannot write ${p}`, { path: p }, { code: 'ENOSPC' }))
          : writeFileDurable(p, d),
    });
    closers.push(service.close);
    return service;
  }

  beforeEach(async () => {
    tg = await TelegramEmulator.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-chat-moved-full-'));
    captured.lines.length = 0;
    full = false;
  });

  afterEach(async () => {
    full = false;
    for (const close of closers.splice(0)) await close();
    await tg.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const notices = (): string[] =>
    tg
      .sentMessages(SUPERGROUP)
      .map((m) => m.text)
      .filter((t) => t.includes(NOTICE));

  it('the operator is told in that run (log line, status, notice in the new chat), and once only across a restart', async () => {
    const settings = { chatId: GROUP, allowedChatIds: [GROUP] };
    const first = await startService(settings);
    tg.migrateChat(GROUP, SUPERGROUP);
    full = true;
    // admitted in memory (the outbox sends it) even though the disk refuses to save it
    await first.outbox
      .notify({ key: 'crash:trading', priority: 'critical', text: '🔴 trading crashed' })
      .catch(() => undefined);
    await tg.waitForMessage((m) => m.text === '🔴 trading crashed', { chatId: SUPERGROUP });
    await eventually(() => notices().length >= 1, 10_000, 'the notice in the new chat, in this run');
    expect(
      captured.lines.some(
        (l) =>
          l.level === 'error' &&
          l.message.includes(`TELEGRAM_CHAT_ID=${SUPERGROUP}`) &&
          l.message.includes('Telegram upgraded group'),
      ),
      'the error line that says what to change in .env',
    ).to.equal(true);
    expect(first.health.state.movedChats, 'byninja status / /status show the move').to.deep.equal([
      { from: GROUP, to: SUPERGROUP, settings: ['TELEGRAM_CHAT_ID', 'TELEGRAM_ALLOWED_CHAT_IDS'] },
    ]);
    // the disk takes writes again: the Store writes what it kept in memory; then a restart
    full = false;
    await first.store.flush();
    await first.close();
    const second = await startService(settings);
    expect(second.store.data.chatMoves.map((m) => [m.from, m.to, m.told])).to.deep.equal([
      [GROUP, SUPERGROUP, true],
    ]);
    await second.outbox.notify({ key: 'crash:trading', priority: 'critical', text: '🔴 crashed again' });
    await tg.waitForMessage((m) => m.text === '🔴 crashed again', { chatId: SUPERGROUP });
    expect(notices(), 'the new chat is told once, not again after the restart').to.have.length(1);
  });
});
