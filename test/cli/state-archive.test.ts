/**
 * `byninja state archive` never orphans what the state watches on the exchange (review28): a live state holding a
 * position (0.05 BTC guarded by a stop-loss, say) or a working order is refused, each named, with what to do; the
 * archive goes ahead only with `--abandon`, and says what is no longer watched. Dust and a paper state's simulated
 * positions do not hold it up. The real engine over real files (the paper account stands for the exchange), the
 * real archive.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { archiveState } from '../../src/cli/state-command';
import { systemClock } from '../../src/shared/clock';
import type { StateIdentity } from '../../src/trading/engine/state/state-identity';
import type { TradingState } from '../../src/trading/engine/state/trading-state';
import { EngineHarness, MARKET_BUY, orderId } from '../support/engine-harness';
import { closeAfterEach } from '../support/close-after-each';

const LIVE: StateIdentity = { mode: 'live', exchange: 'bybit', sandbox: false, account: 'uid:24600000' };

describe('state archive with positions or working orders', function () {
  this.timeout(20_000);
  let h: EngineHarness | undefined;
  const dirs: string[] = [];
  closeAfterEach(() => [h]);
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  /** A state left by the engine: a bought position, and (`working`) a limit buy far below the price. */
  async function leftState(working: boolean, identity: StateIdentity = LIVE): Promise<string> {
    h = await EngineHarness.open({ config: { trading: { risk: { stopLossPct: 2, takeProfitPct: 0 } } } });
    await h.loop.recover({ kind: 'first-start' });
    h.loop.enterRunning();
    await h.manager.place(MARKET_BUY);
    if (working) await h.manager.place({ ...MARKET_BUY, type: 'limit', price: 1_000, amount: 0.02 });
    expect(h.orderBook.openPositions(), 'a position the stop-loss guards').to.have.length(1);
    const dir = h.dir;
    dirs.push(dir);
    await h.close(false);
    h = undefined;
    // the state as a live start on Bybit bound it
    const file = path.join(dir, 'trading-state.json');
    const envelope = JSON.parse(fs.readFileSync(file, 'utf8')) as { data: TradingState };
    envelope.data.identity = identity;
    fs.writeFileSync(file, JSON.stringify(envelope));
    return dir;
  }

  /** Where the accounts live: apart, standing for the exchange (which keeps the coins whatever archive does). */
  const paperDir = (): string => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-archive-paper-'));
    dirs.push(d);
    return d;
  };

  it('refuses a live state holding a position or a working order, naming each and the way out; nothing moves', async () => {
    const dir = await leftState(true);
    const before = fs.readFileSync(path.join(dir, 'trading-state.json'), 'utf8');
    const outcome = await archiveState({ dataDir: dir, paperDir: paperDir() }, systemClock);
    expect(outcome.ok, outcome.message).to.equal(false);
    expect(outcome.message, outcome.message).to.match(/position BTC\/USDT 0\.001\b/);
    expect(outcome.message).to.include(`order ${orderId(2)} (buy BTC/USDT, open)`);
    expect(outcome.message).to.not.include(`order ${orderId(1)}`);
    expect(outcome.message).to.include('/closeall');
    expect(outcome.message).to.include('--abandon');
    expect(outcome.message).to.include('SAME account needs no archive');
    expect(outcome.left?.positions).to.deep.equal([{ symbol: 'BTC/USDT', amount: 0.001 }]);
    expect(fs.readFileSync(path.join(dir, 'trading-state.json'), 'utf8')).to.equal(before);
    expect(fs.existsSync(path.join(dir, 'archive'))).to.equal(false);
  });

  it('--abandon archives it and says what is no longer watched', async () => {
    const dir = await leftState(true);
    const outcome = await archiveState({ dataDir: dir, paperDir: paperDir() }, systemClock, {
      abandon: true,
    });
    expect(outcome.ok, outcome.message).to.equal(true);
    expect(outcome.message).to.include('ABANDONED');
    expect(outcome.message).to.match(/position BTC\/USDT 0\.001\b/);
    expect(outcome.message).to.include(`order ${orderId(2)}`);
    expect(fs.existsSync(path.join(dir, 'trading-state.json'))).to.equal(false);
    const [stamp] = fs.readdirSync(path.join(dir, 'archive'));
    expect(fs.readdirSync(path.join(dir, 'archive', stamp))).to.include('trading-state.json');
  });

  it('dust is no position: a remainder no market order could sell does not hold the archive up', async () => {
    const dir = await leftState(false);
    // the markets trading kept: Bybit's BTC/USDT takes no order below 0.01 BTC here
    fs.writeFileSync(
      path.join(dir, 'trading-markets.json'),
      JSON.stringify({
        version: 1,
        source: { exchange: 'bybit' },
        markets: [{ symbol: 'BTC/USDT', precision: { amount: 0.000001 }, limits: { amount: { min: 0.01 } } }],
      }),
    );
    const outcome = await archiveState({ dataDir: dir, paperDir: paperDir() }, systemClock);
    expect(outcome.ok, outcome.message).to.equal(true);
    expect(outcome.message).to.not.include('ABANDONED');
    expect(fs.existsSync(path.join(dir, 'trading-state.json'))).to.equal(false);
  });

  it('kept markets it cannot read give no amount rules: the remainder counts as a position, nothing moves', async () => {
    const dir = await leftState(false);
    // torn mid-write: the dust rule cannot be read, so the remainder is not taken for dust
    fs.writeFileSync(
      path.join(dir, 'trading-markets.json'),
      '{"version": 1, "source": {"exchange": "bybit"}, "mar',
    );
    const outcome = await archiveState({ dataDir: dir, paperDir: paperDir() }, systemClock);
    expect(outcome.ok, outcome.message).to.equal(false);
    expect(outcome.left?.positions).to.deep.equal([{ symbol: 'BTC/USDT', amount: 0.001 }]);
    expect(fs.existsSync(path.join(dir, 'trading-state.json'))).to.equal(true);
  });

  it("a paper state's simulated position does not hold it up (its account is archived with it)", async () => {
    const dir = await leftState(true, { mode: 'paper', exchange: 'paper', sandbox: false, account: 'paper' });
    const outcome = await archiveState({ dataDir: dir, paperDir: dir }, systemClock);
    expect(outcome.ok, outcome.message).to.equal(true);
    const [stamp] = fs.readdirSync(path.join(dir, 'archive'));
    expect(fs.readdirSync(path.join(dir, 'archive', stamp))).to.include.members([
      'trading-state.json',
      'paper-exchange.json',
    ]);
  });

  it('a state it cannot read is refused (it may hold positions); --abandon archives it', async () => {
    const dir = await leftState(false);
    fs.writeFileSync(path.join(dir, 'trading-state.json'), '{"version": 4, "data": {"seq": "x"');
    const refused = await archiveState({ dataDir: dir, paperDir: paperDir() }, systemClock);
    expect(refused.ok, refused.message).to.equal(false);
    expect(refused.message).to.include('cannot tell what the trading state holds');
    const done = await archiveState({ dataDir: dir, paperDir: paperDir() }, systemClock, { abandon: true });
    expect(done.ok, done.message).to.equal(true);
    expect(done.message).to.include('could not be read');
  });
});
