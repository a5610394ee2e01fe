/**
 * The Telegram bot: telegraf handling updates from our long-polling loop (update-poller.ts), behind
 *  1. authorization (auth.ts): strangers get nothing and cause nothing;
 *  2. staleness: a command older than telegram.staleCommandMaxAgeSec (sent while the bot was down) is not
 *     executed — a short note says so;
 *  3. command dispatch (commands/): bad or missing arguments → usage text;
 *  4. confirmation buttons for dangerous commands (confirmations.ts): expired or unknown → "expired", nothing done;
 *  5. a global error handler: a failing command logs and answers "failed", the bot keeps running.
 * Replies go straight to Telegram (each request with a deadline, 429/5xx retried a few times, a 429's retry_after
 * waited out in full), not through the outbox: they answer a person who is waiting now; alerts go through the
 * durable outbox.
 */
import { formatSpan } from '../../shared/format-span';
import { Telegraf, type Context } from 'telegraf';
import type { CallbackQuery, Message, Update, UserFromGetMe, WebhookInfo } from 'telegraf/types';
import type { Pm2ProcessView } from '../../ops/pm2-client';
import type { ServiceName } from '../../ops/services';
import type { LinkView } from '../../ops/status-report';
import type { TelegramDelivery } from '../../ops/telegram-delivery';
import type { TradingRpc } from '../../ops/trading-client';
import { byninjaVersion } from '../../ops/version';
import type { Clock } from '../../shared/clock';
import type { TelegramConfig } from '../../shared/config/schema';
import { AuthenticationError, ByNinjaError, errorMessage } from '../../shared/errors';
import type { LastExit } from '../../shared/ipc/protocol';
import type { Logger } from '../../shared/logging/logger';
import { Redactor } from '../../shared/logging/redact';
import { retry, retryDelayMs } from '../../shared/retry';
import { ChatMoves } from '../notify/chat-move-book';
import { TelegramChatMigratedError } from '../notify/chat-moves';
import type { DeliveryOutcome } from '../notify/delivery-health';
import type { Notifier } from '../notify/notification';
import { plainTextOf, refusedAsMessage } from '../notify/message-refusal';
import { CommandAuth } from './auth';
import type { ChartRenderer } from '../charts/chart-process';
import type { BotCommand, BotServices, CommandContext, InlineButton } from './command';
import { allCommands } from './commands';
import { CANCEL_PREFIX, CONFIRM_PREFIX, ConfirmationStore } from './confirmations';
import { escapeHtml, splitMessage } from './format';
import { toTelegramError } from './telegram-errors';
import { timedCall } from './timed-call';
import { UpdatePoller } from './update-poller';

