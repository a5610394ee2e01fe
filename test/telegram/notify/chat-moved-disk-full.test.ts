/**
 * Review 32g (repro, fails on bd86d8d): the disk is full when Telegram answers that the alert group became a
 * supergroup. The Store keeps a refused commit in memory and writes it by itself once the disk takes writes
 * (store.ts), so the outbox follows the move from then on — but ChatMoves.learn() threw at its commit, before the
 * error line, the status (`movedChats`) and the notice in the new chat: the alerts went to the new id while the
 * operator was told nothing for the whole run, and the notice came only after a restart.
 *
 * Production wiring (src/telegram/main.ts): one Store for the outbox and the book, Outbox → FallbackSender →
 * TelegramSender, real telegraf against the emulator (400 with parameters.migrate_to_chat_id, as the Bot API's
 * ResponseParameters describe it).
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { systemClock } from '../../../src/shared/clock';
import { PersistenceError } from '../../../src/shared/errors';
import { writeFileDurable } from '../../../src/shared/persistence/durable-file';
import { Store } from '../../../src/shared/persistence/store';
import { TelegramSender } from '../../../src/telegram/bot/telegram-sender';
import { ChatMoves } from '../../../src/telegram/notify/chat-move-book';
import type { ChatSettings } from '../../../src/telegram/notify/chat-moves';
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
const NOTICE = "This chat's id changed";

describe('a group upgraded to a supergroup while the disk is full — review 32g repro', function () {
  this.timeout(30_000);
  let tg: TelegramEmulator;
  let dir: string;
  let full = false;
  const captured = captureLogger();
  const closers: Array<() => Promise<void>> = [];

  async function startService(settings: ChatSettings) {
    const store = await Store.open<OutboxState>({
      clock: systemClock,
      dir,
      name: OUTBOX_STORE_NAME,
      version: OUTBOX_STORE_VERSION,
      defaults: emptyOutboxState,
      validate: validateOutboxState,
      writer: (p, d) =>
        full
          ? Promise.reject(new PersistenceError(`cannot write ${p}`, { path: p }, { code: 'ENOSPC' }))
          : writeFileDurable(p, d),
    });
    const health = new DeliveryHealth({ logger: captured.logger, clock: systemClock });
    const moves = new ChatMoves({
      store,
      settings,
      logger: captured.logger,
      clock: systemClock,
      onChange: (moved) => health.setMovedChats(moved),
    });
    const outbox = new Outbox({
      store,
      sender: new FallbackSender({
        telegram: new TelegramSender({ token: tg.token, apiRoot: tg.apiRoot }),
        log: new LogSender(captured.logger),
        health,
        clock: systemClock,
      }),
      settings: { maxSize: 100, perChatIntervalMs: 100, globalPerSecond: 25, coalesceWindowMs: 60_000 },
      defaultChatId: settings.chatId ?? 'log',
      logger: captured.logger,
      clock: systemClock,
      baseBackoffMs: 100,
      maxBackoffMs: 500,
      chatMoves: moves,
    });
    outbox.start();
    await moves.start(outbox);
    let closed = false;
    const close = async (): Promise<void> => {
      if (closed) return;
      closed = true;
      await outbox.close();
      await store.close().catch(() => undefined);
    };
    closers.push(close);
    return { store, outbox, health, close };
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
