/**
 * The durable outbox: the one `Notifier` of the telegram daemon. `notify()` commits the notification to the
 * outbox store (`<dataDir>/telegram-outbox.json`) and returns; a single sender loop delivers entries in
 * priority order within Telegram's flood limits and removes an entry only after Telegram accepted it. So a
 * crash or a Bot API outage loses nothing (a crash between "accepted" and "removed" may send one message twice:
 * at-least-once is the honest promise without an idempotency key on Telegram's side).
 *
 * Failure policy (the class of the sender's error decides, see errors.ts):
 *  - TemporaryError (429, 5xx, network): keep the entry, pause all sending for max(retry_after, backoff) —
 *    the backoff is `retryDelayMs` of shared/retry.ts, the one retry policy, counted over the failures since
 *    Telegram last answered (accepted or refused a message).
 *  - AuthenticationError / PermissionDeniedError (401/403: token or chat problem, not this message's fault):
 *    keep everything, pause a minute, log.
 *  - TelegramChatMigratedError (400 with migrate_to_chat_id: the group became a supergroup): the move is learned
 *    (ChatMoves, kept in this store), every entry for the old id is moved to the new one and sent there at once —
 *    the refused send delivered nothing, so nothing goes twice. Later notifications for the old id go to the new one.
 *  - any other OperationalError (400: a message Telegram will never take): drop it, log it whole.
 *
 * A message the sender wrote to the log only because Telegram refuses its chat or the token (the FallbackSender
 * answers `'logged'`) is noted in that chat's log-only record; the next message Telegram takes for the chat queues
 * the record as one digest entry for it (log-digest.ts) — both in the commit that removes the message.
 */
import type { CancelTimer, Clock } from '../../shared/clock';
import {
  AuthenticationError,
  NetworkError,
  PermissionDeniedError,
  errorMessage,
  isOperational,
  isTemporary,
} from '../../shared/errors';
import type { Logger } from '../../shared/logging/logger';
import { retryDelayMs } from '../../shared/retry';
import {
  PRIORITY_RANK,
  type MessageSender,
  type Notification,
  type NotificationInput,
  type Notifier,
  type SendOutcome,
} from './notification';
import {
  followRecords,
  moveRecord,
  noteLogged,
  takeDigest,
  type DigestEntry,
  type LogOnlyRecord,
} from './log-digest';
import { admit, renderEntry, sendOrder, type OutboxEntry, type OutboxState } from './outbox-queue';
import { plainTextOf, refusedAsMessage } from './message-refusal';
import { htmlToPlain } from './log-sender';
import { SendThrottle } from './send-throttle';
import { outboxStateSchema } from './outbox-schema';
import { ChatMoves } from './chat-move-book';
import { TelegramChatMigratedError } from './chat-moves';
import * as z from 'zod';

/** The part of `Store<OutboxState>` the outbox needs (a real Store in production, anything durable in tests). */
export interface OutboxStore {
  readonly data: OutboxState;
  commit(mutate?: (d: OutboxState) => void): Promise<void>;
}

export interface OutboxSettings {
  maxSize: number;
  perChatIntervalMs: number;
  /** Alerts (high, critical) may burst this many messages per chat (see send-throttle.ts; default 3). */
  perChatBurst?: number;
  globalPerSecond: number;
  coalesceWindowMs: number;
  /** Trading event seqs remembered for dedup (default 5,000). */
  rememberedEventSeqs?: number;
}

