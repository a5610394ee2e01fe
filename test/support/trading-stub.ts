/**
 * A stand-in for the trading daemon's control API in bot and CLI tests: the real IpcServer on a random loopback
 * port with a real EventLog, answering from a small in-memory state that tests can change and inspect
 * (pause/resume/closeAll really change it). The token is written to `<dataDir>/ipc.token` like trading does.
 */
import fs from 'node:fs';
import path from 'node:path';
import { systemClock } from '../../src/shared/clock';
import { IpcError } from '../../src/shared/errors';
import { EventLog } from '../../src/shared/ipc/event-log';
import { RpcErrorCode, type RpcMethod } from '../../src/shared/ipc/protocol';
import { configSchema } from '../../src/shared/config/schema';
import { answerTimeoutsMs } from '../../src/trading/control/answer-timeouts';
import type {
  InDoubtOrderView,
  OrderView,
  PositionView,
  ReconcileDifference,
  SettleOrderParams,
  WriteOffResult,
  TradingStatus,
} from '../../src/shared/ipc/protocol';
import { IpcServer } from '../../src/shared/ipc/server';
import { silentLogger } from '../../src/shared/logging/logger';
import type { LocalOrder } from '../../src/trading/engine/orders/order-state';
import { PnlReportBuilder } from '../../src/trading/report/pnl-report';
import { localOrder } from './local-order';

export interface TradingStubState {
  status: TradingStatus;
  positions: PositionView[];
  orders: OrderView[];
  differences: ReconcileDifference[];
  /** Orders in question (`inDoubtOrders`); `settleOrder` takes one out and records what it was told in `settled`. */
  inDoubt: InDoubtOrderView[];
  settled: SettleOrderParams[];
  calls: string[];
  /** When the report says it was built (a test on a fake clock sets its own). */
  reportTime: () => number;
  /** How long closeAll works before it answers (a real close-all waits for busy symbols, then sells): default 0. */
  closeAllMs?: number;
  /** Set: closeAll, once its closeAllMs is over, refuses with this (trading's answer is an error: nothing sold). */
  closeAllRefusal?: string;
  /** Holdings the bot cannot sell, by symbol: `writeOff` writes one off (and records it); any other is refused. */
  unsellable: Record<string, WriteOffResult>;
  writtenOff: string[];
}

export class TradingStub {
  private constructor(
    private readonly server: IpcServer,
    private readonly eventLog: EventLog,
    readonly port: number,
    readonly token: string,
    readonly state: TradingStubState,
  ) {}

