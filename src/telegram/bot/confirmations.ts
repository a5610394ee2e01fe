/**
 * Pending confirmations of dangerous commands (/restart, /closeall, /settle, /writeoff, /resume). The inline button carries a random nonce,
 * never the action itself: a button is good once, in the chat that asked, until `ttlMs` — an old, replayed,
 * forged or double-tapped button finds nothing and does nothing. It belongs to the user who asked: in a group,
 * another member's press is refused (and leaves the confirmation to its owner), unless the presser is one of the
 * user ids the bot trusts by name (`mayPressAnyone`). Kept in memory on purpose: after a restart every
 * earlier button is expired.
 */
import crypto from 'node:crypto';
import type { ServiceName } from '../../ops/services';
import type { SettleOrderParams } from '../../shared/ipc/protocol';

/** A dangerous command's action, waiting for its button; `kind` is the command's name. */
export type ConfirmableAction =
  | { kind: 'restart'; targets: ServiceName[] }
  | { kind: 'closeall' }
  | { kind: 'settle'; params: SettleOrderParams }
  | { kind: 'writeoff'; symbol: string }
  /** `pausedReason`: the pause the question named; a resume is not sent once it has changed. */
  | { kind: 'resume'; pausedReason: string };

export interface PendingConfirmation {
  nonce: string;
  chatId: string;
  /** The user who asked; only they (or a user trusted by name) may press. */
  userId: string | undefined;
  action: ConfirmableAction;
  createdAt: number;
  expiresAt: number;
}

/** Callback data prefixes (Telegram allows 64 bytes of callback data). */
export const CONFIRM_PREFIX = 'ok:';
export const CANCEL_PREFIX = 'no:';

export type TakeResult =
  | { status: 'ok'; pending: PendingConfirmation }
  | { status: 'expired' }
  /** Someone else's confirmation: refused, and left for its owner. */
  | { status: 'not-yours' };

export class ConfirmationStore {
  private readonly pending = new Map<string, PendingConfirmation>();

  constructor(
    private readonly ttlMs: number,
    private readonly newNonce: () => string = () => crypto.randomBytes(12).toString('base64url'),
    /** Most confirmations waiting at once; the oldest is dropped beyond it. */
    private readonly maxPending = 100,
  ) {}

  create(
    chatId: string,
    userId: string | undefined,
    action: ConfirmableAction,
    now: number,
  ): PendingConfirmation {
    this.prune(now);
    const entry: PendingConfirmation = {
      nonce: this.newNonce(),
      chatId,
      userId,
      action,
      createdAt: now,
      expiresAt: now + this.ttlMs,
    };
    this.pending.set(entry.nonce, entry);
    if (this.pending.size > this.maxPending) this.pending.delete(this.pending.keys().next().value!);
    return entry;
  }

  /**
   * Takes (removes) the confirmation: only the first valid press, in the asking chat, by the user who asked (or
   * one `mayPressAnyone` accepts) gets it.
   */
  take(
    nonce: string,
    chatId: string,
    userId: string | undefined,
    now: number,
    mayPressAnyone: (userId: string | undefined) => boolean = () => false,
  ): TakeResult {
    const entry = this.pending.get(nonce);
    if (!entry || entry.chatId !== chatId) return { status: 'expired' };
    if (now <= entry.expiresAt && entry.userId !== userId && !mayPressAnyone(userId))
      return { status: 'not-yours' };
    this.pending.delete(nonce);
    if (now > entry.expiresAt) return { status: 'expired' };
    return { status: 'ok', pending: entry };
  }

  get size(): number {
    return this.pending.size;
  }

  prune(now: number): void {
    for (const [nonce, entry] of this.pending) if (now > entry.expiresAt) this.pending.delete(nonce);
  }
}
