/**
 * A live start with the markets the last run kept on disk, as the daemon wires it (connect-reads.ts,
 * recovery-reads.ts): the real engine over real files, real ccxt against the local Binance. Recovery's reads go out
 * beside the fresh markets load instead of after it — with the first reads when the exchange has not refused this
 * bot for rate lately (the rate-limit gate's kept file), else once the account answered — and find what they find
 * with fresh markets; the start itself still waits for the fresh markets as it does without kept ones (a failing load is
 * waited out and alerted once, nothing recovered, sized or placed before it; changed markets are the fresh ones: a
 * delisted symbol is missing from what the start checks, a changed step sizes the entry).
 *
 * Real clock, as in live-exchanges.suite.ts: real ccxt signs with its own Date.now() against a real local server.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { systemClock } from '../../../src/shared/clock';
import type { RecoverySummary } from '../../../src/shared/ipc/protocol';
import { sendConnectReads } from '../../../src/trading/engine/start/connect-reads';
import type { LocalOrder } from '../../../src/trading/engine/orders/order-state';
import { sendRecoveryReadsEarly } from '../../../src/trading/engine/start/recovery-reads';
import type { Market } from '../../../src/trading/exchange/exchange';
import { GateFile } from '../../../src/trading/exchange/gate-file';
import { KEPT_MARKETS_FILE, KeptMarketsFile } from '../../../src/trading/exchange/kept-markets';
import type { Signal } from '../../../src/trading/strategy/strategy';
import { HOLD } from '../../../src/trading/strategy/strategy';
import { binanceKit } from '../../../harness/exchanges/exchange-kits';
import { FakeBinance } from '../../../harness/exchanges/fake-binance';
import { EngineHarness, ScriptedStrategy, deepMerge } from '../../support/engine-harness';
import { openLiveEngine } from '../../support/live-engine';
import { TempDirs } from '../../support/temp-dirs';
import { keepRefusalFrom } from '../../support/trading-files';

const BTC = 'BTC/USDT';
const ETH = 'ETH/USDT';
const SOL = 'SOL/USDT';
const ENTER: Signal = { action: 'enter-long', reason: 'test says buy' };

describe('a live start with the markets kept by the last run (real ccxt, local Binance)', function () {
  this.timeout(60_000);
  let fake: FakeBinance;
  const engines: EngineHarness[] = [];
  const dirs = new TempDirs();
  let strategy: ScriptedStrategy;

  afterEach(async () => {
    for (const h of engines.splice(0)) await h.close(false);
    await fake?.close();
    dirs.cleanup();
  });

  const newDir = (): string => dirs.make('byninja-kept-start-');

  /**
   * The engine on `dir`'s files, through real ccxt with the markets file in `dir`; not connected yet. `gate`: with
   * the rate-limit gate's kept file in `dir`, as the daemon has it (without: the adapter counts as refused lately).
   */
  async function engine(
    dir: string,
    config: Record<string, unknown> = {},
    gate = false,
  ): Promise<EngineHarness> {
    strategy = new ScriptedStrategy();
    const h = await openLiveEngine(binanceKit, fake.url, {
      dir,
      config: deepMerge(
        {
          trading: {
            mode: 'live',
            symbols: [BTC, ETH],
            risk: { stopLossPct: 0, takeProfitPct: 0 },
            unreachableAlertMs: 1,
          },
        },
        config,
      ),
      strategy,
      connectLater: true,
      adapter: {
        // 2 s a request (not 800 ms): a markets load delayed 500 ms must answer, never time out on a loaded machine
        timeoutMs: 2_000,
        keptMarkets: new KeptMarketsFile({
          dataDir: dir,
          symbols: (config as { trading?: { symbols?: string[] } }).trading?.symbols ?? [BTC, ETH],
          appVersion: '0.0.0-test',
          maxAgeMs: 60 * 60_000,
          clock: systemClock,
        }),
        ...(gate
          ? { gateFile: new GateFile({ dataDir: dir, exchangeId: 'binance', clock: systemClock }) }
          : {}),
      },
    });
    engines.push(h);
    return h;
  }

  /**
   * The daemon's start: first reads, recovery's reads of the traded symbols beside them when markets were kept,
   * connect (the fresh markets), recover.
   */
  async function start(h: EngineHarness): Promise<{
    kept: Record<string, Market> | undefined;
    markets: Record<string, Market>;
    summary: RecoverySummary;
  }> {
    const symbols = h.config.trading.symbols;
    const sent = sendConnectReads(h.exchange, symbols);
    const early = sendRecoveryReadsEarly(h.exchange, sent, symbols);
    const { markets } = await h.loop.connect(sent);
    const summary = await h.loop.recover({ kind: 'killed', reason: 'test' }, await early);
    h.loop.enterRunning();
    return { kept: await sent.kept, markets, summary };
  }

  /** A first run that loads the markets (kept on disk) and leaves `buys` resting limit buys per symbol. */
  async function firstRun(dir: string, buys = 0, config: Record<string, unknown> = {}): Promise<void> {
    const h = await engine(dir, config);
    await start(h);
    for (const symbol of h.config.trading.symbols) {
      const price = (await h.exchange.fetchTicker(symbol)).last;
      for (let i = 0; i < buys; i++) {
        await h.manager.place({
          symbol,
          side: 'buy',
          type: 'limit',
          amount: symbol === BTC ? 0.001 : 0.01,
          price: Math.round(price * (0.5 + i * 0.05)),
          purpose: 'entry',
        });
      }
    }
    engines.splice(engines.indexOf(h), 1);
    await h.close(false);
    expect(fs.existsSync(path.join(dir, KEPT_MARKETS_FILE))).to.equal(true);
  }

  /** Each order state holds: its symbol and status, sorted. */
  const statuses = (h: EngineHarness): string[][] =>
    h.orderBook
      .hotOrders()
      .map((o) => [o.symbol, o.status])
      .sort();

  /** While trading is down, the upper resting buy of each symbol fills (the price pinned 1 % under it). */
  async function fillUpperBuys(): Promise<void> {
    for (const symbol of [BTC, ETH]) {
      const upper = Math.max(
        ...fake.orders.filter((o) => o.symbol === symbol.replace('/', '')).map((o) => Number(o.price)),
      );
      fake.pinPrice(symbol, upper * 0.99);
    }
    // (the double matches resting orders when it is asked anything)
    await fetch(`${fake.url}/api/v3/time`);
  }

  /** State as recovery leaves it, without the times it was written at. */
  function recovered(h: EngineHarness): unknown {
    const orders = h.orderBook.hotOrders().map((o: LocalOrder) => ({ ...o, updatedAt: 0 }));
    return { orders, positions: h.orderBook.positions() };
  }

  it('sends recovery reads beside the markets load once the account answered, and recovers exactly what fresh markets recover', async () => {
    fake = (await binanceKit.start({
      symbols: [BTC, ETH],
      // fees paid in BNB (held): valued through the BNB/USDT market when recorded
      balances: { USDT: 100_000, BNB: 10 },
      thirdCurrencyFees: true,
    })) as FakeBinance;
    const dir = newDir();
    await firstRun(dir, 2);
    // while trading is down, the upper buy of each symbol fills (fees in BNB, valued at a steady price)
    fake.pinPrice('BNB/USDT', 100);
    await fillUpperBuys();
    expect(fake.tradeLog.length).to.be.greaterThan(0);
    // the same files twice: one start with the kept markets, one without
    const fresh = newDir();
    fs.cpSync(dir, fresh, { recursive: true });
    fs.rmSync(path.join(fresh, KEPT_MARKETS_FILE));

    const marksBefore = fake.requests.length;
    fake.fault('markets', { kind: 'delay', ms: 500 });
    const kept = await engine(dir);
    const keptStart = await start(kept);
    expect(keptStart.kept, 'kept markets used').to.not.equal(undefined);
    const during = fake.requests.slice(marksBefore);
    const marketsAt = during.find((r) => r.route === 'exchangeInfo')!.at;
    const reads = during.filter((r) => r.route === 'allOrders' || r.route === 'openOrders');
    expect(reads.map((r) => r.route).sort()).to.deep.equal(['allOrders', 'allOrders', 'openOrders']);
    // sent while the markets answer was still 500 ms away: the same round trip
    for (const r of reads) expect(r.at).to.be.below(marketsAt + 400);
    // ...and after the account's answer, never with the first reads (rate-limit-gate.ts)
    const accountAt = during.find((r) => r.route === 'account')!.at;
    for (const r of reads) expect(r.at).to.be.at.least(accountAt);

    const other = await engine(fresh);
    const freshStart = await start(other);
    expect(freshStart.kept).to.equal(undefined);

    const strip = (s: RecoverySummary): unknown => ({ ...s, durationMs: 0 });
    expect(keptStart.summary.newFills).to.be.greaterThan(0);
    expect(strip(keptStart.summary)).to.deep.equal(strip(freshStart.summary));
    expect(recovered(kept)).to.deep.equal(recovered(other));
    // the fills' fees were valued through the kept markets (BNB/USDT) as through the fresh ones
    const fills = kept.orderBook.hotOrders().flatMap((o) => o.fills);
    expect(fills.length).to.be.greaterThan(0);
    for (const f of fills) expect(f).to.include({ feeCurrency: 'BNB', feeQuote: f.feeCost * 100 });
  });

  it("sends recovery's reads with the first ones when the exchange has not refused the bot for rate lately, and recovers what the probe's start recovers", async () => {
    fake = (await binanceKit.start({ symbols: [BTC, ETH], balances: { USDT: 100_000 } })) as FakeBinance;
    const dir = newDir();
    await firstRun(dir, 2);
    await fillUpperBuys();
    // the same files: one start refused for rate 2 hours ago (its kept closing, long over), one never refused
    const probed = newDir();
    fs.cpSync(dir, probed, { recursive: true });
    keepRefusalFrom(probed, 'binance', 2);

    /**
     * A start with the account's first answer `ms` away: when its recovery reads reached the double, and when the
     * double answered the account (ordered against each other, not against a time).
     */
    const timed = async (
      d: string,
      ms: number,
    ): Promise<{
      h: EngineHarness;
      summary: RecoverySummary;
      readsAt: number[];
      accountAnsweredAt: number;
    }> => {
      const mark = fake.requests.length;
      fake.fault('balance', { kind: 'delay', ms });
      const h = await engine(d, {}, true);
      const { summary, kept } = await start(h);
      expect(kept, 'kept markets used').to.not.equal(undefined);
      const during = fake.requests.slice(mark);
      const reads = during.filter((r) => r.route === 'allOrders' || r.route === 'openOrders');
      expect(reads.map((r) => r.route).sort()).to.deep.equal(['allOrders', 'allOrders', 'openOrders']);
      return {
        h,
        summary,
        readsAt: reads.map((r) => r.at),
        accountAnsweredAt: during.find((r) => r.route === 'account')!.answeredAt!,
      };
    };
    // out with the first reads: before the account was answered (held 1.2 s: room for a loaded machine's file reads,
    // under the adapter's 2 s timeout — held as long, the read timed out and its answer was never written)
    const one = await timed(dir, 1_200);
    for (const at of one.readsAt) expect(at).to.be.at.most(one.accountAnsweredAt);
    // refused lately: the first reads alone, recovery's once the account answered
    const two = await timed(probed, 500);
    for (const at of two.readsAt) expect(at).to.be.at.least(two.accountAnsweredAt);

    const strip = (s: RecoverySummary): unknown => ({ ...s, durationMs: 0 });
    expect(one.summary.newFills).to.be.greaterThan(0);
    expect(strip(one.summary)).to.deep.equal(strip(two.summary));
    expect(recovered(one.h)).to.deep.equal(recovered(two.h));
  });

  it("does not use the reads sent with the first ones when the account's first read failed: recovery reads again after the wait", async () => {
    fake = (await binanceKit.start({ symbols: [BTC, ETH], balances: { USDT: 100_000 } })) as FakeBinance;
    const dir = newDir();
    await firstRun(dir, 1);
    const h = await engine(dir, {}, true);
    // the network drops the account endpoint's first four requests: the account's two attempts and the early balance
    // read's (Binance's GET /api/v3/account, the double's 'balance' route), whichever order they come in
    for (let i = 0; i < 4; i++) fake.fault('balance', { kind: 'reset' });
    const mark = fake.requests.length;
    const { kept, summary } = await start(h);
    expect(kept).to.not.equal(undefined);
    const routes = fake.requests.slice(mark).map((r) => r.route);
    // sent with the first reads, before the account could answer (its second attempt waits 50 ms)...
    const accounts = routes.flatMap((r, i) => (r === 'account' ? [i] : []));
    expect(routes.indexOf('allOrders')).to.be.below(accounts[3]);
    // ...then all read again after the start's wait: what was read before it is not trusted
    expect(routes.filter((r) => r === 'allOrders')).to.have.length(4);
    expect(routes.filter((r) => r === 'openOrders')).to.have.length(2);
    expect(summary.newFills).to.equal(0);
    expect(statuses(h)).to.deep.equal([
      [BTC, 'open'],
      [ETH, 'open'],
    ]);
    expect(fake.createRequests()).to.have.length(2);
  });

  it('waits for the fresh markets as a start without kept ones: a failing load is retried and alerted once, nothing recovered or placed before', async () => {
    fake = (await binanceKit.start({ symbols: [BTC, ETH], balances: { USDT: 100_000 } })) as FakeBinance;
    const dir = newDir();
    await firstRun(dir, 0, { trading: { symbols: [BTC] } });
    const h = await engine(dir, { trading: { symbols: [BTC] } });
    // the start's markets load fails: the adapter's two attempts, then the start's wait retries
    for (let i = 0; i < 4; i++) fake.fault('markets', { kind: 'server-error' });
    const loads = fake.requestCount('markets');
    let connected = false;
    const starting = start(h).then((s) => ((connected = true), s));
    while (fake.requestCount('markets') < loads + 3) await sleep(5);
    expect(connected, 'the start did not go on with the kept markets').to.equal(false);
    expect(h.loop.snapshot().loopState).to.equal('waiting-exchange');
    expect(fake.createRequests()).to.deep.equal([]);
    const { kept, markets } = await starting;
    expect(kept).to.not.equal(undefined);
    expect(fake.requestCount('markets')).to.equal(loads + 5);
    expect(Object.keys(markets)).to.include(BTC);
    // alerted once it lasted (unreachableAlertMs), then recovered, as a start without kept markets
    expect(h.eventTypes().filter((t) => t === 'exchange.unreachable')).to.have.length(1);
    expect(h.eventTypes()).to.include('exchange.recovered');
    strategy.next = ENTER;
    await h.loop.tick();
    expect(fake.createRequests()).to.have.length(1);
    strategy.next = HOLD;
  });

  it('waits out an exchange that is down, then refuses the key, as without kept markets: one alert, recovery read once after', async () => {
    fake = (await binanceKit.start({ symbols: [BTC, ETH], balances: { USDT: 100_000 } })) as FakeBinance;
    const dir = newDir();
    await firstRun(dir);
    const h = await engine(dir);
    // the network drops the first account reads (the adapter's two attempts), then Binance refuses the key twice
    // (the account read is Binance's GET /api/v3/account: the double's 'balance' route)
    for (let i = 0; i < 2; i++) fake.fault('balance', { kind: 'reset' });
    for (let i = 0; i < 2; i++) fake.fault('balance', { kind: 'refuse', reason: 'auth' });
    const mark = fake.requests.length;
    const { kept, summary } = await start(h);
    expect(kept).to.not.equal(undefined);
    const routes = fake.requests.slice(mark).map((r) => r.route);
    // recovery's reads went out once, after the account finally answered: none was sent early and read again
    expect(routes.filter((r) => r === 'allOrders')).to.have.length(2);
    expect(routes.indexOf('allOrders')).to.be.greaterThan(routes.lastIndexOf('account'));
    expect(summary.newFills).to.equal(0);
    // one alert for the whole wait, saying its latest failure: the network's, or the key refused (its own state)
    const alerts = h.eventTypes().filter((t) => t === 'exchange.unreachable' || t === 'exchange.key_refused');
    expect(alerts).to.have.length(1);
    expect(h.eventTypes().filter((t) => t === 'exchange.recovered')).to.have.length(1);
    expect(fake.createRequests()).to.deep.equal([]);
  });

  it("asks for the traded symbols' markets only, and for a symbol only state holds once state is open: its order recovers, nothing reported delisted", async () => {
    fake = (await binanceKit.start({
      symbols: [BTC, ETH],
      balances: { USDT: 100_000 },
    })) as FakeBinance;
    const dir = newDir();
    await firstRun(dir, 1);
    const before = fake.requests.length;
    // ETH no longer traded; its resting buy is still in state
    const h = await engine(dir, { trading: { symbols: [BTC] } });
    const { markets, summary } = await start(h);
    expect(Object.keys(markets).sort()).to.deep.equal([BTC, ETH]);
    const asked = fake.requests
      .slice(before)
      .filter((r) => r.route === 'exchangeInfo')
      .map((r) => r.params.symbols ?? null);
    expect(asked[0]).to.equal('["BTCUSDT"]');
    expect(asked.slice(1)).to.not.deep.include(null);
    expect(asked.at(-1)).to.equal('["BTCUSDT","ETHUSDT"]');
    expect(summary.adopted).to.deep.equal([]);
    expect(statuses(h)).to.deep.equal([
      [BTC, 'open'],
      [ETH, 'open'],
    ]);
    await h.loop.tick();
    expect(h.eventTypes()).to.not.include('market.halted');
  });

  it('starts on the fresh markets when they changed: a delisted symbol is missing from them, a new step sizes the entry', async () => {
    fake = (await binanceKit.start({ symbols: [BTC, SOL], balances: { USDT: 100_000 } })) as FakeBinance;
    const dir = newDir();
    await firstRun(dir, 0, { trading: { symbols: [BTC, SOL] } });
    // kept with a coarser BTC step than the exchange has now; SOL delisted since
    const file = path.join(dir, KEPT_MARKETS_FILE);
    const content = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      markets: Array<{ symbol: string; precision: { amount: number }; limits: { amount: { min: number } } }>;
    };
    const btc = content.markets.find((m) => m.symbol === BTC)!;
    const freshStep = btc.precision.amount;
    btc.precision.amount = 0.001;
    btc.limits.amount.min = 0.001;
    fs.writeFileSync(file, JSON.stringify(content));
    fake.delist(SOL);

    const h = await engine(dir, { trading: { symbols: [BTC, SOL] } });
    const { kept, markets } = await start(h);
    expect(kept?.[BTC].amountStep).to.equal(0.001);
    expect(kept?.[SOL]).to.not.equal(undefined);
    // what the daemon checks the traded symbols against (a missing one stops the start, as without kept markets)
    expect(markets[SOL], 'the exchange no longer trades SOL').to.equal(undefined);
    expect(markets[BTC].amountStep).to.equal(freshStep);
    strategy.next = ENTER;
    await h.loop.tick();
    expect(h.orderBook.markets[SOL]).to.equal(undefined);
    expect(h.orderBook.markets[BTC].amountStep).to.equal(freshStep);
    const placed = h.orderBook.hotOrders();
    expect(placed.map((o) => o.symbol)).to.deep.equal([BTC]);
    // sized on the fresh step (the stake over the price, floored to 0.00001), not the kept one (0.001)
    const amount = placed[0].amount;
    expect(Math.abs(Math.round(amount / freshStep) * freshStep - amount)).to.be.below(freshStep * 1e-6);
    expect(Math.abs(Math.round(amount / 0.001) * 0.001 - amount)).to.be.above(freshStep / 2);
    strategy.next = HOLD;
  });
});