export interface OutboxOptions {
  store: OutboxStore;
  sender: MessageSender;
  settings: OutboxSettings;
  /** Chat of notifications that name none (TELEGRAM_CHAT_ID). */
  defaultChatId: string;
  logger: Logger;
  clock: Clock;
  random?: () => number;
  /** First backoff step after a network/5xx failure (default 1000 ms), doubling up to maxBackoffMs. */
  baseBackoffMs?: number;
  /** Longest backoff between attempts while Telegram is unreachable (default 30 s). */
  maxBackoffMs?: number;
  /** Pause after a 401/403 (default 60 s). */
  operationalPauseMs?: number;
  /**
   * A send with no answer after this long counts as a network failure (default 30 s): a black-holed connection
   * must not stall the queue for the OS's TCP timeout. Its outcome is unknown, so the retry may duplicate it.
   */
  sendTimeoutMs?: number;
  /** Masks secrets in a notification's text before it is committed (the service's Redactor); default none. */
  redact?: (text: string) => string;
  /** Told of each notification Telegram accepted, with the time it took since it was created (metrics). */
  onDelivered?: (delayMs: number) => void;
  /**
   * The chats Telegram moved (the service's one book, shared with the bot); default a book in this store that knows
   * only `defaultChatId` as TELEGRAM_CHAT_ID.
   */
  chatMoves?: ChatMoves;
}

export const OUTBOX_STORE_NAME = 'telegram-outbox';
/**
 * Stepped for every value added to one of the file's closed lists (persisted-closed-lists.test.ts): an older
 * telegram refuses a newer version whole (exit 78, the file untouched) — read as corrupt it started empty: the alerts
 * still queued lost, and the seqs of the events already sent forgotten.
 */
export const OUTBOX_STORE_VERSION = 1;

/** Validates the outbox file against its full schema when opened (a corrupt file is quarantined by the Store). */
export function validateOutboxState(data: unknown): OutboxState {
  const parsed = outboxStateSchema.safeParse(data);
  if (!parsed.success)
    throw new Error(`outbox state is invalid: ${z.prettifyError(parsed.error).replace(/\n/g, ' ')}`);
  return parsed.data as OutboxState;
}

const IDLE_WAIT_MS = 60_000;
/** Priorities that may use a chat's burst: a crash alert must not wait behind the event sent just before it. */
const ALERT_RANK = PRIORITY_RANK.high;

export class Outbox implements Notifier {
  private readonly store: OutboxStore;
  private readonly sender: MessageSender;
  private readonly settings: OutboxSettings;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly throttle: SendThrottle;
  private readonly busy = new Set<number>();
  private readonly stop = new AbortController();
  private wakeCtl = new AbortController();
  private wakePending = false;
  private loop?: Promise<void>;
  private failures = 0;
  private closing?: Promise<void>;
  /** Where a notification for a chat goes now (a group Telegram upgraded goes to its supergroup). */
  readonly chatMoves: ChatMoves;

  constructor(private readonly opts: OutboxOptions) {
    this.store = opts.store;
    this.chatMoves =
      opts.chatMoves ??
      new ChatMoves({
        store: opts.store,
        settings: { chatId: opts.defaultChatId, allowedChatIds: [] },
        logger: opts.logger,
        clock: opts.clock,
      });
    this.sender = opts.sender;
    this.settings = opts.settings;
    this.logger = opts.logger.child({ module: 'outbox' });
    this.clock = opts.clock;
    this.random = opts.random ?? Math.random;
    this.throttle = new SendThrottle(opts.settings);
  }

  /**
   * Starts the sender loop (entries left from a previous run go first; a chat owed a digest of what went to the log
   * only gets it queued).
   */
  start(): void {
    if (this.loop) return;
    const pending = this.store.data.entries.length;
    if (pending) this.logger.info(`📬 ${pending} notification(s) waiting from before the restart`);
    this.loop = this.run();
  }

  async notify(input: NotificationInput): Promise<void> {
    const n: Notification & { chatId: string } = {
      ...input,
      text: this.opts.redact ? this.opts.redact(input.text) : input.text,
      createdAt: input.createdAt ?? this.clock.now(),
      chatId: this.chatMoves.resolve(input.chatId ?? this.opts.defaultChatId),
    };
    let result: ReturnType<typeof admit> | undefined;
    try {
      await this.store.commit((d) => {
        result = admit(
          d,
          n,
          {
            maxSize: this.settings.maxSize,
            coalesceWindowMs: this.settings.coalesceWindowMs,
            rememberedEventSeqs: this.settings.rememberedEventSeqs,
          },
          this.busy,
        );
      });
    } finally {
      // Also when the commit failed (disk full or read-only): the entry is in memory, the store retries the write,
      // and the sender must not wait for its idle wake-up to send it.
      if (result && result.kind !== 'duplicate-event') this.wake();
    }
    // While Telegram is failing, `pm2 logs` shows what waits (once, when queued): the outbox keeps it for Telegram.
    if (this.failures > 0 && result?.kind === 'added')
      this.logger.warn(
        `📣 queued while Telegram is unreachable: ${htmlToPlain(n.text).replace(/\n/g, ' | ')}`,
      );
    if (result?.kind === 'added' && result.dropped > 0) {
      this.logger.warn(
        `outbox full (${this.settings.maxSize}): dropped ${result.dropped} lowest-priority notification(s)`,
      );
    }
  }

