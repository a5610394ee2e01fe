/**
 * A chat Telegram moved: a basic group upgraded to a supergroup gets a new id (Telegram does it by itself when the
 * group's history is made visible to new members, an admin gets some rights, the group gets a public link...).
 * Telegram says so two ways, both its own words, never a member's:
 *  - every send to the old id is answered 400 "Bad Request: group chat was upgraded to a supergroup chat" with
 *    `parameters.migrate_to_chat_id` (Bot API, ResponseParameters: "The group has been migrated to a supergroup with
 *    the specified identifier");
 *  - the bot in the group gets service messages: `migrate_to_chat_id` in the old chat, `migrate_from_chat_id` in the
 *    new one (Bot API, Message).
 *
 * ByNinja follows such a move until the configuration names the new id: alerts for the old id go to the new one,
 * and the new id may command exactly when the old one was allowed (TELEGRAM_ALLOWED_CHAT_IDS). Nothing else widens
 * who may command: a move is learned from a service message only for a chat the configuration names, and a move
 * applies to auth only through an old id the configuration lists. Once no setting names the old id any more the
 * move is forgotten (the operator changed .env).
 *
 * Pure rules here; ChatMoves (chat-move-book.ts) keeps the moves in the outbox's store and tells the operator
 * (the words: ops/render.ts describeMovedChat, shared with `byninja status` and doctor).
 */
import * as z from 'zod';
import { OperationalError } from '../../shared/errors';
import type { MovedChat } from '../../ops/telegram-delivery';

export interface ChatMove {
  /** The old (basic group) id. */
  from: string;
  /** The supergroup's id. */
  to: string;
  /** When it was learned (epoch ms). */
  at: number;
  /** How Telegram told: a send to the old id refused, or a service message. */
  via: 'send' | 'service-message';
  /** The notice was queued for the new chat (once; the log and /status say it on every start meanwhile). */
  told: boolean;
}

/** The settings that name chats (TELEGRAM_CHAT_ID, TELEGRAM_ALLOWED_CHAT_IDS). */
export interface ChatSettings {
  chatId?: string;
  allowedChatIds: readonly string[];
}

/**
 * A send refused because the group became a supergroup: 400 with `parameters.migrate_to_chat_id`. Operational
 * (this id will never take a message again) but not this message's fault: the outbox sends it to `migrateToChatId`.
 */
export class TelegramChatMigratedError extends OperationalError {
  constructor(
    message: string,
    readonly migrateToChatId: string,
    context?: Record<string, unknown>,
  ) {
    super(message, { ...context, migrateToChatId });
  }
}

/** Moves remembered at most (the oldest is forgotten): a handful of chats ever matter. */
export const MAX_CHAT_MOVES = 20;

const chatIdText = z.string().regex(/^-?\d+$/);

export const chatMoveSchema = z.looseObject({
  from: chatIdText,
  to: chatIdText,
  at: z.number().int().min(0),
  via: z.enum(['send', 'service-message']),
  told: z.boolean(),
});

/**
 * Could these moves have been learned, in this order (mayLearn without the settings, which change between runs)?
 * No move onto itself, one move per old id, none leading back to where it came from. What the book keeps always is
 * (forgetting some — the oldest, or the settled ones at start — keeps it so); a file that is not was not written
 * by the book: the Store quarantines it rather than follow half of it.
 */
export function movesConsistent(moves: ReadonlyArray<Pick<ChatMove, 'from' | 'to'>>): boolean {
  const seen: Array<Pick<ChatMove, 'from' | 'to'>> = [];
  for (const m of moves) {
    if (m.from === m.to || seen.some((s) => s.from === m.from)) return false;
    if (followMove(seen, m.to) === m.from) return false;
    seen.push(m);
  }
  return true;
}

/** The kept moves (`chatMoves` of the outbox schema): bounded (MAX_CHAT_MOVES) and consistent, as the book writes them. */
export const chatMovesSchema = z
  .array(chatMoveSchema)
  .max(MAX_CHAT_MOVES)
  .refine(movesConsistent, { message: 'chat moves: a move onto itself, two for one id, or a cycle' });

/** Where a message for `chatId` goes: its last known id (moves followed, a cycle never). */
export function followMove(moves: ReadonlyArray<Pick<ChatMove, 'from' | 'to'>>, chatId: string): string {
  let id = chatId;
  for (let hops = 0; hops <= moves.length; hops++) {
    const move = moves.find((m) => m.from === id);
    if (!move) return id;
    id = move.to;
  }
  return id;
}

/** The old ids that became `chatId` (directly or through several moves). */
export function movedFrom(moves: readonly ChatMove[], chatId: string): string[] {
  return moves.filter((m) => m.from !== chatId && followMove(moves, m.from) === chatId).map((m) => m.from);
}

/** The settings that still name the move's old id. */
export function staleSettings(move: Pick<ChatMove, 'from'>, settings: ChatSettings): string[] {
  const names: string[] = [];
  if (settings.chatId === move.from) names.push('TELEGRAM_CHAT_ID');
  if (settings.allowedChatIds.includes(move.from)) names.push('TELEGRAM_ALLOWED_CHAT_IDS');
  return names;
}

/**
 * May this move be kept? Told by a refused send (a chat we wrote to): yes. Told by a service message: only for a
 * chat a setting names — any stranger can add the bot to a group and upgrade it. Never a move onto itself or back
 * onto where it came from.
 */
export function mayLearn(
  moves: readonly ChatMove[],
  move: Pick<ChatMove, 'from' | 'to' | 'via'>,
  settings: ChatSettings,
): boolean {
  if (!/^-?\d+$/.test(move.from) || !/^-?\d+$/.test(move.to) || move.from === move.to) return false;
  if (moves.some((m) => m.from === move.from)) return false;
  if (followMove(moves, move.to) === move.from) return false;
  return move.via === 'send' || staleSettings(move, settings).length > 0;
}

/** Adds a move (mutates `moves`), forgetting the oldest beyond MAX_CHAT_MOVES. */
export function addMove(moves: ChatMove[], move: ChatMove): void {
  moves.push(move);
  if (moves.length > MAX_CHAT_MOVES) moves.splice(0, moves.length - MAX_CHAT_MOVES);
}

/**
 * The chats to ask Telegram about: the groups a setting names (negative ids) not known moved yet. A request naming a
 * group's old id that needs the right to write to it is answered as a send is — 400 with `migrate_to_chat_id`
 * (ResponseParameters) — so the answer is Telegram's own word, learned as a refused send's (`via: 'send'`).
 */
export function idsToProbe(moves: readonly ChatMove[], settings: ChatSettings): string[] {
  const named = new Set([
    ...(settings.chatId !== undefined ? [settings.chatId] : []),
    ...settings.allowedChatIds,
  ]);
  return [...named].filter((id) => /^-\d+$/.test(id) && !moves.some((m) => m.from === id));
}

/** At start: the moves still in force — those whose old id a setting still names; the rest the operator settled. */
export function settleMoves(moves: readonly ChatMove[], settings: ChatSettings): ChatMove[] {
  return moves.filter((m) => staleSettings(m, settings).length > 0);
}

export function movedChats(moves: readonly ChatMove[], settings: ChatSettings): MovedChat[] {
  return moves.map((m) => ({ from: m.from, to: m.to, settings: staleSettings(m, settings) }));
}
