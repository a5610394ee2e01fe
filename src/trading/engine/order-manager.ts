/**
 * Places, follows and closes orders so that a crash at any instant loses nothing and duplicates nothing.
 *
 * Write-ahead: an order intent with the deterministic clientOrderId `<botId>-<installId>-<seq>` is committed
 * durably BEFORE the exchange is called, and the exchange's answer is committed after. A create the exchange
 * refused is `rejected` (final). A create that fails on the network, times out or gets a 5xx leaves the order
 * `unknown`; it is resolved only by looking the clientOrderId up on the exchange (found → its state is applied;
 * "not found" only per `judgeNotFound`: several misses over a window from the send → `rejected`, never placed).
 * A create is never retried. Only the exchange's answer closes an order; fills come from its trades (side and
 * time the exchange's, a fee in a third currency valued in the quote when recorded), de-duplicated by
 * (order id, trade id), and positions are derived from fills.
 *
 * If a commit fails, no exchange call follows it: `persist.failed` is published and new orders are refused
 * until a commit succeeds again (`probePersistence`).
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../shared/clock';
import type { Config } from '../../shared/config/schema';
import {
  ByNinjaError,
  ConfigError,
  IllegalTransitionError,
  InvalidOrderError,
  NetworkError,
  OperationalError,
  OrderNotFoundError,
  PersistenceError,
  TemporaryError,
  errorMessage,
} from '../../shared/errors';
import type { OrderStatus, TradingEventType } from '../../shared/ipc/protocol';
import type { Logger } from '../../shared/logging/logger';
import type {
  Exchange,
  ExchangeOrder,
  ExchangeTrade,
  Market,
  OrderSide,
  OrderType,
} from '../exchange/exchange';
import { noCrash, type CrashHook } from './crash-hook';
import {
  addFills,
  applyExchangeOrder,
  fillsComplete,
  isFinal,
  judgeNotFound,
  lookupMayLag,
  needsExchange,
  transition,
  type LocalOrder,
  type NotFoundRule,
  type OrderPurpose,
} from './order-state';
import {
  derivePositions,
  feeNeedsValuation,
  fillFromTrade,
  splitSymbol,
  type Fill,
  type PositionBook,
} from './pnl';
import { isOpenPosition } from './risk';
import { clientOrderIdFor, seqOf, type HistoryEntry, type TradingState } from './trading-state';
import { withDeadline } from '../../shared/deadline';
import { positionChangeEvents, rejectedEvent, statusChangeEvents, type EventDraft } from './order-events';

/** The part of Store<TradingState> the engine uses. */
export interface StateStore {
  readonly data: TradingState;
  commit(mutate?: (d: TradingState) => void): Promise<void>;
  change(mutate: (d: TradingState) => void): void;
}

/** The part of Journal<HistoryEntry> the engine uses. */
export interface HistoryLog {
  append(entries: HistoryEntry[]): Promise<void>;
  readAll(): Promise<HistoryEntry[]>;
  tail(n: number): Promise<HistoryEntry[]>;
  count(): number;
}

/** The part of EventLog the engine uses. */
export interface EventPublisher {
  publish(type: TradingEventType, summary: string, data: Record<string, unknown>): Promise<unknown>;
  /** Whether a kept event carries this `eventKey` (the outbox's dedup after a crash); absent → never. */
  hasEventKey?(key: string): boolean;
}

export interface OrderRequest {
  symbol: string;
  side: OrderSide;
  type: OrderType;
  amount: number;
  price?: number;
  purpose: OrderPurpose;
  reason?: string;
}

export interface OrderManagerOptions {
  exchange: Exchange;
  store: StateStore;
  history: HistoryLog;
  events: EventPublisher;
  markets: Record<string, Market>;
  botId: string;
  orders: Config['trading']['orders'];
  clock: Clock;
  logger: Logger;
  crashHook?: CrashHook;
  /** Final orders kept in hot state for `orders` and reconcile before they move to the journal (default 20). */
  recentFinalKept?: number;
}

export class OrderManager {
  private readonly exchange: Exchange;
  readonly store: StateStore;
  private readonly history: HistoryLog;
  private readonly events: EventPublisher;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly crashHook: CrashHook;
  private readonly notFoundRule: NotFoundRule;
  private readonly recentFinalKept: number;
  private marketBook: Record<string, Market>;
  /** Fee currencies no market prices, already reported (once each). */
  private readonly unvaluedFeeCurrencies = new Set<string>();
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Outbox keys whose commit is in flight: in memory, not durable yet, so not published yet. */
  private readonly committing = new Set<string>();
  private outboxFlush: Promise<void> = Promise.resolve();
  /** Creates whose promise has not settled (a late answer is still possible). */
  private readonly pendingCreates = new Set<string>();
  private persistFailure: string | null = null;
  /**
   * Events published directly (not with an order change: persist.failed, risk, exchange reachability, pause…)
   * that the event log refused. It lives on the same disk as the state, so when that disk is full or read-only
   * the event reporting it is refused too. Kept here, in order, and published as soon as the log takes events
   * again (every tick, every persistence probe, before any newer direct event), so the operator learns of them
   * late rather than never. Memory only: nothing can be made durable while the disk refuses.
   */
  private readonly unpublished: Array<{
    type: TradingEventType;
    summary: string;
    data: Record<string, unknown>;
  }> = [];
  private unpublishedFlush: Promise<void> = Promise.resolve();
  private accepting = false;
  private refusal = 'recovery has not finished';

