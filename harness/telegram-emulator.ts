/**
 * A real local Telegram Bot API for tests: `telegram-test-api`'s TelegramServer on a random loopback port,
 * behind a small HTTP proxy that the bot talks to (`apiRoot`). The proxy
 *  - injects faults: `down` (connections reset), `429` (with retry_after), `5xx` (502 Bad Gateway), `401` (the
 *    token refused, as after a revocation), `blackhole` (the request is taken and never answered, the connection
 *    left open: what a NAT or firewall that forgot the connection, a Wi-Fi switch or a suspended VM leaves a client
 *    with — no FIN, no RST, nothing);
 *  - emulates long polling for getUpdates (the emulator answers at once, which would spin telegraf's loop);
 *  - answers the methods the emulator lacks (setMyCommands, getMyCommands, deleteMyCommands, sendChatAction);
 *  - models an outgoing webhook as the Bot API does (setWebhook, deleteWebhook, getWebhookInfo): while one is set,
 *    getUpdates is refused 409 "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to
 *    delete the webhook first" (the Bot API docs: getUpdates "will not work if an outgoing webhook is set up");
 *  - models a group upgraded to a supergroup (migrateChat): a send to the old group id is refused 400 "Bad Request:
 *    group chat was upgraded to a supergroup chat" with `parameters.migrate_to_chat_id` (the Bot API docs,
 *    ResponseParameters: "migrate_to_chat_id — The group has been migrated to a supergroup with the specified
 *    identifier"; the answer as Telegram words it, e.g. TwiN/gatus#179), and so is getChatMemberCount on it — the
 *    Bot API server checks a group's member list as a write (tdlib/telegram-bot-api Client.cpp, check_chat_access:
 *    "member list is inaccessible in deactivated groups"); getChatMemberCount on any other chat answers 2;
 *  - models a chat that refuses the bot (refuseChat): every send to it is answered 403, worded as the Bot API server
 *    words it ("Forbidden: bot was blocked by the user" for a private chat, "Forbidden: bot was kicked from the group
 *    chat" for a group: tdlib/telegram-bot-api Client.cpp);
 *  - logs every bot request (method, time, HTTP status) so tests can check what happened when.
 *
 * Usage: `const tg = await TelegramEmulator.start(); … TELEGRAM_API_ROOT=tg.apiRoot, TELEGRAM_BOT_TOKEN=tg.token …
 * await tg.stop()`.
 */
import http from 'node:http';
import net from 'node:net';
import crypto from 'node:crypto';
import TelegramServer from 'telegram-test-api';
import { freePort } from './ports';
import { checkTelegramText, parseTelegramHtml } from './telegram-html';

export type TelegramFault = null | 'down' | '429' | '5xx' | '401' | 'blackhole';

export interface FaultOptions {
  /** retry_after (seconds) sent with a 429; default 1. */
  retryAfterSec?: number;
  /** Fault only this many requests, then clear by itself; default: until setFault(null). */
  count?: number;
  /** Fault only these Bot API methods (e.g. ['sendMessage']); default: every method. */
  methods?: string[];
  /**
   * A 429 as a flood wait: every (matching) request is refused until `retryAfterSec` has passed since the first
   * refusal, then the fault clears — the Bot API's retry_after is "the number of seconds left to wait before the
   * request can be repeated" (ResponseParameters), each refusal saying how many are left.
   */
  floodWait?: boolean;
}

export interface SentMessage {
  chatId: string;
  text: string;
  silent: boolean;
  messageId: number;
  /** Epoch ms when the emulator stored it. */
  at: number;
  parseMode?: string;
  replyMarkup?: unknown;
}

/** A photo the bot sent (sendPhoto, multipart upload): the emulator itself has no sendPhoto. */
export interface SentPhoto {
  chatId: string;
  caption: string;
  parseMode?: string;
  /** The uploaded file's bytes. */
  bytes: Buffer;
  fileName?: string;
  at: number;
}

export interface BotRequest {
  method: string;
  at: number;
  /** HTTP status returned to the bot; 0 when the connection was reset. */
  status: number;
}

const PASSTHROUGH_OK: Record<string, unknown> = {
  setMyCommands: true,
  deleteMyCommands: true,
  sendChatAction: true,
  getMyCommands: [],
};

/** Longest time a getUpdates call is held when nothing is pending (bounded so bot.stop() stays quick). */
const MAX_LONG_POLL_MS = 1_000;

