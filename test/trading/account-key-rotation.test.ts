/**
 * A new API key of the same account keeps trading's state — its positions and orders — on Bybit and OKX as on
 * Binance: the state is bound to the account's id the exchange answers (Bybit GET /v5/user/query-api `userID`, OKX
 * GET /api/v5/account/config `uid`), not to the key. A key expires (Bybit: keys without an IP allow-list) or is
 * replaced after a leak; before, the start was refused and the documented way out, `state archive`, left the
 * position with no stop-loss. Another account's key is still refused; a state an older build bound to the key's
 * hash starts with that key and is rebound to the account id. Real daemon processes, the real CLI, real ccxt
 * against the local doubles (built from the exchanges' documentation).
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeBybit } from '../../harness/exchanges/fake-bybit';
import type { FakeExchangeOptions } from '../../harness/exchanges/fake-exchange-server';
import { FakeOkx } from '../../harness/exchanges/fake-okx';
import { freePort } from '../../harness/ports';
import { derivePositions } from '../../src/trading/engine/books/pnl';
import type { TradingState } from '../../src/trading/engine/state/trading-state';
import { apiKeyFingerprint } from '../../src/trading/exchange/ccxt-exchange';
import { runCli } from '../support/cli';
import { TradingProcess } from '../support/trading-process';
import { localOrders, readEnvelope } from '../support/trading-files';

interface Key {
  apiKey: string;
  secret: string;
  password?: string;
}

interface Double {
  url: string;
  rotateKey(apiKey: string, secret: string, passphrase?: string): void;
  close(): Promise<void>;
}

interface Case {
  exchange: 'bybit' | 'okx';
  uid: string;
  otherUid: string;
  start(options: FakeExchangeOptions & Key): Promise<Double>;
}

const CASES: Case[] = [
  {
    exchange: 'bybit',
    uid: '24600000',
    otherUid: '24600077',
    start: (o) => FakeBybit.start(o),
  },
  {
    exchange: 'okx',
    uid: '44705892343619584',
    otherUid: '44705892343619999',
    start: ({ password, ...o }) => FakeOkx.start({ ...o, passphrase: password }),
  },
];

const key = (name: string): Key => ({
  apiKey: `${name}-key-0123456789abcdef`,
  secret: `${name}-secret-0123456789abcdef`,
  password: `${name}-Passphrase1`,
});

for (const c of CASES) {
  describe(`a new API key on ${c.exchange}: the account's id, not the key, owns the state`, function () {
    this.timeout(180_000);
    const running: TradingProcess[] = [];
    const doubles: Double[] = [];
    let root: string;

    beforeEach(() => {
      root = fs.mkdtempSync(path.join(os.tmpdir(), `byninja-newkey-${c.exchange}-`));
    });
    afterEach(async () => {
      await Promise.all(running.splice(0).map((p) => p.stop()));
      await Promise.all(doubles.splice(0).map((d) => d.close()));
      fs.rmSync(root, { recursive: true, force: true });
    });

    async function double(uid: string, k: Key): Promise<Double> {
      const d = await c.start({ ...k, accountUid: uid, candleMs: 300, balances: { USDT: 10_000 } });
      doubles.push(d);
      return d;
    }

    /** A live start on `d` with key `k`; `trade`: buys (and never sells: the position stays), else trades nothing. */
    async function run(d: Double, k: Key, trade: boolean): Promise<TradingProcess> {
      const env: NodeJS.ProcessEnv = {
        BYNINJA_MODE: 'live',
        BYNINJA__TRADING__EXCHANGE: c.exchange,
        BYNINJA__TRADING__EXCHANGE_API_URL: d.url,
        BYNINJA__TRADING__SYMBOLS: '["BTC/USDT"]',
        BYNINJA__TRADING__STRATEGY__RSI_MEAN_REVERSION__OVERSOLD: trade ? '55' : '0.01',
        BYNINJA__TRADING__STRATEGY__RSI_MEAN_REVERSION__OVERBOUGHT: '100',
        BYNINJA__TRADING__RISK__STOP_LOSS_PCT: '50',
        BYNINJA__TRADING__RISK__TAKE_PROFIT_PCT: '0',
        EXCHANGE_API_KEY: k.apiKey,
        EXCHANGE_SECRET: k.secret,
        // OKX: the least the unknown-order rule allows there (its create's 5 s expTime + 30 s of clock)
        ...(c.exchange === 'okx'
          ? { EXCHANGE_PASSWORD: k.password, BYNINJA__TRADING__ORDERS__UNKNOWN_NOT_FOUND_WINDOW_MS: '35000' }
          : {}),
      };
      const proc = new TradingProcess(root, await freePort(), undefined, env);
      running.push(proc);
      return proc;
    }

    const stateFile = (): string => path.join(root, 'data', 'trading-state.json');
    const state = (): TradingState => readEnvelope<TradingState>(stateFile());
    const position = (s: TradingState): number => {
      const fills = Object.values(s.orders).flatMap((o) => o.fills);
      return derivePositions(s.checkpoint, fills, {}, 'time')['BTC/USDT']?.amount ?? 0;
    };
    async function stop(proc: TradingProcess): Promise<void> {
      await proc.stop();
      running.splice(running.indexOf(proc), 1);
    }

    it('a new key of the same account starts on the state and keeps the position; an older key-hash state is rebound by its own key; another account is refused', async () => {
      const first = key('first');
      const second = key('second');
      const d = await double(c.uid, first);

      // the bot buys with the first key: a position on the state
      const buying = await run(d, first, true);
      await buying.ready;
      for (let i = 0; i < 300 && !(position(state()) > 0); i++) await new Promise((r) => setTimeout(r, 100));
      await stop(buying);
      const before = state();
      const held = position(before);
      expect(held, buying.log()).to.be.greaterThan(0);
      expect(before.identity).to.deep.equal({
        mode: 'live',
        exchange: c.exchange,
        sandbox: false,
        account: `uid:${c.uid}`,
      });
      const ordersBefore = [...localOrders(path.join(root, 'data')).orders.keys()];

      // as an older build bound it: to the first key's hash
      const envelope = JSON.parse(fs.readFileSync(stateFile(), 'utf8')) as { data: TradingState };
      envelope.data.identity = { ...before.identity!, account: apiKeyFingerprint(first.apiKey) };
      fs.writeFileSync(stateFile(), JSON.stringify(envelope));

      // the key changes before the upgrade's first start: nothing says the new key is the same account — refused,
      // with what to do
      d.rotateKey(second.apiKey, second.secret, second.password);
      const unproven = await run(d, second, false);
      expect((await unproven.exited).code, unproven.log()).to.equal(78);
      expect(unproven.log(), unproven.log()).to.include('EXCHANGE_API_KEY');
      expect(unproven.log()).to.include('start once with the old key');
      expect(state().identity?.account).to.equal(apiKeyFingerprint(first.apiKey));

      // the old key (still valid) starts it: the account's id is recorded in the key hash's place
      d.rotateKey(first.apiKey, first.secret, first.password);
      const upgraded = await run(d, first, false);
      await upgraded.ready;
      await stop(upgraded);
      expect(upgraded.log()).to.include('was bound to this API key');
      expect(state().identity?.account).to.equal(`uid:${c.uid}`);

      // the key expires, a new one is made: the same account, the same state, the same position
      d.rotateKey(second.apiKey, second.secret, second.password);
      const renewed = await run(d, second, false);
      await renewed.ready;
      await stop(renewed);
      const after = state();
      expect(after.installId).to.equal(before.installId);
      expect(after.identity).to.deep.equal(before.identity);
      expect(position(after)).to.be.closeTo(held, 1e-12);
      expect([...localOrders(path.join(root, 'data')).orders.keys()]).to.include.members(ordersBefore);

      // another account's key: refused, the state untouched
      const other = key('other');
      const elsewhere = await double(c.otherUid, other);
      const refused = await run(elsewhere, other, false);
      expect((await refused.exited).code, refused.log()).to.equal(78);
      expect(refused.log()).to.include('EXCHANGE_API_KEY');
      expect(refused.log()).to.include(`uid:${c.otherUid}`);
      expect(state()).to.deep.include({ installId: before.installId, identity: before.identity });

      // and archiving the state to start on the other account is refused while it holds the position
      const cliEnv = {
        ...process.env,
        BYNINJA_DATA_DIR: path.join(root, 'data'),
        BYNINJA_LOG_DIR: path.join(root, 'logs'),
      };
      const archive = await runCli(['state', 'archive'], { env: cliEnv, cwd: root });
      expect(archive.code, archive.stdout).to.equal(1);
      expect(archive.stdout + archive.stderr).to.include('position BTC/USDT');
      expect(archive.stdout + archive.stderr).to.include('--abandon');
      expect(fs.existsSync(stateFile())).to.equal(true);
    });
  });
}
