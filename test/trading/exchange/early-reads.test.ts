/**
 * A live restart's first reads sent before ccxt is loaded (early-reads.ts, the Binance profile's `earlyReads`): the
 * signing against Binance's own example, then real ccxt against the local Binance double — the reads reach the
 * exchange before anything asked for them, ccxt's own requests for them are answered with theirs (none sent twice,
 * the same answers as without), and whatever they need missing, they are not sent.
 */
import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { FakeBinance } from '../../../harness/exchanges/fake-binance';
import { binanceKit } from '../../../harness/exchanges/exchange-kits';
import { systemClock } from '../../../src/shared/clock';
import { captureLogger } from '../../support/capture-logger';
import type { CcxtExchange, CcxtExchangeOptions } from '../../../src/trading/exchange/ccxt-exchange';
import { EarlyReads, requestKey } from '../../../src/trading/exchange/early-reads';
import { GateFile } from '../../../src/trading/exchange/gate-file';
import { KEPT_MARKETS_FILE, KeptMarketsFile } from '../../../src/trading/exchange/kept-markets';
import { binanceProfile } from '../../../src/trading/exchange/profiles/binance';
import { kitCcxtExchange } from '../../support/live-engine';
import { gate } from '../../support/gate';
import { TempDirs } from '../../support/temp-dirs';
import { keepRefusalFrom } from '../../support/trading-files';

const SYMBOLS = ['BTC/USDT', 'ETH/USDT', 'SOL/USDT'];
/** exchangeInfo, account, allOrders of each symbol, openOrders, account (the balance). */
const START_READS = 4 + SYMBOLS.length;

