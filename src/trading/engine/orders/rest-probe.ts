/**
 * The cancel sent before a LIMIT order of ours is ended on our inference — declared never placed (its create answer
 * lost, its lookups missing past the not-found window) or settled as absent (the exchange no longer shows it). While
 * the exchange's reads lag (Binance: order and open-orders reads "Memory => Database"; Bybit and OKX alike) a limit
 * order can rest there unseen: it has neither taken a sell's coins from the total (they are only locked) nor brought
 * a buy's, so the balance cannot tell it from one never placed (held-balance.ts `inferredOrderCoins`), and the next
 * order of its symbol would go out beside it — two entries for one signal, or a second exit sold from the owner's
 * coins (review 31). A cancel by its id closes the door:
 *
 * - answered with the order → it was there: `found` (cancelled now, with what it filled; the caller applies it);
 * - "no such open order" → `not-found`; where the exchange answers a cancel from its matching engine
 *   (ExchangeTraits `cancelFromEngine`: Binance documents it, paper is) the order does not rest there, lagging reads
 *   or not (`restRuledOut`); so too where a read of the exchange had shown the order (`seenByRead`): the reads knew
 *   it, and their lag hides young orders, not known ones (an exchange forgets a cancelled order after hours: OKX 2 h,
 *   Bybit 24 h); elsewhere the cancel may lag like the reads, and the order keeps its symbol held until it is found
 *   or settled (inferred-orders.ts);
 * - any other failure is thrown: nothing is ended on a cancel that did not answer.
 *
 * A market order never rests: no cancel (undefined).
 */
import { OrderNotFoundError } from '../../../shared/errors';
import type { Exchange, ExchangeOrder } from '../../exchange/exchange';
import type { LocalOrder } from './order-state';

export type RestProbe =
  { kind: 'found'; remote: ExchangeOrder } | { kind: 'not-found'; restRuledOut: boolean };

export async function probeRest(
  order: Pick<LocalOrder, 'type' | 'clientOrderId' | 'exchangeOrderId' | 'symbol' | 'seenByRead'>,
  exchange: Pick<Exchange, 'cancelOrder' | 'cancelOrderByClientId' | 'traits'>,
  cancel: (clientOrderId: string, call: () => Promise<ExchangeOrder>) => Promise<ExchangeOrder>,
): Promise<RestProbe | undefined> {
  if (order.type !== 'limit') return undefined;
  try {
    const remote = await cancel(order.clientOrderId, () =>
      order.exchangeOrderId
        ? exchange.cancelOrder(order.exchangeOrderId, order.symbol)
        : exchange.cancelOrderByClientId(order.clientOrderId, order.symbol),
    );
    return { kind: 'found', remote };
  } catch (err) {
    if (err instanceof OrderNotFoundError) {
      return {
        kind: 'not-found',
        restRuledOut: exchange.traits.cancelFromEngine || order.seenByRead === true,
      };
    }
    throw err;
  }
}
