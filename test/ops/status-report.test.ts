import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lastRunFromBreadcrumb } from '../../src/ops/last-run';
import type { Pm2ProcessView } from '../../src/ops/pm2-client';
import { formatStatus, htmlMarkup, plainMarkup } from '../../src/ops/render';
import { buildStatusReport } from '../../src/ops/status-report';
import type { TradingRpc } from '../../src/ops/trading-client';
import { IpcError } from '../../src/shared/errors';
import type { TradingStatus } from '../../src/shared/ipc/protocol';

const NOW = 1_700_000_000_000;

function proc(over: Partial<Pm2ProcessView> = {}): Pm2ProcessView {
  return {
    name: 'trading',
    pmId: 0,
    pid: 4242,
    status: 'online',
    restarts: 3,
    unstableRestarts: 0,
    uptimeMs: 3_723_000,
    memoryBytes: 50 * 1024 * 1024,
    cpuPercent: 1.5,
    ...over,
  };
}

function tradingStatus(over: Partial<TradingStatus> = {}): TradingStatus {
  return {
    botId: 'byninja',
    mode: 'paper',
    exchange: 'paper',
    loopState: 'running',
    paused: false,
    equity: 10_123.45,
    quoteCurrency: 'USDT',
    pnlToday: 12.5,
    pnlTotal: -3,
    openPositions: 1,
    openOrders: 2,
    lastTickAgeMs: 1500,
    exchangeReachable: true,
    lastExit: { kind: 'crash', at: NOW - 600_000, reason: 'exit code 1' },
    startedAt: NOW - 3_723_000,
    pid: 4242,
    version: '0.1.0',
    lastEventSeq: 17,
    ...over,
  };
}

describe('ops status report', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-status-'));
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('shows PM2 view and says trading is unreachable when the TCP call fails', async () => {
    const trading: TradingRpc = {
      connected: true,
      call: async () => {
        throw new IpcError('status: timed out after 5000 ms');
      },
    };
    const report = await buildStatusReport({
      pm2: { list: async () => [proc(), proc({ name: 'telegram', pid: 99, restarts: 0 })] },
      trading,
      dataDir,
      now: NOW,
    });
    expect(report.trading).to.deep.equal({ reachable: false, reason: 'status: timed out after 5000 ms' });
    const text = formatStatus(report, plainMarkup);
    expect(text).to.include('trading — online, up 1h 2m, restarts 3, 50.0 MB, CPU 1.5%');
    expect(text).to.include('telegram — online');
    expect(text).to.include('Trading unreachable: status: timed out after 5000 ms');
  });

  it('a down TCP link is reported as unreachable without calling trading', async () => {
    let called = false;
    const report = await buildStatusReport({
      pm2: { list: async () => [proc()] },
      trading: {
        connected: false,
        call: async () => {
          called = true;
          throw new Error('unexpected');
        },
      },
      dataDir,
      link: { up: false, reason: 'ECONNREFUSED', since: NOW - 30_000 },
      outboxDepth: 4,
      now: NOW,
    });
    expect(called).to.equal(false);
    const html = formatStatus(report, htmlMarkup);
    expect(html).to.include('Trading unreachable');
    expect(html).to.include('TCP link: DOWN for 30s (ECONNREFUSED)');
    expect(html).to.include('Outbox: 4 waiting');
  });

  it("shows trading's own view and its previous run when reachable; PM2 unreachable is said, not fatal", async () => {
    const status = tradingStatus({ paused: true, pausedReason: 'max drawdown <20%>' });
    const report = await buildStatusReport({
      pm2: {
        list: async () => {
          throw new Error('PM2 daemon is not running');
        },
      },
      trading: async () => status,
      dataDir,
      now: NOW,
    });
    const html = formatStatus(report, htmlMarkup);
    expect(html).to.include('PM2 unreachable: PM2 daemon is not running');
    expect(html).to.include('not managed by PM2');
    expect(html).to.include('paused: max drawdown &lt;20%&gt;'); // escaped
    expect(html).to.include('equity 10,123.45 USDT');
    expect(report.services.find((s) => s.name === 'trading')!.lastRun).to.deep.equal(status.lastExit);
  });

  it('a leftover "running" breadcrumb of another pid means the last run was killed', async () => {
    fs.writeFileSync(
      path.join(dataDir, 'trading.last-exit.json'),
      JSON.stringify({ kind: 'running', at: NOW - 5000, startedAt: NOW - 9000, pid: 1111 }),
    );
    const report = await buildStatusReport({
      pm2: { list: async () => [proc({ pid: 2222 })] },
      trading: async () => tradingStatus(),
      dataDir,
      now: NOW,
    });
    expect(report.services[0]!.lastRun!.kind).to.equal('killed');
  });

  it('breadcrumb rules: current run → unknown here; a dead running run → killed; clean/crash/stall as written', () => {
    const online = proc({ pid: 5 });
    const running = { kind: 'running' as const, pid: 5, startedAt: 0, at: 1 };
    expect(lastRunFromBreadcrumb(running, online)).to.equal(undefined);
    expect(lastRunFromBreadcrumb(running, proc({ pid: 5, status: 'stopped' }))!.kind).to.equal('killed');
    expect(lastRunFromBreadcrumb(running, undefined)!.kind).to.equal('killed');
    expect(lastRunFromBreadcrumb(running, undefined, 5)).to.equal(undefined); // alive outside PM2, says trading
    expect(
      lastRunFromBreadcrumb({ kind: 'crash', pid: 5, startedAt: 0, at: 1, reason: 'TypeError: x' }, online),
    ).to.deep.equal({
      kind: 'crash',
      at: 1,
      reason: 'TypeError: x',
    });
    expect(lastRunFromBreadcrumb(undefined, online)).to.equal(undefined);
  });
});
