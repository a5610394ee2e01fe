/**
 * Stop 33 (repro, fails on main): a listed group upgraded to a supergroup while the bot did not hear it. The bot
 * learned a move of a group listed only in TELEGRAM_ALLOWED_CHAT_IDS from Telegram's service message alone — and
 * Telegram keeps updates 24 hours: after a longer telegram outage every command from the new supergroup was refused
 * as a stranger's, with nothing said. Now the bot asks Telegram about the listed groups not known moved — at start,
 * and (at most once a minute) when a command comes from a group no setting names — with getChatMemberCount, which the
 * Bot API server answers on an upgraded group's old id as it answers a send: 400 with `parameters.migrate_to_chat_id`
 * (ResponseParameters; tdlib/telegram-bot-api Client.cpp check_chat_access). The move is learned from that answer
 * only, as from a refused send: a stranger's group never names the chat it would command as.
 *
 * Real telegraf against the emulator, which moves the groups without delivering any service message.
 */
import { expect } from 'chai';
import { eventually } from '../../../harness/pm2';
import { TelegramEmulator } from '../../../harness/telegram-emulator';
import { startBotRig, type BotRig } from '../../support/bot-rig';
import { captureLogger } from '../../support/capture-logger';

/** Moved while telegram was down. */
const GROUP_A = '-4101';
const SUPERGROUP_A = '-1004101';
/** Moved while the bot runs, its service message lost. */
const GROUP_B = '-4102';
const SUPERGROUP_B = '-1004102';
/** Never moved. */
const GROUP_C = '-4103';
const MEMBER = '222';

describe('a listed group upgraded to a supergroup without the bot hearing the service message', function () {
  this.timeout(60_000);
  let emu: TelegramEmulator;
  let rig: BotRig | undefined;
  const captured = captureLogger();
  const probes = (): number => emu.requests.filter((r) => r.method === 'getChatMemberCount').length;
  const denied = (chatId: string): boolean =>
    captured.lines.some(
      (l) => l.message === 'Unauthorized Telegram user ignored' && String(l.chatId) === chatId,
    );

  before(async () => {
    rig = await startBotRig({
      name: 'group-moved-unheard',
      telegram: { allowedChatIds: [GROUP_A, GROUP_B, GROUP_C], pollingTimeoutSec: 1 },
      logger: captured.logger,
      deps: ({ emu: e }) => {
        // upgraded while telegram was down: its service messages are long gone
        e.migrateChat(GROUP_A, SUPERGROUP_A);
        return {};
      },
    });
    ({ emu } = rig);
  });

  after(() => rig?.close());

  it('at start: commands from the new supergroup are answered, and the log says which setting to change', async () => {
    await emu.sendCommand(SUPERGROUP_A, '/help', MEMBER);
    const reply = await emu
      .waitForMessage(() => true, { chatId: SUPERGROUP_A, timeoutMs: 10_000 })
      .catch(() => undefined);
    expect(reply, `refused as a stranger: ${denied(SUPERGROUP_A)}`).to.not.equal(undefined);
    expect(reply!.text).to.include('/status');
    expect(
      captured.lines.some(
        (l) =>
          l.level === 'error' &&
          JSON.stringify(l).includes(SUPERGROUP_A) &&
          JSON.stringify(l).includes('TELEGRAM_ALLOWED_CHAT_IDS'),
      ),
    ).to.equal(true);
  });

  it('while running: a command from an unknown group makes the bot ask, and the moved group commands', async () => {
    await emu.sendCommand(GROUP_B, '/help', MEMBER);
    await emu.waitForMessage(() => true, { chatId: GROUP_B });
    emu.migrateChat(GROUP_B, SUPERGROUP_B);
    await emu.sendCommand(SUPERGROUP_B, '/help', MEMBER);
    const reply = await emu
      .waitForMessage(() => true, { chatId: SUPERGROUP_B, timeoutMs: 10_000 })
      .catch(() => undefined);
    expect(reply, `refused as a stranger: ${denied(SUPERGROUP_B)}`).to.not.equal(undefined);
  });

  it("strangers' groups are refused, and make the bot ask Telegram at most once a minute", async () => {
    const before = probes();
    for (const stranger of ['-9001', '-9002', '-9003']) {
      await emu.sendCommand(stranger, '/help', MEMBER);
      await eventually(() => denied(stranger), 10_000, `${stranger} refused`);
    }
    // the last probe (the supergroup B's command above) was within the minute: none more
    expect(probes() - before).to.equal(0);
    for (const stranger of ['-9001', '-9002', '-9003']) expect(emu.sentMessages(stranger)).to.deep.equal([]);
  });
});
