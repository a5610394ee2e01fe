/**
 * Issue 12 holes 3 and 4 with the real trading daemon and the real CLI: a state file that is valid JSON with a
 * wrong type inside is quarantined and the previous generation used (no crash loop); when both generations are
 * bad trading refuses (exit 78) — and keeps refusing on a plain restart — until `byninja state restore` or
 * `byninja state reset`.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultTradingState, type TradingState } from '../../src/trading/engine/state/trading-state';
import { runCli } from '../support/cli';
import { freePort } from '../../harness/ports';
import { daemonEnv, TradingDaemon } from '../support/trading-daemon';

const PAUSE_REASON = 'operator hold before the FOMC';

function envelope(data: unknown): string {
  return JSON.stringify({ version: 1, savedAt: 1_700_000_000_000, data });
}

function goodState(): TradingState {
  return {
    ...defaultTradingState(),
    seq: 7,
    pause: { reason: PAUSE_REASON, by: 'operator', at: 1_700_000_000_000 },
  };
}

/** A filled order whose fill price is "abc": valid JSON, wrong type (it crash-looped derivePositions before). */
function stateWithBadFillPrice(): unknown {
  const state = goodState() as unknown as Record<string, unknown>;
  state.orders = {
    'sec-3': {
      clientOrderId: 'sec-3',
      exchangeOrderId: '3',
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'market',
      amount: 0.001,
      filled: 0.001,
      status: 'filled',
      purpose: 'entry',
      createdAt: 1_700_000_000_000,
      updatedAt: 1_700_000_000_000,
      fills: [
        {
          orderId: '3',
          clientOrderId: 'sec-3',
          tradeId: 't1',
          symbol: 'BTC/USDT',
          side: 'buy',
          price: 'abc',
          amount: 0.001,
          feeCost: 0,
          feeCurrency: 'USDT',
          timestamp: 1_700_000_000_000,
        },
      ],
    },
  };
  return state;
}

/** A checkpoint amount "lots": it turned equity into null and disabled the drawdown kill switch before. */
function stateWithBadCheckpoint(): unknown {
  const state = goodState() as unknown as Record<string, unknown>;
  state.checkpoint = {
    'BTC/USDT': {
      symbol: 'BTC/USDT',
      amount: 'lots',
      costBasis: 0,
      realizedPnl: 0,
      feesPaid: 0,
      openedAt: null,
      tripRealizedPnl: 0,
      realizedByDay: {},
    },
  };
  return state;
}

describe('state files: full schema, previous generation, blocked until the operator acts @slow', function () {
  this.timeout(90_000);
  let root: string;
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  const daemons: TradingDaemon[] = [];

  beforeEach(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-sec-state-'));
    dataDir = path.join(root, 'data');
    fs.mkdirSync(dataDir, { mode: 0o700 });
    env = daemonEnv(root, await freePort());
  });
  afterEach(async () => {
    for (const d of daemons.splice(0)) await d.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  function start(): TradingDaemon {
    const d = new TradingDaemon(root, env);
    daemons.push(d);
    return d;
  }
  const stateFile = (): string => path.join(dataDir, 'trading-state.json');
  const quarantined = (): string[] => fs.readdirSync(dataDir).filter((n) => n.includes('.corrupt-'));
  const savedState = (): TradingState =>
    (JSON.parse(fs.readFileSync(stateFile(), 'utf8')) as { data: TradingState }).data;

  it('a fill price "abc" in trading-state.json: file quarantined, .prev used (operator pause kept), no restart', async () => {
    fs.writeFileSync(stateFile(), envelope(stateWithBadFillPrice()));
    fs.writeFileSync(`${stateFile()}.prev`, envelope(goodState()));
    const d = start();
    await d.ready;
    expect(quarantined().some((n) => n.startsWith('trading-state.json.corrupt-'))).to.equal(true);
    expect(d.log()).to.match(/orders\.sec-3\.fills\.0\.price/);
    await d.stop();
    expect((await d.exited).code).to.equal(0);
    const state = savedState();
    expect(state.pause?.reason).to.equal(PAUSE_REASON);
    expect(state.seq).to.be.at.least(7);
  });

  it('both generations bad (checkpoint amount "lots"): exit 78, and a plain restart is still refused; `state reset` lets it start from defaults', async () => {
    fs.writeFileSync(stateFile(), envelope(stateWithBadCheckpoint()));
    fs.writeFileSync(`${stateFile()}.prev`, envelope(stateWithBadCheckpoint()));
    const first = start();
    expect((await first.exited).code, first.log()).to.equal(78);
    expect(fs.existsSync(path.join(dataDir, 'trading-state.blocked.json'))).to.equal(true);
    expect(quarantined()).to.have.length(2);

    // what pm2 resurrect, a reboot or /restart do: start it again as it is
    const second = start();
    expect((await second.exited).code, second.log()).to.equal(78);
    expect(second.log()).to.include('BLOCKED').and.include('byninja state reset');
    expect(fs.existsSync(stateFile())).to.equal(false);

    const reset = await runCli(['state', 'reset'], { env, cwd: root });
    expect(reset.code, reset.stderr + reset.stdout).to.equal(0);
    expect(reset.stdout).to.include('trading-state: block cleared');
    const third = start();
    await third.ready;
    await third.stop();
    expect(savedState().pause).to.equal(null);
  });

  it('one lock for trading and its state: `state reset` refuses while trading runs (trading.service.lock), no trading.lock', async () => {
    fs.writeFileSync(stateFile(), envelope(goodState()));
    const d = start();
    await d.ready;
    const refused = await runCli(['state', 'reset'], { env, cwd: root });
    expect(refused.code).to.equal(1);
    expect(refused.stdout + refused.stderr).to.match(/trading holds its state .*stop it first/);
    expect(fs.readdirSync(dataDir).filter((n) => n.endsWith('.lock'))).to.deep.equal([
      'paper-exchange.lock',
      'trading.service.lock',
    ]);
    await d.stop();
    expect(savedState().pause?.reason).to.equal(PAUSE_REASON);
  });

  it('both generations bad: `state restore <fixed copy>` refuses a copy that fails the schema and restores a good one', async () => {
    fs.writeFileSync(stateFile(), envelope(stateWithBadFillPrice()));
    fs.writeFileSync(`${stateFile()}.prev`, envelope(stateWithBadFillPrice()));
    const first = start();
    expect((await first.exited).code, first.log()).to.equal(78);

    const aside = path.join(
      dataDir,
      quarantined().find((n) => n.startsWith('trading-state.json.prev.corrupt-'))!,
    );
    const refused = await runCli(['state', 'restore', aside], { env, cwd: root });
    expect(refused.code).to.equal(1);
    expect(refused.stdout + refused.stderr).to.include('does not match the trading-state schema');
    expect(fs.existsSync(path.join(dataDir, 'trading-state.blocked.json'))).to.equal(true);

    const fixed = path.join(root, 'trading-state.json.fixed');
    fs.writeFileSync(fixed, envelope(goodState()));
    const restored = await runCli(['state', 'restore', fixed], { env, cwd: root });
    expect(restored.code, restored.stdout + restored.stderr).to.equal(0);
    expect(fs.existsSync(path.join(dataDir, 'trading-state.blocked.json'))).to.equal(false);
    const d = start();
    await d.ready;
    await d.stop();
    expect(savedState().pause?.reason).to.equal(PAUSE_REASON);
  });
});
