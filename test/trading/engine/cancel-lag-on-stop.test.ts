/**
 * The stop's cancels while the exchange lags them (review 44h). Bybit and OKX carry a cancel out after acknowledging
 * it; close-all reads an accepted cancel's order again while it still reads working (order-cancel.ts
 * CANCEL_SETTLE_WAITS_MS: 1.5 s in all) because it sells the symbol right after. The stop's "cancel open orders" step
 * (daemon.ts, trading.orders.cancelOpenOnStop) must not wait so: it has the shutdown budget
 * (lifecycle.shutdownBudgetMs, default 5000) less the stores' reserve (2000), at most 3 s, and each order waiting 1.5 s
 * before the next order's cancel was sent left the later ones working past it.
 */
import { expect } from 'chai';
import type { ExchangeOrder } from '../../../src/trading/exchange/exchange';
import { EngineHarness, MARKET_BUY } from '../../support/engine-harness';
import { withOverrides } from '../../support/exchange-overrides';
import { FakeClock } from '../../support/fake-clock';
import { closeAfterEach } from '../../support/close-after-each';

/** The cancel step's share of the default shutdown budget: 5000 − the stores' 2000 reserve (the first step's time left out). */
const CANCEL_STEP_BUDGET_MS = 3_000;
/** The exchange carries a cancel out this long after acknowledging it (its reads show the order working meanwhile). */
const CANCEL_LAG_MS = 2_000;

describe('the stop cancels every open order at once while the exchange lags its cancels (review 44h)', function () {
  this.timeout(20_000);
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h]);

  it('the stop cancels every open order within the cancel step of the shutdown budget when the exchange lags its cancels', async () => {
    const clock = new FakeClock(undefined, { sleep: 'advances' });
    const acked = new Map<string, number>();
    const sentAt: number[] = [];
    h = await EngineHarness.open({
      clock,
      wrapExchange: (paper) => {
        const settle = async (id: string, symbol: string): Promise<void> => {
          const at = acked.get(id);
          if (at !== undefined && clock.now() >= at + CANCEL_LAG_MS) {
            const o = await paper.fetchOrder(id, symbol);
            if (o.status === 'open') await paper.cancelOrder(id, symbol);
          }
        };
        return withOverrides(paper, {
          // acknowledged at once, carried out CANCEL_LAG_MS later (Bybit cancel-order.mdx: asynchronous)
          cancelOrder: async (id, symbol): Promise<ExchangeOrder> => {
            sentAt.push(clock.now());
            if (!acked.has(id)) acked.set(id, clock.now());
            return paper.fetchOrder(id, symbol);
          },
          fetchOrder: async (id, symbol) => {
            await settle(id, symbol);
            return paper.fetchOrder(id, symbol);
          },
          fetchOpenOrders: async (symbol) => {
            for (const o of await paper.fetchOpenOrders(symbol)) await settle(o.id, o.symbol);
            return paper.fetchOpenOrders(symbol);
          },
        });
      },
    });
    h.manager.startAccepting();
    const price = (await h.paper.fetchTicker('BTC/USDT')).last;
    for (let i = 2; i <= 5; i++) {
      const o = await h.manager.place({ ...MARKET_BUY, type: 'limit', price: Math.round(price / i) });
      expect(o.status).to.equal('open');
    }
    const t0 = clock.now();
    await h.loop.cancelOpenOrders();
    expect(sentAt).to.have.length(4);
    // every cancel sent before the shutdown step's deadline (after it the process exits: the rest stay working)
    const after = sentAt.map((t) => t - t0);
    expect(
      after.every((t) => t < CANCEL_STEP_BUDGET_MS),
      `each cancel sent at ${after.join(', ')} ms after the step began (the step has ${CANCEL_STEP_BUDGET_MS} ms)`,
    ).to.equal(true);
  });
});
