/**
 * The durable trading event stream. Every event gets the next `seq` (never reused, survives restarts) and is
 * appended durably to its own journal (`<dir>/events.jsonl`) BEFORE any subscriber sees it, so an event a
 * client has seen is never lost by a crash of trading.
 *
 * The last `retention` events (default 10,000) are kept in memory (as their JSON, see replay-window.ts: read back
 * at open, each is checked against the event schema when first replayed, not at open) and on disk for replay; the
 * journal is compacted back to `retention` when it holds more than twice that, so the file stays small and
 * compaction is rare. The newest event is always kept, which is what carries `lastSeq` across
 * restarts.
 *
 * Publishes are group-committed: a commit starts one event-loop turn after the first publish, so every publish
 * of that turn (a burst, or callers chained through awaits) and every one made while appends are in flight is
 * written together with one durable write (O_DSYNC, see journal.ts), in call order. A burst is one group, never
 * split: it is refused or kept as a whole (split, a first part refused for a full disk freed by its own cut-back
 * room for the next part, accepted after it). Two groups may be in the journal at once, the second written right
 * behind the first; they are delivered and resolved in order, each only once its own write has returned. Each
 * event is serialised when published (the snapshot of its redacted summary and data) and its line completed with
 * seq and ts at commit.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Clock } from '../clock';
import { ByNinjaError, errorMessage, PersistenceError } from '../errors';
import type { Logger } from '../logging/logger';
import { Redactor } from '../logging/redact';
import { Journal } from '../persistence/journal';
import { validateTradingEvent } from './event-schema';
import type { TradingEvent, TradingEventType } from './protocol';
import { ReplayWindow } from './replay-window';

export const DEFAULT_EVENT_RETENTION = 10_000;
const JOURNAL_NAME = 'events';
/** Group commits handed to the journal at once: one being written and synced, the next queued right behind it. */
const GROUPS_IN_FLIGHT = 2;

export interface EventLogOptions {
  /** Events kept for replay (default 10,000). */
  retention?: number;
  logger?: Logger;
  /** Stamps each event's time (the composition root's clock). */
  clock: Clock;
  /** Masks secrets in every event's summary and data before it is written (the service's one redactor). */
  redactor?: Redactor;
}

export type EventListener = (event: TradingEvent) => void;

export interface Subscription {
  /** How many kept events are after `afterSeq` (what replay sends first; `eventsAfter`/`jsonAfter` read them). */
  replayed: number;
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
  /**
   * The event's JSON after its seq and ts (`"type":…,"summary":…,"data":…}`), serialised when published: the
   * snapshot of what was published (a redacted `data` with nothing to mask is the caller's own object).
   */
  body: string;
  resolve: (event: TradingEvent) => void;
  reject: (err: unknown) => void;
}

