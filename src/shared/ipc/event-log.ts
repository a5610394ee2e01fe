/**
 * The durable trading event stream. Every event gets the next `seq` (never reused, survives restarts) and is
 * appended durably to its own journal (`<dir>/events.jsonl`) BEFORE any subscriber sees it, so an event a
 * client has seen is never lost by a crash of trading.
 *
 * The last `retention` events (default 10,000) are kept in memory and on disk for replay; the journal is
 * compacted back to `retention` when it holds more than twice that, so the file stays small and compaction
 * is rare. The newest event is always kept, which is what carries `lastSeq` across restarts.
 *
 * Publishes are group-committed: a commit starts one event-loop turn after the first publish, so every publish
 * of that turn (a burst, or callers chained through awaits) and every one made while an append is in flight is
 * written together with one write and one fdatasync, in call order.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Clock } from '../clock';
import { systemClock } from '../clock';
import { ByNinjaError, errorMessage, PersistenceError } from '../errors';
import type { Logger } from '../logging/logger';
import { Redactor } from '../logging/redact';
import { Journal } from '../persistence/journal';
import { validateTradingEvent } from './event-schema';
import type { TradingEvent, TradingEventType } from './protocol';

export const DEFAULT_EVENT_RETENTION = 10_000;
const JOURNAL_NAME = 'events';

export interface EventLogOptions {
  /** Events kept for replay (default 10,000). */
  retention?: number;
  logger?: Logger;
  clock?: Clock;
  /** Masks secrets in every event's summary and data before it is written (the service's one redactor). */
  redactor?: Redactor;
}

export type EventListener = (event: TradingEvent) => void;

export interface Subscription {
  /** Events after `afterSeq` that are still kept, oldest first. */
  replay: TradingEvent[];
  /** Events after `afterSeq` that were trimmed before this subscription (lost for this subscriber). */
  missed: number;
  /** Highest seq published when the subscription started. */
  lastSeq: number;
  /** `afterSeq` was ahead of `lastSeq` (the log was reset): `replay` holds everything kept instead. */
  streamReset: boolean;
  /** Stop live delivery; idempotent. */
  unsubscribe(): void;
}

interface PendingPublish {
  type: TradingEventType;
  summary: string;
  data: Record<string, unknown>;
  resolve: (event: TradingEvent) => void;
  reject: (err: unknown) => void;
}

