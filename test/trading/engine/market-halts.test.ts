import { expect } from 'chai';
import {
  HALTED_MAX_RELOAD_MS,
  MarketHalts,
  marketStatus,
  statusChanges,
} from '../../../src/trading/engine/exchange-watch/market-halts';
import { silentLogger } from '../../../src/shared/logging/logger';
import type { Market } from '../../../src/trading/exchange/exchange';
import { memoryTradingState, type MemoryTradingState } from '../../support/memory-state';

const market = (symbol: string, halted?: boolean): Market => ({
  symbol,
  base: symbol.split('/')[0],
  quote: 'USDT',
  amountStep: 0.0001,
  priceStep: 0.01,
  minAmount: 0.0001,
  minNotional: 5,
  ...(halted === undefined ? {} : { halted }),
});

describe('traded symbols halted or gone at a markets load (pure)', () => {
  it('tells trading, halted (listed, not trading) and delisted (gone from the list) apart', () => {
    const markets = { 'BTC/USDT': market('BTC/USDT'), 'ETH/USDT': market('ETH/USDT', true) };
    expect(marketStatus('BTC/USDT', markets)).to.equal('trading');
    expect(marketStatus('ETH/USDT', markets)).to.equal('halted');
    expect(marketStatus('SOL/USDT', markets)).to.equal('delisted');
  });

  it('reports each change once: halted, still halted (nothing), trading again; a first load counts from trading', () => {
    const first = new Map([
      ['BTC/USDT', 'trading' as const],
      ['ETH/USDT', 'halted' as const],
    ]);
    expect(statusChanges(new Map(), first)).to.deep.equal([
      { symbol: 'ETH/USDT', from: 'trading', to: 'halted' },
    ]);
    expect(statusChanges(first, first)).to.deep.equal([]);
    const later = new Map([
      ['BTC/USDT', 'delisted' as const],
      ['ETH/USDT', 'trading' as const],
    ]);
    expect(statusChanges(first, later)).to.deep.equal([
      { symbol: 'BTC/USDT', from: 'trading', to: 'delisted' },
      { symbol: 'ETH/USDT', from: 'halted', to: 'trading' },
    ]);
  });
});

describe('markets reloads while a traded symbol is halted', () => {
  const halts = (): MarketHalts =>
    new MarketHalts({
      exchangeId: 'binance',
      state: memoryTradingState(),
      logger: silentLogger(),
      haltedRefreshMs: 60_000,
      refreshMs: 86_400_000,
    });

  it('come at most 5 minutes apart however long the halt lasts, so a held stop-loss goes soon after it ends', async () => {
    const h = halts();
    const waits: number[] = [];
    for (let load = 0; load < 12; load++) {
      await h.loaded(['BTC/USDT'], { 'BTC/USDT': market('BTC/USDT', true) }, 0);
      waits.push(h.reloadAfterMs);
    }
    expect(waits.slice(0, 4)).to.deep.equal([60_000, 120_000, 240_000, HALTED_MAX_RELOAD_MS]);
    expect(Math.max(...waits)).to.equal(HALTED_MAX_RELOAD_MS);
    await h.loaded(['BTC/USDT'], { 'BTC/USDT': market('BTC/USDT') }, 0);
    expect(h.reloadAfterMs).to.equal(86_400_000);
  });

  it('a symbol gone for good does not stretch the waits of a later halt (nor keep reloading every few minutes)', async () => {
    const h = halts();
    for (let load = 0; load < 20; load++)
      await h.loaded(['BTC/USDT', 'LUNA/USDT'], { 'BTC/USDT': market('BTC/USDT') }, 0);
    expect(h.reloadAfterMs).to.equal(86_400_000);
    await h.loaded(['BTC/USDT', 'LUNA/USDT'], { 'BTC/USDT': market('BTC/USDT', true) }, 0);
    expect(h.reloadAfterMs).to.equal(60_000);
  });
});

