/**
 * A close-all that outlasts even the answer timeout trading gives it (its hello's answerTimeoutsMs): the operator is
 * told there is no answer yet and that it may still be running — never that trading is unreachable while the link
 * is up — and gets the close-all's outcome when trading answers after all. Real telegraf against the emulator; the
 * TradingStub's hello gives closeAll the request timeout.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { systemClock } from '../../../src/shared/clock';
import { configSchema } from '../../../src/shared/config/schema';
import { IpcClient } from '../../../src/shared/ipc/client';
import { silentLogger } from '../../../src/shared/logging/logger';
import { createBot, type Bot } from '../../../src/telegram/bot/bot';
import type { ChartRenderer } from '../../../src/telegram/charts/chart-process';
import { eventually } from '../../../harness/pm2';
import { TelegramEmulator, type SentMessage } from '../../../harness/telegram-emulator';
import { TradingStub } from '../../support/trading-stub';

const ALLOWED = '111';
const REQUEST_TIMEOUT_MS = 800;

describe('/closeall past the answer timeout trading gives it', function () {
  this.timeout(30_000);
  let emu: TelegramEmulator;
  let dir: string;
  let stub: TradingStub;
  let trading: IpcClient;
  let bot: Bot;
  let stubClosed = false;

  before(async () => {
    emu = await TelegramEmulator.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-closeall-no-answer-'));
    stub = await TradingStub.start(dir, undefined, { closeAll: REQUEST_TIMEOUT_MS });
    trading = new IpcClient({
      host: '127.0.0.1',
      port: stub.port,
      token: stub.token,
      client: 'telegram',
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      heartbeatMs: 500,
      logger: silentLogger(),
      clock: systemClock,
    });
    await trading.connect();
    bot = createBot({
      token: emu.token,
      apiRoot: emu.apiRoot,
      config: configSchema.parse({
        telegram: { allowedChatIds: [ALLOWED], confirmTimeoutSec: 30, pollingTimeoutSec: 1 },
      }),
      logger: silentLogger(),
      pm2: { list: () => Promise.resolve([]), restart: () => Promise.resolve() },
      tradingClient: trading,
      dataDir: dir,
      charts: {} as ChartRenderer,
      logDir: dir,
      clock: systemClock,
    });
    await bot.start();
    await eventually(() => emu.myCommands.length > 0, 10_000, 'setMyCommands');
  });

  after(async () => {
    await bot?.stop();
    await trading?.close();
    if (!stubClosed) await stub?.close();
    await emu?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** /closeall, confirmed; resolves with the "no answer yet" reply and a filter for the messages after it. */
  async function closeAllUnanswered(): Promise<{ reply: SentMessage; after: (m: SentMessage) => boolean }> {
    const before = Math.max(0, ...emu.sentMessages(ALLOWED).map((m) => m.messageId));
    await emu.sendCommand(ALLOWED, '/closeall');
    const question = await emu.waitForMessage((m) => m.messageId > before && m.replyMarkup !== undefined, {
      chatId: ALLOWED,
    });
    const markup = question.replyMarkup as { inline_keyboard: Array<Array<{ callback_data: string }>> };
    await emu.sendCallback(
      ALLOWED,
      markup.inline_keyboard[0]![0]!.callback_data,
      undefined,
      question.messageId,
    );
    const after = (m: SentMessage): boolean => m.messageId > question.messageId;
    const reply = await emu.waitForMessage((m) => after(m) && /no answer from trading yet/i.test(m.text), {
      chatId: ALLOWED,
      timeoutMs: 10_000,
    });
    expect(reply.text).to.include('outcome follows');
    return { reply, after: (m) => m.messageId > reply.messageId };
  }

  it('says "no answer yet, it may still be running", not "unreachable"; the outcome follows when it comes', async () => {
    stub.state.closeAllMs = REQUEST_TIMEOUT_MS * 4;
    await emu.sendCommand(ALLOWED, '/closeall');
    const question = await emu.waitForMessage((m) => m.replyMarkup !== undefined, { chatId: ALLOWED });
    const markup = question.replyMarkup as { inline_keyboard: Array<Array<{ callback_data: string }>> };
    await emu.sendCallback(
      ALLOWED,
      markup.inline_keyboard[0]![0]!.callback_data,
      undefined,
      question.messageId,
    );
    const after = (m: SentMessage): boolean => m.messageId > question.messageId;
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
    stubClosed = true;
    await stub.close(); // trading going away mid close-all (a restart): the link ends, no answer will come
    const outcome = await emu.waitForMessage((m) => after(m) && m.text.includes('will not follow'), {
      chatId: ALLOWED,
      timeoutMs: 10_000,
    });
    expect(outcome.text).to.include('/positions');
  });
});