  constructor(private readonly opts: OrderManagerOptions) {
    this.exchange = opts.exchange;
    this.store = opts.store;
    this.history = opts.history;
    this.events = opts.events;
    this.clock = opts.clock;
    this.logger = opts.logger.child({ module: 'orders' });
    this.crashHook = opts.crashHook ?? noCrash;
    this.notFoundRule = {
      minMisses: opts.orders.unknownNotFoundMisses,
      windowMs: opts.orders.unknownNotFoundWindowMs,
      graceMs: opts.exchange.traits.lookupGraceMs,
    };
    this.recentFinalKept = opts.recentFinalKept ?? 20;
    this.marketBook = opts.markets;
    checkClientOrderIds(opts.botId, opts.exchange);
  }

  get markets(): Record<string, Market> {
    return this.marketBook;
  }

  /** Markets loaded again (daily refresh): steps, minimums and listings as the exchange has them now. */
  setMarkets(markets: Record<string, Market>): void {
    this.marketBook = markets;
  }

  get installId(): string {
    return this.store.data.installId;
  }

  /** How the exchange needs our clientOrderIds' parts joined. */
  private get idSeparator(): '-' | '' {
    return this.exchange.traits.clientOrderId.separator ?? '-';
  }

  get botId(): string {
    return this.opts.botId;
  }

