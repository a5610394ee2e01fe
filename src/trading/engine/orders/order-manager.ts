/**
 * Places orders and finds out what became of them, so that a crash at any instant loses nothing and duplicates
 * nothing. Its two jobs: placement (its gate first: no order before recovery has finished, while stopping, or while
 * state cannot be saved) and unknown-order resolution; and `archive()`, which keeps hot what resolution and the
 * recheck still need. It builds nothing: order-parts.ts wires it with the parts it uses — the state gateway (every
 * commit), the order book (its reads: order-book.ts), the tracked exchange calls (order-calls.ts) and the answers
 * applied (order-answers.ts) — and builds the others after it (refresh and cancel resolve unknown orders through it).
 *
 * Write-ahead: an order intent with the deterministic clientOrderId `<botId>-<installId>-<seq>` is committed
 * durably BEFORE the exchange is called, and the exchange's answer is committed after. A create the exchange
 * refused is `rejected` (final). A create that fails on the network, times out or gets a 5xx leaves the order
 * `unknown`; it is resolved only by looking the clientOrderId up on the exchange (found → its state is applied;
 * "not found" only per `judgeNotFound`: several misses over a window from the send → `rejected`, never placed).
 * A create is never retried. Only the exchange's answer closes an order; positions are derived from fills.
 *
 * Every order change is committed with the events that report it (order-events.ts), published through the one
 * event outbox once durable (event-outbox.ts). A commit that fails places nothing further: the state gateway
 * publishes `persist.failed` and new orders are refused until a commit works again (state-gateway.ts).
 */
import type { Clock } from '../../../shared/clock';
import type { Config } from '../../../shared/config/schema';
import { withDeadline } from '../../../shared/deadline';
import {
  ByNinjaError,
  ConfigError,
  InvalidOrderError,
  NetworkError,
  OperationalError,
  OrderNotFoundError,
  PersistenceError,
  TemporaryError,
  errorMessage,
} from '../../../shared/errors';
import type { Logger } from '../../../shared/logging/logger';
import type { Exchange, ExchangeOrder, OrderSpec } from '../../exchange/exchange';
import { OnceLog } from '../log-once';
import {
  judgeUnknownOrderEvidence,
  unknownInDoubtEvent,
  type UnknownOrderEvidence,
  type UnknownOrderFacts,
} from './unknown-order-evidence';
import { lastRefusal, type OrderAnswers } from './order-answers';
import type { OrderBook } from './order-book';
import { archiveFinalOrders, keptHot, type HistoryLog } from '../state/order-archive';
import type { OrderCalls } from './order-calls';
import { rejectedEvent, type EventDraft } from './order-events';
import type { NeverPlacedRecheckRule } from './never-placed-recheck';
import {
  judgeNotFound,
  transition,
  type LocalOrder,
  type NotFoundRule,
  type OrderPurpose,
} from './order-state';
import type { StateGateway } from '../state/state-gateway';
import { clientOrderIdFor } from '../state/trading-state';
import { probeRest } from './rest-probe';

/** An order the engine wants placed: what it asks for, and why. */
export interface OrderRequest extends OrderSpec {
  purpose: OrderPurpose;
  reason?: string;
  /** The owner's own holding of the coin the order trades, as last measured (LocalOrder `ownerHeld`). */
  ownerHeld?: number;
}

export interface OrderManagerOptions {
  exchange: Exchange;
  /** Every commit (state-gateway.ts). */
  state: StateGateway;
  /** The bot's own orders and positions, read-only (order-book.ts), over the same state. */
  orderBook: OrderBook;
  /** The history journal the archive moves final orders to. */
  history: HistoryLog;
  /** The exchange calls, tracked for the stop; lookups and cancels within the lookup deadline (order-calls.ts). */
  calls: OrderCalls;
  /** The exchange's answers applied (order-answers.ts): a create's, a lookup's. */
  answers: Pick<OrderAnswers, 'apply'>;
  /** When lookups that miss declare an order never placed (order-state.ts `judgeNotFound`). */
  notFoundRule: NotFoundRule;
  /** When orders declared never placed are looked up again: the archive keeps them hot until then. */
  recheckRule: NeverPlacedRecheckRule;
  botId: string;
  orders: Config['trading']['orders'];
  clock: Clock;
  /** The orders' logger (order-parts.ts: module "orders"). */
  logger: Logger;
  /** Final orders kept in hot state for `orders` and reconcile before they move to the journal (default 20). */
  recentFinalKept?: number;
}

