/**
 * Field review 32 (repro, fails on main): the allowed group is upgraded to a supergroup (Telegram does it when the
 * history is made visible to new members, an admin gets some rights, the group gets a public link...). Its chat id
 * changes; the bot gets the service messages that say so (Bot API, Message: `migrate_to_chat_id` in the old group,
 * `migrate_from_chat_id` in the new one) and ignores them: from then on every command from the group is refused as
 * a stranger's — no reply, one rate-limited "Unauthorized Telegram user ignored" line — and nothing tells the
 * operator that TELEGRAM_ALLOWED_CHAT_IDS (and TELEGRAM_CHAT_ID, see notify/chat-migrated.test.ts) must name the
 * new id.
 *
 * Real telegraf against the emulator, which delivers the two service messages as Telegram does.
 */
import { expect } from 'chai';
import { eventually } from '../../../harness/pm2';
import { TelegramEmulator } from '../../../harness/telegram-emulator';
import { startBotRig, type BotRig } from '../../support/bot-rig';
import { captureLogger } from '../../support/capture-logger';

const GROUP = '-4001';
const SUPERGROUP = '-1004001';
const MEMBER = '222';

describe('allowed group upgraded to a supergroup (migrate_from_chat_id) — review 32 repro', function () {
  this.timeout(30_000);
  let emu: TelegramEmulator;
  let rig: BotRig | undefined;
  const captured = captureLogger();

  before(async () => {
    rig = await startBotRig({
      name: 'group-migrated',
      telegram: { allowedChatIds: [GROUP], pollingTimeoutSec: 1 },
      logger: captured.logger,
    });
    ({ emu } = rig);
  });

  after(() => rig?.close());

  it('the log says which new id to allow when an allowed group becomes a supergroup', async () => {
    // works before the upgrade
    await emu.sendCommand(GROUP, '/help', MEMBER);
    await emu.waitForMessage(() => true, { chatId: GROUP });
    emu.migrateChat(GROUP, SUPERGROUP);
    await emu.announceMigration(GROUP, SUPERGROUP, MEMBER);
    await emu.sendCommand(SUPERGROUP, '/help', MEMBER);
    // the bot has seen the supergroup's command once it refused it (or answered it, should it follow the group)
    await eventually(
      () =>
        emu.sentMessages(SUPERGROUP).length > 0 ||
        captured.lines.some(
          (l) => l.message === 'Unauthorized Telegram user ignored' && String(l.chatId) === SUPERGROUP,
        ),
      10_000,
      "the supergroup's /help handled",
    );
    const said = captured.lines
      .filter((l) => l.level === 'warn' || l.level === 'error')
      .map((l) => `${l.level}: ${l.message} ${JSON.stringify({ chatId: l.chatId })}`);
    expect(
      captured.lines.some(
        (l) =>
          (l.level === 'error' || l.level === 'warn') &&
          JSON.stringify(l).includes(SUPERGROUP) &&
          JSON.stringify(l).includes('TELEGRAM_ALLOWED_CHAT_IDS'),
      ),
      `a line tells the operator to allow ${SUPERGROUP}; the log has: ${JSON.stringify(said)}`,
    ).to.equal(true);
  });
});
