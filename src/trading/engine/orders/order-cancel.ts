/**
 * Cancelling a working order. An unknown order is resolved first (what happens to it comes after); the cancel is
 * sent within the lookup deadline, one per order at a time, and what the order ended as comes from a lookup after it
 * (many exchanges acknowledge a cancel without the filled amount, and taking that as final would lose the fills made
 * before it) — or, where the lookup lags, from the cancel's answer when the matching engine gives it (ExchangeTraits
 * `cancelFromEngine`: Binance, paper). A cancel with no answer is an unknown outcome the lookup decides.
 */
import type { Clock } from '../../../shared/clock';
import {
  AuthenticationError,
  NetworkError,
  OrderNotFoundError,
  PermissionDeniedError,
  RateLimitError,
  TemporaryError,
} from '../../../shared/errors';
import type { Exchange, ExchangeOrder } from '../../exchange/exchange';
import type { OrderCalls } from './order-calls';
import { isFinal, type LocalOrder } from './order-state';
import type { StateGateway } from '../state/state-gateway';

/**
 * How long after an accepted cancel its order is read again while a read still shows it working, each wait after the
 * read before (1.5 s in all, within a lookup's deadline), for a caller that must see it settled now (`settle`:
 * close-all, which sells the symbol right after): Bybit and OKX carry a cancel out after acknowledging it (Bybit
 * cancel-order.mdx: "This request is asynchronous so please use the websocket to confirm the order status"; OKX:
 * sCode 0 "only means that your cancellation request has been accepted"), so the read right after the answer may
 * still show the order as it was. The tick's cancel before an exit does not wait (its next tick reads the order
 * again), nor the stop's (its cancels must all go out within the shutdown budget).
 */
export const CANCEL_SETTLE_WAITS_MS: readonly number[] = [100, 200, 400, 800];

export interface OrderCancelOptions {
  exchange: Exchange;
  /** The engine's clock: the waits between the reads of a cancel accepted but not yet carried out. */
  clock: Clock;
  state: StateGateway;
  calls: OrderCalls;
  /** Resolves an intent/unknown order by its clientOrderId (OrderManager.resolveUnknown): null while undecided. */
  resolveUnknown: (clientOrderId: string) => Promise<boolean | null>;
  /** The exchange's view of an acknowledged order, or null (absent-orders.ts fetchPlaced). */
  fetchPlaced: (order: LocalOrder, after: 'after-cancel') => Promise<ExchangeOrder | null>;
  /** Applies the exchange's answer to an order (order-answers.ts). */
  applyRemote: (clientOrderId: string, remote: ExchangeOrder) => Promise<void>;
}

export class OrderCancel {
  constructor(private readonly opts: OrderCancelOptions) {}