export class TelegramEmulator {
  /** What the bot uses as TELEGRAM_API_ROOT (the fault-injecting proxy). */
  readonly apiRoot: string;
  readonly token: string;
  /** The underlying telegram-test-api server, for anything the helpers do not cover. */
  readonly server: TelegramServer;
  /** Every Bot API request the bot made, in order. */
  readonly requests: BotRequest[] = [];
  /** Commands registered with setMyCommands (last call). */
  myCommands: unknown[] = [];
  /** Photos the bot sent, oldest first. */
  readonly photos: SentPhoto[] = [];

  private fault: TelegramFault = null;
  /** The outgoing webhook set on the token ('' = none), as a former deployment of the bot may have left it. */
  webhookUrl = '';
  private faultOpts: FaultOptions = {};
  private faultsLeft = Infinity;
  /** floodWait: when the wait ends (epoch ms), set by the first refusal. */
  private floodUntil?: number;
  private readonly sockets = new Set<net.Socket>();
  /** Basic groups upgraded to a supergroup: old chat id → the supergroup's id. */
  private readonly migrated = new Map<string, string>();
  /** Chats refusing the bot: chat id → the 403's description. */
  private readonly refusing = new Map<string, string>();

  private constructor(
    server: TelegramServer,
    private readonly proxy: http.Server,
    proxyPort: number,
    token: string,
  ) {
    this.server = server;
    this.token = token;
    this.apiRoot = `http://127.0.0.1:${proxyPort}`;
  }

  static async start(opts: { token?: string } = {}): Promise<TelegramEmulator> {
    // TelegramServer treats port 0 as "9000", so pick a free port first.
    const upstreamPort = await freePort();
    const server = new TelegramServer({ port: upstreamPort, host: '127.0.0.1', storeTimeout: 3600 });
    await server.start();
    const token =
      opts.token ?? `${crypto.randomInt(100000, 999999)}:TEST${crypto.randomBytes(12).toString('hex')}`;
    const holder: { emu?: TelegramEmulator } = {};
    const proxy = http.createServer((req, res) => {
      void holder.emu!.handle(req, res, upstreamPort);
    });
    await new Promise<void>((resolve, reject) => {
      proxy.once('error', reject);
      proxy.listen(0, '127.0.0.1', () => resolve());
    });
    const emu = new TelegramEmulator(server, proxy, (proxy.address() as net.AddressInfo).port, token);
    holder.emu = emu;
    proxy.on('connection', (s) => {
      emu.sockets.add(s);
      s.on('close', () => emu.sockets.delete(s));
    });
    return emu;
  }

  /** Sets (or clears with null) the fault applied to the bot's requests. */
  setFault(fault: TelegramFault, opts: FaultOptions = {}): void {
    this.fault = fault;
    this.faultOpts = opts;
    this.faultsLeft = opts.count ?? Infinity;
    this.floodUntil = undefined;
    if (fault === 'down') for (const s of this.sockets) s.destroy();
  }

  /**
   * The group `fromChatId` is upgraded to the supergroup `toChatId` (Telegram does it when a group's history is made
   * visible to new members, an admin gets some rights, it gets a public link...): from now on a send to the old id
   * is refused 400 with `parameters.migrate_to_chat_id`, and the new id takes messages.
   */
  migrateChat(fromChatId: string | number, toChatId: string | number): void {
    this.migrated.set(String(fromChatId), String(toChatId));
  }

  /**
   * `chatId` refuses the bot from now on (a private chat that blocked it, a group it was removed from): every send to
   * it is answered with `description` — 400 for a "Bad Request: …" one, as the Bot API answers those, else 403;
   * `null` lets it take messages again.
   */
  refuseChat(
    chatId: string | number,
    description: string | null = 'Forbidden: bot was blocked by the user',
  ): void {
    if (description === null) this.refusing.delete(String(chatId));
    else this.refusing.set(String(chatId), description);
  }

  /**
   * The two service messages a bot in the group gets when it is upgraded (Bot API, Message): in the old group one
   * with `migrate_to_chat_id` ("The group has been migrated to a supergroup with the specified identifier"), in the
   * supergroup one with `migrate_from_chat_id` ("The supergroup has been migrated from a group with the specified
   * identifier"). Neither has text. `byUserId` is the member who changed the setting that caused it.
   */
  async announceMigration(
    fromChatId: string | number,
    toChatId: string | number,
    byUserId: string | number,
  ): Promise<void> {
    for (const [chat, field, other] of [
      [fromChatId, 'migrate_to_chat_id', toChatId],
      [toChatId, 'migrate_from_chat_id', fromChatId],
    ] as const) {
      const msg = this.client(chat, byUserId).makeMessage('', {
        [field]: Number(other),
      }) as unknown as Record<string, unknown>;
      delete msg.text;
      await this.server.addUserMessage(msg as never);
    }
  }

