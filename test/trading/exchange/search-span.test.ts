/** Pure: the spans an order's rows are searched within (Bybit's execution list and order history), in the exchange's time. */
import { expect } from 'chai';
import { SEARCH_MARGIN_MS, SearchSpans } from '../../../src/trading/exchange/search-span';

describe('search spans in the exchange time', () => {
  const HOST_NOW = 1_000_000_000;

  it("moves our record of the creation and now by the measured offset (host − exchange), 'to' by the late window", () => {
    let offset = 0;
    const spans = new SearchSpans({ now: () => HOST_NOW, offsetMs: () => offset, lateMs: 5_000 });
    const created = HOST_NOW - 30_000;
    expect(spans.span('a', created)).to.deep.equal({
      from: created - SEARCH_MARGIN_MS,
      to: HOST_NOW + 5_000,
    });
    offset = 120_000; // host 2 minutes ahead
    expect(spans.span('a', created)).to.deep.equal({
      from: created - 120_000 - SEARCH_MARGIN_MS,
      to: HOST_NOW - 120_000 + 5_000,
    });
    expect(spans.from('a', created)).to.equal(created - 120_000 - SEARCH_MARGIN_MS);
  });

  it("starts from the order's own creation as the exchange answered it, once known", () => {
    const spans = new SearchSpans({ now: () => HOST_NOW, offsetMs: () => 120_000, lateMs: 0 });
    spans.remember('a', HOST_NOW - 500_000);
    spans.remember('b', undefined);
    expect(spans.from('a', HOST_NOW - 1_000)).to.equal(HOST_NOW - 500_000 - SEARCH_MARGIN_MS);
    expect(spans.from('b', HOST_NOW - 1_000)).to.equal(HOST_NOW - 1_000 - 120_000 - SEARCH_MARGIN_MS);
  });

  it('never ends before it starts: a creation recorded after now (the host clock stepped back) searches the last minute', () => {
    const spans = new SearchSpans({ now: () => HOST_NOW, offsetMs: () => 0, lateMs: 5_000 });
    expect(spans.span('a', HOST_NOW + 600_000)).to.deep.equal({
      from: HOST_NOW + 5_000 - SEARCH_MARGIN_MS,
      to: HOST_NOW + 5_000,
    });
  });

  it('keeps the creation times of the most recent 1,000 orders', () => {
    const spans = new SearchSpans({ now: () => HOST_NOW, offsetMs: () => 0, lateMs: 0 });
    for (let i = 0; i <= 1_000; i++) spans.remember(`o${i}`, i);
    expect(spans.from('o0', 50_000)).to.equal(50_000 - SEARCH_MARGIN_MS);
    expect(spans.from('o1', 50_000)).to.equal(1 - SEARCH_MARGIN_MS);
  });
});
