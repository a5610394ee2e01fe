import { expect } from 'chai';
import { SymbolLanes } from '../../../src/trading/engine/symbol-lanes';
import { gate } from '../../support/gate';

describe('SymbolLanes', () => {
  it('runs nothing on a busy lane, and frees every lane of a work once it settles', async () => {
    const lanes = new SymbolLanes();
    const first = gate<number>();
    const running = lanes.run(['recheck', 'BTC/USDT'], () => first.promise);
    expect(running).to.not.equal(undefined);
    let ran = false;
    expect(
      lanes.run(['BTC/USDT'], () => {
        ran = true;
        return Promise.resolve();
      }),
    ).to.equal(undefined);
    expect(ran, 'work on a busy lane is not started').to.equal(false);
    expect(lanes.run(['ETH/USDT'], () => Promise.resolve(1))).to.not.equal(undefined);
    first.open(7);
    expect(await running).to.equal(7);
    await lanes.idle();
    expect(lanes.busy('BTC/USDT')).to.equal(false);
    expect(lanes.busy('recheck')).to.equal(false);
  });

  it("hands the work's rejection to its caller and still frees the lane", async () => {
    const lanes = new SymbolLanes();
    const work = gate();
    const running = lanes.run(['BTC/USDT'], () => work.promise)!;
    work.fail(new Error('lookup failed'));
    let error: unknown;
    await running.catch((err: unknown) => (error = err));
    expect((error as Error).message).to.equal('lookup failed');
    await lanes.idle();
    expect(lanes.busy('BTC/USDT')).to.equal(false);
  });

  it('idle waits for every lane, work started while waiting included', async () => {
    const lanes = new SymbolLanes();
    const a = gate();
    const b = gate();
    void lanes.run(['BTC/USDT'], () => a.promise);
    let idle = false;
    const waiting = lanes.idle().then(() => (idle = true));
    void lanes.run(['ETH/USDT'], () => b.promise);
    a.open();
    await new Promise((r) => setImmediate(r));
    expect(idle, 'ETH still works').to.equal(false);
    b.open();
    await waiting;
    expect(idle).to.equal(true);
  });
});
