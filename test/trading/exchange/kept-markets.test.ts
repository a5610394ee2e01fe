/**
 * Markets kept on disk between runs: when kept markets may stand in (pure), and the file itself on real files —
 * read only when it matches, set aside when damaged (one copy at most), written durably and only when something
 * changed, and only what the start needs (the traded symbols' markets and currencies).
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import {
  KEPT_MARKETS_FILE,
  KeptMarketsFile,
  judgeKeptMarkets,
  type KeptMarkets,
  type MarketsSource,
} from '../../../src/trading/exchange/kept-markets';
import { storeOfFile } from '../../../src/cli/state-command';
import { captureLogger } from '../../support/capture-logger';
import { FAKE_CLOCK_START, FakeClock } from '../../support/fake-clock';
import { TempDirs } from '../../support/temp-dirs';

const DAY = 24 * 60 * 60 * 1000;
const VERSION = '0.1.0';
/** What the adapter passes (KeptMarketsFile stamps ByNinja's version on it). */
const SOURCE: Omit<MarketsSource, 'byninja'> = {
  exchange: 'binance',
  sandbox: false,
  apiUrl: null,
  account: 'key:0123456789abcdef',
  ccxt: '4.5.84',
  options: 'fedcba9876543210',
};
const STAMPED: MarketsSource = { ...SOURCE, byninja: VERSION };
const BTC = {
  id: 'BTCUSDT',
  symbol: 'BTC/USDT',
  base: 'BTC',
  quote: 'USDT',
  type: 'spot',
  spot: true,
  active: true,
  precision: { amount: 0.00001, price: 0.01 },
  limits: { amount: { min: 0.00001, max: 9000 }, cost: { min: 5 } },
  info: { symbol: 'BTCUSDT', filters: [] },
};
const XRP = {
  ...BTC,
  id: 'XRPUSDT',
  symbol: 'XRP/USDT',
  base: 'XRP',
  info: { symbol: 'XRPUSDT', filters: [] },
};

describe('judgeKeptMarkets: when markets kept by an earlier run may stand in', () => {
  const kept = { source: STAMPED, loadedAt: FAKE_CLOCK_START };

  it('uses markets of the same source no older than the allowed age', () => {
    expect(judgeKeptMarkets(kept, STAMPED, FAKE_CLOCK_START, DAY)).to.deep.equal({ use: true });
    expect(judgeKeptMarkets(kept, STAMPED, FAKE_CLOCK_START + DAY, DAY)).to.deep.equal({ use: true });
  });

  it('never uses markets of another exchange, testnet, API URL, key, ccxt version, ccxt options or ByNinja version', () => {
    const other: Array<[Partial<MarketsSource>, string]> = [
      [{ exchange: 'bybit' }, 'kept for another exchange'],
      [{ sandbox: true }, 'kept for the other of sandbox and main exchange'],
      [{ apiUrl: 'http://127.0.0.1:9999' }, 'kept for another API URL'],
      [{ account: 'key:fedcba9876543210' }, 'kept for another API key'],
      [{ ccxt: '4.6.0' }, 'kept for another ccxt version'],
      [{ options: '0123456789abcdef' }, 'kept for other ccxt options'],
      [{ byninja: '0.2.0' }, 'kept for another ByNinja version'],
    ];
    for (const [change, reason] of other) {
      expect(judgeKeptMarkets(kept, { ...STAMPED, ...change }, FAKE_CLOCK_START, DAY)).to.deep.equal({
        use: false,
        reason,
      });
    }
  });

  it('never uses markets older than the allowed age, nor loaded "later than now" (the clock moved back)', () => {
    const stale = judgeKeptMarkets(kept, STAMPED, FAKE_CLOCK_START + DAY + 1, DAY);
    expect(stale.use).to.equal(false);
    expect((stale as { reason: string }).reason).to.match(/^1 d old, more than 1 d$/);
    expect(judgeKeptMarkets(kept, STAMPED, FAKE_CLOCK_START - 1, DAY)).to.deep.equal({
      use: false,
      reason: 'loaded later than now (the clock moved back)',
    });
  });
});

