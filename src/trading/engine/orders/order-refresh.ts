/**
 * One order brought up to date with the exchange, whatever its state: an intent or unknown order resolved by its
 * clientOrderId, an acknowledged one looked up by its exchange id (settled from the exchange's other reads once it
 * no longer shows it: absent-orders.ts), a working one without an exchange id looked up by its clientOrderId, and a
 * final one whose fills are still missing has its trades read.
 */
import type { OrderStatus } from '../../../shared/domain/order';
import type { Exchange, ExchangeOrder } from '../../exchange/exchange';
import type { Fill } from '../books/pnl';
import type { OrderCalls } from './order-calls';
import { fillsComplete, isFinal, type LocalOrder } from './order-state';
import type { StateGateway } from '../state/state-gateway';

export interface OrderRefreshOptions {
  exchange: Exchange;
  state: StateGateway;
  calls: OrderCalls;
  /** Resolves an intent/unknown order by its clientOrderId (OrderManager.resolveUnknown). */
  resolveUnknown: (clientOrderId: string) => Promise<boolean | null>;
  /** The exchange's view of an acknowledged order, or null (absent-orders.ts fetchPlaced). */
  fetchPlaced: (order: LocalOrder) => Promise<ExchangeOrder | null>;
  /** Applies the exchange's answer to an order (order-answers.ts). */
  applyRemote: (clientOrderId: string, remote: ExchangeOrder) => Promise<void>;
  /** Fetches an order's trades and commits its new fills (fill-sync.ts). */
  syncFills: (clientOrderId: string) => Promise<Fill[]>;
}

export class OrderRefresh {
  constructor(private readonly opts: OrderRefreshOptions) {}

  /**
   * Brings one order up to date with the exchange: lookup for intent/unknown, fetch for open ones, trades for
   * final ones with fills missing. Returns the status before and after.
   */
  async refresh(clientOrderId: string): Promise<{ from: OrderStatus; to: OrderStatus }> {
    const { state } = this.opts;
    const before = state.requireOrder(clientOrderId);
    if (before.status === 'intent' || before.status === 'unknown') {
      await this.opts.resolveUnknown(clientOrderId);
    } else if (!isFinal(before.status) && before.exchangeOrderId) {
      const remote = await this.opts.fetchPlaced(before);
      if (remote) {
        this.markSeen(clientOrderId);
        await this.opts.applyRemote(clientOrderId, remote);
      }
    } else if (!isFinal(before.status)) {
      const remote = await this.opts.calls.lookup('order', clientOrderId, () =>
        this.opts.exchange.fetchOrderByClientId(clientOrderId, before.symbol, before.createdAt),
      );
      this.markSeen(clientOrderId);
      await this.opts.applyRemote(clientOrderId, remote);
    } else if (!fillsComplete(before)) {
      await this.opts.syncFills(clientOrderId);
    }
    return { from: before.status, to: state.requireOrder(clientOrderId).status };
  }

  /** A read showed the order (`seenByRead`): written with the next state write (a crash before it only forgets it). */
  private markSeen(clientOrderId: string): void {
    if (this.opts.state.requireOrder(clientOrderId).seenByRead) return;
    this.opts.state.change((d) => {
      const kept = d.orders[clientOrderId];
      if (kept) d.orders[clientOrderId] = { ...kept, seenByRead: true };
    });
  }
}