  /** Messages the bot sent (sendMessage), oldest first; only those to `chatId` when given. */
  sentMessages(chatId?: string | number): SentMessage[] {
    return this.server.storage.botMessages
      .filter((u) => u.botToken === this.token)
      .filter((u) => chatId === undefined || String(u.message.chat_id) === String(chatId))
      .map((u) => {
        const m = u.message as unknown as Record<string, unknown>;
        return {
          chatId: String(m.chat_id),
          text: String(m.text ?? ''),
          silent: m.disable_notification === true || m.disable_notification === 'true',
          messageId: u.messageId,
          at: u.time,
          parseMode: m.parse_mode as string | undefined,
          replyMarkup: m.reply_markup,
        };
      });
  }

  /** Polls until a sent message matches (or throws with what was sent). */
  async waitForMessage(
    match: (m: SentMessage) => boolean,
    opts: { chatId?: string | number; timeoutMs?: number } = {},
  ): Promise<SentMessage> {
    const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
    while (Date.now() < deadline) {
      const found = this.sentMessages(opts.chatId).find(match);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 50));
    }
    const seen = this.sentMessages(opts.chatId).map((m) => m.text);
    throw new Error(`no matching Telegram message within the timeout; sent so far: ${JSON.stringify(seen)}`);
  }

  /**
   * A user in `chatId` (user id `fromId`, default = chatId) sends a command, e.g. `/status`.
   * `dateSec` sets the message date (epoch seconds) — older than now simulates a command sent while the bot was down.
   * `fields` are more of the Message's fields as the Bot API sends them: `sender_chat` (sent on behalf of a chat: an
   * anonymous group admin, a channel), `forward_origin` (a forwarded message)...
   */
  async sendCommand(
    chatId: string | number,
    text: string,
    fromId?: string | number,
    opts: { dateSec?: number; fields?: Record<string, unknown> } = {},
  ): Promise<void> {
    const client = this.client(chatId, fromId);
    const msg = client.makeCommand(text, {
      ...(opts.dateSec !== undefined ? { date: opts.dateSec } : {}),
      ...opts.fields,
    });
    await this.server.addUserCommand(msg);
  }

  /** A plain (non-command) text message from a user; `dateSec` as for sendCommand. */
  async sendText(
    chatId: string | number,
    text: string,
    fromId?: string | number,
    opts: { dateSec?: number } = {},
  ): Promise<void> {
    const client = this.client(chatId, fromId);
    await this.server.addUserMessage(
      client.makeMessage(text, opts.dateSec !== undefined ? { date: opts.dateSec } : {}),
    );
  }

  /** A user presses an inline button with `data` on the bot message `messageId` (from sentMessages()). */
  async sendCallback(
    chatId: string | number,
    data: string,
    fromId?: string | number,
    messageId?: number,
  ): Promise<void> {
    const client = this.client(chatId, fromId);
    const cb = client.makeCallbackQuery(
      data,
      messageId !== undefined ? { message: { message_id: messageId } } : {},
    );
    await this.server.addUserCallback(cb);
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.proxy.close(() => resolve()));
    await this.server.stop();
  }

  private client(chatId: string | number, fromId?: string | number) {
    return this.server.getClient(this.token, {
      chatId: Number(chatId),
      userId: Number(fromId ?? chatId),
      timeout: 1000,
    });
  }

  private async handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    upstreamPort: number,
  ): Promise<void> {
    const body = await readBody(req);
    const method = /^\/bot[^/]+\/([A-Za-z]+)/.exec(req.url ?? '')?.[1] ?? '';
    const log: BotRequest = { method, at: Date.now(), status: 0 };
    this.requests.push(log);

    if (
      this.fault === '429' &&
      this.faultOpts.floodWait &&
      this.floodUntil !== undefined &&
      Date.now() >= this.floodUntil
    )
      this.fault = null;
    if (
      this.fault &&
      this.faultsLeft > 0 &&
      (!this.faultOpts.methods || this.faultOpts.methods.includes(method))
    ) {
      this.faultsLeft -= 1;
      const fault = this.fault;
      if (this.faultsLeft <= 0) this.fault = null;
      if (fault === 'down') {
        req.socket.destroy();
        return;
      }
      if (fault === 'blackhole') return; // never answered; stop() destroys the socket
      if (fault === '429') {
        let retryAfter = this.faultOpts.retryAfterSec ?? 1;
        if (this.faultOpts.floodWait) {
          this.floodUntil ??= Date.now() + retryAfter * 1000;
          retryAfter = Math.max(1, Math.ceil((this.floodUntil - Date.now()) / 1000));
        }
        return this.reply(res, log, 429, {
          ok: false,
          error_code: 429,
          description: `Too Many Requests: retry after ${retryAfter}`,
          parameters: { retry_after: retryAfter },
        });
      }
      if (fault === '401')
        return this.reply(res, log, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
      return this.reply(res, log, 502, { ok: false, error_code: 502, description: 'Bad Gateway' });
    }

    const targetChat = sendTarget(method, body, req.headers['content-type']);
    const migratedTo = targetChat !== undefined ? this.migrated.get(targetChat) : undefined;
    const refusal = targetChat !== undefined ? this.refusing.get(targetChat) : undefined;
    // the Bot API answers a "Bad Request: …" refusal (chat not found, no rights, TOPIC_CLOSED…) with 400, a
    // "Forbidden: …" one with 403: the status is the description's (review 44g; it was 403 for every refusal)
    if (refusal !== undefined) {
      const code = refusal.startsWith('Bad Request') ? 400 : 403;
      return this.reply(res, log, code, { ok: false, error_code: code, description: refusal });
    }
    if (migratedTo !== undefined)
      return this.reply(res, log, 400, {
        ok: false,
        error_code: 400,
        description: 'Bad Request: group chat was upgraded to a supergroup chat',
        parameters: { migrate_to_chat_id: Number(migratedTo) },
      });

    // the text the Bot API refuses, as it refuses it (telegram-test-api stores any): parse_mode HTML's tags,
    // "1-4096 characters after entities parsing", UTF-8 (review 44g)
    const refusedText = textRefusal(method, body, req.headers['content-type']);
    if (refusedText !== undefined)
      return this.reply(res, log, 400, { ok: false, error_code: 400, description: refusedText });

    if (method === 'getChatMemberCount') return this.reply(res, log, 200, { ok: true, result: 2 });
    if (method === 'setWebhook') {
      this.webhookUrl = String(parseParams(body, req.headers['content-type']).url ?? '');
      return this.reply(res, log, 200, { ok: true, result: true, description: 'Webhook was set' });
    }
    if (method === 'deleteWebhook') {
      this.webhookUrl = '';
      return this.reply(res, log, 200, { ok: true, result: true, description: 'Webhook was deleted' });
    }
    if (method === 'getWebhookInfo')
      return this.reply(res, log, 200, {
        ok: true,
        result: { url: this.webhookUrl, has_custom_certificate: false, pending_update_count: 0 },
      });
    if (method === 'getUpdates' && this.webhookUrl !== '')
      return this.reply(res, log, 409, {
        ok: false,
        error_code: 409,
        description:
          "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
      });

    if (method in PASSTHROUGH_OK) {
      if (method === 'setMyCommands') {
        const params = parseParams(body, req.headers['content-type']);
        const cmds = params.commands;
        this.myCommands =
          typeof cmds === 'string' ? (JSON.parse(cmds) as unknown[]) : ((cmds as unknown[]) ?? []);
      }
      const result = method === 'getMyCommands' ? this.myCommands : PASSTHROUGH_OK[method];
      return this.reply(res, log, 200, { ok: true, result });
    }

    if (method === 'sendPhoto') {
      const parts = parseMultipart(body, req.headers['content-type']);
      const photo = parts.get('photo');
      if (!photo || typeof parts.get('chat_id')?.value !== 'string')
        return this.reply(res, log, 400, {
          ok: false,
          error_code: 400,
          description: 'Bad Request: no photo',
        });
      const chatId = parts.get('chat_id')!.value as string;
      this.photos.push({
        chatId,
        caption: String(parts.get('caption')?.value ?? ''),
        parseMode: parts.get('parse_mode')?.value as string | undefined,
        bytes: photo.bytes,
        fileName: photo.fileName,
        at: Date.now(),
      });
      return this.reply(res, log, 200, {
        ok: true,
        result: {
          message_id: 100_000 + this.photos.length,
          date: Math.floor(Date.now() / 1000),
          chat: { id: Number(chatId), type: 'private' },
          photo: [{ file_id: `photo-${this.photos.length}`, width: 0, height: 0 }],
        },
      });
    }

    if (method === 'getUpdates') await this.holdLongPoll(req, body);
    if (res.destroyed || req.socket.destroyed) return; // the bot gave up (stop): do not consume updates
    await this.forward(req, res, body, upstreamPort, log);
  }

  /** Waits while no update is pending for the bot, up to the poll timeout (capped). */
  private async holdLongPoll(req: http.IncomingMessage, body: Buffer): Promise<void> {
    const params = parseParams(body, req.headers['content-type']);
    const timeoutMs = Math.min(Number(params.timeout ?? 0) * 1000, MAX_LONG_POLL_MS);
    const deadline = Date.now() + timeoutMs;
    const pending = (): boolean =>
      this.server.storage.userMessages.some((u) => u.botToken === this.token && !u.isRead);
    while (!pending() && Date.now() < deadline && !req.socket.destroyed) {
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  private forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: Buffer,
    upstreamPort: number,
    log: BotRequest,
  ): Promise<void> {
    return new Promise((resolve) => {
      const headers = {
        ...req.headers,
        host: `127.0.0.1:${upstreamPort}`,
        'content-length': String(body.length),
      };
      const up = http.request(
        { host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers },
        (upRes) => {
          log.status = upRes.statusCode ?? 0;
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
          upRes.on('end', () => resolve());
          upRes.on('error', () => resolve());
        },
      );
      up.on('error', () => {
        if (!res.headersSent)
          this.reply(res, log, 502, { ok: false, error_code: 502, description: 'Bad Gateway' });
        resolve();
      });
      up.end(body);
    });
  }

  private reply(res: http.ServerResponse, log: BotRequest, status: number, payload: unknown): void {
    log.status = status;
    const text = JSON.stringify(payload);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }
}

/**
 * The chat a call needs to write to (chat_id), JSON, form or multipart: a send*, or getChatMemberCount (checked as a
 * write by the Bot API server); undefined for other methods.
 */
function sendTarget(method: string, body: Buffer, contentType: string | undefined): string | undefined {
  if (!/^send/.test(method) && method !== 'getChatMemberCount') return undefined;
  const chat = contentType?.includes('multipart/form-data')
    ? parseMultipart(body, contentType).get('chat_id')?.value
    : parseParams(body, contentType).chat_id;
  return chat === undefined || chat === null ? undefined : String(chat as string | number);
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => resolve(Buffer.concat(chunks)));
  });
}

