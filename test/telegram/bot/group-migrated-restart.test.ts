/**
 * An allowed group Telegram upgraded to a supergroup commands as it did before — also after a restart, before any
 * alert has gone out to learn the move again (the move is kept in the outbox's Store, as src/telegram/main.ts wires
 * it) — and nothing else gets in: a stranger's group the bot was added to and that was upgraded stays a stranger.
 *
 * Real telegraf against the emulator, which delivers Telegram's service messages (announceMigration).
 */
import { expect } from 'chai';
import { systemClock } from '../../../src/shared/clock';
import { silentLogger } from '../../../src/shared/logging/logger';
import { Store } from '../../../src/shared/persistence/store';
import { ChatMoves } from '../../../src/telegram/notify/chat-move-book';
import type { OutboxState } from '../../../src/telegram/notify/outbox-queue';
import { eventually } from '../../../harness/pm2';
import { TelegramEmulator } from '../../../harness/telegram-emulator';
import { captureLogger } from '../../support/capture-logger';
import { openOutboxStore } from '../../support/alert-path';
import { startBotRig, type BotRig } from '../../support/bot-rig';

const GROUP = '-4001';
const SUPERGROUP = '-1004001';
const STRANGERS = '-7001';
const STRANGERS_SUPERGROUP = '-1007001';
const MEMBER = '222';
const settings = { chatId: GROUP, allowedChatIds: [GROUP] };

describe('allowed group upgraded to a supergroup: commands across a restart', function () {
  this.timeout(30_000);
  let emu: TelegramEmulator;
  let store: Store<OutboxState> | undefined;
  let rig: BotRig | undefined;
  const captured = captureLogger();

  before(async () => {
    rig = await startBotRig({
      name: 'group-moved',
      telegram: { ...settings, pollingTimeoutSec: 1 },
      logger: captured.logger,
      deps: async ({ emu, dir }) => {
        // a previous run learned the move (from a refused alert) and kept it
        const before = await openOutboxStore(dir);
        const moves = new ChatMoves({ store: before, settings, logger: silentLogger(), clock: systemClock });
        expect(await moves.learn(GROUP, SUPERGROUP, 'send')).to.equal(true);
        await before.close();
        emu.migrateChat(GROUP, SUPERGROUP);
        // this run: the book read back from the store, no alert sent yet
        store = await openOutboxStore(dir);
        return { chatMoves: new ChatMoves({ store, settings, logger: captured.logger, clock: systemClock }) };
      },
      afterBot: async () => store?.close(),
    });
    ({ emu } = rig);
  });

  after(() => rig?.close());

  it("the supergroup's commands are answered after a restart, before any alert", async () => {
    await emu.sendCommand(SUPERGROUP, '/help', MEMBER);
    await emu.waitForMessage(() => true, { chatId: SUPERGROUP });
  });

  it("a stranger's group upgraded is not learned and stays a stranger", async () => {
    await emu.announceMigration(STRANGERS, STRANGERS_SUPERGROUP, MEMBER);
    await emu.sendCommand(STRANGERS_SUPERGROUP, '/help', MEMBER);
    await eventually(
      () =>
        captured.lines.some(
          (l) =>
            l.message === 'Unauthorized Telegram user ignored' && String(l.chatId) === STRANGERS_SUPERGROUP,
        ),
      10_000,
      "the stranger's supergroup refused",
    );
    expect(emu.sentMessages(STRANGERS_SUPERGROUP)).to.deep.equal([]);
    expect(store!.data.chatMoves.map((m) => m.from)).to.deep.equal([GROUP]);
  });
});
