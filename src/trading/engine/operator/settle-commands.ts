/**
 * The /settle commands trading accepts for an order in question (pure), as the alerts, the daily reminder and the
 * placement gate's reason suggest them: never one operator-settle.ts `settleByOperator` refuses. `none` (nothing
 * executed beyond the fills booked) is refused while the exchange answered the order as more filled than its fills
 * booked (`fillsComplete`: a finished order whose missing fills can be neither read nor priced, an absent one whose
 * last answer said more): only `filled` with at least what it is known to have filled settles it then.
 */
import { fillsComplete, type LocalOrder } from '../orders/order-state';

export function settleCommands(o: LocalOrder): string {
  const filled = `/settle ${o.clientOrderId} filled <amount> <average price>`;
  if (!fillsComplete(o)) {
    return `${filled} (the whole executed amount, at least the ${Number(o.filled.toPrecision(10))} it is known to have filled)`;
  }
  return `/settle ${o.clientOrderId} none, or ${filled}`;
}
