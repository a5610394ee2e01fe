import { expect } from 'chai';
import { LoopTurns } from '../../../src/trading/engine/loop-turns';
import { FakeClock, flush } from '../../support/fake-clock';
import { gate } from '../../support/gate';

const BUSY_WAIT_MS = 5_000;

describe('LoopTurns: ticks and operator actions take turns', () => {
  it('runs each turn after the one before has settled, a failed one included', async () => {
    const turns = new LoopTurns(new FakeClock(), BUSY_WAIT_MS);
    const first = gate();
    const order: string[] = [];
    const a = turns.inTurn(async () => {
      await first.promise;
      order.push('a');
      throw new Error('a failed');
    });
    const b = turns.inTurn(() => {
      order.push('b');
      return Promise.resolve('b');
    });
    await flush();
    expect(order).to.deep.equal([]);
    first.open();
    await a.catch(() => undefined);
    expect(await b).to.equal('b');
    expect(order).to.deep.equal(['a', 'b']);
  });

  it('serialize waits for every lane to be free, however long', async () => {
    const clock = new FakeClock();
    const turns = new LoopTurns(clock, BUSY_WAIT_MS);
    const work = gate();
    turns.lanes.run(['BTC/USDT'], () => work.promise);
    let ran = false;
    const done = turns.serialize(() => {
      ran = true;
      return Promise.resolve();
    });
    await clock.advance(10 * BUSY_WAIT_MS, 1_000);
    expect(ran, 'a lane still held').to.equal(false);
    work.open();
    await done;
    expect(ran).to.equal(true);
  });

  it('afterBusyWork runs as soon as the lanes are free', async () => {
    const clock = new FakeClock();
    const turns = new LoopTurns(clock, BUSY_WAIT_MS);
    const work = gate();
    turns.lanes.run(['BTC/USDT'], () => work.promise);
    let busyWhenRun: boolean | undefined;
    const done = turns.afterBusyWork(() => {
      busyWhenRun = turns.lanes.busy('BTC/USDT');
      return Promise.resolve();
    });
    await clock.advance(1_000);
    expect(busyWhenRun).to.equal(undefined);
    work.open();
    await done;
    expect(busyWhenRun).to.equal(false);
  });

  it('afterBusyWork waits for a busy lane no longer than busyWaitMs, then runs with it still busy', async () => {
    const clock = new FakeClock();
    const turns = new LoopTurns(clock, BUSY_WAIT_MS);
    turns.lanes.run(['BTC/USDT'], () => new Promise<void>(() => {}));
    let busyWhenRun: boolean | undefined;
    const done = turns.afterBusyWork(() => {
      busyWhenRun = turns.lanes.busy('BTC/USDT');
      return Promise.resolve('ran');
    });
    await flush(); // its turn has begun (the wait starts now)
    await clock.advance(BUSY_WAIT_MS - 100, 100);
    expect(busyWhenRun, 'not before busyWaitMs').to.equal(undefined);
    await clock.advance(100, 100);
    expect(await done).to.equal('ran');
    expect(busyWhenRun).to.equal(true);
  });

  it('waitAtMost gives up waiting for work at busyWaitMs, and never rejects', async () => {
    const clock = new FakeClock();
    const turns = new LoopTurns(clock, BUSY_WAIT_MS);
    let waited = false;
    const wait = turns.waitAtMost(new Promise<void>(() => {})).then(() => (waited = true));
    await flush();
    await clock.advance(BUSY_WAIT_MS - 100, 100);
    expect(waited, 'not before busyWaitMs').to.equal(false);
    await clock.advance(100, 100);
    await wait;
    expect(waited).to.equal(true);
    await turns.waitAtMost(Promise.reject(new Error('the work failed')));
  });
});