describe('KeptMarketsFile: the markets file in the data dir (real files)', () => {
  const dirs = new TempDirs();
  let dir: string;
  let clock: FakeClock;
  afterEach(() => dirs.cleanup());
  beforeEach(() => {
    dir = dirs.make('byninja-kept-markets-');
    clock = new FakeClock();
  });

  const open = (logger = captureLogger().logger, appVersion = VERSION): KeptMarketsFile =>
    new KeptMarketsFile({ dataDir: dir, symbols: ['BTC/USDT'], appVersion, maxAgeMs: DAY, clock, logger });
  const file = (): string => path.join(dir, KEPT_MARKETS_FILE);
  const write = (content: unknown): void => fs.writeFileSync(file(), JSON.stringify(content));
  const kept = (over: Partial<KeptMarkets> = {}): KeptMarkets => ({
    version: 1,
    source: STAMPED,
    loadedAt: FAKE_CLOCK_START,
    markets: [BTC],
    ...over,
  });
  const corrupt = (): string[] => fs.readdirSync(dir).filter((f) => f.includes('.corrupt'));

  it('reads nothing when there is no file', async () => {
    expect(await open().read(SOURCE)).to.equal(undefined);
  });

  it('writes what a fresh load fetched (0600, durable), and the next start reads it back as written', async () => {
    const markets = open();
    markets.save(SOURCE, [BTC], {});
    await markets.close();
    expect(fs.statSync(file()).mode & 0o777).to.equal(0o600);
    expect(await open().read(SOURCE)).to.deep.equal(kept({ currencies: {} }));
  });

  it('reads markets kept for another source or too long ago as nothing, and says why', async () => {
    write(kept());
    const { logger, lines } = captureLogger();
    expect(await open(logger).read({ ...SOURCE, account: 'key:another' })).to.equal(undefined);
    expect(await open(logger, '0.2.0').read(SOURCE)).to.equal(undefined);
    clock.time = FAKE_CLOCK_START + DAY + 1;
    expect(await open(logger).read(SOURCE)).to.equal(undefined);
    expect(lines.map((l) => l.message)).to.deep.equal([
      'Kept markets not used (kept for another API key); loading them from the exchange',
      'Kept markets not used (kept for another ByNinja version); loading them from the exchange',
      'Kept markets not used (1 d old, more than 1 d); loading them from the exchange',
    ]);
    // ignored, not damaged: left in place for the next fresh load to replace
    expect(fs.existsSync(file())).to.equal(true);
    expect(corrupt()).to.deep.equal([]);
  });

  it('sets a file aside that is not JSON or fails its schema, and reads nothing from it', async () => {
    fs.writeFileSync(file(), '{"version":1,"source":');
    expect(await open().read(SOURCE)).to.equal(undefined);
    expect(fs.existsSync(file())).to.equal(false);
    expect(corrupt()).to.deep.equal([`${KEPT_MARKETS_FILE}.corrupt`]);
    // a market without its symbol: ccxt could not map it
    const { symbol: _symbol, ...noSymbol } = BTC;
    write(kept({ markets: [noSymbol as typeof BTC] }));
    clock.time = FAKE_CLOCK_START + 1_000;
    expect(await open().read(SOURCE)).to.equal(undefined);
    // the newer one replaced the copy set aside before
    expect(corrupt()).to.deep.equal([`${KEPT_MARKETS_FILE}.corrupt`]);
    expect(fs.readFileSync(path.join(dir, corrupt()[0]), 'utf8')).to.include('"markets"');
  });

  it('keeps one aside copy however often the file is corrupt (a cache: no growing series of copies)', async () => {
    for (let i = 0; i < 12; i++) {
      clock.time = FAKE_CLOCK_START + i * 1_000;
      fs.writeFileSync(file(), `{"broken": ${i}`);
      expect(await open().read(SOURCE)).to.equal(undefined);
      // the next fresh load writes a good one, which breaks again
      const markets = open();
      markets.save(SOURCE, [BTC]);
      await markets.close();
      expect(await open().read(SOURCE)).to.not.equal(undefined);
    }
    expect(fs.readdirSync(dir).sort()).to.deep.equal([KEPT_MARKETS_FILE, `${KEPT_MARKETS_FILE}.corrupt`]);
    expect(fs.readFileSync(file() + '.corrupt', 'utf8')).to.equal('{"broken": 11');
  });

  it("keeps only the traded symbols' markets and the currencies of their base and quote", async () => {
    const markets = open();
    const currency = (code: string): Record<string, unknown> => ({ id: code, code, precision: 1e-8 });
    markets.save(SOURCE, [XRP, BTC], { BTC: currency('BTC'), USDT: currency('USDT'), XRP: currency('XRP') });
    await markets.close();
    const read = await open().read(SOURCE);
    expect(read?.markets).to.deep.equal([BTC]);
    expect(read?.currencies).to.deep.equal({ BTC: currency('BTC'), USDT: currency('USDT') });
  });

  it('is replaced at once when it was kept by another ByNinja version, or lacks a symbol now traded', async () => {
    write(kept({ source: { ...STAMPED, byninja: '0.0.9' } }));
    let markets = open();
    expect(await markets.read(SOURCE)).to.equal(undefined);
    markets.save(SOURCE, [BTC]);
    await markets.close();
    expect((await open().read(SOURCE))?.source.byninja).to.equal(VERSION);

    write(kept({ markets: [XRP] }));
    markets = open();
    await markets.read(SOURCE);
    markets.save(SOURCE, [BTC, XRP]);
    await markets.close();
    expect((await open().read(SOURCE))?.markets).to.deep.equal([BTC]);
  });

  it('is not rewritten while younger than half its allowed age, changed markets included; past it, it is', async () => {
    const first = open();
    first.save(SOURCE, [BTC]);
    await first.close();
    const inode = fs.statSync(file()).ino;
    const written = fs.statSync(file()).mtimeMs;

    // the next start reads it; its fresh load, an hour later, answers a changed step: left as it is (the kept
    // markets only stand in for reading, and every start confirms them before it places anything)
    clock.time = FAKE_CLOCK_START + 60 * 60 * 1000;
    const second = open();
    expect(await second.read(SOURCE)).to.not.equal(undefined);
    const changed = { ...BTC, precision: { amount: 0.001, price: 0.01 } };
    second.save(SOURCE, [changed]);
    await second.close();
    expect(fs.statSync(file()).ino).to.equal(inode);
    expect(fs.statSync(file()).mtimeMs).to.equal(written);

    // past half the allowed age: rewritten with what the exchange answered, so it stays usable
    clock.time = FAKE_CLOCK_START + DAY / 2 + 1;
    const third = open();
    await third.read(SOURCE);
    third.save(SOURCE, [changed]);
    await third.close();
    const reread = await open().read(SOURCE);
    expect(reread?.markets).to.deep.equal([changed]);
    expect(reread?.loadedAt).to.equal(clock.now());
  });

  it('is written for another source at once, and one write at a time', async () => {
    write(kept({ source: { ...STAMPED, account: 'key:another' } }));
    const markets = open();
    expect(await markets.read(SOURCE)).to.equal(undefined);
    markets.save(SOURCE, [BTC]);
    // a second load soon after: the file the first wrote is young enough
    markets.save(SOURCE, [{ ...BTC, active: false }]);
    await markets.close();
    expect((await open().read(SOURCE))?.markets).to.deep.equal([BTC]);
    expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).to.deep.equal([]);
  });

  it('is no state: `byninja state restore` takes neither it nor its corrupt copy for one', () => {
    expect(storeOfFile(file())).to.equal(undefined);
    expect(storeOfFile(`${file()}.corrupt`)).to.equal(undefined);
    expect(storeOfFile(path.join(dir, 'trading-state.json.corrupt-x'))).to.equal('trading-state');
  });

  it('logs a write that fails and keeps running (a cache: the next start loads from the exchange)', async () => {
    fs.mkdirSync(file());
    const { logger, lines } = captureLogger();
    const markets = open(logger);
    markets.save(SOURCE, [BTC]);
    await markets.close();
    expect(lines.map((l) => l.message)).to.deep.equal(['Could not keep the markets on disk']);
  });
});
