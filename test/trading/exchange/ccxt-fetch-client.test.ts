/**
 * ccxt loads its HTTP client on the first request (undici, then node:zlib and node:http) and marks it native two
 * awaits after making it usable: a request arriving in between went through undici's WHATWG fetch, off ccxt's
 * dispatcher (so off the spare connections) and ~0.1 s of CPU to load. Every request now waits for the client to be
 * whole (ccxt-exchange.ts awaitFetchClient). Real ccxt Binance against the local Binance double.
 */
import { expect } from 'chai';
import { FakeBinance } from '../../../harness/exchanges/fake-binance';
import { binanceKit } from '../../../harness/exchanges/exchange-kits';
import { awaitFetchClient, loadCcxtClass, rebaseUrls } from '../../../src/trading/exchange/ccxt-exchange';

interface Client {
  urls: { api: unknown };
  undiciRequest(...args: unknown[]): Promise<unknown>;
  publicGetPing(): Promise<unknown>;
}

describe("ccxt's HTTP client while it loads (real ccxt, local Binance)", function () {
  this.timeout(30_000);
  let fake: FakeBinance;

  beforeEach(async () => {
    fake = await FakeBinance.start({ ...binanceKit.credentials, symbols: ['BTC/USDT'], balances: {} });
  });

  afterEach(async () => {
    await fake.close();
  });

  /**
   * A fresh client's first 60 requests, sent a microtask apart, then a turn of the event loop apart: how many went
   * through ccxt's own dispatcher (undiciRequest), and how many the exchange received.
   */
  async function burst(waitForClient: boolean): Promise<{ dispatched: number; received: number }> {
    const { Ctor } = await loadCcxtClass('binance');
    const client = new Ctor({ enableRateLimit: false }) as unknown as Client;
    client.urls.api = rebaseUrls(client.urls.api, fake.url);
    if (waitForClient) awaitFetchClient(client as never);
    let dispatched = 0;
    const undiciRequest = client.undiciRequest.bind(client);
    client.undiciRequest = (...args: unknown[]) => {
      dispatched += 1;
      return undiciRequest(...args);
    };
    const before = fake.requests.length;
    const sent: Array<Promise<unknown>> = [];
    for (let i = 0; i < 40; i++) {
      sent.push(client.publicGetPing());
      await Promise.resolve();
    }
    for (let i = 0; i < 20; i++) {
      sent.push(client.publicGetPing());
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(sent);
    return { dispatched, received: fake.requests.length - before };
  }

  it('sends every request made while the client loads through its dispatcher', async () => {
    expect(await burst(true)).to.deep.equal({ dispatched: 60, received: 60 });
  });

  it('(the race it closes: without the wait, ccxt sends some of them through the WHATWG fetch)', async () => {
    const { dispatched, received } = await burst(false);
    expect(received).to.equal(60);
    expect(dispatched, 'ccxt no longer races: awaitFetchClient may be unnecessary').to.be.below(60);
  });
});
