/**
 * /resume asks to confirm, naming the pause it lifts: the operator's resume lifts every cause — a kill switch
 * included — and a tap on /resume in Telegram's command menu (sent at once, next to /pause) must not do that by
 * itself. Real telegraf against the Bot API emulator; trading is the stub's real IpcServer.
 */
import { expect } from 'chai';
import { startBotRig, type BotRig } from '../../support/bot-rig';
import type { SentMessage } from '../../../harness/telegram-emulator';

const OWNER = '111';
const KILL_SWITCH = 'kill switch: daily loss 5.2% ≥ 5%';

describe('/resume asks to confirm, naming the pause it lifts', function () {
  this.timeout(30_000);
  let rig: BotRig | undefined;

  before(async () => {
    rig = await startBotRig({
      name: 'resume-confirm',
      telegram: { allowedUserIds: [OWNER], confirmTimeoutSec: 30, pollingTimeoutSec: 1 },
    });
  });

  after(() => rig?.close());

  const resumes = (): number => rig!.stub.state.calls.filter((c) => c === 'resume').length;

  async function ask(text: string): Promise<SentMessage> {
    const { emu } = rig!;
    const before = Math.max(0, ...emu.sentMessages(OWNER).map((m) => m.messageId));
    await emu.sendCommand(OWNER, text);
    return emu.waitForMessage((m) => m.messageId > before, { chatId: OWNER });
  }

  async function press(question: SentMessage): Promise<SentMessage> {
    const { emu } = rig!;
    const markup = question.replyMarkup as { inline_keyboard: Array<Array<{ callback_data: string }>> };
    await emu.sendCallback(
      OWNER,
      markup.inline_keyboard[0]![0]!.callback_data,
      undefined,
      question.messageId,
    );
    return emu.waitForMessage((m) => m.messageId > question.messageId, { chatId: OWNER });
  }

  it('a kill switch is lifted only once the question naming it is confirmed', async () => {
    const { stub } = rig!;
    stub.state.status = { ...stub.state.status, paused: true, pausedReason: KILL_SWITCH };
    const before = resumes();
    const question = await ask('/resume');
    expect(question.text).to.include(KILL_SWITCH).and.include('kill switch included');
    expect(question.replyMarkup).not.to.equal(undefined);
    expect(resumes()).to.equal(before);
    const done = await press(question);
    expect(done.text).to.include('Trading resumed').and.include(KILL_SWITCH);
    expect(resumes()).to.equal(before + 1);
  });

  it('a pause whose cause changed after the question is not lifted', async () => {
    const { stub } = rig!;
    stub.state.status = { ...stub.state.status, paused: true, pausedReason: 'paused from Telegram by 111' };
    const before = resumes();
    const question = await ask('/resume');
    expect(question.text).to.include('paused from Telegram by 111');
    stub.state.status = { ...stub.state.status, paused: true, pausedReason: KILL_SWITCH };
    const answer = await press(question);
    expect(answer.text).to.include('Not resumed').and.include(KILL_SWITCH);
    expect(resumes()).to.equal(before);
  });

  it('says so when trading is not paused, and asks nothing', async () => {
    const { stub } = rig!;
    stub.state.status = { ...stub.state.status, paused: false, pausedReason: undefined };
    const before = resumes();
    const answer = await ask('/resume');
    expect(answer.text).to.include('not paused');
    expect(answer.replyMarkup).to.equal(undefined);
    expect(resumes()).to.equal(before);
  });
});
