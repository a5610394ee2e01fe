/**
 * The chats Telegram moved (chat-moves.ts has the rules), kept in the outbox's store (`chatMoves` of
 * `telegram-outbox.json`, schema-checked with the rest of it) so that a restart still follows them — commands may
 * come from the new id before any alert has been sent to learn it again. One book per service, shared by the outbox
 * (which learns from a refused send and sends to the new id) and the bot (which learns from Telegram's service
 * messages and lets the new id command as the old one).
 *
 * The operator is told once, loudly, when a move is learned: an error line in the log and a notice in the new chat
 * (through the outbox, once: `told` is kept); `byninja status`, /status and doctor show it while a setting still
 * names the old id, and each start repeats one log line meanwhile.
 */
import type { Clock } from '../../shared/clock';
import type { Logger } from '../../shared/logging/logger';
import {
  addMove,
  followMove,
  idsToProbe,
  mayLearn,
  movedChats,
  movedFrom,
  settleMoves,
  staleSettings,
  TelegramChatMigratedError,
  type ChatMove,
  type ChatSettings,
} from './chat-moves';
import { describeMovedChat as moveAdvice } from '../../ops/render';
import type { MovedChat } from '../../ops/telegram-delivery';
import { escapeHtml, type Notifier } from './notification';

export interface ChatMovesData {
  chatMoves: ChatMove[];
}

/** The part of a Store the book needs (the outbox's store in the service). */
export interface ChatMovesStore {
  readonly data: ChatMovesData;
  /** Applies `mutate` to `data` at once (also when the write then fails), resolves once it is durable. */
  commit(mutate?: (d: ChatMovesData) => void): Promise<void>;
}

export interface ChatMovesOptions {
  /** Where the moves are kept; without one they last this run only. */
  store?: ChatMovesStore;
  settings: ChatSettings;
  logger: Logger;
  clock: Clock;
  /** Told of the moves in force whenever they change (DeliveryHealth: `byninja status`, /status). */
  onChange?: (moved: MovedChat[]) => void;
}

export class ChatMoves {
  private readonly store: ChatMovesStore;
  private readonly logger: Logger;
  private notifier: Notifier | undefined;

  constructor(private readonly opts: ChatMovesOptions) {
    this.store = opts.store ?? memoryStore();
    this.logger = opts.logger.child({ module: 'chat-moves' });
  }

  /**
   * At the service's start: forgets the moves no setting needs any more (the operator changed .env), says once more
   * which settings still name an old id, and queues the new chat's notice if it never was (through `notifier`).
   */
  async start(notifier?: Notifier): Promise<void> {
    this.notifier = notifier;
    const kept = settleMoves(this.store.data.chatMoves, this.opts.settings);
    for (const gone of this.store.data.chatMoves.filter((m) => !kept.includes(m)))
      this.logger.info(
        `no setting names group ${gone.from} any more: its move to ${gone.to} is no longer followed`,
      );
    if (kept.length !== this.store.data.chatMoves.length)
      await this.store.commit((d) => {
        d.chatMoves = settleMoves(d.chatMoves, this.opts.settings);
      });
    for (const moved of this.moved()) this.logger.warn(`⚠️ ${moveAdvice(moved)}`, { chatId: moved.to });
    for (const move of this.store.data.chatMoves) if (!move.told) await this.tell(move);
    this.changed();
  }

  /** The id a message for `chatId` goes to now. */
  resolve(chatId: string): string {
    return followMove(this.store.data.chatMoves, chatId);
  }

  /** The old ids `chatId` was before Telegram moved it (auth lets it command as those). */
  formerIds(chatId: string): string[] {
    return movedFrom(this.store.data.chatMoves, chatId);
  }

  /** The groups a setting names that are not known moved (chat-moves.ts idsToProbe): what to ask Telegram about. */
  unprobed(): string[] {
    return idsToProbe(this.store.data.chatMoves, this.opts.settings);
  }

