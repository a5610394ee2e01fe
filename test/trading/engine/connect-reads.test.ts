/**
 * The start's first reads (markets, account) sent before the state files open, and taken by `TradingLoop.connect`
 * as its first attempts: never read twice when they answered, read again (waited out as any start failure) when
 * they failed. The real loop and paper exchange on the fake clock.
 */
import { expect } from 'chai';
import { NetworkError } from '../../../src/shared/errors';
import { firstThen, sendConnectReads } from '../../../src/trading/engine/start/connect-reads';
import type { Exchange } from '../../../src/trading/exchange/exchange';
import type { PaperExchange } from '../../../src/trading/exchange/paper-exchange';
import { EngineHarness } from '../../support/engine-harness';
import { withOverrides } from '../../support/exchange-overrides';
import { closeAfterEach } from '../../support/close-after-each';

/** The paper exchange with its markets and account reads counted, the first `failFirst` markets reads failing. */
function counted(calls: { loadMarkets: number; accountId: number }, failFirst = 0) {
  return (paper: PaperExchange): Exchange =>
    withOverrides(paper, {
      loadMarkets: (reload) => {
        calls.loadMarkets += 1;
        if (calls.loadMarkets <= failFirst) return Promise.reject(new NetworkError('connection reset'));
        return paper.loadMarkets(reload);
      },
      accountId: () => {
        calls.accountId += 1;
        return paper.accountId();
      },
    });
}

describe('the start reads sent ahead (connect-reads)', () => {
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h]);

  it('firstThen answers the given promise first, then runs the next attempt each time', async () => {
    let runs = 0;
    const attempt = firstThen(Promise.resolve('sent'), () => Promise.resolve(`again ${++runs}`));
    expect(await attempt()).to.equal('sent');
    expect(await attempt()).to.equal('again 1');
    expect(await attempt()).to.equal('again 2');
    expect(await firstThen(undefined, () => Promise.resolve('fresh'))()).to.equal('fresh');
  });

  it('connect takes the reads already on their way: markets and the account are read once each', async () => {
    const calls = { loadMarkets: 0, accountId: 0 };
    h = await EngineHarness.open({ connectLater: true, wrapExchange: counted(calls) });
    const sent = sendConnectReads(h.exchange);
    expect(calls).to.deep.equal({ loadMarkets: 1, accountId: 1 });
    const { markets, account } = await h.loop.connect(sent);
    expect(Object.keys(markets)).to.not.be.empty;
    expect(account).to.equal(await sent.account);
    expect(calls).to.deep.equal({ loadMarkets: 1, accountId: 1 });
  });

  it('a sent read that failed (before connect awaited it) is waited out and read again by connect', async () => {
    const calls = { loadMarkets: 0, accountId: 0 };
    h = await EngineHarness.open({ connectLater: true, wrapExchange: counted(calls, 1) });
    const sent = sendConnectReads(h.exchange);
    // the failure lands before anyone awaits it: no unhandled rejection, connect still sees it
    await new Promise((r) => setImmediate(r));
    let connected = false;
    const connecting = h.loop.connect(sent).then((r) => {
      connected = true;
      return r;
    });
    for (let i = 0; i < 50 && !connected; i++) await h.fakeClock().advance(100);
    const { markets } = await connecting;
    expect(Object.keys(markets)).to.not.be.empty;
    expect(calls).to.deep.equal({ loadMarkets: 2, accountId: 1 });
  });
});
