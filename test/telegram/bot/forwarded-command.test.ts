/**
 * A command in a forwarded message is not run: it is someone else's words (Bot API Message.forward_origin,
 * "Information about the original message for forwarded messages"), dated when it was forwarded — an operator sharing
 * a conversation that quotes /closeall or /pause gave no command. Real telegraf against the Bot API emulator; trading
 * is the stub's real IpcServer.
 */
import { expect } from 'chai';
import { startBotRig, type BotRig } from '../../support/bot-rig';

const OWNER = '111';

describe('a command in a forwarded message is not run', function () {
  this.timeout(30_000);
  let rig: BotRig | undefined;

  before(async () => {
    rig = await startBotRig({
      name: 'forwarded',
      telegram: { allowedUserIds: [OWNER], confirmTimeoutSec: 30, pollingTimeoutSec: 1 },
    });
  });

  after(() => rig?.close());

  it('says so and neither asks nor calls trading', async () => {
    const { emu, stub } = rig!;
    const calls = stub.state.calls.length;
    const origin = { type: 'user', date: Math.floor(Date.now() / 1000) - 3600, sender_user: { id: 222 } };
    await emu.sendCommand(OWNER, '/pause', OWNER, { fields: { forward_origin: origin } });
    const answer = await emu.waitForMessage((m) => m.text.includes('/pause'), { chatId: OWNER });
    expect(answer.text).to.include('forwarded').and.include('Not executed');
    expect(answer.replyMarkup).to.equal(undefined);
    expect(stub.state.calls.slice(calls)).to.deep.equal([]);
    // the same command sent, not forwarded, runs
    await emu.sendCommand(OWNER, '/pause');
    await emu.waitForMessage((m) => m.text.includes('Trading paused'), { chatId: OWNER });
    expect(stub.state.calls.slice(calls)).to.deep.equal(['pause']);
  });
});
