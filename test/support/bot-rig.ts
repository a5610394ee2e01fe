/**
 * The real telegraf bot against the Bot API emulator, with trading's control API a real IpcServer (TradingStub)
 * reached through a real IpcClient: the rig the bot's Bot-API tests share. Each test names only what it changes
 * (the telegram settings, the IPC timeout, the stub's answer times, a dependency of the bot); `close()` stops all of
 * it and removes the temp dir.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { systemClock } from '../../src/shared/clock';
import { configSchema } from '../../src/shared/config/schema';
import { IpcClient } from '../../src/shared/ipc/client';
import type { RpcMethod } from '../../src/shared/ipc/protocol';
import { silentLogger, type Logger } from '../../src/shared/logging/logger';
import { createBot, type Bot, type BotDeps } from '../../src/telegram/bot/bot';
import type { ChartRenderer } from '../../src/telegram/charts/chart-process';
import { eventually } from '../../harness/pm2';
import { TelegramEmulator, type SentMessage } from '../../harness/telegram-emulator';
import { TradingStub } from './trading-stub';

export interface BotRigOptions {
  /** The temp dir's name prefix. */
  name: string;
  /** The `telegram` config section (allowedChatIds, pollingTimeoutSec, ...). */
  telegram: Record<string, unknown>;
  /** The bot's IpcClient request timeout (default 2 s). */
  requestTimeoutMs?: number;
  /** What the stub's `hello` answers as the slow methods' timeouts (default: trading's defaults). */
  answerTimeouts?: Partial<Record<RpcMethod, number>>;
  logger?: Logger;
  /** More of the bot's dependencies, built once the emulator, dir and stub exist (a store in the dir, say). */
  deps?: (rig: Omit<BotRig, 'bot' | 'close'>) => Partial<BotDeps> | Promise<Partial<BotDeps>>;
  /** Run once the bot has stopped, before the temp dir goes (a store the test opened in it, say). */
  afterBot?: () => Promise<void>;
  /** What "started" waits for: the bot's commands set (default), or its first poll. */
  readyOn?: 'commands' | 'first-poll';
}

export interface BotRig {
  emu: TelegramEmulator;
  dir: string;
  stub: TradingStub;
  trading: IpcClient;
  bot: Bot;
  close(): Promise<void>;
}

export async function startBotRig(o: BotRigOptions): Promise<BotRig> {
  const emu = await TelegramEmulator.start();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `byninja-${o.name}-`));
  const stub = await TradingStub.start(dir, undefined, o.answerTimeouts);
  const trading = new IpcClient({
    host: '127.0.0.1',
    port: stub.port,
    token: stub.token,
    client: 'telegram',
    requestTimeoutMs: o.requestTimeoutMs ?? 2_000,
    heartbeatMs: 500,
    logger: silentLogger(),
    clock: systemClock,
  });
  let bot: Bot | undefined;
  const close = async (): Promise<void> => {
    await bot?.stop();
    await o.afterBot?.();
    await trading.close();
    await stub.close();
    await emu.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await trading.connect();
    const extra = (await o.deps?.({ emu, dir, stub, trading })) ?? {};
    bot = createBot({
      token: emu.token,
      apiRoot: emu.apiRoot,
      config: configSchema().parse({ telegram: o.telegram }),
      logger: o.logger ?? silentLogger(),
      pm2: { list: () => Promise.resolve([]), restart: () => Promise.resolve() },
      tradingClient: trading,
      dataDir: dir,
      charts: {} as ChartRenderer,
      logDir: dir,
      clock: systemClock,
      ...extra,
    });
    await bot.start();
    if (o.readyOn === 'first-poll') {
      await eventually(() => emu.requests.some((r) => r.method === 'getUpdates'), 10_000, 'the first poll');
    } else {
      await eventually(() => emu.myCommands.length > 0, 10_000, 'setMyCommands');
    }
    return { emu, dir, stub, trading, bot, close };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}

/**
 * Sends `command` from `chatId`, waits for the bot's question with buttons and presses its first (confirm) button.
 * Returns a test for the messages sent after the question.
 */
export async function confirmCommand(
  emu: TelegramEmulator,
  chatId: string | number,
  command: string,
): Promise<(m: SentMessage) => boolean> {
  const before = Math.max(0, ...emu.sentMessages(chatId).map((m) => m.messageId));
  await emu.sendCommand(chatId, command);
  const question = await emu.waitForMessage((m) => m.messageId > before && m.replyMarkup !== undefined, {
    chatId,
  });
  const markup = question.replyMarkup as { inline_keyboard: Array<Array<{ callback_data: string }>> };
  await emu.sendCallback(chatId, markup.inline_keyboard[0]![0]!.callback_data, undefined, question.messageId);
  return (m) => m.messageId > question.messageId;
}
