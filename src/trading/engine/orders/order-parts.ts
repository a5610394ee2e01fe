/**
 * The order side of the engine wired once from its ports (the state store, the event log, the exchange): the event
 * outbox and the state gateway over them, the order book (the reads), the tracked exchange calls, and the parts that
 * act on orders — placement and resolution (order-manager.ts), the exchange's answers applied, fills, refresh,
 * cancel, acknowledged orders the exchange no longer shows, the never-placed recheck, adoption. They share the calls
 * and the answers, and refresh and cancel resolve unknown orders through the manager: built here in that order, so
 * no part builds another. engine-parts.ts hands each to the parts of the loop that drive it.
 */
import type { Clock } from '../../../shared/clock';
import type { Config } from '../../../shared/config/schema';
import type { Logger } from '../../../shared/logging/logger';
import type { Exchange, ExchangeOrder, Market } from '../../exchange/exchange';
import { AbsentOrders } from './absent-orders';
import { alertClockSkew } from '../exchange-watch/clock-skew-alert';
import { EventOutbox, type EventPublisher } from '../state/event-outbox';
import { FillSync } from '../books/fill-sync';
import { RECHECK_HORIZON_MS, RECHECK_MAX_DELAY_MS } from './never-placed-recheck';
import { OrderAdoption } from './order-adoption';
import { OrderAnswers } from './order-answers';
import type { HistoryLog } from '../state/order-archive';
import { OrderBook } from './order-book';
import { OrderCalls } from './order-calls';
import { OrderCancel } from './order-cancel';
import { OrderManager } from './order-manager';
import { OrderRecheck } from './order-recheck';
import { OrderRefresh } from './order-refresh';
import { CountedStore } from '../state/counted-store';
import { StateGateway, type StateStore } from '../state/state-gateway';

/** What the order side is wired from. */
export interface OrderPorts {
  exchange: Exchange;
  /** The state store, as given (or wrapped). */
  store: StateStore;
  /** The event log, as given (or wrapped). */
  publisher: EventPublisher;
  history: HistoryLog;
  /** The markets as loaded (`{}` until the exchange answers: market-refresh.ts sets them in the order book). */
  markets: Record<string, Market>;
  botId: string;
  orders: Config['trading']['orders'];
  /**
   * An order lookup (the order, its trades) and a cancel are given up after this long: the order stays as it was,
   * pending or unknown (a cancel with no answer: as the lookup after it shows), and is looked up again later — one
   * hung call never holds its symbol's lane (its stop-loss, or close-all) for all of ccxt's timeout and retries
   * (~42 s with defaults). The daemon passes `trading.symbolReadTimeoutMs`.
   */
  lookupTimeoutMs: number;
  /**
   * A ticker dated longer ago than this on the exchange's clock is stale (ticker-age.ts; `trading.maxTickerAgeMs`): a
   * third-coin fee valued at such a price is marked estimated (fee-valuation.ts). Absent: prices' age not judged.
   */
  maxTickerAgeMs?: number;
  clock: Clock;
  logger: Logger;
  /** Final orders kept in hot state for `orders` and reconcile before they move to the journal (default 20). */
  recentFinalKept?: number;
}

/** The order side, each part once. */
export interface OrderParts {
  /** Placement (and its gate) and unknown-order resolution; the archive (order-manager.ts). */
  manager: OrderManager;
  /** The bot's own orders and positions, read-only (order-book.ts). */
  orderBook: OrderBook;
  /** Every commit, the pause, the risk state (state-gateway.ts). */
  state: StateGateway;
  /** The one queue to the event log (event-outbox.ts). */
  outbox: EventOutbox;
  /**
   * Exchange calls tracked for the stop (its `waitIdle`); order lookups and cancels within `lookupTimeoutMs`, one
   * per order (order-calls.ts).
   */
  calls: OrderCalls;
  /** The exchange's answers applied to orders (order-answers.ts): recovery's and every refresh's. */
  answers: OrderAnswers;
  /** An order's trades fetched and booked as fills (fill-sync.ts). */
  fills: FillSync;
  /** One order brought up to date with the exchange (order-refresh.ts): the tick, close-all, the settle, recovery. */
  refresher: OrderRefresh;
  /** A working order cancelled (order-cancel.ts): the tick, close-all, the stop, recovery. */
  canceller: OrderCancel;
  /** Orders of ours that state lost taken in, and the id sequence kept ahead (order-adoption.ts): recovery. */
  adoption: OrderAdoption;
  /**
   * Orders that ended on our inference (or were settled by the operator) looked up again (order-recheck.ts): the
   * loop's and recovery's rechecks, the operator's settle asking once more.
   */
  rechecks: OrderRecheck;
}

