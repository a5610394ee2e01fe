/**
 * The API key's own limits, read at a live start and then once a day (sooner on a notice day: key-limits.ts), told
 * to the operator as `api_key.limits` events: a key that cannot trade spot, a key that may withdraw, its end 14, 3
 * and 1 day(s) ahead and after it. One request per read (the profile's key call); a read that fails never stops
 * trading — logged, tried again at the next look (the end last known still counts).
 *
 * At a start, a key the exchange says cannot trade spot refuses the start (exit 78, the fix named) only when the
 * state holds nothing open; with a position or an order open the start goes on with an error-level event: its
 * stop-loss may still work if the exchange's answer was wrong (as candle-needs' refusal, daemon.ts).
 */
import type { Clock } from '../../../shared/clock';
import type { ApiKeyStatus } from '../../../shared/ipc/protocol';
import { ConfigError, errorMessage } from '../../../shared/errors';
import type { Logger } from '../../../shared/logging/logger';
import { withDeadline } from '../../../shared/deadline';
import type { ApiKeyLimits, Exchange } from '../../exchange/exchange';
import type { EventOutbox } from '../state/event-outbox';
import {
  freshNotices,
  judgeKeyLimits,
  keyNoticeText,
  nextKeyCheckInMs,
  storedReadTrusted,
  type KeyJudgement,
  type KeyNotice,
  type KeyNotices,
} from './key-limits';
import type { KeyNoticeFile } from './key-notice-file';

/** What /status shows of the key (never the key). */
export type KeyStatus = ApiKeyStatus;

export interface KeyWatchOptions {
  exchange: Pick<Exchange, 'id' | 'apiKeyLimits' | 'knowKeyExpiry'>;
  outbox: Pick<EventOutbox, 'emit'>;
  clock: Clock;
  logger: Logger;
  file: KeyNoticeFile;
  /** The key's fingerprint (apiKeyFingerprint): what the notices are kept for. */
  key: string;
  /** How long a start waits for the read (the symbols' read deadline): beyond it, the start goes on without. */
  startWaitMs: number;
  /** Whether the state holds a position or an order open (open-holdings.ts). */
  holdsOpen: () => boolean;
}

export class KeyWatch {
  private told?: KeyNotices;
  private loaded?: Promise<void>;
  private early?: Promise<ApiKeyLimits | undefined>;
  /** The kept read lets the start go on without a fresh one: it is sent after ready (afterReady). */
  private deferred = false;
  /** The read time the file holds (a read that answered since is kept). */
  private keptReadAt?: number;
  private cancelTimer?: () => void;
  private stopped = false;
  private lastStatus: KeyStatus = {};

  constructor(private readonly opts: KeyWatchOptions) {}

  /**
   * The kept notices loaded and, unless the kept read lets the start go on without one (storedReadTrusted), the
   * read sent ahead (beside the start's first reads); the end last known is handed to the adapter at once, so a
   * refusal at the start's first reads is named as it.
   */
  send(): void {
    this.loaded ??= this.opts.file.load().then((told) => {
      this.told = told && told.key === this.opts.key ? told : undefined;
      this.keptReadAt = this.told?.readAt;
      if (this.told?.expiresAt !== undefined)
        this.opts.exchange.knowKeyExpiry?.({
          at: this.told.expiresAt,
          field: this.told.expiryField ?? 'key expiry',
        });
      this.deferred = storedReadTrusted(this.told, this.opts.key, this.opts.clock.now());
    });
    this.early ??= this.loaded.then(() => (this.deferred ? undefined : this.read()));
    this.early.catch(() => undefined);
  }

  /**
   * The start's look (after the identity check, before recovery): throws ConfigError when the key cannot trade spot
   * and `holdsOpen()` says nothing is open; otherwise tells what is due and schedules the next look. When the kept
   * read lets the start go on (recent, this key, said it can trade: storedReadTrusted), it tells only what the end
   * last known makes due and leaves the read to afterReady().
   */
  async atStart(): Promise<void> {
    this.send();
    await this.loaded;
    // judged again now: a start that waited long for the exchange may have outlived the kept read
    if (this.deferred && !storedReadTrusted(this.told, this.opts.key, this.opts.clock.now())) {
      this.deferred = false;
      this.early = this.read();
      this.early.catch(() => undefined);
    }
    if (this.deferred && this.told) {
      const told = this.told;
      this.lastStatus = {
        readAt: told.readAt,
        spotTrade: true,
        ...(told.expiresAt !== undefined ? { expiresAt: told.expiresAt, expiryField: told.expiryField } : {}),
      };
      const judged = judgeKeyLimits(undefined, told, this.opts.key, this.opts.clock.now());
      this.told = judged.told;
      await this.tell(judged.notices);
      return;
    }
    const before = this.told;
    const judged = await this.look(this.withinStartWait(this.early as Promise<ApiKeyLimits | undefined>));
    await this.refuseIfCannotTrade(judged, before);
    await this.tell(judged?.notices ?? []);
    this.schedule();
  }

  /**
   * After ready, when the start went on on the kept read: the fresh read (sent now: recovery's reads are answered,
   * nothing competes with it), acted on as at the start — a key that cannot trade throws ConfigError with nothing
   * open (the caller exits 78 before the first tick), is told with something open — then the daily looks. The
   * first tick waits for this (at most the start's wait), so a key that cannot trade never places an order.
   */
  async afterReady(): Promise<void> {
    if (!this.deferred || this.stopped) return;
    this.deferred = false;
    const before = this.told;
    const judged = await this.look(this.withinStartWait(this.read()));
    if (this.stopped) return;
    await this.refuseIfCannotTrade(judged, before);
    await this.tell(judged?.notices ?? []);
    this.schedule();
  }