  /**
   * `chatId` took a message sent beside the outbox (a command's reply): the alerts it missed while it refused go to it
   * now, as one digest (log-digest.ts), if any. Also each start does this for every chat owed one: a restart (the
   * token fixed) need not wait for the chat's next alert. A chat still refusing puts the digest back in its record.
   */
  async chatTakesMessages(chatId: string): Promise<void> {
    const to = this.chatMoves.resolve(chatId);
    // a record under an id moved since (the bot learned it), or the alert chat's under an id it had before, is this
    // chat's too
    if (!this.store.data.loggedOnly.some((r) => this.recordChat(r) === to)) return;
    let digest: DigestEntry | undefined;
    try {
      await this.store.commit((d) => {
        this.followRecords(d.loggedOnly);
        digest = takeDigest(d, to, this.busy);
      });
    } finally {
      if (digest) this.wake();
    }
    if (digest) this.toldDigest(digest);
  }

  /** Forgets the trading event seqs seen so far (trading's event log was reset: its seqs start again). */
  async resetEventDedup(): Promise<void> {
    await this.store.commit((d) => {
      d.seenEventSeqs = [];
    });
  }

  depth(): number {
    return this.store.data.entries.length;
  }

  /** When the oldest waiting notification was created; null when none waits. */
  oldestCreatedAt(): number | null {
    let oldest: number | null = null;
    for (const e of this.store.data.entries) if (oldest === null || e.firstAt < oldest) oldest = e.firstAt;
    return oldest;
  }

  /**
   * Stops the sender at once, without waiting (a fatal error: the crash handler's flush must not be a second of
   * sending on a broken process's state): no new send starts; the one in flight, if any, ends as it ends. The
   * entries stay durable for the next run.
   */
  halt(): void {
    this.stop.abort();
    this.wake();
  }

  /** Stops the loop after the send in progress (if any); entries stay durable for the next run. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stop.abort();
      this.wake();
      await this.loop;
    })();
    return this.closing;
  }

  private wake(): void {
    this.wakePending = true;
    this.wakeCtl.abort();
  }

  /**
   * Waits `ms` or until woken (a new notification, or close(), which also wakes). Only the per-sleep controller's
   * signal is waited on: on Node 20, AbortSignal.any([.., this.stop.signal]) left one entry per sleep on the stop
   * signal for as long as the outbox lives (56 bytes each, a few thousand a day: the soak's telegram heap).
   */
  private async sleep(ms: number): Promise<void> {
    if (this.wakePending || ms <= 0 || this.stop.signal.aborted) {
      this.wakePending = false;
      return;
    }
    this.wakeCtl = new AbortController();
    try {
      await this.clock.sleep(ms, this.wakeCtl.signal);
    } catch {
      // woken up early: a new notification or close()
    }
    this.wakePending = false;
  }

  private async run(): Promise<void> {
    for (const record of [...this.store.data.loggedOnly]) {
      const chatId = this.recordChat(record);
      try {
        await this.chatTakesMessages(chatId);
      } catch (err) {
        // the record stays (in memory at least): the chat's next message that goes through queues it
        this.logger.warn(`could not queue the log-only digest for chat ${chatId}: ${errorMessage(err)}`);
      }
    }
    while (!this.stop.signal.aborted) {
      try {
        const now = this.clock.now();
        const next = this.pick(now);
        if (!next) await this.sleep(IDLE_WAIT_MS);
        else if (next.at > now) await this.sleep(next.at - now);
        else await this.sendOne(next.entry);
      } catch (err) {
        // The loop must survive anything (a bug here would silence every alert): log and keep going.
        this.logger.error(`outbox loop error: ${errorMessage(err)}`, { err });
        await this.sleep(1_000);
      }
    }
  }

