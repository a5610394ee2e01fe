/**
 * tick: the cost of one TradingLoop.tick() over 1 / 20 / 100 symbols with exchange and disk I/O excluded: the
 * real loop, order manager, strategy and risk, over an in-memory exchange that answers at once from candles
 * computed in advance, and an in-memory state store (which still serialises the state on every commit, so the
 * CPU part of persistence stays in the figure). A manual clock moves one candle per tick, so the strategy sees a
 * new candle every tick and trades as it would live.
 */
import { configSchema, type Config } from '../../src/shared/config/schema';
import { OrderNotFoundError } from '../../src/shared/errors';
import { silentLogger } from '../../src/shared/logging/logger';
import type { HistoryLog } from '../../src/trading/engine/state/order-archive';
import { wireOrders } from '../../src/trading/engine/orders/order-parts';
import type { StateStore } from '../../src/trading/engine/state/state-gateway';
import { TradingLoop } from '../../src/trading/engine/trading-loop';
import {
  defaultTradingState,
  type HistoryEntry,
  type TradingState,
} from '../../src/trading/engine/state/trading-state';
import type {
  BalanceEntry,
  Candle,
  CreateOrderRequest,
  Exchange,
  ExchangeOrder,
  ExchangeTrade,
  SymbolTrades,
  ExchangeTraits,
  Market,
  Ticker,
} from '../../src/trading/exchange/exchange';
import { simulatedMarketInfo, startPrice } from '../../src/trading/exchange/simulated-market';
import { createStrategy } from '../../src/trading/strategy/create-strategy';
import type { CancelTimer, Clock } from '../../src/shared/clock';
import { nowMs, summarize, type Summary } from './stats';

const CANDLE_MS = 60_000;

/**
 * The bench's own hand-moved clock, not the tests' FakeClock (test/support/fake-clock.ts): scripts/ never imports
 * test/ (eslint enforces it, docs/architecture.md "Import direction"), and this one costs nothing in the measured
 * tick — FakeClock records every sleep and keeps every armed timer in a list, work that would be timed with the tick.
 */
class ManualClock implements Clock {
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
  sleep(): Promise<void> {
    return Promise.resolve();
  }
  /** Time is moved by hand between ticks and no deadline is ever due here: a timer never fires. */
  timer(): CancelTimer {
    return () => undefined;
  }
}

/** Deterministic random walk, so every run trades the same way. */
function candlesFor(symbol: string, count: number, start: number, seed: number): Candle[] {
  let x = seed >>> 0 || 1;
  const rand = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  let price = startPrice(symbol);
  const out: Candle[] = [];
  for (let i = 0; i < count; i++) {
    const open = price;
    price = price * (1 + (rand() - 0.5) * 0.02);
    out.push([
      start + i * CANDLE_MS,
      open,
      Math.max(open, price) * 1.001,
      Math.min(open, price) * 0.999,
      price,
      1,
    ]);
  }
  return out;
}

/** An exchange in memory: market orders fill at once at the last close, limit orders rest. */
class InMemoryExchange implements Exchange {
  readonly id = 'bench';
  readonly traits: ExchangeTraits = {
    lookupGraceMs: 0,
    // its trade ids (`t1`, `t2`, …) are no numbers: time order
    fillOrder: 'time',
    clientOrderId: { maxLength: 64, pattern: /^[A-Za-z0-9-]{1,64}$/ },
    buyFeeCoin: 'quote',
    cancelFromEngine: true,
  };
  private readonly orders = new Map<string, ExchangeOrder>();
  private readonly byClient = new Map<string, string>();
  private readonly balance: Record<string, BalanceEntry> = { USDT: { free: 1e9, used: 0, total: 1e9 } };
  private nextId = 1;

  constructor(
    private readonly candles: Record<string, Candle[]>,
    private readonly clock: ManualClock,
    private readonly limit: number,
  ) {}

  private visible(symbol: string): Candle[] {
    const all = this.candles[symbol];
    // candles are CANDLE_MS apart from all[0][0]: the index of the first future one is arithmetic, not a search
    const end = Math.min(all.length, Math.max(0, Math.floor((this.clock.now() - all[0][0]) / CANDLE_MS) + 1));
    return all.slice(Math.max(0, end - this.limit), end);
  }