export interface BotDeps {
  token: string;
  /** Bot API root; default config.telegram.apiRoot (TELEGRAM_API_ROOT). */
  apiRoot?: string;
  config: TelegramConfig;
  logger: Logger;
  pm2: { list(): Promise<Pm2ProcessView[]>; restart(name: string): Promise<void> };
  /** Trading's control API: the daemon's long-lived IpcClient. */
  tradingClient: TradingRpc;
  /** The outbox, for /status's depth. */
  notifier?: Notifier;
  /** Where /pnl's chart is drawn (the daemon's one ChartProcess). */
  charts: ChartRenderer;
  dataDir: string;
  logDir: string;
  /** Masks secrets in /logs output; default masks the bot token. */
  redactor?: Redactor;
  /** TCP link state for /status. */
  linkState?: () => LinkView;
  /** Telegram delivery state for /status. */
  delivery?: () => TelegramDelivery;
  /** Services online in PM2 but not ready yet, for /status. */
  notReady?: () => string[];
  /** How telegram's previous run ended (ServiceContext.lastExit). */
  lastExit?: LastExit;
  /** Persists a /restart of telegram itself (requestSelfRestartMarker) before PM2 is asked. */
  beforeSelfRestart?: (req: { chatId: string; requestedAt: number }) => Promise<void>;
  /**
   * How the Bot API answers getMe and getUpdates (DeliveryHealth.report). A refused token (401) or a conflict
   * (409) never stops the service: the bot reports it and keeps retrying with backoff.
   */
  onHealth?: (outcome: DeliveryOutcome) => void;
  /**
   * A reply reached `chatId` (Telegram took it): the chat takes messages again, so the service sends it now the digest
   * of the alerts that went to the log only while it refused (Outbox.chatTakesMessages), if it is owed one.
   */
  onChatTookMessage?: (chatId: string) => void;
  /** This daemon's PM2 app name; default 'telegram'. */
  self?: ServiceName;
  /**
   * The chats Telegram moved (the service's one book, shared with the outbox): a supergroup commands as the listed
   * group it was, and the bot learns moves from Telegram's service messages. Default: a book for this run only.
   */
  chatMoves?: ChatMoves;
  clock: Clock;
  /** Poller backoff overrides (tests); `unauthorized*` also paces getMe while the token is refused. */
  poller?: {
    backoffBaseMs?: number;
    backoffMaxMs?: number;
    conflictBaseMs?: number;
    conflictMaxMs?: number;
    unauthorizedBaseMs?: number;
    unauthorizedMaxMs?: number;
    /** Jitter source of the poller's and getMe's backoffs, in [0, 1) (default Math.random). */
    random?: () => number;
    /** Deadline of each start request (getMe, getWebhookInfo, deleteWebhook, setMyCommands); default 10 s. */
    startCallTimeoutMs?: number;
  };
}

export interface Bot {
  /**
   * Starts the one poller. Resolves at once: getMe, setMyCommands and polling run in the background, so Telegram
   * being down delays the first poll, never the daemon's readiness. Calling it twice does nothing.
   */
  start(): Promise<void>;
  /** Stops polling and waits for running commands (bounded). Idempotent. */
  stop(): Promise<void>;
  /**
   * Stops at once, without waiting (a fatal error, during the crash flush): no next poll, no update handed on or
   * acknowledged, no reply or button request sent any more — running commands fail their replies.
   */
  halt(): void;
}

/**
 * A reply's retries (shared/retry.ts): 429, 5xx and network failures, 4 attempts. A 429's retry_after ("the number
 * of seconds left to wait before the request can be repeated", Bot API ResponseParameters) is waited out in full —
 * a group takes 20 messages a minute, so tens of seconds are ordinary while alerts flow — up to 2 minutes; a longer
 * flood wait gives the reply up at once (logged as the command's failure) rather than ask before it is over.
 */
const REPLY_RETRY = { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 15_000, maxRetryAfterMs: 120_000 };
/** One reply request given up after this long (no answer on a half-open connection), then retried. */
const REPLY_SEND_TIMEOUT_MS = 30_000;
/**
 * A best-effort request on a button press's path (the press answered, the buttons removed), given up after this
 * long: the confirmed action runs after them, and telegraf's own client would hold it 500 s on a half-open connection.
 */
const BUTTON_CALL_TIMEOUT_MS = 5_000;
/**
 * One start request (getMe, getWebhookInfo, deleteWebhook, setMyCommands) given up after this long, then retried:
 * on a half-open connection telegraf's client would hold it 500 s, the bot deaf meanwhile (polling starts after them).
 */
const START_CALL_TIMEOUT_MS = 10_000;
/**
 * Asking Telegram about the listed groups not known moved (probeMoves) at most this often: at start, then when a
 * command comes from a group no setting names — anyone can add the bot to a group, so strangers must not make the
 * bot ask more than this.
 */
const MOVE_PROBE_MIN_INTERVAL_MS = 60_000;
/** The webhook check and the command menu: retried a few times (shared/retry.ts), then only logged. */
const START_RETRY = { maxAttempts: 3, baseDelayMs: 1_000, maxDelayMs: 10_000 };