  /** The entry to send next and when it may go (per-chat and global limits, pauses). */
  private pick(now: number): { entry: OutboxEntry; at: number } | undefined {
    let best: { entry: OutboxEntry; at: number } | undefined;
    for (const entry of sendOrder(this.store.data.entries)) {
      if (this.busy.has(entry.id)) continue;
      const at = this.throttle.nextAllowedAt(entry.chatId, now, PRIORITY_RANK[entry.priority] >= ALERT_RANK);
      if (at <= now) return { entry, at };
      if (!best || at < best.at) best = { entry, at };
    }
    return best;
  }

  private async sendOne(entry: OutboxEntry): Promise<void> {
    const dropped = this.store.data.dropped;
    const text = renderEntry(entry, dropped);
    this.busy.add(entry.id);
    this.throttle.record(entry.chatId, this.clock.now());
    let outcome: SendOutcome | void;
    try {
      outcome = await this.sendWithTimeout(entry.chatId, text, entry.silent);
    } catch (err) {
      // Telegram refused this message's HTML, length or encoding (a 400 about it): the same words as plain text, once
      const plain = refusedAsMessage(err) ? await this.sendPlain(entry, text, err) : { failed: err };
      if ('failed' in plain) {
        this.busy.delete(entry.id);
        await this.onSendFailure(entry, plain.failed);
        return;
      }
      outcome = plain.outcome;
    }
    // from the latest occurrence: a coalesced entry waits its window on purpose
    this.opts.onDelivered?.(Math.max(0, this.clock.now() - entry.lastAt));
    if (this.failures > 0)
      this.logger.info(`✅ Telegram reachable again after ${this.failures} failed attempt(s)`);
    this.failures = 0;
    try {
      // In the commit that removes the message: a crash before it sends it again (as any message), never notes it
      // twice nor loses the record; the digest is then an ordinary entry, durable and sent like any other.
      let digest: DigestEntry | undefined;
      await this.store.commit((d) => {
        d.entries = d.entries.filter((e) => e.id !== entry.id);
        // the "N dropped" note told only to the log is still owed to Telegram: the next message it takes carries it
        if (outcome !== 'logged') d.dropped = Math.max(0, d.dropped - dropped);
        if (outcome === 'logged') noteLogged(d.loggedOnly, entry, entry.chatId === this.alertChat());
        else {
          this.followRecords(d.loggedOnly);
          digest = takeDigest(d, entry.chatId, this.busy);
        }
      });
      if (digest) this.toldDigest(digest);
    } finally {
      this.busy.delete(entry.id);
    }
  }

  /**
   * `text` (refused by Telegram as a message: `refused`) sent again as plain text; its outcome, or the failure to act
   * on: the refusal when the plain text is refused too (dropped, logged whole), else the plain send's own failure.
   */
  private async sendPlain(
    entry: OutboxEntry,
    text: string,
    refused: unknown,
  ): Promise<{ outcome: SendOutcome | void } | { failed: unknown }> {
    this.logger.warn(
      `Telegram refused a notification's HTML (${errorMessage(refused)}); sending it as plain text instead`,
      { chatId: entry.chatId },
    );
    try {
      return { outcome: await this.sendWithTimeout(entry.chatId, plainTextOf(text), entry.silent, true) };
    } catch (err) {
      return { failed: refusedAsMessage(err) ? refused : err };
    }
  }

  /** Where the alert chat (TELEGRAM_CHAT_ID) leads now. */
  private alertChat(): string {
    return this.chatMoves.resolve(this.opts.defaultChatId);
  }

