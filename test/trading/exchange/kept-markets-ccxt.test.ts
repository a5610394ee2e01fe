/**
 * Kept markets in real ccxt, against each verified exchange's local double listing more markets than are traded: a
 * restart's adapter gets from the file the traded symbols' markets as ccxt builds them from the exchange's whole
 * answer, reads and parses their orders and the balance with them before the fresh load answered exactly as with
 * the whole list, never creates an order before that load, and uses no file it must not (stale, another key, API
 * URL or ccxt options, damaged).
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import type { Exchange as CcxtClient } from 'ccxt';
import { systemClock } from '../../../src/shared/clock';
import type { CcxtExchange } from '../../../src/trading/exchange/ccxt-exchange';
import { KEPT_MARKETS_FILE, KeptMarketsFile } from '../../../src/trading/exchange/kept-markets';
import { EXCHANGE_KITS } from '../../../harness/exchanges/exchange-kits';
import type { ExchangeKit, LocalExchange } from '../../../harness/exchanges/local-exchange';
import { QUICK_READ_RETRY, kitCcxtExchange } from '../../support/live-engine';
import { TempDirs } from '../../support/temp-dirs';

const DAY = 24 * 60 * 60 * 1000;
/** The traded symbols; the doubles list others too (only the traded are kept). */
const SYMBOLS = ['BTC/USDT', 'ETH/USDT'];
const OTHERS = ['SOL/USDT', 'XRP/USDT', 'ETH/BTC'];

/** What ccxt's loadMarkets leaves in a client for the traded symbols and their currencies, as JSON. */
function marketState(exchange: CcxtExchange): string {
  const c = (exchange as unknown as { client: CcxtClient }).client;
  const markets = SYMBOLS.map((s) => c.markets![s]);
  const codes = [...new Set(markets.flatMap((m) => [m.base, m.quote]))];
  return JSON.stringify({
    markets,
    byId: markets.map((m) => c.markets_by_id![m.id]),
    currencies: codes.map((code) => c.currencies?.[code] ?? null),
  });
}