export class OrderManager {
  private readonly exchange: Exchange;
  private readonly state: StateGateway;
  private readonly orderBook: OrderBook;
  private readonly history: HistoryLog;
  private readonly calls: OrderCalls;
  private readonly answers: Pick<OrderAnswers, 'apply'>;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly notFoundRule: NotFoundRule;
  private readonly recheckRule: NeverPlacedRecheckRule;
  /** Creates whose promise has not settled (a late answer is still possible). */
  private readonly pendingCreates = new Set<string>();
  private accepting = false;
  private refusal = 'recovery has not finished';
  /** An unknown order held back from "never placed" by the exchange's other reads: said once per reason. */
  private readonly onceLog: OnceLog;
  /**
   * When the exchange last refused a create for the symbol's trading rules (its step, minimum, tick: the adapter's
   * `marketRules`), which it may have changed since the markets were read: market-refresh.ts reloads them then.
   */
  marketRulesRefusedAt?: number;

  constructor(private readonly opts: OrderManagerOptions) {
    this.exchange = opts.exchange;
    this.state = opts.state;
    this.orderBook = opts.orderBook;
    this.history = opts.history;
    this.calls = opts.calls;
    this.answers = opts.answers;
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.onceLog = new OnceLog(this.logger);
    this.notFoundRule = opts.notFoundRule;
    this.recheckRule = opts.recheckRule;
    checkClientOrderIds(opts.botId, opts.exchange);
  }

  /** True while a create call for this order has not answered (its outcome is still on its way). */
  isCreatePending(clientOrderId: string): boolean {
    return this.pendingCreates.has(clientOrderId);
  }

