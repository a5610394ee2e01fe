/**
 * Field review 32 (repro, fails on main): a confirmed /closeall whose work takes longer than the IPC request timeout
 * (config ipc.requestTimeoutMs, default 5 s). Trading's close-all first waits for symbols still busy from a tick at
 * most `symbolReadTimeoutMs` (default 5 s, OperatorActions.closeAll), then cancels orders, reads the balance and
 * sells each position at market — so past 5 s is its ordinary worst case on a real exchange, not a hang. The bot
 * answers "⚠️ Trading unreachable: closeAll: no answer within … ms" while trading is selling, and the close-all's
 * outcome (which positions were sold, which skipped) never reaches the operator — who is invited to press
 * /closeall again.
 *
 * Real telegraf against the emulator; trading's control API is the real IpcServer (TradingStub) whose closeAll
 * answers after `closeAllMs`, and the bot's IpcClient has a short requestTimeoutMs to keep the test quick.
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

describe('/closeall slower than the IPC request timeout — review 32 repro', function () {
  this.timeout(30_000);
  let emu: TelegramEmulator;
  let dir: string;
  let stub: TradingStub;
  let trading: IpcClient;
  let bot: Bot;

  before(async () => {
    emu = await TelegramEmulator.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-slow-closeall-'));
    stub = await TradingStub.start(dir);
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
    await stub?.close();
    await emu?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the operator learns what the close-all did, and is never told trading is unreachable while it sells', async () => {
    stub.state.closeAllMs = REQUEST_TIMEOUT_MS * 2;
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
