/**
 * Kept markets in real ccxt, against each verified exchange's local double: a restart's adapter gets from the file
 * the same markets state ccxt builds from the exchange's answer, reads and parses orders with it before the fresh
 * load answered, never creates an order before that load, and uses no file it must not (stale, another key or
 * API URL, damaged).
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import type { Exchange as CcxtClient } from 'ccxt';
import { systemClock } from '../../../src/shared/clock';
import { CcxtExchange } from '../../../src/trading/exchange/ccxt-exchange';
import { KEPT_MARKETS_FILE, KeptMarketsFile } from '../../../src/trading/exchange/kept-markets';
import { EXCHANGE_KITS } from '../../../harness/exchanges/exchange-kits';
import type { ExchangeKit, LocalExchange } from '../../../harness/exchanges/local-exchange';
import { TempDirs } from '../../support/temp-dirs';

const DAY = 24 * 60 * 60 * 1000;
const SYMBOLS = ['BTC/USDT', 'ETH/USDT'];

/** What ccxt's loadMarkets leaves in a client, as JSON (ccxt reads none of it by key presence alone). */
function marketState(exchange: CcxtExchange): string {
  const c = (exchange as unknown as { client: CcxtClient }).client as unknown as Record<string, unknown>;
  const fields = ['markets', 'markets_by_id', 'symbols', 'ids', 'currencies', 'currencies_by_id', 'codes'];
  return JSON.stringify(Object.fromEntries(fields.map((f) => [f, c[f]])));
}

for (const kit of EXCHANGE_KITS) keptMarketsSuite(kit);

function keptMarketsSuite(kit: ExchangeKit): void {
  describe(`kept markets in real ccxt on ${kit.profile.name}`, function () {
    this.timeout(30_000);
    const dirs = new TempDirs();
    let fake: LocalExchange;
    let dir: string;
    const open: CcxtExchange[] = [];

    beforeEach(async () => {
      fake = await kit.start({ symbols: SYMBOLS, balances: { USDT: 100_000 } });
      dir = dirs.make('byninja-kept-ccxt-');
    });
    afterEach(async () => {
      for (const ex of open.splice(0)) await ex.close();
      await fake.close();
      dirs.cleanup();
    });

    async function adapter(over: { apiKey?: string; apiUrl?: string; maxAgeMs?: number } = {}) {
      const ex = await CcxtExchange.create({
        exchangeId: kit.id,
        ...kit.credentials,
        apiKey: over.apiKey ?? kit.credentials.apiKey,
        apiUrl: over.apiUrl ?? fake.url,
        timeoutMs: 2_000,
        readRetry: { maxAttempts: 2, baseDelayMs: 50, maxDelayMs: 200, random: () => 0 },
        profile: kit.profile,
        keptMarkets: new KeptMarketsFile({
          dataDir: dir,
          maxAgeMs: over.maxAgeMs ?? DAY,
          clock: systemClock,
        }),
      });
      open.push(ex);
      return ex;
    }

    /** A run that loaded the markets from the exchange and stopped: the file holds what it fetched. */
    async function firstRun(): Promise<{ exchange: CcxtExchange; markets: unknown; state: string }> {
      const exchange = await adapter();
      expect(await exchange.keptMarkets()).to.equal(undefined);
      const markets = await exchange.loadMarkets();
      const state = marketState(exchange);
      await exchange.close();
      expect(fs.existsSync(path.join(dir, KEPT_MARKETS_FILE))).to.equal(true);
      return { exchange, markets, state };
    }

    const marketLoads = (): number => fake.requestCount('markets');

    it('a restart holds from the file exactly the markets state ccxt built from the answer, without asking', async () => {
      const first = await firstRun();
      const loads = marketLoads();
      const restarted = await adapter();
      expect(await restarted.keptMarkets()).to.deep.equal(first.markets);
      expect(marketState(restarted)).to.equal(first.state);
      expect(marketLoads()).to.equal(loads);
      // and the fresh load it still makes ends in the same state
      expect(await restarted.loadMarkets()).to.deep.equal(first.markets);
      expect(marketState(restarted)).to.equal(first.state);
      expect(marketLoads()).to.equal(loads + 1);
    });

    it('reads and parses orders with kept markets while the fresh load has not answered, as it would after', async () => {
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
      };

      const restarted = await adapter();
      expect(await restarted.keptMarkets()).to.not.equal(undefined);
      fake.fault('markets', { kind: 'delay', ms: 1_500 });
      let marketsAnswered = false;
      const loads = marketLoads();
      const fresh = restarted.loadMarkets().then(() => (marketsAnswered = true));
      // the fresh load has reached the exchange (as at start: it is sent first) before the reads are sent
      while (marketLoads() === loads) await new Promise((r) => setTimeout(r, 5));
      const [open, recent] = await Promise.all([
        restarted.fetchOpenOrders(),
        restarted.fetchRecentOrders('BTC/USDT'),
      ]);
      expect(marketsAnswered, 'the reads waited for the markets load').to.equal(false);
      expect({ open, recent }).to.deep.equal(expected);
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

    it('uses no kept markets of another API key, another API URL, or older than allowed', async () => {
      await firstRun();
      expect(await (await adapter({ apiKey: `${kit.credentials.apiKey}x` })).keptMarkets()).to.equal(
        undefined,
      );
      expect(await (await adapter({ apiUrl: `${fake.url}/` })).keptMarkets()).to.not.equal(undefined);
      const otherUrl = await adapter({ apiUrl: fake.url.replace('127.0.0.1', 'localhost') });
      expect(await otherUrl.keptMarkets()).to.equal(undefined);
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
      expect(fs.readdirSync(dir).filter((f) => f.startsWith(`${KEPT_MARKETS_FILE}.corrupt-`))).to.have.length(
        1,
      );
      expect(Object.keys(await restarted.loadMarkets())).to.include.members(SYMBOLS);
    });
  });
}