  /**
   * Why no order may be placed now — recovery has not finished, trading is stopping, or state cannot be saved —
   * or null. The placement gate's first rule (placement-gate.ts); `place` enforces it again at the door.
   */
  get placementRefusal(): string | null {
    if (!this.accepting) return this.refusal;
    const persist = this.state.persistBlocked;
    return persist ? `state cannot be saved (${persist})` : null;
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

  /**
   * Write-ahead order placement: commit the intent, then call the exchange once, then commit its answer.
   * Throws PersistenceError when the intent could not be made durable (nothing was sent), OperationalError when
   * the exchange refused for a reason a person must fix (the order is `rejected`).
   */
  place(request: OrderRequest): Promise<LocalOrder> {
    // tracked from the start, so shutdown also waits for a place between its checks and the create call
    return this.calls.track(this.placeTracked(request));
  }

  private async placeTracked(request: OrderRequest): Promise<LocalOrder> {
    if (!this.accepting)
      throw new OperationalError(`no new orders: ${this.refusal}`, { symbol: request.symbol });
    if (this.state.persistBlocked && !(await this.state.probe())) {
      throw new PersistenceError(`no new orders: state cannot be saved (${this.state.persistBlocked})`, {
        symbol: request.symbol,
      });
    }
    const now = this.clock.now();
    // taken and written in the same synchronous step: two symbols placing at once never get the same id
    const seq = this.state.data.seq + 1;
    const separator = this.exchange.traits.clientOrderId.separator ?? '-';
    const clientOrderId = clientOrderIdFor(this.opts.botId, this.orderBook.installId, seq, separator);
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
      // "not found" is judged from the send (judgeNotFound): set again once this commit is durable, when the create
      // leaves; a crash before then leaves this one
      sentAt: now,
      fills: [],
      ...(request.ownerHeld !== undefined ? { ownerHeld: request.ownerHeld } : {}),
    };
    try {
      await this.state.commit(
        (d) => {
          d.seq = Math.max(d.seq, seq);
          d.orders[clientOrderId] = intent;
        },
        { clientOrderId, symbol: request.symbol, step: 'intent' },
      );
    } catch (err) {
      // the seq stays used (never reuse an id that may have reached the disk); the intent was never sent
      this.state.change((d) => {
        d.orders[clientOrderId] = {
          ...intent,
          status: 'rejected',
          error: 'state could not be saved; never sent',
          neverSent: true,
        };
      });
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
    // the create leaves now, after the intent's durable commit (a slow disk can take seconds): "not found" is judged
    // from here, not from before the commit — a window shortened by the commit could end while the exchange's reads
    // still lag behind the order (written with the next commit: the answer, or the order going unknown)
    const sentAt = this.clock.now();
    this.state.change((d) => {
      const committed = d.orders[clientOrderId];
      if (committed) d.orders[clientOrderId] = { ...committed, sentAt };
    });
    return this.sendCreate(clientOrderId);
  }

  private async sendCreate(clientOrderId: string): Promise<LocalOrder> {
    const order = this.mustGet(clientOrderId);
    let remote: ExchangeOrder;
    // tracked on its own: after the create timeout `place` is done, while the request may still be out (the stop
    // waits for its answer, which resolves the unknown order at once)
    const create = this.calls.track(
      this.exchange.createOrder({
        symbol: order.symbol,
        side: order.side,
        type: order.type,
        amount: order.amount,
        price: order.price,
        clientOrderId,
      }),
    );
    this.pendingCreates.add(clientOrderId);
    void create.then(
      (late) => this.onCreateSettled(clientOrderId, late),
      (failure: unknown) => this.onCreateSettled(clientOrderId, undefined, failure),
    );
    try {
      remote = await withTimeout(create, this.opts.orders.createTimeoutMs, clientOrderId, this.clock);
    } catch (err) {
      return this.onCreateFailed(clientOrderId, err);
    }
    await this.answers.apply(clientOrderId, remote);
    return this.mustGet(clientOrderId);
  }

  private onCreateSettled(clientOrderId: string, late?: ExchangeOrder, failure?: unknown): void {
    this.pendingCreates.delete(clientOrderId);
    const order = this.state.data.orders[clientOrderId];
    if (order?.status !== 'unknown') return;
    if (late) {
      // the answer arrived after the timeout: it resolves the UNKNOWN order as well as a lookup would
      void this.calls.track(this.answers.apply(clientOrderId, late)).catch((err: unknown) =>
        this.logger.warn('Applying a late create answer failed; the lookup will resolve it', {
          clientOrderId,
          error: errorMessage(err),
        }),
      );
    } else if (createRefused(failure) && refusedByGate(failure)) {
      // refused unsent after its timeout (the gate's wait outlasted trading.orders.createTimeoutMs): it never left,
      // so there is nothing to look up — rejected now, never sent, as one refused within the timeout is
      void this.calls.track(this.commitRefused(clientOrderId, failure)).catch((err: unknown) =>
        this.logger.warn('Recording a create refused unsent failed; the lookup will resolve it', {
          clientOrderId,
          error: errorMessage(err),
        }),
      );
    }
  }

  private async onCreateFailed(clientOrderId: string, err: unknown): Promise<LocalOrder> {
    const order = this.mustGet(clientOrderId);
    if (createRefused(err)) {
      await this.commitRefused(clientOrderId, err);
      if (err.context.marketRules === true) this.marketRulesRefusedAt = this.clock.now();
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

  /**
   * Records a create refused: the exchange answered and refused, or the rate-limit gate refused it unsent
   * (rate-limit-gate.ts: the exchange cannot have it). Final, never placed. Nothing when the order is no longer an
   * intent or unknown (its answer or a lookup settled it meanwhile).
   */
  private async commitRefused(clientOrderId: string, err: ByNinjaError): Promise<void> {
    const order = this.mustGet(clientOrderId);
    if (order.status !== 'intent' && order.status !== 'unknown') return;
    const error = errorMessage(err);
    const unsent = refusedByGate(err);
    const retryAfterMs = err instanceof TemporaryError ? err.retryAfterMs : undefined;
    await this.commitOrder(
      transition(order, 'rejected', this.clock.now(), {
        error,
        refused: true,
        retryAfterMs,
        // the symbol then waits only the wait the gate gave (symbol-decision.ts refusedUnsent)
        ...(unsent ? { neverSent: true } : {}),
      }),
      [
        rejectedEvent(order, `rejected: ${error}`, {
          error,
          errorClass: err.name,
          ccxtError: err.context.ccxtError,
          // the same refusal again on this symbol: recorded, not notified again
          repeated: lastRefusal(this.orderBook.hotOrders(), order)?.error === error,
        }),
      ],
    );
    this.logger.warn(
      unsent ? 'Order refused before it was sent (rate limit)' : 'Order refused by the exchange',
      {
        clientOrderId,
        symbol: order.symbol,
        error,
        errorClass: err.name,
        ccxtError: err.context.ccxtError,
      },
    );
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
    // a lookup already on its way is joined: its "not found" proves the order absent as of its send, no later
    const sentAt = this.calls.sentAt(`order:${clientOrderId}`);
    try {
      remote = await this.calls.lookup('order', clientOrderId, () =>
        this.exchange.fetchOrderByClientId(clientOrderId, order.symbol, order.createdAt),
      );
    } catch (err) {
      if (!(err instanceof OrderNotFoundError)) throw err;
      // read again: a late create answer may have resolved it during the lookup
      const current = this.mustGet(clientOrderId);
      if (current.status !== 'unknown' && current.status !== 'intent') return current.status !== 'rejected';
      const now = this.clock.now();
      const verdict = judgeNotFound(
        current,
        this.notFoundRule,
        sentAt,
        this.pendingCreates.has(clientOrderId),
      );
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
      // the exchange's other reads first: a lookup may miss an order that exists (unknown-order-evidence.ts)
      const evidence = await this.unknownOrderEvidence(current);
      const latest = this.mustGet(clientOrderId);
      if (latest.status !== 'unknown' && latest.status !== 'intent') return latest.status !== 'rejected';
      if (evidence.kind === 'found') {
        this.logger.warn('Unknown order not found by its lookups, but the exchange has it', {
          clientOrderId,
          exchangeOrderId: evidence.remote.id,
        });
        await this.answers.apply(clientOrderId, evidence.remote);
        return true;
      }
      if (evidence.kind === 'unexplained') {
        // in doubt from the first such judgement (the operator told, /settle may settle it): its lookups missed over
        // the whole window already, and what keeps it undecided (a trade read cut, the owner's own trades) may last
        const told = latest.inDoubtAt !== undefined;
        await this.commitOrder(
          transition(latest, 'unknown', now, {
            lookupMisses: verdict.lookupMisses,
            // what keeps it undecided, for /settle's list
            error: evidence.reason,
            ...(told ? {} : { inDoubtAt: now, inDoubtToldAt: now }),
          }),
          told ? [] : [unknownInDoubtEvent(latest, evidence.reason)],
        );
        this.onceLog.log(`unexplained:${clientOrderId}`, 'warn', 'Unknown order not declared never placed', {
          clientOrderId,
          reason: evidence.reason,
        });
        return null;
      }
      // a limit order may rest there unseen while the reads lag: its cancel closes it, or says it does not rest
      const probe = await probeRest(latest, this.exchange, (id, call) => this.calls.cancel(id, call));
      const probed = this.mustGet(clientOrderId);
      if (probed.status !== 'unknown' && probed.status !== 'intent') return probed.status !== 'rejected';
      if (probe?.kind === 'found') {
        this.logger.warn('Unknown order not found by its reads, but its cancel found it (now cancelled)', {
          clientOrderId,
          exchangeOrderId: probe.remote.id,
          filled: probe.remote.filled,
        });
        await this.answers.apply(clientOrderId, probe.remote);
        return true;
      }
      this.logger.info('Order confirmed never placed', {
        clientOrderId,
        was: current.status,
        misses: verdict.lookupMisses,
        ...(probe ? { restRuledOut: probe.restRuledOut } : {}),
      });
      await this.commitOrder(
        transition(probed, 'rejected', this.clock.now(), {
          lookupMisses: verdict.lookupMisses,
          error: 'the exchange has no such order: never placed',
          ...(probe?.restRuledOut ? { restRuledOut: true } : {}),
        }),
        [rejectedEvent(latest, 'was never placed (confirmed by lookup)', { neverPlaced: true })],
      );
      return false;
    }
    await this.answers.apply(clientOrderId, remote);
    return true;
  }

  /**
   * What the symbol's open orders and its trades since the send say of an unknown order its lookups no longer find
   * (unknown-order-evidence.ts): read together, then the orders of trades state cannot explain looked up by their
   * ids. A failed read is thrown (the order stays unknown; its next lookup asks again).
   */
  private async unknownOrderEvidence(order: LocalOrder): Promise<UnknownOrderEvidence> {
    const id = order.clientOrderId;
    const [openOrders, trades] = await Promise.all([
      this.calls.lookup('open-orders', order.symbol, () => this.exchange.fetchOpenOrders(order.symbol)),
      this.calls.lookup('symbol-trades', id, () =>
        this.exchange.fetchSymbolTrades(order.symbol, order.sentAt ?? order.createdAt),
      ),
    ]);
    const knownOrderIds = new Set<string>();
    for (const o of this.orderBook.hotOrders()) if (o.exchangeOrderId) knownOrderIds.add(o.exchangeOrderId);
    const facts: UnknownOrderFacts = { openOrders, trades, knownOrderIds };
    const first = judgeUnknownOrderEvidence(order, facts);
    if (first.kind !== 'look-up') return first;
    const lookedUp = new Map<string, ExchangeOrder | null>();
    await Promise.all(
      first.orderIds.map(async (orderId) => {
        try {
          const found = await this.calls.lookup('order-of-trade', orderId, () =>
            // no span from our send: the owner's order may be older than it (Bybit: its default 7 days)
            this.exchange.fetchOrder(orderId, order.symbol),
          );
          lookedUp.set(orderId, found);
        } catch (err) {
          if (!(err instanceof OrderNotFoundError)) throw err;
          lookedUp.set(orderId, null);
        }
      }),
    );
    return judgeUnknownOrderEvidence(order, { ...facts, lookedUp });
  }

  /** Moves old final orders to the history journal (order-archive.ts); returns how many. */
  archive(): Promise<number> {
    // judged on first use only: an archive with nothing old enough to move needs no positions derived
    let keep: ((order: LocalOrder) => boolean) | undefined;
    return archiveFinalOrders({
      keep: (order) =>
        (keep ??= keptHot(
          Object.values(this.state.data.orders),
          this.orderBook.openPositions().map((p) => p.symbol),
          { recheckRule: this.recheckRule, limitOrderTtlMs: this.opts.orders.limitOrderTtlMs },
          this.clock.now(),
        ))(order),
      state: this.state,
      history: this.history,
      markets: () => this.orderBook.markets,
      fillOrder: this.orderBook.fillOrder,
      now: () => this.clock.now(),
      recentFinalKept: this.opts.recentFinalKept,
    });
  }

  private commitOrder(order: LocalOrder, events: EventDraft[] = []): Promise<void> {
    return this.state.commitOrder(order, events);
  }

  private mustGet(clientOrderId: string): LocalOrder {
    return this.state.requireOrder(clientOrderId);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, clientOrderId: string, clock: Clock): Promise<T> {
  return withDeadline(
    promise,
    ms,
    () =>
      new NetworkError(`create timed out after ${ms} ms; outcome unknown`, { clientOrderId, timeoutMs: ms }),
    clock,
  );
}

/** Refused by the rate-limit gate before it left (rate-limit-gate.ts `context.gate`): never sent. */
function refusedByGate(err: ByNinjaError): boolean {
  return err.context.gate !== undefined;
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
  // the longest id this bot will send: a 6-character install id and a 10-digit sequence (ten billion orders)
  const longest = clientOrderIdFor(botId, 'a0a0a0', 9_999_999_999, separator);
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
