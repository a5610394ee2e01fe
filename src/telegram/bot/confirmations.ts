/**
 * Pending confirmations of dangerous commands (/restart, /closeall). The inline button carries a random nonce,
 * never the action itself: a button is good once, in the chat that asked, until `ttlMs` — an old, replayed,
 * forged or double-tapped button finds nothing and does nothing. Kept in memory on purpose: after a restart every
 * earlier button is expired.
 */
import crypto from 'node:crypto';
import type { ServiceName } from '../../ops/services';

export type ConfirmableAction = { kind: 'restart'; targets: ServiceName[] } | { kind: 'closeall' };

export interface PendingConfirmation {
  nonce: string;
  chatId: string;
  action: ConfirmableAction;
  createdAt: number;
  expiresAt: number;
}

/** Callback data prefixes (Telegram allows 64 bytes of callback data). */
export const CONFIRM_PREFIX = 'ok:';
export const CANCEL_PREFIX = 'no:';

export type TakeResult = { status: 'ok'; pending: PendingConfirmation } | { status: 'expired' };

export class ConfirmationStore {
  private readonly pending = new Map<string, PendingConfirmation>();

  constructor(
    private readonly ttlMs: number,
    private readonly newNonce: () => string = () => crypto.randomBytes(12).toString('base64url'),
    /** Most confirmations waiting at once; the oldest is dropped beyond it. */
    private readonly maxPending = 100,
  ) {}

  create(chatId: string, action: ConfirmableAction, now: number): PendingConfirmation {
    this.prune(now);
    const entry: PendingConfirmation = {
      nonce: this.newNonce(),
      chatId,
      action,
      createdAt: now,
      expiresAt: now + this.ttlMs,
    };
    this.pending.set(entry.nonce, entry);
    if (this.pending.size > this.maxPending) this.pending.delete(this.pending.keys().next().value!);
    return entry;
  }

  /** Takes (removes) the confirmation: only the first valid press in the asking chat gets it. */
  take(nonce: string, chatId: string, now: number): TakeResult {
    const entry = this.pending.get(nonce);
    if (!entry || entry.chatId !== chatId) return { status: 'expired' };
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
