/**
 * The client side of trading's event stream, apart from the connection that carries it: where to resume, what to
 * hold back while the subscribe is answered, what was already delivered, and the durable acks. No sockets and no
 * timers: the client (client.ts) asks `resumeFrom()` before it sends `subscribe`, hands the answer to `resumed()`,
 * every `event` notification to `receive()`, and says `goLive()` once the link is reported up, `linkLost()` when
 * it is not.
 *
 * Contract: AT LEAST ONCE, deduplicated by seq.
 *   - On every (re)connect the client subscribes from `cursor.load()` — the app's durable last-handled seq.
 *   - `'event'` is emitted for each event in seq order, skipping any seq ≤ the last one emitted in this process
 *     (replays after a reconnect overlap what was already emitted).
 *   - The app handles the event (e.g. puts the notification in its durable outbox), THEN records it with
 *     `ack(seq)` (→ `cursor.save`). A crash between emit and ack replays that event after restart: the app
 *     must tolerate seeing an event twice across a restart (dedup by seq in its own state if that matters).
 *   - `'missed'` `{ count, afterSeq }`: events after the cursor were already trimmed on the server (lost).
 *   - `'streamReset'` `{ afterSeq, lastSeq }`: the server's log is behind the cursor (its data was reset);
 *     the dedup floor drops to 0 and everything the server has is delivered.
 */
import type { Logger } from '../logging/logger';
import type { RpcResult, TradingEvent } from './protocol';

/** The app's durable record of the last event it has handled. */
export interface EventCursor {
  load(): number;
  save(seq: number): Promise<void>;
}

/** What the stream tells the app besides events, once the link is reported up. */
export type StreamNotice =
  ['missed', { count: number; afterSeq: number }] | ['streamReset', { afterSeq: number; lastSeq: number }];

export class EventStream {
  /** Dedup floor: highest seq emitted (or the cursor at subscribe time). */
  private delivered = 0;
  /** Set from `resumeFrom()` until `goLive()`: the replay waits until the link is reported up. */
  private held: TradingEvent[] | null = null;
  private acked = 0;
  private acks: Promise<void> = Promise.resolve();

  constructor(
    private readonly cursor: EventCursor,
    private readonly emit: (event: TradingEvent) => void,
    private readonly logger: Logger,
  ) {}

  /** The seq to subscribe after; from now on events are held until `goLive()`. */
  resumeFrom(): number {
    this.held = [];
    return this.cursor.load();
  }

  /** The server's answer to `subscribe`: returns the notices to emit once the link is reported up. */
  resumed(afterSeq: number, result: RpcResult<'subscribe'>): StreamNotice[] {
    const notices: StreamNotice[] = [];
    if (result.streamReset) {
      this.logger.error('Trading event log is behind our cursor (its data was reset): replaying all it has', {
        afterSeq,
        lastSeq: result.lastSeq,
      });
      this.delivered = 0;
      this.acked = 0;
      notices.push(['streamReset', { afterSeq, lastSeq: result.lastSeq }]);
    } else {
      this.delivered = Math.max(this.delivered, afterSeq);
    }
    if (result.missed > 0) {
      this.logger.warn('Trading events were trimmed before we could read them', {
        missed: result.missed,
        afterSeq,
      });
      notices.push(['missed', { count: result.missed, afterSeq }]);
    }
    return notices;
  }

  /** An `event` notification from the server. */
  receive(event: TradingEvent): void {
    if (this.held) this.held.push(event);
    else this.deliver(event);
  }

  /** The link is reported up: deliver the replay held back while `subscribe` was pending, then go live. */
  goLive(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const event of held) this.deliver(event);
  }

  /** The link is lost: what was held comes again with the next subscribe. */
  linkLost(): void {
    this.held = null;
  }

  /**
   * Record that the app has handled every event up to `seq` (→ `cursor.save`; serialised, never moves
   * backwards). Rejects when the save fails — the app should log it; a later ack saves a higher seq anyway.
   */
  ack(seq: number): Promise<void> {
    const saved = this.acks.then(async () => {
      if (seq <= this.acked) return;
      await this.cursor.save(seq);
      this.acked = seq;
    });
    // One failed save must not poison every later ack.
    this.acks = saved.catch(() => undefined);
    return saved;
  }

  /** Resolves when every ack asked for so far has been saved or has failed. */
  settled(): Promise<void> {
    return this.acks;
  }

  private deliver(event: TradingEvent): void {
    if (event.seq <= this.delivered) return;
    this.delivered = event.seq;
    this.emit(event);
  }
}
