/**
 * An order the exchange stops showing (an absent order: absent-orders.ts), for the engine's tests on the paper
 * exchange: while `hidden.on`, its lookups (by exchange id and by clientOrderId) answer "no such order" and the open
 * list leaves it out (while `listHidden.on` too, when given). Spread into `withOverrides` beside a test's own reads.
 */
import { OrderNotFoundError } from '../../src/shared/errors';
import type { ExchangeOrder } from '../../src/trading/exchange/exchange';
import type { PaperExchange } from '../../src/trading/exchange/paper-exchange';
import type { ExchangeOverrides } from './exchange-overrides';

export interface Flag {
  on: boolean;
}

export function hiddenOrderReads(
  paper: PaperExchange,
  clientOrderId: string,
  hidden: Flag,
  opts: { listHidden?: Flag; dropAnswerTrades?: boolean } = {},
): ExchangeOverrides {
  const ours = (o: ExchangeOrder): boolean => o.clientOrderId === clientOrderId;
  const missing = (): OrderNotFoundError => new OrderNotFoundError('the exchange has no such order', {});
  return {
    fetchOrder: (async (id: string, symbol: string) => {
      const found = await paper.fetchOrder(id, symbol);
      const order = opts.dropAnswerTrades ? { ...found, trades: undefined } : found;
      if (hidden.on && ours(order)) throw missing();
      return order;
    }) as never,
    fetchOrderByClientId: (async (id: string, symbol: string) => {
      if (hidden.on && id === clientOrderId) throw missing();
      return paper.fetchOrderByClientId(id, symbol);
    }) as never,
    fetchOpenOrders: (async (symbol?: string) =>
      (await paper.fetchOpenOrders(symbol)).filter(
        (o) => !(hidden.on && (opts.listHidden?.on ?? true) && ours(o)),
      )) as never,
  };
}
