/**
 * Trading's event stream → notifications, exactly once across telegram crashes:
 *  1. the IpcClient subscribes from our durable cursor (`eventCursor` in the supervisor store);
 *  2. each event's notification is committed to the durable outbox (dedup by seq there);
 *  3. only then the event is acked → the cursor is committed.
 * A SIGKILL between 2 and 3 replays the event after restart; the outbox recognises its seq and drops the copy.
 * Events are handled one at a time in seq order; a failed commit (disk full) is retried until it succeeds (the one
 * backoff of shared/retry.ts, from its first step again for every step), so a later event never moves the cursor past
 * an unhandled one.
 */
import type { EventEmitter } from 'node:events';
import type { Clock } from '../../shared/clock';
import type { Config } from '../../shared/config/schema';
import { errorMessage } from '../../shared/errors';
import type { EventCursor } from '../../shared/ipc/client';
import type { TradingEvent } from '../../shared/ipc/protocol';
import type { Logger } from '../../shared/logging/logger';
import { retryForever } from '../../shared/retry';
import type { NotificationInput, Notifier } from '../notify/notification';
import type { SupervisorStore } from './supervisor-state';
import { eventNotification } from './trading-event-text';

/** The part of IpcClient the relay uses. */
export interface EventSource extends EventEmitter {
  ack(seq: number): Promise<void>;
}

export interface TradingEventRelayOptions {
  notifier: Notifier & { resetEventDedup?(): Promise<void> };
  store: SupervisorStore;
  settings: Config['telegram']['notifications'];
  logger: Logger;
  /** Merges trading's `recovery` event into the "back online" alert (BusListener.offerRecovery). */
  offerRecovery?: (ev: TradingEvent) => Promise<boolean>;
  clock: Clock;
  /** Backoff while an event cannot be committed: first wait, longest wait (default 1 s → 30 s). */
  retryBaseMs?: number;
  retryMaxMs?: number;
}

export class TradingEventRelay {
  private readonly logger: Logger;
  private readonly clock: Clock;
  private chain: Promise<void> = Promise.resolve();
  private readonly stop = new AbortController();
  private source?: EventSource;
  /** Events handled (notified or deliberately skipped) in this process, for tests and logs. */
  handled = 0;

  constructor(private readonly opts: TradingEventRelayOptions) {
    this.logger = opts.logger.child({ module: 'trading-events' });
    this.clock = opts.clock;
  }

  /** The durable cursor to give the IpcClient (subscribe from it; `ack` saves it). */
  cursor(): EventCursor {
    return {
      load: () => this.opts.store.data.eventCursor,
      save: (seq) =>
        this.opts.store.commit((d) => {
          d.eventCursor = seq;
        }),
    };
  }

  attach(source: EventSource): void {
    this.source = source;
    source.on('event', (ev: TradingEvent) => this.enqueue(() => this.handle(ev)));
    source.on('missed', (info: { count: number; afterSeq: number }) =>
      this.enqueue(() =>
        this.notifyUntilDone({
          key: 'events-missed',
          priority: 'high',
          text: `⚠️ <b>${info.count} trading event(s) were lost</b>: trimmed from trading's event log before telegram could read them (after #${info.afterSeq})`,
        }),
      ),
    );
    source.on('streamReset', (info: { afterSeq: number; lastSeq: number }) =>
      this.enqueue(async () => {
        this.logger.warn(
          `trading's event log restarted below our cursor (${info.afterSeq} > ${info.lastSeq}): forgetting seen seqs`,
        );
        await this.opts.notifier.resetEventDedup?.();
        await this.opts.store.commit((d) => {
          d.eventCursor = 0;
        });
      }),
    );
  }

  /** Resolves when every event received so far is handled. */
  idle(): Promise<void> {
    return this.chain;
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.chain;
  }

  private enqueue(task: () => Promise<void>): void {
    this.chain = this.chain.then(task).catch((err: unknown) => {
      this.logger.error(`trading event handling failed: ${errorMessage(err)}`, { err });
    });
  }

  private async handle(ev: TradingEvent): Promise<void> {
    if (ev.seq <= this.opts.store.data.eventCursor) return; // already handled before a restart
    let merged = false;
    if (ev.type === 'recovery' && this.opts.offerRecovery && this.opts.settings.recovery !== 'off') {
      merged = await this.opts.offerRecovery(ev);
    }
    const n = merged ? undefined : eventNotification(ev, this.opts.settings);
    if (n) await this.notifyUntilDone(n);
    await this.untilDone(() => this.source!.ack(ev.seq), `save the event cursor at #${ev.seq}`);
    this.handled += 1;
  }

  private notifyUntilDone(n: NotificationInput): Promise<void> {
    return this.untilDone(() => this.opts.notifier.notify(n), `queue notification ${n.key}`);
  }

  /** Retries a durable step until it succeeds or the relay is closed (then the event is replayed next run). */
  private untilDone(step: () => Promise<void>, what: string): Promise<void> {
    return retryForever(step, {
      retryable: () => true,
      baseDelayMs: this.opts.retryBaseMs ?? 1_000,
      maxDelayMs: this.opts.retryMaxMs ?? 30_000,
      signal: this.stop.signal,
      clock: this.clock,
      onRetry: ({ attempt, error, delayMs }) => {
        if (attempt === 1 || attempt % 30 === 0)
          this.logger.error(
            `could not ${what} (attempt ${attempt}): ${errorMessage(error)}; retrying in ${delayMs} ms`,
          );
      },
    });
  }
}