  /** The key as last read, for /status and `byninja doctor`. */
  status(): KeyStatus {
    return { ...this.lastStatus };
  }

  /** No more looks (shutdown). */
  stop(): void {
    this.stopped = true;
    this.cancelTimer?.();
  }

  private withinStartWait(read: Promise<ApiKeyLimits | undefined>): Promise<ApiKeyLimits | undefined> {
    return withDeadline(
      read,
      this.opts.startWaitMs,
      () => new Error(`no answer within ${this.opts.startWaitMs} ms`),
      this.opts.clock,
    );
  }

  /**
   * A key the exchange says cannot trade spot refuses the start when nothing is open. The read is kept first (only
   * its time and answer, on what was told `before`: the refusal tells none of the notices), so the next start does
   * not go on on an older "can trade".
   */
  private async refuseIfCannotTrade(
    judged: KeyJudgement | undefined,
    before: KeyNotices | undefined,
  ): Promise<void> {
    if (!judged?.cannotTrade || this.opts.holdsOpen()) return;
    await this.opts.file.save({
      ...(before ?? freshNotices(this.opts.key)),
      readAt: judged.told.readAt,
      spotTrade: judged.told.spotTrade,
    });
    throw new ConfigError([
      {
        field: 'EXCHANGE_API_KEY',
        value: '[redacted]',
        message: `${this.opts.exchange.id} says this key cannot place spot orders: enable spot trading on the key (or create a new one with it, bound to this host's IP address, without withdrawals) and start again`,
      },
    ]);
  }

  private read(): Promise<ApiKeyLimits | undefined> {
    return this.opts.exchange.apiKeyLimits ? this.opts.exchange.apiKeyLimits() : Promise.resolve(undefined);
  }

  /** One read judged and kept; undefined when there is nothing to judge (the exchange has no key read). */
  private async look(read: Promise<ApiKeyLimits | undefined>): Promise<KeyJudgement | undefined> {
    await this.loaded;
    let limits: ApiKeyLimits | undefined;
    try {
      limits = await read;
      this.lastStatus = { readAt: this.opts.clock.now(), ...limits };
      if (!limits) return undefined;
    } catch (err) {
      // never stops trading: the end last known still counts, the next look reads again
      this.lastStatus = { ...this.lastStatus, readError: errorMessage(err) };
      this.opts.logger.warn(
        `${this.opts.exchange.id} API key limits not read; trying again at the next look`,
        {
          error: errorMessage(err),
        },
      );
      if (!this.told) return undefined;
    }
    const judged = judgeKeyLimits(limits, this.told, this.opts.key, this.opts.clock.now());
    if (judged.told.expiresAt === undefined) this.opts.exchange.knowKeyExpiry?.(undefined);
    else
      this.opts.exchange.knowKeyExpiry?.({
        at: judged.told.expiresAt,
        field: judged.told.expiryField ?? 'key expiry',
      });
    this.lastStatus = {
      ...this.lastStatus,
      expiresAt: judged.told.expiresAt,
      expiryField: judged.told.expiryField,
    };
    this.told = judged.told;
    return judged;
  }

  /** Each notice as one event (emitted before it is kept as told: a crash between repeats it, never loses it). */
  private async tell(notices: readonly KeyNotice[]): Promise<void> {
    for (const notice of notices) {
      const text = keyNoticeText(notice, this.opts.exchange.id);
      const summary =
        notice.kind === 'cannot-trade' && this.opts.holdsOpen()
          ? `${text}. Trading goes on for the open positions and orders (the stop-loss may still work if the exchange's answer was wrong)`
          : text;
      if (notice.kind === 'withdrawals' || notice.kind === 'expires') this.opts.logger.warn(summary);
      else this.opts.logger.error(summary);
      await this.opts.outbox.emit('api_key.limits', summary, {
        exchange: this.opts.exchange.id,
        notice: notice.kind,
        ...(notice.kind === 'expires' || notice.kind === 'expired'
          ? { expiresAt: notice.expiresAt, field: notice.field }
          : {}),
        ...(notice.kind === 'expires' ? { days: notice.days } : {}),
      });
    }
    // kept after each notice, and after each read that answered (its time and answer let the next start go on
    // without waiting for one: storedReadTrusted)
    if (this.told && (notices.length > 0 || this.told.readAt !== this.keptReadAt)) {
      this.keptReadAt = this.told.readAt;
      await this.opts.file.save(this.told);
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    const wait = nextKeyCheckInMs(this.told ?? freshNotices(this.opts.key), this.opts.clock.now());
    this.cancelTimer = this.opts.clock.timer(wait, () => {
      void this.daily().catch((err: unknown) =>
        this.opts.logger.error(`API key look failed: ${errorMessage(err)}`, { error: err }),
      );
    });
  }

  /** The daily look: a read, its notices, the next look. */
  private async daily(): Promise<void> {
    if (this.stopped) return;
    const judged = await this.look(this.read());
    // after the start, a key that cannot trade is told, never a stop: open positions keep their exits
    if (judged) await this.tell(judged.notices);
    this.schedule();
  }
}
