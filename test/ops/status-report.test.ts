import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lastRunFromBreadcrumb } from '../../src/ops/last-run';
import type { Pm2ProcessView } from '../../src/ops/pm2-client';
import { formatStatus, htmlMarkup, plainMarkup } from '../../src/ops/render';
import { describeServiceState, serviceState } from '../../src/ops/service-state';
import { writeDelivery } from '../../src/ops/telegram-delivery';
import { writeConfigFailure } from '../../src/shared/lifecycle/config-failure';
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
    expect(text).to.include('trading — online, up 1 h 2 min, restarts 3, 50.0 MB, CPU 1.5%');
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
    expect(html).to.include('TCP link: DOWN for 30 s (ECONNREFUSED)');
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

  it("says which equity the risk limits judge when it is the bot's own (trading.risk.capital); nothing when unset", async () => {
    const report = (status: TradingStatus) =>
      buildStatusReport({ pm2: { list: async () => [] }, trading: async () => status, dataDir, now: NOW });
    const judged = formatStatus(
      await report(tradingStatus({ riskEquity: { equity: 1_950.5, capital: 2_000 } })),
      plainMarkup,
    );
    expect(judged).to.include('equity 10,123.45 USDT');
    expect(judged).to.include(
      "risk limits judge the bot's equity 1,950.50 USDT (capital 2,000.00 + its PnL), not the account's",
    );
    expect(formatStatus(await report(tradingStatus()), plainMarkup)).not.to.include('risk limits judge');
  });

  it('says orders in question hold their symbols, and that /settle lists them with the commands that settle each', async () => {
    const report = await buildStatusReport({
      pm2: { list: async () => [] },
      trading: async () => tradingStatus({ ordersHolding: 2 }),
      dataDir,
      now: NOW,
    });
    expect(formatStatus(report, plainMarkup)).to.include(
      '⚠️ 2 orders in question hold their symbols (stop-loss included) until found or settled by you: /settle ' +
        'lists them with the commands that settle each',
    );
  });

  it("says the API key's end (how far), and a key that cannot trade or may withdraw; nothing when all is well", async () => {
    const DAY = 86_400_000;
    const show = async (apiKey: TradingStatus['apiKey']): Promise<string> =>
      formatStatus(
        await buildStatusReport({
          pm2: { list: async () => [] },
          trading: async () => tradingStatus({ apiKey }),
          dataDir,
          now: NOW,
        }),
        plainMarkup,
      );
    const soon = await show({
      readAt: NOW,
      spotTrade: true,
      expiresAt: NOW + 3 * DAY,
      expiryField: 'Bybit expiredAt',
    });
    expect(soon).to.include(
      `⚠️ API key expires ${new Date(NOW + 3 * DAY).toISOString()} (in 3 d, Bybit expiredAt)`,
    );
    const past = await show({ readAt: NOW, expiresAt: NOW - 1, expiryField: 'Bybit expiredAt' });
    expect(past).to.include('API key EXPIRED at').and.to.include('trading stopped');
    const perms = await show({ readAt: NOW, spotTrade: false, withdraw: true });
    expect(perms).to.include('API key cannot trade spot').and.to.include('API key may withdraw');
    const fine = await show({ readAt: NOW, spotTrade: true, withdraw: false, ipBound: true });
    expect(fine).to.not.include('API key');
  });

  it('a refused API key is its own state: the key and what to check, never "UNREACHABLE"; an outage still is', async () => {
    const show = async (over: Partial<TradingStatus>): Promise<string> =>
      formatStatus(
        await buildStatusReport({
          pm2: { list: async () => [] },
          trading: async () =>
            tradingStatus({
              mode: 'live',
              exchange: 'bybit',
              loopState: 'waiting-exchange',
              lastTickAgeMs: null,
              exchangeReachable: false,
              exchangeUnreachableSince: NOW - 20_000,
              ...over,
            }),
          dataDir,
          now: NOW,
        }),
        plainMarkup,
      );
    const refused = await show({
      exchangeKeyRefused: true,
      exchangeError:
        'bybit refuses the API key: check EXCHANGE_API_KEY and EXCHANGE_SECRET in .env (bybit 10003)',
    });
    expect(refused).to.include('nothing is traded until it takes the key');
    expect(refused).to.include(
      "🔑 API key refused for 20 s: check EXCHANGE_API_KEY / EXCHANGE_SECRET (/ EXCHANGE_PASSWORD), the key's IP allow-list and its spot trading permission",
    );
    expect(refused).not.to.match(/unreachable/i);
    const account = await show({
      exchangeKeyRefused: true,
      exchangeAccountRefused: true,
      exchangeError: "bybit refuses the account's requests (code 10024, not the API key): compliance",
    });
    expect(account).to.include('nothing is traded until it takes the account');
    expect(account).to.include(
      "🔑 the account's requests refused for 20 s (not the API key): bybit refuses the account's requests (code 10024, not the API key): compliance",
    );
    expect(account).not.to.match(/API key refused|EXCHANGE_API_KEY/);
    const down = await show({ exchangeError: 'ECONNREFUSED' });
    expect(down).to.include('⚠️ exchange UNREACHABLE for 20 s').and.to.include('until it answers');
    expect(down).not.to.include('API key refused');
  });

  it('lists the symbols whose prices the exchange serves stale (no entries), since when and why; nothing when none', async () => {
    const show = async (staleSymbols: TradingStatus['staleSymbols']): Promise<string> =>
      formatStatus(
        await buildStatusReport({
          pm2: { list: async () => [] },
          trading: async () => tradingStatus({ staleSymbols }),
          dataDir,
          now: NOW,
        }),
        plainMarkup,
      );
    const stale = await show([
      {
        symbol: 'BTC/USDT',
        since: NOW - 7 * 60_000,
        reason: 'price 7 min old (closeTime), over the 5 min limit',
      },
    ]);
    expect(stale).to.include(
      '🧊 BTC/USDT prices stale for 7 min (price 7 min old (closeTime), over the 5 min limit): no entries',
    );
    expect(await show(undefined)).to.not.include('stale');
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

  it('"… ago" of a killed run counts from its death (PM2’s restart), not from the dead run’s start', async () => {
    // the dead run started 3 h ago; PM2 restarted it 20 s ago
    fs.writeFileSync(
      path.join(dataDir, 'trading.last-exit.json'),
      JSON.stringify({ kind: 'running', at: NOW - 3 * 3_600_000, startedAt: NOW - 3 * 3_600_000, pid: 1111 }),
    );
    const report = await buildStatusReport({
      pm2: { list: async () => [proc({ pid: 2222, uptimeMs: 20_000 })] },
      trading: () => Promise.reject(new Error('down')),
      dataDir,
      now: NOW,
    });
    expect(report.services[0]!.lastRun).to.include({ kind: 'killed', at: NOW - 20_000 });
    const text = formatStatus(report, plainMarkup);
    expect(text).to.match(/last run: killed \(.*\), 20 s ago/);
    expect(text).not.to.include('3h');
    // not restarted (yet): the time of death is unknown, and no "ago" is made up
    const stopped = await buildStatusReport({
      pm2: { list: async () => [proc({ pid: 0, status: 'stopped', uptimeMs: null })] },
      trading: () => Promise.reject(new Error('down')),
      dataDir,
      now: NOW,
    });
    expect(formatStatus(stopped, plainMarkup)).to.match(/last run: killed \([^\n]*\)\n/);
  });

  it('exit 78 reads "stopped: configuration error — fix <field>, then `npm start`", not PM2’s "waiting restart"', async () => {
    writeConfigFailure(dataDir, 'trading', {
      pid: 77,
      at: NOW - 5_000,
      problems: [
        {
          field: 'trading.symbols (file /srv/bn/config.json)',
          value: '"FOO/BAR"',
          message: 'no such market',
        },
      ],
    });
    const report = await buildStatusReport({
      pm2: {
        list: async () => [
          proc({ pid: 0, status: 'waiting restart', exitCode: 78, uptimeMs: null, restartDelayMs: 100 }),
        ],
      },
      trading: () => Promise.reject(new Error('down')),
      dataDir,
      now: NOW,
    });
    const text = formatStatus(report, plainMarkup);
    expect(text).to.include(
      '🔴 trading — stopped: configuration error — fix trading.symbols, then `npm start`',
    );
    expect(text).to.include('trading.symbols (file /srv/bn/config.json) = "FOO/BAR": no such market');
    expect(text).not.to.include('waiting restart');
    // without the service's record: where to look instead of a made-up field
    fs.rmSync(path.join(dataDir, 'trading.config-error.json'));
    const bare = await buildStatusReport({
      pm2: { list: async () => [proc({ pid: 0, status: 'stopped', exitCode: 78, uptimeMs: null })] },
      trading: () => Promise.reject(new Error('down')),
      dataDir,
      now: NOW,
    });
    expect(formatStatus(bare, plainMarkup)).to.include(
      'stopped: configuration error — see `npx pm2 logs trading --err`, fix the setting it names, then `npm start`',
    );
  });

  it('waiting restart after one crash vs a crash loop, with the next delay', () => {
    const once = serviceState(
      proc({ status: 'waiting restart', exitCode: 1, restartDelayMs: 100, backoffBaseMs: 100, restarts: 4 }),
    );
    expect(describeServiceState('trading', once)).to.equal(
      'restarting after a crash: next restart in ≤ 100 ms, last exit code 1',
    );
    const loop = serviceState(
      proc({
        status: 'waiting restart',
        exitCode: 1,
        restartDelayMs: 3_417,
        backoffBaseMs: 100,
        restarts: 9,
      }),
    );
    expect(describeServiceState('trading', loop)).to.equal(
      'crash-looping (9 restarts): next restart in ≤ 3.4 s, last exit code 1',
    );
    expect(
      describeServiceState('trading', serviceState(proc({ status: 'errored', unstableRestarts: 15 }))),
    ).to.equal('stopped by PM2 after 15 quick crashes in a row — fix the cause, then `npm start`');
  });

  it('shows where telegram’s alerts go when the Bot API refuses the token (read from its record, same pid only)', async () => {
    writeDelivery(dataDir, {
      pid: 99,
      alerts: 'log',
      problem: { kind: 'unauthorized', since: NOW - 120_000, detail: '401 Unauthorized' },
    });
    const list = async () => [proc(), proc({ name: 'telegram', pid: 99 })];
    const report = await buildStatusReport({
      pm2: { list },
      trading: async () => tradingStatus(),
      dataDir,
      now: NOW,
    });
    expect(formatStatus(report, plainMarkup)).to.include(
      '⚠️ Telegram rejects the bot token (401) for 2 min — alerts go to the log only',
    );
    const otherRun = await buildStatusReport({
      pm2: { list: async () => [proc(), proc({ name: 'telegram', pid: 100 })] },
      trading: async () => tradingStatus(),
      dataDir,
      now: NOW,
    });
    expect(otherRun.telegram).to.equal(undefined);
  });

  it('names the settings to change while telegram follows a group Telegram upgraded to a supergroup', async () => {
    writeDelivery(dataDir, {
      pid: 99,
      alerts: 'telegram',
      movedChats: [
        { from: '-4001', to: '-1004001', settings: ['TELEGRAM_CHAT_ID'] },
        { from: '-5', to: '-1005', settings: [] },
        { from: 'x', to: '-1', settings: ['TELEGRAM_CHAT_ID'] }, // not a chat id: not shown
      ],
    });
    const report = await buildStatusReport({
      pm2: { list: async () => [proc(), proc({ name: 'telegram', pid: 99 })] },
      trading: async () => tradingStatus(),
      dataDir,
      now: NOW,
    });
    const text = formatStatus(report, plainMarkup);
    expect(text).to.include('Telegram: alerts delivered to the chat');
    expect(text).to.include(
      '⚠️ Telegram upgraded group -4001 to a supergroup: its chat id is now -1004001. Change .env: TELEGRAM_CHAT_ID=-1004001',
    );
    // a chat no setting names: nothing to change, nothing said
    expect(text).not.to.include('-1005');
    expect(report.telegram!.movedChats).to.have.length(2);
  });

  it('breadcrumb rules: current run → unknown here; a dead running run → killed; clean/crash/stall as written', () => {
    const online = proc({ pid: 5 });
    const running = { kind: 'running' as const, pid: 5, startedAt: 0, at: 1 };
    expect(lastRunFromBreadcrumb(running, online, undefined, NOW)).to.equal(undefined);
    expect(
      lastRunFromBreadcrumb(running, proc({ pid: 5, status: 'stopped' }), undefined, NOW)!.kind,
    ).to.equal('killed');
    expect(lastRunFromBreadcrumb(running, undefined, undefined, NOW)!.kind).to.equal('killed');
    expect(lastRunFromBreadcrumb(running, undefined, 5, NOW)).to.equal(undefined); // alive outside PM2, says trading
    expect(
      lastRunFromBreadcrumb(
        { kind: 'crash', pid: 5, startedAt: 0, at: 1, reason: 'TypeError: x' },
        online,
        undefined,
        NOW,
      ),
    ).to.deep.equal({
      kind: 'crash',
      at: 1,
      reason: 'TypeError: x',
    });
    expect(lastRunFromBreadcrumb(undefined, online, undefined, NOW)).to.equal(undefined);
  });
});
