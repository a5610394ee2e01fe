/**
 * The trading daemon's answers over the internal TCP layer (methods in shared/ipc/protocol.ts). Handlers only
 * read state and call the engine; order-changing requests (close-all) go through the order manager, write-ahead
 * like any order, and are refused with NotReady until startup recovery has finished.
 *
 * PnL in `status`: `pnlToday` is realized PnL of the current UTC day on the exchange's clock (fills are dated on
 * it: TradingLoop.exchangeClock); `pnlTotal` is all realized PnL plus the
 * unrealized PnL of open positions at the last price. The `report` (/pnl, the daily summary) is built at the
 * exchange's time too: its `generatedAt` is that time, and its "today" and days are the exchange's UTC days.
 */
import { utcDay, type Clock } from '../../shared/clock';
import type { TradingConfig } from '../../shared/config/schema';
import { IpcError } from '../../shared/errors';
import {
  RpcErrorCode,
  type BalanceView,
  type LastExit,
  type PositionView,
  type TradingStatus,
  type ApiKeyStatus,
} from '../../shared/ipc/protocol';
import type { PnlReport, RpcMethod, RpcParams, RpcResult } from '../../shared/ipc/protocol';
import type { Exchange } from '../exchange/exchange';
import type { OrderBook } from '../engine/orders/order-book';
import { isFinal, orderView } from '../engine/orders/order-state';
import { pauseSummary } from '../engine/operator/pause-causes';
import { averageEntryPrice, realizedOnDay, realizedTotal, unrealizedPnl } from '../engine/books/pnl';
import type { TradingLoop } from '../engine/trading-loop';
import { ordersPage, type HistoryPages } from './orders-page';
import { readReport } from '../report/read-report';

/** The part of IpcServer the handlers need. */
export interface HandlerRegistry {
  handle<M extends RpcMethod>(
    method: M,
    fn: (params: RpcParams<M>) => Promise<RpcResult<M>> | RpcResult<M>,
  ): void;
}

export interface ControlDeps {
  loop: TradingLoop;
  orderBook: OrderBook;
  exchange: Exchange;
  config: TradingConfig;
  lastExit: LastExit;
  startedAt: number;
  version: string;
  /** The history journal, read page by page for `ordersPage`. */
  history: HistoryPages;
  /** History bytes read per `ordersPage` call (a quarter of the frame limit keeps every reply under it). */
  pageBytes: number;
  /** Highest event seq published (EventLog.lastSeq). */
  lastEventSeq: () => number;
  clock: Clock;
  /** The API key's own limits as last read (live: key-watch.ts); absent: none read. */
  apiKey?: () => ApiKeyStatus;
}