/** The note an allowed chat gets instead of the execution of a command sent while the bot was down. */
const STALE_NOTE = (name: string, ageMs: number): string =>
  `⏳ Not executed: /${escapeHtml(name)} was sent ${formatSpan(ageMs)} ago, while the bot was offline. Send it again if you still want it.`;

function parseCommand(text: string, botUsername?: string): { name: string; args: string[] } | undefined {
  const match = /^\/([A-Za-z0-9_]+)(?:@([A-Za-z0-9_]+))?(?:\s+([\s\S]*))?$/.exec(text.trim());
  if (!match) return undefined;
  if (match[2] && botUsername && match[2].toLowerCase() !== botUsername.toLowerCase()) return undefined; // for another bot
  return { name: match[1]!.toLowerCase(), args: (match[3] ?? '').split(/\s+/).filter((a) => a !== '') };
}

/** The move a service message announces: `migrate_to_chat_id` in the old group, `migrate_from_chat_id` in the new. */
function chatMoveOf(message: Message): { from: string; to: string } | undefined {
  if ('migrate_to_chat_id' in message)
    return { from: String(message.chat.id), to: String(message.migrate_to_chat_id) };
  if ('migrate_from_chat_id' in message)
    return { from: String(message.migrate_from_chat_id), to: String(message.chat.id) };
  return undefined;
}

/**
 * Fake users the Bot API puts in `from` of a message sent on behalf of a chat (Message.from: "For backward
 * compatibility, the field contains a fake sender user in non-channel chats, if the message was sent on behalf of a
 * chat"): GroupAnonymousBot (anonymous group admins), Channel_Bot (a user posting as a channel), Telegram (a channel
 * post forwarded into its discussion group). The same for everyone who sends that way: listed, they let no one in.
 */
export const SHARED_SENDER_IDS: ReadonlySet<string> = new Set(['1087968824', '136817688', '777000']);

/**
 * The user id a message is from; undefined when there is none to trust: sent on behalf of a chat (`sender_chat`:
 * its `from` is a fake user every anonymous admin or channel shares, so it names no one), or no `from` at all.
 */
function senderUserId(message: { from?: { id: number }; sender_chat?: unknown }): string | undefined {
  if (message.sender_chat !== undefined || !message.from) return undefined;
  return String(message.from.id);
}

function toKeyboard(buttons: InlineButton[][]): {
  inline_keyboard: Array<Array<{ text: string; callback_data: string }>>;
} {
  return {
    inline_keyboard: buttons.map((row) => row.map((b) => ({ text: b.text, callback_data: b.callbackData }))),
  };
}

/** Tokens polled by a started bot of this process: Telegram allows one getUpdates consumer per token. */
const pollingTokens = new Set<string>();

