/**
 * The facts the placement gate (placement-gate.ts) answers "may an order be placed on this symbol now?" on, read in
 * this one place from the order book, the order manager's gate, the state gateway (the pause), the config and the inferred-order watch —
 * for a symbol's tick (symbol-tick.ts: before its decision, and again after the candle read) and for close-all
 * alike. Read them right before the answer is used: nothing may be awaited between the facts and the order's intent
 * commit.
 *
 * The pause is the stored one (operator, risk, operational causes). A state that cannot be saved is not a pause
 * here: the gate's first rule already refuses every order then (OrderManager.placementRefusal); /status shows it as
 * a pause (entry-pause.ts).
 */
import type { Clock } from '../../../shared/clock';
import type { Config } from '../../../shared/config/schema';
import type { InferredOrderWatch } from '../tick/inferred-orders';
import type { OrderBook } from '../orders/order-book';
import type { OrderManager } from '../orders/order-manager';
import { isProtectiveExit } from '../orders/order-state';
import type { PlacementFacts } from './placement-gate';
import type { StateGateway } from '../state/state-gateway';
import type { Exchange } from '../../exchange/exchange';
import {
  cooldownUntil,
  depthRefusedPiece,
  protectiveCooldownUntil,
  urgentLimitMissed,
  unsentWaitUntil,
} from './symbol-decision';

/** Longest cooldown after refusals in a row on one symbol. */
const MAX_REFUSAL_COOLDOWN_MS = 60 * 60 * 1000;
/** The longest wait between two tries of a refused stop-loss/take-profit: it is tried at least this often. */
const MAX_PROTECTIVE_BACKOFF_MS = 5 * 60 * 1000;

/** Where the facts are read from. */
export interface PlacementFactsSource {
  /** The refusal at the door (placement's first rule). */
  manager: Pick<OrderManager, 'placementRefusal'>;
  /** The orders' reads (markets, orders, open positions). */
  orderBook: Pick<OrderBook, 'markets' | 'pendingOrders' | 'hotOrders' | 'openPositions'>;
  /** The state's gateway: the stored pause. */
  state: Pick<StateGateway, 'pause'>;
  config: Config['trading'];
  clock: Clock;
  inferred: Pick<InferredOrderWatch, 'inferredOrderHold'>;
  /** The exchange's traits: how it refuses an order too large for its book (`depthRefusal`). */
  exchange: { traits: Pick<Exchange['traits'], 'depthRefusal'> };
}

/** What the placement gate needs to know of `symbol` now. */
export function readPlacementFacts(src: PlacementFactsSource, symbol: string): PlacementFacts {
  const { manager, orderBook, config } = src;
  const ordersOfSymbol = orderBook.hotOrders().filter((o) => o.symbol === symbol);
  return {
    refusal: manager.placementRefusal,
    listed: symbol in orderBook.markets,
    halted: orderBook.markets[symbol]?.halted === true,
    pending: orderBook.pendingOrders(symbol),
    inferredOrder: src.inferred.inferredOrderHold(symbol),
    cooldownUntil: cooldownUntil(ordersOfSymbol, config.orders.rejectCooldownMs, MAX_REFUSAL_COOLDOWN_MS),
    protectiveCooldownUntil: protectiveCooldownUntil(
      ordersOfSymbol,
      config.orders.protectiveRefusalBackoffMs,
      MAX_PROTECTIVE_BACKOFF_MS,
    ),
    unsentUntil: unsentWaitUntil(ordersOfSymbol),
    protectiveUnsentUntil: unsentWaitUntil(ordersOfSymbol.filter((o) => isProtectiveExit(o.purpose))),
    urgentLimitMissed: urgentLimitMissed(ordersOfSymbol),
    depthRefused: depthRefusedPiece(ordersOfSymbol, src.exchange.traits.depthRefusal),
    now: src.clock.now(),
    traded: config.symbols.includes(symbol),
    pause: src.state.pause,
    positionsHeld: positionsHeld(src, symbol),
    risk: config.risk,
  };
}

/**
 * Open positions plus entries in flight on other symbols — an intent, an unknown create, an open order, or a
 * finished one whose fills are still missing (its position is not known yet): each holds a position slot.
 */
function positionsHeld(src: PlacementFactsSource, symbol: string): number {
  const { orderBook } = src;
  const held = new Set(orderBook.openPositions().map((p) => p.symbol));
  for (const o of orderBook.pendingOrders()) {
    if (o.symbol !== symbol && o.purpose === 'entry') held.add(o.symbol);
  }
  // an entry that ended on our inference and is still in question may have bought (its symbol held for it). Each
  // symbol's hold is judged once, and not for one already held: judged per order (each judgement a pass over every
  // order), a tick with 1,000 open entries spent ~80 ms of CPU here per symbol decided
  const holds = new Map<string, readonly string[]>();
  for (const o of orderBook.hotOrders((o) => o.symbol !== symbol && o.purpose === 'entry')) {
    if (held.has(o.symbol)) continue;
    let holding = holds.get(o.symbol);
    if (!holding) {
      holding = src.inferred.inferredOrderHold(o.symbol)?.orders ?? [];
      holds.set(o.symbol, holding);
    }
    if (holding.includes(o.clientOrderId)) held.add(o.symbol);
  }
  held.delete(symbol);
  return held.size;
}
