/**
 * Field review 32 (repro, fails on main): a reply to a command during a flood wait. Telegram answers 429 with
 * `parameters.retry_after`, "the number of seconds left to wait before the request can be repeated" (Bot API,
 * ResponseParameters); a group takes at most 20 messages a minute, so a wait of tens of seconds is ordinary in the
 * alert group while alerts flow. The bot's replies (bot.ts send(): shared/retry.ts, 4 attempts, each wait capped at
 * maxDelayMs 15 s, retry_after included) ask again before the wait is over: each early try is refused again, and a
 * wait past ~45 s loses the reply — /closeall's or /settle's outcome included (the "Command failed" note that
 * follows is refused the same way).
 *
 * Real telegraf against the emulator, whose 429 `floodWait` refuses every sendMessage until retry_after has passed.
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
const RETRY_AFTER_SEC = 20;

describe('a reply during a 429 flood wait — review 32 repro', function () {
  this.timeout(90_000);
  let emu: TelegramEmulator;
  let dir: string;
  let stub: TradingStub;
  let trading: IpcClient;
  let bot: Bot;

  before(async () => {
    emu = await TelegramEmulator.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-flood-wait-'));
    stub = await TradingStub.start(dir);
    trading = new IpcClient({
      host: '127.0.0.1',
      port: stub.port,
      token: stub.token,
      client: 'telegram',
      requestTimeoutMs: 2_000,
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

  it('the reply is sent once the flood wait is over, and Telegram is not asked again before it', async () => {
    emu.setFault('429', { retryAfterSec: RETRY_AFTER_SEC, floodWait: true, methods: ['sendMessage'] });
    await emu.sendCommand(ALLOWED, '/help');
    const reply = await emu
      .waitForMessage(() => true, { chatId: ALLOWED, timeoutMs: 70_000 })
      .catch(() => undefined);
    const sends = emu.requests.filter((r) => r.method === 'sendMessage');
    const refused = sends.filter((r) => r.status === 429);
    const story = sends
      .map((r) => `${r.status} at +${((r.at - sends[0]!.at) / 1000).toFixed(1)} s`)
      .join(', ');
    expect(reply, `the reply arrives after the wait (sendMessage: ${story})`).to.not.equal(undefined);
    expect(
      refused,
      `no sendMessage before retry_after (${RETRY_AFTER_SEC} s) passed: ${story}`,
    ).to.have.length(1);
  });
});