  /** Why state cannot be persisted right now, or null. */
  get persistBlocked(): string | null {
    return this.persistFailure;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** True while a create call for this order has not answered (its outcome is still on its way). */
  isCreatePending(clientOrderId: string): boolean {
    return this.pendingCreates.has(clientOrderId);
  }

  /** Called once recovery has finished: until then every new order is refused. */
  startAccepting(): void {
    this.accepting = true;
  }

  /** Shutdown: refuse new orders from now on. */
  stopAccepting(reason: string): void {
    this.accepting = false;
    this.refusal = reason;
  }

  order(clientOrderId: string): LocalOrder | undefined {
    return this.store.data.orders[clientOrderId];
  }

  hotOrders(): LocalOrder[] {
    return Object.values(this.store.data.orders).sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Orders that still need the exchange (not final, or final with fills still to fetch). */
  pendingOrders(symbol?: string): LocalOrder[] {
    return this.hotOrders().filter((o) => needsExchange(o) && (!symbol || o.symbol === symbol));
  }

  /** Every order: history journal (older) then hot state, one entry per clientOrderId. */
  async allOrders(): Promise<LocalOrder[]> {
    const byId = new Map<string, LocalOrder>();
    for (const entry of await this.history.readAll()) byId.set(entry.order.clientOrderId, entry.order);
    for (const order of this.hotOrders()) byId.set(order.clientOrderId, order);
    return [...byId.values()].sort((a, b) => a.createdAt - b.createdAt);
  }

  /**
   * The highest clientOrderId sequence the history journal can hold. Read from its last entry (each carries the
   * state's seq when it was archived), so a restart costs the same after a year of history as after a day;
   * entries written before that field existed fall back to reading the whole journal.
   */
  async historySeq(): Promise<number> {
    if (this.history.count() === 0) return 0;
    // the last few entries, not one: a damaged last line (skipped when read) must not hide the bound
    const recent = (await this.history.tail(HISTORY_SEQ_TAIL)).filter(isHistoryEntry);
    const bounded = recent.filter((e) => typeof e.seq === 'number');
    if (bounded.length > 0) {
      let max = 0;
      for (const e of recent)
        max = Math.max(max, e.seq ?? 0, seqOf(e.order.clientOrderId, this.botId, this.installId) ?? 0);
      return max;
    }
    // entries written before `seq` existed, or a tail that did not parse: read it all (a loop, not
    // Math.max(...all): spreading 100k+ arguments overflows the stack)
    let max = 0;
    for (const e of (await this.history.readAll()).filter(isHistoryEntry)) {
      max = Math.max(max, e.seq ?? 0, seqOf(e.order.clientOrderId, this.botId, this.installId) ?? 0);
    }
    return max;
  }

  positions(): Record<string, PositionBook> {
    const fills: Fill[] = [];
    for (const order of Object.values(this.store.data.orders)) fills.push(...order.fills);
    return derivePositions(this.store.data.checkpoint, fills, this.marketBook);
  }

  /** Positions that hold at least one sellable amount step. */
  openPositions(): PositionBook[] {
    return Object.values(this.positions()).filter((p) => isOpenPosition(p.amount, this.marketBook[p.symbol]));
  }

  /**
   * Write-ahead order placement: commit the intent, then call the exchange once, then commit its answer.
   * Throws PersistenceError when the intent could not be made durable (nothing was sent), OperationalError when
   * the exchange refused for a reason a person must fix (the order is `rejected`).
   */
  place(request: OrderRequest): Promise<LocalOrder> {
    // tracked from the start, so shutdown also waits for a place between its checks and the create call
    return this.track(this.placeTracked(request));
  }

  private async placeTracked(request: OrderRequest): Promise<LocalOrder> {
    if (!this.accepting)
      throw new OperationalError(`no new orders: ${this.refusal}`, { symbol: request.symbol });
    if (this.persistFailure && !(await this.probePersistence())) {
      throw new PersistenceError(`no new orders: state cannot be saved (${this.persistFailure})`, {
        symbol: request.symbol,
      });
    }
    this.crashHook('before-intent-commit');
    const now = this.clock.now();
    const seq = this.store.data.seq + 1;
    const clientOrderId = clientOrderIdFor(this.opts.botId, this.installId, seq, this.idSeparator);
    const intent: LocalOrder = {
      clientOrderId,
      symbol: request.symbol,
      side: request.side,
      type: request.type,
      amount: request.amount,
      price: request.price,
      filled: 0,
      status: 'intent',
      purpose: request.purpose,
      reason: request.reason,
      createdAt: now,
      updatedAt: now,
      // the create follows this commit at once: "not found" is judged from here (judgeNotFound)
      sentAt: now,
      fills: [],
    };
    try {
      await this.store.commit((d) => {
        d.seq = Math.max(d.seq, seq);
        d.orders[clientOrderId] = intent;
      });
    } catch (err) {
      // the seq stays used (never reuse an id that may have reached the disk); the intent was never sent
      this.store.change((d) => {
        d.seq = Math.max(d.seq, seq);
        d.orders[clientOrderId] = {
          ...intent,
          status: 'rejected',
          error: 'state could not be saved; never sent',
        };
      });
      await this.onPersistFailure(err, { clientOrderId, symbol: request.symbol, step: 'intent' });
      throw err instanceof PersistenceError
        ? err
        : new PersistenceError(errorMessage(err), { clientOrderId }, { cause: err });
    }
    this.logger.info('Order intent committed', {
      clientOrderId,
      symbol: request.symbol,
      side: request.side,
      amount: request.amount,
    });
    this.crashHook('after-intent-commit');
    return this.sendCreate(clientOrderId);
  }

  private async sendCreate(clientOrderId: string): Promise<LocalOrder> {
    const order = this.mustGet(clientOrderId);
    let remote: ExchangeOrder;
    const create = this.exchange.createOrder({
      symbol: order.symbol,
      side: order.side,
      type: order.type,
      amount: order.amount,
      price: order.price,
      clientOrderId,
    });
    this.pendingCreates.add(clientOrderId);
    void create.then(
      (late) => this.onCreateSettled(clientOrderId, late),
      () => this.onCreateSettled(clientOrderId),
    );
    try {
      remote = await withTimeout(create, this.opts.orders.createTimeoutMs, clientOrderId);
    } catch (err) {
      return this.onCreateFailed(clientOrderId, err);
    }
    this.crashHook('after-create');
    await this.applyRemote(clientOrderId, remote);
    return this.mustGet(clientOrderId);
  }

  private onCreateSettled(clientOrderId: string, late?: ExchangeOrder): void {
    this.pendingCreates.delete(clientOrderId);
    const order = this.store.data.orders[clientOrderId];
    if (late && order?.status === 'unknown') {
      // the answer arrived after the timeout: it resolves the UNKNOWN order as well as a lookup would
      void this.track(this.applyRemote(clientOrderId, late)).catch((err: unknown) =>
        this.logger.warn('Applying a late create answer failed; the lookup will resolve it', {
          clientOrderId,
          error: errorMessage(err),
        }),
      );
    }
  }

  private async onCreateFailed(clientOrderId: string, err: unknown): Promise<LocalOrder> {
    const order = this.mustGet(clientOrderId);
    if (createRefused(err)) {
      // the exchange answered and refused: the order is final, it was never placed
      const error = errorMessage(err);
      const retryAfterMs = err instanceof TemporaryError ? err.retryAfterMs : undefined;
      await this.commitOrder(
        transition(order, 'rejected', this.clock.now(), { error, refused: true, retryAfterMs }),
        [
          rejectedEvent(order, `rejected: ${error}`, {
            error,
            errorClass: err.name,
            ccxtError: err.context.ccxtError,
            // the same refusal again on this symbol: recorded, not notified again
            repeated: this.lastRefusal(order)?.error === error,
          }),
        ],
      );
      this.logger.warn('Order refused by the exchange', {
        clientOrderId,
        symbol: order.symbol,
        error,
        errorClass: err.name,
        ccxtError: err.context.ccxtError,
      });
      if (err instanceof OperationalError) throw err;
      return this.mustGet(clientOrderId);
    }
    // network failure, timeout, 5xx, duplicate id, or anything else: the exchange may or may not have the order
    await this.commitOrder(transition(order, 'unknown', this.clock.now(), { error: errorMessage(err) }));
    this.logger.warn('Order create outcome unknown; resolving by clientOrderId', {
      clientOrderId,
      error: errorMessage(err),
    });
    if (!(err instanceof ByNinjaError)) throw err;
    try {
      await this.resolveUnknown(clientOrderId);
    } catch (lookupErr) {
      this.logger.warn('Lookup of unknown order failed; retrying next tick', {
        clientOrderId,
        error: errorMessage(lookupErr),
      });
    }
    return this.mustGet(clientOrderId);
  }

  /** The refused order placed before `order` on its symbol, if the latest one before it was refused. */
  private lastRefusal(order: LocalOrder): LocalOrder | undefined {
    const before = this.hotOrders().filter(
      (o) => o.symbol === order.symbol && o.clientOrderId !== order.clientOrderId,
    );
    const last = before[before.length - 1];
    return last?.refused ? last : undefined;
  }

  /**
   * One lookup of an `intent` or `unknown` order by clientOrderId. Found → the exchange's view is applied. Not
   * found → one more miss is recorded (durably: a restart keeps counting), and the order is declared never placed
   * only when `judgeNotFound` says the misses are final. Returns whether the exchange has the order, or null when
   * that is still undecided (the order stays unknown, and its symbol places nothing).
   */
  async resolveUnknown(clientOrderId: string): Promise<boolean | null> {
    const order = this.mustGet(clientOrderId);
    if (order.status !== 'unknown' && order.status !== 'intent') return order.status !== 'rejected';
    let remote: ExchangeOrder;
    try {
      remote = await this.track(this.exchange.fetchOrderByClientId(clientOrderId, order.symbol));
    } catch (err) {
      if (!(err instanceof OrderNotFoundError)) throw err;
      // read again: a late create answer may have resolved it during the lookup
      const current = this.mustGet(clientOrderId);
      if (current.status !== 'unknown' && current.status !== 'intent') return current.status !== 'rejected';
      const now = this.clock.now();
      const verdict = judgeNotFound(current, this.notFoundRule, now, this.pendingCreates.has(clientOrderId));
      if (!verdict.neverPlaced) {
        await this.commitOrder(
          transition(current, 'unknown', now, { lookupMisses: verdict.lookupMisses, error: current.error }),
        );
        this.logger.info('Unknown order not found yet; it stays unknown', {
          clientOrderId,
          misses: verdict.lookupMisses,
          sinceSendMs: now - (current.sentAt ?? current.createdAt),
        });
        return null;
      }
      this.logger.info('Order confirmed never placed', {
        clientOrderId,
        was: current.status,
        misses: verdict.lookupMisses,
      });
      await this.commitOrder(
        transition(current, 'rejected', now, {
          lookupMisses: verdict.lookupMisses,
          error: 'the exchange has no such order: never placed',
        }),
        [rejectedEvent(current, 'was never placed (confirmed by lookup)', { neverPlaced: true })],
      );
      return false;
    }
    await this.applyRemote(clientOrderId, remote);
    return true;
  }

  /**
   * Brings one order up to date with the exchange: lookup for intent/unknown, fetch for open ones, trades for
   * final ones with fills missing. Returns the status before and after.
   */
  async refresh(clientOrderId: string): Promise<{ from: OrderStatus; to: OrderStatus }> {
    const before = this.mustGet(clientOrderId);
    if (before.status === 'intent' || before.status === 'unknown') {
      await this.resolveUnknown(clientOrderId);
    } else if (!isFinal(before.status) && before.exchangeOrderId) {
      const remote = await this.fetchAcknowledged(before);
      if (remote) await this.applyRemote(clientOrderId, remote);
    } else if (!isFinal(before.status)) {
      const remote = await this.track(this.exchange.fetchOrderByClientId(clientOrderId, before.symbol));
      await this.applyRemote(clientOrderId, remote);
    } else if (!fillsComplete(before)) {
      await this.syncFills(clientOrderId);
    }
    return { from: before.status, to: this.mustGet(clientOrderId).status };
  }

  async cancel(clientOrderId: string): Promise<LocalOrder> {
    const order = this.mustGet(clientOrderId);
    if (isFinal(order.status)) return order;
    if (order.status === 'intent' || order.status === 'unknown') {
      // what happens to an unknown order comes after resolving it; still undecided → it stays as it is
      const found = await this.resolveUnknown(clientOrderId);
      if (!found) return this.mustGet(clientOrderId);
    }
    const current = this.mustGet(clientOrderId);
    if (isFinal(current.status) || !current.exchangeOrderId) return current;
    try {
      await this.track(this.exchange.cancelOrder(current.exchangeOrderId, current.symbol));
    } catch (err) {
      // OrderNotFound: no longer open (filled or cancelled meanwhile)
      if (!(err instanceof OrderNotFoundError)) throw err;
    }
    // What the order ended as comes from a fetch, not from the cancel answer: many exchanges answer a cancel
    // with an acknowledgement that lacks the filled amount, and taking it as final would lose the fills made
    // before the cancel. If this fetch fails the order stays open locally and the next refresh settles it.
    const remote = await this.fetchAcknowledged(current);
    if (remote) await this.applyRemote(clientOrderId, remote);
    return this.mustGet(clientOrderId);
  }

  /**
   * The exchange's view of an order it acknowledged (it gave the order's id), or null while lookups still miss it
   * within the unknown-order window (`lookupMayLag`): the order stays as it is until a later refresh. Past the
   * window the miss is thrown (the exchange lost an order it took).
   */
  private async fetchAcknowledged(order: LocalOrder): Promise<ExchangeOrder | null> {
    try {
      return await this.track(this.exchange.fetchOrder(order.exchangeOrderId!, order.symbol));
    } catch (err) {
      const now = this.clock.now();
      if (!(err instanceof OrderNotFoundError) || !lookupMayLag(order, this.notFoundRule, now)) throw err;
      this.logger.info('Order not visible to lookups yet; it stays as it is', {
        clientOrderId: order.clientOrderId,
        status: order.status,
        sinceSendMs: now - (order.sentAt ?? order.createdAt),
      });
      return null;
    }
  }

  /**
   * Raises the persisted clientOrderId sequence to at least `seq` (never lowers it). Recovery calls it with the
   * highest seq found in the history journal, so a hot state restored from its previous generation (or lost)
   * can never hand out an id the exchange has already seen.
   */
  async ensureSeqAtLeast(seq: number): Promise<boolean> {
    if (this.store.data.seq >= seq) return false;
    await this.store.commit((d) => {
      d.seq = Math.max(d.seq, seq);
    });
    return true;
  }

  /**
   * Records an order of ours (by prefix) that the exchange has and state does not: from a lost state file or a
   * create whose intent never reached the disk. Its seq is marked used.
   */
  async adopt(remote: ExchangeOrder, seq: number): Promise<LocalOrder> {
    const clientOrderId = remote.clientOrderId!;
    const now = this.clock.now();
    const adopted: LocalOrder = {
      clientOrderId,
      exchangeOrderId: remote.id,
      symbol: remote.symbol,
      side: remote.side,
      type: remote.type,
      amount: remote.amount,
      price: remote.type === 'limit' ? remote.price : undefined,
      filled: 0,
      status: 'unknown',
      purpose: 'adopted',
      reason: 'found on the exchange with our prefix, unknown to state',
      createdAt: remote.timestamp ?? now,
      updatedAt: now,
      sentAt: remote.timestamp ?? now,
      fills: [],
    };
    await this.store.commit((d) => {
      d.seq = Math.max(d.seq, seq);
      d.orders[clientOrderId] = adopted;
    });
    await this.applyRemote(clientOrderId, remote);
    return this.mustGet(clientOrderId);
  }

  /**
   * Applies the exchange's view of an order: commits the status (ack), then fetches and commits the fills,
   * then publishes what changed.
   */
  async applyRemote(clientOrderId: string, remote: ExchangeOrder): Promise<void> {
    const before = this.mustGet(clientOrderId);
    let next: LocalOrder;
    try {
      next = applyExchangeOrder(before, remote, this.clock.now());
    } catch (err) {
      if (!(err instanceof IllegalTransitionError)) throw err;
      this.logger.warn('Ignoring an exchange update the order life does not allow', {
        ...err.context,
        remote: remote.status,
      });
      return;
    }
    const changed =
      next.status !== before.status ||
      next.filled !== before.filled ||
      next.exchangeOrderId !== before.exchangeOrderId;
    if (changed) {
      next = { ...next, error: next.status === 'unknown' ? next.error : undefined };
      await this.commitOrder(next, statusChangeEvents(before, next));
    }
    if (!fillsComplete(next)) await this.syncFills(clientOrderId, remote.trades);
  }

  /**
   * Fetches the order's trades and commits the new ones (with position events). A trade whose side is not its
   * order's is left out and logged (never booked). A fee in a third currency is valued in the quote first; if
   * that price cannot be read now, nothing is committed and the next refresh tries again.
   */
  async syncFills(clientOrderId: string, known?: ExchangeTrade[]): Promise<Fill[]> {
    const order = this.mustGet(clientOrderId);
    if (!order.exchangeOrderId) return [];
    let trades = known ?? [];
    const coveredByKnown = trades.reduce((s, t) => s + t.amount, 0) >= order.filled - 1e-12;
    if (!coveredByKnown) {
      trades = await this.track(
        this.exchange.fetchOrderTrades(order.exchangeOrderId, order.symbol, order.createdAt),
      );
    }
    const ofOrder = trades.filter((t) => t.orderId === order.exchangeOrderId);
    const wrongSide = ofOrder.filter((t) => t.side !== order.side);
    if (wrongSide.length > 0) {
      this.logger.error('Trades with another side than their order left out', {
        clientOrderId,
        side: order.side,
        trades: wrongSide.map((t) => ({ id: t.id, side: t.side })),
      });
    }
    const fills: Fill[] = [];
    for (const t of ofOrder.filter((x) => x.side === order.side)) {
      if (order.fills.some((f) => f.tradeId === t.id)) continue;
      const fill = fillFromTrade(t, clientOrderId);
      if (feeNeedsValuation(fill)) fill.feeQuote = await this.feeInQuote(fill);
      fills.push(fill);
    }
    // read again after the fetches: another update of this order (a late create answer, a cancel) may have been
    // committed meanwhile, and writing the copy read before the await would undo it
    const { order: withFills, added } = addFills(this.mustGet(clientOrderId), fills);
    if (added.length === 0) return [];
    this.crashHook('after-fill');
    const updated = { ...withFills, updatedAt: this.clock.now() };
    const market = this.marketBook[order.symbol];
    const events = positionChangeEvents(
      order.symbol,
      market,
      this.positions()[order.symbol],
      this.positionsWith(updated)[order.symbol],
    );
    await this.commitOrder(updated, events);
    return added;
  }

  /**
   * The quote value of a fee in a third currency (e.g. BNB on Binance) at its price now — the fill was just
   * recorded, as freqtrade values it: through the fee currency's market against the quote, or the inverse one.
   * Null when no market prices it (reported once; the fee then counts as 0). A failed price read throws.
   */
  private async feeInQuote(fill: Fill): Promise<number | null> {
    const { quote } = splitSymbol(fill.symbol);
    const direct = `${fill.feeCurrency}/${quote}`;
    const inverse = `${quote}/${fill.feeCurrency}`;
    if (this.marketBook[direct]) return fill.feeCost * (await this.exchange.fetchTicker(direct)).last;
    if (this.marketBook[inverse]) {
      const last = (await this.exchange.fetchTicker(inverse)).last;
      if (last > 0) return fill.feeCost / last;
    }
    if (!this.unvaluedFeeCurrencies.has(fill.feeCurrency)) {
      this.unvaluedFeeCurrencies.add(fill.feeCurrency);
      this.logger.error('A fee in a currency no market prices in the quote counts as 0 in PnL', {
        feeCurrency: fill.feeCurrency,
        quote,
        clientOrderId: fill.clientOrderId,
      });
    }
    return null;
  }

  /** Moves final orders beyond the most recent `recentFinalKept` to the history journal. */
  async archive(): Promise<number> {
    const done = this.hotOrders()
      .filter((o) => isFinal(o.status) && fillsComplete(o))
      .sort((a, b) => b.updatedAt - a.updatedAt);
    const old = inFillOrder(done.slice(this.recentFinalKept), this.hotOrders());
    if (old.length === 0) return 0;
    const now = this.clock.now();
    // journal first: a crash before the commit below leaves the orders in both places, and readers dedupe
    const seq = this.store.data.seq;
    await this.history.append(old.map((order) => ({ kind: 'order' as const, archivedAt: now, order, seq })));
    const checkpoint = derivePositions(
      this.store.data.checkpoint,
      old.flatMap((o) => o.fills),
      this.marketBook,
    );
    await this.commit((d) => {
      for (const o of old) delete d.orders[o.clientOrderId];
      d.checkpoint = checkpoint;
    });
    return old.length;
  }

  /** Tries a commit; true (and the block lifted) when state can be saved again. */
  async probePersistence(): Promise<boolean> {
    await this.flushUnpublished();
    try {
      await this.store.commit();
    } catch (err) {
      this.persistFailure = errorMessage(err);
      return false;
    }
    await this.persistRecovered();
    return true;
  }

  private async persistRecovered(): Promise<void> {
    const was = this.persistFailure;
    if (!was) return;
    this.persistFailure = null;
    // emit() publishes the queued persist.failed first: the pair never reads as a resume without a failure
    await this.emit('trading.resumed', 'State can be saved again: new orders allowed', {
      by: 'persist',
      was,
    });
  }

  /** Resolves once no exchange call of this manager is in flight, or after `timeoutMs`. */
  async waitIdle(timeoutMs: number): Promise<boolean> {
    const deadline = this.clock.now() + timeoutMs;
    while (this.inFlight.size > 0) {
      const left = deadline - this.clock.now();
      if (left <= 0) return false;
      await Promise.race([
        Promise.allSettled([...this.inFlight]),
        new Promise((r) => setTimeout(r, Math.min(left, 50)).unref()),
      ]);
    }
    return true;
  }

  /** Commit through the persist-failure policy. */
  async commit(mutate: (d: TradingState) => void): Promise<void> {
    try {
      await this.store.commit(mutate);
      await this.persistRecovered();
    } catch (err) {
      await this.onPersistFailure(err, {});
      throw err;
    }
  }

  /**
   * Commits an order change together with the events that report it (transactional outbox), then publishes the
   * outbox: a crash between the two loses no event, because the next start publishes what the outbox still holds.
   */
  private async commitOrder(order: LocalOrder, events: EventDraft[] = []): Promise<void> {
    const pending = events.map((e) => ({ ...e, key: randomUUID() }));
    // in memory at once, durable only when the commit resolves: no flush may publish them before that
    for (const e of pending) this.committing.add(e.key);
    try {
      await this.commit((d) => {
        d.orders[order.clientOrderId] = order;
        if (pending.length > 0) d.outbox = [...d.outbox, ...pending];
      });
    } finally {
      for (const e of pending) this.committing.delete(e.key);
    }
    if (pending.length > 0) {
      this.crashHook('before-events');
      await this.flushOutbox();
    }
  }

  /**
   * Publishes the outbox, oldest first, and takes each event out once the event log has it (a debounced write:
   * after a crash before it, the next start finds the event in the log by its key and does not repeat it). Runs
   * at start (events a crash kept from the log), after every order commit, and every tick (events whose publish
   * failed). Stops at an event whose commit is still in flight (it is not durable yet) and at the first refusal,
   * so events always reach the log in the order they were committed; nothing is published while state cannot be
   * saved. One flush at a time. Returns how many were published.
   */
  flushOutbox(): Promise<number> {
    const run = this.outboxFlush.then(() => this.flushOutboxNow());
    this.outboxFlush = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async flushOutboxNow(): Promise<number> {
    await this.flushUnpublished();
    let published = 0;
    while (!this.persistFailure) {
      const next = this.store.data.outbox[0];
      if (!next || this.committing.has(next.key)) break;
      if (!this.events.hasEventKey?.(next.key)) {
        try {
          this.logger.info(next.summary, { event: next.type });
          await this.events.publish(next.type, next.summary, { ...next.data, eventKey: next.key });
        } catch (err) {
          this.logger.error('Event could not be published; kept in the outbox for a retry', {
            type: next.type,
            waiting: this.store.data.outbox.length,
            error: errorMessage(err),
          });
          break;
        }
        published++;
      }
      this.store.change((d) => {
        d.outbox = d.outbox.filter((e) => e.key !== next.key);
      });
    }
    return published;
  }

  /** Positions as they would be with `order` replacing its current version (for events before the commit). */
  private positionsWith(order: LocalOrder): Record<string, PositionBook> {
    // same fill order as positions() after the commit (replacing a key keeps its place)
    const orders = this.store.data.orders;
    const fills: Fill[] = [];
    for (const o of Object.values(orders))
      fills.push(...(o.clientOrderId === order.clientOrderId ? order : o).fills);
    if (!(order.clientOrderId in orders)) fills.push(...order.fills);
    return derivePositions(this.store.data.checkpoint, fills, this.marketBook);
  }

  private async onPersistFailure(err: unknown, context: Record<string, unknown>): Promise<void> {
    const first = this.persistFailure === null;
    this.persistFailure = errorMessage(err);
    this.logger.error('State could not be saved; no new orders until it can', {
      ...context,
      error: this.persistFailure,
    });
    if (first) {
      const summary = `State could not be saved: ${this.persistFailure}. No new orders until it can.`;
      const data = {
        ...context,
        error: this.persistFailure,
        code: err instanceof PersistenceError ? err.code : undefined,
      };
      await this.emit('persist.failed', summary, { ...data, failedAt: this.clock.now() });
    } else {
      await this.flushUnpublished();
    }
  }

  /**
   * Publishes an event; a failing event log is logged and the event kept for a retry (see `unpublished`), never
   * allowed to break order handling. Resolves false when the event could not be published now.
   */
  async emit(type: TradingEventType, summary: string, data: Record<string, unknown>): Promise<boolean> {
    this.logger.info(summary, { event: type });
    if (this.unpublished.length < MAX_UNPUBLISHED) this.unpublished.push({ type, summary, data });
    else {
      // the oldest stay: the first of a burst (the persist.failed that explains the rest) matters most
      this.logger.error('Too many events waiting for the event log; this one is dropped', { type });
    }
    await this.flushUnpublished();
    return this.unpublished.length === 0;
  }

  /** Publishes the events the log refused before, oldest first; stops at the first refusal. One at a time. */
  private flushUnpublished(): Promise<void> {
    const run = this.unpublishedFlush.then(() => this.flushUnpublishedNow());
    this.unpublishedFlush = run.catch(() => undefined);
    return run;
  }

  private async flushUnpublishedNow(): Promise<void> {
    while (this.unpublished.length > 0) {
      const next = this.unpublished[0];
      try {
        await this.events.publish(next.type, next.summary, next.data);
      } catch (err) {
        this.logger.error('Event could not be published; kept for a retry', {
          type: next.type,
          waiting: this.unpublished.length,
          error: errorMessage(err),
        });
        return;
      }
      this.unpublished.shift();
    }
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.inFlight.add(promise);
    const done = (): void => {
      this.inFlight.delete(promise);
    };
    promise.then(done, done);
    return promise;
  }

  private mustGet(clientOrderId: string): LocalOrder {
    const order = this.store.data.orders[clientOrderId];
    if (!order) throw new Error(`order ${clientOrderId} is not in state`);
    return order;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, clientOrderId: string): Promise<T> {
  return withDeadline(
    promise,
    ms,
    () =>
      new NetworkError(`create timed out after ${ms} ms; outcome unknown`, { clientOrderId, timeoutMs: ms }),
  );
}

/** How many of the last history entries recovery reads for the clientOrderId bound. */
const HISTORY_SEQ_TAIL = 16;

/** A history line that parsed but is not an entry (never written by us) must not crash recovery. */
function isHistoryEntry(e: unknown): e is HistoryEntry {
  const order = (e as Partial<HistoryEntry> | null)?.order;
  return typeof order?.clientOrderId === 'string';
}

/** Direct events kept in memory while the event log refuses them (then the oldest go first). */
const MAX_UNPUBLISHED = 1000;

/**
 * The candidates that may be folded into the checkpoint now: positions replay fills in time order, and the
 * checkpoint comes before every fill still in the hot state, so an order is archived only when none of its fills
 * is later than a fill of the same symbol that stays hot (otherwise realized PnL would depend on when orders
 * were archived). What is held back goes with a later archive.
 */
export function inFillOrder(candidates: LocalOrder[], hot: LocalOrder[]): LocalOrder[] {
  const chosen = new Set(candidates);
  for (let changed = true; changed;) {
    changed = false;
    for (const order of chosen) {
      const last = Math.max(-Infinity, ...order.fills.map((f) => f.timestamp));
      const earlierStaysHot = hot.some(
        (o) => o.symbol === order.symbol && !chosen.has(o) && o.fills.some((f) => f.timestamp < last),
      );
      if (earlierStaysHot) {
        chosen.delete(order);
        changed = true;
      }
    }
  }
  return candidates.filter((o) => chosen.has(o));
}

/**
 * Whether a failed create was refused by the exchange (the order does not exist): any project error but a
 * network failure (outcome unknown), a "not found" (makes no sense for a create: treated as unknown) and a
 * duplicate clientOrderId (the order EXISTS). The adapter has already turned HTTP 5xx answers into NetworkError.
 */
function createRefused(err: unknown): err is ByNinjaError {
  if (!(err instanceof ByNinjaError)) return false;
  if (err instanceof NetworkError || err instanceof OrderNotFoundError) return false;
  return !(err instanceof InvalidOrderError && err.context.duplicate === true);
}

/** Our clientOrderIds must fit the exchange's rule, or every create would be refused: a configuration error. */
function checkClientOrderIds(botId: string, exchange: Exchange): void {
  const { maxLength, pattern, separator } = exchange.traits.clientOrderId;
  // the longest id this bot will send: a 6-character install id and a 12-digit sequence
  const longest = clientOrderIdFor(botId, 'a0a0a0', 999_999_999_999, separator);
  if (longest.length > maxLength || !pattern.test(longest)) {
    throw new ConfigError([
      {
        field: 'app.botId',
        value: botId,
        message: `clientOrderIds ("${longest}") must fit ${exchange.id}'s rule (at most ${maxLength} characters, ${pattern.source}): use a shorter bot id`,
      },
    ]);
  }
}