  /** The chat a log-only record is owed to now: its chat's new id, or the alert chat's for the alert chat's alerts. */
  private recordChat(record: LogOnlyRecord): string {
    return record.alertChat ? this.alertChat() : this.chatMoves.resolve(record.chatId);
  }

  private followRecords(records: LogOnlyRecord[]): void {
    followRecords(records, (id) => this.chatMoves.resolve(id), this.alertChat());
  }

  private toldDigest(digest: DigestEntry): void {
    this.logger.info(
      `📭 a digest of ${digest.digest.count} alert(s) that went to the log only is queued for chat ${digest.chatId}`,
      { chatId: digest.chatId },
    );
  }

  private sendWithTimeout(
    chatId: string,
    text: string,
    silent: boolean,
    plain = false,
  ): Promise<SendOutcome | void> {
    const timeoutMs = this.opts.sendTimeoutMs ?? 30_000;
    let cancelTimeout: CancelTimer | undefined;
    const timeout = new Promise<never>((_, reject) => {
      cancelTimeout = this.clock.timer(timeoutMs, () =>
        reject(new NetworkError(`Telegram did not answer within ${timeoutMs} ms`, { chatId })),
      );
    });
    return Promise.race([
      this.sender.send(chatId, text, { silent, ...(plain ? { plain } : {}) }),
      timeout,
    ]).finally(() => cancelTimeout?.());
  }

  /**
   * The chat became a supergroup: learn it, then move every entry for the old id to the new one (sent at once, no
   * pause). False when the move is not one to follow (Telegram named the same chat, or one that leads back): the
   * entry is then dropped like any 400.
   */
  private async followMove(from: string, err: TelegramChatMigratedError): Promise<boolean> {
    await this.chatMoves.learn(from, err.migrateToChatId, 'send');
    const to = this.chatMoves.resolve(from);
    if (to === from) return false;
    await this.store.commit((d) => {
      for (const e of d.entries) if (e.chatId === from) e.chatId = to;
      moveRecord(d.loggedOnly, from, to);
    });
    return true;
  }

  private async onSendFailure(entry: OutboxEntry, err: unknown): Promise<void> {
    const now = this.clock.now();
    entry.attempts += 1;
    const notThisMessage = err instanceof AuthenticationError || err instanceof PermissionDeniedError;
    // an answer from Telegram (a refusal, of this message or of the bot) ends a network outage: the next network
    // failure backs off from the first step again, like after a message it accepted
    if (isOperational(err)) this.failures = 0;
    if (err instanceof TelegramChatMigratedError && (await this.followMove(entry.chatId, err))) return;
    if (isOperational(err) && !notThisMessage) {
      this.logger.error(
        `Telegram refused a notification for good (${errorMessage(err)}); dropped: ${entry.text}`,
      );
      await this.store.commit((d) => {
        d.entries = d.entries.filter((e) => e.id !== entry.id);
      });
      return;
    }
    if (notThisMessage) {
      const pauseMs = this.opts.operationalPauseMs ?? 60_000;
      this.throttle.pause(now + pauseMs);
      this.logger.error(
        `Telegram refused to send (${errorMessage(err)}); ${this.depth()} notification(s) kept, retry in ${pauseMs} ms`,
      );
      return;
    }
    this.failures += 1;
    const retryAfterMs = isTemporary(err) ? err.retryAfterMs : undefined;
    const maxDelayMs = Math.max(this.opts.maxBackoffMs ?? 30_000, retryAfterMs ?? 0);
    const delayMs = retryDelayMs(this.failures, {
      baseDelayMs: this.opts.baseBackoffMs ?? 1_000,
      maxDelayMs,
      factor: 2,
      random: this.random,
      retryAfterMs,
    });
    this.throttle.pause(now + delayMs);
    // One warning when the outage starts, then every 10th attempt: not one line per retry.
    if (this.failures === 1 || this.failures % 10 === 0) {
      this.logger.warn(
        `Telegram send failed (${errorMessage(err)}); ${this.depth()} notification(s) kept, attempt ${this.failures}, next in ${delayMs} ms`,
      );
    }
  }
}
