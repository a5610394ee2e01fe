/**
 * Trading state is bound to the account it was made for: a paper state is never carried into live mode, nor one
 * account's state into another's. The fix the refusal names, `byninja state archive`, moves it aside (kept) and
 * the next start begins fresh. Real daemon processes, the real CLI, real ccxt against the local Binance.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkIdentity, type StateIdentity } from '../../src/trading/engine/state/state-identity';
import type { TradingState } from '../../src/trading/engine/state/trading-state';
import { runCli } from '../support/cli';
import { FakeBinance } from '../../harness/exchanges/fake-binance';
import { freePort } from '../../harness/ports';
import { TradingProcess } from '../support/trading-process';
import { readEnvelope } from '../support/trading-files';

const KEY = 'identity-key-0123456789';
const SECRET = 'identity-secret-0123456789';

describe('trading state bound to its account', function () {
  this.timeout(90_000);
  const running: TradingProcess[] = [];
  let fake: FakeBinance | undefined;
  let root: string;

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-identity-'));
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.stop()));
    await fake?.close();
    fake = undefined;
    fs.rmSync(root, { recursive: true, force: true });
  });

  const live = (): NodeJS.ProcessEnv => ({
    BYNINJA_MODE: 'live',
    BYNINJA__TRADING__EXCHANGE: 'binance',
    BYNINJA__TRADING__EXCHANGE_API_URL: fake!.url,
    EXCHANGE_API_KEY: KEY,
    EXCHANGE_SECRET: SECRET,
  });

  async function run(env: NodeJS.ProcessEnv = {}): Promise<TradingProcess> {
    const proc = new TradingProcess(root, await freePort(), undefined, env);
    running.push(proc);
    return proc;
  }

  const state = (): TradingState => readEnvelope<TradingState>(path.join(root, 'data', 'trading-state.json'));

  it('refuses a paper state in live mode with the fix; after `byninja state archive` live starts fresh, old data kept', async () => {
    fake = await FakeBinance.start({ apiKey: KEY, secret: SECRET });
    const paper = await run();
    await paper.ready;
    // paper trading: orders and a position in the state
    for (let i = 0; i < 100 && state().seq === 0; i++) await new Promise((r) => setTimeout(r, 100));
    await paper.stop();
    const paperState = state();
    expect(paperState.identity).to.deep.include({ mode: 'paper', exchange: 'paper', account: 'paper' });
    expect(paperState.seq).to.be.greaterThan(0);

    const refused = await run(live());
    const exit = await refused.exited;
    expect(exit.code, refused.log()).to.equal(78);
    expect(refused.log()).to.include('trading.mode');
    expect(refused.log()).to.include('byninja state archive');
    expect(fake.createRequests()).to.deep.equal([]);
    // nothing was changed by the refused start
    expect(state()).to.deep.include({ installId: paperState.installId, seq: paperState.seq });

    const env = {
      ...process.env,
      BYNINJA_DATA_DIR: path.join(root, 'data'),
      BYNINJA_LOG_DIR: path.join(root, 'logs'),
    };
    const archived = await runCli(['state', 'archive'], { env, cwd: root });
    expect(archived.code, archived.stderr).to.equal(0);
    const archiveDir = path.join(root, 'data', 'archive');
    const [stamp] = fs.readdirSync(archiveDir);
    const kept = fs.readdirSync(path.join(archiveDir, stamp));
    expect(kept).to.include.members(['trading-state.json', 'paper-exchange.json']);
    expect(readEnvelope<TradingState>(path.join(archiveDir, stamp, 'trading-state.json')).seq).to.equal(
      paperState.seq,
    );

    const fresh = await run(live());
    await fresh.ready;
    const liveState = state();
    expect(liveState.installId).to.not.equal(paperState.installId);
    // Binance's account uid (GET /api/v3/account), not the key
    expect(liveState.identity).to.deep.equal({
      mode: 'live',
      exchange: 'binance',
      sandbox: false,
      account: 'uid:354937868',
    });
    // nothing of paper trading came along: every order it knows is one Binance has
    for (const o of Object.values(liveState.orders)) {
      if (o.status !== 'rejected')
        expect(fake.ordersWithClientId(o.clientOrderId), o.clientOrderId).to.equal(1);
    }
    await fresh.stop();

    // and back: the live state is not paper trading's either
    const back = await run();
    expect((await back.exited).code, back.log()).to.equal(78);
    expect(back.log()).to.include('byninja state archive');
  });

  it('refuses a symbol the simulated market does not define instead of inventing prices', async () => {
    const proc = await run({ BYNINJA__TRADING__SYMBOLS: '["BTC/USDT","DOGE/USDT"]' });
    expect((await proc.exited).code, proc.log()).to.equal(78);
    expect(proc.log()).to.include('DOGE/USDT');
    expect(proc.log()).to.include('simulated market defines only');
  });
});

describe('checkIdentity (pure)', () => {
  const paper: StateIdentity = { mode: 'paper', exchange: 'paper', sandbox: false, account: 'paper' };
  const live: StateIdentity = { mode: 'live', exchange: 'binance', sandbox: false, account: 'uid:1' };

  it('records the first identity of an empty state, or of an older paper state', () => {
    expect(checkIdentity(undefined, live, true)).to.deep.equal({ kind: 'record' });
    expect(checkIdentity(undefined, paper, false)).to.deep.equal({ kind: 'record' });
  });

  it('refuses an older non-empty state in live mode: nothing says whose it is', () => {
    const check = checkIdentity(undefined, live, false);
    expect(check.kind).to.equal('refuse');
  });

  it('refuses another mode, exchange, sandbox flag or account, naming the field and the fix', () => {
    const cases: Array<[Partial<StateIdentity>, string]> = [
      [{ mode: 'dry-run' }, 'trading.mode'],
      [{ exchange: 'bybit' }, 'trading.exchange'],
      [{ sandbox: true }, 'trading.sandbox'],
      [{ account: 'uid:2' }, 'EXCHANGE_API_KEY'],
    ];
    for (const [change, field] of cases) {
      const check = checkIdentity(live, { ...live, ...change }, false);
      expect(check.kind, field).to.equal('refuse');
      const problems = (check as { problems: Array<{ field: string; message: string }> }).problems;
      expect(problems[0].field).to.equal(field);
      expect(problems[0].message).to.include('byninja state archive');
    }
    expect(checkIdentity(live, { ...live }, false)).to.deep.equal({ kind: 'same' });
  });

  it('a state an older build bound to the key hash: rebound to the account id by that key, refused for another key', () => {
    const byKey: StateIdentity = { ...live, exchange: 'bybit', account: 'key:0123456789abcdef' };
    const now: StateIdentity = { ...byKey, account: 'uid:24600000' };
    expect(checkIdentity(byKey, now, false, 'key:0123456789abcdef')).to.deep.equal({
      kind: 'rebind',
      was: 'key:0123456789abcdef',
    });
    for (const keyAccount of ['key:fedcba9876543210', undefined]) {
      const check = checkIdentity(byKey, now, false, keyAccount);
      expect(check.kind, String(keyAccount)).to.equal('refuse');
      const [problem] = (check as { problems: Array<{ field: string; message: string }> }).problems;
      expect(problem.field).to.equal('EXCHANGE_API_KEY');
      expect(problem.message).to.include('start once with the old key');
    }
    // the key hash is never taken for another exchange's or mode's state
    expect(checkIdentity(byKey, { ...now, exchange: 'okx' }, false, 'key:0123456789abcdef').kind).to.equal(
      'refuse',
    );
    // an account id recorded: a key whose account the exchange did not tell is not taken for it
    const noUid = checkIdentity(
      now,
      { ...now, account: 'key:0123456789abcdef' },
      false,
      'key:0123456789abcdef',
    );
    expect(noUid.kind).to.equal('refuse');
    expect((noUid as { problems: Array<{ message: string }> }).problems[0].message).to.include(
      "did not tell this API key's account id",
    );
  });
});
