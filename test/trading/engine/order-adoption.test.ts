import { expect } from 'chai';
import { adoptedOrder, heldRejectedButPlaced } from '../../../src/trading/engine/orders/order-adoption';
import { localOrder } from '../../support/local-order';
import type { ExchangeOrder } from '../../../src/trading/exchange/exchange';
import { SEARCH_MARGIN_MS, SearchSpans } from '../../../src/trading/exchange/search-span';

describe('adoptedOrder: an adopted order is recorded in host time (review 25)', () => {
  const created = 1_800_000_000_000; // the exchange's creation time (Bybit createdTime)
  const remote = (timestamp: number | undefined): ExchangeOrder => ({
    id: 'b1',
    clientOrderId: 'bot-abc123-7',
    symbol: 'ETH/USDT',
    side: 'buy',
    type: 'limit',
    price: 1800,
    amount: 1,
    filled: 0.4,
    remaining: 0.6,
    status: 'open',
    timestamp,
  });

  it("its fills are searched from the exchange's creation time, the host clock 2 minutes behind (measured)", () => {
    const offsetMs = -120_000; // host − exchange
    const hostNow = created + 300_000 + offsetMs;
    const order = adoptedOrder(remote(created), hostNow, offsetMs);
    expect(order.createdAt).to.equal(created + offsetMs);
    expect(order.sentAt).to.equal(created + offsetMs);
    // fill-sync hands createdAt to the search as a host time; the span moves it back to the exchange's
    const spans = new SearchSpans({ now: () => hostNow, offsetMs: () => offsetMs, lateMs: 5_000 });
    expect(spans.span('b1', order.createdAt).from).to.equal(created - SEARCH_MARGIN_MS);
  });

  it('the host 2 minutes ahead, and an answer without a creation time (now)', () => {
    expect(adoptedOrder(remote(created), created, 120_000).createdAt).to.equal(created + 120_000);
    expect(adoptedOrder(remote(undefined), created + 5, 120_000)).to.include({
      createdAt: created + 5,
      sentAt: created + 5,
      updatedAt: created + 5,
    });
  });
});

describe('heldRejectedButPlaced: which listed orders of ours state wrongly holds as rejected (pure)', () => {
  const remote = (over: Partial<ExchangeOrder> = {}): ExchangeOrder => ({
    id: 'x1',
    clientOrderId: 'bot-1',
    symbol: 'BTC/USDT',
    side: 'buy',
    type: 'market',
    amount: 1,
    filled: 0,
    remaining: 1,
    status: 'open',
    ...over,
  });
  const refused = localOrder({ status: 'rejected', refused: true, error: 'refused' });

  it('takes one held refused that works or filled on the exchange', () => {
    expect(heldRejectedButPlaced(refused, remote())).to.equal(true);
    expect(heldRejectedButPlaced(refused, remote({ status: 'closed', filled: 1, remaining: 0 }))).to.equal(
      true,
    );
    expect(heldRejectedButPlaced(refused, remote({ status: 'canceled', filled: 0.2 }))).to.equal(true);
  });

  it('leaves one the exchange shows rejected or cancelled with nothing filled, another exchange id, and any not rejected', () => {
    expect(heldRejectedButPlaced(refused, remote({ status: 'rejected' }))).to.equal(false);
    expect(heldRejectedButPlaced(refused, remote({ status: 'canceled' }))).to.equal(false);
    expect(heldRejectedButPlaced({ ...refused, exchangeOrderId: 'x0' }, remote())).to.equal(false);
    expect(heldRejectedButPlaced({ ...refused, exchangeOrderId: 'x1' }, remote())).to.equal(true);
    for (const status of ['open', 'filled', 'unknown', 'cancelled'] as const)
      expect(heldRejectedButPlaced({ ...refused, status }, remote()), status).to.equal(false);
    expect(heldRejectedButPlaced(undefined, remote())).to.equal(false);
  });
});