function parseParams(body: Buffer, contentType: string | undefined): Record<string, unknown> {
  if (!body.length) return {};
  try {
    if (contentType?.includes('application/json'))
      return JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    if (contentType?.includes('application/x-www-form-urlencoded'))
      return Object.fromEntries(new URLSearchParams(body.toString('utf8')));
  } catch {
    // not parseable: treat as no params
  }
  return {};
}

/** The fields of a multipart/form-data body (what a Bot API file upload is): text values, and file parts' bytes. */
function parseMultipart(
  body: Buffer,
  contentType: string | undefined,
): Map<string, { value?: string; bytes: Buffer; fileName?: string }> {
  const fields = new Map<string, { value?: string; bytes: Buffer; fileName?: string }>();
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType ?? '');
  if (!boundary) return fields;
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  let at = body.indexOf(delimiter);
  while (at !== -1) {
    const start = at + delimiter.length + 2; // CRLF after the delimiter
    const next = body.indexOf(delimiter, start);
    if (next === -1) break;
    const part = body.subarray(start, next - 2); // CRLF before the next delimiter
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd !== -1) {
      const headers = part.subarray(0, headerEnd).toString('utf8');
      const bytes = part.subarray(headerEnd + 4);
      const name = /name="([^"]+)"/.exec(headers)?.[1];
      const fileName = /filename="([^"]*)"/.exec(headers)?.[1];
      if (name)
        fields.set(
          name,
          fileName !== undefined ? { bytes, fileName } : { value: bytes.toString('utf8'), bytes },
        );
    }
    at = next;
  }
  return fields;
}

/** The Bot API's description refusing the text of a sendMessage or editMessageText, or undefined when it takes it. */
function textRefusal(method: string, body: Buffer, contentType: string | undefined): string | undefined {
  if (method !== 'sendMessage' && method !== 'editMessageText') return undefined;
  const params = parseParams(body, contentType);
  const text = typeof params.text === 'string' ? params.text : '';
  try {
    if (String(params.parse_mode ?? '').toUpperCase() === 'HTML') parseTelegramHtml(text);
    else checkTelegramText(text);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
