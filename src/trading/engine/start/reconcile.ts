/**
 * Compares local state with the exchange and lists every difference (empty when they agree): each recent or
 * open order's status and filled amount, fills recorded against the filled amount, open orders of ours the state
 * does not know, and base balances smaller than the positions the bot believes it holds (a coin several positions
 * hold shared among them; the part the bot's own fees paid in the coin explain said, held-balance.ts).
 * Orders confirmed never placed (`rejected` without an exchange id), creates still awaiting their answer, and
 * orders whose create outcome is still being resolved (intent/unknown: "not found" is not final yet, see
 * judgeNotFound) are not looked up: they are not a difference until the rule has decided them.
 *
 * Its one write: an open order of ours that state holds as rejected (refused on its create's answer, or declared
 * never placed) is taken back from the open list's answer (OrderRecheck.takeBack), and listed as a difference.
 */
import { OrderNotFoundError } from '../../../shared/errors';
import type { ReconcileDifference } from '../../../shared/ipc/protocol';
import type { Exchange, ExchangeOrder } from '../../exchange/exchange';
import type { OrderBook } from '../orders/order-book';
import type { OrderManager } from '../orders/order-manager';
import type { OrderRecheck } from '../orders/order-recheck';
import { fillsComplete, statusFromExchange, type LocalOrder } from '../orders/order-state';
import { feesPaidInCoin } from '../decide/held-balance';
import { heldRejectedButPlaced } from '../orders/order-adoption';
import { readable } from '../orders/order-events';
import { splitSymbol } from '../books/pnl';
import { isOpenPosition } from '../decide/risk';
import { isOwnClientOrderId } from '../state/trading-state';

const EPS = 1e-9;

/** The reads reconcile makes (OperatorActions.reconcile gives each a deadline). */
export type ReconcileExchange = Pick<
  Exchange,
  'fetchOrder' | 'fetchOrderByClientId' | 'fetchOpenOrders' | 'fetchBalance'
>;

/** What reconcile reads state through, and its one write (the wired order parts have all three: order-parts.ts). */
export interface ReconcileOrders {
  orderBook: Pick<
    OrderBook,
    'order' | 'hotOrders' | 'allOrders' | 'positions' | 'markets' | 'botId' | 'installId'
  >;
  /** A create still on its way (OrderManager.isCreatePending) is not a difference yet. */
  manager: Pick<OrderManager, 'isCreatePending'>;
  rechecks: Pick<OrderRecheck, 'takeBack'>;
}

