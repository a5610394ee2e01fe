/**
 * Adopting an order of ours that the exchange has and state does not (its clientOrderId carries our prefix): left
 * by a lost state file, or by a create whose intent never reached the disk. It is recorded as `unknown` with the
 * purpose `adopted`, its seq marked used (no id is ever handed out twice), and then the exchange's view of it is
 * applied like any answer — fills and position events included. Recovery and reconcile decide what to adopt.
 */
import type { Clock } from '../../../shared/clock';
import type { ExchangeOrder } from '../../exchange/exchange';
import type { LocalOrder } from './order-state';
import type { StateGateway } from '../state/state-gateway';

/**
 * The local record of an adopted order before the exchange's view is applied (pure). Its times are host times like
 * every LocalOrder's: the exchange's creation time moved by the host's offset from it (`offsetMs`: host − exchange,
 * Exchange.clockOffsetMs) — the fill search turns it back into the exchange's time (search-span.ts), and with the
 * exchange's time kept here a host 2 minutes behind would search from a minute after the order was created.
 */
export function adoptedOrder(remote: ExchangeOrder, now: number, offsetMs = 0): LocalOrder {
  const created = remote.timestamp === undefined ? now : remote.timestamp + offsetMs;
  return {
    clientOrderId: remote.clientOrderId!,
    exchangeOrderId: remote.id,
    symbol: remote.symbol,
    side: remote.side,
    type: remote.type,
    amount: remote.amount,
    price: remote.type === 'limit' ? remote.price : undefined,
    filled: 0,
    status: 'unknown',
    purpose: 'adopted',
    reason: 'found on the exchange with our prefix, unknown to state',
    createdAt: created,
    updatedAt: now,
    sentAt: created,
    fills: [],
  };
}

export interface OrderAdoptionDeps {
  state: StateGateway;
  /** The exchange's view applied like any answer (order-answers.ts). */
  applyRemote: (clientOrderId: string, remote: ExchangeOrder) => Promise<void>;
  clock: Clock;
  /** Host − exchange clock (Exchange.clockOffsetMs), 0 where unmeasured. */
  offsetMs: () => number;
}

/** What recovery uses to take in orders of ours that state lost, and to keep the id sequence ahead of them. */
export class OrderAdoption {
  constructor(private readonly deps: OrderAdoptionDeps) {}

  /** Commits the adopted order with its seq marked used, then applies the exchange's view; returns the order. */
  async adopt(remote: ExchangeOrder, seq: number): Promise<LocalOrder> {
    const { state } = this.deps;
    const adopted = adoptedOrder(remote, this.deps.clock.now(), this.deps.offsetMs());
    await state.commit((d) => {
      d.seq = Math.max(d.seq, seq);
      d.orders[adopted.clientOrderId] = adopted;
    });
    await this.deps.applyRemote(adopted.clientOrderId, remote);
    return state.requireOrder(adopted.clientOrderId);
  }

  /**
   * Raises the persisted clientOrderId sequence to at least `seq` (never lowers it); whether it was raised. Recovery
   * calls it with the highest seq found in the history journal, so a hot state restored from its previous
   * generation (or lost) can never hand out an id the exchange has already seen, and with an adopted order's seq.
   */
  async ensureSeqAtLeast(seq: number): Promise<boolean> {
    const { state } = this.deps;
    if (state.data.seq >= seq) return false;
    await state.commit((d) => {
      d.seq = Math.max(d.seq, seq);
    });
    return true;
  }
}

/**
 * Whether `remote`, an order of ours the exchange lists (its open orders, or its recent orders), is one state holds
 * as `rejected` — refused on its create's answer, declared never placed, or rejected unsent — that the exchange
 * carried out after all: it works there, or has fills (pure). Such an order can fill with no position and no
 * stop-loss behind it, and the next entry buys again: it is taken back from the exchange's answer
 * (OrderRecheck.takeBack). A rejected order the exchange shows by another exchange id is another order (never
 * ours: our ids are never sent twice), and one it shows rejected or cancelled with nothing filled changes nothing
 * the state holds.
 */
export function heldRejectedButPlaced(order: LocalOrder | undefined, remote: ExchangeOrder): boolean {
  if (order?.status !== 'rejected') return false;
  if (order.exchangeOrderId !== undefined && order.exchangeOrderId !== remote.id) return false;
  return remote.status === 'open' || remote.filled > order.filled;
}

/**
 * Whether recovery looks `order` up by its clientOrderId when neither the exchange's open nor its recent orders showed
 * it (pure): held refused on its create's answer, sent (not refused unsent: `neverSent`), with no exchange id (one the
 * exchange acknowledged and then rejected is its own word), refused less than `horizonMs` ago. A finished order may
 * be missing from the recent orders read (Bybit's order history "may delay"); the lookup reads what the exchange's
 * single-order call sees. One lookup per such order at a start; a lookup that finds nothing changes nothing.
 */
export function refusedToLookUp(order: LocalOrder, now: number, horizonMs: number): boolean {
  return (
    order.status === 'rejected' &&
    order.refused === true &&
    order.neverSent !== true &&
    order.exchangeOrderId === undefined &&
    now - order.updatedAt < horizonMs
  );
}