describe('a symbol gone from the list on an exchange that drops suspended symbols from it (Bybit)', () => {
  it('keeps the reloads within minutes while it is gone, and says it may be only suspended', async () => {
    const state = memoryTradingState();
    const h = new MarketHalts({
      exchangeId: 'bybit',
      state,
      logger: silentLogger(),
      haltedRefreshMs: 60_000,
      refreshMs: 86_400_000,
      goneMayReturn: true,
    });
    const waits: number[] = [];
    for (let load = 0; load < 6; load++) {
      await h.loaded(['BTC/USDT', 'SWAP/USDT'], { 'BTC/USDT': market('BTC/USDT') }, 0);
      waits.push(h.reloadAfterMs);
    }
    expect(Math.max(...waits)).to.equal(HALTED_MAX_RELOAD_MS);
    expect(waits[0]).to.equal(60_000);
    const said = state.events.find((e) => e.type === 'market.halted')!;
    expect(said.summary).to.include('or suspended for a while').and.include('checked again in minutes');
    // back in the list: announced, and the daily cadence again
    await h.loaded(
      ['BTC/USDT', 'SWAP/USDT'],
      { 'BTC/USDT': market('BTC/USDT'), 'SWAP/USDT': market('SWAP/USDT') },
      0,
    );
    expect(h.reloadAfterMs).to.equal(86_400_000);
    expect(state.events.map((e) => e.type)).to.include('market.resumed');
  });
});

describe('halts announced once across restarts, and the stop-loss a halt holds', () => {
  const BTC = 'BTC/USDT';
  const halted = { [BTC]: market(BTC, true) };
  const trading = { [BTC]: market(BTC) };
  /** A run of trading over the state the last run left. */
  const run = (state: MemoryTradingState): MarketHalts =>
    new MarketHalts({
      exchangeId: 'binance',
      state,
      logger: silentLogger(),
      haltedRefreshMs: 60_000,
      refreshMs: 86_400_000,
    });
  const types = (state: MemoryTradingState): string[] => state.events.map((e) => e.type);
  const held = {
    symbol: BTC,
    trigger: { kind: 'stop-loss' as const, changePct: -5 },
    price: 57_000,
    entryPrice: 60_000,
    amount: 0.01,
    triggerPrice: 58_800,
  };

  it('a crash loop during a halt announces it once: each start compares with what the operator was told', async () => {
    const state = memoryTradingState();
    for (let start = 0; start < 5; start++) await run(state).loaded([BTC], halted, 1_000 * start);
    expect(types(state)).to.deep.equal(['market.halted']);
    expect(state.data.announcedHalts[BTC]).to.deep.equal({ status: 'halted', since: 0 });
  });

  it('a resume that came while trading was down is announced at the next start', async () => {
    const state = memoryTradingState();
    await run(state).loaded([BTC], halted, 0);
    await run(state).loaded([BTC], trading, 5_000);
    expect(types(state)).to.deep.equal(['market.halted', 'market.resumed']);
    expect(state.data.announcedHalts).to.deep.equal({});
  });

  it('a held stop-loss is told once per halt, with the price against the stop and the position, across restarts', async () => {
    const state = memoryTradingState();
    const first = run(state);
    await first.loaded([BTC], halted, 0);
    await first.exitHeld(held, 10);
    await first.exitHeld({ ...held, price: 56_000 }, 20);
    const second = run(state);
    await second.loaded([BTC], halted, 30);
    await second.exitHeld(held, 40);
    expect(types(state)).to.deep.equal(['market.halted', 'exit.held']);
    const event = state.events[1];
    expect(event.data).to.include({
      symbol: BTC,
      rule: 'stop-loss',
      reason: 'halted',
      price: 57_000,
      triggerPrice: 58_800,
      amount: 0.01,
    });
    expect(event.summary).to.match(/price 57000 vs stop-loss 58800/);
    // the halt ends; the next halt holds the exit again: told again
    await second.loaded([BTC], trading, 50);
    await second.loaded([BTC], halted, 60);
    await second.exitHeld(held, 70);
    expect(types(state)).to.deep.equal([
      'market.halted',
      'exit.held',
      'market.resumed',
      'market.halted',
      'exit.held',
    ]);
  });

  it('a symbol no longer watched is forgotten without an event', async () => {
    const state = memoryTradingState();
    await run(state).loaded([BTC, 'ETH/USDT'], { ...halted, 'ETH/USDT': market('ETH/USDT', true) }, 0);
    await run(state).loaded([BTC], halted, 10);
    expect(types(state)).to.deep.equal(['market.halted', 'market.halted']);
    expect(Object.keys(state.data.announcedHalts)).to.deep.equal([BTC]);
  });
});