export function wireOrders(ports: OrderPorts): OrderParts {
  const { exchange, publisher, history, botId, clock } = ports;
  // one count of the state's changes, seen by the gateway and the outbox alike: the order book's derived reads
  const store = new CountedStore(ports.store);
  const logger = ports.logger.child({ module: 'orders' });
  const outbox = new EventOutbox({ store, publisher, logger: ports.logger.child({ module: 'events' }) });
  alertClockSkew(exchange, outbox);
  const state = new StateGateway(store, outbox, ports.logger, clock);
  const orderBook = new OrderBook({ state, history, markets: ports.markets, botId, traits: exchange.traits });
  const notFoundRule = {
    minMisses: ports.orders.unknownNotFoundMisses,
    windowMs: ports.orders.unknownNotFoundWindowMs,
    graceMs: exchange.traits.lookupGraceMs,
  };
  const recheckRule = {
    baseDelayMs: ports.orders.unknownNotFoundWindowMs,
    maxDelayMs: RECHECK_MAX_DELAY_MS,
    horizonMs: RECHECK_HORIZON_MS,
  };
  const calls = new OrderCalls(ports.lookupTimeoutMs, clock);
  const lookup = calls.lookup.bind(calls);
  const markets = (): Record<string, Market> => orderBook.markets;
  const fills = new FillSync({
    exchange,
    state,
    markets,
    clock,
    logger,
    lookup,
    maxTickerAgeMs: ports.maxTickerAgeMs,
  });
  const syncFills: FillSync['sync'] = (id, known) => fills.sync(id, known);
  const answers = new OrderAnswers({
    state,
    clock,
    logger,
    hotOrders: () => orderBook.hotOrders(),
    syncFills,
  });
  const applyRemote = (id: string, remote: ExchangeOrder): Promise<void> => answers.apply(id, remote);
  const manager = new OrderManager({
    exchange,
    state,
    orderBook,
    history,
    calls,
    answers,
    notFoundRule,
    recheckRule,
    botId,
    orders: ports.orders,
    clock,
    logger,
    recentFinalKept: ports.recentFinalKept,
  });
  const resolveUnknown = (id: string): Promise<boolean | null> => manager.resolveUnknown(id);
  const absent = new AbsentOrders({
    exchange,
    state,
    clock,
    logger,
    notFoundRule,
    recheckRule,
    markets,
    lookup,
    sentAt: (key) => calls.sentAt(key),
    cancel: (id, call) => calls.cancel(id, call),
    syncFills,
  });
  const rechecks = new OrderRecheck({
    exchange,
    state,
    clock,
    logger,
    rule: recheckRule,
    lookup,
    hotOrders: (test) => orderBook.hotOrders(test),
    positions: () => orderBook.positions(),
    applyRemote,
    listed: (symbol) => orderBook.markets[symbol] !== undefined,
  });
  const refresher = new OrderRefresh({
    exchange,
    state,
    calls,
    resolveUnknown,
    fetchPlaced: (order) => absent.fetchPlaced(order),
    applyRemote,
    syncFills: (id) => fills.sync(id),
  });
  const canceller = new OrderCancel({
    exchange,
    clock,
    state,
    calls,
    resolveUnknown,
    fetchPlaced: (order, after) => absent.fetchPlaced(order, after),
    applyRemote,
  });
  const adoption = new OrderAdoption({
    state,
    applyRemote,
    clock,
    offsetMs: () => exchange.clockOffsetMs?.() ?? 0,
  });
  return {
    manager,
    orderBook,
    state,
    outbox,
    calls,
    answers,
    fills,
    refresher,
    canceller,
    adoption,
    rechecks,
  };
}