export async function reconcileWithExchange(
  orders: ReconcileOrders,
  exchange: ReconcileExchange,
): Promise<ReconcileDifference[]> {
  const { orderBook, manager, rechecks } = orders;
  const differences: ReconcileDifference[] = [];
  const hot = orderBook.hotOrders();
  for (const order of hot) {
    if (order.status === 'rejected' && !order.exchangeOrderId) continue;
    // settled on the operator's word: the recheck looks it up for a day after, and the exchange's answer wins there
    if (order.operatorSettled) continue;
    // a write-off is the bot's own record of coins the account did not hold (shortfall-watch.ts): no exchange order
    if (order.purpose === 'write-off') continue;
    // a create still on its way is not a difference yet
    if (manager.isCreatePending(order.clientOrderId)) continue;
    if (order.status === 'intent' || order.status === 'unknown') continue;
    const remote = await lookup(order, exchange);
    if (!remote) {
      differences.push({
        kind: 'order-missing-on-exchange',
        clientOrderId: order.clientOrderId,
        symbol: order.symbol,
        local: order.status,
        detail: `${order.clientOrderId} is ${order.status} locally but the exchange has no such order`,
      });
      continue;
    }
    // judged on the most the order is known to have filled (a lagging read may show less): as applyRemote does
    const remoteStatus = statusFromExchange(remote, Math.max(order.filled, remote.filled));
    if (remoteStatus !== order.status) {
      differences.push({
        kind: 'order-status-differs',
        clientOrderId: order.clientOrderId,
        symbol: order.symbol,
        local: order.status,
        exchange: remoteStatus,
        detail: `${order.clientOrderId} is ${order.status} locally, ${remoteStatus} on the exchange`,
      });
    }
    if (Math.abs(remote.filled - order.filled) > EPS * Math.max(1, order.amount)) {
      differences.push({
        kind: 'order-filled-differs',
        clientOrderId: order.clientOrderId,
        symbol: order.symbol,
        local: order.filled,
        exchange: remote.filled,
        detail: `${order.clientOrderId} filled ${order.filled} locally, ${remote.filled} on the exchange`,
      });
    } else if (!fillsComplete(order)) {
      const recorded = order.fills.reduce((s, f) => s + f.amount, 0);
      differences.push({
        kind: 'order-filled-differs',
        clientOrderId: order.clientOrderId,
        symbol: order.symbol,
        local: recorded,
        exchange: remote.filled,
        detail: `${order.clientOrderId}: fills recorded for ${recorded} of ${remote.filled} filled`,
      });
    }
  }

  // an order we ended as rejected without an exchange id — declared never placed on our own inference, or refused
  // on the create's answer (an answer read as a refusal while the exchange took the order: review 29) — is not
  // "known" if the exchange shows it open: that is exactly the order state has lost track of
  const known = new Set(
    (await orderBook.allOrders())
      .filter((o) => !(o.status === 'rejected' && !o.exchangeOrderId))
      .map((o) => o.clientOrderId),
  );
  for (const remote of await exchange.fetchOpenOrders()) {
    if (
      !isOwnClientOrderId(remote.clientOrderId, orderBook.botId, orderBook.installId) ||
      known.has(remote.clientOrderId!)
    )
      continue;
    // held as rejected while the exchange works it: taken back from this answer now (its fills and position
    // follow, an `order.taken_back` alert says so), not left to fill with no position and no stop-loss
    const held = orderBook.order(remote.clientOrderId!);
    const takenBack = heldRejectedButPlaced(held, remote)
      ? await rechecks.takeBack(remote.clientOrderId!, remote)
      : undefined;
    differences.push({
      kind: 'order-unknown-locally',
      clientOrderId: remote.clientOrderId,
      symbol: remote.symbol,
      exchange: { id: remote.id, status: remote.status, amount: remote.amount, filled: remote.filled },
      detail: takenBack
        ? `open order ${remote.clientOrderId} on the exchange was held as rejected: taken back (${takenBack.status})`
        : `open order ${remote.clientOrderId} on the exchange is not in state`,
    });
  }

  const balance = await exchange.fetchBalance();
  // a coin several positions hold (BNB/USDT and BNB/BTC) is shared among them in order, as shortfallsOf does
  const left: Record<string, number> = {};
  for (const position of Object.values(orderBook.positions())) {
    const market = orderBook.markets[position.symbol];
    // the balance check covers what could be sold (its value is not judged: no price here)
    if (!isOpenPosition(position.amount, market, undefined)) continue;
    const { base } = splitSymbol(position.symbol);
    const shared = base in left;
    const total = left[base] ?? balance[base]?.total ?? 0;
    left[base] = Math.max(0, total - position.amount);
    if (total + EPS * Math.max(1, position.amount) < position.amount) {
      const fees = Math.min(feesPaidInCoin(position).amount, position.amount - total);
      differences.push({
        kind: 'balance-differs',
        symbol: position.symbol,
        local: position.amount,
        exchange: total,
        detail:
          `position ${position.amount} ${base} but the exchange balance holds only ${total}` +
          (shared ? ` beside the bot's other ${base} positions` : '') +
          (fees > 0
            ? ` (${readable(fees)} ${base} of it the bot's own fees paid in ${base} on other pairs)`
            : ''),
      });
    }
  }
  return differences;
}

async function lookup(order: LocalOrder, exchange: ReconcileExchange): Promise<ExchangeOrder | null> {
  try {
    return order.exchangeOrderId
      ? await exchange.fetchOrder(order.exchangeOrderId, order.symbol, order.createdAt)
      : await exchange.fetchOrderByClientId(order.clientOrderId, order.symbol, order.createdAt);
  } catch (err) {
    if (err instanceof OrderNotFoundError) return null;
    throw err;
  }
}
