import { expect } from 'chai';
import { NetworkError } from '../../../src/shared/errors';
import { OrderCalls } from '../../../src/trading/engine/orders/order-calls';
import { FakeClock, flush } from '../../support/fake-clock';
import { gate } from '../../support/gate';

/** An exchange call the test answers when it wants, counting how many times it was sent. */
function answeredLater(): { send: () => Promise<string>; sent: () => number; open: (v: string) => void } {
  const answer = gate<string>();
  let sent = 0;
  return {
    send: () => {
      sent++;
      return answer.promise;
    },
    sent: () => sent,
    open: answer.open,
  };
}

describe("the order manager's exchange calls (order-calls.ts, on a fake clock)", () => {
  it('waits until every tracked call has settled, a call started while waiting included', async () => {
    const calls = new OrderCalls(1_000, new FakeClock());
    const first = gate<string>();
    void calls.track(first.promise);
    let idle: boolean | undefined;
    void calls.waitIdle(5_000).then((v) => (idle = v));
    const second = gate<string>();
    first.open('a');
    void calls.track(second.promise);
    await flush();
    expect(idle).to.equal(undefined);
    expect(calls.count).to.equal(1);
    second.fail(new Error('refused'));
    await flush();
    expect(idle).to.equal(true);
    expect(calls.count).to.equal(0);
  });

  it('gives up waiting after the timeout on the clock', async () => {
    const clock = new FakeClock();
    const calls = new OrderCalls(1_000, clock);
    void calls.track(gate<string>().promise);
    let idle: boolean | undefined;
    void calls.waitIdle(5_000).then((v) => (idle = v));
    await clock.advance(4_990);
    expect(idle).to.equal(undefined);
    await clock.advance(10);
    expect(idle).to.equal(false);
  });

  it('joins a lookup of the same order still on its way, and refuses a fresh one while it is out', async () => {
    const clock = new FakeClock();
    const calls = new OrderCalls(1_000, clock);
    const call = answeredLater();
    const first = calls.lookup('order', 'bot-1', call.send);
    await clock.advance(100);
    const second = calls.lookup('order', 'bot-1', call.send);
    expect(call.sent()).to.equal(1);
    expect(calls.sentAt('order:bot-1')).to.equal(clock.now() - 100);
    let fresh: unknown;
    await calls.lookup('order', 'bot-1', call.send, true).catch((e: unknown) => (fresh = e));
    expect(fresh).to.be.instanceOf(NetworkError);
    expect(call.sent()).to.equal(1);
    call.open('open');
    expect(await first).to.equal('open');
    expect(await second).to.equal('open');
  });

  it('gives a lookup up at the deadline (a NetworkError) while the call stays tracked for the stop', async () => {
    const clock = new FakeClock();
    const calls = new OrderCalls(1_000, clock);
    const answer = gate<string>();
    let error: unknown;
    void calls.lookup('order', 'bot-1', () => answer.promise).catch((e: unknown) => (error = e));
    await clock.advance(1_000);
    expect(error).to.be.instanceOf(NetworkError);
    expect(calls.count).to.equal(1);
    answer.open('late');
    await flush();
    expect(calls.count).to.equal(0);
  });

  it('sends one cancel per order at a time: a cancel still on its way is joined', async () => {
    const calls = new OrderCalls(1_000, new FakeClock());
    const call = answeredLater();
    const first = calls.cancel('bot-1', call.send);
    const second = calls.cancel('bot-1', call.send);
    // a cancel is not a lookup: the order's lookup is sent beside it
    void calls.lookup('order', 'bot-1', () => Promise.resolve('x'));
    expect(call.sent()).to.equal(1);
    expect(calls.count).to.equal(2);
    call.open('cancelled');
    expect(await Promise.all([first, second])).to.deep.equal(['cancelled', 'cancelled']);
  });
});
