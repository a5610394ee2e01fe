/**
 * A message sent on behalf of a chat — an anonymous group admin, a user posting as their channel, a channel post
 * forwarded into its discussion group — carries `sender_chat`, and in `from` a fake user that is the same for everyone
 * who sends that way (Bot API, Message.from: "For backward compatibility, the field contains a fake sender user in
 * non-channel chats, if the message was sent on behalf of a chat": GroupAnonymousBot 1087968824, Channel_Bot
 * 136817688, Telegram 777000). That user says nothing about who acted: the bot must never take it as the sender's
 * user id. Real telegraf against the Bot API emulator; trading is the stub's real IpcServer.
 */
import { expect } from 'chai';
import { startBotRig, type BotRig } from '../../support/bot-rig';

const OWNER = '111';
/** GroupAnonymousBot: the `from` of every anonymous admin's message, in every group. */
const ANONYMOUS_ADMIN = '1087968824';
/** A group listed in TELEGRAM_ALLOWED_CHAT_IDS. */
const GROUP = '-1001234';
/** A group the bot was added to by a stranger. */
const STRANGERS_GROUP = '-1009999';

const onBehalfOf = (chatId: string): { fields: Record<string, unknown> } => ({
  fields: { sender_chat: { id: Number(chatId), type: 'supergroup', title: 'a group' } },
});

describe('a message sent on behalf of a chat (anonymous admin, channel) has no user', function () {
  this.timeout(30_000);
  let rig: BotRig | undefined;

  before(async () => {
    rig = await startBotRig({
      name: 'sender-chat',
      telegram: {
        allowedChatIds: [GROUP],
        // what `byninja telegram whoami` proposed when the owner sent /whoami as an anonymous admin
        allowedUserIds: [OWNER, ANONYMOUS_ADMIN],
        confirmTimeoutSec: 30,
        pollingTimeoutSec: 1,
      },
    });
  });

  after(() => rig?.close());

  /** The owner's /help answered: the bot polled past every update sent before it. */
  async function pollPast(): Promise<void> {
    const { emu } = rig!;
    const before = Math.max(0, ...emu.sentMessages(OWNER).map((m) => m.messageId));
    await emu.sendCommand(OWNER, '/help');
    await emu.waitForMessage((m) => m.messageId > before, { chatId: OWNER });
    await new Promise((r) => setTimeout(r, 300));
  }

  it("an anonymous admin of a stranger's group is not the listed GroupAnonymousBot id: no answer, nothing done", async () => {
    const { emu, stub } = rig!;
    stub.state.status = { ...stub.state.status, paused: true, pausedReason: 'kill switch: daily loss' };
    const calls = stub.state.calls.length;
    await emu.sendCommand(STRANGERS_GROUP, '/resume', ANONYMOUS_ADMIN, onBehalfOf(STRANGERS_GROUP));
    await emu.sendCommand(STRANGERS_GROUP, '/balance', ANONYMOUS_ADMIN, onBehalfOf(STRANGERS_GROUP));
    await pollPast();
    expect(emu.sentMessages(STRANGERS_GROUP)).to.deep.equal([]);
    expect(stub.state.calls.slice(calls)).to.deep.equal([]);
  });

  it('in a listed group an anonymous admin may read, and is told to send a dangerous command as themselves', async () => {
    const { emu, stub } = rig!;
    const calls = stub.state.calls.length;
    await emu.sendCommand(GROUP, '/pause', ANONYMOUS_ADMIN, onBehalfOf(GROUP));
    const refused = await emu.waitForMessage((m) => m.text.includes('/pause'), { chatId: GROUP });
    expect(refused.text).to.include('on behalf of a chat').and.include('as yourself');
    expect(refused.replyMarkup).to.equal(undefined);
    await emu.sendCommand(GROUP, '/positions', ANONYMOUS_ADMIN, onBehalfOf(GROUP));
    await emu.waitForMessage((m) => m.messageId > refused.messageId, { chatId: GROUP });
    expect(stub.state.calls.slice(calls)).to.deep.equal(['positions']);
  });
});
