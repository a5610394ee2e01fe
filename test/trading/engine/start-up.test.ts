/**
 * The start (start-up.ts): recovery's reads sent ahead are taken as they are when the start never waited for the
 * exchange, and read again when it did (recovery works on answers given after the wait). The real loop and paper
 * exchange on the fake clock.
 */
import { expect } from 'chai';
import { NetworkError } from '../../../src/shared/errors';
import { sendConnectReads } from '../../../src/trading/engine/start/connect-reads';
import { sendRecoveryReads } from '../../../src/trading/engine/start/recovery-reads';
import type { Exchange } from '../../../src/trading/exchange/exchange';
import type { PaperExchange } from '../../../src/trading/exchange/paper-exchange';
import { EngineHarness } from '../../support/engine-harness';
import { withOverrides } from '../../support/exchange-overrides';
import { closeAfterEach } from '../../support/close-after-each';

const LAST_EXIT = { kind: 'crash' as const, reason: 'test' };

/** The paper exchange with its open-orders reads counted, the first `failFirst` markets loads failing. */
function counted(calls: { openOrders: number; markets: number }, failFirst: number) {
  return (paper: PaperExchange): Exchange =>
    withOverrides(paper, {
      loadMarkets: (reload) => {
        calls.markets += 1;
        if (calls.markets <= failFirst) return Promise.reject(new NetworkError('connection reset'));
        return paper.loadMarkets(reload);
      },
      fetchOpenOrders: (symbol) => {
        calls.openOrders += 1;
        return paper.fetchOpenOrders(symbol);
      },
    });
}

describe("the start's recovery reads sent ahead (start-up.ts)", () => {
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h]);

  async function startWith(failFirst: number): Promise<{ openOrders: number; markets: number }> {
    const calls = { openOrders: 0, markets: 0 };
    h = await EngineHarness.open({ connectLater: true, wrapExchange: counted(calls, failFirst) });
    let connected = false;
    const connecting = h.loop.connect(sendConnectReads(h.exchange)).then(() => (connected = true));
    for (let i = 0; i < 50 && !connected; i++) await h.fakeClock().advance(100);
    await connecting;
    const sent = sendRecoveryReads(h.exchange, ['BTC/USDT']);
    expect(calls.openOrders, 'sent ahead').to.equal(1);
    await h.loop.recover(LAST_EXIT, sent);
    return calls;
  }

  it('a start that never waited takes them as they are: open orders read once', async () => {
    expect(await startWith(0)).to.deep.equal({ openOrders: 1, markets: 1 });
  });

  it('a start that waited for the exchange reads them again after the wait', async () => {
    expect(await startWith(1)).to.deep.equal({ openOrders: 2, markets: 2 });
  });
});
