/**
 * Markets asked for by symbol where the exchange documents it (the profile's `marketsBySymbol`: Binance
 * exchangeInfo `symbols`), through real ccxt against the local Binance, which answers `symbols` as Binance documents:
 * only the markets named, and -1121 "Invalid symbol." for the whole request when one of them is not listed.
 */
import { expect } from 'chai';
import { CcxtExchange } from '../../../src/trading/exchange/ccxt-exchange';
import { binanceProfile } from '../../../src/trading/exchange/profiles/binance';
import { FakeBinance } from '../../../harness/exchanges/fake-binance';
import { FakeClock } from '../../support/fake-clock';

const API_KEY = 'kEy0123456789abcdefAPIKEYvalue';
const SECRET = 'sEcReT0123456789abcdefSECRETvalue';
const BTC = 'BTC/USDT';
const ETH = 'ETH/USDT';
const SOL = 'SOL/USDT';

describe('markets asked for by symbol (real ccxt binance, local Binance)', function () {
  this.timeout(20_000);
  let fake: FakeBinance;
  const exchanges: CcxtExchange[] = [];

  beforeEach(async () => {
    fake = await FakeBinance.start({
      apiKey: API_KEY,
      secret: SECRET,
      symbols: [BTC, ETH, SOL],
      listedMarkets: 50,
      balances: { USDT: 10_000 },
    });
  });

  afterEach(async () => {
    for (const ex of exchanges.splice(0)) await ex.close();
    await fake.close();
  });

  async function connect(): Promise<CcxtExchange> {
    const ex = await CcxtExchange.create({
      exchangeId: 'binance',
      apiKey: API_KEY,
      secret: SECRET,
      apiUrl: fake.url,
      timeoutMs: 2_000,
      readRetry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 50, random: () => 0 },
      clock: new FakeClock(Date.now(), { sleep: 'advances' }),
    });
    exchanges.push(ex);
    return ex;
  }

  /** The `symbols` parameter of each exchangeInfo request, in order (null: the whole list asked). */
  const marketRequests = (): Array<string | null> =>
    fake.requests.filter((r) => r.route === 'exchangeInfo').map((r) => r.params.symbols ?? null);

  it('asks only for the symbols given, in one request, and gets only their markets', async () => {
    const ex = await connect();
    const markets = await ex.loadMarkets(false, [BTC, ETH]);
    expect(Object.keys(markets).sort()).to.deep.equal([BTC, ETH]);
    expect(markets[BTC].amountStep).to.be.above(0);
    expect(marketRequests()).to.deep.equal(['["BTCUSDT","ETHUSDT"]']);
    // without symbols: the whole list, as before
    expect(Object.keys(await ex.loadMarkets(true))).to.have.length(53);
    expect(marketRequests()).to.deep.equal(['["BTCUSDT","ETHUSDT"]', null]);
  });

  it('reads the whole list when one symbol asked is no longer listed (-1121 for the whole request): it is missing there, the others are fresh', async () => {
    const ex = await connect();
    await ex.loadMarkets(false, [BTC, SOL]);
    fake.delist(SOL);
    const markets = await ex.loadMarkets(true, [BTC, SOL]);
    expect(markets[SOL]).to.equal(undefined);
    expect(markets[BTC].amountStep).to.be.above(0);
    expect(Object.keys(markets)).to.have.length(52);
    expect(marketRequests()).to.deep.equal(['["BTCUSDT","SOLUSDT"]', '["BTCUSDT","SOLUSDT"]', null]);
    // the whole list stands until a load by symbol answers again
    fake.requests.length = 0;
    expect(Object.keys(await ex.loadMarkets(true, [BTC]))).to.deep.equal([BTC]);
    expect(marketRequests()).to.deep.equal(['["BTCUSDT"]']);
  });

  it('a mistyped symbol: the whole list, which does not have it either', async () => {
    const ex = await connect();
    const markets = await ex.loadMarkets(false, [BTC, 'BTC/USDTT']);
    expect(markets['BTC/USDTT']).to.equal(undefined);
    expect(markets[BTC]).to.not.equal(undefined);
    expect(marketRequests()).to.deep.equal(['["BTCUSDT","BTCUSDTT"]', null]);
  });

  it('loads the market of a symbol outside those loaded before a call on it (an order on a symbol no longer traded)', async () => {
    const ex = await connect();
    await ex.loadMarkets(false, [BTC]);
    const orders = await ex.fetchRecentOrders(ETH);
    expect(orders).to.deep.equal([]);
    expect(marketRequests()).to.deep.equal(['["BTCUSDT"]', '["BTCUSDT","ETHUSDT"]']);
    // a create on it is sized with its own market (loaded now: no further request)
    const price = (await ex.fetchTicker(ETH)).last;
    const placed = await ex.createOrder({
      symbol: ETH,
      side: 'buy',
      type: 'limit',
      amount: 0.01,
      price: Math.round(price / 2),
      clientOrderId: 'bn-eth-1',
    });
    expect(placed.symbol).to.equal(ETH);
    expect(marketRequests()).to.have.length(2);
  });

  it("reads all symbols' open orders again once an order's market outside those loaded is loaded: every order named by its symbol", async () => {
    const other = await connect();
    await other.loadMarkets();
    const price = (await other.fetchTicker(ETH)).last;
    await other.createOrder({
      symbol: ETH,
      side: 'buy',
      type: 'limit',
      amount: 0.01,
      price: Math.round(price / 2),
      clientOrderId: 'bn-eth-2',
    });
    fake.requests.length = 0;
    const ex = await connect();
    await ex.loadMarkets(false, [BTC]);
    const open = await ex.fetchOpenOrders();
    expect(open.map((o) => [o.symbol, o.clientOrderId])).to.deep.equal([[ETH, 'bn-eth-2']]);
    expect(marketRequests()).to.deep.equal(['["BTCUSDT"]', '["BTCUSDT","ETHUSDT"]']);
    expect(fake.requests.filter((r) => r.route === 'openOrders')).to.have.length(2);
  });

  it("finds a market outside those loaded (a fee currency's) alone, once; one it does not list, without the whole list", async () => {
    const ex = await connect();
    await ex.loadMarkets(false, [BTC]);
    expect((await ex.findMarket(ETH))?.symbol).to.equal(ETH);
    expect(await ex.findMarket('DOGE/USDT')).to.equal(undefined);
    expect(marketRequests()).to.deep.equal(['["BTCUSDT"]', '["ETHUSDT"]', '["DOGEUSDT"]']);
    // found or not, never asked again; and ETH's price is read with no market load before it
    expect((await ex.findMarket(ETH))?.symbol).to.equal(ETH);
    expect(await ex.findMarket('DOGE/USDT')).to.equal(undefined);
    expect((await ex.fetchTicker(ETH)).last).to.be.above(0);
    expect(marketRequests()).to.have.length(3);
  });

  it('keeps a fee market found outside the scope across reloads by symbol (halts): never looked up again', async () => {
    const ex = await connect();
    await ex.loadMarkets(false, [BTC]);
    await ex.findMarket(ETH);
    for (let i = 0; i < 3; i++) {
      const markets = await ex.loadMarkets(true, [BTC]);
      expect(Object.keys(markets).sort()).to.deep.equal([BTC, ETH]);
      expect((await ex.findMarket(ETH))?.symbol).to.equal(ETH);
      await ex.fetchTicker(ETH);
    }
    // before: each reload lost it, and each fee valuation loaded it again with a reload of its own
    expect(marketRequests()).to.deep.equal([
      '["BTCUSDT"]',
      '["ETHUSDT"]',
      '["BTCUSDT","ETHUSDT"]',
      '["BTCUSDT","ETHUSDT"]',
      '["BTCUSDT","ETHUSDT"]',
    ]);
  });

  it("a create never waits for a fee market being looked up (no reload of ccxt's markets, which its calls wait for)", async () => {
    const ex = await connect();
    await ex.loadMarkets(false, [BTC]);
    const price = (await ex.fetchTicker(BTC)).last;
    // the lookup's answer is slow (a busy endpoint): the stop-loss placed meanwhile goes out at once
    fake.faults.next('exchangeInfo', { kind: 'delay', ms: 1_500 }, { symbols: '["ETHUSDT"]' });
    let found = false;
    const lookup = ex.findMarket(ETH).then((m) => (found = m !== undefined));
    await new Promise((r) => setTimeout(r, 100));
    const placed = await ex.createOrder({
      symbol: BTC,
      side: 'buy',
      type: 'limit',
      amount: 0.001,
      price: Math.round(price / 2),
      clientOrderId: 'bn-btc-1',
    });
    expect(placed.clientOrderId).to.equal('bn-btc-1');
    expect(found, 'the create answered before the lookup').to.equal(false);
    expect(await lookup).to.equal(true);
  });

  it('answers each of two loads asked together with what it asked for (ccxt alone hands the second the first one)', async () => {
    const ex = await connect();
    const [first, second] = await Promise.all([
      ex.loadMarkets(false, [BTC]),
      ex.loadMarkets(true, [BTC, ETH]),
    ]);
    expect(Object.keys(first)).to.deep.equal([BTC]);
    expect(Object.keys(second).sort()).to.deep.equal([BTC, ETH]);
    expect(marketRequests()).to.deep.equal(['["BTCUSDT"]', '["BTCUSDT","ETHUSDT"]']);
  });

  it("the profile asks for Binance's market ids as its documentation writes them", () => {
    const by = binanceProfile.marketsBySymbol!;
    expect(by.params([BTC, ETH].map(by.marketId))).to.deep.equal({ symbols: '["BTCUSDT","ETHUSDT"]' });
  });
});
