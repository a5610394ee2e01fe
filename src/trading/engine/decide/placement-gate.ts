/**
 * May an order be placed on this symbol now? (pure) — the one answer, asked by the symbol's decision
 * (symbol-decision.ts), the strategy's signal and close-all alike. The order manager enforces the first rule again
 * at its door (a stop can come between the answer and the create).
 *
 * Rules, first match wins:
 * 1. unknown — an order whose create outcome is unknown (or an intent not yet sent) holds the symbol until the
 *    exchange has answered for it: a second create for the same purpose could sell twice;
 * 2. refused — no order at all: recovery has not finished, trading is stopping, or state cannot be saved;
 * 3. unlisted — the exchange no longer lists the symbol (nothing can be sized or placed); halted — it lists it
 *    but does not trade it now (a BREAK): nothing is placed until it trades again (markets are reloaded soon);
 * 4. working — one working order per symbol (a stop-loss cancels it first: symbol-decision.ts);
 * 5. fills-missing — a finished order's fills are still missing: the position is not known without them;
 *    inferred-order — a sell of the symbol ended on our inference (declared never placed, or settled when the
 *    exchange stopped showing it) and the account's coins are not known to be all there (inferred-orders.ts): the
 *    exchange may have carried it out, and any sell sent now would sell the owner's coins; nothing is placed;
 * 6. cooldown — after the symbol's latest order was refused unsent by the rate-limit gate (our request pacing had
 *    no room for it in its budget, or a rate-limit wait: `unsentWaitUntil`), entries and strategy exits wait the
 *    wait it was given, a stop-loss or take-profit only after its latest protective exit was so (close-all never);
 *    after the exchange refused the symbol's latest orders, entries and strategy exits wait the refusal cooldown
 *    (close-all does not wait for it); a firing stop-loss or take-profit waits only its own backoff, after
 *    refusals of the symbol's protective exits alike (`protectiveCooldownUntil`: never given up, never retried
 *    every tick) — except after a refusal as too large for the book (`depthRefused`), when a smaller piece is
 *    placed at once;
 * 7. entries only: untraded (symbol no longer in `trading.symbols`: exits only), paused, position-limit
 *    (open positions plus entries in flight elsewhere at `risk.maxOpenPositions`).
 *
 * The answer is only as good as its facts: they are read when the order is decided, and nothing is awaited between
 * that and the order's intent commit (symbol-tick.ts); they are read in one place (placement-facts.ts). Every symbol's lane runs side by side, so facts read before a
 * candle read would miss the entries other lanes placed (and a pause) meanwhile.
 */
import { isFinal, isProtectiveExit, type LocalOrder, type OrderPurpose } from '../orders/order-state';
import { pauseSummary } from '../operator/pause-causes';
import { settleCommands } from '../operator/settle-commands';
import { entryBlocker, type RiskConfig } from './risk';
import type { PauseState } from '../state/trading-state';

/** What an order to be placed is for (adopted orders are never placed by us). */
export type PlacementPurpose = Exclude<OrderPurpose, 'adopted' | 'write-off'>;

export interface PlacementFacts {
  /** Why no order may be placed at all now (OrderManager.placementRefusal), or null. */
  refusal: string | null;
  /** The exchange lists the symbol (its market is loaded). */
  listed: boolean;
  /** The exchange lists the symbol but does not trade it now (Market.halted). */
  halted: boolean;
  /** The symbol's orders that still need the exchange (not final, or final with fills missing). */
  pending: readonly LocalOrder[];
  /** The symbol's sells ended on our inference whose coins are in question (ShortfallWatch), or null. */
  inferredOrder: { orders: string[]; reason: string } | null;
  /** End of the cooldown after the exchange refused orders on this symbol (symbol-decision.ts), or null. */
  cooldownUntil: number | null;
  /** End of the backoff after the exchange refused this symbol's stop-loss/take-profit exits alike, or null. */
  protectiveCooldownUntil: number | null;
  /** End of the wait after the symbol's latest order was refused unsent (symbol-decision.ts), or null. */
  unsentUntil: number | null;
  /** The same after its latest stop-loss/take-profit exit was refused unsent, or null. */
  protectiveUnsentUntil: number | null;
  /**
   * The symbol's latest stop-loss, take-profit or close-all piece was a limit that ended with part of it unsold
   * (symbol-decision.ts `urgentLimitMissed`): the next one sells at market what a market order can. Not a rule of
   * this gate.
   */
  urgentLimitMissed: boolean;
  /**
   * The symbol's latest urgent exit the exchange refused as too large for its book (symbol-decision.ts
   * `depthRefusedPiece`): its amount, and whether no urgent exit was sent after it. The next ones sell at most half
   * of it; while it is the latest, a stop-loss or take-profit smaller than it does not wait the protective backoff
   * (symbol-decision.ts decideSymbol holds one that cannot be smaller). Null when there is none.
   */
  depthRefused: { amount: number; latest: boolean } | null;
  now: number;
  /** The symbol is in `trading.symbols` (entries allowed). */
  traded: boolean;
  pause: PauseState | null;
  /**
   * Open positions plus entries on other symbols that still need the exchange (intent, unknown, open, or finished
   * with fills missing): each may become a position.
   */
  positionsHeld: number;
  risk: Pick<RiskConfig, 'maxOpenPositions'>;
}

