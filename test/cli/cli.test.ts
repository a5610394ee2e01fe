/**
 * The compiled `byninja` CLI run as a child process (bin/byninja.js) against a real PM2 daemon in a temp PM2_HOME
 * and trading's control API served by the real IpcServer (stub state): output, --json and exit codes.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DAEMON_SCRIPTS, REPO_ROOT, Pm2Harness } from '../../harness/pm2';
import { TradingStub } from '../support/trading-stub';
import { systemClock } from '../../src/shared/clock';
import { CHART_HEIGHT, CHART_WIDTH } from '../../src/ops/equity-chart';
import { pngSize } from '../support/png';
import { Pm2Client } from '../../src/ops/pm2-client';
import { freePort } from '../../harness/ports';

const BIN = path.join(REPO_ROOT, 'bin/byninja.js');

const FIXTURE_APP = `'use strict';
process.on('SIGINT', () => process.exit(0));
setInterval(() => {}, 1000);
console.log('fixture started');
if (process.send) process.send('ready');
`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('byninja CLI (child process, real PM2) @slow', function () {
  this.timeout(60_000);
  let pm2h: Pm2Harness;
  let pm2: Pm2Client;
  let stub: TradingStub;

  before(async () => {
    pm2h = Pm2Harness.create('bn-cli-');
    pm2 = new Pm2Client({ pm2Home: pm2h.home, clock: systemClock });
    const script = path.join(pm2h.root, 'fixture-app.js');
    fs.writeFileSync(script, FIXTURE_APP);
    await pm2h.startScript('trading', script);
    stub = await TradingStub.start(pm2h.dataDir);
  });

  after(async () => {
    await stub?.close();
    await pm2?.disconnect();
    await pm2h?.stop();
  });

  function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [BIN, ...args],
        { env: pm2h.env({ BYNINJA_IPC_PORT: String(stub.port), ...env }), cwd: pm2h.root, timeout: 30_000 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
          resolve({ code, stdout: String(stdout), stderr: String(stderr) });
        },
      );
    });
  }

  it('--help prints the usage and the exit codes; usage errors exit 2', async () => {
    const help = await cli(['--help']);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.include('Usage: byninja <command>');
    expect(help.stdout).to.include('4   reconcile found differences');
    // exit 1 also for no answer in time on a live link (docs/operations.md says so too)
    expect(help.stdout).to.match(/1 {3}failure \([^)]*no answer\s+from trading in time/);
    for (const args of [
      [],
      ['frobnicate'],
      ['logs', 'trading', '-n', '0'],
      ['restart', 'everything'],
      ['status', '--bogus'],
    ]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.stderr).to.include('Usage: byninja');
    }
  });

  it('status --json: PM2 view and trading view, exit 0', async () => {
    const r = await cli(['status', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const report = JSON.parse(r.stdout);
    const trading = report.services.find((s: { name: string }) => s.name === 'trading');
    expect(trading.pm2.status).to.equal('online');
    expect(trading.pm2.restarts).to.equal(0);
    expect(report.services.find((s: { name: string }) => s.name === 'telegram').pm2).to.equal(undefined);
    expect(report.trading.reachable).to.equal(true);
    expect(report.trading.status.botId).to.equal('stubbot');
  });

  it('status prints readable text', async () => {
    const r = await cli(['status']);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/trading — online, up \d+/);
    expect(r.stdout).to.include('telegram — not managed by PM2');
    expect(r.stdout).to.include('equity 10,250.50 USDT');
    expect(r.stdout).not.to.include('<b>');
  });

  it('positions, orders --all, balance, pause and resume go through the TCP API (--json parses)', async () => {
    const positions = await cli(['positions', '--json']);
    expect(positions.code).to.equal(0);
    expect(JSON.parse(positions.stdout)[0].symbol).to.equal('BTC/USDT');
    const orders = await cli(['orders', '--all', '--json']);
    expect(JSON.parse(orders.stdout)[0].clientOrderId).to.equal('stubbot-7');
    expect(stub.state.calls).to.include('orders:all');
    const balance = await cli(['balance', '--json']);
    expect(JSON.parse(balance.stdout).equity).to.equal(10_250.5);
    const pause = await cli(['pause', '--reason', 'maintenance', '--json']);
    expect(JSON.parse(pause.stdout)).to.deep.equal({ paused: true, reason: 'maintenance' });
    expect(stub.state.status.paused).to.equal(true);
    // the pause it lifts is named; a second resume has nothing to lift
    const resume = await cli(['resume']);
    expect(resume.code).to.equal(0);
    expect(resume.stdout).to.include('Trading resumed (was paused: maintenance).');
    expect(stub.state.status.paused).to.equal(false);
    const again = await cli(['resume', '--json']);
    expect(again.code).to.equal(0);
    expect(JSON.parse(again.stdout)).to.deep.equal({ paused: false, wasPaused: null });
  });

  it('pnl and report --json: the results report, and --chart writes the equity curve PNG', async () => {
    const chart = path.join(pm2h.root, 'equity.png');
    const r = await cli(['report', '--json', '--chart', chart]);
    expect(r.code, r.stderr).to.equal(0);
    const report = JSON.parse(r.stdout);
    expect(report.periods.all).to.deep.equal({ realized: 4.79, trades: 3, wins: 2, fees: 7.21 });
    expect(report.chart.file).to.equal(chart);
    expect(pngSize(fs.readFileSync(chart))).to.deep.equal({ width: CHART_WIDTH, height: CHART_HEIGHT });
    const text = await cli(['pnl']);
    expect(text.code).to.equal(0);
    expect(text.stdout).to.include('PnL (USDT, realized; fees included)').and.include('win rate 67%');
  });

  it('--chart never writes through what is there: an old 0644 file becomes 0600, a symlink is replaced, not its target', async () => {
    const existing = path.join(pm2h.root, 'old.png');
    fs.writeFileSync(existing, 'old', { mode: 0o644 });
    fs.chmodSync(existing, 0o644);
    expect((await cli(['report', '--chart', existing])).code).to.equal(0);
    expect(fs.statSync(existing).mode & 0o777).to.equal(0o600);
    const target = path.join(pm2h.root, 'precious.txt');
    fs.writeFileSync(target, 'keep me', { mode: 0o644 });
    const link = path.join(pm2h.root, 'link.png');
    fs.symlinkSync(target, link);
    expect((await cli(['report', '--chart', link])).code).to.equal(0);
    expect(fs.readFileSync(target, 'utf8')).to.equal('keep me');
    expect(fs.lstatSync(link).isSymbolicLink()).to.equal(false);
    // a chart that cannot be written: the report is still printed, and the exit says it failed
    const nowhere = await cli(['report', '--chart', path.join(pm2h.root, 'no-such-dir', 'x.png')]);
    expect(nowhere.code).to.equal(1);
    expect(nowhere.stdout).to.include('PnL (USDT').and.include('equity chart NOT written');
  });

  it('closeall asks: without a terminal it needs --yes (exit 2, nothing done); --yes --json closes', async () => {
    const calls = stub.state.calls.length;
    const refused = await cli(['closeall']);
    expect(refused.code).to.equal(2);
    expect(refused.stderr).to.include('add --yes to confirm');
    expect(stub.state.calls.slice(calls)).not.to.include('closeAll');
    const done = await cli(['closeall', '--yes', '--json']);
    expect(done.code, done.stderr).to.equal(0);
    expect(JSON.parse(done.stdout)).to.deep.include({ paused: true, skipped: [] });
    expect(stub.state.calls).to.include('closeAll');
    stub.state.status = { ...stub.state.status, paused: false };
  });

  it('closeall not answered within the answer timeout trading gives it, the link up: exit 1, "no answer yet"', async () => {
    // trading's hello gives closeAll 300 ms, which the CLI raises to its ipc.requestTimeoutMs (5 s): a close-all
    // still selling after that is not "unreachable" (exit 3)
    const slow = await TradingStub.start(path.join(pm2h.root, 'slow-trading'), undefined, { closeAll: 300 });
    try {
      slow.state.closeAllMs = 8_000;
      const r = await cli(['closeall', '--yes'], { BYNINJA_IPC_PORT: String(slow.port) });
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stderr).to.include('no answer from trading yet').and.include('may still be running');
      expect(r.stderr).not.to.include('unreachable');
    } finally {
      await slow.close();
    }
  });

  it('settle lists the orders in question; settling one asks (--yes without a terminal), bad figures exit 2', async () => {
    const listed = await cli(['settle']);
    expect(listed.code, listed.stderr).to.equal(0);
    expect(listed.stdout).to.include('stubbot-9 BTC/USDT sell 0.002 (stop-loss)');
    expect(listed.stdout).to.include('byninja settle stubbot-9 none');
    const calls = stub.state.calls.length;
    const unasked = await cli(['settle', 'stubbot-9', 'none']);
    expect(unasked.code).to.equal(2);
    expect(unasked.stderr).to.include('add --yes to confirm');
    const bad = await cli(['settle', 'stubbot-9', 'filled', '0.002', '5e3', '--yes']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.include('the price "5e3" is not a decimal number above 0');
    expect(stub.state.calls.slice(calls)).not.to.include('settleOrder');
    const done = await cli(['settle', 'stubbot-9', 'none', '--yes']);
    expect(done.code, done.stderr).to.equal(0);
    expect(done.stdout).to.include('Order stubbot-9 settled: not carried out.');
    expect(stub.state.settled.at(-1)).to.deep.equal({
      clientOrderId: 'stubbot-9',
      outcome: 'not-carried-out',
    });
    // trading refuses the same order again (no longer in question): exit 1 with its reason
    const again = await cli(['settle', 'stubbot-9', 'none', '--yes']);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.include('no order stubbot-9');
  });

  it("writeoff asks (--yes without a terminal), a bad symbol exits 2, trading's refusal exits 1", async () => {
    stub.state.unsellable['ETH/USDT'] = {
      symbol: 'ETH/USDT',
      amount: 0.5,
      reason: 'delisted',
      realizedPnl: -1500,
      clientOrderId: 'write-off-ETHUSDT-1',
    };
    const calls = stub.state.calls.length;
    const unasked = await cli(['writeoff', 'ETH/USDT']);
    expect(unasked.code).to.equal(2);
    expect(unasked.stderr).to.include('add --yes to confirm');
    const bad = await cli(['writeoff', 'ETHUSDT', '--yes']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.include('is not a symbol like BTC/USDT');
    expect(stub.state.calls.slice(calls)).not.to.include('writeOff');
    const done = await cli(['writeoff', 'eth/usdt', '--yes', '--json']);
    expect(done.code, done.stderr).to.equal(0);
    expect(JSON.parse(done.stdout)).to.include({ symbol: 'ETH/USDT', amount: 0.5, reason: 'delisted' });
    expect(stub.state.writtenOff).to.include('ETH/USDT');
    const again = await cli(['writeoff', 'ETH/USDT', '--yes']);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.include('can still sell');
  });

  it('reconcile exits 0 when state agrees and 4 when it found differences', async () => {
    stub.state.differences = [];
    expect((await cli(['reconcile'])).code).to.equal(0);
    stub.state.differences = [
      { kind: 'order-status-differs', clientOrderId: 'stubbot-7', detail: 'local open, exchange filled' },
    ];
    const r = await cli(['reconcile', '--json']);
    expect(r.code).to.equal(4);
    expect(JSON.parse(r.stdout).differences).to.have.length(1);
    const text = await cli(['reconcile']);
    expect(text.stdout).to.include('order-status-differs stubbot-7: local open, exchange filled');
  });

  it('restart trading restarts it in PM2 and reports the new restart count', async () => {
    const before = (await pm2.describe('trading'))!;
    const r = await cli(['restart', 'trading', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const [outcome] = JSON.parse(r.stdout);
    expect(outcome).to.include({
      service: 'trading',
      ok: true,
      restartsBefore: before.restarts,
      restartsAfter: before.restarts + 1,
      status: 'online',
    });
    const after = (await pm2.describe('trading'))!;
    expect(after.restarts).to.equal(before.restarts + 1);
    expect(after.pid).not.to.equal(before.pid);
  });

  it('restart of a service PM2 does not manage fails with exit 1', async () => {
    const r = await cli(['restart', 'telegram']);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.include('telegram not restarted: PM2 does not manage "telegram"');
  });

  it('logs -n N shows the last lines of the PM2 logs, secrets redacted', async () => {
    const secret = 'cli-secret-exchange-key-123';
    const outLog = path.join(pm2h.logDir, 'trading.out.log');
    fs.appendFileSync(outLog, `line A\nkey ${secret}\nline C\n`);
    const r = await cli(['logs', 'trading', '-n', '2', '--json'], { EXCHANGE_API_KEY: secret });
    expect(r.code, r.stderr).to.equal(0);
    const tail = JSON.parse(r.stdout);
    expect(tail.sources.find((s: { kind: string }) => s.kind === 'out').lines).to.deep.equal([
      'key [REDACTED]',
      'line C',
    ]);
    expect(r.stdout).not.to.include(secret);
  });

  it('invalid configuration exits 78 with the problem named; status still prints PM2’s view', async () => {
    const r = await cli(['status'], { BYNINJA_IPC_PORT: 'not-a-port' });
    expect(r.code).to.equal(78);
    expect(r.stderr).to.include('BYNINJA_IPC_PORT');
    expect(r.stdout).to.match(/🟢 trading — online/);
    expect(r.stdout).to.include('not asked: the configuration above is invalid');
    const positions = await cli(['positions'], { BYNINJA_IPC_PORT: 'not-a-port' });
    expect(positions.code).to.equal(78);
    expect(positions.stdout).to.equal('');
  });

  it('a setting of one service only does not stop the CLI', async () => {
    const r = await cli(['status', '--json'], { TELEGRAM_CHAT_ID: 'not-a-number', BYNINJA_MODE: 'nope' });
    expect(r.code, r.stderr).to.equal(0);
  });

  it('doctor --json reports every check; exit 1 exactly when a check failed (invalid config)', async () => {
    const good = await cli(['doctor', '--json']);
    const goodResult = JSON.parse(good.stdout);
    expect(good.code).to.equal(goodResult.ok ? 0 : 1);
    expect(goodResult.checks.find((c: { name: string }) => c.name === 'configuration (trading)').ok).to.equal(
      true,
    );
    const bad = await cli(['doctor', '--json'], { BYNINJA_IPC_PORT: 'not-a-port' });
    expect(bad.code).to.equal(1);
    const config = JSON.parse(bad.stdout).checks.find(
      (c: { name: string }) => c.name === 'configuration (telegram)',
    );
    expect(config.ok).to.equal(false);
    expect(config.detail).to.include('BYNINJA_IPC_PORT');
  });

  it('PM2 not running: status says so, exits 1, and does not start a daemon', async () => {
    const emptyHome = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-nopm2-'));
    try {
      const r = await cli(['status', '--json'], { PM2_HOME: emptyHome });
      expect(r.code, r.stderr).to.equal(1);
      const report = JSON.parse(r.stdout);
      expect(report.pm2).to.deep.equal({ reachable: false, error: 'PM2 daemon is not running' });
      expect(report.trading.reachable).to.equal(true);
      expect(fs.existsSync(path.join(emptyHome, 'rpc.sock'))).to.equal(false);
      expect(fs.existsSync(path.join(emptyHome, 'pm2.pid'))).to.equal(false);
    } finally {
      fs.rmSync(emptyHome, { recursive: true, force: true });
    }
  });

  it('trading unreachable: status still prints PM2 and exits 3; trading commands exit 3', async () => {
    await stub.close();
    const r = await cli(['status', '--json']);
    expect(r.code).to.equal(3);
    const report = JSON.parse(r.stdout);
    expect(report.trading.reachable).to.equal(false);
    expect(report.services.find((s: { name: string }) => s.name === 'trading').pm2.status).to.equal('online');
    const positions = await cli(['positions']);
    expect(positions.code).to.equal(3);
    expect(positions.stderr).to.include('trading unreachable');
  });

  it("against the real trading daemon: status, pause/resume, reconcile, restart; the restarted run's clean end is reported", async function () {
    this.timeout(90_000);
    const port = await freePort();
    await pm2h.pm2(['delete', 'trading']);
    await pm2h.startScript('trading', DAEMON_SCRIPTS.trading, {
      env: { BYNINJA_IPC_PORT: String(port) },
    });
    const run = (args: string[]): Promise<Run> => cli(args, { BYNINJA_IPC_PORT: String(port) });

    const first = await run(['status', '--json']);
    expect(first.code, first.stderr + first.stdout).to.equal(0);
    const report = JSON.parse(first.stdout);
    expect(report.trading.reachable).to.equal(true);
    expect(report.trading.status.mode).to.equal('paper');
    expect(report.services[0].pm2.status).to.equal('online');

    expect(JSON.parse((await run(['pause', '--reason', 'cli test', '--json'])).stdout)).to.include({
      paused: true,
    });
    expect((await run(['resume'])).code).to.equal(0);

    const reconcile = await run(['reconcile', '--json']);
    expect([0, 4]).to.include(reconcile.code);
    expect(JSON.parse(reconcile.stdout).differences).to.be.an('array');

    const restart = await run(['restart', 'trading', '--json']);
    expect(restart.code, restart.stderr).to.equal(0);
    expect(JSON.parse(restart.stdout)[0]).to.include({ ok: true, restartsAfter: 1 });
    const after = await run(['status', '--json']);
    expect(after.code, after.stderr).to.equal(0);
    const trading = JSON.parse(after.stdout).services.find((s: { name: string }) => s.name === 'trading');
    expect(trading.pm2.restarts).to.equal(1);
    expect(trading.lastRun.kind).to.equal('clean');

    // the journal and the hot state of a real trading: a report, whatever it traded so far
    const results = await run(['report', '--json']);
    expect(results.code, results.stderr).to.equal(0);
    expect(JSON.parse(results.stdout).periods.all).to.have.keys('realized', 'trades', 'wins', 'fees');

    // stop and start one service, as Telegram's /restart has its CLI parity
    const stop = await run(['stop', 'trading', '--json']);
    expect(stop.code, stop.stderr).to.equal(0);
    expect(JSON.parse(stop.stdout)).to.deep.equal([{ service: 'trading', action: 'stopped', ok: true }]);
    expect((await pm2.describe('trading'))!.status).to.equal('stopped');
    const again = await run(['stop', 'trading', '--json']);
    expect(JSON.parse(again.stdout)[0]).to.include({ action: 'already-stopped', ok: true });
    const start = await run(['start', 'trading', '--json']);
    expect(start.code, start.stderr + start.stdout).to.equal(0);
    expect(JSON.parse(start.stdout)[0]).to.include({ service: 'trading', action: 'started', ok: true });
    expect((await pm2.describe('trading'))!.status).to.equal('online');
    const bad = await run(['stop', 'nothing']);
    expect(bad.code).to.equal(2);
  });
});
