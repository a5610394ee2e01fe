/**
 * What start-up recovery asks of the exchange, counted on the local Binance (real ccxt, the shipped Binance profile):
 * which requests, how many, and that the independent ones go out together. Counts and order only, never timings.
 */
import { expect } from 'chai';
import { FakeBinance } from '../../../harness/exchanges/fake-binance';
import { binanceKit } from '../../../harness/exchanges/exchange-kits';
import type { Exchange } from '../../../src/trading/exchange/exchange';
import { EngineHarness } from '../../support/engine-harness';
import { recordCalls, withOverrides, type RecordedCall } from '../../support/exchange-overrides';
import { closeAfterEach } from '../../support/close-after-each';
import { kitCcxtExchange } from '../../support/live-engine';

const SYMBOLS = ['BTC/USDT', 'ETH/USDT', 'SOL/USDT', 'BNB/USDT', 'XRP/USDT'];
const ORDERS_PER_SYMBOL = 4;
const LAST_EXIT = { kind: 'crash' as const, reason: 'test' };

describe('start-up recovery: the requests it makes of the exchange (real ccxt, local Binance)', function () {
  this.timeout(60_000);
  let fake: FakeBinance | undefined;
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h, fake]);

  /** A live engine on the local Binance with ORDERS_PER_SYMBOL resting buys on each of SYMBOLS, then restarted. */
  async function restartedWithRestingOrders(wrap: (ex: Exchange) => Exchange = (ex) => ex): Promise<void> {
    fake = await FakeBinance.start({
      ...binanceKit.credentials,
      symbols: SYMBOLS,
      balances: { USDT: 100_000 },
    });
    const url = fake.url;
    // the shipped adapter (its own timeouts and retry): what recovery asks is counted as the daemon would ask it
    const exchange = async (): Promise<Exchange> => wrap(await kitCcxtExchange(binanceKit, url));
    h = await EngineHarness.open({ config: { trading: { mode: 'live', symbols: SYMBOLS } }, exchange });
    h.manager.startAccepting();
    for (const symbol of SYMBOLS) {
      const price = (await h.exchange.fetchTicker(symbol)).last;
      for (let i = 0; i < ORDERS_PER_SYMBOL; i++) {
        const order = await h.manager.place({
          symbol,
          side: 'buy',
          type: 'limit',
          amount: symbol === 'BTC/USDT' ? 0.001 : symbol === 'ETH/USDT' ? 0.01 : 1,
          price: Math.round(price * 0.5),
          purpose: 'entry',
        });
        expect(order.status, order.error).to.equal('open');
      }
    }
    h = await h.restart();
  }

  it('reads recent orders once per symbol, open orders once for all symbols and the balance once; no per-order lookup', async () => {
    await restartedWithRestingOrders();
    const before = fake!.requests.length;
    const summary = await h!.loop.recover(LAST_EXIT);

    expect(summary.openOrders).to.equal(SYMBOLS.length * ORDERS_PER_SYMBOL);
    expect(summary.changedWhileDown).to.deep.equal([]);
    const made = fake!.requests.slice(before);
    const count = (route: string): number => made.filter((r) => r.route === route).length;
    expect(made.map((r) => r.route).sort()).to.deep.equal(
      [...SYMBOLS.map(() => 'allOrders'), 'openOrders', 'account'].sort(),
    );
    expect(count('fetchOrder')).to.equal(0);
    expect(count('myTrades')).to.equal(0);
    // the one open-orders read is Binance's all-symbols one (weight 80, instead of 6 per symbol and 80 again for
    // orders state does not know)
    expect(made.filter((r) => r.route === 'openOrders')).to.have.length(1);
  });

  it('sends those reads together: every one reaches the exchange before the first answer comes back', async () => {
    let before = 0;
    let inAtFirstAnswer = -1;
    // the calls made once armed; the first of them to be answered marks how many requests were in by then
    let calls: RecordedCall[] = [];
    let armedAt = Infinity;
    await restartedWithRestingOrders((ex) => {
      const recorded = recordCalls(ex, (call) => {
        if (inAtFirstAnswer < 0 && calls.indexOf(call) >= armedAt)
          inAtFirstAnswer = fake!.requests.length - before;
      });
      calls = recorded.calls;
      return recorded.exchange;
    });
    // every read answers late: ccxt's stock Binance limiter (one cost unit per 50 ms: 200 ms after a weight-20
    // read) would have let only the first two of them out by then, a recovery reading one at a time only one
    for (const route of [...SYMBOLS.map(() => 'allOrders'), 'openOrders', 'account']) {
      fake!.faults.next(route, { kind: 'delay', ms: 600 });
    }
    before = fake!.requests.length;
    armedAt = calls.length;
    await h!.loop.recover(LAST_EXIT);
    expect(inAtFirstAnswer).to.equal(SYMBOLS.length + 2);
  });

  it('reads the balance again after a recovery that applied fills (the early read still held the spent quote)', async () => {
    // fetchBalance answered, then the BTC buys fill before the open-orders list is read: recovery applies their
    // fills; equity from the early balance would count the quote spent on them and the coins they bought both
    let pinned = false;
    const pinOnBalance = (ex: Exchange): Exchange =>
      withOverrides(ex, {
        fetchBalance: async () => {
          const answer = await ex.fetchBalance();
          if (armed && !pinned) {
            pinned = true;
            fake!.pinPrice('BTC/USDT', btcPrice * 0.3);
          }
          return answer;
        },
      });
    let armed = false;
    let btcPrice = 0;
    await restartedWithRestingOrders(pinOnBalance);
    btcPrice = (await h!.exchange.fetchTicker('BTC/USDT')).last;
    for (const route of ['openOrders', ...SYMBOLS.map(() => 'allOrders')]) {
      fake!.faults.next(route, { kind: 'delay', ms: 1_500 });
    }
    const accountReads = fake!.requests.filter((r) => r.route === 'account').length;
    armed = true;
    const summary = await h!.loop.recover(LAST_EXIT);
    expect(pinned).to.equal(true);
    expect(summary.changedWhileDown.length, JSON.stringify(summary)).to.be.greaterThan(0);
    expect(fake!.requests.filter((r) => r.route === 'account').length).to.equal(accountReads + 2);
    // equity = the quote after the buys + the bought BTC at cost: never above what the account started with
    expect(h!.orders.state.risk.equityPeak).to.be.at.most(100_000);
  });
});
