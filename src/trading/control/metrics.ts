/**
 * Trading's Prometheus metrics (`/metrics`), read from the engine at scrape time — nothing is computed on the
 * hot path except the exchange call timings (timed-exchange.ts). Names are `byninja_*` plus prom-client's
 * default process and Node.js metrics (event-loop lag, memory, CPU, start time), every series labelled
 * `service="trading"`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { utcDay, type Clock } from '../../shared/clock';
import type { LastExit, LoopState } from '../../shared/ipc/protocol';
import type { OrderBook } from '../engine/orders/order-book';
import { averageEntryPrice, realizedOnDay, realizedTotal, unrealizedPnl } from '../engine/books/pnl';
import type { TradingLoop } from '../engine/trading-loop';
import type { ObserveExchangeCall } from './timed-exchange';

export interface TradingMetricsDeps {
  loop: Pick<TradingLoop, 'snapshot'>;
  orderBook: Pick<OrderBook, 'hotOrders' | 'positions' | 'openPositions'>;
  lastExit: LastExit;
  mode: string;
  exchangeId: string;
  version: string;
  /** Authenticated and waiting TCP clients (IpcServer.clientCount). */
  ipcClients: () => number;
  lastEventSeq: () => number;
  /** PM2's restart count of this app (its `restart_time` variable), when run by PM2. */
  pm2Restarts?: number;
  clock: Clock;
  /** The exchange's clock (TradingLoop.exchangeClock): "today" is its UTC day, the day fills are dated on. */
  exchangeClock: Clock;
}

const LOOP_STATES: LoopState[] = [
  'starting',
  'waiting-exchange',
  'recovering',
  'running',
  'paused',
  'stopping',
];

export interface TradingMetrics {
  registry: Registry;
  /** Feed for timedExchange. */
  observeExchangeCall: ObserveExchangeCall;
}

export function createTradingMetrics(deps: TradingMetricsDeps): TradingMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: 'trading' });
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const snapshot = () => deps.loop.snapshot();

  new Gauge({
    name: 'byninja_info',
    help: 'Build and mode of this service (value 1).',
    labelNames: ['version', 'mode', 'exchange'],
    registers,
    collect() {
      this.set({ version: deps.version, mode: deps.mode, exchange: deps.exchangeId }, 1);
    },
  });
  new Gauge({
    name: 'byninja_last_exit',
    help: 'How the previous run of this service ended (value 1 on its kind: clean, crash, stall, killed, first-start).',
    labelNames: ['kind'],
    registers,
  }).set({ kind: deps.lastExit.kind }, 1);
  if (deps.pm2Restarts !== undefined) {
    new Counter({
      name: 'byninja_restarts_total',
      help: "PM2's restart count of this service when this run started.",
      registers,
    }).inc(deps.pm2Restarts);
  }
  new Gauge({
    name: 'byninja_trading_loop_state',
    help: 'The trading loop state (value 1 on the current one).',
    labelNames: ['state'],
    registers,
    collect() {
      const current = snapshot().loopState;
      for (const state of LOOP_STATES) this.set({ state }, state === current ? 1 : 0);
    },
  });
  new Gauge({
    name: 'byninja_trading_paused',
    help: '1 while new entries are paused (exits still run).',
    registers,
    collect() {
      this.set(snapshot().pause ? 1 : 0);
    },
  });
  new Gauge({
    name: 'byninja_trading_last_tick_age_seconds',
    help: 'Seconds since the trading loop last finished a tick (-1 before the first).',
    registers,
    collect() {
      const at = snapshot().lastTickAt;
      this.set(at === null ? -1 : Math.max(0, deps.clock.now() - at) / 1000);
    },
  });
  new Gauge({
    name: 'byninja_exchange_reachable',
    help: '1 while the exchange answers, 0 while its calls fail (or trading waits for it at start).',
    registers,
    collect() {
      const s = snapshot();
      this.set(s.exchangeReachable && s.loopState !== 'waiting-exchange' ? 1 : 0);
    },
  });
  const calls = new Histogram({
    name: 'byninja_exchange_call_duration_seconds',
    help: 'Duration of exchange calls, by method and outcome (ok, error).',
    labelNames: ['method', 'outcome'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  new Gauge({
    name: 'byninja_orders',
    help: 'Orders in hot state by status (working ones and recently finished ones).',
    labelNames: ['status'],
    registers,
    collect() {
      this.reset();
      const counts = new Map<string, number>();
      for (const o of deps.orderBook.hotOrders()) counts.set(o.status, (counts.get(o.status) ?? 0) + 1);
      for (const [status, n] of counts) this.set({ status }, n);
    },
  });
  new Gauge({
    name: 'byninja_open_positions',
    help: 'Open positions.',
    registers,
    collect() {
      this.set(deps.orderBook.openPositions().length);
    },
  });
  new Gauge({
    name: 'byninja_position_amount',
    help: 'Base amount held, by symbol (open positions).',
    labelNames: ['symbol'],
    registers,
    collect() {
      this.reset();
      for (const p of deps.orderBook.openPositions()) this.set({ symbol: p.symbol }, p.amount);
    },
  });
  new Gauge({
    name: 'byninja_position_unrealized_pnl',
    help: 'Unrealized PnL of each open position at the last price, in the quote currency.',
    labelNames: ['symbol'],
    registers,
    collect() {
      this.reset();
      const prices = snapshot().lastPrices;
      for (const p of deps.orderBook.openPositions())
        this.set({ symbol: p.symbol }, unrealizedPnl(p, prices[p.symbol] ?? averageEntryPrice(p)));
    },
  });
  new Gauge({
    name: 'byninja_equity',
    help: 'Account equity in the quote currency (quote balance + positions at the last price).',
    labelNames: ['quote'],
    registers,
    collect() {
      const s = snapshot();
      this.reset();
      this.set({ quote: s.quoteCurrency }, s.equity);
    },
  });
  new Gauge({
    name: 'byninja_realized_pnl',
    help: 'Realized PnL in the quote currency: period="total" (all the state holds) or "today" (the UTC day on the exchange\'s clock).',
    labelNames: ['period'],
    registers,
    collect() {
      const books = deps.orderBook.positions();
      this.set({ period: 'total' }, realizedTotal(books));
      this.set({ period: 'today' }, realizedOnDay(books, utcDay(deps.exchangeClock.now())));
    },
  });
  new Gauge({
    name: 'byninja_ipc_clients',
    help: 'Connections to the internal TCP layer (telegram, CLI calls).',
    registers,
    collect() {
      this.set(deps.ipcClients());
    },
  });
  new Gauge({
    name: 'byninja_events_last_seq',
    help: 'Sequence number of the last trading event published.',
    registers,
    collect() {
      this.set(deps.lastEventSeq());
    },
  });

  return {
    registry,
    observeExchangeCall: (method, outcome, seconds) => calls.observe({ method, outcome }, seconds),
  };
}
