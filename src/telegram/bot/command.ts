/**
 * What a bot command is and what it may use. Commands only fetch (through ops/ and trading's TCP API) and format;
 * the bot (bot.ts) does authorization, staleness, parsing, confirmation buttons and sending.
 */
import type { LinkView } from '../../ops/status-report';
import type { TelegramDelivery } from '../../ops/telegram-delivery';
import type { Pm2ProcessView } from '../../ops/pm2-client';
import type { ServiceName } from '../../ops/services';
import type { ChartRenderer } from '../charts/chart-process';
import type { TradingRpc } from '../../ops/trading-client';
import type { Clock } from '../../shared/clock';
import type { TelegramConfig } from '../../shared/config/schema';
import { IpcError, IpcTimeoutError, errorMessage } from '../../shared/errors';
import { RpcErrorCode, type LastExit } from '../../shared/ipc/protocol';
import type { Logger } from '../../shared/logging/logger';
import type { Redactor } from '../../shared/logging/redact';
import type { Notifier } from '../notify/notification';
import {
  CANCEL_PREFIX,
  CONFIRM_PREFIX,
  type ConfirmableAction,
  type ConfirmationStore,
} from './confirmations';
import { escapeHtml } from './format';
import { formatSpan } from '../../shared/format-span';

export interface InlineButton {
  text: string;
  callbackData: string;
}

/** Everything commands may use; wired once by createBot. */
export interface BotServices {
  config: TelegramConfig;
  logger: Logger;
  pm2: { list(): Promise<Pm2ProcessView[]>; restart(name: string): Promise<void> };
  trading: TradingRpc;
  notifier?: Notifier;
  dataDir: string;
  logDir: string;
  redactor: Redactor;
  version: string;
  clock: Clock;
  confirmations: ConfirmationStore;
  /** Draws charts apart from this process (charts/chart-process.ts). */
  charts: ChartRenderer;
  /** The daemon's TCP link to trading, for /status. */
  linkState?: () => LinkView;
  /** Where alerts go now and the Telegram-side problem in progress, for /status. */
  delivery?: () => TelegramDelivery;
  /** Services online in PM2 that have not said ready yet, for /status. */
  notReady?: () => string[];
  /** How telegram's own previous run ended (ServiceContext.lastExit). */
  lastExit?: LastExit;
  /** This process's PM2 app name: restarting it ends the process (default 'telegram'). */
  self: ServiceName;
  /** Persists a self-restart request before PM2 replaces this process (the next boot confirms it in `chatId`). */
  beforeSelfRestart?: (req: { chatId: string; requestedAt: number }) => Promise<void>;
}

export interface CommandContext {
  chatId: string;
  userId?: string;
  /** Words after the command. */
  args: string[];
  now: number;
  services: BotServices;
  /** Sends HTML (split under 4096 characters when long); buttons go on the last part. */
  reply(html: string, buttons?: InlineButton[][]): Promise<void>;
  /** Sends a PNG with a short HTML caption (Telegram allows 1024 characters). */
  replyPhoto(png: Buffer, caption: string): Promise<void>;
}

export interface BotCommand {
  /** Without the slash. */
  name: string;
  /** Shown in Telegram's command menu (setMyCommands) and /help. */
  description: string;
  /** Argument synopsis, e.g. `<trading|telegram|all>`; empty when none. */
  usage: string;
  /**
   * Changes trading or restarts a service (/closeall, /restart, /pause, /resume): with
   * telegram.dangerousCommandsUsersOnly the sender's own user id must be listed.
   */
  dangerous?: boolean;
  run(ctx: CommandContext): Promise<void>;
  /** Executes a confirmed action (only for commands that ask for confirmation). */
  confirmed?(action: ConfirmableAction, ctx: CommandContext): Promise<void>;
}

export function usageText(cmd: BotCommand): string {
  return `Usage: <code>/${escapeHtml(cmd.name)}${cmd.usage ? ' ' + escapeHtml(cmd.usage) : ''}</code> — ${escapeHtml(cmd.description)}`;
}

/**
 * A one-line reason trading did not answer: refused (paused, not ready…), no answer in time while the link is up
 * (never "unreachable": it may still be running — a close-all selling), or unreachable (the link down).
 */