  /**
   * `answerTimeoutsMs`: what the hello answer tells clients to wait for the slow methods; default trading's own
   * for its default settings (trading/control/answer-timeouts.ts).
   */
  static async start(
    dataDir: string,
    token = 'test-ipc-token-0123456789abcdef',
    answerTimeouts: Partial<Record<RpcMethod, number>> = answerTimeoutsMs(configSchema().parse({}).trading),
  ): Promise<TradingStub> {
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(path.join(dataDir, 'ipc.token'), token, { mode: 0o600 });
    const eventLog = await EventLog.open(path.join(dataDir, 'stub-events'), {
      retention: 100,
      clock: systemClock,
    });
    const server = new IpcServer({
      clock: systemClock,
      host: '127.0.0.1',
      port: 0,
      token,
      maxFrameBytes: 1024 * 1024,
      maxClients: 8,
      idleTimeoutMs: 60_000,
      logger: silentLogger(),
      eventLog,
      answerTimeoutsMs: answerTimeouts,
    });
    const now = Date.now();
    const state: TradingStubState = {
      status: {
        botId: 'stubbot',
        mode: 'paper',
        exchange: 'paper',
        loopState: 'running',
        paused: false,
        equity: 10_250.5,
        quoteCurrency: 'USDT',
        pnlToday: 12.25,
        pnlTotal: 250.5,
        openPositions: 1,
        openOrders: 1,
        lastTickAgeMs: 800,
        exchangeReachable: true,
        lastExit: { kind: 'clean', at: now - 60_000 },
        startedAt: now - 120_000,
        pid: process.pid,
        version: '0.1.0',
        lastEventSeq: 0,
      },
      positions: [
        {
          symbol: 'BTC/USDT',
          amount: 0.01,
          averageEntryPrice: 60_000,
          lastPrice: 61_000,
          unrealizedPnl: 10,
          realizedPnl: 0,
          feesPaid: 0.6,
          openedAt: now - 3_600_000,
        },
      ],
      orders: [
        {
          clientOrderId: 'stubbot-7',
          symbol: 'ETH/USDT',
          side: 'buy',
          type: 'limit',
          amount: 0.5,
          price: 3000,
          filled: 0,
          status: 'open',
          purpose: 'entry',
          createdAt: now - 1000,
          updatedAt: now - 1000,
        },
      ],
      differences: [],
      inDoubt: [
        {
          clientOrderId: 'stubbot-9',
          symbol: 'BTC/USDT',
          side: 'sell',
          type: 'market',
          amount: 0.002,
          filled: 0,
          status: 'rejected',
          purpose: 'stop-loss',
          createdAt: now - 7_200_000,
          updatedAt: now - 7_000_000,
          endedAt: now - 7_000_000,
          ended: 'never-placed',
          inDoubtAt: now - 6_900_000,
          holding: 'the account moved as if it was carried out',
        },
      ],
      settled: [],
      unsellable: {},
      writtenOff: [],
      calls: [],
      reportTime: () => Date.now(),
    };
    const record = (m: string): void => {
      state.calls.push(m);
    };
    server.handle('ping', () => ({
      now: Date.now(),
      pid: process.pid,
      loopState: state.status.loopState,
      lastTickAgeMs: 1,
    }));
    server.handle('status', () => (record('status'), state.status));
    server.handle('positions', () => (record('positions'), state.positions));
    server.handle('orders', () => (record('orders:open'), state.orders));
    // two pages: the first order, then the rest (a client must follow nextCursor)
    server.handle('ordersPage', (p) => {
      record('orders:all');
      return p.cursor === undefined
        ? { orders: state.orders.slice(0, 1), nextCursor: state.orders.length > 1 ? 'rest' : null }
        : { orders: state.orders.slice(1), nextCursor: null };
    });
    server.handle('balance', () => {
      record('balance');
      return {
        currencies: {
          USDT: { free: 9000, used: 650, total: 9650 },
          BTC: { free: 0.01, used: 0, total: 0.01 },
        },
        equity: 10_250.5,
        quoteCurrency: 'USDT',
      };
    });
    server.handle('pause', (p) => {
      record('pause');
      state.status = { ...state.status, paused: true, ...(p.reason ? { pausedReason: p.reason } : {}) };
      return { paused: true, ...(p.reason ? { reason: p.reason } : {}) };
    });
    server.handle('resume', () => {
      record('resume');
      state.status = { ...state.status, paused: false };
      return { paused: false };
    });
    server.handle('closeAll', async () => {
      record('closeAll');
      if (state.closeAllMs) await new Promise((r) => setTimeout(r, state.closeAllMs));
      if (state.closeAllRefusal)
        throw new IpcError(state.closeAllRefusal, {}, { code: RpcErrorCode.Refused });
      const ids = state.positions.map((_, i) => `stubbot-close-${i}`);
      state.positions = [];
      state.status = { ...state.status, paused: true, pausedReason: 'close-all' };
      return { orders: ids, cancelled: [], skipped: [], paused: true };
    });
    server.handle('inDoubtOrders', () => (record('inDoubtOrders'), state.inDoubt));
    server.handle('settleOrder', (p) => {
      record('settleOrder');
      const order = state.inDoubt.find((o) => o.clientOrderId === p.clientOrderId);
      if (!order) {
        throw new IpcError(
          `no order ${p.clientOrderId} is in the bot's state`,
          {},
          { code: RpcErrorCode.Refused },
        );
      }
      state.inDoubt = state.inDoubt.filter((o) => o !== order);
      state.settled.push(p);
      const carried = p.outcome === 'carried-out';
      return {
        order: {
          ...order,
          status: carried ? 'filled' : order.status,
          filled: carried ? p.executed! : order.filled,
          averagePrice: carried ? p.averagePrice : order.averagePrice,
        },
        position: 0,
      };
    });
    server.handle('writeOff', (p) => {
      record('writeOff');
      const held = state.unsellable[p.symbol];
      if (!held) {
        throw new IpcError(
          `the bot can still sell its ${p.symbol} (or holds none)`,
          {},
          { code: RpcErrorCode.Refused },
        );
      }
      delete state.unsellable[p.symbol];
      state.writtenOff.push(p.symbol);
      return held;
    });
    server.handle('report', () => {
      record('report');
      return stubReport(state.reportTime());
    });
    server.handle(
      'reconcile',
      () => (record('reconcile'), { differences: state.differences, checkedAt: Date.now() }),
    );
    const { port } = await server.listen();
    return new TradingStub(server, eventLog, port, token, state);
  }

  /** Stops the control API and the event log; again is a no-op (a test may take trading away mid-test). */
  async close(): Promise<void> {
    this.closing ??= (async () => {
      await this.server.close();
      await this.eventLog.close();
    })();
    await this.closing;
  }

  private closing: Promise<void> | undefined;
}

/** A filled order of `symbol` with one fill (fee in the quote currency). */
export function filledOrder(
  id: string,
  symbol: string,
  side: 'buy' | 'sell',
  amount: number,
  price: number,
  at: number,
  fee = 0,
): LocalOrder {
  return localOrder({
    clientOrderId: id,
    exchangeOrderId: `x-${id}`,
    symbol,
    side,
    amount,
    filled: amount,
    averagePrice: price,
    status: 'filled',
    purpose: side === 'buy' ? 'entry' : 'exit',
    createdAt: at,
    updatedAt: at,
    fills: [
      {
        orderId: `x-${id}`,
        clientOrderId: id,
        tradeId: `t-${id}`,
        symbol,
        side,
        price,
        amount,
        feeCost: fee,
        feeCurrency: 'USDT',
        timestamp: at,
      },
    ],
  });
}

/** Three round trips over two days (+10, -4, +6 before fees), built by the real report builder. */
export function stubReport(now: number): ReturnType<PnlReportBuilder['finish']> {
  const builder = new PnlReportBuilder({ now, quoteCurrency: 'USDT', lots: {}, fillOrder: 'trade-id' });
  const h = 3_600_000;
  builder.add(filledOrder('s-1', 'BTC/USDT', 'buy', 0.01, 60_000, now - 40 * h, 0.6));
  builder.add(filledOrder('s-2', 'BTC/USDT', 'sell', 0.01, 61_000, now - 30 * h, 0.61));
  builder.add(filledOrder('s-3', 'ETH/USDT', 'buy', 1, 3_000, now - 20 * h, 3));
  builder.add(filledOrder('s-4', 'ETH/USDT', 'sell', 1, 2_996, now - 10 * h, 3));
  builder.add(filledOrder('s-5', 'BTC/USDT', 'buy', 0.01, 60_000, now - 5 * h));
  builder.add(filledOrder('s-6', 'BTC/USDT', 'sell', 0.01, 60_600, now - 2 * h));
  return builder.finish({ equity: 10_250.5, unrealized: 10, openPositions: 1 });
}