  async loadMarkets(): Promise<Record<string, Market>> {
    return Object.fromEntries(Object.keys(this.candles).map((s) => [s, simulatedMarketInfo(s)]));
  }
  async fetchTicker(symbol: string): Promise<Ticker> {
    const c = this.visible(symbol);
    const last = c[c.length - 1][4];
    return { symbol, last, bid: last, ask: last, timestamp: this.clock.now() };
  }
  async fetchCandles(symbol: string): Promise<Candle[]> {
    return this.visible(symbol);
  }
  async accountId(): Promise<string> {
    return 'bench';
  }
  async fetchRecentOrders(symbol: string): Promise<ExchangeOrder[]> {
    return [...this.orders.values()].filter((o) => o.symbol === symbol);
  }
  async createOrder(req: CreateOrderRequest): Promise<ExchangeOrder> {
    const id = String(this.nextId++);
    const price = req.price ?? (await this.fetchTicker(req.symbol)).last;
    const filled = req.type === 'market';
    const trade: ExchangeTrade = {
      id: `t${id}`,
      orderId: id,
      symbol: req.symbol,
      side: req.side,
      price,
      amount: req.amount,
      cost: price * req.amount,
      fee: { cost: 0, currency: 'USDT' },
      timestamp: this.clock.now(),
    };
    const order: ExchangeOrder = {
      id,
      clientOrderId: req.clientOrderId,
      symbol: req.symbol,
      side: req.side,
      type: req.type,
      price,
      amount: req.amount,
      filled: filled ? req.amount : 0,
      remaining: filled ? 0 : req.amount,
      average: filled ? price : undefined,
      status: filled ? 'closed' : 'open',
      timestamp: this.clock.now(),
      trades: filled ? [trade] : [],
    };
    this.orders.set(id, order);
    this.byClient.set(req.clientOrderId, id);
    return { ...order };
  }
  async fetchOrder(id: string): Promise<ExchangeOrder> {
    const o = this.orders.get(id);
    if (!o) throw new OrderNotFoundError(`order ${id} not found`, { orderId: id });
    return { ...o };
  }
  async fetchOrderByClientId(clientOrderId: string): Promise<ExchangeOrder> {
    const id = this.byClient.get(clientOrderId);
    if (!id) throw new OrderNotFoundError(`order ${clientOrderId} not found`, { clientOrderId });
    return this.fetchOrder(id);
  }
  async fetchOpenOrders(symbol?: string): Promise<ExchangeOrder[]> {
    return [...this.orders.values()].filter((o) => o.status === 'open' && (!symbol || o.symbol === symbol));
  }
  async fetchOrderTrades(id: string): Promise<ExchangeTrade[]> {
    return this.orders.get(id)?.trades ?? [];
  }
  async fetchSymbolTrades(symbol: string, since: number): Promise<SymbolTrades> {
    const trades = [...this.orders.values()]
      .filter((o) => o.symbol === symbol)
      .flatMap((o) => o.trades ?? [])
      .filter((t) => t.timestamp >= since);
    return { trades, complete: true };
  }
  async cancelOrder(id: string): Promise<ExchangeOrder> {
    const o = this.orders.get(id);
    if (!o) throw new OrderNotFoundError(`order ${id} not found`, { orderId: id });
    if (o.status === 'open') o.status = 'canceled';
    return { ...o };
  }
  async cancelOrderByClientId(clientOrderId: string): Promise<ExchangeOrder> {
    const id = this.byClient.get(clientOrderId);
    if (!id) throw new OrderNotFoundError(`order ${clientOrderId} not found`, { clientOrderId });
    return this.cancelOrder(id);
  }
  async fetchBalance(): Promise<Record<string, BalanceEntry>> {
    return this.balance;
  }
  async close(): Promise<void> {}
}

/** State kept in memory; a commit still pays JSON serialisation (the CPU half of a real commit). */
class InMemoryStore implements StateStore {
  data: TradingState = defaultTradingState();
  /** Changed only through commit and change, which the order side counts itself (counted-store.ts). */
  readonly version = 0;
  bytes = 0;
  async commit(mutate?: (d: TradingState) => void): Promise<void> {
    mutate?.(this.data);
    this.bytes = JSON.stringify(this.data).length;
  }
  change(mutate: (d: TradingState) => void): void {
    mutate(this.data);
  }
  async flush(): Promise<void> {}
}

class InMemoryHistory implements HistoryLog {
  entries: HistoryEntry[] = [];
  async append(entries: HistoryEntry[]): Promise<void> {
    this.entries.push(...entries);
  }
  async readAll(): Promise<HistoryEntry[]> {
    return [...this.entries];
  }
  async tail(n: number): Promise<HistoryEntry[]> {
    return n > 0 ? this.entries.slice(-n) : [];
  }
  isEmpty(): boolean {
    return this.entries.length === 0;
  }
}

export interface TickFigures {
  symbols: number;
  /** ms per tick. */
  perTick: Summary;
  /** ms per symbol (perTick median / symbols). */
  perSymbolMs: number;
  ordersPlaced: number;
}

export function symbolNames(n: number): string[] {
  const names = ['BTC/USDT', 'ETH/USDT'];
  for (let i = names.length; i < n; i++) names.push(`S${i}/USDT`);
  return names.slice(0, n);
}

export async function benchTick(symbols: number, ticks: number): Promise<TickFigures> {
  const names = symbolNames(symbols);
  const config: Config = configSchema().parse({
    trading: { symbols: names, risk: { maxOpenPositions: 1000, maxDrawdownPct: 100, maxDailyLossPct: 100 } },
  });
  const warmup = config.trading.candleLimit + 5;
  const start = Date.UTC(2026, 0, 1);
  const candles = Object.fromEntries(
    names.map((s, i) => [s, candlesFor(s, warmup + ticks + 10, start, 1000 + i)]),
  );
  const clock = new ManualClock(start + warmup * CANDLE_MS);
  const exchange = new InMemoryExchange(candles, clock, config.trading.candleLimit);
  const store = new InMemoryStore();
  const orders = wireOrders({
    exchange,
    store,
    history: new InMemoryHistory(),
    publisher: { publish: async () => undefined },
    markets: await exchange.loadMarkets(),
    botId: 'bench',
    orders: config.trading.orders,
    lookupTimeoutMs: config.trading.symbolReadTimeoutMs,
    clock,
    logger: silentLogger(),
  });
  const loop = new TradingLoop({
    orders,
    exchange,
    strategy: createStrategy(config.trading.strategy),
    config: config.trading,
    clock,
    logger: silentLogger(),
  });
  orders.manager.startAccepting();
  const samples: number[] = [];
  for (let i = -5; i < ticks; i++) {
    clock.t += CANDLE_MS;
    const t0 = nowMs();
    await loop.tick();
    if (i >= 0) samples.push(nowMs() - t0);
  }
  const perTick = summarize(samples);
  return { symbols, perTick, perSymbolMs: perTick.median / symbols, ordersPlaced: store.data.seq };
}
