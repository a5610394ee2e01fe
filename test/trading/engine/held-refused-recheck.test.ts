/**
 * The loop's lookups of orders held refused on their create's answer (order-recheck.ts, `due`): first after the
 * not-found window, then on the widening schedule, within a day of the refusal, a few per tick with the orders
 * declared never placed; never one refused unsent (`neverSent`), never at a start (`all`: recovery looks each up once
 * itself), and no more once the exchange showed it as refused. Paper exchange, fake clock.
 */
import { expect } from 'chai';
import { InsufficientFundsError } from '../../../src/shared/errors';
import type { ExchangeOrder } from '../../../src/trading/exchange/exchange';
import type { LocalOrder } from '../../../src/trading/engine/orders/order-state';
import { EngineHarness, MARKET_BUY } from '../../support/engine-harness';
import { withOverrides } from '../../support/exchange-overrides';
import { closeAfterEach } from '../../support/close-after-each';

const WINDOW = 1_000;

describe('orders held refused, looked up by the running loop (paper, fake clock)', () => {
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h]);
  let lookups: string[] = [];
  /** What the lookup answers instead of the paper exchange's "not found", by clientOrderId. */
  let shown: Record<string, Partial<ExchangeOrder>> = {};

  /** `n` entries, each refused on its create's answer ("insufficient balance"): bot-tst000-1 … n. */
  async function refused(n: number): Promise<EngineHarness> {
    lookups = [];
    shown = {};
    const e = await EngineHarness.open({
      config: { trading: { orders: { unknownNotFoundWindowMs: WINDOW } } },
      wrapExchange: (paper) =>
        withOverrides(paper, {
          createOrder: () => Promise.reject(new InsufficientFundsError('insufficient balance')),
          fetchOrderByClientId: async (id, symbol) => {
            lookups.push(id);
            const looks = shown[id];
            if (!looks) return paper.fetchOrderByClientId(id, symbol);
            return {
              id: 'x-1',
              clientOrderId: id,
              symbol,
              side: 'buy',
              type: 'market',
              amount: MARKET_BUY.amount,
              filled: 0,
              remaining: MARKET_BUY.amount,
              status: 'canceled',
              ...looks,
            } as ExchangeOrder;
          },
        }),
    });
    e.manager.startAccepting();
    for (let i = 0; i < n; i++) {
      const err = await e.manager.place(MARKET_BUY).catch((err: unknown) => err);
      expect(err).to.be.instanceOf(InsufficientFundsError);
    }
    for (let i = 1; i <= n; i++)
      expect(e.orderBook.order(`bot-tst000-${i}`)).to.include({ status: 'rejected', refused: true });
    return e;
  }

  it('looks one up after the window, then on the widening schedule, for a day; never at a start', async () => {
    h = await refused(1);
    await h.orders.rechecks.recheck('due');
    expect(lookups, 'before the window').to.deep.equal([]);
    await h.fakeClock().advance(WINDOW, WINDOW);
    await h.orders.rechecks.recheck('due');
    expect(lookups).to.deep.equal(['bot-tst000-1']);
    await h.orders.rechecks.recheck('due');
    await h.fakeClock().advance(WINDOW, WINDOW);
    await h.orders.rechecks.recheck('due');
    expect(lookups, 'the next one waits twice the window').to.have.length(1);
    await h.fakeClock().advance(WINDOW, WINDOW);
    await h.orders.rechecks.recheck('due');
    expect(lookups).to.have.length(2);
    // recovery's `all` leaves them to its own once-per-start lookup
    await h.orders.rechecks.recheck('all');
    expect(lookups).to.have.length(2);
    // a day after the refusal: no more lookups
    await h.fakeClock().advance(24 * 3_600_000, 3_600_000);
    lookups = [];
    await h.orders.rechecks.recheck('due');
    expect(lookups).to.deep.equal([]);
    expect(h.orderBook.order('bot-tst000-1')).to.include({ status: 'rejected', refused: true });
  });

  it("after a start's recheck (recovery looked each up itself), the loop's next lookup is a step of the schedule away", async () => {
    h = await refused(1);
    await h.fakeClock().advance(10 * WINDOW, WINDOW);
    await h.orders.rechecks.recheck('all');
    await h.orders.rechecks.recheck('due');
    expect(lookups, 'not at the first tick').to.deep.equal([]);
    await h.fakeClock().advance(2 * WINDOW, WINDOW);
    await h.orders.rechecks.recheck('due');
    expect(lookups).to.deep.equal(['bot-tst000-1']);
  });

  it('never looks up one refused unsent, and at most the given number a call', async () => {
    h = await refused(4);
    await h.files.store.commit((d) => {
      d.orders['bot-tst000-1'] = { ...(d.orders['bot-tst000-1'] as LocalOrder), neverSent: true };
    });
    await h.fakeClock().advance(WINDOW, WINDOW);
    await h.orders.rechecks.recheck('due', 2);
    expect(lookups).to.deep.equal(['bot-tst000-2', 'bot-tst000-3']);
    await h.orders.rechecks.recheck('due', 2);
    expect(lookups).to.deep.equal(['bot-tst000-2', 'bot-tst000-3', 'bot-tst000-4']);
  });

  it('leaves one the exchange shows cancelled with nothing filled refused, and looks it up no more', async () => {
    h = await refused(1);
    shown['bot-tst000-1'] = {};
    await h.fakeClock().advance(WINDOW, WINDOW);
    expect(await h.orders.rechecks.recheck('due')).to.deep.equal([]);
    expect(lookups).to.have.length(1);
    expect(h.orderBook.order('bot-tst000-1')).to.include({ status: 'rejected', refused: true });
    await h.fakeClock().advance(3_600_000, 60_000);
    await h.orders.rechecks.recheck('due');
    expect(lookups).to.have.length(1);
    expect(h.events.filter((e) => e.type === 'order.taken_back')).to.deep.equal([]);
  });

  it('takes back one the exchange shows working: reopened from its answer, one alert', async () => {
    h = await refused(1);
    shown['bot-tst000-1'] = { status: 'open', type: 'limit', price: 1 };
    await h.fakeClock().advance(WINDOW, WINDOW);
    expect(await h.orders.rechecks.recheck('due')).to.deep.equal([
      { clientOrderId: 'bot-tst000-1', from: 'rejected', to: 'open' },
    ]);
    expect(h.orderBook.order('bot-tst000-1')).to.include({ status: 'open', exchangeOrderId: 'x-1' });
    expect(h.orderBook.order('bot-tst000-1')!.refused).to.equal(undefined);
    expect(h.events.filter((e) => e.type === 'order.taken_back')).to.have.length(1);
  });
});