export function registerControlHandlers(server: HandlerRegistry, deps: ControlDeps): void {
  const { loop, orderBook, exchange, clock } = deps;

  const ready = (): void => {
    const state = loop.loopState;
    if (state === 'starting' || state === 'recovering') {
      throw new IpcError(
        `trading is ${state}: try again when recovery has finished`,
        { loopState: state },
        { code: RpcErrorCode.NotReady },
      );
    }
    if (state === 'stopping') {
      throw new IpcError('trading is stopping', { loopState: state }, { code: RpcErrorCode.Refused });
    }
  };

  const lastTickAgeMs = (): number | null => {
    const at = loop.snapshot().lastTickAt;
    return at === null ? null : Math.max(0, clock.now() - at);
  };

  server.handle('ping', () => ({
    now: clock.now(),
    pid: process.pid,
    loopState: loop.loopState,
    lastTickAgeMs: lastTickAgeMs(),
  }));

  server.handle('status', (): TradingStatus => {
    const snap = loop.snapshot();
    const books = orderBook.positions();
    let unrealized = 0;
    for (const book of Object.values(books))
      unrealized += unrealizedPnl(book, snap.lastPrices[book.symbol] ?? averageEntryPrice(book));
    return {
      botId: deps.config.app.botId,
      mode: deps.config.trading.mode,
      exchange: exchange.id,
      loopState: snap.loopState,
      paused: snap.pause !== null,
      pausedReason: snap.pause ? pauseSummary(snap.pause) : undefined,
      ordersHolding: loop.inDoubtOrders().filter((o) => o.holding !== undefined).length || undefined,
      equity: round(snap.equity),
      ...(snap.riskEquity
        ? { riskEquity: { ...snap.riskEquity, equity: round(snap.riskEquity.equity) } }
        : {}),
      quoteCurrency: snap.quoteCurrency,
      pnlToday: round(realizedOnDay(books, utcDay(loop.exchangeClock.now()))),
      pnlTotal: round(realizedTotal(books) + unrealized),
      openPositions: orderBook.openPositions().length,
      openOrders: orderBook.hotOrders().filter((o) => !isFinal(o.status)).length,
      lastTickAgeMs: lastTickAgeMs(),
      exchangeReachable: snap.exchangeReachable,
      exchangeUnreachableSince: snap.exchangeUnreachableSince,
      exchangeKeyRefused: snap.exchangeKeyRefused,
      exchangeAccountRefused: snap.exchangeAccountRefused,
      exchangeError: snap.exchangeError,
      apiKey: deps.apiKey?.(),
      staleSymbols: staleSymbols(snap.announcedStale, deps.config.trading.symbols),
      lastExit: deps.lastExit,
      startedAt: deps.startedAt,
      pid: process.pid,
      version: deps.version,
      lastEventSeq: deps.lastEventSeq(),
    };
  });

  /** Whether a fill of `symbol` since `since` (the position's opening) has its fee valued at an estimate. */
  const feeEstimatedSince = (symbol: string, since: number): boolean =>
    orderBook
      .hotOrders((o) => o.symbol === symbol)
      .some((o) => o.fills.some((f) => f.feeEstimated === true && f.timestamp >= since));
  server.handle('positions', (): PositionView[] => {
    const prices = loop.snapshot().lastPrices;
    return orderBook.openPositions().map((p) => ({
      symbol: p.symbol,
      amount: p.amount,
      averageEntryPrice: averageEntryPrice(p),
      lastPrice: prices[p.symbol],
      unrealizedPnl: round(unrealizedPnl(p, prices[p.symbol] ?? averageEntryPrice(p))),
      realizedPnl: round(p.realizedPnl),
      feesPaid: round(p.feesPaid),
      ...(feeEstimatedSince(p.symbol, p.openedAt ?? 0) ? { feesEstimated: true as const } : {}),
      openedAt: p.openedAt ?? 0,
    }));
  });

  server.handle('orders', () =>
    orderBook
      .hotOrders()
      .filter((o) => !isFinal(o.status))
      .map(orderView),
  );

  server.handle('ordersPage', (params) =>
    ordersPage(params.cursor, deps.history, orderBook.hotOrders(), deps.pageBytes),
  );

  server.handle('balance', async (): Promise<BalanceView> => {
    const currencies = await exchange.fetchBalance();
    const snap = loop.snapshot();
    return { currencies, equity: round(snap.equity), quoteCurrency: snap.quoteCurrency };
  });

  server.handle('pause', async (params) => {
    ready();
    const pause = await loop.pauseEntries(params.reason ?? 'paused by the operator', 'operator');
    return { paused: true, reason: pauseSummary(pause) };
  });

  server.handle('resume', async () => {
    ready();
    await loop.resumeEntries('operator');
    return { paused: loop.pause !== null };
  });

  server.handle('closeAll', async () => {
    ready();
    return loop.closeAll();
  });

  server.handle('inDoubtOrders', () => loop.inDoubtOrders());

  server.handle('settleOrder', async (params) => {
    ready();
    const decision = await loop.settleOrder(params);
    if (!decision.ok) {
      throw new IpcError(
        decision.refusal,
        { clientOrderId: params.clientOrderId },
        { code: RpcErrorCode.Refused },
      );
    }
    const { order } = decision;
    return { order: orderView(order), position: orderBook.positions()[order.symbol]?.amount ?? 0 };
  });

  server.handle('writeOff', async (params) => {
    ready();
    const decision = await loop.writeOff(params.symbol);
    if (!decision.ok) {
      throw new IpcError(decision.refusal, { symbol: params.symbol }, { code: RpcErrorCode.Refused });
    }
    return decision.result;
  });

  // One history scan at a time: callers asking while one runs (a /pnl pressed twice, the daily summary, the CLI)
  // share its answer instead of each folding the whole journal again.
  let reportInFlight: Promise<PnlReport> | undefined;
  server.handle('report', () => {
    reportInFlight ??= readReport({
      history: deps.history,
      pageBytes: deps.pageBytes,
      hotOrders: () => orderBook.hotOrders(),
      lots: () => orderBook.markets,
      fillOrder: orderBook.fillOrder,
      quoteCurrency: loop.snapshot().quoteCurrency,
      end: () => {
        const snap = loop.snapshot();
        let unrealized = 0;
        for (const p of orderBook.openPositions())
          unrealized += unrealizedPnl(p, snap.lastPrices[p.symbol] ?? averageEntryPrice(p));
        return {
          equity: snap.equity,
          ...(snap.riskEquity ? { riskEquity: snap.riskEquity } : {}),
          unrealized,
          openPositions: orderBook.openPositions().length,
        };
      },
      // fills are dated on the exchange's clock: the report's "today" and days are its UTC days
      now: () => loop.exchangeClock.now(),
    }).finally(() => (reportInFlight = undefined));
    return reportInFlight;
  });

  server.handle('reconcile', async () => {
    ready();
    const differences = await loop.reconcile();
    return { differences, checkedAt: clock.now() };
  });
}

function round(value: number): number {
  return Math.round(value * 1e8) / 1e8;
}

/**
 * The traded symbols told stale (stale-tickers.ts), for /status; undefined when none. A symbol no longer traded is
 * left out: no tick reads its ticker any more, so nothing would ever tell it fresh.
 */
function staleSymbols(
  announced: Readonly<Record<string, { since: number; reason: string }>>,
  traded: readonly string[],
): TradingStatus['staleSymbols'] {
  const list = Object.entries(announced)
    .filter(([symbol]) => traded.includes(symbol))
    .map(([symbol, s]) => ({ symbol, since: s.since, reason: s.reason }));
  return list.length > 0 ? list : undefined;
}