describe('early reads: signing (rest-api.md, "SIGNED (TRADE and USER_DATA) Endpoint security")', () => {
  const how = binanceProfile.earlyReads!;

  it("signs as Binance's own example: HMAC SHA256 of the query string, hex, the key in X-MBX-APIKEY", () => {
    const { query, headers } = how.sign(
      {
        path: '/api/v3/order',
        params: {
          symbol: 'LTCBTC',
          side: 'BUY',
          type: 'LIMIT',
          timeInForce: 'GTC',
          quantity: '1',
          price: '0.1',
        },
        signed: true,
        weight: 1,
      },
      {
        apiKey: 'vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A',
        secret: 'NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j',
      },
      1499827319559,
    );
    expect(query).to.equal(
      'symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559' +
        '&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71',
    );
    expect(headers).to.deep.equal({
      'X-MBX-APIKEY': 'vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A',
    });
  });

  it('leaves a public read unsigned, with no key', () => {
    const [markets] = how.reads(['BTCUSDT', 'ETHUSDT']);
    expect(how.sign(markets, { apiKey: 'k', secret: 's' }, 1)).to.deep.equal({
      query: 'symbols=%5B%22BTCUSDT%22%2C%22ETHUSDT%22%5D',
      headers: {},
    });
  });

  it('matches a request whatever its timestamp, signature and parameter order; not another read', () => {
    const volatile = new Set(how.volatileParams);
    const key = (url: string): string => requestKey('GET', new URL(url), volatile);
    const base = 'https://api.binance.com/api/v3/allOrders';
    expect(key(`${base}?timestamp=1&symbol=BTCUSDT&limit=1000&recvWindow=5000&signature=ab`)).to.equal(
      key(`${base}?symbol=BTCUSDT&limit=1000&recvWindow=5000&timestamp=2&signature=cd`),
    );
    expect(key(`${base}?symbol=BTCUSDT&limit=1000`)).to.not.equal(key(`${base}?symbol=ETHUSDT&limit=1000`));
    expect(key(`${base}?symbol=BTCUSDT&limit=1000`)).to.not.equal(key(`${base}?symbol=BTCUSDT&limit=500`));
  });

  it('sends nothing on a connection that opens after close(): no request whose answer nobody takes', async () => {
    let asked = 0;
    const server = http.createServer((_req, res) => {
      asked += 1;
      res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const opening = gate();
    try {
      const early = EarlyReads.send({
        base: `http://127.0.0.1:${port}`,
        reads: how.reads(['BTCUSDT']).slice(0, 1),
        profile: how,
        credentials: { apiKey: 'k', secret: 's' },
        // a connection still opening (a slow lookup or handshake) when the adapter closes
        connection: () =>
          opening.promise.then(
            () =>
              new Promise<net.Socket>((resolve) => {
                const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
              }),
          ),
        clock: systemClock,
        timeoutMs: 1_000,
      });
      early.close();
      opening.open();
      await new Promise((r) => setTimeout(r, 200));
      expect(asked, 'requests sent after close()').to.equal(0);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('early reads under real ccxt (local Binance)', function () {
  this.timeout(30_000);
  let fake: FakeBinance;
  const dirs = new TempDirs();
  const open: CcxtExchange[] = [];

  beforeEach(async () => {
    fake = await FakeBinance.start({
      ...binanceKit.credentials,
      symbols: SYMBOLS,
      balances: { USDT: 100_000 },
    });
  });

  afterEach(async () => {
    for (const ex of open.splice(0)) await ex.close();
    await fake.close();
    dirs.cleanup();
  });

  const newDir = (): string => dirs.make('byninja-early-reads-');

  /** The adapter as a live start makes it (factory.ts): kept markets, the gate file, spares, the early reads. */
  async function adapter(dir: string, over: Partial<CcxtExchangeOptions> = {}): Promise<CcxtExchange> {
    const ex = await kitCcxtExchange(binanceKit, fake.url, {
      timeoutMs: 2_000,
      spareConnections: SYMBOLS.length + 4,
      earlyReadSymbols: SYMBOLS,
      keptMarkets: new KeptMarketsFile({
        dataDir: dir,
        symbols: SYMBOLS,
        appVersion: '0.0.0-test',
        maxAgeMs: 60 * 60_000,
        clock: systemClock,
      }),
      gateFile: new GateFile({ dataDir: dir, exchangeId: 'binance', clock: systemClock }),
      ...over,
    });
    open.push(ex);
    return ex;
  }

  /** A first run: the markets loaded (kept on disk) and a resting limit buy on each symbol. */
  async function firstRun(dir: string): Promise<void> {
    const ex = await adapter(dir);
    await ex.loadMarkets(false, SYMBOLS);
    for (const [i, symbol] of SYMBOLS.entries()) {
      const price = (await ex.fetchTicker(symbol)).last;
      await ex.createOrder({
        symbol,
        side: 'buy',
        type: 'limit',
        amount: symbol === 'BTC/USDT' ? 0.001 : 0.1,
        price: Math.round(price / 2),
        clientOrderId: `early-test-${i}`,
      });
    }
    open.splice(open.indexOf(ex), 1);
    await ex.close();
    expect(fs.existsSync(path.join(dir, KEPT_MARKETS_FILE))).to.equal(true);
  }

  /** The reads a restart makes at once (connect-reads.ts, recovery-reads.ts), and what they answered. */
  async function startReads(ex: CcxtExchange): Promise<unknown> {
    const [markets, account, recent, openOrders, balance] = await Promise.all([
      ex.loadMarkets(false, SYMBOLS),
      ex.accountId(),
      Promise.all(SYMBOLS.map((s) => ex.fetchRecentOrders(s))),
      ex.fetchOpenOrders(),
      ex.fetchBalance(),
    ]);
    const orders = (list: Array<{ clientOrderId?: string; status: string; symbol: string }>): string[] =>
      list.map((o) => `${o.symbol} ${o.clientOrderId} ${o.status}`).sort();
    return {
      markets: Object.keys(markets).sort(),
      account,
      recent: recent.map(orders),
      open: orders(openOrders),
      usdt: balance.USDT,
    };
  }

  async function until(check: () => boolean, what: string): Promise<void> {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(check(), what).to.equal(true);
  }

  it('sends the start’s reads before anything asks for them; ccxt’s requests take their answers: each sent once, the same answers', async () => {
    const dir = newDir();
    await firstRun(dir);
    const mark = fake.requests.length;
    const ex = await adapter(dir);
    await until(() => fake.requests.length - mark >= START_READS, 'the early reads reached the exchange');
    const early = fake.requests.slice(mark).map((r) => r.route);
    expect(early.sort()).to.deep.equal(
      ['account', 'account', 'exchangeInfo', 'openOrders', ...SYMBOLS.map(() => 'allOrders')].sort(),
    );
    const answered = await startReads(ex);
    expect(fake.requests.length - mark, 'no read sent twice').to.equal(START_READS);
    // the same reads by a start without them
    const plain = await adapter(newDir(), { earlyReadSymbols: undefined });
    expect(await startReads(plain)).to.deep.equal(answered);
    expect((answered as { open: string[] }).open).to.have.length(SYMBOLS.length);
  });

  it('sends nothing before ccxt when markets were not kept, or the exchange refused the bot for rate within a day', async () => {
    const mark = fake.requests.length;
    // no kept markets
    await adapter(newDir());
    // refused for rate 2 hours ago (its kept wait long over)
    const dir = newDir();
    await firstRun(dir);
    keepRefusalFrom(dir, 'binance', 2);
    const before = fake.requests.length;
    await adapter(dir);
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.requests.length, 'nothing sent by either start before a read was asked for').to.equal(before);
    expect(fake.requests.slice(mark, before).map((r) => r.route)).to.not.include('openOrders');
  });

  it('an early read that fails is sent again by ccxt, once: the answers are those of a start without early reads', async () => {
    const dir = newDir();
    await firstRun(dir);
    const mark = fake.requests.length;
    // the connection of the first openOrders read is reset before any answer
    fake.fault('openOrders', { kind: 'reset' });
    const ex = await adapter(dir);
    await until(() => fake.requests.length - mark >= START_READS, 'the early reads reached the exchange');
    const answered = await startReads(ex);
    const routes = fake.requests.slice(mark).map((r) => r.route);
    expect(routes.filter((r) => r === 'openOrders')).to.have.length(2);
    expect(routes).to.have.length(START_READS + 1);
    const plain = await adapter(newDir(), { earlyReadSymbols: undefined });
    expect(await startReads(plain)).to.deep.equal(answered);
  });

  it('a refusal for rate answered to an early read is ccxt’s refusal: the gate closes for the wait Binance asked', async () => {
    const dir = newDir();
    await firstRun(dir);
    fake.faults.next('openOrders', { kind: 'rate-limit', retryAfterSec: 30 });
    const { logger, lines } = captureLogger();
    const mark = fake.requests.length;
    const ex = await adapter(dir, { logger });
    await until(() => fake.requests.length - mark >= START_READS, 'the early reads reached the exchange');
    // (the read itself waits the gate out, and is ended when the adapter closes)
    void ex.fetchOpenOrders().catch(() => undefined);
    await until(
      () => (ex.rateLimitedUntil() ?? 0) > Date.now() + 20_000,
      'the gate closed for the 30 s Binance asked',
    );
    expect(fake.requests.slice(mark).filter((r) => r.route === 'openOrders')).to.have.length(1);
    // nothing of a request is logged: neither the key nor a signature
    const logged = JSON.stringify(lines);
    expect(logged).to.not.include(binanceKit.credentials.apiKey);
    expect(logged).to.not.include(binanceKit.credentials.secret);
    expect(logged).to.not.match(/signature=/);
  });

  it('an Ed25519 or RSA key (a PEM secret, which ccxt signs with) sends nothing early: no HMAC-signed read refused with -1022', async () => {
    const dir = newDir();
    await firstRun(dir);
    const mark = fake.requests.length;
    const { privateKey } = generateKeyPairSync('ed25519');
    const secret = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await adapter(dir, { secret });
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.requests.slice(mark).map((r) => r.route)).to.deep.equal([]);
  });

  it('an order placed (or cancelled) after the early reads drops their answers: a later read sees it', async () => {
    const dir = newDir();
    await firstRun(dir);
    const mark = fake.requests.length;
    const ex = await adapter(dir);
    await until(() => fake.requests.length - mark >= START_READS, 'the early reads reached the exchange');
    const price = (await ex.fetchTicker('BTC/USDT')).last;
    await ex.createOrder({
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'limit',
      amount: 0.001,
      price: Math.round(price / 3),
      clientOrderId: 'early-test-after',
    });
    const open = await ex.fetchOpenOrders();
    expect(open.map((o) => o.clientOrderId)).to.include('early-test-after');
    const recent = await ex.fetchRecentOrders('BTC/USDT');
    expect(recent.map((o) => o.clientOrderId)).to.include('early-test-after');
  });

  it('early answers refused for rate are not handed out after the wait: the gate’s probe is a fresh request', async () => {
    const dir = newDir();
    await firstRun(dir);
    const mark = fake.requests.length;
    fake.refuseAll = { status: 429, retryAfterSec: 1 };
    const ex = await adapter(dir);
    await until(() => fake.requests.length - mark >= START_READS, 'the early reads reached the exchange');
    fake.refuseAll = undefined;
    // the account's refusal closes the gate; a read asked after it waits, then probes
    const account = ex.accountId();
    await until(() => (ex.rateLimitedUntil() ?? 0) > Date.now(), 'the gate closed');
    const started = Date.now();
    await Promise.all([account, ex.fetchOpenOrders()]);
    // one wait of the Retry-After (1 s), not one more per refusal answered before it
    expect(Date.now() - started).to.be.below(1_800);
    expect(fake.requests.length - mark, 'the reads asked again after the wait').to.be.above(START_READS);
  });
});