  /**
   * Cancels a working order and returns it as the exchange then shows it. A cancel with no answer within the lookup
   * deadline (or one whose answer was lost) is an unknown outcome: the lookup after it decides, and while that still
   * shows the order working the cancel's NetworkError is thrown (the order is never assumed cancelled; the caller
   * tries again, joining the cancel if it is still on its way). So is any other failure but "not found" (a server's
   * "system error" may come after the cancel was done): read back, thrown only while the order still works. A cancel
   * accepted while its order still reads working is read again a few times (CANCEL_SETTLE_WAITS_MS) with `settle`
   * before the order is returned as working. A refusal for rate or of the key was not carried out: thrown at once.
   */
  async cancel(clientOrderId: string, { settle = false }: { settle?: boolean } = {}): Promise<LocalOrder> {
    const { state } = this.opts;
    const order = state.requireOrder(clientOrderId);
    if (isFinal(order.status)) return order;
    if (order.status === 'intent' || order.status === 'unknown') {
      // what happens to an unknown order comes after resolving it; still undecided → it stays as it is
      const found = await this.opts.resolveUnknown(clientOrderId);
      if (!found) return state.requireOrder(clientOrderId);
    }
    const current = state.requireOrder(clientOrderId);
    if (isFinal(current.status) || !current.exchangeOrderId) return current;
    const exchangeOrderId = current.exchangeOrderId;
    let unanswered: Error | undefined;
    /** The exchange's answer to the cancel, when it answered with no error: accepted, perhaps not yet carried out. */
    let accepted: ExchangeOrder | undefined;
    try {
      // within the lookup deadline, one cancel per order at a time (a cancel still on its way is joined, never sent
      // again beside it); its answer is applied only where the matching engine gives it (below), so one that comes
      // after the deadline changes nothing
      accepted = await this.opts.calls.cancel(clientOrderId, () =>
        this.opts.exchange.cancelOrder(exchangeOrderId, current.symbol),
      );
    } catch (err) {
      // refused for rate (the gate's ban, 429/418) or for the key: not carried out, and a read now would only wait at
      // the same closed gate
      if (
        err instanceof RateLimitError ||
        err instanceof AuthenticationError ||
        err instanceof PermissionDeniedError
      )
        throw err;
      // no answer (none within the deadline, or it was lost), or the exchange's "cancel timed out" (Bybit 170147): the
      // cancel may or may not have been carried out — the lookup below says which; one not done now (a cancel already
      // under way, OKX 51410; Bybit 170191 "try again later") likewise: still working → thrown, tried again
      if (err instanceof NetworkError) unanswered = err;
      else if (err instanceof TemporaryError && err.context.ccxtError === 'CancelPending') unanswered = err;
      // OrderNotFound: no longer open (filled or cancelled meanwhile: Binance -2011, OKX 51400–51402/51405, Bybit
      // 170213/170139/170142/170143/170190 — the profiles map each to it)
      else if (!(err instanceof OrderNotFoundError)) {
        // any other failure may still have been carried out (review 44c: OKX 50026 "System error" HTTP 500, 50001
        // HTTP 503, Bybit 10016 "System error" — a server-side failure says nothing of the cancel): read back, and
        // thrown only while the order still works
        unanswered = err instanceof Error ? err : new Error(String(err));
      }
    }
    // What the order ended as comes from a fetch, not from the cancel answer (but the matching engine's, below): many
    // exchanges answer a cancel with an acknowledgement that lacks the filled amount, and taking it as final would
    // lose the fills made before the cancel. If this fetch fails the order stays open locally and the next refresh
    // settles it.
    // a lookup sent before the cancel is not joined: its answer may predate it
    let remote: ExchangeOrder | null;
    try {
      remote = await this.opts.fetchPlaced(current, 'after-cancel');
    } catch (readErr) {
      // the cancel's own failure says more than the read's
      throw unanswered ?? readErr;
    }
    if (remote) await this.opts.applyRemote(clientOrderId, remote);
    let after = state.requireOrder(clientOrderId);
    // the matching engine's own answer (Binance: "Data Source: Matching Engine", status CANCELED and executedQty;
    // paper) is the order's end where the read after it lags (GET /api/v3/order answers -2013 for a young order, or an
    // older state): the order was left working, and close-all skipped its symbol (review 44i). Bybit's and OKX's
    // answers only acknowledge: read, as above.
    if (
      !isFinal(after.status) &&
      accepted &&
      accepted.status !== 'open' &&
      this.opts.exchange.traits.cancelFromEngine
    ) {
      await this.opts.applyRemote(clientOrderId, accepted);
      after = state.requireOrder(clientOrderId);
    }
    // accepted and still working: the exchange may carry it out after its answer (CANCEL_SETTLE_WAITS_MS) — read
    // again a few times before the caller takes it as working (close-all skipped the symbol: review 44e)
    for (const waitMs of accepted !== undefined && settle ? CANCEL_SETTLE_WAITS_MS : []) {
      if (isFinal(after.status)) break;
      await this.opts.clock.sleep(waitMs);
      let again: ExchangeOrder | null;
      try {
        again = await this.opts.fetchPlaced(after, 'after-cancel');
      } catch {
        // the read failed: the order stays as the last read showed it; the next refresh settles it
        break;
      }
      if (again) await this.opts.applyRemote(clientOrderId, again);
      after = state.requireOrder(clientOrderId);
    }
    // a cancel with no answer and the order still working: not known to be cancelled (a temporary error, tried again)
    if (unanswered && !isFinal(after.status)) throw unanswered;
    return after;
  }
}
