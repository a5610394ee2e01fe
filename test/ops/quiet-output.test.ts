/**
 * Each piece of noise or small lie a first run showed (issue 15), pinned so it does not come back. The pure ones
 * here; the daemon's own start lines and the CLI's connections are checked on a real trading process below.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatOrders, formatPositions, formatStatus, plainMarkup } from '../../src/ops/render';
import type { StatusReport } from '../../src/ops/status-report';
import type { OrderView, RecoverySummary, TradingEvent, TradingStatus } from '../../src/shared/ipc/protocol';
import { configSchema } from '../../src/shared/config/schema';
import { positionChangeEvents } from '../../src/trading/engine/orders/order-events';
import { emptyBook } from '../../src/trading/engine/books/pnl';
import { describeRecovery } from '../../src/trading/engine/start/recovery';
import { eventNotification, recoveryText } from '../../src/telegram/supervisor/trading-event-text';
import { runCli } from '../support/cli';
import { freePort } from '../../harness/ports';
import { TRADING_TEST_TOKEN, TradingDaemon, daemonEnv } from '../support/trading-daemon';

const SETTINGS = configSchema().parse({}).telegram.notifications;
const ev = (
  type: TradingEvent['type'],
  summary: string,
  data: Record<string, unknown> = {},
): TradingEvent => ({
  seq: 1,
  ts: 0,
  type,
  summary,
  data,
});

describe('output without noise or small lies (issue 15)', () => {
  it('an event message says its title once: "Order filled" then the order, not "Order filled: …" again', () => {
    const n = eventNotification(
      ev('order.filled', 'Order filled: buy 0.001 BTC/USDT (entry, b-1) at 100'),
      SETTINGS,
    )!;
    expect(n.text).to.equal('✅ <b>Order filled</b>\nbuy 0.001 BTC/USDT (entry, b-1) at 100');
  });

  it('a closed position says its PnL once', () => {
    const n = eventNotification(
      ev('position.closed', 'Position closed: BTC/USDT, PnL -1.07', { realizedPnl: -1.07 }),
      SETTINGS,
    )!;
    expect(n.text.match(/PnL/g)).to.have.length(1);
    expect(n.text).to.equal('📉 <b>Position closed</b>\nBTC/USDT, PnL -1.07');
  });

  it('status names the paper venue once: "paper, simulated market", never "paper, paper"', () => {
    const status = { mode: 'paper', exchange: 'paper', botId: 'b', version: '1' } as unknown as TradingStatus;
    const report = {
      generatedAt: 0,
      pm2: { reachable: true },
      services: [],
      trading: {
        reachable: true,
        status: {
          ...status,
          loopState: 'running',
          equity: 1,
          pnlToday: 0,
          pnlTotal: 0,
          openPositions: 0,
          openOrders: 0,
          lastTickAgeMs: 0,
          exchangeReachable: true,
          quoteCurrency: 'USDT',
          paused: false,
        },
      },
    } as unknown as StatusReport;
    const text = formatStatus(report, plainMarkup);
    expect(text).to.include('Trading (paper, simulated market, b v1)');
    expect(text).not.to.include('paper, paper');
  });

  it('a filled order reads "filled @ price", never "filled, filled 0.00163"', () => {
    const order: OrderView = {
      clientOrderId: 'b-1',
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'market',
      amount: 0.00163,
      filled: 0.00163,
      averagePrice: 58481.45,
      status: 'filled',
      purpose: 'entry',
    } as OrderView;
    const text = formatOrders(
      [order, { ...order, clientOrderId: 'b-2', status: 'open', filled: 0, averagePrice: undefined }],
      true,
      plainMarkup,
    );
    expect(text).to.include('filled @ 58481.45, entry');
    expect(text).to.include('open, nothing filled, entry');
    expect(text).not.to.match(/filled, filled/);
  });

  it('the entry price says it includes the fees, in /positions and in "Position opened"', () => {
    const text = formatPositions(
      [
        {
          symbol: 'BTC/USDT',
          amount: 0.001,
          averageEntryPrice: 100.1,
          unrealizedPnl: 0,
          realizedPnl: 0,
          feesPaid: 0.1,
          openedAt: 0,
        },
      ],
      'USDT',
      plainMarkup,
      0,
    );
    expect(text).to.include('@ 100.1 (cost per unit, fees included)');
    // a position whose opening is not known (openedAt 0: what an earlier round trip left became a position again)
    // is not "open 20,000 days"
    expect(text).to.include('· left by an earlier trade').and.not.include('open ');
    const opened5m = formatPositions(
      [
        {
          symbol: 'BTC/USDT',
          amount: 0.001,
          averageEntryPrice: 100.1,
          unrealizedPnl: 0,
          realizedPnl: 0,
          feesPaid: 0,
          openedAt: 1,
        },
      ],
      'USDT',
      plainMarkup,
      1 + 5 * 60_000,
    );
    expect(opened5m).to.include('· open 5 min');
    const [opened] = positionChangeEvents(
      'BTC/USDT',
      undefined,
      undefined,
      {
        ...emptyBook('BTC/USDT'),
        amount: 0.001,
        costBasis: 0.1001,
        openedAt: 1,
      },
      100.1,
    );
    expect(opened!.summary).to.equal('Position opened: 0.001 BTC/USDT, cost 100.1 per unit (fees included)');
  });

  it('recovery counts open orders (not the finished ones state keeps) and says "1 open position"', () => {
    const summary: RecoverySummary = {
      lastExit: { kind: 'clean' },
      restoredOrders: 10,
      openOrders: 0,
      restoredPositions: 1,
      changedWhileDown: [],
      resolvedUnknown: [],
      adopted: [],
      cancelledUnknown: [],
      newFills: 0,
      durationMs: 2,
    };
    expect(recoveryText(summary)).to.include('restored 0 open orders, 1 open position');
    expect(describeRecovery(summary)).to.include('0 open orders, 1 open position');
    expect(describeRecovery({ ...summary, openOrders: 1, restoredPositions: 2 })).to.include(
      '1 open order, 2 open positions',
    );
  });

  describe('a real trading process @slow', function () {
    this.timeout(60_000);
    let root: string;
    let daemon: TradingDaemon | undefined;
    afterEach(async () => {
      await daemon?.stop();
      fs.rmSync(root, { recursive: true, force: true });
    });

    it('logs its listening port and the paper line once at start, and CLI calls add no info lines', async () => {
      root = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-quiet-'));
      const port = await freePort();
      const env = daemonEnv(root, port);
      daemon = new TradingDaemon(root, env);
      await daemon.ready;
      const log = daemon.log();
      expect(log.match(/listening/gi)).to.have.length(1);
      expect(log.match(/Paper trading/g)).to.have.length(1);
      const before = daemon.log().length;
      for (let i = 0; i < 3; i++) {
        const run = await runCli(['positions'], {
          env: { ...env, BYNINJA_IPC_TOKEN: TRADING_TEST_TOKEN },
          cwd: root,
        });
        expect(run.code).to.equal(0);
      }
      await new Promise((r) => setTimeout(r, 300));
      expect(daemon.log().slice(before)).not.to.match(/IPC client (connected|disconnected)/);
    });
  });
});