export type PlacementRule =
  | 'refused'
  | 'unlisted'
  | 'halted'
  | 'unknown'
  | 'working'
  | 'fills-missing'
  | 'inferred-order'
  | 'cooldown'
  | 'untraded'
  | 'paused'
  | 'position-limit';

export interface PlacementBlock {
  rule: PlacementRule;
  reason: string;
  /** The orders that hold the symbol (unknown, working, fills-missing). */
  orders?: string[];
}

/** Null when an order for `purpose` may be placed on the symbol now, else the first rule that holds it. */
export function placementBlock(f: PlacementFacts, purpose: PlacementPurpose): PlacementBlock | null {
  const unknownOrders = f.pending.filter((o) => o.status === 'intent' || o.status === 'unknown');
  if (unknownOrders.length > 0) {
    const unknown = ids(unknownOrders);
    // in doubt: the exchange's reads cannot decide it (OrderManager.resolveUnknown), the operator may (/settle)
    return {
      rule: 'unknown',
      orders: unknown,
      reason:
        `outcome of order ${unknown.join(', ')} unknown: nothing is placed until the exchange answers for it` +
        orSettle(unknownOrders),
    };
  }
  if (f.refusal !== null) return { rule: 'refused', reason: `no new orders: ${f.refusal}` };
  if (!f.listed) return { rule: 'unlisted', reason: 'the exchange no longer lists this symbol' };
  if (f.halted) return { rule: 'halted', reason: 'the exchange has halted trading on this symbol' };
  const workingOrders = f.pending.filter((o) => !isFinal(o.status));
  if (workingOrders.length > 0) {
    const working = ids(workingOrders);
    // in doubt: the exchange no longer shows it and its reads cannot settle it (absent-orders.ts)
    return {
      rule: 'working',
      orders: working,
      reason: `order ${working.join(', ')} is working${orSettle(workingOrders)}`,
    };
  }
  const finished = f.pending.filter((o) => isFinal(o.status));
  if (finished.length > 0) {
    const missingFills = ids(finished);
    // in doubt: its missing fills can be neither read nor priced from its answer (fill-sync.ts)
    return {
      rule: 'fills-missing',
      orders: missingFills,
      reason:
        `fills of finished order ${missingFills.join(', ')} still missing: the position is not known without them` +
        orSettle(finished),
    };
  }
  if (f.inferredOrder) {
    return { rule: 'inferred-order', orders: f.inferredOrder.orders, reason: f.inferredOrder.reason };
  }
  const waitsCooldown = purpose === 'entry' || purpose === 'exit';
  const protective = isProtectiveExit(purpose);
  const unsentUntil = waitsCooldown ? f.unsentUntil : protective ? f.protectiveUnsentUntil : null;
  if (unsentUntil !== null && f.now < unsentUntil) {
    return {
      rule: 'cooldown',
      reason: `the last ${waitsCooldown ? 'order' : purpose} was held back unsent by the rate-limit gate; next one in ${Math.ceil((unsentUntil - f.now) / 1000)} s`,
    };
  }
  if (waitsCooldown && f.cooldownUntil !== null && f.now < f.cooldownUntil) {
    return {
      rule: 'cooldown',
      reason: `the exchange refused the last order; next one in ${Math.ceil((f.cooldownUntil - f.now) / 1000)} s`,
    };
  }
  // after a refusal as too large for the book, a smaller piece goes at once (decideSymbol waits for one no smaller)
  const depthRefusedLast = f.depthRefused?.latest === true;
  if (
    protective &&
    !depthRefusedLast &&
    f.protectiveCooldownUntil !== null &&
    f.now < f.protectiveCooldownUntil
  ) {
    return {
      rule: 'cooldown',
      reason: `the exchange refused the last ${purpose} alike; tried again in ${Math.ceil((f.protectiveCooldownUntil - f.now) / 1000)} s`,
    };
  }
  if (purpose !== 'entry') return null;
  if (!f.traded) return { rule: 'untraded', reason: 'symbol no longer in trading.symbols: exits only' };
  if (f.pause) return { rule: 'paused', reason: `entries paused: ${pauseSummary(f.pause)}` };
  const limit = entryBlocker(f.positionsHeld, f.risk);
  if (limit) return { rule: 'position-limit', reason: limit };
  return null;
}

/**
 * For orders in doubt (`inDoubtAt`: only the operator can end the question, reading the exchange's history): that
 * they may, with the commands that settle each (settle-commands.ts). Empty when none is in doubt.
 */
function orSettle(orders: readonly LocalOrder[]): string {
  const inDoubt = orders.filter((o) => o.inDoubtAt !== undefined);
  if (inDoubt.length === 0) return '';
  return ` — in doubt, its reads cannot settle it: found again, or settled by you from the exchange's order history: ${inDoubt.map(settleCommands).join('; ')}`;
}

function ids(orders: readonly LocalOrder[]): string[] {
  return orders.map((o) => o.clientOrderId);
}
