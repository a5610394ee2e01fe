import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { systemClock } from '../../../src/shared/clock';
import { configSchema, type Config } from '../../../src/shared/config/schema';
import { ConfigError } from '../../../src/shared/errors';
import { silentLogger } from '../../../src/shared/logging/logger';
import { CcxtExchange } from '../../../src/trading/exchange/ccxt-exchange';
import type { Exchange } from '../../../src/trading/exchange/exchange';
import { createExchange, type CreateExchangeDeps } from '../../../src/trading/exchange/factory';
import { PaperExchange } from '../../../src/trading/exchange/paper-exchange';
import { FakeBinance } from '../../../harness/exchanges/fake-binance';

const KEY = 'factory-test-key-0123456789';
const SECRET = 'factory-test-secret-0123456789';

function tradingConfig(trading: Record<string, unknown> = {}): Config['trading'] {
  return configSchema().parse({ trading }).trading;
}

describe('createExchange', function () {
  this.timeout(20_000);
  let dir: string;
  let fake: FakeBinance | undefined;
  let exchange: Exchange | undefined;
  // real ccxt against the double signs with its own Date.now(): the real clock
  const deps = (): CreateExchangeDeps => ({ dataDir: dir, logger: silentLogger(), clock: systemClock });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-factory-'));
  });

  afterEach(async () => {
    await exchange?.close();
    exchange = undefined;
    await fake?.close();
    fake = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('gives the offline paper exchange by default, with its own account file', async () => {
    exchange = await createExchange(tradingConfig(), {}, deps());
    expect(exchange).to.be.instanceOf(PaperExchange);
    expect(exchange.id).to.equal('paper');
    expect(Object.keys(await exchange.loadMarkets())).to.deep.equal(['BTC/USDT', 'ETH/USDT']);
    const placed = await exchange.createOrder({
      symbol: 'ETH/USDT',
      side: 'buy',
      type: 'market',
      amount: 0.05,
      clientOrderId: 'f-1',
    });
    expect(placed.status).to.equal('closed');
    expect(fs.existsSync(path.join(dir, 'paper-exchange.json'))).to.equal(true);
  });

  it("keeps the paper account in trading.paper.dataDir when set (the exchange off the bot's disk)", async () => {
    const exchangeDir = path.join(dir, 'exchange', 'nested');
    exchange = await createExchange(tradingConfig({ paper: { dataDir: exchangeDir } }), {}, deps());
    await exchange.createOrder({
      symbol: 'ETH/USDT',
      side: 'buy',
      type: 'market',
      amount: 0.05,
      clientOrderId: 'f-2',
    });
    expect(fs.existsSync(path.join(exchangeDir, 'paper-exchange.json'))).to.equal(true);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('paper-exchange'))).to.deep.equal([]);
  });

  it('dry-run: real market data from the exchange, fills on paper (nothing reaches the exchange)', async () => {
    fake = await FakeBinance.start();
    const config = tradingConfig({
      mode: 'dry-run',
      exchange: 'binance',
      exchangeApiUrl: fake.url,
      orders: { createTimeoutMs: 2_000 },
    });
    exchange = await createExchange(config, {}, deps());
    expect(exchange.id).to.equal('binance');
    expect((await exchange.loadMarkets())['BTC/USDT'].minNotional).to.equal(5);
    const ticker = await exchange.fetchTicker('BTC/USDT');
    const placed = await exchange.createOrder({
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'market',
      amount: 0.01,
      clientOrderId: 'd-1',
    });
    expect(placed.status).to.equal('closed');
    expect(placed.average).to.be.closeTo(
      ticker.ask * (1 + config.paper.slippageBps / 10_000),
      ticker.ask * 0.001,
    );
    expect((await exchange.fetchBalance()).BTC.total).to.equal(0.01);
    expect(fake.orders).to.have.length(0);
    expect(fake.requests.some((r) => r.route === 'createOrder' || r.route === 'account')).to.equal(false);
    expect(fs.existsSync(path.join(dir, 'dry-run-exchange.json'))).to.equal(true);
  });

  it('dry-run: a resting limit order fills when the live quote reaches it', async () => {
    fake = await FakeBinance.start();
    const config = tradingConfig({ mode: 'dry-run', exchangeApiUrl: fake.url });
    exchange = await createExchange(config, {}, deps());
    const { ask } = await exchange.fetchTicker('BTC/USDT');
    const resting = await exchange.createOrder({
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'limit',
      amount: 0.01,
      price: Math.floor(ask * 0.5),
      clientOrderId: 'd-2',
    });
    expect(resting.status).to.equal('open');
    const crossing = await exchange.createOrder({
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'limit',
      amount: 0.01,
      price: Math.ceil(ask * 1.01),
      clientOrderId: 'd-3',
    });
    expect(crossing.status).to.equal('closed');
    expect(crossing.trades![0].price).to.be.at.most(Math.ceil(ask * 1.01));
    expect((await exchange.fetchOpenOrders()).map((o) => o.clientOrderId)).to.deep.equal(['d-2']);
  });

  it('live without API keys is a configuration error naming the missing variables', async () => {
    let failure: unknown;
    await createExchange(tradingConfig({ mode: 'live' }), { exchangeApiKey: KEY }, deps()).catch(
      (err: unknown) => (failure = err),
    );
    expect(failure).to.be.instanceOf(ConfigError);
    expect((failure as ConfigError).problems.map((p) => p.field)).to.deep.equal(['EXCHANGE_SECRET']);
    expect((failure as ConfigError).message).to.not.include(KEY);
  });

  it('live on OKX without EXCHANGE_PASSWORD is a configuration error naming it (OKX signs with a passphrase)', async () => {
    let failure: unknown;
    await createExchange(
      tradingConfig({ mode: 'live', exchange: 'okx' }),
      { exchangeApiKey: KEY, exchangeSecret: SECRET },
      deps(),
    ).catch((err: unknown) => (failure = err));
    expect(failure).to.be.instanceOf(ConfigError);
    const problems = (failure as ConfigError).problems;
    expect(problems.map((p) => p.field)).to.deep.equal(['EXCHANGE_PASSWORD']);
    expect(problems[0].message).to.include('passphrase');
    expect((failure as ConfigError).message).to.not.include(SECRET);
  });

  it('live on an exchange without a verified profile is a configuration error that lists the verified ones', async () => {
    let failure: unknown;
    await createExchange(
      tradingConfig({ mode: 'live', exchange: 'kraken' }),
      { exchangeApiKey: KEY, exchangeSecret: SECRET },
      deps(),
    ).catch((err: unknown) => (failure = err));
    expect(failure).to.be.instanceOf(ConfigError);
    const problem = (failure as ConfigError).problems[0];
    expect(problem.field).to.equal('trading.exchange');
    expect(problem.message).to.include('binance');
    expect(problem.message).to.include('dry-run');
  });

  it('dry-run stays open to any ccxt exchange (public data only)', async () => {
    exchange = await createExchange(
      tradingConfig({ mode: 'dry-run', exchange: 'kraken', exchangeApiUrl: 'http://127.0.0.1:9' }),
      {},
      deps(),
    );
    expect(exchange.id).to.equal('kraken');
  });

  it('live: real orders through ccxt, signed with the keys from the environment', async () => {
    fake = await FakeBinance.start({ apiKey: KEY, secret: SECRET });
    const config = tradingConfig({ mode: 'live', exchangeApiUrl: fake.url });
    exchange = await createExchange(config, { exchangeApiKey: KEY, exchangeSecret: SECRET }, deps());
    expect(exchange).to.be.instanceOf(CcxtExchange);
    await exchange.createOrder({
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'market',
      amount: 0.01,
      clientOrderId: 'l-1',
    });
    expect(fake.ordersByClientId('l-1')).to.have.length(1);
  });
  it('live and dry-run refuse a timeframe the exchange serves no candles of, naming it and the intervals there are', async () => {
    fake = await FakeBinance.start({ apiKey: KEY, secret: SECRET });
    for (const mode of ['live', 'dry-run'] as const) {
      // 7m is a timeframe's form, but Binance's klines have no such interval: every candle read would be refused
      const config = tradingConfig({ mode, timeframe: '7m', exchangeApiUrl: fake.url });
      const err = await createExchange(config, { exchangeApiKey: KEY, exchangeSecret: SECRET }, deps()).then(
        () => expect.fail(`${mode} started on 7m candles`),
        (e: unknown) => e,
      );
      expect(err, mode).to.be.instanceOf(ConfigError);
      const [problem] = (err as ConfigError).problems;
      expect(problem).to.include({ field: 'trading.timeframe', value: '7m' });
      expect(problem!.message).to.match(
        /^binance serves no 7m candles; set one of its intervals: 1s, 1m, 3m, 5m,/,
      );
    }
    // a timeframe it serves starts
    exchange = await createExchange(
      tradingConfig({ mode: 'live', timeframe: '15m', exchangeApiUrl: fake.url }),
      { exchangeApiKey: KEY, exchangeSecret: SECRET },
      deps(),
    );
  });

  it('a timeframe not of the form a number and a unit is a configuration error of the schema', () => {
    const parsed = configSchema().safeParse({ trading: { timeframe: '1hr' } });
    expect(parsed.success).to.equal(false);
    expect(parsed.error!.issues[0]).to.deep.include({ path: ['trading', 'timeframe'] });
    expect(parsed.error!.issues[0]!.message).to.include('use a number and a unit');
  });
});