export function tradingFailureText(err: unknown): string {
  if (err instanceof IpcTimeoutError) {
    return (
      `⏳ No answer from trading yet (${escapeHtml(errorMessage(err))}): it may still be running. ` +
      'See /positions and /orders before asking again; fills and closed positions are alerted as they happen.'
    );
  }
  if (err instanceof IpcError && (err.code === RpcErrorCode.Refused || err.code === RpcErrorCode.NotReady)) {
    return `❌ Trading refused: ${escapeHtml(errorMessage(err))}`;
  }
  return `⚠️ Trading unreachable: ${escapeHtml(errorMessage(err))}`;
}

/**
 * Calls trading and replies with the failure instead of throwing; undefined when it failed. `late`: what to say
 * should the answer still come after its timeout (IpcTimeoutError.late, the operator's actions) — the close-all's
 * outcome reaches the operator even then.
 */
export async function askTrading<T>(
  ctx: CommandContext,
  fn: (trading: TradingRpc) => Promise<T>,
  late?: (result: T) => Promise<void>,
): Promise<T | undefined> {
  const { trading } = ctx.services;
  if (!trading.connected) {
    await ctx.reply('⚠️ Trading unreachable: the TCP link to trading is down. /status shows what PM2 sees.');
    return undefined;
  }
  try {
    return await fn(trading);
  } catch (err) {
    const followUp = late && err instanceof IpcTimeoutError ? err.late : undefined;
    const told = ctx.reply(
      tradingFailureText(err) + (followUp ? ' Its outcome follows here when trading answers.' : ''),
    );
    // the outcome after the "no answer yet" it follows (that reply may wait out a flood wait), whatever it is:
    // the answer, trading's refusal, or the news that it will not come — the operator was told it follows
    if (followUp) void told.catch(() => undefined).then(() => followLate(ctx, followUp as Promise<T>, late!));
    await told;
    return undefined;
  }
}

/** Tells the operator how an action given up on ended after all: its outcome, its failure, or none to come. */
async function followLate<T>(
  ctx: CommandContext,
  answer: Promise<T>,
  late: (result: T) => Promise<void>,
): Promise<void> {
  const log = ctx.services.logger;
  let result: T;
  try {
    result = await answer;
  } catch (err) {
    // a JSON-RPC error is trading's answer; anything else: the link ended (the late answer rejects only so)
    const answered = err instanceof IpcError && err.code !== undefined;
    const why = escapeHtml(errorMessage(err));
    const note = answered ? 'Late answer from trading: a failure' : 'No late answer from trading: link ended';
    log.warn(note, { error: errorMessage(err) });
    const text = answered
      ? `❌ Trading answered after all, with a failure: ${why}. See /positions and /orders.`
      : `⚠️ The outcome will not follow: the link to trading ended before it answered (${why}). See /positions and /orders.`;
    await ctx
      .reply(text)
      .catch((e: unknown) => log.error('Late answer from trading not sent', { error: errorMessage(e) }));
    return;
  }
  await late(result).catch((e: unknown) =>
    log.error('Late answer from trading not sent', { error: errorMessage(e) }),
  );
}

/**
 * A dangerous command's question: `action` kept for the user's confirmation (telegram.confirmTimeoutSec), `question`
 * sent with when its button expires, and the ✅ `confirmLabel` / ✖️ Cancel buttons.
 */
export async function askToConfirm(
  ctx: CommandContext,
  action: ConfirmableAction,
  question: string,
  confirmLabel: string,
): Promise<void> {
  const ttlMs = ctx.services.config.telegram.confirmTimeoutSec * 1000;
  const pending = ctx.services.confirmations.create(ctx.chatId, ctx.userId, action, ctx.now);
  await ctx.reply(
    `${question} This button expires in ${formatSpan(ttlMs)}.`,
    confirmButtons(pending.nonce, confirmLabel),
  );
}

export function confirmButtons(nonce: string, confirmLabel: string): InlineButton[][] {
  return [
    [
      { text: confirmLabel, callbackData: `${CONFIRM_PREFIX}${nonce}` },
      { text: '✖️ Cancel', callbackData: `${CANCEL_PREFIX}${nonce}` },
    ],
  ];
}