export class EventLog {
  private readonly events: TradingEvent[];
  /**
   * The JSON of `events[i]` at `json[i]`: serialised once when published (the journal line, reused by every
   * stream), on demand for events read back at open.
   */
  private readonly json: Array<string | undefined>;
  private readonly listeners = new Set<EventListener>();
  private queue: PendingPublish[] = [];
  private draining: Promise<void> | null = null;
  private nextSeq: number;
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly journal: Journal<TradingEvent>,
    kept: TradingEvent[],
    private readonly retention: number,
    private readonly logger: Logger | undefined,
    private readonly clock: Clock,
    private readonly redactor: Redactor,
  ) {
    this.events = kept;
    this.json = kept.map(() => undefined);
    this.nextSeq = (kept.length > 0 ? kept[kept.length - 1].seq : 0) + 1;
  }

  static async open(dir: string, opts: EventLogOptions = {}): Promise<EventLog> {
    const retention = opts.retention ?? DEFAULT_EVENT_RETENTION;
    if (!Number.isInteger(retention) || retention < 1) {
      throw new RangeError(`event retention must be a positive integer, got ${retention}`);
    }
    const journal = await Journal.open<TradingEvent>(dir, JOURNAL_NAME, {
      logger: opts.logger,
      validate: validateTradingEvent,
    });
    const kept = sanitize(await journal.tail(retention), opts.logger);
    const log = new EventLog(
      journal,
      kept,
      retention,
      opts.logger,
      opts.clock ?? systemClock,
      opts.redactor ?? new Redactor(),
    );
    opts.logger?.info('Event log opened', { lastSeq: log.lastSeq, kept: kept.length, retention });
    return log;
  }

  /** Highest seq made durable so far (0 before the first event ever). */
  get lastSeq(): number {
    return this.events.length > 0 ? this.events[this.events.length - 1].seq : 0;
  }

  /** Oldest seq still kept for replay, or null when nothing is kept. */
  get oldestSeq(): number | null {
    return this.events.length > 0 ? this.events[0].seq : null;
  }

  /**
   * Durably append an event, then hand it to every live subscriber (synchronously, in seq order).
   * Rejects with PersistenceError when it could not be made durable; that seq is then skipped for good,
   * because the failed write may still have reached the disk and a seq must never mean two events.
   */
  publish(
    type: TradingEventType,
    summary: string,
    data: Record<string, unknown> = {},
  ): Promise<TradingEvent> {
    if (this.closing) {
      return Promise.reject(new ByNinjaError('Event log is closed', { type }));
    }
    return new Promise<TradingEvent>((resolve, reject) => {
      this.queue.push({
        type,
        summary: this.redactor.redactString(summary),
        data: this.redactor.redactValue(data) as Record<string, unknown>,
        resolve,
        reject,
      });
      if (!this.draining) this.draining = this.drain();
    });
  }

  /**
   * Replay + live with no gap and no reordering: the kept events after `afterSeq` are snapshotted and the
   * listener is registered in the same synchronous step, and publishes hand out events only after they are
   * in `events`, so each event is either in `replay` or delivered to `listener`, never both, never neither.
   */
  subscribe(afterSeq: number, listener: EventListener): Subscription {
    const lastSeq = this.lastSeq;
    const streamReset = afterSeq > lastSeq;
    const from = streamReset ? 0 : afterSeq;
    const replay = this.eventsAfter(from);
    const oldest = this.oldestSeq;
    const missed = oldest === null ? 0 : Math.max(0, oldest - from - 1);
    this.listeners.add(listener);
    return {
      replay,
      missed: Math.min(missed, lastSeq),
      lastSeq,
      streamReset,
      unsubscribe: () => {
        this.listeners.delete(listener);
      },
    };
  }

  /** Whether a kept event carries `data.eventKey === key` (the trading outbox's dedup after a crash). */
  hasEventKey(key: string): boolean {
    for (let i = this.events.length - 1; i >= 0; i--) if (this.events[i].data.eventKey === key) return true;
    return false;
  }

  /** Kept events with seq > afterSeq, oldest first; at most `limit` of them. */
  eventsAfter(afterSeq: number, limit = Infinity): TradingEvent[] {
    const lo = this.indexAfter(afterSeq);
    return this.events.slice(lo, limit === Infinity ? undefined : lo + limit);
  }

  /**
   * The JSON of the kept events with seq > afterSeq, oldest first, at most `limit` of them, and the seq of the
   * last one (`afterSeq` when there are none): what a stream sends, serialised once for the journal and every
   * stream.
   */
  jsonAfter(afterSeq: number, limit: number): { json: string[]; lastSeq: number } {
    const lo = this.indexAfter(afterSeq);
    const hi = Math.min(this.events.length, lo + limit);
    const json: string[] = [];
    for (let i = lo; i < hi; i++) json.push((this.json[i] ??= JSON.stringify(this.events[i])));
    return { json, lastSeq: hi > lo ? this.events[hi - 1].seq : afterSeq };
  }

  /** Waits for pending publishes, then closes the journal. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        while (this.draining) await this.draining;
        this.listeners.clear();
        await this.journal.close();
      })();
    }
    return this.closing;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        // One turn for the rest of this turn's publishes to join the group (per commit, not per event).
        await nextTurn();
        const batch = this.queue;
        this.queue = [];
        await this.commit(batch);
      }
    } finally {
      this.draining = null;
    }
  }

  private async commit(batch: PendingPublish[]): Promise<void> {
    const now = this.clock.now();
    const events: TradingEvent[] = [];
    const lines: string[] = [];
    const kept: PendingPublish[] = [];
    for (const p of batch) {
      const event: TradingEvent = {
        seq: this.nextSeq,
        ts: now,
        type: p.type,
        summary: p.summary,
        data: p.data,
      };
      let line: string;
      try {
        line = JSON.stringify(event);
      } catch (err) {
        // a value JSON cannot hold (a BigInt, say): this publish is refused, its seq not used, the rest go on
        p.reject(
          new PersistenceError(`Trading event ${p.type} cannot be serialised: ${errorMessage(err)}`, {
            type: p.type,
          }),
        );
        continue;
      }
      this.nextSeq++;
      events.push(event);
      lines.push(line);
      kept.push(p);
    }
    if (kept.length === 0) return;
    batch = kept;
    try {
      await this.journal.appendJson(lines);
    } catch (err) {
      const failure =
        err instanceof PersistenceError
          ? err
          : new PersistenceError(
              `Could not persist trading events: ${errorMessage(err)}`,
              {},
              { cause: err },
            );
      this.logger?.error('Event append failed; events not published', {
        seqs: events.map((e) => e.seq),
        error: errorMessage(err),
      });
      for (const p of batch) p.reject(failure);
      return;
    }
    // All of the batch is readable (eventsAfter, jsonAfter) before the first listener runs, so a pulling
    // reader woken by the first event can send the whole batch at once.
    for (let i = 0; i < events.length; i++) {
      this.events.push(events[i]);
      this.json.push(lines[i]);
    }
    for (const event of events) this.deliver(event);
    this.trimMemory();
    batch.forEach((p, i) => p.resolve(events[i]));
    await this.compactIfNeeded();
  }

  private deliver(event: TradingEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        // A subscriber's bug must not stop other subscribers or the publisher.
        this.logger?.error('Event subscriber threw', { seq: event.seq, error: errorMessage(err) });
      }
    }
  }

  private trimMemory(): void {
    const excess = this.events.length - this.retention;
    if (excess > 0) {
      this.events.splice(0, excess);
      this.json.splice(0, excess);
    }
  }

  /** Index of the first kept event with seq > afterSeq (seqs increase, with gaps where an append failed). */
  private indexAfter(afterSeq: number): number {
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.events[mid].seq <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private async compactIfNeeded(): Promise<void> {
    if (this.journal.count() <= 2 * this.retention) return;
    try {
      await this.journal.compact(this.retention);
    } catch (err) {
      // The journal is still valid (compaction is a durable rewrite); it just stays bigger until next time.
      this.logger?.warn('Event journal compaction failed', { error: errorMessage(err) });
    }
  }
}

/** Drop entries that break seq order (a hand-edited or partly foreign file); the schema was checked per line. */
function sanitize(entries: TradingEvent[], logger?: Logger): TradingEvent[] {
  const out: TradingEvent[] = [];
  let last = 0;
  let dropped = 0;
  for (const ev of entries) {
    if (ev.seq > last) {
      out.push(ev);
      last = ev.seq;
    } else {
      dropped++;
    }
  }
  if (dropped > 0) logger?.warn('Ignored out-of-order entries in the event journal', { dropped });
  return out;
}
