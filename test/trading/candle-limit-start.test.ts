/**
 * A candle limit too small for the strategy refuses the start with the field and its fix (exit 78, PM2 leaves it
 * stopped): before, the strategy was never asked and nothing said so (review 28). The real daemon process.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readConfigFailure } from '../../src/shared/lifecycle/config-failure';
import { freePort } from '../../harness/ports';
import { TradingProcess } from '../support/trading-process';
import { readEnvelope } from '../support/trading-files';
import type { TradingState } from '../../src/trading/engine/state/trading-state';

describe('a candle limit that leaves the strategy short refuses the start', function () {
  this.timeout(60_000);
  let root: string;
  let proc: TradingProcess | undefined;

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-candles-'));
  });
  afterEach(async () => {
    await proc?.stop();
    proc = undefined;
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('exits 78 naming trading.candleLimit and the least that works; nothing traded', async () => {
    // an RSI of 20 candles needs 21 closed ones: 20 a read leave 19
    proc = new TradingProcess(root, await freePort(), undefined, {
      BYNINJA__TRADING__CANDLE_LIMIT: '20',
      BYNINJA__TRADING__STRATEGY__RSI_MEAN_REVERSION__PERIOD: '20',
    });
    const exit = await proc.exited;
    expect(exit.code, proc.log()).to.equal(78);
    expect(proc.log())
      .to.include('trading.candleLimit')
      .and.include('trading.strategy.rsiMeanReversion.period = 20')
      .and.include('at least 22');
    const record = readConfigFailure(path.join(root, 'data'), 'trading')!;
    expect(record.problems.map((p) => p.field)).to.deep.equal(['trading.candleLimit']);
    // refused once the state showed nothing open (nothing traded: no order, no position)
    const state = readEnvelope<TradingState>(path.join(root, 'data', 'trading-state.json'));
    expect(state.seq).to.equal(0);
    expect(state.orders).to.deep.equal({});
  });
});
