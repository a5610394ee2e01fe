/**
 * What the API key's own limits mean to the operator (pure; key-watch.ts reads them and tells). The exchange's
 * answer (Exchange.apiKeyLimits), or none when the read failed, and what was already told (kept between runs,
 * key-notice-file.ts) give the notices due now, what is told after them, and when to look again:
 * - a key that cannot trade spot: told once (until it can again); a start with nothing open refuses on it;
 * - a key that may withdraw: one warning per key (the bot never needs it);
 * - an end (Bybit expiredAt, Binance tradingAuthorityExpirationTime) 14, 3 and 1 day(s) ahead: told once each —
 *   first seen 2 days ahead, one notice, the earlier ones counted as told; past it: once, "trading stopped". A read
 *   that failed judges by the end last known (an expired key often cannot read its own limits). A new end (the
 *   owner renewed the key) starts the count again.
 */
import type { ApiKeyLimits } from '../../exchange/exchange';

const DAY_MS = 86_400_000;

/** Days ahead of the key's end at which the operator is told (each once). */
export const EXPIRY_NOTICE_DAYS: readonly number[] = [14, 3, 1];

/** The earliest next look, whatever is due (a read fails again at once otherwise). */
const MIN_RECHECK_MS = 60_000;

/**
 * How long a read that said the key can trade spot lets a start go on without waiting for a fresh one
 * (storedReadTrusted): the fresh read is then sent after ready, and the first tick waits for it.
 */
export const STORED_KEY_READ_TRUSTED_MS = DAY_MS;

/** What was told of one key (`key`: its fingerprint, never the key), and its last read. */
export interface KeyNotices {
  key: string;
  expiresAt?: number;
  expiryField?: string;
  /** The EXPIRY_NOTICE_DAYS told for `expiresAt`. */
  expiryToldDays: number[];
  expiredTold: boolean;
  withdrawTold: boolean;
  cannotTradeTold: boolean;
  /** The last read that answered: when, and whether it said the key can place spot orders (undefined: not told). */
  readAt?: number;
  spotTrade?: boolean;
}

export type KeyNotice =
  | { kind: 'cannot-trade' }
  | { kind: 'withdrawals' }
  | { kind: 'expires'; days: number; expiresAt: number; field: string }
  | { kind: 'expired'; expiresAt: number; field: string };

export interface KeyJudgement {
  notices: KeyNotice[];
  told: KeyNotices;
  /** The exchange said the key cannot place spot orders. */
  cannotTrade: boolean;
  /** Its end (known now or last known) has passed. */
  expired: boolean;
}

/** Nothing told yet of `key`. */
export function freshNotices(key: string): KeyNotices {
  return { key, expiryToldDays: [], expiredTold: false, withdrawTold: false, cannotTradeTold: false };
}

/**
 * The notices due at `now` for `limits` (undefined: the read failed or the exchange has none) given `told`; `key`
 * is the fingerprint of the key in use (what was told of another key does not count).
 */
export function judgeKeyLimits(
  limits: ApiKeyLimits | undefined,
  told: KeyNotices | undefined,
  key: string,
  now: number,
): KeyJudgement {
  let next: KeyNotices = told && told.key === key ? { ...told } : freshNotices(key);
  const notices: KeyNotice[] = [];
  if (limits) {
    next.readAt = now;
    next.spotTrade = limits.spotTrade;
    // the end as read now (none: the key no longer expires — bound to an IP, or renewed)
    if (limits.expiresAt !== next.expiresAt)
      next = {
        ...next,
        expiresAt: limits.expiresAt,
        expiryField: limits.expiryField,
        expiryToldDays: [],
        expiredTold: false,
      };
    if (limits.spotTrade === false) {
      if (!next.cannotTradeTold) notices.push({ kind: 'cannot-trade' });
      next.cannotTradeTold = true;
    } else if (limits.spotTrade === true) next.cannotTradeTold = false;
    if (limits.withdraw === true) {
      if (!next.withdrawTold) notices.push({ kind: 'withdrawals' });
      next.withdrawTold = true;
    } else if (limits.withdraw === false) next.withdrawTold = false;
  }
  const expiresAt = next.expiresAt;
  const field = next.expiryField ?? 'key expiry';
  const expired = expiresAt !== undefined && now >= expiresAt;
  if (expiresAt !== undefined) {
    if (expired) {
      if (!next.expiredTold) notices.push({ kind: 'expired', expiresAt, field });
      next.expiredTold = true;
    } else {
      const left = expiresAt - now;
      const due = EXPIRY_NOTICE_DAYS.filter((days) => left <= days * DAY_MS);
      if (due.some((days) => !next.expiryToldDays.includes(days))) {
        notices.push({ kind: 'expires', days: Math.min(...due), expiresAt, field });
        next.expiryToldDays = [...new Set([...next.expiryToldDays, ...due])].sort((a, b) => b - a);
      }
    }
  }
  return { notices, told: next, cannotTrade: limits?.spotTrade === false, expired };
}

/**
 * Whether a start may be ready on the kept read of `key` (KeyWatch: the fresh read goes out after ready, and the
 * first tick waits for its answer): the same key, read less than STORED_KEY_READ_TRUSTED_MS ago (never in the
 * future: a clock set back), said it can place spot orders, and its end (if any) has not passed. A first start, a
 * changed key, a kept read that said "cannot trade" or did not say, or an old one: the start awaits a fresh read.
 */
export function storedReadTrusted(told: KeyNotices | undefined, key: string, now: number): boolean {
  if (!told || told.key !== key || told.spotTrade !== true || told.readAt === undefined) return false;
  if (told.readAt > now || now - told.readAt >= STORED_KEY_READ_TRUSTED_MS) return false;
  return told.expiresAt === undefined || now < told.expiresAt;
}

/**
 * When to read the key's limits again after `now`: in a day, or sooner at the next notice day or the end itself
 * (so each notice goes out on its day, not up to a day late); at least a minute away.
 */
export function nextKeyCheckInMs(told: KeyNotices, now: number): number {
  const at = told.expiresAt;
  let wait = DAY_MS;
  if (at !== undefined && now < at) {
    for (const days of EXPIRY_NOTICE_DAYS) {
      const noticeAt = at - days * DAY_MS;
      if (noticeAt > now && !told.expiryToldDays.includes(days)) wait = Math.min(wait, noticeAt - now);
    }
    wait = Math.min(wait, at - now);
  }
  return Math.max(MIN_RECHECK_MS, wait);
}

/** A notice as the operator reads it (never a secret: the exchange's field names and dates only). */
export function keyNoticeText(notice: KeyNotice, exchangeId: string): string {
  switch (notice.kind) {
    case 'cannot-trade':
      return `${exchangeId} API key cannot place spot orders (the exchange says so): enable spot trading on the key, or create a new key with it`;
    case 'withdrawals':
      return `${exchangeId} API key may withdraw: the bot never needs it, and a leaked key could empty the account — turn withdrawals off on the key`;
    case 'expires':
      return `${exchangeId} API key expires at ${new Date(notice.expiresAt).toISOString()} (${notice.field}, within ${notice.days} day${notice.days === 1 ? '' : 's'}): create a new key bound to this host's IP address (such keys do not expire) and restart with it before then`;
    case 'expired':
      return `${exchangeId} API key expired at ${new Date(notice.expiresAt).toISOString()} (${notice.field}): trading stopped for that reason — create a new key bound to this host's IP address and restart with it`;
  }
}
