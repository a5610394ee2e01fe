/**
 * A live start whose API key cannot place spot orders (the exchange's own key read says so: Bybit GET
 * /v5/user/query-api `readOnly`/`permissions.Spot`) is refused with the fix named (exit 78) only while the state
 * holds nothing open; with a position open the start goes on — its stop-loss may still work if the answer was wrong —
 * and the operator is told. The real daemon process, real ccxt against the local Bybit double.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeBybit } from '../../harness/exchanges/fake-bybit';
import { freePort } from '../../harness/ports';
import { readConfigFailure } from '../../src/shared/lifecycle/config-failure';
import { derivePositions } from '../../src/trading/engine/books/pnl';
import type { TradingState } from '../../src/trading/engine/state/trading-state';
import { TradingProcess } from '../support/trading-process';
import { readEnvelope } from '../support/trading-files';

const KEY = { apiKey: 'spot-key-0123456789abcdef', secret: 'spot-secret-0123456789abcdef' };

describe('a live start whose API key cannot trade spot', function () {
  this.timeout(90_000);
  let root: string;
  let fake: FakeBybit | undefined;
  const running: TradingProcess[] = [];

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-keylimits-'));
  });
  afterEach(async () => {
    for (const p of running.splice(0)) await p.stop();
    await fake?.close();
    fake = undefined;
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** `trade`: the strategy buys when RSI falls below 55 (at once: 99.99); otherwise never. */
  async function start(trade: boolean | 'at-once'): Promise<TradingProcess> {
    const proc = new TradingProcess(root, await freePort(), undefined, {
      BYNINJA_MODE: 'live',
      BYNINJA__TRADING__EXCHANGE: 'bybit',
      BYNINJA__TRADING__EXCHANGE_API_URL: fake!.url,
      BYNINJA__TRADING__SYMBOLS: '["BTC/USDT"]',
      BYNINJA__TRADING__STRATEGY__RSI_MEAN_REVERSION__OVERSOLD:
        trade === 'at-once' ? '99.99' : trade ? '55' : '0.01',
      BYNINJA__TRADING__STRATEGY__RSI_MEAN_REVERSION__OVERBOUGHT: '100',
      BYNINJA__TRADING__RISK__STOP_LOSS_PCT: '50',
      BYNINJA__TRADING__RISK__TAKE_PROFIT_PCT: '0',
      EXCHANGE_API_KEY: KEY.apiKey,
      EXCHANGE_SECRET: KEY.secret,
    });
    running.push(proc);
    return proc;
  }
  const state = (): TradingState => readEnvelope<TradingState>(path.join(root, 'data', 'trading-state.json'));
  const position = (s: TradingState): number =>
    derivePositions(
      s.checkpoint,
      Object.values(s.orders).flatMap((o) => o.fills),
      {},
      'time',
    )['BTC/USDT']?.amount ?? 0;
  const keyEvents = (): Array<{ type: string; summary: string; data: Record<string, unknown> }> => {
    const file = path.join(root, 'data', 'events.jsonl');
    if (!fs.existsSync(file)) return [];
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { type: string; summary: string; data: Record<string, unknown> })
      .filter((e) => e.type === 'api_key.limits');
  };

  async function eventually(done: () => boolean): Promise<void> {
    for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 50));
  }

  it('ready on a recent read that said the key can trade: the read after ready finds it cannot, nothing open — exits 78 before any order', async () => {
    fake = await FakeBybit.start({ ...KEY, candleMs: 300, balances: { USDT: 10_000 } });
    fake.setKeyLimits({ ipBound: true });
    // a first start reads the key before ready and keeps the read; nothing bought (oversold never reached)
    const first = await start(false);
    await first.ready;
    await first.stop();
    expect(fake.createRequests()).to.deep.equal([]);

    // the key loses its spot permission; the next start's strategy would buy at its first tick, and the key read
    // after ready answers 2 s late (within the start's 5 s wait): the first tick waits for it. Bybit answers the
    // account id (before ready) and the key's limits (after) from the same call: the first one is not delayed
    fake.setKeyLimits({ spotTrade: false, ipBound: true });
    fake.faults.next('apiKeyInfo', { kind: 'delay', ms: 0 });
    fake.faults.next('apiKeyInfo', { kind: 'delay', ms: 2_000 });
    const proc = await start('at-once');
    await proc.ready;
    const exit = await proc.exited;
    expect(exit.code, proc.log()).to.equal(78);
    expect(fake.createRequests()).to.deep.equal([]);
    expect(proc.log()).to.include('EXCHANGE_API_KEY').and.include('cannot place spot orders');
    expect(proc.log()).to.not.include(KEY.apiKey).and.not.include(KEY.secret);
    const record = readConfigFailure(path.join(root, 'data'), 'trading')!;
    expect(record.problems.map((p) => p.field)).to.deep.equal(['EXCHANGE_API_KEY']);
  });

  it('nothing open: exits 78 naming EXCHANGE_API_KEY and the fix, the key never written', async () => {
    fake = await FakeBybit.start({ ...KEY, balances: { USDT: 10_000 } });
    fake.setKeyLimits({ spotTrade: false, ipBound: true });
    const proc = await start(false);
    const exit = await proc.exited;
    expect(exit.code, proc.log()).to.equal(78);
    expect(proc.log()).to.include('EXCHANGE_API_KEY').and.include('cannot place spot orders');
    expect(proc.log()).to.not.include(KEY.apiKey).and.not.include(KEY.secret);
    const record = readConfigFailure(path.join(root, 'data'), 'trading')!;
    expect(record.problems.map((p) => p.field)).to.deep.equal(['EXCHANGE_API_KEY']);
    expect(fake.createRequests()).to.deep.equal([]);
  });

  it('a position open: starts anyway (its stop-loss may still work) and tells the operator once', async () => {
    fake = await FakeBybit.start({ ...KEY, candleMs: 300, balances: { USDT: 10_000 } });
    fake.setKeyLimits({ ipBound: true });
    const buying = await start(true);
    await buying.ready;
    for (let i = 0; i < 300 && !(position(state()) > 0); i++) await new Promise((r) => setTimeout(r, 100));
    await buying.stop();
    expect(position(state()), buying.log()).to.be.greaterThan(0);
    expect(keyEvents()).to.deep.equal([]);

    fake.setKeyLimits({ spotTrade: false });
    const held = await start(false);
    await held.ready;
    // the last run's read (minutes ago) said the key can trade: this start was ready on it and reads the key after
    await eventually(() => keyEvents().length > 0);
    const told = keyEvents();
    expect(told.map((e) => e.data.notice)).to.deep.equal(['cannot-trade']);
    expect(told[0].summary).to.match(/Trading goes on for the open positions and orders/);
    await held.stop();
    // a restart does not tell it again (kept in trading-api-key.json)
    const again = await start(false);
    await again.ready;
    expect(keyEvents()).to.have.length(1);
  });
});