export function createBot(deps: BotDeps): Bot {
  const log = deps.logger.child({ module: 'bot' });
  const clock = deps.clock;
  const apiRoot = deps.apiRoot ?? deps.config.telegram.apiRoot;
  const tg = deps.config.telegram;
  const telegraf = new Telegraf(deps.token, {
    telegram: { apiRoot },
    // No overall deadline on a command: each of its steps has its own (a call to trading its answer timeout, a
    // reply its send timeout and retry bound, PM2 its wait_ready + listen_timeout), and a command answered
    // "failed" while it still runs (a close-all selling) would mislead. Updates are handled concurrently anyway.
    handlerTimeout: Infinity,
  });
  const chatMoves =
    deps.chatMoves ??
    new ChatMoves({
      settings: { chatId: tg.chatId, allowedChatIds: tg.allowedChatIds },
      logger: deps.logger,
      clock,
    });
  const auth = new CommandAuth(
    {
      allowedChatIds: tg.allowedChatIds,
      allowedUserIds: tg.allowedUserIds,
      dangerousCommandsUsersOnly: tg.dangerousCommandsUsersOnly,
    },
    log,
    { formerIds: (chatId) => chatMoves.formerIds(chatId) },
  );
  const commands = allCommands();
  const byName = new Map<string, BotCommand>(commands.map((c) => [c.name, c]));
  const services: BotServices = {
    config: deps.config,
    logger: log,
    pm2: deps.pm2,
    trading: deps.tradingClient,
    ...(deps.notifier ? { notifier: deps.notifier } : {}),
    dataDir: deps.dataDir,
    logDir: deps.logDir,
    redactor: deps.redactor ?? new Redactor([deps.token]),
    version: byninjaVersion(),
    clock,
    confirmations: new ConfirmationStore(tg.confirmTimeoutSec * 1000),
    charts: deps.charts,
    ...(deps.linkState ? { linkState: deps.linkState } : {}),
    ...(deps.delivery ? { delivery: deps.delivery } : {}),
    ...(deps.notReady ? { notReady: deps.notReady } : {}),
    ...(deps.lastExit ? { lastExit: deps.lastExit } : {}),
    self: deps.self ?? 'telegram',
    ...(deps.beforeSelfRestart ? { beforeSelfRestart: deps.beforeSelfRestart } : {}),
  };
  const onHealth = deps.onHealth ?? (() => undefined);
  /** Aborted by halt(): every reply and button request ends, none starts. */
  const halted = new AbortController();

  async function send(chatId: string, html: string, buttons?: InlineButton[][]): Promise<void> {
    // every reply passes the service's one redactor: a reply quoting trading's answer or an error can carry text
    // from elsewhere
    const parts = splitMessage(services.redactor.redactString(html));
    for (const [i, part] of parts.entries()) {
      const markup = buttons && i === parts.length - 1 ? { reply_markup: toKeyboard(buttons) } : {};
      const sendPart = (text: string, plain: boolean): Promise<unknown> =>
        retry(
          () =>
            timedCall(
              'sendMessage',
              REPLY_SEND_TIMEOUT_MS,
              clock,
              (signal) =>
                telegraf.telegram.callApi(
                  'sendMessage',
                  {
                    chat_id: chatId,
                    text,
                    ...(plain ? {} : { parse_mode: 'HTML' as const }),
                    link_preview_options: { is_disabled: true },
                    ...markup,
                  },
                  { signal: signal as never },
                ),
              halted.signal,
            ),
          { ...REPLY_RETRY, clock, signal: halted.signal },
        );
      try {
        await sendPart(part, false);
      } catch (err) {
        // Telegram refused this part's HTML, length or encoding: the same words as plain text, once (review 44g)
        if (!refusedAsMessage(err)) throw err;
        log.warn(`Telegram refused a reply's HTML (${errorMessage(err)}); sending it as plain text`, {
          chatId,
        });
        await sendPart(plainTextOf(part), true);
      }
    }
    deps.onChatTookMessage?.(chatId);
  }

  async function sendPhoto(chatId: string, png: Buffer, caption: string): Promise<void> {
    await retry(
      () =>
        timedCall(
          'sendPhoto',
          REPLY_SEND_TIMEOUT_MS,
          clock,
          (signal) =>
            telegraf.telegram.callApi(
              'sendPhoto',
              {
                chat_id: chatId,
                photo: { source: png, filename: 'equity.png' },
                caption: services.redactor.redactString(caption).slice(0, 1024),
                parse_mode: 'HTML',
              },
              { signal: signal as never },
            ),
          halted.signal,
        ),
      { ...REPLY_RETRY, clock, signal: halted.signal },
    );
  }

  function commandContext(chatId: string, userId: string | undefined, args: string[]): CommandContext {
    return {
      chatId,
      ...(userId ? { userId } : {}),
      args,
      now: clock.now(),
      services,
      reply: (html, buttons) => send(chatId, html, buttons),
      replyPhoto: (png, caption) => sendPhoto(chatId, png, caption),
    };
  }

  async function onMessage(ctx: Context, message: Message.TextMessage): Promise<void> {
    const chatId = String(message.chat.id);
    const onBehalfOfChat = message.sender_chat !== undefined;
    const userId = senderUserId(message);
    const subject = {
      chatId,
      userId,
      username: onBehalfOfChat ? message.sender_chat?.id.toString() : message.from?.username,
      text: message.text,
    };
    // a group (negative id) no setting names may be a listed group Telegram moved while the bot did not hear it (the
    // service message is kept with the updates for 24 h): Telegram is asked about the listed groups, then auth again
    if (!auth.isAllowed(subject) && chatId.startsWith('-') && startup) await probeMoves(startup.signal, true);
    if (!auth.isAllowed(subject)) {
      auth.recordDenied(subject, clock.now());
      return;
    }
    const parsed = parseCommand(message.text, ctx.botInfo?.username);
    if (!parsed) {
      // Plain chatter in a group, or a command for another bot there, is not for us; a private chat gets a hint.
      if (message.chat.type === 'private' && !message.text.startsWith('/'))
        await send(chatId, 'Send /help for the list of commands.');
      return;
    }
    // /start is what Telegram sends when someone opens the bot: answer it like /help.
    const command = byName.get(parsed.name === 'start' ? 'help' : parsed.name);
    if (!command) {
      await send(chatId, `Unknown command /${escapeHtml(parsed.name)}. Send /help for the list.`);
      return;
    }
    if (command.dangerous && !auth.mayRunDangerous(subject)) {
      log.warn('Dangerous Telegram command refused: the sender is not listed by user id', {
        command: parsed.name,
        chatId,
        userId,
        ...(onBehalfOfChat ? { senderChatId: message.sender_chat?.id } : {}),
      });
      await send(
        chatId,
        onBehalfOfChat
          ? `⛔ /${escapeHtml(parsed.name)} changes trading: this message was sent on behalf of a chat (as an anonymous ` +
              'admin or as a channel), which does not say who you are. Send it as yourself.'
          : `⛔ /${escapeHtml(parsed.name)} changes trading: it needs your own user id${userId ? ` (${escapeHtml(userId)})` : ''} ` +
              'in TELEGRAM_ALLOWED_USER_IDS — an allowed group is not enough.',
      );
      return;
    }
    // A forwarded message is someone else's words, dated when it was forwarded (its own date is in forward_origin):
    // a command quoted while sharing a conversation is not one the forwarder gave.
    if ('forward_origin' in message && message.forward_origin !== undefined) {
      log.info('Forwarded Telegram command not executed', { command: parsed.name, chatId, userId });
      await send(
        chatId,
        `⏭ Not executed: /${escapeHtml(parsed.name)} came in a forwarded message. Send it yourself if you want it.`,
      );
      return;
    }
    const ageMs = clock.now() - message.date * 1000;
    if (ageMs > tg.staleCommandMaxAgeSec * 1000) {
      log.info('Stale Telegram command not executed', { command: parsed.name, chatId, ageMs });
      await send(chatId, STALE_NOTE(parsed.name, ageMs));
      return;
    }
    log.info('Telegram command', {
      command: parsed.name,
      args: parsed.args.join(' ').slice(0, 80),
      chatId,
      userId,
    });
    await command.run(commandContext(chatId, userId, parsed.args));
  }

  /** A best-effort Bot API request of a button press: bounded (BUTTON_CALL_TIMEOUT_MS), its failure only logged. */
  async function buttonCall(method: string, call: (signal: AbortSignal) => Promise<unknown>): Promise<void> {
    try {
      await timedCall(method, BUTTON_CALL_TIMEOUT_MS, clock, call, halted.signal);
    } catch (err) {
      log.debug('Telegram button request failed', { method, error: errorMessage(err) });
    }
  }

  /** Answers a button press (the client's spinner stops; `text` shown as a toast). */
  function answerButton(query: CallbackQuery, text?: string): Promise<void> {
    return buttonCall('answerCallbackQuery', (signal) =>
      telegraf.telegram.callApi(
        'answerCallbackQuery',
        { callback_query_id: query.id, ...(text !== undefined ? { text } : {}) },
        { signal: signal as never },
      ),
    );
  }

  async function onCallback(query: CallbackQuery.DataQuery): Promise<void> {
    const chatId = query.message ? String(query.message.chat.id) : undefined;
    const userId = String(query.from.id);
    const subject = { chatId, userId, username: query.from.username, text: query.data };
    if (!auth.isAllowed(subject) || chatId === undefined) {
      auth.recordDenied(subject, clock.now());
      return;
    }
    const confirm = query.data.startsWith(CONFIRM_PREFIX);
    const cancel = query.data.startsWith(CANCEL_PREFIX);
    if (!confirm && !cancel) {
      await answerButton(query);
      return;
    }
    const nonce = query.data.slice((confirm ? CONFIRM_PREFIX : CANCEL_PREFIX).length);
    const taken = services.confirmations.take(nonce, chatId, userId, clock.now(), (u) => auth.isNamedUser(u));
    if (taken.status === 'not-yours') {
      // the buttons stay: they are still the asker's to press
      log.warn('Telegram confirmation pressed by another user: refused', { chatId, userId });
      await answerButton(query, 'Only the user who asked can answer this.');
      return;
    }
    // Remove the buttons (best effort): a pressed or expired button must not invite a second press.
    if (query.message) {
      const { chat, message_id } = query.message;
      await buttonCall('editMessageReplyMarkup', (signal) =>
        telegraf.telegram.callApi(
          'editMessageReplyMarkup',
          { chat_id: chat.id, message_id, reply_markup: undefined },
          { signal: signal as never },
        ),
      );
    }
    if (taken.status === 'expired') {
      await answerButton(query, 'Expired — nothing done');
      await send(
        chatId,
        '⌛ This confirmation expired — nothing was done. Send the command again if still needed.',
      );
      return;
    }
    if (cancel) {
      await answerButton(query, 'Cancelled');
      await send(chatId, 'Cancelled — nothing was done.');
      return;
    }
    await answerButton(query, 'Confirmed');
    const { action } = taken.pending;
    const command = commands.find((c) => c.confirmed && c.name === action.kind);
    log.info('Telegram confirmation accepted', { action: action.kind, chatId, userId });
    await command!.confirmed!(action, commandContext(chatId, userId, []));
  }

  telegraf.on('message', async (ctx) => {
    const message = ctx.message;
    // Telegram's own service messages when a group becomes a supergroup (no member can send these)
    const move = chatMoveOf(message);
    if (move) await chatMoves.learn(move.from, move.to, 'service-message');
    else if ('text' in message) await onMessage(ctx, message);
    else {
      const subject = { chatId: String(message.chat.id), userId: senderUserId(message) };
      if (!auth.isAllowed(subject)) auth.recordDenied(subject, clock.now());
    }
  });
  telegraf.on('callback_query', async (ctx) => {
    if ('data' in ctx.callbackQuery) await onCallback(ctx.callbackQuery);
  });
  telegraf.catch(async (err, ctx) => {
    log.error('Telegram command failed', { error: errorMessage(err), updateId: ctx.update.update_id });
    const chat = ctx.chat;
    // a button's presser (callback_query.from) is always a real user; a message's may be a shared fake one
    const userId = ctx.message ? senderUserId(ctx.message) : ctx.from ? String(ctx.from.id) : undefined;
    if (chat && auth.isAllowed({ chatId: String(chat.id), userId })) {
      await send(String(chat.id), `❌ Command failed: ${escapeHtml(errorMessage(err))}`).catch(
        () => undefined,
      );
    }
  });

  let poller: UpdatePoller | undefined;
  let stopping: Promise<void> | undefined;
  let startup: AbortController | undefined;

  /** A start request with its own deadline (START_CALL_TIMEOUT_MS), abandoned when the bot stops. */
  function startCall<T>(method: string, payload: object, signal: AbortSignal): Promise<T> {
    return timedCall(
      method,
      deps.poller?.startCallTimeoutMs ?? START_CALL_TIMEOUT_MS,
      clock,
      (call) => telegraf.telegram.callApi(method as never, payload as never, { signal: call as never }),
      signal,
    ) as Promise<T>;
  }

  let probing: Promise<void> | undefined;
  let lastProbeAt = -Infinity;

  /**
   * Asks Telegram about each listed group not known moved (ChatMoves.unprobed): at start, and on a command from a
   * group no setting names at most once per MOVE_PROBE_MIN_INTERVAL_MS (callers meanwhile share the probe in
   * flight). getChatMemberCount needs the right to read a group's members, which the Bot API server checks as the
   * right to write to it: on a group upgraded to a supergroup it answers, as a send does, 400 "group chat was
   * upgraded to a supergroup chat" with `parameters.migrate_to_chat_id` (tdlib/telegram-bot-api Client.cpp,
   * check_chat_access) — getChat, a read, does not. The move is learned from that answer as from a refused send;
   * any other answer teaches nothing.
   */
  function probeMoves(signal: AbortSignal, onStrangersCommand: boolean): Promise<void> {
    if (probing) return probing;
    if (onStrangersCommand) {
      if (clock.now() - lastProbeAt < MOVE_PROBE_MIN_INTERVAL_MS) return Promise.resolve();
      lastProbeAt = clock.now();
    }
    probing = (async () => {
      for (const id of chatMoves.unprobed()) {
        if (signal.aborted) return;
        try {
          await startCall<number>('getChatMemberCount', { chat_id: id }, signal);
        } catch (err) {
          if (!(err instanceof TelegramChatMigratedError)) {
            log.debug('Asking Telegram whether a listed group moved: no answer to learn from', {
              chatId: id,
              error: errorMessage(err),
            });
            continue;
          }
          // a disk refusing the write still leaves the move followed from memory (learn() says so)
          await chatMoves
            .learn(id, err.migrateToChatId, 'send')
            .catch((e: unknown) =>
              log.warn('A moved group learned but not saved', { chatId: id, error: errorMessage(e) }),
            );
        }
      }
    })().finally(() => (probing = undefined));
    return probing;
  }

  async function prepare(signal: AbortSignal): Promise<void> {
    // getMe names the bot (for /cmd@bot in groups). Retried until it works: a refused token (401) is reported and
    // retried with a long backoff (the service keeps supervising and logs alerts meanwhile), anything else — a
    // request given up after its deadline included — with the poller's backoff (both: the one of shared/retry.ts).
    const polling = deps.poller ?? {};
    for (let attempt = 1, refusals = 0; !signal.aborted; attempt++) {
      try {
        telegraf.botInfo = await startCall<UserFromGetMe>('getMe', {}, signal);
        onHealth({ kind: 'token-ok', polled: false });
        break;
      } catch (raw) {
        if (signal.aborted) return;
        // timedCall's failures are translated already
        const err = raw instanceof ByNinjaError ? raw : toTelegramError(raw, 'getMe');
        const refused = err instanceof AuthenticationError;
        if (refused) refusals += 1;
        onHealth(
          refused
            ? { kind: 'unauthorized', detail: err.message }
            : { kind: 'unreachable', detail: err.message },
        );
        const wait = retryDelayMs(refused ? refusals : attempt, {
          baseDelayMs: refused ? (polling.unauthorizedBaseMs ?? 30_000) : (polling.backoffBaseMs ?? 1_000),
          maxDelayMs: refused ? (polling.unauthorizedMaxMs ?? 600_000) : (polling.backoffMaxMs ?? 60_000),
          factor: 2,
          random: polling.random ?? Math.random,
          ...('retryAfterMs' in err && typeof err.retryAfterMs === 'number'
            ? { retryAfterMs: err.retryAfterMs }
            : {}),
        });
        if (refused && (refusals === 1 || refusals % 10 === 0))
          log.error(`${err.message}: the bot cannot start; fix TELEGRAM_BOT_TOKEN in .env`, {
            retryInMs: wait,
          });
        else if (attempt === 1)
          log.warn('Telegram unreachable at start, retrying', { error: err.message, retryInMs: wait });
        await clock.sleep(wait, signal).catch(() => undefined);
      }
    }
    if (signal.aborted) return;
    // Before the first poll: a listed group moved while telegram was down (its service message gone since) commands
    // from its new id from the first update on.
    await probeMoves(signal, false);
    // The webhook check and the command menu: each request bounded, retried a few times, then only logged — polling
    // must start even if they fail (a webhook left set is deleted again by the poller when getUpdates names it).
    const again = { ...START_RETRY, clock, signal, ...(polling.random ? { random: polling.random } : {}) };
    // getUpdates is refused (409) while an outgoing webhook is set on the token (a former deployment, another
    // framework): delete one before the first poll, as telegraf's launch() does, keeping pending updates. The poller
    // deletes it again should the 409 name a webhook later.
    try {
      const webhook = await retry(() => startCall<WebhookInfo>('getWebhookInfo', {}, signal), again);
      if (webhook.url) {
        await retry(() => startCall<true>('deleteWebhook', { drop_pending_updates: false }, signal), again);
        log.warn(
          'An outgoing webhook was set on this bot token (getUpdates is refused while one is): deleted it, pending updates kept',
          { pendingUpdates: webhook.pending_update_count },
        );
      }
    } catch (err) {
      if (signal.aborted) return;
      log.warn(
        'Checking for a webhook on the bot token failed: the poller deletes one if Telegram names it',
        {
          error: errorMessage(err),
        },
      );
    }
    try {
      const menu = commands.map((c) => ({ command: c.name, description: c.description.slice(0, 256) }));
      await retry(() => startCall<true>('setMyCommands', { commands: menu }, signal), again);
    } catch (err) {
      if (signal.aborted) return;
      log.warn('setMyCommands failed: the command menu may be out of date', {
        error: errorMessage(err),
      });
    }
  }

  return {
    async start() {
      if (poller) return;
      if (pollingTokens.has(deps.token))
        throw new Error('A Telegram bot with this token is already polling in this process');
      pollingTokens.add(deps.token);
      if (!auth.anyoneAllowed) {
        log.warn(
          'TELEGRAM_ALLOWED_CHAT_IDS is empty: the bot accepts NO commands (alerts are still sent). List your chat id to use commands.',
        );
      } else {
        const shared = (tg.allowedUserIds ?? []).filter((id) => SHARED_SENDER_IDS.has(id.trim()));
        if (shared.length > 0)
          log.warn(
            `TELEGRAM_ALLOWED_USER_IDS lists ${shared.join(', ')}: the fake user Telegram shows for every message sent ` +
              'on behalf of a chat (an anonymous admin, a channel), in any group. It lets no one in; list your own user ' +
              'id (`byninja telegram whoami`, the message sent as yourself).',
          );
        log.info('Telegram bot starting (long polling)', {
          allowedChats: auth.allowedCount,
          apiRoot: apiRoot === 'https://api.telegram.org' ? 'default' : 'custom',
        });
      }
      const p = new UpdatePoller({
        telegram: telegraf.telegram,
        handle: (update: Update) => telegraf.handleUpdate(update),
        logger: log,
        timeoutSec: tg.pollingTimeoutSec,
        clock,
        onHealth,
        ...deps.poller,
      });
      poller = p;
      startup = new AbortController();
      const signal = startup.signal;
      // Telegram down at start must not block the daemon's readiness: prepare and poll in the background.
      void prepare(signal).then(
        () => {
          if (!signal.aborted) p.start();
        },
        () => undefined,
      );
    },
    halt() {
      halted.abort(new Error('halted: a fatal error'));
      startup?.abort();
      poller?.halt();
    },
    stop() {
      stopping ??= (async () => {
        if (!poller) return;
        startup?.abort();
        try {
          await poller.stop();
        } finally {
          pollingTokens.delete(deps.token);
        }
      })();
      return stopping;
    },
  };
}
