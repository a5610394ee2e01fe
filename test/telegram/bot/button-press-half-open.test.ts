/**
 * A confirmation button pressed while the Bot API does not answer the press's own requests (a half-open connection:
 * no FIN, no RST — the emulator's blackhole): the confirmed action still runs and its outcome is told. Answering the
 * press and removing the buttons are best effort and bounded; through telegraf's client they waited its 500 s
 * timeout each, the confirmed close-all held behind them. Real telegraf against the emulator.
 */
import { expect } from 'chai';
import { TelegramEmulator } from '../../../harness/telegram-emulator';
import { startBotRig, type BotRig } from '../../support/bot-rig';
import type { TradingStub } from '../../support/trading-stub';

const ALLOWED = '111';

describe("a confirmation pressed while the press's own Bot API requests get no answer", function () {
  this.timeout(60_000);
  let emu: TelegramEmulator;
  let stub: TradingStub;
  let rig: BotRig | undefined;

  before(async () => {
    rig = await startBotRig({
      name: 'button-half-open',
      telegram: { allowedChatIds: [ALLOWED], confirmTimeoutSec: 30, pollingTimeoutSec: 1 },
      requestTimeoutMs: 5_000,
    });
    ({ emu, stub } = rig);
  });

  after(async () => {
    emu?.setFault(null);
    await rig?.close();
  });

  it('/closeall confirmed: the close-all runs and its outcome is told', async () => {
    await emu.sendCommand(ALLOWED, '/closeall');
    const question = await emu.waitForMessage((m) => m.replyMarkup !== undefined, { chatId: ALLOWED });
    const markup = question.replyMarkup as { inline_keyboard: Array<Array<{ callback_data: string }>> };
    emu.setFault('blackhole', { methods: ['answerCallbackQuery', 'editMessageReplyMarkup'] });
    await emu.sendCallback(
      ALLOWED,
      markup.inline_keyboard[0]![0]!.callback_data,
      undefined,
      question.messageId,
    );
    // bounded well below telegraf's 500 s client timeout, far above the two 5 s button deadlines
    const outcome = await emu.waitForMessage(
      (m) => m.messageId > question.messageId && m.text.includes('stubbot-close-0'),
      { chatId: ALLOWED, timeoutMs: 40_000 },
    );
    expect(outcome.text).to.include('Close-all');
    expect(stub.state.calls.filter((c) => c === 'closeAll')).to.have.length(1);
    expect(emu.requests.some((r) => r.method === 'answerCallbackQuery')).to.equal(true);
  });
});
