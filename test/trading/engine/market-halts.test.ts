import { expect } from 'chai';
import {
  HALTED_MAX_RELOAD_MS,
  MarketHalts,
  marketStatus,
  statusChanges,
} from '../../../src/trading/engine/market-halts';
import type { EventOutbox } from '../../../src/trading/engine/event-outbox';
import { silentLogger } from '../../../src/shared/logging/logger';
import type { Market } from '../../../src/trading/exchange/exchange';

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
      outbox: { emit: async () => undefined } as unknown as EventOutbox,
      logger: silentLogger(),
      haltedRefreshMs: 60_000,
      refreshMs: 86_400_000,
    });

  it('come at most 5 minutes apart however long the halt lasts, so a held stop-loss goes soon after it ends', async () => {
    const h = halts();
    const waits: number[] = [];
    for (let load = 0; load < 12; load++) {
      await h.loaded(['BTC/USDT'], { 'BTC/USDT': market('BTC/USDT', true) });
      waits.push(h.reloadAfterMs);
    }
    expect(waits.slice(0, 4)).to.deep.equal([60_000, 120_000, 240_000, HALTED_MAX_RELOAD_MS]);
    expect(Math.max(...waits)).to.equal(HALTED_MAX_RELOAD_MS);
    await h.loaded(['BTC/USDT'], { 'BTC/USDT': market('BTC/USDT') });
    expect(h.reloadAfterMs).to.equal(86_400_000);
  });

  it('a symbol gone for good does not stretch the waits of a later halt (nor keep reloading every few minutes)', async () => {
    const h = halts();
    for (let load = 0; load < 20; load++)
      await h.loaded(['BTC/USDT', 'LUNA/USDT'], { 'BTC/USDT': market('BTC/USDT') });
    expect(h.reloadAfterMs).to.equal(86_400_000);
    await h.loaded(['BTC/USDT', 'LUNA/USDT'], { 'BTC/USDT': market('BTC/USDT', true) });
    expect(h.reloadAfterMs).to.equal(60_000);
  });
});
