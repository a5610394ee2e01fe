import { expect } from 'chai';
import { silentLogger } from '../../../src/shared/logging/logger';
import { StaleTickers } from '../../../src/trading/engine/exchange-watch/stale-tickers';
import { formatSpan } from '../../../src/shared/format-span';
import { tickerAge } from '../../../src/trading/engine/exchange-watch/ticker-age';
import { memoryTradingState, type MemoryTradingState } from '../../support/memory-state';

const MIN = 60_000;

describe("a ticker's age on the exchange's clock (pure)", () => {
  const now = 1_700_000_000_000;

  it('trusts a price dated within the limit, and one dated at the limit', () => {
    expect(tickerAge({ timestamp: now - 2_000, timeField: 'closeTime' }, now, 5 * MIN)).to.deep.equal({
      stale: false,
      ageMs: 2_000,
    });
    expect(tickerAge({ timestamp: now - 5 * MIN, timeField: 'closeTime' }, now, 5 * MIN).stale).to.equal(
      false,
    );
  });

  it('calls a price dated past the limit stale, and says how old in words', () => {
    const age = tickerAge({ timestamp: now - 6 * MIN, timeField: 'closeTime' }, now, 5 * MIN);
    expect(age).to.deep.equal({
      stale: true,
      ageMs: 6 * MIN,
      reason: 'price 6 min old (closeTime), over the 5 min limit',
    });
    expect(tickerAge({ timestamp: now - 5 * MIN - 1, timeField: 'ts' }, now, 5 * MIN).stale).to.equal(true);
  });

  it('calls an answer without the time the exchange documents stale', () => {
    expect(tickerAge({ timeField: 'closeTime' }, now, 5 * MIN)).to.deep.equal({
      stale: true,
      reason: "no closeTime in the exchange's ticker answer",
    });
    expect(tickerAge({ timestamp: Number.NaN, timeField: 'ts' }, now, 5 * MIN).stale).to.equal(true);
  });

  it('does not judge a ticker whose exchange dates none (Bybit spot)', () => {
    expect(tickerAge({}, now, 5 * MIN)).to.deep.equal({ stale: false });
  });

  it('does not call a price dated ahead of the exchange clock stale', () => {
    expect(tickerAge({ timestamp: now + 10 * MIN, timeField: 'ts' }, now, 5 * MIN)).to.deep.equal({
      stale: false,
      ageMs: 0,
    });
  });

  it('reads ages in seconds, minutes, hours', () => {
    expect([formatSpan(45_000), formatSpan(6 * MIN), formatSpan(3 * 3_600_000)]).to.deep.equal([
      '45 s',
      '6 min',
      '3 h',
    ]);
  });
});

describe('stale prices told to the operator once each way', () => {
  const stale = {
    stale: true as const,
    ageMs: 6 * MIN,
    reason: 'price 6 min old (closeTime), over the 5 min limit',
  };
  const fresh = { stale: false as const, ageMs: 1_000 };
  const watch = (state: MemoryTradingState, offsetMs = 0): StaleTickers =>
    new StaleTickers({ exchangeId: 'binance', state, logger: silentLogger(), clockOffsetMs: () => offsetMs });

  it('tells stale once over many ticks, fresh once, and stale again after', async () => {
    const state = memoryTradingState();
    const w = watch(state, 120_000);
    await w.seen('BTC/USDT', fresh, 1_000);
    for (let t = 2_000; t < 10_000; t += 1_000) await w.seen('BTC/USDT', stale, t);
    await w.seen('ETH/USDT', fresh, 10_000);
    for (let t = 10 * MIN; t < 11 * MIN; t += 1_000) await w.seen('BTC/USDT', fresh, t);
    await w.seen('BTC/USDT', stale, 12 * MIN);
    expect(state.events.map((e) => e.type)).to.deep.equal(['market.stale', 'market.fresh', 'market.stale']);
    const [told, back] = state.events;
    expect(told.data).to.include({
      symbol: 'BTC/USDT',
      exchange: 'binance',
      ageMs: 6 * MIN,
      clockOffsetMs: 120_000,
    });
    expect(told.summary).to.include('price 6 min old (closeTime)').and.include('No entry is placed');
    expect(told.summary).to.include('host clock 120000 ms ahead');
    expect(back.data).to.include({ symbol: 'BTC/USDT', staleForMs: 10 * MIN - 2_000 });
    expect(back.summary).to.include('fresh again after 10 min');
    expect(state.data.announcedStale).to.deep.equal({
      'BTC/USDT': { since: 12 * MIN, reason: stale.reason },
    });
  });

  it('keeps what it told across a restart: a still-stale symbol is not told again, fresh is', async () => {
    const first = memoryTradingState();
    await watch(first).seen('BTC/USDT', stale, 1_000);
    // a new process on the saved state
    const second = memoryTradingState(structuredClone(first.data));
    await watch(second).seen('BTC/USDT', stale, 5_000);
    expect(second.events).to.deep.equal([]);
    await watch(second).seen('BTC/USDT', fresh, 9_000);
    expect(second.events.map((e) => e.type)).to.deep.equal(['market.fresh']);
    expect(second.data.announcedStale).to.deep.equal({});
  });
});
