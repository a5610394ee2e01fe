/**
 * A confirmation button pressed while the Bot API does not answer the press's own requests (a half-open connection:
 * no FIN, no RST — the emulator's blackhole): the confirmed action still runs and its outcome is told. Answering the
 * press and removing the buttons are best effort and bounded; through telegraf's client they waited its 500 s
 * timeout each, the confirmed close-all held behind them. Real telegraf against the emulator.
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
import { TelegramEmulator } from '../../../harness/telegram-emulator';
import { TradingStub } from '../../support/trading-stub';

const ALLOWED = '111';

describe("a confirmation pressed while the press's own Bot API requests get no answer", function () {
  this.timeout(60_000);
  let emu: TelegramEmulator;
  let dir: string;
  let stub: TradingStub;
  let trading: IpcClient;
  let bot: Bot;

  before(async () => {
    emu = await TelegramEmulator.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-button-half-open-'));
    stub = await TradingStub.start(dir);
    trading = new IpcClient({
      host: '127.0.0.1',
      port: stub.port,
      token: stub.token,
      client: 'telegram',
      requestTimeoutMs: 5_000,
      heartbeatMs: 1_000,
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
    emu?.setFault(null);
    await bot?.stop();
    await trading?.close();
    await stub?.close();
    await emu?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
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