  /** The moves in force, with the settings that still name their old id. */
  moved(): MovedChat[] {
    return movedChats(this.store.data.chatMoves, this.opts.settings);
  }

  /**
   * `send` to where `chatId` is now; if Telegram answers that the group became a supergroup, the move is learned (as
   * the outbox learns it from an alert) and `send` tried once more at the new id. For what goes to Telegram beside the
   * outbox (the daily summary's chart): it follows a move the outbox has not heard of yet.
   */
  async sendFollowing(chatId: string, send: (to: string) => Promise<void>): Promise<void> {
    const first = this.resolve(chatId);
    try {
      await send(first);
    } catch (err) {
      if (!(err instanceof TelegramChatMigratedError)) throw err;
      // a disk refusing the move's write still leaves it followed from memory (learn() says so)
      await this.learn(first, err.migrateToChatId, 'send').catch(() => undefined);
      const now = this.resolve(chatId);
      if (now === first) throw err;
      await send(now);
    }
  }

  /**
   * Telegram said `from` is now `to`. Kept (durably, before this resolves) when the rules allow it; then the log
   * says what to change and the new chat is told. False when not kept (already known, or not ours to follow).
   * Rejects when the disk refused the write — after telling: the move is followed from memory meanwhile.
   */
  async learn(from: string, to: string, via: ChatMove['via']): Promise<boolean> {
    const candidate = { from, to, via };
    if (!mayLearn(this.store.data.chatMoves, candidate, this.opts.settings)) return false;
    const move: ChatMove = { ...candidate, at: this.opts.clock.now(), told: false };
    // the Store applies the change at once (the outbox and the bot may hear of one move together: one learns it)
    let notSaved: unknown;
    await this.store
      .commit((d) => {
        if (mayLearn(d.chatMoves, candidate, this.opts.settings)) addMove(d.chatMoves, move);
      })
      .catch((err: unknown) => {
        notSaved = err ?? new Error('the move was not saved');
      });
    // A write the disk refused (full) leaves the move applied in memory, written by the Store's own retry: it is
    // followed from now on, so the operator is told all the same. A store that applied nothing (closed) learned nothing.
    if (notSaved !== undefined && !this.store.data.chatMoves.some((m) => m.from === from)) throw notSaved;
    const moved = { from, to, settings: staleSettings(move, this.opts.settings) };
    this.logger.error(`🔀 ${moveAdvice(moved)}`, { chatId: to, formerChatId: from, via });
    this.changed();
    await this.tell(move);
    // not durable yet: the caller hears it (the Store writes it once the disk takes writes)
    if (notSaved !== undefined) throw notSaved;
    return true;
  }

  /** The notice in the new chat, once (only once a notifier is given: the service's outbox). */
  private async tell(move: ChatMove): Promise<void> {
    if (!this.notifier) return;
    const moved = { from: move.from, to: move.to, settings: staleSettings(move, this.opts.settings) };
    if (moved.settings.length === 0) return; // a chat no setting names: the log line is enough
    try {
      await this.notifier.notify({
        key: `chat-moved:${move.from}`,
        priority: 'high',
        chatId: move.to,
        text: `🔀 <b>This chat's id changed</b>\n${escapeHtml(moveAdvice(moved))}`,
      });
    } finally {
      // also when notify() could not save (disk full): the notice is then queued in memory and sent all the same, so
      // it is told (a closed store applies neither)
      await this.store.commit((d) => {
        for (const m of d.chatMoves) if (m.from === move.from) m.told = true;
      });
    }
  }

  private changed(): void {
    try {
      this.opts.onChange?.(this.moved());
    } catch (err) {
      this.logger.warn(`could not record the moved chats: ${String(err)}`);
    }
  }
}

function memoryStore(): ChatMovesStore {
  const data: ChatMovesData = { chatMoves: [] };
  return {
    data,
    commit: (mutate) => {
      mutate?.(data);
      return Promise.resolve();
    },
  };
}
