/**
 * A stop while startup recovery waits for the exchange (a restart during an outage, say) is a stop, not evidence
 * against the state: the real test daemon, its recovery reads failing, gets SIGTERM, exits 0 and leaves its trading
 * state exactly as it was; the next start recovers from it. (It used to take the abort for a recovery failure, set
 * the good state aside and start the next run from the previous generation — or block trading when there was none.)
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventually } from '../../harness/pm2';
import { freePort } from '../../harness/ports';
import { TradingProcess } from '../support/trading-process';

describe('trading stopped while recovery waits for the exchange', function () {
  this.timeout(60_000);
  let root: string;
  const running: TradingProcess[] = [];

  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-stop-recovery-'));
  });
  after(async () => {
    await Promise.all(running.map((p) => p.stop()));
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('exits 0 and keeps the trading state in place; the next start recovers from it', async () => {
    const dataDir = path.join(root, 'data');
    const stateFile = path.join(dataDir, 'trading-state.json');
    const first = new TradingProcess(root, await freePort());
    running.push(first);
    await first.ready;
    await first.stop();
    expect((await first.exited).code, first.log()).to.equal(0);
    const before = fs.readFileSync(stateFile);
    const filesBefore = fs.readdirSync(dataDir).sort();

    // every read of recent orders fails as a dropped connection would: recovery waits it out, retrying
    const waiting = new TradingProcess(root, await freePort(), undefined, {
      BYNINJA_PAPER_FAULTS: JSON.stringify({
        operations: ['fetchRecentOrders'],
        probability: 1,
        kinds: ['network-before'],
      }),
    });
    running.push(waiting);
    await eventually(
      () => /Recovery: fetch recent orders of .* failed, retrying/.test(waiting.log()),
      20_000,
    );
    await waiting.stop();
    const exit = await waiting.exited;
    expect(exit.code, waiting.log()).to.equal(0);
    expect(waiting.log()).not.to.match(/rejected|set aside|recovery failed/i);
    expect(fs.readdirSync(dataDir).sort()).to.deep.equal(filesBefore);
    expect(fs.readFileSync(stateFile).equals(before), 'the state file is untouched').to.equal(true);

    const next = new TradingProcess(root, await freePort());
    running.push(next);
    await next.ready;
    expect(next.log()).not.to.match(/previous generation|set aside/i);
    await next.stop();
    expect((await next.exited).code, next.log()).to.equal(0);
  });
});
