/**
 * Field review 32 (repro, fails on main): a confirmed /closeall whose work takes longer than the IPC request timeout
 * (config ipc.requestTimeoutMs, default 5 s). Trading's close-all first waits for symbols still busy from a tick at
 * most `symbolReadTimeoutMs` (default 5 s, OperatorActions.closeAll), then cancels orders, reads the balance and
 * sells each position at market — so past 5 s is its ordinary worst case on a real exchange, not a hang. The bot
 * answers "⚠️ Trading unreachable: closeAll: no answer within … ms" while trading is selling, and the close-all's
 * outcome (which positions were sold, which skipped) never reaches the operator — who is invited to press
 * /closeall again.
 *
 * Now trading's hello gives the slow actions their own answer timeouts (trading/control/answer-timeouts.ts). And a
 * close-all that outlasts even that: the operator is told there is no answer yet and that it may still be running —
 * never that trading is unreachable while the link is up — and gets the outcome when trading answers after all.
 *
 * Real telegraf against the emulator; trading's control API is the real IpcServer (TradingStub) whose closeAll
 * answers after `closeAllMs`, and the bot's IpcClient has a short requestTimeoutMs to keep the test quick.
 */
import { expect } from 'chai';
import type { IpcClient } from '../../../src/shared/ipc/client';
import { eventually } from '../../../harness/pm2';
import { TelegramEmulator, type SentMessage } from '../../../harness/telegram-emulator';
import { TradingStub } from '../../support/trading-stub';
import { confirmCommand, startBotRig, type BotRig } from '../../support/bot-rig';

const ALLOWED = '111';
const REQUEST_TIMEOUT_MS = 800;

/** Asks /closeall and confirms it; a filter for what the bot says after the question. */
const confirmCloseAll = (emu: TelegramEmulator): Promise<(m: SentMessage) => boolean> =>
  confirmCommand(emu, ALLOWED, '/closeall');

describe('/closeall slower than the IPC request timeout — review 32 repro', function () {
  this.timeout(30_000);
  let emu: TelegramEmulator;
  let stub: TradingStub;
  let rig: BotRig | undefined;

  before(async () => {
    rig = await startBotRig({
      name: 'slow-closeall',
      telegram: { allowedChatIds: [ALLOWED], confirmTimeoutSec: 30, pollingTimeoutSec: 1 },
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    });
    ({ emu, stub } = rig);
  });

  after(() => rig?.close());

  it('the operator learns what the close-all did, and is never told trading is unreachable while it sells', async () => {
    stub.state.closeAllMs = REQUEST_TIMEOUT_MS * 2;
    const after = await confirmCloseAll(emu);
    // the stub has answered by then: whatever the bot says about the close-all, it has said it
    await eventually(() => stub.state.calls.includes('closeAll'), 10_000, 'closeAll reached trading');
    const outcome = await emu.waitForMessage(
      (m) => after(m) && /Close-all sent|Trading unreachable|Trading refused/.test(m.text),
      { chatId: ALLOWED, timeoutMs: 10_000 },
    );
    await new Promise((r) => setTimeout(r, REQUEST_TIMEOUT_MS * 3));
    const said = emu
      .sentMessages(ALLOWED)
      .filter(after)
      .map((m) => m.text);
    expect(outcome.text, `what the operator was told: ${JSON.stringify(said)}`).to.not.include('unreachable');
    expect(
      said.some((t) => t.includes('stubbot-close-0')),
      `the close-all's outcome reaches the operator: ${JSON.stringify(said)}`,
    ).to.equal(true);
  });
});

describe('/closeall past the answer timeout trading gives it', function () {
  this.timeout(30_000);
  let emu: TelegramEmulator;
  let stub: TradingStub;
  let trading: IpcClient;
  let rig: BotRig | undefined;

  before(async () => {
    rig = await startBotRig({
      name: 'closeall-no-answer',
      telegram: { allowedChatIds: [ALLOWED], confirmTimeoutSec: 30, pollingTimeoutSec: 1 },
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      answerTimeouts: { closeAll: REQUEST_TIMEOUT_MS },
    });
    ({ emu, stub, trading } = rig);
  });

  after(() => rig?.close());

  it('says "no answer yet, it may still be running", not "unreachable"; the outcome follows when it comes', async () => {
    stub.state.closeAllMs = REQUEST_TIMEOUT_MS * 4;
    const after = await confirmCloseAll(emu);
    const reply = await emu.waitForMessage((m) => after(m) && /trading/i.test(m.text), {
      chatId: ALLOWED,
      timeoutMs: 10_000,
    });
    expect(reply.text).to.not.include('unreachable');
    expect(reply.text).to.include('No answer from trading yet');
    expect(reply.text).to.include('may still be running');
    expect(reply.text).to.include('/positions');
    expect(reply.text).to.include('outcome follows');
    expect(trading.connected).to.equal(true);
    const outcome = await emu.waitForMessage((m) => after(m) && m.text.includes('stubbot-close-0'), {
      chatId: ALLOWED,
      timeoutMs: 10_000,
    });
    expect(outcome.messageId).to.be.greaterThan(reply.messageId);
  });

  /** /closeall, confirmed and not answered in time: the "no answer yet" reply and a filter for what follows it. */
  async function closeAllUnanswered(): Promise<{ reply: SentMessage; after: (m: SentMessage) => boolean }> {
    const afterQuestion = await confirmCloseAll(emu);
    const reply = await emu.waitForMessage(
      (m) => afterQuestion(m) && /no answer from trading yet/i.test(m.text),
      { chatId: ALLOWED, timeoutMs: 10_000 },
    );
    expect(reply.text).to.include('outcome follows');
    return { reply, after: (m) => m.messageId > reply.messageId };
  }

  it('a late answer that is a failure is told too: the promised outcome does not vanish into the log', async () => {
    stub.state.closeAllMs = REQUEST_TIMEOUT_MS * 4;
    stub.state.closeAllRefusal = 'close-all not started: the state could not be saved';
    try {
      const { after } = await closeAllUnanswered();
      const outcome = await emu.waitForMessage((m) => after(m) && m.text.includes('could not be saved'), {
        chatId: ALLOWED,
        timeoutMs: 10_000,
      });
      expect(outcome.text).to.include('failure');
    } finally {
      delete stub.state.closeAllRefusal;
    }
  });

  it('a link that ends before the late answer is told: the outcome will not follow (last: closes the stub)', async () => {
    stub.state.closeAllMs = 60_000;
    const { after } = await closeAllUnanswered();
    await stub.close(); // trading going away mid close-all (a restart): the link ends, no answer will come
    const outcome = await emu.waitForMessage((m) => after(m) && m.text.includes('will not follow'), {
      chatId: ALLOWED,
      timeoutMs: 10_000,
    });
    expect(outcome.text).to.include('/positions');
  });
});
