/**
 * The trading state as the engine reads and changes it, in one place: durable commits under the persist-failure
 * policy, the operator's and the kill switch's pause, the risk state. Nobody else reaches into the store.
 *
 * Persist-failure policy: a commit that cannot be made durable (disk full, read-only, permission) publishes
 * `persist.failed` once and blocks new orders (`persistBlocked`); every later commit or `probe()` that works lifts
 * the block and publishes `trading.resumed` (by: persist). The failed change stays in memory and the store keeps
 * retrying its write in the background, so it reaches the disk once that is possible.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../../shared/clock';
import { PersistenceError, errorMessage } from '../../../shared/errors';
import type { Logger } from '../../../shared/logging/logger';
import type { EventOutbox } from './event-outbox';
import type { LocalOrder } from '../orders/order-state';
import type { EventDraft } from '../orders/order-events';
import type { RiskState } from '../decide/risk';
import type { PauseState, TradingState } from './trading-state';

/** The part of Store<TradingState> the engine uses. */
export interface StateStore {
  readonly data: TradingState;
  commit(mutate?: (d: TradingState) => void): Promise<void>;
  change(mutate: (d: TradingState) => void): void;
  /** Resolves once everything changed so far is durable. */
  flush(): Promise<void>;
  /**
   * Moves once each change to `data` ended; undefined while one runs (Store `version`): what was derived from `data`
   * at a version is still true while it has not moved.
   */
  readonly version: number | undefined;
}

export class StateGateway {
  private persistFailure: string | null = null;

  constructor(
    private readonly store: StateStore,
    private readonly outbox: EventOutbox,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  /** The state as it is in memory (every change, durable or on its way). */
  get data(): Readonly<TradingState> {
    return this.store.data;
  }

  /**
   * Moves once each change to the state ended (a commit or change, through here or the event outbox; undefined
   * while one runs): a read derived from `data` is current while this has not moved (the order book's orders).
   */
  get version(): number | undefined {
    return this.store.version;
  }

  /** An order the state holds; throws when it has none by that id (a caller's bug, not an exchange answer). */
  requireOrder(clientOrderId: string): LocalOrder {
    const order = this.store.data.orders[clientOrderId];
    if (!order) throw new Error(`order ${clientOrderId} is not in state`);
    return order;
  }

  /** Why state cannot be saved right now, or null. */
  get persistBlocked(): string | null {
    return this.persistFailure;
  }

  /**
   * Applies `mutate` and resolves once it is durable; through the persist-failure policy (rejects with the
   * PersistenceError after publishing `persist.failed`, the first time). `onWrite` gets the store's own write,
   * synchronously: the event outbox waits on that, never on this promise (which waits on the outbox).
   */
  commit(
    mutate: (d: TradingState) => void,
    context: Record<string, unknown> = {},
    onWrite?: (write: Promise<void>) => void,
  ): Promise<void> {
    const write = this.store.commit(mutate);
    onWrite?.(write);
    return write.then(
      () => this.recovered(),
      async (err: unknown) => {
        await this.failed(err, context);
        throw err;
      },
    );
  }

  /**
   * Commits an order change together with the events that report it (transactional outbox): they are queued at
   * once, in commit order, and published once the commit is durable — a crash in between loses none, the next
   * start publishes what `state.outbox` still holds.
   */
  commitOrder(order: LocalOrder, events: EventDraft[] = []): Promise<void> {
    return this.commitWithEvents((d) => {
      d.orders[order.clientOrderId] = order;
    }, events);
  }

  /**
   * Marks `order` in doubt at `now` (`inDoubtAt`; told now: `inDoubtToldAt`), committed with its `order.in_doubt`
   * alert: told once, across restarts too; reminded daily after (inferred-orders.ts). One ended on our inference the
   * balance shows carried out, one no longer shown or no longer listed that no read can settle, one whose missing
   * fills cannot be priced (an unknown one goes in doubt with its lookup count: OrderManager.resolveUnknown).
   */
  commitInDoubt(order: LocalOrder, event: EventDraft, now: number): Promise<void> {
    return this.commitOrder({ ...order, inDoubtAt: now, inDoubtToldAt: now }, [event]);
  }

  /** Any state change committed with the events that report it, as `commitOrder` does for an order. */
  async commitWithEvents(mutate: (d: TradingState) => void, events: EventDraft[]): Promise<void> {
    const pending = events.map((e) => ({ ...e, key: randomUUID() }));
    await this.commit(
      (d) => {
        mutate(d);
        if (pending.length > 0) d.outbox = [...d.outbox, ...pending];
      },
      {},
      (write) => {
        if (pending.length > 0)
          this.outbox.enqueueCommitted(
            pending.map((e) => e.key),
            write,
          );
      },
    );
    if (pending.length > 0) await this.outbox.drain();
  }

  /** A change that need not be durable before going on (written within the store's debounce). */
  change(mutate: (d: TradingState) => void): void {
    this.store.change(mutate);
  }

  /** Tries a write; true (and the block lifted) when state can be saved again. */
  async probe(): Promise<boolean> {
    await this.outbox.drain();
    try {
      await this.store.commit();
    } catch (err) {
      this.persistFailure = errorMessage(err);
      return false;
    }
    await this.recovered();
    return true;
  }

  get pause(): PauseState | null {
    return this.store.data.pause;
  }

  /**
   * The pause (and the risk state a resume starts anew), in one commit. `newInstallConfirmedAt`: the operator's
   * resume confirmed this new state as a fresh install (hidden-state.ts), written with it.
   */
  setPause(pause: PauseState | null, risk?: RiskState, newInstallConfirmedAt?: number): Promise<void> {
    return this.commit((d) => {
      d.pause = pause;
      if (risk) d.risk = risk;
      if (newInstallConfirmedAt !== undefined) d.newInstallConfirmedAt = newInstallConfirmedAt;
    });
  }

  get risk(): RiskState {
    return this.store.data.risk;
  }

  /** A new risk state: committed when it matters now (a kill switch), else written with the next debounce. */
  setRisk(risk: RiskState, durably: boolean): Promise<void> {
    if (durably) {
      return this.commit((d) => {
        d.risk = risk;
      });
    }
    this.change((d) => {
      d.risk = risk;
    });
    return Promise.resolve();
  }

  private async failed(err: unknown, context: Record<string, unknown>): Promise<void> {
    const first = this.persistFailure === null;
    this.persistFailure = errorMessage(err);
    this.logger.error('State could not be saved; no new orders until it can', {
      ...context,
      error: this.persistFailure,
    });
    if (!first) return;
    await this.outbox.emit(
      'persist.failed',
      `State could not be saved: ${this.persistFailure}. No new orders until it can.`,
      {
        ...context,
        error: this.persistFailure,
        code: err instanceof PersistenceError ? err.code : undefined,
        failedAt: this.clock.now(),
      },
    );
  }

  private async recovered(): Promise<void> {
    const was = this.persistFailure;
    if (!was) return;
    this.persistFailure = null;
    // the outbox publishes the queued persist.failed first: the pair never reads as a resume without a failure
    await this.outbox.emit('trading.resumed', 'State can be saved again: new orders allowed', {
      by: 'persist',
      was,
    });
  }
}