export class EventLog {
  private readonly kept: ReplayWindow;
  private readonly listeners = new Set<EventListener>();
  private queue: PendingPublish[] = [];
  private draining: Promise<void> | null = null;
  private nextSeq: number;
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly journal: Journal<TradingEvent>,
    private readonly retention: number,
    private readonly logger: Logger | undefined,
    private readonly clock: Clock,
    private readonly redactor: Redactor,
  ) {
    this.kept = new ReplayWindow(retention, {
      check: validateTradingEvent,
      onInvalid: (seq, err) =>
        this.logger?.error(
          `Event ${seq} in the event journal does not match the event schema; not replayed`,
          {
            seq,
            problem: errorMessage(err),
          },
        ),
    });
    this.nextSeq = 1;
  }

  static async open(dir: string, opts: EventLogOptions): Promise<EventLog> {
    const retention = opts.retention ?? DEFAULT_EVENT_RETENTION;
    if (!Number.isInteger(retention) || retention < 1) {
      throw new RangeError(`event retention must be a positive integer, got ${retention}`);
    }
    const journal = await Journal.open<TradingEvent>(dir, JOURNAL_NAME, {
      logger: opts.logger,
      validate: validateTradingEvent,
    });
    const log = new EventLog(journal, retention, opts.logger, opts.clock, opts.redactor ?? new Redactor());
    const read = log.kept.addReadBack(await journal.tailText(retention));
    log.nextSeq = log.kept.lastSeq + 1;
    if (read.unparseable > 0)
      opts.logger?.error(`Event journal: ${read.unparseable} unparseable line(s) skipped`);
    if (read.outOfOrder > 0)
      opts.logger?.warn('Ignored out-of-order entries in the event journal', { dropped: read.outOfOrder });
    opts.logger?.info('Event log opened', { lastSeq: log.lastSeq, kept: read.kept, retention });
    return log;
  }

  /** Highest seq made durable so far (0 before the first event ever). */
  get lastSeq(): number {
    return this.kept.lastSeq;
  }

  /** Oldest seq still kept for replay, or null when nothing is kept. */
  get oldestSeq(): number | null {
    return this.kept.oldestSeq;
  }

  /**
   * Durably append an event, then hand it to every live subscriber (synchronously, in seq order).
   * Rejects with PersistenceError when it could not be made durable; that seq is then skipped by this process,
   * because the failed write may still have reached the disk and a seq must never mean two events (the journal
   * cuts a failed write back durably, so after a restart the next seq follows the last event kept: a refused seq,
   * which no subscriber ever saw, may then be given again). The event's
   * `data` is the redacted one, or a shallow copy of the caller's when nothing in it needed masking; what is
   * written and streamed is the JSON taken here, so changing that object afterwards changes nothing there.
   */
  publish(
    type: TradingEventType,
    summary: string,
    data: Record<string, unknown> = {},
  ): Promise<TradingEvent> {
    if (this.closing) {
      return Promise.reject(new ByNinjaError('Event log is closed', { type }));
    }
    const redactedSummary = this.redactor.redactString(summary);
    const redacted = this.redactor.redactValue(data) as Record<string, unknown>;
    let body: string;
    try {
      body = eventBody(type, redactedSummary, redacted);
    } catch (err) {
      // a value JSON cannot hold (a BigInt, say): this publish is refused, no seq used, the others go on
      return Promise.reject(
        new PersistenceError(`Trading event ${type} cannot be serialised: ${errorMessage(err)}`, { type }),
      );
    }
    // the redactor hands back the caller's own object when nothing needed masking: the event (resolved, and given
    // to in-process listeners) gets its own top level, so a field the caller sets later is not in it
    const redactedData = redacted === data ? { ...data } : redacted;
    return new Promise<TradingEvent>((resolve, reject) => {
      this.queue.push({ type, summary: redactedSummary, data: redactedData, body, resolve, reject });
      if (!this.draining) this.draining = this.drain();
    });
  }

  /**
   * Replay + live with no gap and no reordering: the listener is registered in the same synchronous step that
   * reads `lastSeq`, and publishes hand out events only after they are kept, so each event is either among the
   * `replayed` ones (seq ≤ `lastSeq`, read with `eventsAfter`/`jsonAfter`) or delivered to `listener`, never both,
   * never neither.
   */
  subscribe(afterSeq: number, listener: EventListener): Subscription {
    const lastSeq = this.lastSeq;
    const streamReset = afterSeq > lastSeq;
    const from = streamReset ? 0 : afterSeq;
    const oldest = this.oldestSeq;
    const missed = oldest === null ? 0 : Math.max(0, oldest - from - 1);
    this.listeners.add(listener);
    return {
      replayed: this.kept.countAfter(from),
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
    return this.kept.hasEventKey(key);
  }

  /** Kept events with seq > afterSeq, oldest first; at most `limit` of them (parsed from their JSON). */
  eventsAfter(afterSeq: number, limit = Infinity): TradingEvent[] {
    return this.kept.eventsAfter(afterSeq, limit);
  }

  /**
   * The JSON of the kept events with seq > afterSeq, oldest first, at most `limit` of them, and the seq of the
   * last one (`afterSeq` when there are none): what a stream sends, serialised once for the journal and every
   * stream.
   */
  jsonAfter(afterSeq: number, limit: number): { json: string[]; lastSeq: number } {
    return this.kept.jsonAfter(afterSeq, limit);
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

  /**
   * Group commits, at most GROUPS_IN_FLIGHT at once: the next group is handed to the journal while the one before
   * is still being written, so its write waits on no event-loop turn, and they finish (deliver, resolve) in order.
   */
  private async drain(): Promise<void> {
    const inFlight: Array<Promise<void>> = [];
    try {
      while (this.queue.length > 0 || inFlight.length > 0) {
        if (this.queue.length === 0 || inFlight.length >= GROUPS_IN_FLIGHT) {
          await inFlight.shift();
          continue;
        }
        // One turn for the rest of this turn's publishes to join the group (per commit, not per event).
        await nextTurn();
        const batch = this.queue;
        this.queue = [];
        inFlight.push(this.commit(batch, inFlight.at(-1)));
      }
    } finally {
      this.draining = null;
    }
  }

  /** Appends `batch` now (behind any append in flight); delivers and resolves it once `previous` has finished. */
  private async commit(batch: PendingPublish[], previous: Promise<void> | undefined): Promise<void> {
    const now = this.clock.now();
    // `JSON.stringify(event)` for {seq, ts, type, summary, data}, in that key order, from the part serialised at
    // publish: only the seq differs from one event to the next
    const afterSeq = `,"ts":${JSON.stringify(now)},`;
    const events: TradingEvent[] = [];
    const lines: string[] = [];
    for (const p of batch) {
      const seq = this.nextSeq++;
      events.push({ seq, ts: now, type: p.type, summary: p.summary, data: p.data });
      lines.push(`{"seq":${seq}${afterSeq}${p.body}`);
    }
    // one string for the group: what the journal appends and what the replay window keeps
    const block = lines.join('\n') + '\n';
    // settled into a value at once: a failure while `previous` is still finishing is not an unhandled rejection
    const appended = this.journal.appendJsonBlock(block, lines.length).then(
      () => null,
      (err: unknown) => ({ err }),
    );
    await previous;
    const failed = await appended;
    if (failed) {
      const err = failed.err;
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
    this.kept.addBlock(block, events, lines);
    for (const event of events) this.deliver(event);
    this.kept.trim();
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

/**
 * The JSON of an event after `{"seq":…,"ts":…,`: its type, summary and data, as `JSON.stringify` of the whole event
 * writes them (throws when data cannot be JSON). Left as pieces: the group's join makes them one string, once.
 */
function eventBody(type: TradingEventType, summary: string, data: Record<string, unknown>): string {
  // only an object without toJSON is sure to serialise as one (a Date, an array or a toJSON answering anything
  // else would make a line without a `data` record)
  if (typeof data !== 'object' || data === null || Array.isArray(data) || typeof data.toJSON === 'function') {
    throw new TypeError('event data must be a plain JSON object');
  }
  return `"type":${JSON.stringify(type)},"summary":${JSON.stringify(summary)},"data":${JSON.stringify(data)}}`;
}
