/**
 * Binance's cancel is answered by the matching engine (rest-api.md "Cancel order (TRADE)": "Data Source: Matching
 * Engine") with the order's final status and executedQty, while the read OrderCancel takes the outcome from, GET
 * /api/v3/order, is "Memory => Database" and may answer -2013 for an order the engine took (profiles/binance.ts). Where
 * that read lags, the order ends from the engine's answer (ExchangeTraits `cancelFromEngine`; review 44i): it was left
 * working in state, and the stop-loss or close-all that cancelled it waited (or skipped the symbol) until the read
 * caught up. Bybit's and OKX's cancel answers only acknowledge the request: there the read decides alone.
 * The real OrderCancel, its exchange and reads stubbed.
 */
import { expect } from 'chai';
import { OrderCancel } from '../../../src/trading/engine/orders/order-cancel';
import type { LocalOrder } from '../../../src/trading/engine/orders/order-state';
import type { ExchangeOrder } from '../../../src/trading/exchange/exchange';
import { applyExchangeOrder } from '../../../src/trading/engine/orders/order-state';

describe('a cancel answered CANCELED by the matching engine while the read after it lags (review 44i)', () => {
  async function cancelWithLaggingRead(cancelFromEngine: boolean): Promise<LocalOrder> {
    /** The resting take-profit, as state and the exchange's engine have it (the engine: just cancelled). */
    const fields = {
      symbol: 'BTC/USDT',
      side: 'sell',
      type: 'limit',
      amount: 1,
      price: 110,
      filled: 0,
    } as const;
    let order = {
      ...fields,
      clientOrderId: 'bn-1-7',
      exchangeOrderId: '42',
      status: 'open',
      purpose: 'take-profit',
      createdAt: 1_000,
      updatedAt: 1_000,
      sentAt: 1_000,
      fills: [],
    } as unknown as LocalOrder;
    const engineAnswer = {
      ...fields,
      id: '42',
      clientOrderId: 'bn-1-7',
      remaining: 1,
      status: 'canceled',
    } as ExchangeOrder;
    const state = {
      requireOrder: () => order,
    };
    const canceller = new OrderCancel({
      exchange: { cancelOrder: async () => engineAnswer, traits: { cancelFromEngine } } as never,
      clock: { now: () => 2_000, sleep: async () => undefined } as never,
      state: state as never,
      calls: { cancel: (_id: string, call: () => Promise<ExchangeOrder>) => call() } as never,
      resolveUnknown: async () => true,
      // GET /api/v3/order lags (-2013 within the not-found window): absent-orders.ts fetchPlaced answers null
      fetchPlaced: async () => null,
      applyRemote: async (_id: string, remote: ExchangeOrder) => {
        order = applyExchangeOrder(order, remote, 2_000);
      },
    });
    return canceller.cancel('bn-1-7', { settle: true });
  }

  it('Binance: ends the order from the engine answer (not left working while GET /api/v3/order answers -2013)', async () => {
    const after = await cancelWithLaggingRead(true);
    expect(after.status, 'the matching engine answered CANCELED').to.equal('cancelled');
  });

  it('an exchange whose cancel answer only acknowledges (Bybit, OKX): the read decides, the order still working', async () => {
    const after = await cancelWithLaggingRead(false);
    expect(after.status).to.equal('open');
  });
});
