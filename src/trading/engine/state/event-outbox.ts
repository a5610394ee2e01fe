/**
 * The one queue between trading and its event log: every event reaches the log once, in the order it was made,
 * oldest first, one publish at a time, stopping at the first refusal (the log's disk full or read-only) and going
 * on from there at the next drain.
 *
 * Two kinds of events share the queue:
 * - order events, committed with the order change they report (the transactional outbox in trading state,
 *   `state.outbox`): each waits for its commit to be durable before it is published — so an event is never
 *   published for a change that might not reach the disk — and leaves `state.outbox` once the log has it. A crash
 *   in between is repaired at the next start: what `state.outbox` still holds is queued again, and an event the log
 *   already has (same `eventKey`) is taken out without a second publish;
 * - direct events (persist.failed, risk, exchange reachability, pause…), not tied to an order change: kept in
 *   memory only — when the disk refuses, nothing can be made durable — at most `maxDirect` of them (the oldest
 *   stay: the first of a burst, e.g. the persist.failed that explains the rest, matters most).
 */
import { errorMessage } from '../../../shared/errors';
import type { TradingEventType } from '../../../shared/ipc/protocol';
import type { Logger } from '../../../shared/logging/logger';
import type { TradingState } from './trading-state';

/** The part of Store<TradingState> the outbox uses. */
export interface OutboxStateStore {
  readonly data: TradingState;
  change(mutate: (d: TradingState) => void): void;
  /** Resolves once everything changed so far is durable. */
  flush(): Promise<void>;
}

/** The part of EventLog the engine uses. */
export interface EventPublisher {
  publish(type: TradingEventType, summary: string, data: Record<string, unknown>): Promise<unknown>;
  /** Whether a kept event carries this `eventKey` (the outbox's dedup after a crash); absent → never. */
  hasEventKey?(key: string): boolean;
}

type Entry =
  | { kind: 'committed'; key: string; durable: Promise<void> }
  | { kind: 'direct'; type: TradingEventType; summary: string; data: Record<string, unknown> };

export interface EventOutboxOptions {
  store: OutboxStateStore;
  publisher: EventPublisher;
  logger: Logger;
  /** Direct events kept while the log refuses them (default 1000). */
  maxDirect?: number;
}

export class EventOutbox {
  private readonly queue: Entry[] = [];
  private draining: Promise<number> = Promise.resolve(0);
  private readonly maxDirect: number;

  constructor(private readonly opts: EventOutboxOptions) {
    this.maxDirect = opts.maxDirect ?? 1000;
    // what the last run committed and did not get into the log: durable already, first in line
    for (const e of opts.store.data.outbox) {
      this.queue.push({ kind: 'committed', key: e.key, durable: Promise.resolve() });
    }
  }

  /** Events waiting for the log. */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Queues order events whose commit (already applied in memory, in `state.outbox`) is on its way to the disk:
   * they are published once `durable` — the store's own write, never a promise that itself waits on this outbox —
   * resolves. Call it right after starting the commit, before any await, so the queue keeps the commit order.
   */
  enqueueCommitted(keys: readonly string[], durable: Promise<void>): void {
    // never an unhandled rejection: a failed commit is reported by its caller; here it only holds the entry back
    durable.catch(() => undefined);
    for (const key of keys) this.queue.push({ kind: 'committed', key, durable });
  }

  /** Publishes a direct event after everything queued before it. Resolves whether the queue is now empty. */
  async emit(type: TradingEventType, summary: string, data: Record<string, unknown>): Promise<boolean> {
    this.opts.logger.info(summary, { event: type });
    const direct = this.queue.filter((e) => e.kind === 'direct').length;
    if (direct < this.maxDirect) this.queue.push({ kind: 'direct', type, summary, data });
    else this.opts.logger.error('Too many events waiting for the event log; this one is dropped', { type });
    await this.drain();
    return this.queue.length === 0;
  }

  /**
   * Publishes what is queued, oldest first, one drain at a time; stops at the first refusal of the log. An order
   * event whose commit failed holds back the order events after it (they go out once its write succeeds), not the
   * direct events. Returns how many were published.
   */
  drain(): Promise<number> {
    const run = this.draining.then(() => this.drainNow());
    this.draining = run.catch(() => 0);
    return run;
  }

  private async drainNow(): Promise<number> {
    let published = 0;
    // once an order event's commit has failed, the order events after it wait too (their order is kept), but
    // direct events go on: a persist.failed must not wait behind the very write whose failure it reports
    let ordersHeld = false;
    for (let i = 0; i < this.queue.length;) {
      const next = this.queue[i];
      if (next.kind === 'direct') {
        if (!(await this.publish(next.type, next.summary, next.data))) return published;
        published++;
        this.queue.splice(i, 1);
        continue;
      }
      if (ordersHeld) {
        i++;
        continue;
      }
      try {
        await next.durable;
      } catch {
        // its commit failed: the store retries the write by itself; the event waits for that write
        next.durable = this.opts.store.flush();
        next.durable.catch(() => undefined);
        ordersHeld = true;
        i++;
        continue;
      }
      const event = this.opts.store.data.outbox.find((e) => e.key === next.key);
      if (event && !this.opts.publisher.hasEventKey?.(event.key)) {
        this.opts.logger.info(event.summary, { event: event.type });
        if (!(await this.publish(event.type, event.summary, { ...event.data, eventKey: event.key }))) {
          return published;
        }
        published++;
      }
      this.opts.store.change((d) => {
        d.outbox = d.outbox.filter((e) => e.key !== next.key);
      });
      this.queue.splice(i, 1);
    }
    return published;
  }

  private async publish(
    type: TradingEventType,
    summary: string,
    data: Record<string, unknown>,
  ): Promise<boolean> {
    try {
      await this.opts.publisher.publish(type, summary, data);
      return true;
    } catch (err) {
      this.opts.logger.error('Event could not be published; kept for a retry', {
        type,
        waiting: this.queue.length,
        error: errorMessage(err),
      });
      return false;
    }
  }
}