const traded = (markets: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(SYMBOLS.map((s) => [s, markets[s]]));

for (const kit of EXCHANGE_KITS) keptMarketsSuite(kit);

function keptMarketsSuite(kit: ExchangeKit): void {
  describe(`kept markets in real ccxt on ${kit.profile.name}`, function () {
    this.timeout(30_000);
    const dirs = new TempDirs();
    let fake: LocalExchange;
    let dir: string;
    const open: CcxtExchange[] = [];

    beforeEach(async () => {
      fake = await kit.start({ symbols: [...SYMBOLS, ...OTHERS], balances: { USDT: 100_000, XRP: 50 } });
      dir = dirs.make('byninja-kept-ccxt-');
    });
    afterEach(async () => {
      for (const ex of open.splice(0)) await ex.close();
      await fake.close();
      dirs.cleanup();
    });

    async function adapter(
      over: {
        apiKey?: string;
        apiUrl?: string;
        maxAgeMs?: number;
        ccxtOptions?: Record<string, unknown>;
      } = {},
    ) {
      const ex = await kitCcxtExchange(kit, over.apiUrl ?? fake.url, {
        apiKey: over.apiKey ?? kit.credentials.apiKey,
        timeoutMs: 2_000,
        readRetry: QUICK_READ_RETRY,
        ...(over.ccxtOptions ? { ccxtOptions: over.ccxtOptions } : {}),
        keptMarkets: new KeptMarketsFile({
          dataDir: dir,
          symbols: SYMBOLS,
          appVersion: '0.0.0-test',
          maxAgeMs: over.maxAgeMs ?? DAY,
          clock: systemClock,
        }),
      });
      open.push(ex);
      return ex;
    }

    /** A run that loaded the markets from the exchange and stopped: the file holds what it fetched. */
    async function firstRun(): Promise<{
      exchange: CcxtExchange;
      markets: Record<string, unknown>;
      state: string;
    }> {
      const exchange = await adapter();
      expect(await exchange.keptMarkets()).to.equal(undefined);
      const markets = await exchange.loadMarkets();
      const state = marketState(exchange);
      await exchange.close();
      expect(fs.existsSync(path.join(dir, KEPT_MARKETS_FILE))).to.equal(true);
      return { exchange, markets, state };
    }

    const marketLoads = (): number => fake.requestCount('markets');

    it("a restart holds from the file the traded symbols' markets state ccxt built from the whole answer, without asking", async () => {
      const first = await firstRun();
      expect(Object.keys(first.markets)).to.include.members(OTHERS);
      const file = JSON.parse(fs.readFileSync(path.join(dir, KEPT_MARKETS_FILE), 'utf8')) as {
        markets: Array<{ symbol: string }>;
      };
      expect(file.markets.map((m) => m.symbol).sort()).to.deep.equal([...SYMBOLS].sort());
      const loads = marketLoads();
      const restarted = await adapter();
      expect(await restarted.keptMarkets()).to.deep.equal(traded(first.markets));
      expect(marketState(restarted)).to.equal(first.state);
      expect(marketLoads()).to.equal(loads);
      // and the fresh load it still makes ends in the same state
      expect(traded(await restarted.loadMarkets())).to.deep.equal(traded(first.markets));
      expect(marketState(restarted)).to.equal(first.state);
      expect(marketLoads()).to.equal(loads + 1);
    });

    it('reads and parses the traded orders and the balance with kept markets before the fresh load, as after it', async () => {
      await firstRun();
      const placer = await adapter();
      await placer.loadMarkets();
      const price = Math.round((await placer.fetchTicker('BTC/USDT')).last * 0.5);
      await placer.createOrder({
        symbol: 'BTC/USDT',
        side: 'buy',
        type: 'limit',
        amount: 0.001,
        price,
        clientOrderId: `kept${kit.profile.clientOrderId.separator ?? '-'}1`,
      });
      const expected = {
        open: await placer.fetchOpenOrders(),
        recent: await placer.fetchRecentOrders('BTC/USDT'),
        balance: await placer.fetchBalance(),
      };

      const restarted = await adapter();
      expect(await restarted.keptMarkets()).to.not.equal(undefined);
      fake.fault('markets', { kind: 'delay', ms: 1_500 });
      let marketsAnswered = false;
      const loads = marketLoads();
      const fresh = restarted.loadMarkets().then(() => (marketsAnswered = true));
      // the fresh load has reached the exchange (as at start: it is sent first) before the reads are sent
      while (marketLoads() === loads) await new Promise((r) => setTimeout(r, 5));
      const [open, recent, balance] = await Promise.all([
        restarted.fetchOpenOrders(),
        restarted.fetchRecentOrders('BTC/USDT'),
        restarted.fetchBalance(),
      ]);
      expect(marketsAnswered, 'the reads waited for the markets load').to.equal(false);
      expect({ open, recent, balance }).to.deep.equal(expected);
      await fresh;
    });

    it('creates no order before a fresh load answered: the create waits for it', async () => {
      await firstRun();
      const restarted = await adapter();
      const price = Math.round((await restarted.fetchTicker('BTC/USDT')).last * 0.5);
      const loads = marketLoads();
      fake.fault('markets', { kind: 'delay', ms: 800 });
      const creating = restarted.createOrder({
        symbol: 'BTC/USDT',
        side: 'buy',
        type: 'limit',
        amount: 0.001,
        price,
        clientOrderId: `kept${kit.profile.clientOrderId.separator ?? '-'}2`,
      });
      await new Promise((r) => setTimeout(r, 400));
      // the markets load is on its way, the create is not
      expect(marketLoads()).to.equal(loads + 1);
      expect(fake.createRequests()).to.deep.equal([]);
      await creating;
      expect(fake.createRequests()).to.have.length(1);
    });

    it('uses no kept markets of another API key, API URL or ccxt options, or older than allowed', async () => {
      await firstRun();
      expect(await (await adapter({ apiKey: `${kit.credentials.apiKey}x` })).keptMarkets()).to.equal(
        undefined,
      );
      expect(await (await adapter({ apiUrl: `${fake.url}/` })).keptMarkets()).to.not.equal(undefined);
      const otherUrl = await adapter({ apiUrl: fake.url.replace('127.0.0.1', 'localhost') });
      expect(await otherUrl.keptMarkets()).to.equal(undefined);
      expect(await (await adapter({ ccxtOptions: { recvWindow: 9_000 } })).keptMarkets()).to.equal(undefined);
      // the URL is kept as a hash, never in clear
      expect(fs.readFileSync(path.join(dir, KEPT_MARKETS_FILE), 'utf8')).to.not.include('127.0.0.1');
      await new Promise((r) => setTimeout(r, 20));
      expect(await (await adapter({ maxAgeMs: 10 })).keptMarkets()).to.equal(undefined);
      expect(await (await adapter()).keptMarkets()).to.not.equal(undefined);
    });

    it('sets a damaged file aside and loads the markets from the exchange', async () => {
      await firstRun();
      const file = path.join(dir, KEPT_MARKETS_FILE);
      const content = JSON.parse(fs.readFileSync(file, 'utf8')) as {
        markets: Array<Record<string, unknown>>;
      };
      content.markets[0].precision = 'tick';
      fs.writeFileSync(file, JSON.stringify(content));
      const restarted = await adapter();
      expect(await restarted.keptMarkets()).to.equal(undefined);
      expect(fs.readdirSync(dir).filter((f) => f.startsWith(`${KEPT_MARKETS_FILE}.corrupt`))).to.deep.equal([
        `${KEPT_MARKETS_FILE}.corrupt`,
      ]);
      expect(Object.keys(await restarted.loadMarkets())).to.include.members(SYMBOLS);
    });
  });
}
